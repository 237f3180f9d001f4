import { fakeOutputs } from "../../src/offline/fakes";
import { before, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { containsSecret, isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { OFFLINE_RESERVED_IP } from "../../src/offline/fakes-droplet";
import { CERTBOT_IMAGE } from "../../src/components/targets/droplet/tls";
import { REGISTRY_CREDENTIALS } from "../../src/components/registry-credentials";
import { exactApps } from "../helpers/stack-apps";
import { registryPinned } from "../helpers/registry";

const CONTAINER = "docker:index/container:Container";
const DIGEST_REF = /^registry\.digitalocean\.com\/djangostack\/staging-web:staging@sha256:[0-9a-f]{64}$/;

let ev: Evaluation;

const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
const one = (e: Evaluation, type: string, name?: string): RecordedResource => {
  const found = ofType(e, type).filter((r) => name === undefined || r.name === name);
  assert.equal(found.length, 1, `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0];
};
const labelsOf = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries(((unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
function container(e: Evaluation, process: string): RecordedResource {
  const found = ofType(e, CONTAINER).find((c) => labelsOf(c)["djangostack.process"] === process);
  assert.ok(found, `no container for ${process}`);
  return found;
}
/** Provider inputs reach the engine JSON-encoded (as the real engine sends them to a provider's Configure). */
const providerInput = (r: RecordedResource, key: string): unknown => {
  const raw = unwrapSecrets(r.inputs[key]);
  return typeof raw === "string" && /^[[{]/.test(raw) ? JSON.parse(raw) : raw;
};
type Volume = { volumeName: string; containerPath: string; readOnly?: boolean };
const volumesOf = (r: RecordedResource) => (r.inputs.volumes ?? []) as Volume[];

describe("staging stack (droplet target) under the offline engine", () => {
  before(async () => {
    ev = await evaluateStack({ stack: "staging" });
  });

  it("opens exactly SSH from the admin CIDRs and 80/443 from anywhere, on the Droplet's stack tag", () => {
    const fw = one(ev, "digitalocean:index/firewall:Firewall");
    assert.deepEqual(fw.inputs.inboundRules, [
      { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24"] },
      { protocol: "tcp", portRange: "80", sourceAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "tcp", portRange: "443", sourceAddresses: ["0.0.0.0/0", "::/0"] },
    ]);
    assert.deepEqual(fw.inputs.outboundRules, [
      { protocol: "tcp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "udp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "icmp", destinationAddresses: ["0.0.0.0/0", "::/0"] },
    ]);
    const tag = one(ev, "digitalocean:index/tag:Tag").inputs.name;
    assert.deepEqual(fw.inputs.tags, [tag]);
    assert.ok((one(ev, "digitalocean:index/droplet:Droplet").inputs.tags as string[]).includes(String(tag)), "the Droplet carries the firewall's tag");
  });

  it("publishes ports only from nginx (80/443 on all interfaces); no data service is reachable from outside", () => {
    for (const c of ofType(ev, CONTAINER)) {
      const ports = (c.inputs.ports ?? []) as { internal: number; external: number; ip: string }[];
      if (labelsOf(c)["djangostack.process"] === "nginx") {
        assert.deepEqual(ports, [
          { internal: 8080, external: 80, ip: "0.0.0.0" },
          { internal: 8443, external: 443, ip: "0.0.0.0" },
        ]);
      } else {
        assert.deepEqual(ports, [], `${labelsOf(c)["djangostack.process"]} publishes ${JSON.stringify(ports)}`);
      }
    }
  });

  it("builds the Droplet from config: Ubuntu LTS, VPC by id, keys by id, monitoring, the rendered cloud-init", () => {
    const droplet = one(ev, "digitalocean:index/droplet:Droplet");
    assert.equal(droplet.inputs.image, "ubuntu-24-04-x64");
    assert.equal(droplet.inputs.size, "s-2vcpu-4gb");
    assert.equal(droplet.inputs.region, "fra1");
    assert.equal(droplet.inputs.vpcUuid, `${one(ev, "digitalocean:index/vpc:Vpc").name}-id`, "vpc.id, not the URN");
    assert.equal(droplet.inputs.monitoring, true);
    // "staging-deploy" is a key name: looked up with getSshKey and passed by numeric id.
    assert.deepEqual((droplet.inputs.sshKeys as string[]).map((k) => /^[0-9]+$/.test(k)), [true]);
    const cloudInit = ev.artifacts.find((a) => a.path === "cloud-init/user-data.yaml");
    assert.ok(cloudInit, "cloud-init recorded as an artifact");
    assert.equal(droplet.inputs.userData, cloudInit.content);
    assert.match(String(droplet.inputs.userData), /^#cloud-config\n/);
  });

  it("never replaces the Droplet for a cloud-init or SSH key change (ignoreChanges), a one-time bootstrap", () => {
    const droplet = one(ev, "digitalocean:index/droplet:Droplet");
    assert.deepEqual([...(droplet.options.ignoreChanges ?? [])].sort(), ["sshKeys", "userData"]);
  });

  it("waits for cloud-init over SSH as the deploy user on the reserved IP, after the IP and the firewall are in place", () => {
    const wait = one(ev, "command:remote:Command", "staging-host-cloud-init-wait");
    assert.ok(isWireSecret(wait.inputs.connection), "the command provider keeps the connection secret");
    const connection = unwrapSecrets(wait.inputs.connection) as Record<string, unknown>;
    assert.equal(connection.host, OFFLINE_RESERVED_IP);
    assert.equal(connection.user, "deploy");
    assert.ok(Number(connection.dialErrorLimit) >= 100, "dials are retried while the Droplet boots");
    assert.match(String(wait.inputs.create), /cloud-init status --wait/);
    assert.deepEqual([...wait.options.dependsOn].sort(), ["staging-host-firewall", "staging-host-ip-assignment"]);
    const droplet = one(ev, "digitalocean:index/droplet:Droplet");
    assert.deepEqual(wait.inputs.triggers, [String(fakeOutputs[droplet.type](droplet.inputs, droplet.name).id)], "a replacement Droplet is waited for again");
  });

  it("drives Docker over ssh://deploy@<reserved ip>; the provider is registered dependsOn the cloud-init wait (recorded option)", () => {
    const provider = one(ev, "pulumi:providers:docker");
    assert.equal(provider.inputs.host, `ssh://deploy@${OFFLINE_RESERVED_IP}`);
    assert.deepEqual(provider.options.dependsOn, ["staging-host-cloud-init-wait"]);
    const opts = providerInput(provider, "sshOpts") as string[];
    assert.ok(opts.includes("StrictHostKeyChecking=accept-new"), JSON.stringify(opts));
    assert.ok(isWireSecret(provider.inputs.registryAuth), "registry credentials reach the provider only as a secret");
    const auth = providerInput(provider, "registryAuth") as { address: string; configFileContent: string }[];
    assert.equal(auth[0].address, "registry.digitalocean.com");
    assert.match(auth[0].configFileContent, /"auths"/);
  });

  it("puts every Docker resource (images, network, volumes, containers) on the remote provider, each dependsOn the wait", () => {
    const dockerResources = ev.engine.resources.filter((r) => r.type.startsWith("docker:"));
    assert.ok(dockerResources.length > 20);
    for (const r of dockerResources) {
      assert.match(String(r.provider), /[$:]pulumi:providers:docker::staging-host-docker::staging-host-docker-id$/, `${r.type} ${r.name} is not on the Droplet's provider`);
      assert.ok(r.options.dependsOn.includes("staging-host-cloud-init-wait"), `${r.type} ${r.name} does not wait for cloud-init`);
    }
  });

  it("pulls every public image (data services, nginx, certbot) by the digest the registry has for its tag", () => {
    const publicImages = ofType(ev, "docker:index/remoteImage:RemoteImage").map((r) => String(r.inputs.name)).filter((n) => !n.startsWith("registry.digitalocean.com/"));
    assert.ok(publicImages.length >= 5, publicImages.join(", "));
    for (const name of publicImages) assert.equal(name, registryPinned(name.split("@")[0]), name);
  });

  it("pushes the app image to DOCR and runs it by digest: every app container runs the image pulled by tag@sha256", async () => {
    const build = one(ev, "docker-build:index:Image", "staging-images-web");
    assert.equal(build.inputs.push, true);
    assert.ok(containsSecret(build.inputs.registries), "the push token is secret");
    const registries = unwrapSecrets(build.inputs.registries) as { address: string; username: string; password: string }[];
    assert.equal(registries[0].address, "registry.digitalocean.com");
    assert.match(registries[0].password, /^offline-rw-/, "the write (push) token");
    const pulled = ofType(ev, "docker:index/remoteImage:RemoteImage").filter((r) => DIGEST_REF.test(String(r.inputs.name)));
    assert.equal(pulled.length, 1, "the app image is pulled by digest exactly once");
    const imageId = `sha256:${createHash("sha256").update(`image-id:${String(pulled[0].inputs.name)}`).digest("hex")}`;
    for (const p of ["web-web", "web-migrate", "web-worker-default", "web-worker-priority", "web-beat"]) {
      assert.equal(container(ev, p).inputs.image, imageId, `${p} runs another image`);
    }
    const outputs = (await resolveOutputs(ev.exports)) as { images: Record<string, string> };
    assert.match(outputs.images.web, DIGEST_REF);
    assert.ok(String(pulled[0].inputs.name).endsWith(labelsOf(container(ev, "web-web"))["djangostack.image-digest"]), "the pulled digest is the built digest");
  });

  it("looks up the existing registry by name and makes separate push (write) and pull (read-only) credentials", () => {
    assert.equal(ofType(ev, "digitalocean:index/containerRegistry:ContainerRegistry").length, 0, "registry.create is false: no registry is created");
    const creds = ofType(ev, "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials");
    assert.deepEqual(creds.map((c) => [c.inputs.registryName, c.inputs.write]).sort(), [["djangostack", false], ["djangostack", true]]);
    for (const c of creds) {
      const expiry = Number(c.inputs.expirySeconds);
      assert.ok(expiry > (REGISTRY_CREDENTIALS.lifetimeDays - 1) * 86_400 && expiry <= REGISTRY_CREDENTIALS.lifetimeDays * 86_400, `${c.name}: bounded expiry, not the provider's 50-year default (${expiry})`);
    }
  });

  it("wires Let's Encrypt: placeholder one-off and certbot on nginx's certs/acme volumes, nginx waits for both", () => {
    const nginx = container(ev, "nginx");
    const certbot = container(ev, "certbot");
    const placeholder = container(ev, "tls-placeholder");
    const nginxMount = (path: string) => volumesOf(nginx).find((v) => v.containerPath === path);
    const certs = nginxMount("/etc/letsencrypt");
    const acme = nginxMount("/var/www/acme");
    assert.ok(certs?.readOnly && acme?.readOnly, "nginx mounts certs and the ACME webroot read-only");
    for (const c of [certbot, placeholder]) {
      assert.deepEqual(volumesOf(c), [
        { volumeName: certs.volumeName, containerPath: "/etc/letsencrypt" },
        { volumeName: acme.volumeName, containerPath: "/var/www/acme" },
      ]);
    }
    const certbotImage = one(ev, "docker:index/remoteImage:RemoteImage", "staging-tls-certbot-image");
    assert.equal(certbotImage.inputs.name, registryPinned(CERTBOT_IMAGE), "pinned to the digest the registry has for the tag");
    assert.equal(certbot.inputs.restart, "unless-stopped");
    assert.equal(placeholder.inputs.restart, "no");
    assert.equal(placeholder.inputs.start, false, "the placeholder is only created by the provider");
    assert.equal(placeholder.inputs.attach, undefined);
    const placeholderRun = one(ev, "command:remote:Command", "staging-tls-placeholder-run");
    assert.match(String(placeholderRun.inputs.create), /docker start 'djangostack-staging-tls-placeholder'/);
    assert.match(String(placeholderRun.inputs.create), /ssh deploy@[^ ]+ docker logs djangostack-staging-tls-placeholder/, "the failure message says how to read its output on the Droplet");
    assert.ok(certbot.options.dependsOn.includes(placeholderRun.name), "certbot waits for the placeholder to have run");
    const script = (certbot.inputs.command as string[])[0];
    assert.match(script, /certbot certonly --webroot -w \/var\/www\/acme --cert-name "\$DOMAIN" -d staging\.example\.com -d api\.staging\.example\.com/);
    assert.match(script, /--email ops@example\.com --agree-tos/);
    assert.doesNotMatch(script, /--test-cert/, "edge.tls.staging is false: the production CA");
    assert.match(script, /certbot renew/);
    assert.match(script, /sleep 43200/, "renewal every 12 h");
    assert.match((placeholder.inputs.command as string[])[0], /openssl req -x509/);
    assert.ok(nginx.options.dependsOn.includes(certbot.name) && nginx.options.dependsOn.includes(placeholderRun.name), "nginx starts after the TLS bootstrap");
    assert.match((nginx.inputs.command as string[]).join(" "), /nginx -s reload/, "nginx reloads periodically to pick up renewals");
    const activate = one(ev, "command:remote:Command", "staging-tls-activate");
    assert.match(String(activate.inputs.create), /docker exec djangostack-staging-nginx nginx -s reload/);
    assert.deepEqual([...activate.options.dependsOn].sort(), [certbot.name, nginx.name].sort());
  });

  it("nginx.conf: ACME path on port 80 ahead of the HTTPS redirect, the Let's Encrypt cert paths, HSTS", () => {
    const conf = ev.artifacts.find((a) => a.path === "nginx/nginx.conf")?.content ?? "";
    assert.match(conf, /location \^~ \/\.well-known\/acme-challenge\/ \{\s*root \/var\/www\/acme;[\s\S]*?return 301 https:\/\/\$host\$request_uri;/);
    assert.match(conf, /ssl_certificate \/etc\/letsencrypt\/live\/staging\.example\.com\/fullchain\.pem;/);
    assert.match(conf, /ssl_certificate_key \/etc\/letsencrypt\/live\/staging\.example\.com\/privkey\.pem;/);
    assert.match(conf, /Strict-Transport-Security/);
    for (const f of ["tls/certbot.sh", "tls/placeholder.sh"]) assert.ok(ev.artifacts.some((a) => a.path === f), `${f} recorded`);
  });

  it("creates A records for the domain and app hosts in the zone found in DigitalOcean, pointing at the reserved IP", async () => {
    const records = ofType(ev, "digitalocean:index/dnsRecord:DnsRecord").map((r) => r.inputs);
    assert.deepEqual(
      records.map((r) => [r.domain, r.type, r.name, r.value]).sort(),
      [
        ["example.com", "A", "api.staging", OFFLINE_RESERVED_IP],
        ["example.com", "A", "staging", OFFLINE_RESERVED_IP],
      ],
    );
    const outputs = (await resolveOutputs(ev.exports)) as Record<string, string>;
    assert.match(outputs.dns, /^managed: /);
  });

  it("alerts on CPU, memory, disk and load to the configured email, for the Droplet's tag", () => {
    const alerts = ofType(ev, "digitalocean:index/monitorAlert:MonitorAlert");
    assert.deepEqual(alerts.map((a) => a.inputs.type).sort(), ["v1/insights/droplet/cpu", "v1/insights/droplet/disk_utilization_percent", "v1/insights/droplet/load_5", "v1/insights/droplet/memory_utilization_percent"]);
    const tag = one(ev, "digitalocean:index/tag:Tag").inputs.name;
    for (const a of alerts) {
      assert.deepEqual(a.inputs.alerts, { emails: ["ops@example.com"] });
      assert.deepEqual(a.inputs.tags, [tag]);
      assert.equal(a.inputs.compare, "GreaterThan");
    }
  });

  it("exports the v1 contract plus dropletIp, reservedIp, sshCommand, registry and dns; connection strings secret", async () => {
    const out = (await resolveOutputs(ev.exports)) as Record<string, unknown>;
    assert.equal(out.outputsVersion, "v1");
    assert.equal(out.target, "droplet");
    assert.equal(out.url, "https://staging.example.com");
    assert.equal(out.healthUrl, "https://staging.example.com/api/v1/health/");
    assert.equal(out.dropletIp, "203.0.113.10");
    assert.equal(out.reservedIp, OFFLINE_RESERVED_IP);
    assert.equal(out.sshCommand, `ssh deploy@${OFFLINE_RESERVED_IP}`);
    assert.equal(out.registry, "registry.digitalocean.com/djangostack");
    const web = (out.apps as Record<string, Record<string, unknown>>).web;
    assert.equal(web.databaseUrl, "[secret]");
    assert.ok(!containsSecret(one(ev, "digitalocean:index/droplet:Droplet").inputs), "no secret in the Droplet's inputs");
  });
});

describe("staging: nothing but the app containers depends on the app image", () => {
  const withImage = (digit: string) =>
    evaluateStack({
      stack: "staging",
      extraConfig: exactApps([
        { name: "web", image: `registry.digitalocean.com/djangostack/web@sha256:${digit.repeat(64)}`, hosts: ["api.staging.example.com"], routes: ["/"], workers: [{ name: "default" }], beat: true },
      ]),
    });

  it("two releases differ in the app containers only: Droplet, volumes, network, data and TLS containers keep every input", async () => {
    const a = await withImage("a");
    const b = await withImage("b");
    const key = (r: RecordedResource) => `${r.type}::${r.name}`;
    const inputsB = new Map(b.engine.resources.map((r) => [key(r), r]));
    const differs = (r: RecordedResource) => JSON.stringify(unwrapSecrets(r.inputs)) !== JSON.stringify(unwrapSecrets(inputsB.get(key(r))?.inputs));
    // The check has teeth: the app's containers do change.
    for (const p of ["web-web", "web-migrate", "web-worker-default", "web-beat"]) assert.ok(differs(container(a, p)), `${p} ignores the new image`);
    const stable = [
      ...ofType(a, "digitalocean:index/droplet:Droplet"),
      ...ofType(a, "docker:index/volume:Volume"),
      ...ofType(a, "docker:index/network:Network"),
      ...ofType(a, "pulumi:providers:docker"),
      ...ofType(a, "command:remote:Command").filter((c) => c.name.endsWith("cloud-init-wait")),
      ...["postgres", "postgres-init", "redis", "rabbitmq", "certbot", "tls-placeholder", "nginx"].map((p) => container(a, p)),
    ];
    assert.ok(stable.length >= 15);
    for (const r of stable) assert.ok(!differs(r), `${r.type} ${r.name} changes with the app image`);
  });
});

describe("staging variants", () => {
  it("without a domain: plain HTTP on the reserved IP, no TLS containers, no DNS, and a warning", async () => {
    const warn = mock.method(pulumi.log, "warn", () => Promise.resolve());
    try {
      const e = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:domain": "", "djangostack:edge": { tls: { mode: "none" } } } });
      const out = (await resolveOutputs(e.exports)) as Record<string, string>;
      assert.equal(out.url, `http://${OFFLINE_RESERVED_IP}`);
      assert.equal(ofType(e, "digitalocean:index/dnsRecord:DnsRecord").length, 0);
      assert.ok(!ofType(e, CONTAINER).some((c) => ["certbot", "tls-placeholder"].includes(labelsOf(c)["djangostack.process"])));
      assert.match(out.dns, /^none: /);
      const messages = warn.mock.calls.map((c) => String(c.arguments[0]));
      assert.ok(messages.some((m) => /no domain, so there is no TLS/.test(m)), messages.join("\n"));
    } finally {
      warn.mock.restore();
    }
  });

  it("Let's Encrypt staging CA, a created registry, and unmanaged DNS are honoured", async () => {
    const e = await evaluateStack({
      stack: "staging",
      extraConfig: {
        "djangostack:edge": { tls: { mode: "letsencrypt", email: "ops@example.com", staging: true } },
        "djangostack:droplet": { sshKeys: ["aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"], adminCidrs: ["198.51.100.7/32"], dnsManaged: false, registry: { name: "acme", create: true } },
      },
    });
    assert.match((container(e, "certbot").inputs.command as string[])[0], /--test-cert/);
    assert.equal(ofType(e, "digitalocean:index/dnsRecord:DnsRecord").length, 0);
    const out = (await resolveOutputs(e.exports)) as Record<string, string>;
    assert.match(out.dns, /^manual: .*staging\.example\.com, api\.staging\.example\.com/);
    assert.equal(one(e, "digitalocean:index/containerRegistry:ContainerRegistry").inputs.name, "acme");
    assert.deepEqual(one(e, "digitalocean:index/droplet:Droplet").inputs.sshKeys, ["aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"], "a fingerprint is passed as is");
    assert.deepEqual((one(e, "digitalocean:index/firewall:Firewall").inputs.inboundRules as { sourceAddresses: string[] }[])[0].sourceAddresses, ["198.51.100.7/32"]);
    assert.equal(ofType(e, "digitalocean:index/monitorAlert:MonitorAlert").length, 0, "no alertEmails: no alerts");
  });
});
