/**
 * Issue 10 item 6 on real servers: an app with `broker: redis` (seeds 003 and 004) runs Celery with
 * its queues in a Redis database of their own, apart from the cache's, and no RabbitMQ at all. The
 * sample app's web process enqueues through nginx, the worker (the model's command line, with the
 * pool's prefetch and child-recycling options) runs the task, and the result comes back.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as names from "../../src/model/names";
import { Credentials, Stack, generateCredentials, loadStack } from "./fixtures";
import { CeleryProcess, GunicornServer } from "./harness/django";
import { request } from "./harness/http";
import { useHarness, waitFor } from "./harness/process";
import { AppDirs, DataTier, Edge, appDirs, appEnv, releaseApp, startDataTier, startEdge, startWeb, startWorker } from "./stackup";

useHarness();

const APP = "web";
const APPS = [{ name: APP, routes: ["/"], broker: "redis", beat: false, workers: [{ name: "default", prefetchMultiplier: 1, maxTasksPerChild: 50 }] }];

let stack: Stack;
let creds: Credentials;
let data: DataTier;
let dirs: AppDirs;
let web: GunicornServer;
let worker: CeleryProcess;
let edge: Edge;

before(async () => {
  stack = await loadStack("local", { apps: APPS });
  creds = generateCredentials(stack.config);
  // Only what the model deploys: no RabbitMQ process exists for a Redis broker.
  data = await startDataTier(stack, creds, { rabbitmq: false });
  dirs = appDirs();
  await releaseApp(stack, creds, data, dirs, APP);
  [web, worker] = await Promise.all([startWeb(stack, creds, data, dirs, APP), startWorker(stack, creds, data, dirs, APP, "default")]);
  edge = await startEdge(stack, { [names.web(APP)]: web.port }, dirs);
}, { timeout: 180_000 });

after(async () => {
  await worker?.stop();
});

describe("Celery on a Redis broker (issue 10 item 6)", () => {
  test("the model deploys no RabbitMQ, and the broker URL names the queues' own Redis database", () => {
    assert.ok(!stack.model.processes.some((p) => p.role === "rabbitmq"), stack.model.processes.map((p) => p.name).join(", "));
    const app = stack.config.apps[0];
    assert.equal(app.brokerRedisDb, 15);
    const env = appEnv(stack, names.worker(APP, "default"), creds, data, dirs, APP);
    assert.equal(new URL(env.CELERY_BROKER_URL).pathname, "/15");
    assert.equal(new URL(env.REDIS_URL).pathname, `/${app.redisDb}`);
  });

  test("the worker runs with the pool's prefetch and child-recycling options", () => {
    const cmdline = fs.readFileSync(`/proc/${worker.server.pid}/cmdline`, "utf8").split("\0");
    for (const [flag, value] of [["--prefetch-multiplier", "1"], ["--max-tasks-per-child", "50"]]) assert.equal(cmdline[cmdline.indexOf(flag) + 1], value, cmdline.join(" "));
  });

  test("a task enqueued through nginx runs in the worker; the queue lives in the broker's database, not the cache's", async () => {
    const r = await request({ port: edge.http, host: "localhost", path: "/api/v1/tasks/add/?x=20&y=22&wait=1&timeout=20", timeoutMs: 30_000 });
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text) as { task_id: string; state: string; result: number };
    assert.deepEqual([body.state, body.result], ["SUCCESS", 42]);
    await waitFor("worker log of the task", async () => new RegExp(`Task core\\.tasks\\.add\\[${body.task_id}\\] succeeded`).test(fs.readFileSync(worker.server.logFile, "utf8")), { timeoutMs: 10_000 });
    // kombu's Redis transport keeps each exchange's bindings in _kombu.binding.<exchange>.
    const app = stack.config.apps[0];
    const bindings = async (db: number) => (await data.redis!.cli(["EXISTS", "_kombu.binding.celery"], { db })).stdout.trim();
    assert.equal(await bindings(app.brokerRedisDb!), "1", "the queues are in the broker's database");
    assert.equal(await bindings(app.redisDb), "0", "the cache's database holds no queue (a cache clear cannot drop tasks)");
  });
});
