/**
 * Issue 11 item 3: a stack without a domain lists the addresses it is really reached at in Django's
 * ALLOWED_HOSTS, never "*": loopback locally, the remote engine's address, the Droplet's reserved IP;
 * a Kubernetes stack needs a domain (its load balancer's address exists only after the apps start).
 */
import { describe, it } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import assert from "node:assert/strict";
import { evaluateStack } from "../../src/offline/render";
import { unwrapSecrets } from "../../src/offline/secret";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { id, refuses } from "./config-helpers";

const allowed = (env: Record<string, string> | undefined) => (env?.DJANGO_ALLOWED_HOSTS ?? "").split(",");

describe("ALLOWED_HOSTS without a domain (issue 11 item 3)", () => {
  it("a local stack: its internal names and loopback only", () => {
    const web = buildModel(parseConfig({}, id)).processes.find((p) => p.role === "web");
    assert.deepEqual(allowed(web?.env), ["web-web", "localhost", "127.0.0.1"]);
  });

  it("a remote engine published publicly: the engine's address", () => {
    const web = buildModel(parseConfig({ docker: { host: "ssh://deploy@203.0.113.10", publish: "public" } }, id)).processes.find((p) => p.role === "web");
    assert.deepEqual(allowed(web?.env), ["203.0.113.10", "web-web", "localhost", "127.0.0.1"]);
  });

  it("a Droplet: the reserved IP, filled in by the realizer", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "djs-hosts-")), "Pulumi.ipstack.yaml");
    fs.writeFileSync(file, "config:\n  djangostack:target: droplet\n  djangostack:droplet:\n    sshKeys: [deploy]\n    adminCidrs: [203.0.113.0/24]\n");
    const ev = await evaluateStack({ stack: "ipstack", stackFile: file });
    const ip = ev.engine.resources.find((r) => r.type === "digitalocean:index/reservedIp:ReservedIp");
    const web = ev.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-web"));
    const env = (unwrapSecrets(web?.inputs.envs) as string[]).find((e) => e.startsWith("DJANGO_ALLOWED_HOSTS=")) ?? "";
    assert.ok(ip, "the staging stack has a reserved IP");
    assert.doesNotMatch(env, /\*|invalid/);
    assert.match(env, /^DJANGO_ALLOWED_HOSTS=\d+\.\d+\.\d+\.\d+,/);
  });

  it("never *, on any target", () => {
    for (const raw of [{}, { docker: { host: "tcp://127.0.0.1:2376", publish: "loopback" } }, { target: "kubernetes", domain: "shop.example.com" }]) {
      for (const p of buildModel(parseConfig(raw, id)).processes) assert.ok(!allowed(p.env).includes("*"), p.name);
    }
  });

  it("Kubernetes: the domain and its hosts; a stack without a domain is refused, not opened to any Host", () => {
    const web = buildModel(parseConfig({ target: "kubernetes", domain: "shop.example.com" }, id)).processes.find((p) => p.role === "web");
    assert.deepEqual(allowed(web?.env), ["shop.example.com", "web-web", "localhost", "127.0.0.1"]);
  });

  refuses(
    [
      ["a Kubernetes stack without a domain", { target: "kubernetes" }, "djangostack:domain", 'target "kubernetes" needs a domain'],
      // Pulumi.yaml's declared default for the key.
      ["a Kubernetes stack with the empty default domain", { target: "kubernetes", domain: "" }, "djangostack:domain", 'target "kubernetes" needs a domain'],
    ],
    { valueShown: false },
  );
});

describe("the hosts Django trusts, beside the ones only the edge answers (issue 11 item 12)", () => {
  const envOf = (raw: Record<string, unknown>) => buildModel(parseConfig(raw, id)).processes.find((p) => p.role === "web")?.env;
  const sites = { domain: "example.com", apps: [{ name: "web", routes: ["/"], hosts: ["api.example.com"] }], frontend: { image: "ghcr.io/acme/spa:1", route: "/app/", hosts: ["app.example.com"] }, edge: { redirectHosts: ["www.example.com"] } };

  it("the frontend's and the redirecting hosts are on the certificate but never in ALLOWED_HOSTS; the frontend's pages are trusted origins", () => {
    const model = buildModel(parseConfig(sites, id));
    assert.deepEqual(model.serverNames, ["example.com", "api.example.com", "app.example.com", "www.example.com"]);
    const env = envOf(sites);
    assert.deepEqual(allowed(env), ["example.com", "api.example.com", "web-web", "localhost", "127.0.0.1"]);
    assert.equal(env?.CSRF_TRUSTED_ORIGINS, "http://example.com,http://api.example.com,http://app.example.com");
  });

  it("an app's own host reaches Django on a stack without a domain too", () => {
    const env = envOf({ apps: [{ name: "web", routes: ["/"], hosts: ["api.example.com"] }] });
    assert.deepEqual(allowed(env), ["api.example.com", "web-web", "localhost", "127.0.0.1"]);
    assert.equal(env?.CSRF_TRUSTED_ORIGINS, "http://api.example.com");
  });
});
