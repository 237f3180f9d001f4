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

describe("policy pack over the stacks the program renders", () => {
  it("has at least 14 mandatory rules", () => assert.ok(rules.length + stackRules.length >= 14, String(rules.length + stackRules.length)));

  for (const { label, stack, projectDir } of STACKS) {
    it(`${label}: every resource passes every guardrail`, async () => {
      const ev = await evaluateStack({ stack, projectDir });
      const checked = ev.engine.resources.map((r) => ({ type: r.type, props: unwrapSecrets(r.inputs) as Record<string, unknown>, opts: { protect: r.options.protect, retainOnDelete: r.options.retainOnDelete }, stack }));
      assert.ok(checked.length > 20);
      const found = violations(checked);
      assert.deepEqual(found, []);
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
