import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { firewallRules, hostAlerts, parseDockerCredentials, pickZone, recordName, zoneCandidates } from "../../src/components/targets/droplet/host";
import { DropletConfig, EdgeConfig } from "../../src/config/types";
import { evaluateStack } from "../../src/offline/render";

describe("droplet host helpers", () => {
  it("reads DOCR docker credentials in auth (base64 user:password) and in username/password form", () => {
    const auth = Buffer.from("tok:en:with:colons").toString("base64");
    assert.deepEqual(parseDockerCredentials(JSON.stringify({ auths: { "registry.digitalocean.com": { auth } } }), "registry.digitalocean.com"), { username: "tok", password: "en:with:colons" });
    assert.deepEqual(parseDockerCredentials(JSON.stringify({ auths: { "r.example": { username: "u", password: "p" } } }), "registry.digitalocean.com"), { username: "u", password: "p" });
    assert.throws(() => parseDockerCredentials("{}", "registry.digitalocean.com"), /no entry/);
    assert.throws(() => parseDockerCredentials(JSON.stringify({ auths: { x: { auth: Buffer.from("nocolon").toString("base64") } } }), "x"), /user:password/);
  });

  it("finds the most specific DigitalOcean zone and the record names inside it", () => {
    assert.deepEqual(zoneCandidates("staging.example.com"), ["staging.example.com", "example.com"]);
    assert.deepEqual(zoneCandidates("example.com"), ["example.com"]);
    assert.equal(pickZone(["example.com", "staging.example.com"], "staging.example.com"), "staging.example.com");
    assert.equal(pickZone(["example.com"], "staging.example.com"), "example.com");
    assert.equal(pickZone(["ample.com"], "staging.example.com"), undefined, "a suffix match must fall on a label boundary");
    assert.equal(recordName("example.com", "example.com"), "@");
    assert.equal(recordName("api.staging.example.com", "example.com"), "api.staging");
    assert.equal(recordName("api.other.org", "example.com"), undefined);
  });

  it("firewall: SSH only from the admin CIDRs, web from anywhere, nothing else", () => {
    const rules = firewallRules({ adminCidrs: ["198.51.100.0/24", "2001:db8::/32"] } as DropletConfig, { httpPort: 80, httpsPort: 443, tls: { mode: "letsencrypt" } as EdgeConfig["tls"] });
    assert.deepEqual(rules.inbound.map((r) => [r.protocol, r.portRange, r.sourceAddresses]), [
      ["tcp", "22", ["198.51.100.0/24", "2001:db8::/32"]],
      ["tcp", "80", ["0.0.0.0/0", "::/0"]],
      ["tcp", "443", ["0.0.0.0/0", "::/0"]],
    ]);
  });

  it("firewall opens the ports nginx publishes, not 80/443 regardless (issue 11 item 14)", () => {
    const ports = (httpPort: number, httpsPort: number, mode: EdgeConfig["tls"]["mode"]) =>
      firewallRules({ adminCidrs: ["198.51.100.0/24"] } as DropletConfig, { httpPort, httpsPort, tls: { mode } as EdgeConfig["tls"] }).inbound.slice(1).map((r) => r.portRange);
    assert.deepEqual(ports(8061, 8443, "files"), ["8061", "8443"]);
    assert.deepEqual(ports(8061, 443, "none"), ["8061"], "no TLS: nginx publishes no HTTPS port, so none is opened");
  });

  it("the Droplet stack's firewall and nginx's published ports agree (offline engine)", async () => {
    const ev = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:edge": { httpPort: 8061, httpsPort: 8443, tls: { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" } } } });
    const fw = ev.engine.resources.find((r) => r.type === "digitalocean:index/firewall:Firewall");
    const opened = (fw?.inputs.inboundRules as { portRange: string }[]).map((r) => r.portRange).filter((p) => p !== "22").sort();
    const nginx = ev.engine.resources.find((r) => r.type === "docker:index/container:Container" && /-nginx$/.test(r.name));
    const published = (nginx?.inputs.ports as { external: number }[]).map((p) => String(p.external)).sort();
    assert.deepEqual(opened, published);
    assert.deepEqual(published, ["8061", "8443"]);
  });

  it("alerts cover CPU, memory, disk and load (twice the size's vCPUs) with windows DigitalOcean accepts", () => {
    const alerts = hostAlerts({ droplet: { size: "s-4vcpu-8gb" } as DropletConfig, prices: { droplets: {}, databases: {}, other: {} } });
    assert.deepEqual(alerts.map((a) => [a.type, a.value]), [
      ["v1/insights/droplet/cpu", 85],
      ["v1/insights/droplet/memory_utilization_percent", 90],
      ["v1/insights/droplet/disk_utilization_percent", 85],
      ["v1/insights/droplet/load_5", 8],
    ]);
    for (const a of alerts) assert.ok(["5m", "10m", "30m", "1h"].includes(a.window));
  });
});
