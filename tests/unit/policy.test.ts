import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CheckedResource, rules, stackRules } from "../../policy/rules";
import { evaluateStack } from "../../src/offline/render";
import { unwrapSecrets } from "../../src/offline/secret";
import { allExampleStacks } from "../helpers/examples";

function violations(resources: CheckedResource[]): string[] {
  return [
    ...resources.flatMap((r) => rules.flatMap((rule) => rule.check(r).map((p) => `${rule.name} ${r.type}: ${p}`))),
    ...stackRules.flatMap((rule) => rule.checkStack(resources).map((p) => `${rule.name}: ${p}`)),
  ];
}

function rule(name: string) {
  const found = rules.find((r) => r.name === name);
  assert.ok(found, `no rule ${name}`);
  return found;
}

/** Every stack of this project and every example, as the pack sees it (options and the stack name included). */
const STACKS: { label: string; stack: string; projectDir?: string }[] = [
  ...["local", "staging", "production"].map((stack) => ({ label: stack, stack })),
  ...allExampleStacks().map(({ label, stack, projectDir }) => ({ label: `examples/${label}`, stack, projectDir })),
];

/**
 * What the pack refuses today in the examples' `production` stacks, which the production rules (stacks
 * named prod*) judge; the examples were named seed-00x before and escaped them. A gap in the program,
 * not in the stack files: the Droplet target pulls its public images (PostgreSQL, Redis, RabbitMQ,
 * nginx, certbot) by tag (Kubernetes pins them with getRegistryImage, the Droplet target does not yet).
 * Listed exactly, so a closed gap or any new violation fails here. (The backups gaps closed when the
 * scheduled logical backup came: the backup container and CronJob satisfy production-backups.)
 */
const DROPLET_GAPS = [/^production-images-pinned docker:index\/remoteImage:RemoteImage: .* is not pinned by digest$/];
const KNOWN_GAPS: Record<string, RegExp[]> = {
  "examples/kore/production": DROPLET_GAPS,
  "examples/ticket-tracking/production": DROPLET_GAPS,
  "examples/admin2/production": DROPLET_GAPS,
};

describe("policy pack over the stacks the program renders", () => {
  it("has at least 14 mandatory rules", () => assert.ok(rules.length + stackRules.length >= 14, String(rules.length + stackRules.length)));

  for (const { label, stack, projectDir } of STACKS) {
    const gaps = KNOWN_GAPS[label] ?? [];
    it(`${label}: every resource passes every guardrail${gaps.length > 0 ? " but the program's known gaps" : ""}`, async () => {
      const ev = await evaluateStack({ stack, projectDir });
      const checked = ev.engine.resources.map((r) => ({ type: r.type, props: unwrapSecrets(r.inputs) as Record<string, unknown>, opts: { protect: r.options.protect, retainOnDelete: r.options.retainOnDelete }, stack }));
      assert.ok(checked.length > 20);
      const found = violations(checked);
      assert.deepEqual(found.filter((v) => !gaps.some((g) => g.test(v))), [], "violations beyond the known gaps");
      for (const gap of gaps) assert.ok(found.some((v) => gap.test(v)), `the known gap ${gap.source} is closed: remove it from KNOWN_GAPS`);
    });
  }
});

describe("each guardrail catches what it guards", () => {
  it("data-services-private: a Postgres container publishing 5432", () => {
    const labels = [{ label: "djangostack.role", value: "postgres" }];
    assert.equal(rule("data-services-private").check({ type: "docker:index/container:Container", props: { labels, ports: [{ internal: 5432, external: 5432 }] }, opts: {} }).length, 1);
  });

  it("ssh-restricted: SSH from ::/0", () => {
    const props = { inboundRules: [{ protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.7/32", "::/0"] }] };
    assert.equal(rule("ssh-restricted").check({ type: "digitalocean:index/firewall:Firewall", props, opts: {} }).length, 1);
  });

  it("pods-hardened and no-plaintext-credentials: a root container with a literal DATABASE_URL", () => {
    const props = { spec: { template: { spec: { containers: [{ name: "web", image: "x", env: [{ name: "DATABASE_URL", value: "postgres://u:p@h/db" }] }] } } } };
    const resource = { type: "kubernetes:apps/v1:Deployment", props, opts: {} };
    assert.equal(rule("pods-hardened").check(resource).length, 5);
    assert.deepEqual(rule("no-plaintext-credentials").check(resource), ["web: DATABASE_URL is a plain env literal"]);
  });

  it("app-images-pinned: a registry image by tag only", () => {
    assert.equal(rule("app-images-pinned").check({ type: "docker:index/remoteImage:RemoteImage", props: { name: "registry.digitalocean.com/acme/web:staging" }, opts: {} }).length, 1);
  });

  it("stateful-cloud-resources-protected: an unprotected database cluster", () => {
    assert.equal(rule("stateful-cloud-resources-protected").check({ type: "digitalocean:index/databaseCluster:DatabaseCluster", props: {}, opts: { protect: false } }).length, 1);
  });
});
