/**
 * Issue 3 item 3: RabbitMQ with the rendered rabbitmq.conf and definitions for a two-app local
 * stack (web on "/", shop on "/shop/"), then Celery end to end: a task enqueued by the web app
 * through nginx and gunicorn runs in the worker (model command line) and its result comes back
 * through the Redis result backend; beat (model command line) schedules the heartbeat task that
 * the worker runs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as names from "../../src/model/names";
import { RABBITMQ_ADMIN } from "../../src/components/rendered";
import { Credentials, Stack, generateCredentials, loadStack, renderedFile } from "./fixtures";
import { CeleryProcess, GunicornServer } from "./harness/django";
import { request } from "./harness/http";
import { RabbitServer, amqpLogin, amqpQueue, startRabbitmq } from "./harness/rabbitmq";
import { chownR, systemUser, tempDir, waitFor, useHarness } from "./harness/process";
import { AppDirs, DataTier, Edge, appDirs, appEnv, releaseApp, startBeat, startDataTier, startEdge, startStackRabbitmq, startWeb, startWorker } from "./stackup";

useHarness();

const APPS = [
  { name: "web", routes: ["/"] },
  { name: "shop", routes: ["/shop/"] },
];
const HEARTBEAT_INTERVAL = "1";

let stack: Stack;
let creds: Credentials;
let data: DataTier;

before(async () => {
  stack = await loadStack("local", { apps: APPS });
  creds = generateCredentials(stack.config);
  data = await startDataTier(stack, creds);
}, { timeout: 120_000 });

describe("RabbitMQ with the rendered config and definitions", () => {
  test("boots from the rabbitmq process's RABBITMQ_CONFIG_FILES with the rendered conf.d as mounted", async () => {
    // The container mounts rabbitmq.conf and definitions.json in one conf.d dir. RabbitMQ reads
    // every regular file of a directory named by RABBITMQ_CONFIG_FILES as rabbitmq.conf syntax.
    const value = stack.model.processes.find((p) => p.name === names.RABBITMQ)!.env.RABBITMQ_CONFIG_FILES;
    try {
      const rabbit = await startStackRabbitmq(stack, creds, { exact: true });
      await rabbit.stop();
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      const logFile = /log (\S+rabbitmq\.log)/.exec(text)?.[1];
      const log = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : text;
      const cause = /Syntax error in \S+ after line \d+ column \d+[^\n]*/.exec(log)?.[0] ?? text.split("\n").slice(0, 3).join(" ");
      assert.fail(
        `RabbitMQ does not boot with RABBITMQ_CONFIG_FILES=${value}: ${cause}. ` +
          "A directory there makes RabbitMQ parse every file in it (definitions.json too) as rabbitmq.conf; " +
          `a glob such as ${value}/*.conf reads only the config files.`,
      );
    }
  });

  test("each app's user opens a connection and a channel on its own vhost", async () => {
    for (const app of ["web", "shop"]) {
      const r = await amqpLogin(data.rabbitmq!.port, names.brokerUser(app), creds.broker[app], names.vhost(app));
      assert.ok(r.ok, `${app}: ${r.error}`);
    }
  });

  test("each app's user is refused on the other app's vhost", async () => {
    for (const [app, other] of [["web", "shop"], ["shop", "web"]]) {
      const r = await amqpLogin(data.rabbitmq!.port, names.brokerUser(app), creds.broker[app], names.vhost(other));
      assert.equal(r.ok, false, `${names.brokerUser(app)} reached ${names.vhost(other)}`);
      assert.match(r.error, /NOT_ALLOWED|access to vhost|AccessRefused|ACCESS_REFUSED/i);
    }
  });

  test("a wrong password and the default guest user are refused", async () => {
    const wrong = await amqpLogin(data.rabbitmq!.port, names.brokerUser("web"), `${creds.broker.web}x`, names.vhost("web"));
    assert.equal(wrong.ok, false);
    assert.match(wrong.error, /ACCESS_REFUSED|AccessRefused/);
    for (const vhost of ["/", names.vhost("web")]) {
      const guest = await amqpLogin(data.rabbitmq!.port, "guest", "guest", vhost);
      assert.equal(guest.ok, false, `guest logged in on ${vhost}`);
      assert.match(guest.error, /ACCESS_REFUSED|AccessRefused/);
    }
    const users = (await data.rabbitmq!.ctl(["list_users", "--formatter", "json"])).stdout;
    const list = JSON.parse(users) as { user: string; tags: string[] }[];
    assert.deepEqual(list.map((u) => u.user).sort(), [RABBITMQ_ADMIN, "shop_broker", "web_broker"]);
    const vhosts = JSON.parse((await data.rabbitmq!.ctl(["list_vhosts", "--formatter", "json"])).stdout) as { name: string }[];
    assert.deepEqual(vhosts.map((v) => v.name).sort(), ["/shop", "/web"]);
  });
});

describe("Celery through the web app, worker and beat", () => {
  const APP = "web";
  let dirs: AppDirs;
  let web: GunicornServer;
  let worker: CeleryProcess;
  let beat: CeleryProcess;
  let edge: Edge;
  const beatEnv = { CELERY_HEARTBEAT_INTERVAL: HEARTBEAT_INTERVAL };

  before(async () => {
    dirs = appDirs();
    await releaseApp(stack, creds, data, dirs, APP);
    [web, worker] = await Promise.all([startWeb(stack, creds, data, dirs, APP), startWorker(stack, creds, data, dirs, APP, "default", beatEnv)]);
    edge = await startEdge(stack, { [names.web(APP)]: web.port, [names.web("shop")]: 9 }, dirs);
  }, { timeout: 180_000 });

  after(async () => {
    await beat?.stop();
    await worker?.stop();
  });

  test("the worker signals readiness through its probe files", () => {
    const env = appEnv(stack, names.worker(APP, "default"), creds, data, dirs, APP);
    assert.ok(fs.existsSync(env.CELERY_WORKER_READY_FILE), "no ready file");
    assert.ok(fs.existsSync(env.CELERY_WORKER_HEARTBEAT_FILE), "no heartbeat file");
  });

  test("a task enqueued by the web app through nginx runs in the worker and its result comes back", async () => {
    const r = await request({ port: edge.http, host: "localhost", path: "/api/v1/tasks/add/?x=20&y=22&wait=1&timeout=20", timeoutMs: 30_000 });
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text) as { task_id: string; state: string; result: number };
    assert.equal(body.state, "SUCCESS");
    assert.equal(body.result, 42);
    // The worker, not the web process, ran it.
    await waitFor("worker log of the task", async () => new RegExp(`Task core\\.tasks\\.add\\[${body.task_id}\\] succeeded`).test(fs.readFileSync(worker.server.logFile, "utf8")), { timeoutMs: 10_000 });
    // The result lives in the app's Redis database (result backend = REDIS db of the app).
    const db = stack.config.apps.find((a) => a.name === APP)!.redisDb;
    const meta = await data.redis!.cli(["GET", `celery-task-meta-${body.task_id}`], { db });
    assert.match(meta.stdout, /"status": "SUCCESS"/);
    // A second request reads the stored result by id.
    const status = await request({ port: edge.http, host: "localhost", path: `/api/v1/tasks/${body.task_id}/` });
    assert.equal((JSON.parse(status.text) as { result: number }).result, 42);
  });

  test("a task enqueued without waiting is picked up by the worker", async () => {
    const r = await request({ port: edge.http, host: "localhost", path: "/api/v1/tasks/add/", method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ x: 1, y: 2 }) });
    assert.equal(r.status, 202, r.text);
    const { task_id } = JSON.parse(r.text) as { task_id: string };
    const done = await waitFor("task result", async () => {
      const s = await request({ port: edge.http, host: "localhost", path: `/api/v1/tasks/${task_id}/` });
      const b = JSON.parse(s.text) as { state: string; result?: number };
      return b.state === "SUCCESS" ? b : undefined;
    }, { timeoutMs: 20_000, intervalMs: 300 });
    assert.equal(done.result, 3);
  });

  test(`beat (CELERY_HEARTBEAT_INTERVAL=${HEARTBEAT_INTERVAL}s) schedules the heartbeat task and the worker runs it`, async () => {
    beat = await startBeat(stack, creds, data, dirs, APP, beatEnv);
    const env = appEnv(stack, names.beat(APP), creds, data, dirs, APP);
    const seen = await waitFor("two heartbeats run by the worker", async () => {
      const r = await request({ port: edge.http, host: "localhost", path: "/api/v1/heartbeat/" });
      const b = JSON.parse(r.text) as { count: number; rows: number };
      return b.count >= 2 && b.rows >= 2 ? b : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    assert.ok(seen.rows >= 2);
    assert.match(fs.readFileSync(beat.server.logFile, "utf8"), /Scheduler: Sending due task core-heartbeat \(core\.tasks\.heartbeat\)/);
    assert.match(fs.readFileSync(worker.server.logFile, "utf8"), /Task core\.tasks\.heartbeat\[[0-9a-f-]+\] succeeded/);
    assert.ok(fs.existsSync(env.CELERY_BEAT_HEARTBEAT_FILE), "beat heartbeat probe file missing");
  });
});

describe("issue 8 item 1: a node finds its data by node name", () => {
  const QUEUE = "celery";
  const TASKS = ["task-1", "task-2", "task-3"];
  let volume: string;
  const login = () => ({ user: names.brokerUser("web"), password: creds.broker.web, vhost: names.vhost("web") });

  /** A node with the rendered conf.d on a Mnesia base that outlives it, as the Docker volume outlives its container. */
  async function nodeOnVolume(node: string): Promise<RabbitServer> {
    const conf = await renderedFile(stack, names.RABBITMQ, creds, ".conf");
    const defs = await renderedFile(stack, names.RABBITMQ, creds, "/definitions.json");
    const containerDir = path.dirname(conf.path);
    const configFiles = stack.model.processes.find((p) => p.name === names.RABBITMQ)!.env.RABBITMQ_CONFIG_FILES;
    return startRabbitmq({
      config: conf.artifact,
      configName: path.basename(conf.path),
      definitions: defs.text,
      definitionsName: path.basename(defs.path),
      configFiles: (confd) => confd + configFiles.slice(containerDir.length),
      node,
      mnesiaBase: volume,
      label: "rabbitmq-node",
    });
  }

  before(() => {
    volume = tempDir("rabbitmq-volume");
    chownR(volume, systemUser("rabbitmq", "rabbitmq-server"));
  });

  // Host parts must resolve for the CLI, so the names differ in the node part here; on Docker it is the
  // host part (rabbit@<container id>) that changed at every replacement.
  test("restarted under the same node name, the node reopens its directory: the durable queue keeps every persistent message", async () => {
    const first = await nodeOnVolume("rabbit@localhost");
    await amqpQueue(first.port, login(), QUEUE, { publish: TASKS });
    await first.stop();
    const again = await nodeOnVolume("rabbit@localhost");
    const seen = await amqpQueue(again.port, login(), QUEUE, "peek");
    await again.stop();
    assert.deepEqual(seen, { exists: true, bodies: TASKS });
  });

  test("under another node name on the same volume, the node starts empty: the messages sit unreachable in the old directory", async () => {
    const other = await nodeOnVolume("rabbit-0c5e9f2a7b1d@localhost");
    // The definitions import again, so the vhost and user are there: only the queue and its messages are gone.
    assert.ok((await amqpLogin(other.port, login().user, login().password, login().vhost)).ok);
    const seen = await amqpQueue(other.port, login(), QUEUE, "peek");
    await other.stop();
    assert.deepEqual(seen, { exists: false, bodies: [] });
    // Each node name gets its own directory (and plugins-expand dir) side by side in the one volume.
    const dirs = fs.readdirSync(volume);
    for (const node of ["rabbit@localhost", "rabbit-0c5e9f2a7b1d@localhost"]) assert.ok(dirs.includes(node), `no ${node} in ${dirs.join(", ")}`);
  });
});
