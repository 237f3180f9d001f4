/**
 * Issue 10 item 6: Celery's broker per app (RabbitMQ or a Redis database of its own), RabbitMQ
 * deployed only while an app uses it, and the worker pool options the seeds use.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { brokerGrants, buildModel } from "../../src/model/build";
import { renderRabbitmqDefinitions } from "../../src/render/rabbitmq";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { unwrapSecrets } from "../../src/offline/secret";
import { appConnections } from "../../src/model/capacity";
import { PRICES } from "../../src/config/prices";
import { id, refuses } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const apps = (...list: Raw[]): Raw => ({ apps: list });
const parse = (raw: Raw) => parseConfig(raw, id);

describe("apps[].broker", () => {
  it("true and the default mean RabbitMQ, a name picks the broker, false turns Celery off", () => {
    const c = parse(apps({ name: "a" }, { name: "b", broker: "redis" }, { name: "c", broker: "rabbitmq" }, { name: "d", broker: false }));
    assert.deepEqual(c.apps.map((a) => [a.broker, a.brokerKind]), [[true, "rabbitmq"], [true, "redis"], [true, "rabbitmq"], [false, "rabbitmq"]]);
  });

  it("gives a Redis broker the highest database no cache or other queue uses", () => {
    const c = parse(apps({ name: "a", broker: "redis" }, { name: "b", broker: "redis", redisDb: 14 }, { name: "c" }));
    assert.deepEqual(c.apps.map((a) => [a.redisDb, a.brokerRedisDb]), [[0, 15], [14, 13], [2, undefined]]);
  });

  it("deploys RabbitMQ only while some app uses it, and Redis when a queue lives there", () => {
    const kinds = (raw: Raw) => buildModel(parse(raw)).processes.filter((p) => p.role === "rabbitmq" || p.role === "redis").map((p) => p.role).sort();
    assert.deepEqual(kinds(apps({ name: "a", broker: "redis", envNames: { cacheUrl: "", resultBackend: "" } })), ["redis"]);
    assert.deepEqual(kinds(apps({ name: "a", broker: "redis" }, { name: "b" })), ["rabbitmq", "redis"]);
    assert.deepEqual(kinds(apps({ name: "a", broker: false, envNames: { cacheUrl: "" } })), []);
  });

  it("renders the worker's prefetch, child recycling and autoscale flags as Celery reads them", () => {
    const m = buildModel(parse(apps({ name: "a", workers: [{ name: "w", prefetchMultiplier: 1, maxTasksPerChild: 100, autoscale: { min: 2, max: 8 } }] })));
    const cmd = m.processes.find((p) => p.name === "a-worker-w")?.command ?? [];
    const flag = (f: string) => cmd[cmd.indexOf(f) + 1];
    assert.deepEqual([flag("--prefetch-multiplier"), flag("--max-tasks-per-child"), flag("--autoscale")], ["1", "100", "8,2"]);
    const plain = buildModel(parse(apps({ name: "a" }))).processes.find((p) => p.name === "a-worker-default")?.command ?? [];
    assert.ok(!plain.some((a) => ["--prefetch-multiplier", "--max-tasks-per-child", "--autoscale"].includes(a)), "no flags unless asked");
  });

  it("counts an autoscaling pool at its maximum in the PostgreSQL connection check", () => {
    const c = parse(apps({ name: "a", workers: [{ autoscale: { min: 1, max: 12 }, replicas: 2 }] }));
    assert.equal(appConnections(c, c.apps[0], PRICES).workers, 24);
  });

  refuses([
    ["an unknown broker", apps({ name: "a", broker: "kafka" }), "djangostack:apps[0].broker", '"rabbitmq", "redis"'],
    ["a broker database a cache uses", apps({ name: "a", broker: "redis", brokerRedisDb: 1 }, { name: "b" }), "djangostack:apps[0].brokerRedisDb", "already used by apps[1].redisDb"],
    ["a broker database out of range", apps({ name: "a", broker: "redis", brokerRedisDb: 16 }), "djangostack:apps[0].brokerRedisDb", "15"],
    ["max tasks per child on gevent", apps({ name: "a", workers: [{ pool: "gevent", maxTasksPerChild: 10 }] }), "djangostack:apps[0].workers[0].maxTasksPerChild", 'only for pool "prefork"'],
    ["autoscale on threads", apps({ name: "a", workers: [{ pool: "threads", autoscale: { min: 1, max: 2 } }] }), "djangostack:apps[0].workers[0].autoscale", 'only for pool "prefork"'],
    ["autoscale min above max", apps({ name: "a", workers: [{ autoscale: { min: 5, max: 2 } }] }), "djangostack:apps[0].workers[0].autoscale.min", "must not exceed autoscale.max (2)"],
    ["concurrency beside autoscale", apps({ name: "a", workers: [{ concurrency: 4, autoscale: { min: 1, max: 8 } }] }), "djangostack:apps[0].workers[0].concurrency", "set autoscale.max instead"],
    ["prefetch 0", apps({ name: "a", workers: [{ prefetchMultiplier: 0 }] }), "djangostack:apps[0].workers[0].prefetchMultiplier", "1"],
  ]);
});

describe("apps[].brokerAccess (seed 002: one service enqueues what another's worker runs)", () => {
  const granted = apps({ name: "workflow" }, { name: "notify", routes: ["/notify/"], brokerAccess: ["workflow"] });

  it("hands the granted app the other vhost's URL, with its own user, as <broker URL name>_<OTHER>", () => {
    const web = buildModel(parse(granted)).processes.find((p) => p.name === "notify-web");
    assert.deepEqual(web?.secretEnv.CELERY_BROKER_URL_WORKFLOW, { kind: "brokerUrl", app: "notify", vhostOf: "workflow" });
    assert.deepEqual(web?.secretEnv.CELERY_BROKER_URL, { kind: "brokerUrl", app: "notify" });
  });

  it("renders the permission into the definitions and keeps it in the retire pass", () => {
    const c = parse(granted);
    const defs = JSON.parse(renderRabbitmqDefinitions({ apps: c.apps.map((a) => ({ vhost: `/${a.name}`, user: `${a.name}_broker`, password: "p".repeat(32) })), admin: { user: "admin", password: "a".repeat(32) }, grants: brokerGrants(c.apps) })) as { permissions: { user: string; vhost: string }[] };
    assert.deepEqual(defs.permissions.filter((p) => p.user !== "admin").map((p) => `${p.user}@${p.vhost}`).sort(), ["notify_broker@/notify", "notify_broker@/workflow", "workflow_broker@/workflow"]);
    const rabbit = buildModel(c).processes.find((p) => p.role === "rabbitmq");
    assert.match(rabbit?.command[2] ?? "", / workflow_broker@\/workflow notify_broker@\/notify notify_broker@\/workflow /);
  });

  refuses([
    ["access to an unknown app", apps({ name: "a", brokerAccess: ["b"] }), "djangostack:apps[0].brokerAccess[0]", "no such app; apps are a"],
    ["access to itself", apps({ name: "a", brokerAccess: ["a"] }), "djangostack:apps[0].brokerAccess[0]", "its own vhost"],
    ["access to an app on Redis", apps({ name: "a", brokerAccess: ["b"] }, { name: "b", broker: "redis" }), "djangostack:apps[0].brokerAccess[0]", 'its broker is "redis"'],
    ["access from an app on Redis", apps({ name: "a", broker: "redis", brokerAccess: ["b"] }, { name: "b" }), "djangostack:apps[0].brokerAccess[0]", "no RabbitMQ user of its own"],
    ["a grant whose variable the app's env sets", apps({ name: "a", brokerAccess: ["b"], env: { CELERY_BROKER_URL_B: "x" } }, { name: "b" }), "djangostack:apps[0].brokerAccess[0]", "CELERY_BROKER_URL_B"],
  ]);
});

describe("a Redis broker under the offline engine (local and production)", () => {
  const extraConfig = exactApps([{ name: "shop", build: "./app", routes: ["/"], broker: "redis" }]);
  let local: Evaluation;
  let production: Evaluation;
  before(async () => {
    local = await evaluateStack({ stack: "local", extraConfig });
    production = await evaluateStack({ stack: "production", extraConfig });
  });

  // The admin password stays generated: it lives only in state, and RabbitMQ added back later reuses it.
  const rabbitmqParts = (e: Evaluation) => e.engine.resources.filter((r) => !r.name.endsWith("-secrets-rabbitmq-admin"));

  it("creates no RabbitMQ container, no broker user and no broker password", () => {
    const names = rabbitmqParts(local).map((r) => r.name);
    assert.ok(!names.some((n) => /rabbitmq|broker-password/.test(n)), names.filter((n) => /rabbit|broker/.test(n)).join(", "));
  });

  it("hands the worker a Redis URL for database 15 as CELERY_BROKER_URL, secret", () => {
    const worker = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-worker-default"));
    const envs = unwrapSecrets(worker?.inputs.envs) as string[];
    const url = envs.find((e) => e.startsWith("CELERY_BROKER_URL="))?.slice("CELERY_BROKER_URL=".length) ?? "";
    assert.match(url, /^redis:\/\/:[^@]+@[^/]+:6379\/15$/);
  });

  it("on Kubernetes: no RabbitMQ StatefulSet, and the broker is the managed Valkey over TLS", () => {
    const names = rabbitmqParts(production).map((r) => `${r.type} ${r.name}`);
    assert.ok(!names.some((n) => /rabbitmq/.test(n)), names.filter((n) => /rabbitmq/.test(n)).join("\n"));
    const secrets = production.engine.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
    const broker = secrets.map((s) => (unwrapSecrets(s.inputs.stringData) as Record<string, string> | undefined)?.CELERY_BROKER_URL).find((v) => v !== undefined) ?? "";
    assert.match(broker, /^rediss:\/\/[^@]+@[^/]+\/15\?ssl_cert_reqs=required$/);
  });
});
