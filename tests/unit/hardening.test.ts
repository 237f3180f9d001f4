import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rules } from "../../policy/rules";
import { evaluateStack, Evaluation } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";

const CONTAINER = "docker:index/container:Container";
const FRONTEND = { "djangostack:frontend": { image: "registry.example.com/acme/front:1.0.0", route: "/app/" } };

const processOf = (c: RecordedResource) => ((unwrapSecrets(c.inputs.labels) ?? []) as { label: string; value: string }[]).find((l) => l.label === "djangostack.process")?.value ?? c.name;
function container(ev: Evaluation, process: string): RecordedResource {
  const found = ev.engine.resources.find((r) => r.type === CONTAINER && processOf(r) === process);
  assert.ok(found, `no container for ${process}`);
  return found;
}
const networksOf = (c: RecordedResource) => ((unwrapSecrets(c.inputs.networksAdvanced) ?? []) as { name: string }[]).map((n) => n.name).sort();

describe("Docker hardening (local stack with a frontend)", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "local", extraConfig: FRONTEND });
  });

  it("splits data from the edge: nginx cannot reach Postgres, Redis or RabbitMQ", () => {
    const data = "djangostack-local-net";
    const edge = "djangostack-local-edge";
    assert.deepEqual(networksOf(container(ev, "nginx")), [edge]);
    assert.deepEqual(networksOf(container(ev, "frontend")), [edge]);
    assert.deepEqual(networksOf(container(ev, "web-web")), [edge, data].sort(), "web is reached by nginx and reaches the data services");
    for (const p of ["postgres", "redis", "rabbitmq", "postgres-init", "web-migrate", "web-worker-default", "web-beat"]) assert.deepEqual(networksOf(container(ev, p)), [data], p);
  });

  it("drops every capability in every container, data services and the frontend included", () => {
    for (const c of ev.engine.resources.filter((r) => r.type === CONTAINER)) assert.deepEqual(c.inputs.capabilities, { drops: ["ALL"] }, processOf(c));
  });

  it("runs the frontend on a read-only root with scratch space only where a static server writes", () => {
    const fe = container(ev, "frontend");
    assert.equal(fe.inputs.readOnly, true);
    assert.deepEqual(Object.keys(fe.inputs.tmpfs as object).sort(), ["/tmp", "/var/cache/nginx", "/var/run"]);
  });
});

describe("TLS containers on the Droplet", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "staging" });
  });

  it("certbot, long-running and talking to the internet, runs as nginx's uid with no capability", () => {
    const certbot = container(ev, "certbot");
    assert.equal(certbot.inputs.user, "101:101");
    assert.deepEqual(certbot.inputs.capabilities, { drops: ["ALL"] });
    assert.deepEqual(networksOf(certbot), ["djangostack-staging-edge"]);
  });

  it("the root step is the placeholder one-off only: offline, three capabilities, and it hands both volumes to nginx's uid", () => {
    const placeholder = container(ev, "tls-placeholder");
    assert.equal(placeholder.inputs.networkMode, "none");
    assert.equal(placeholder.inputs.networksAdvanced, undefined);
    assert.deepEqual(placeholder.inputs.capabilities, { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "FOWNER"] });
    assert.match((placeholder.inputs.command as string[])[0], /chown -R 101:101 \/etc\/letsencrypt \/var\/www\/acme/);
    assert.doesNotMatch((container(ev, "certbot").inputs.command as string[])[0], /chown/, "certbot writes as 101 and needs no chown");
  });
});

describe("Kubernetes frontend", () => {
  it("has a read-only root, so the project's pods-hardened policy passes on a stack with a frontend", async () => {
    const ev = await evaluateStack({ stack: "production", extraConfig: FRONTEND });
    const hardened = rules.find((r) => r.name === "pods-hardened");
    assert.ok(hardened);
    const problems = ev.engine.resources.flatMap((r) => hardened.check({ type: r.type, props: unwrapSecrets(r.inputs) as Record<string, unknown>, opts: {} }));
    assert.deepEqual(problems, []);
    const deployment = ev.engine.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.includes("frontend"));
    assert.ok(deployment, "no frontend Deployment");
  });
});
