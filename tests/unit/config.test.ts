import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { Raw } from "../../src/config/checker";
import { REDIS_EVICTION_POLICIES } from "../../src/config/types";

import { id, problems } from "./config-helpers";

const droplet = { sshKeys: ["aa:bb"], adminCidrs: ["203.0.113.7/32"] };

describe("parseConfig defaults", () => {
  it("turns an empty stack file into one complete Django app on the local engine", () => {
    const config = parseConfig({}, id);
    assert.equal(config.target, "docker");
    assert.equal(config.apps.length, 1);
    const [app] = config.apps;
    assert.equal(app.name, "web");
    assert.deepEqual(app.routes, ["/"]);
    assert.deepEqual(app.source, { kind: "build", context: "./app", dockerfile: "Dockerfile", target: undefined });
    assert.equal(app.workers.length, 1);
    assert.equal(app.workers[0].pool, "prefork");
    assert.equal(app.beat, true);
    assert.equal(config.data.postgres.mode, "container");
    assert.equal(config.edge.httpPort, 8080);
    assert.equal(config.edge.tls.mode, "none");
  });

  it("derives per-target defaults: managed data on kubernetes, Let's Encrypt on a droplet with a domain", () => {
    const k8s = parseConfig({ target: "kubernetes", domain: "example.com" }, id);
    assert.equal(k8s.edge.tls.mode, "letsencrypt", "a managed certificate needs no ACME email");
    assert.equal(k8s.data.postgres.mode, "managed");
    assert.equal(k8s.edge.replicas, 2);
    const staging = parseConfig({ target: "droplet", domain: "example.com", droplet, edge: { tls: { email: "ops@example.com" } } }, id);
    assert.equal(staging.edge.tls.mode, "letsencrypt");
    assert.equal(staging.edge.httpPort, 80);
    assert.equal(staging.droplet?.adminCidrs[0], "203.0.113.7/32");
  });

  it("accepts JSON-ish strings for numbers and booleans as the Pulumi CLI stores them", () => {
    const config = parseConfig({ apps: [{ name: "api", replicas: "3", beat: "false", workers: [{ concurrency: "4" }] }] }, id);
    assert.equal(config.apps[0].replicas, 3);
    assert.equal(config.apps[0].beat, false);
    assert.equal(config.apps[0].workers[0].concurrency, 4);
  });

  it("parses CPU and memory quantities into millicores and MiB", () => {
    const config = parseConfig({ apps: [{ resources: { cpu: "1.5", memory: "2Gi" } }] }, id);
    assert.deepEqual(config.apps[0].resources, { cpuMillis: 1500, memoryMiB: 2048 });
  });

  it("keeps all eight Redis eviction policies for the container Redis, LFU included", () => {
    for (const evictionPolicy of REDIS_EVICTION_POLICIES) {
      for (const target of ["docker", "kubernetes"] as const) {
        const config = parseConfig({ target, domain: "example.com", data: { redis: { mode: "container", evictionPolicy } } }, id);
        assert.equal(config.data.redis.evictionPolicy, evictionPolicy);
      }
    }
  });

  it("records secretEnv names without ever echoing their values", () => {
    const config = parseConfig({ secretEnv: { web: { CLICKHOUSE_PASSWORD: "hunter2" } } }, id);
    assert.deepEqual(config.apps[0].secretEnvKeys, ["CLICKHOUSE_PASSWORD"]);
    const rejected = problems({ secretEnv: { web: { CLICKHOUSE_PASSWORD: 42 } } });
    assert.ok(rejected.every((p) => !p.includes("42")), rejected.join("\n"));
  });
});

/** Each bad input, the key its message must name, and a fragment of what is allowed. */
const badInputs: [string, Raw, string, string][] = [
  ["unknown target", { target: "heroku" }, "djangostack:target", '"docker", "droplet", "kubernetes"'],
  ["target of the wrong type", { target: 3 }, "djangostack:target", "allowed values"],
  ["unknown top-level key", { tagret: "docker" }, "djangostack:tagret", "unknown key"],
  ["bad region", { region: "Europe" }, "djangostack:region", "region slug"],
  ["bad domain", { domain: "https://example.com/" }, "djangostack:domain", "domain name"],
  ["apps not a list", { apps: { name: "web" } }, "djangostack:apps", "expected a list"],
  ["empty app list", { apps: [] }, "djangostack:apps", "at least one"],
  ["uppercase app name", { apps: [{ name: "Web_1" }] }, "djangostack:apps[0].name", "lowercase"],
  ["app name with a trailing hyphen", { apps: [{ name: "web-" }] }, "djangostack:apps[0].name", "lowercase"],
  ["duplicate app names", { apps: [{ name: "api", routes: ["/a/"] }, { name: "api", routes: ["/b/"] }] }, "djangostack:apps[1].name", "already used by apps[0].name"],
  ["duplicate routes", { apps: [{ name: "auth", routes: ["/api/"] }, { name: "ticket", routes: ["/api/"] }] }, "djangostack:apps[1].routes", "exactly one app"],
  ["route without slashes", { apps: [{ routes: ["api"] }] }, "djangostack:apps[0].routes[0]", 'starts and ends with "/"'],
  ["negative replicas", { apps: [{ replicas: -1 }] }, "djangostack:apps[0].replicas", "from 1 to 100"],
  ["fractional replicas", { apps: [{ replicas: 1.5 }] }, "djangostack:apps[0].replicas", "integer"],
  ["unknown app key", { apps: [{ replica: 2 }] }, "djangostack:apps[0].replica", "unknown key"],
  ["both image and build", { apps: [{ image: "nginx:1", build: "./app" }] }, "djangostack:apps[0].image", "not both"],
  ["bad image reference", { apps: [{ image: "Not An Image" }] }, "djangostack:apps[0].image", "image reference"],
  ["unknown celery pool", { apps: [{ workers: [{ pool: "fork" }] }] }, "djangostack:apps[0].workers[0].pool", '"prefork"'],
  ["zero concurrency", { apps: [{ workers: [{ concurrency: 0 }] }] }, "djangostack:apps[0].workers[0].concurrency", "from 1"],
  ["empty queue list", { apps: [{ workers: [{ queues: [] }] }] }, "djangostack:apps[0].workers[0].queues", "at least one queue"],
  ["env shadows a generated credential", { apps: [{ env: { DATABASE_URL: "sqlite://" } }] }, "djangostack:apps[0].env.DATABASE_URL", "set by djangostack"],
  ["lowercase env name", { apps: [{ env: { debug: "1" } }] }, "djangostack:apps[0].env.debug", "UPPER_SNAKE_CASE"],
  ["beat without workers", { apps: [{ workers: [] }] }, "djangostack:apps[0].beat", "at least one worker"],
  ["bad memory quantity", { apps: [{ resources: { memory: "512MB" } }] }, "djangostack:apps[0].resources.memory", '"<n>Mi"'],
  ["bad cpu quantity", { apps: [{ resources: { cpu: "lots" } }] }, "djangostack:apps[0].resources.cpu", "millicores"],
  ["autoscale min above max", { apps: [{ autoscale: { min: 5, max: 2 } }] }, "djangostack:apps[0].autoscale.min", "must not exceed"],
  ["managed postgres on docker", { data: { postgres: { mode: "managed" } } }, "djangostack:data.postgres.mode", '"kubernetes"'],
  ["unsupported postgres version", { data: { postgres: { version: "9.6" } } }, "djangostack:data.postgres.version", "13 to 17"],
  ["redis maxmemory above its container", { data: { redis: { maxMemory: 4096 } } }, "djangostack:data.redis.maxMemory", "below the container memory"],
  ["unknown eviction policy", { data: { redis: { evictionPolicy: "lru" } } }, "djangostack:data.redis.evictionPolicy", '"allkeys-lru"'],
  // terraform-provider-digitalocean DatabaseValkeyConfig: valkey_maxmemory_policy is one of six, no LFU.
  ["LFU eviction on managed Valkey", { target: "kubernetes", domain: "example.com", data: { redis: { mode: "managed", evictionPolicy: "allkeys-lfu" } } }, "djangostack:data.redis.evictionPolicy", '"noeviction", "allkeys-lru", "allkeys-random", "volatile-lru", "volatile-random", "volatile-ttl"'],
  ["volatile LFU eviction on managed Valkey (the kubernetes default mode)", { target: "kubernetes", domain: "example.com", data: { redis: { evictionPolicy: "volatile-lfu" } } }, "djangostack:data.redis.evictionPolicy", 'data.redis.mode "managed"'],
  // The other values passed on to DigitalOcean, each within the provider's own list: maintenance_policy.day
  // (any, monday..sunday), subscription_tier_slug (starter, basic, professional), and the load balancer's
  // size slugs (lb-small/medium/large, sent as size units 1/3/6 as the provider's size diff maps them).
  ["unknown maintenance day", { target: "kubernetes", domain: "example.com", kubernetes: { maintenance: { day: "weekend" } } }, "djangostack:kubernetes.maintenance.day", '"any", "monday"'],
  ["maintenance time not HH:MM", { target: "kubernetes", domain: "example.com", kubernetes: { maintenance: { startTime: "4am" } } }, "djangostack:kubernetes.maintenance.startTime", "HH:MM"],
  ["unknown registry tier", { target: "kubernetes", domain: "example.com", kubernetes: { registry: { tier: "pro" } } }, "djangostack:kubernetes.registry.tier", '"starter", "basic", "professional"'],
  ["load balancer size the provider does not list", { target: "kubernetes", domain: "example.com", kubernetes: { loadBalancerSize: "lb-xlarge" } }, "djangostack:kubernetes.loadBalancerSize", '"lb-small", "lb-medium", "lb-large"'],
  ["rabbitmq watermark above 0.9", { data: { rabbitmq: { memoryHighWatermark: 1.2 } } }, "djangostack:data.rabbitmq.memoryHighWatermark", "0.1 to 0.9"],
  ["TLS without a domain", { edge: { tls: { mode: "files", certificatePath: "/c.pem", keyPath: "/k.pem" } } }, "djangostack:edge.tls.mode", "needs djangostack:domain"],
  ["Let's Encrypt without email", { target: "droplet", domain: "example.com", droplet }, "djangostack:edge.tls.email", "required"],
  ["operator TLS files on kubernetes", { target: "kubernetes", domain: "example.com", edge: { tls: { mode: "files", certificatePath: "/c.pem", keyPath: "/k.pem" } } }, "djangostack:edge.tls.mode", "managed certificate"],
  ["droplet without admin CIDRs", { target: "droplet", droplet: { sshKeys: ["aa"] } }, "djangostack:droplet.adminCidrs", "never opened to 0.0.0.0/0"],
  ["SSH open to the internet", { target: "droplet", droplet: { ...droplet, adminCidrs: ["0.0.0.0/0"] } }, "djangostack:droplet.adminCidrs[0]", "refused"],
  ["droplet settings on the docker target", { droplet }, "djangostack:droplet", 'target is "droplet"'],
  ["secretEnv for an unknown app", { secretEnv: { shop: { TOKEN: "x" } } }, "djangostack:secretEnv.shop", "no such app"],
  ["a short user-supplied Django SECRET_KEY", { secretKey: "tooshort" }, "djangostack:secretKey", "at least 50 characters"],
  ["a database password for an unknown app", { databasePasswords: { shop: "0123456789abcdefXYZ" } }, "djangostack:databasePasswords.shop", "no app with a database"],
  ["workload pool min above max", { target: "kubernetes", domain: "example.com", kubernetes: { workloadPool: { minNodes: 4, maxNodes: 2 } } }, "djangostack:kubernetes.workloadPool.minNodes", "must not exceed"],
];

describe("parseConfig rejects bad input before any resource exists", () => {
  for (const [title, raw, key, allowed] of badInputs) {
    it(`${title}: names ${key} and what is allowed`, () => {
      const found = problems(raw);
      const match = found.find((p) => p.startsWith(`${key}:`) || p.startsWith(`${key} `) || p.startsWith(key));
      assert.ok(match, `no problem names ${key}; got:\n${found.join("\n")}`);
      assert.ok(match.includes(allowed), `message for ${key} lacks "${allowed}": ${match}`);
      assert.ok(match.includes("got "), `message does not show the value: ${match}`);
    });
  }

  it("never echoes a secret value, even under a misspelt key", () => {
    const found = problems({ secretkey: "hunter2-hunter2-hunter2", postgresPassword: "short-pw", secretKey: 12345678 });
    assert.ok(found.length >= 3, found.join("\n"));
    assert.ok(found.every((p) => !p.includes("hunter2") && !p.includes("short-pw") && !p.includes("12345678")), found.join("\n"));
  });

  it("reports every problem of a stack file at once", () => {
    const found = problems({ target: "nope", region: "x", apps: [{ name: "A", replicas: 0 }] });
    assert.ok(found.length >= 4, found.join("\n"));
  });
});
