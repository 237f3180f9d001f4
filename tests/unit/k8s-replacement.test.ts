import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";
import { FORCE_NEW, replacementOf, stackObject } from "../helpers/replacement";

const DO = {
  pool: "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
  dbPool: "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool",
  cert: "digitalocean:index/certificate:Certificate",
};
const LB_CERT = "service.beta.kubernetes.io/do-loadbalancer-certificate-name";

const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
function one(e: Evaluation, type: string): RecordedResource {
  const found = ofType(e, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0];
}
const production = (extra: Record<string, unknown> = {}) => evaluateStack({ stack: "production", extraConfig: extra });
const withChange = (key: string, change: (value: Record<string, unknown>) => Record<string, unknown>) => production({ [`djangostack:${key}`]: change(stackObject("production", key)) });

/** Env of the web Deployment's main container as the pod sees it (ConfigMaps, then Secret keys). */
function webDatabaseUrl(e: Evaluation): URL {
  const web = ofType(e, "kubernetes:apps/v1:Deployment").find((d) => (d.inputs.metadata as { name?: string }).name === "web-web");
  assert.ok(web);
  const container = ((web.inputs.spec as { template: { spec: { containers: { env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] } } }).template.spec.containers[0]);
  const ref = container.env?.find((v) => v.name === "DATABASE_URL")?.valueFrom?.secretKeyRef;
  assert.ok(ref);
  const secret = ofType(e, "kubernetes:core/v1:Secret").find((s) => ref.name.startsWith(`${s.name}-`));
  assert.ok(secret);
  return new URL((unwrapSecrets(secret.inputs.stringData) as Record<string, string>)[ref.key]);
}

describe("replacements a real engine would make in production (bridge + engine model)", () => {
  let base: Evaluation;
  before(async () => {
    base = await production();
  });

  it("decides every explicitly named DigitalOcean resource: create-first, protected, or delete-first with nothing to lose", () => {
    const createFirst = [DO.pool, DO.dbPool, DO.cert];
    const named = base.engine.resources.filter((r) => r.type.startsWith("digitalocean:") && r.inputs.name !== undefined);
    assert.ok(named.length > 8);
    for (const r of named) {
      assert.ok(FORCE_NEW[r.type], `${r.type} ${r.name}: its ForceNew fields are known`);
      if (createFirst.includes(r.type)) assert.equal(r.options.deleteBeforeReplace, false, `${r.name} is replaced create-first`);
    }
  });

  it("replaces the workload pool create-first on a size change: the new pool has its own name and the same label", async () => {
    const resized = await withChange("kubernetes", (k) => ({ ...k, workloadPool: { ...(k.workloadPool as object), size: "s-8vcpu-16gb" } }));
    const [before_, after] = [one(base, DO.pool), one(resized, DO.pool)];
    const plan = replacementOf(before_, after);
    assert.deepEqual(plan.replaced, ["size"]);
    assert.equal(plan.deleteFirst, false, "pods keep running on the old pool until the new one is up");
    assert.notEqual(after.inputs.name, before_.inputs.name, "both pools exist side by side for a while");
    assert.deepEqual(after.inputs.labels, before_.inputs.labels, "workloads select the new pool as they did the old");
  });

  it("only a size change renames the workload pool (an autoscaling change is an in-place update)", async () => {
    const scaled = await withChange("kubernetes", (k) => ({ ...k, workloadPool: { ...(k.workloadPool as object), maxNodes: 9 } }));
    const plan = replacementOf(one(base, DO.pool), one(scaled, DO.pool));
    assert.deepEqual(plan.replaced, []);
  });

  it("replaces a connection pool create-first on a resize, with a new name the apps' DATABASE_URL moves to", async () => {
    const bigger = await withChange("data", (d) => ({ ...d, postgres: { ...(d.postgres as object), managedSize: "db-s-6vcpu-16gb" } }));
    const [before_, after] = [one(base, DO.dbPool), one(bigger, DO.dbPool)];
    const plan = replacementOf(before_, after);
    assert.ok(plan.replaced.includes("size") && plan.replaced.includes("name"), `replaced: ${plan.replaced.join(", ")}`);
    assert.equal(plan.deleteFirst, false, "live connections keep their pool until the apps moved");
    assert.equal(webDatabaseUrl(base).pathname, `/${String(before_.inputs.name)}`);
    assert.equal(webDatabaseUrl(bigger).pathname, `/${String(after.inputs.name)}`, "the apps connect through the new pool");
  });

  it("replaces the load balancer certificate create-first on a domain change, and the load balancer names the new one", async () => {
    const moved = await production({ "djangostack:domain": "shop.example.net" });
    const [before_, after] = [one(base, DO.cert), one(moved, DO.cert)];
    const plan = replacementOf(before_, after);
    assert.ok(plan.replaced.includes("domains"));
    assert.equal(plan.deleteFirst, false, "DigitalOcean refuses to delete a certificate a load balancer uses");
    assert.notEqual(after.inputs.name, before_.inputs.name);
    const lb = ofType(moved, "kubernetes:core/v1:Service").find((s) => (s.inputs.spec as { type?: string }).type === "LoadBalancer");
    assert.equal((lb?.inputs.metadata as { annotations: Record<string, string> }).annotations[LB_CERT], after.inputs.name);
  });
});

describe("explicitly named DigitalOcean resources on the droplet target", () => {
  it("has a known ForceNew list for each, and never replaces the Droplet for its one-time bootstrap inputs", async () => {
    const staging = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:droplet": { ...stackObject("staging", "droplet"), registry: { name: "acme", create: true } } } });
    const named = staging.engine.resources.filter((r) => r.type.startsWith("digitalocean:") && r.inputs.name !== undefined);
    for (const r of named) assert.ok(FORCE_NEW[r.type], `${r.type} ${r.name}: its ForceNew fields are known`);
    const droplet = one(staging, "digitalocean:index/droplet:Droplet");
    const rebooted = { ...droplet, inputs: { ...droplet.inputs, userData: "changed", sshKeys: ["1"] } };
    assert.deepEqual(replacementOf(droplet, rebooted).replaced, [], "userData and sshKeys changes are ignored");
  });
});
