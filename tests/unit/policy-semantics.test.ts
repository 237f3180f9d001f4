import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CheckedResource, rules, stackRules } from "../../policy/rules";

const FIREWALL = "digitalocean:index/firewall:Firewall";
const rule = (name: string) => {
  const found = rules.find((r) => r.name === name);
  assert.ok(found, name);
  return found;
};
const stackRule = (name: string) => {
  const found = stackRules.find((r) => r.name === name);
  assert.ok(found, name);
  return found;
};
const firewall = (inboundRules: unknown[]): CheckedResource => ({ type: FIREWALL, props: { inboundRules }, opts: {} });
const ssh = (...sourceAddresses: string[]) => firewall([{ protocol: "tcp", portRange: "22", sourceAddresses }]);

describe("ssh-restricted judges parsed ranges, as config does", () => {
  const open: [string, CheckedResource][] = [
    ["/0 with a non-zero address", ssh("1.2.3.4/0")],
    ["expanded IPv6 /0", ssh("0:0:0:0:0:0:0:0/0")],
    ["::0/0", ssh("::0/0")],
    ["0000::/0", ssh("0000::/0")],
    ["zero-padded IPv4", ssh("000.0.0.0/0")],
    ["two halves", ssh("0.0.0.0/1", "128.0.0.0/1")],
    ["a /4", ssh("64.0.0.0/4")],
    ["an invalid address", ssh("256.1.1.1/32")],
    ["host bits set", ssh("203.0.113.7/24")],
    ["every port open to the world", firewall([{ protocol: "tcp", portRange: "1-65535", sourceAddresses: ["0.0.0.0/0"] }])],
    ["the Docker API port", firewall([{ protocol: "tcp", portRange: "2375", sourceAddresses: ["::/0"] }])],
    ["Postgres open", firewall([{ protocol: "tcp", portRange: "5432", sourceAddresses: ["0.0.0.0/0"] }])],
    ["all UDP", firewall([{ protocol: "udp", portRange: "all", sourceAddresses: ["0.0.0.0/0"] }])],
    ["a managed database open to the world", { type: "digitalocean:index/databaseFirewall:DatabaseFirewall", props: { rules: [{ type: "ip_addr", value: "0.0.0.0/0" }] }, opts: {} }],
  ];
  for (const [title, resource] of open) {
    it(`flags ${title}`, () => assert.ok(rule("ssh-restricted").check(resource).length > 0));
  }

  it("keeps the web ports public and admin ranges narrow", () => {
    const anywhere = ["0.0.0.0/0", "::/0"];
    const fine = firewall([
      { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24", "2001:db8::/48"] },
      { protocol: "tcp", portRange: "80", sourceAddresses: anywhere },
      { protocol: "tcp", portRange: "443", sourceAddresses: anywhere },
      { protocol: "udp", portRange: "443", sourceAddresses: anywhere },
      { protocol: "icmp", sourceAddresses: anywhere },
    ]);
    assert.deepEqual(rule("ssh-restricted").check(fine), []);
    assert.deepEqual(rule("ssh-restricted").check({ type: "digitalocean:index/databaseFirewall:DatabaseFirewall", props: { rules: [{ type: "k8s", value: "uuid" }] }, opts: {} }), []);
  });

  it("names the range and the reason", () => {
    assert.match(rule("ssh-restricted").check(ssh("1.2.3.4/0"))[0], /tcp 22 from 1\.2\.3\.4\/0: opening SSH to 4,294,967,296 addresses \(the whole IPv4 internet/);
  });
});

const deployment = (container: Record<string, unknown>, namespace = "shop"): CheckedResource => ({
  type: "kubernetes:apps/v1:Deployment",
  props: { metadata: { name: "web", namespace }, spec: { template: { spec: { containers: [{ name: "web", image: "x", ...container }] } } } },
  opts: {},
});
const configMap = (name: string, data: Record<string, string>, namespace = "shop"): CheckedResource => ({ type: "kubernetes:core/v1:ConfigMap", props: { metadata: { name, namespace }, data }, opts: {} });

describe("no credentials through ConfigMaps", () => {
  it("flags an env ConfigMap holding a credential, by name or by a URL password", () => {
    const problems = rule("no-plaintext-credentials").check(configMap("web-env-1", { API_TOKEN: "x", CLICKHOUSE_URL: "http://u:pw@h/db", DJANGO_STATIC_URL: "/static/web/", "nginx.conf": "password secret" }));
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.ok(problems.every((p) => !p.includes("pw@")), "never prints the value");
  });

  it("follows envFrom from a workload to the ConfigMap it reads", () => {
    const resources = [configMap("web-env-1", { EMAIL_HOST_PASSWORD: "x", EMAIL_HOST: "smtp" }), deployment({ envFrom: [{ configMapRef: { name: "web-env-1" } }] })];
    assert.deepEqual(stackRule("no-credentials-through-configmaps").checkStack(resources), ["web/web: envFrom ConfigMap web-env-1 carries the credential EMAIL_HOST_PASSWORD"]);
  });

  it("follows a configMapKeyRef whose env name is a credential", () => {
    const resources = [configMap("settings", { token: "abc" }), deployment({ env: [{ name: "API_TOKEN", valueFrom: { configMapKeyRef: { name: "settings", key: "token" } } }] })];
    assert.deepEqual(stackRule("no-credentials-through-configmaps").checkStack(resources), ["web/web: API_TOKEN comes from ConfigMap settings key token"]);
  });

  it("matches ConfigMaps per namespace and passes clean ones", () => {
    const rule = stackRule("no-credentials-through-configmaps");
    assert.deepEqual(rule.checkStack([configMap("web-env-1", { API_TOKEN: "x" }, "other"), deployment({ envFrom: [{ configMapRef: { name: "web-env-1" } }] })]), []);
    assert.deepEqual(rule.checkStack([configMap("web-env-1", { EMAIL_HOST: "smtp" }), deployment({ envFrom: [{ configMapRef: { name: "web-env-1" } }] })]), []);
  });

  it("still flags a credential env literal", () => {
    assert.deepEqual(rule("no-plaintext-credentials").check(deployment({ env: [{ name: "SENTRY_DSN", value: "https://k@sentry" }] })), ["web: SENTRY_DSN is a plain env literal"]);
  });
});
