/**
 * examples/consumer is another team's program: it must type-check against the reader, what a
 * consumer installs from packages/outputs must build, and under Pulumi mocks the program must get
 * the URL plain and the database host and broker URL as secrets.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const CONSUMER = path.join(ROOT, "examples/consumer");
const PKG = path.join(ROOT, "packages/outputs");

function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Runs the consumer under mocks in a child (its tsconfig maps the package name) and returns its resolved exports. */
const RUNNER = `
const pulumi = require(${JSON.stringify(require.resolve("@pulumi/pulumi"))});
const published = JSON.parse(process.env.PUBLISHED);
pulumi.runtime.setMocks({
  newResource: (a) => {
    const p = published[a.inputs.name] || { outputs: {}, secret: [] };
    return { id: a.name + "-id", state: { ...a.inputs, outputs: p.outputs, secretOutputNames: p.secret } };
  },
  call: () => ({}),
}, "shop-analytics", "dev", false);
const settle = (o) => new Promise((ok) => {
  o.apply((v) => { ok({ ok: true, v }); return v; });
  setTimeout(() => ok({ ok: false }), 2000);
});
(async () => {
  process.on("unhandledRejection", (e) => { console.log(JSON.stringify({ error: String(e && e.message || e) })); process.exit(0); });
  const mod = require(${JSON.stringify(path.join(CONSUMER, "index.ts"))});
  const res = {};
  for (const k of ["shopUrl", "shopTarget", "databaseHost", "brokerUrl"]) {
    const s = await settle(mod[k]);
    res[k] = { value: s.v, secret: await pulumi.isSecret(mod[k]) };
  }
  console.log(JSON.stringify(res));
})();
`;

const prodOutputs = {
  outputsVersion: "v1",
  target: "kubernetes",
  url: "https://shop.example.com",
  healthUrl: "https://shop.example.com/api/v1/health/",
  images: { shop: "registry.digitalocean.com/acme/production-shop:production@sha256:abc" },
  apps: {
    shop: {
      database: { name: "shop_db", user: "shop_user" },
      broker: { vhost: "/shop", user: "shop_broker" },
      redisDb: 0,
      routes: ["/"],
      hosts: [],
      databaseUrl: "postgres://shop_user:pw@private-pg.db.ondigitalocean.com:25060/shop_db?sslmode=require",
      brokerUrl: "amqp://shop_broker:pw@rabbitmq:5672/%2Fshop",
      redisUrl: "rediss://default:pw@private-valkey:25061/0",
    },
  },
  clusterName: "djangostack-production",
  clusterId: "id",
  namespace: "shop",
  kubeconfig: "apiVersion: v1",
  loadBalancerIp: "203.0.113.50",
  databaseHosts: ["private-pg.db.ondigitalocean.com"],
};

function runConsumer(published: Record<string, { outputs: Record<string, unknown>; secret: string[] }>): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-"));
  const runner = path.join(dir, "runner.cjs");
  fs.writeFileSync(runner, RUNNER);
  const r = run(["--import", "tsx", runner], {
    cwd: CONSUMER,
    env: { ...process.env, PUBLISHED: JSON.stringify(published), TSX_TSCONFIG_PATH: path.join(CONSUMER, "tsconfig.json") },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.out);
  return JSON.parse(r.out.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
}

describe("examples/consumer (another team's program)", () => {
  it("type-checks with tsc (strict) against the reader", () => {
    const r = run([TSC, "-p", path.join(CONSUMER, "tsconfig.json")]);
    assert.equal(r.status, 0, r.out);
  });

  it("the package builds to what its package.json points at, and the built reader works", () => {
    // Inside node_modules/.cache so the built file resolves its peer @pulumi/pulumi as an install would.
    fs.mkdirSync(path.join(ROOT, "node_modules/.cache"), { recursive: true });
    const out = fs.mkdtempSync(path.join(ROOT, "node_modules/.cache/outputs-pkg-"));
    const r = run([TSC, "-p", path.join(PKG, "tsconfig.json"), "--outDir", out]);
    assert.equal(r.status, 0, r.out);
    const pkg = JSON.parse(fs.readFileSync(path.join(PKG, "package.json"), "utf8")) as { main: string; types: string; private?: boolean; peerDependencies: Record<string, string> };
    assert.notEqual(pkg.private, true, "publishable");
    assert.ok(pkg.peerDependencies["@pulumi/pulumi"], "@pulumi/pulumi is the consumer's");
    for (const f of [pkg.main, pkg.types]) assert.ok(fs.existsSync(path.join(out, path.relative("dist", f))), `${f} is built`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the built CommonJS output as a consumer would
    const built = require(path.join(out, "index.js")) as typeof import("../../packages/outputs/src/index");
    assert.equal(built.OUTPUTS_VERSION, "v1");
    assert.throws(() => built.asStackOutputsV1("acme/x/y", { outputsVersion: "v2" }), /exports outputs v2; this reader understands v1/);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it("under mocks: the URL is plain, the database host and broker URL are secret", () => {
    const res = runConsumer({ "acme/djangostack/production": { outputs: prodOutputs, secret: ["apps", "kubeconfig"] } });
    assert.deepEqual(res.shopUrl, { value: "https://shop.example.com", secret: false });
    assert.deepEqual(res.shopTarget, { value: "kubernetes", secret: false });
    assert.deepEqual(res.databaseHost, { value: "private-pg.db.ondigitalocean.com", secret: true });
    assert.deepEqual(res.brokerUrl, { value: "amqp://shop_broker:pw@rabbitmq:5672/%2Fshop", secret: true });
  });

  it("under mocks: a stack publishing another contract version fails the consumer with the version check", () => {
    const res = runConsumer({ "acme/djangostack/production": { outputs: { ...prodOutputs, outputsVersion: "v2" }, secret: [] } });
    assert.match(String(res.error), /exports outputs v2; this reader understands v1/);
  });
});
