import { describe, it } from "node:test";
import assert from "node:assert/strict";
import YAML from "yaml";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { doctlExecArgs, execKubeconfig } from "../../src/components/targets/kubernetes/kubeconfig";
import { dockerAuth } from "../../src/components/targets/kubernetes/cluster";
import { dnsRecordFor, loadBalancedNginx } from "../../src/components/targets/kubernetes/edge";
import { staticCopyCommand } from "../../src/model/static";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderManagedGrants } from "../../src/render/managed-grants";
import { poolName } from "../../src/components/managed-data";
import { poolSize } from "../../src/model/managed";
import { digestSuffix, splitEnv } from "../../src/components/targets/kubernetes/app";
import { probesFor, volumesFor } from "../../src/components/targets/kubernetes/workload";
import { Process } from "../../src/model/types";

const production = () =>
  parseConfig(
    {
      target: "kubernetes",
      domain: "shop.example.com",
      apps: [{ name: "shop", hosts: ["api.shop.example.com", "shop.example.org"] }],
      edge: { tls: { mode: "letsencrypt", email: "ops@example.com" } },
    },
    { project: "djangostack", stack: "production" },
  );

describe("kubernetes target: pure helpers", () => {
  it("builds a kubeconfig that asks doctl for a token and holds no credential itself", () => {
    const text = execKubeconfig({ clusterName: "djangostack-production", clusterId: "c0ffee-id", endpoint: "https://c0ffee-id.k8s.ondigitalocean.com", caCertificate: "Q0E=" });
    const doc = YAML.parse(text) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: Record<string, unknown> & { exec: { command: string; args: string[]; apiVersion: string } } }[];
      "current-context": string;
      contexts: { name: string }[];
    };
    assert.equal(doc.clusters[0].cluster.server, "https://c0ffee-id.k8s.ondigitalocean.com");
    assert.equal(doc.clusters[0].cluster["certificate-authority-data"], "Q0E=");
    assert.equal(doc.users[0].user.exec.command, "doctl");
    assert.deepEqual(doc.users[0].user.exec.args, doctlExecArgs("c0ffee-id"));
    assert.deepEqual(doc.users[0].user.exec.args, ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", "c0ffee-id"]);
    assert.equal(doc.users[0].user.exec.apiVersion, "client.authentication.k8s.io/v1beta1");
    for (const key of ["token", "client-certificate-data", "client-key-data", "password"]) assert.ok(!(key in doc.users[0].user), `no ${key} in the kubeconfig user`);
    assert.equal(doc["current-context"], doc.contexts[0].name);
  });

  it("reads user and password out of DOCR's docker config JSON, and refuses one for another server", () => {
    const json = JSON.stringify({ auths: { "registry.digitalocean.com": { auth: Buffer.from("tok:en:with:colons").toString("base64") } } });
    assert.deepEqual(dockerAuth(json, "registry.digitalocean.com"), { username: "tok", password: "en:with:colons" });
    assert.throws(() => dockerAuth(json, "ghcr.io"), /no auth for ghcr\.io/);
  });

  it("adapts the staging nginx.conf to the load balancer: real client IP from the VPC, original scheme forwarded", () => {
    const config = production();
    const conf = loadBalancedNginx(buildModel(config), config, "10.110.0.0/20");
    assert.match(conf, /^\s*set_real_ip_from 10\.110\.0\.0\/20;$/m);
    assert.match(conf, /^\s*real_ip_header X-Forwarded-For;$/m);
    // X-Forwarded-Proto counts only when the peer (before realip) is in the trusted range.
    assert.match(conf, /geo \$realip_remote_addr \$djs_from_proxy \{\s*default 0;\s*10\.110\.0\.0\/20 1;\s*\}/);
    assert.match(conf, /map "\$djs_from_proxy:\$http_x_forwarded_proto" \$djs_forwarded_proto \{\s*default \$scheme;\s*"1:https" https;\s*\}/);
    assert.ok((conf.match(/proxy_set_header X-Forwarded-Proto \$djs_forwarded_proto;/g) ?? []).length > 0);
    // Directives land in the http context, before the first server block.
    assert.ok(conf.indexOf("set_real_ip_from") < conf.indexOf("server {"));
    assert.ok(!/listen \d+ ssl/.test(conf), "nginx never terminates TLS here");
    assert.throws(() => loadBalancedNginx(buildModel(config), config, "10.110.0.0/20; evil"), /trustedProxy/);
  });

  it("places DNS records in the domain's zone, and other hosts in their parent zone", () => {
    assert.deepEqual(dnsRecordFor("shop.example.com", "shop.example.com"), { zone: "shop.example.com", name: "@" });
    assert.deepEqual(dnsRecordFor("api.shop.example.com", "shop.example.com"), { zone: "shop.example.com", name: "api" });
    assert.deepEqual(dnsRecordFor("shop.example.org", "shop.example.com"), { zone: "example.org", name: "shop" });
    assert.deepEqual(buildModel(production()).serverNames, ["shop.example.com", "api.shop.example.com", "shop.example.org"]);
  });

  it("sizes session pools from the managed node's connection limit (25 per GiB, 3 reserved), 80% split across apps", () => {
    assert.equal(poolSize("db-s-2vcpu-4gb", 1), Math.floor(97 * 0.8));
    assert.equal(poolSize("db-s-2vcpu-4gb", 2), Math.floor((97 * 0.8) / 2));
    assert.equal(poolSize("db-s-1vcpu-1gb", 5), Math.floor((22 * 0.8) / 5));
    assert.ok(poolSize("db-s-1vcpu-1gb", 50) >= 1);
  });

  it("renames a connection pool whenever one of its replace-forcing fields changes, within DigitalOcean's 3-63 characters", () => {
    const spec = { dbName: "shop_db", user: "shop_user", mode: "session", size: 77 };
    const changed = [{ ...spec, dbName: "shop2_db" }, { ...spec, user: "other_user" }, { ...spec, mode: "transaction" }, { ...spec, size: 38 }];
    const names = new Set([spec, ...changed].map(poolName));
    assert.equal(names.size, changed.length + 1);
    assert.equal(poolName(spec), poolName({ ...spec }), "stable for the same pool");
    const longest = poolName({ dbName: `${"a".repeat(20)}_db`, user: `${"a".repeat(20)}_user`, mode: "transaction", size: 1000 });
    assert.ok(longest.length <= 63, `${longest} fits the provider's StringLenBetween(3, 63)`);
  });

  it("grants each DigitalOcean-created role its own database and nothing else", () => {
    const sql = renderManagedGrants([{ database: "shop_db", role: "shop_user" }]);
    assert.match(sql, /REVOKE CONNECT, TEMPORARY ON DATABASE "shop_db" FROM PUBLIC;/);
    assert.match(sql, /GRANT CONNECT, TEMPORARY ON DATABASE "shop_db" TO "shop_user";/);
    assert.match(sql, /\\connect shop_db\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\nGRANT USAGE, CREATE ON SCHEMA public TO "shop_user";/);
    assert.throws(() => renderManagedGrants([{ database: 'x"; DROP', role: "r" }]), /invalid database or role/);
  });

  it("names migration Jobs by the first 10 hex digits of the digest, or of a hash of a named image", () => {
    assert.equal(digestSuffix(`sha256:${"ab12".repeat(16)}`, "x"), "ab12ab12ab");
    const named = digestSuffix("", "registry.digitalocean.com/team/api:1.4");
    assert.match(named, /^[0-9a-f]{10}$/);
    assert.notEqual(named, digestSuffix("", "registry.digitalocean.com/team/api:1.5"));
  });

  it("splits env into what every process of an app shares and what each adds", () => {
    const p = (name: string, env: Record<string, string>) => ({ name, env }) as Process;
    const { shared, own } = splitEnv([p("a", { X: "1", Y: "2" }), p("b", { X: "1", Y: "3", Z: "4" })]);
    assert.deepEqual(shared, { X: "1" });
    assert.deepEqual(own, { a: { Y: "2" }, b: { Y: "3", Z: "4" } });
  });

  it("sends the model's probe Host as a header (kubelet's httpGet.host would be the address)", () => {
    const probes = probesFor({
      liveness: { kind: "http", path: "/h/", port: 8000, host: "localhost" },
      readiness: { kind: "exec", command: ["true"] },
      timing: { intervalSeconds: 15, timeoutSeconds: 10, failureThreshold: 4, startPeriodSeconds: 60 },
    });
    assert.deepEqual(probes.livenessProbe, { httpGet: { path: "/h/", port: 8000, scheme: "HTTP", httpHeaders: [{ name: "Host", value: "localhost" }] }, periodSeconds: 15, timeoutSeconds: 10, failureThreshold: 4 });
    const plain = probes as Record<string, { failureThreshold?: number; exec?: unknown }>;
    assert.equal(plain.startupProbe.failureThreshold, 4 + 4, "start period (60 s / 15 s) plus the normal threshold");
    assert.deepEqual(plain.readinessProbe.exec, { command: ["true"] });
  });

  it("maps scratch volumes to emptyDirs (memory-backed where the model says so) and refuses unknown config volumes", () => {
    const model = buildModel(production());
    const worker = model.processes.find((p) => p.role === "worker") as Process;
    const { volumes, mounts } = volumesFor(worker, { sources: {}, memoryScratchMiB: 64 });
    assert.deepEqual(volumes.find((v) => v.name === "celery-state"), { name: "celery-state", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } });
    assert.ok(mounts.every((m) => typeof m.mountPath === "string"));
    const web = model.processes.find((p) => p.role === "web") as Process;
    assert.throws(() => volumesFor(web, { sources: {}, memoryScratchMiB: 64 }), /no Kubernetes source for config volume gunicorn-config/);
  });

  it("copies static files strictly for built images and tolerantly for named ones (run with the local python3)", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "djs-static-"));
    try {
      const src = path.join(tmp, "staticfiles");
      fs.mkdirSync(path.join(src, "admin"), { recursive: true });
      fs.writeFileSync(path.join(src, "admin", "base.0123456789ab.css"), "body{}");
      const run = (required: boolean, from: string, to: string) => {
        const [, flag, code] = staticCopyCommand(required, "/app/staticfiles", "/srv/static/x");
        return execFileSync("python3", [flag, code, from, to], { stdio: "pipe" });
      };
      run(true, src, path.join(tmp, "out"));
      assert.equal(fs.readFileSync(path.join(tmp, "out", "admin", "base.0123456789ab.css"), "utf8"), "body{}");
      assert.throws(() => run(true, path.join(tmp, "missing"), path.join(tmp, "out2")), /No such file|FileNotFoundError|Command failed/);
      run(false, path.join(tmp, "missing"), path.join(tmp, "out3"));
      assert.ok(!fs.existsSync(path.join(tmp, "out3")));
      assert.deepEqual(staticCopyCommand(true, "/app/collected", "/srv/static/shop").slice(-2), ["/app/collected", "/srv/static/shop"]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
