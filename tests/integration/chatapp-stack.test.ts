/**
 * The second Django project beyond its web process (issue 10 item 9): configured as ./chatapp.ts
 * says, on real servers with the rendered configs and credentials: its release one-off (no
 * migration; the build-time static files copied into the static volume, then its release command
 * warming the cache), the Celery worker on its Redis broker, and its scheduled job run by the
 * rendered scheduler, handing a task to that worker every schedule minute. nginx serves the static
 * files the release copied. Redis 7, Celery 5.2, Django 3.2 (Debian).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as names from "../../src/model/names";
import { PATHS } from "../../src/model/build";
import { Credentials, Stack, generateCredentials, loadStack, process as modelProcess, renderedFile } from "./fixtures";
import { CeleryProcess, pythonEnv, runAppCommand, startCelery } from "./harness/django";
import { request } from "./harness/http";
import { ServerProcess, freePort, spawnServer, tempDir, useHarness, waitFor } from "./harness/process";
import { AppDirs, DataTier, Edge, appDirs, appEnv, startDataTier, startEdge } from "./stackup";
import { CHAT_DIR, chatApp } from "./chatapp";

useHarness();

const APP = "chat";

let stack: Stack;
let creds: Credentials;
let data: DataTier;
let dirs: AppDirs;
let imageStatic: string;
let worker: CeleryProcess;
let scheduler: ServerProcess;
let edge: Edge;

const cacheDb = () => stack.config.apps[0].redisDb;
const redisGet = async (key: string): Promise<string> => (await data.redis!.cli(["GET", key], { db: cacheDb() })).stdout.trim();
/** The model's command with the image's STATIC_ROOT and the static volume moved to where this test keeps them. */
const moved = (command: string[]): string[] => command.map((a) => a.split(stack.config.apps[0].static.root).join(imageStatic).split(PATHS.staticVolume).join(path.join(dirs.staticRoot, APP)));

before(async () => {
  stack = await loadStack("local", { apps: [chatApp("daphne")] });
  creds = generateCredentials(stack.config);
  data = await startDataTier(stack, creds, { postgres: false, rabbitmq: false });
  dirs = appDirs();
  imageStatic = path.join(tempDir("chat-image"), "static");
}, { timeout: 120_000 });

after(async () => {
  await scheduler?.stop();
  await worker?.stop();
});

describe("the chat project's release, worker and scheduled job (issue 10 item 9)", () => {
  test("the image build collects into /code/static; the release copies that into the static volume and runs the release command", async () => {
    const env = appEnv(stack, names.migrate(APP), creds, data, dirs, APP);
    // The Dockerfile's collectstatic, where the chat project's settings put STATIC_ROOT.
    const build = await runAppCommand(["python", "manage.py", "collectstatic", "--noinput"], { env: { ...env, DJANGO_STATIC_ROOT: imageStatic }, appDir: CHAT_DIR, home: dirs.dir, check: false });
    assert.equal(build.code, 0, build.stderr);
    const release = modelProcess(stack.model, names.migrate(APP)).command;
    assert.ok(!release[2].includes("collectstatic") && !release[2].includes("migrate --noinput"), release[2]);
    const r = await runAppCommand(moved(release), { env, appDir: CHAT_DIR, home: dirs.dir, check: false });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /cache warmed/);
    assert.equal(await redisGet("chat:release"), "warm", "the release command reached the cache's Redis database");
    assert.equal(fs.readFileSync(path.join(dirs.staticRoot, APP, "chat", "site.css"), "utf8").trim(), "body { color: #123; }");
  });

  test("nginx serves the copied static files at the sole app's /static/", async () => {
    edge = await startEdge(stack, { [names.web(APP)]: await freePort() }, dirs);
    const res = await request({ port: edge.http, path: "/static/chat/site.css", host: "localhost" });
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /color: #123/);
  });

  test("the scheduled job, run by the rendered scheduler, hands a task to the worker on the Redis broker every schedule minute", async () => {
    const workerName = names.worker(APP, "default");
    const workerEnv = appEnv(stack, workerName, creds, data, dirs, APP);
    assert.equal(new URL(workerEnv.CELERY_BROKER_URL).pathname, `/${stack.config.apps[0].brokerRedisDb}`, "the queues have a Redis database of their own");
    worker = await startCelery({ name: workerName, command: modelProcess(stack.model, workerName).command, env: workerEnv, dir: dirs.dir, appDir: CHAT_DIR, readyLog: /@\S+ ready\./ });

    const dir = tempDir("chat-scheduler");
    fs.writeFileSync(path.join(dir, "scheduler.py"), (await renderedFile(stack, names.scheduler(APP), creds, "/scheduler.py")).text);
    fs.writeFileSync(path.join(dir, "jobs.json"), (await renderedFile(stack, names.scheduler(APP), creds, "/jobs.json")).text);
    const [file, ...args] = modelProcess(stack.model, names.scheduler(APP)).command.map((a) => (a.startsWith(`${PATHS.schedulerDir}/`) ? path.join(dir, path.basename(a)) : a === PATHS.schedulerHeartbeat ? path.join(dir, "heartbeat") : a));
    const env = appEnv(stack, names.scheduler(APP), creds, data, dirs, APP);
    // A test clock: a schedule minute every 2 s; each run is `python manage.py chat_tick` in the app's dir, as in the image.
    scheduler = spawnServer("chat-scheduler", path.join(dirs.dir, "bin", file), [...args, "--clock-start", "2026-12-04T03:00", "--seconds-per-minute", "2"], path.join(dir, "scheduler.log"), { cwd: CHAT_DIR, env: pythonEnv(env, dirs.dir) });
    await waitFor("two ticks counted by the worker", async () => Number((await redisGet("chat:ticks")) || 0) >= 2, { timeoutMs: 60_000, intervalMs: 500, alive: () => scheduler.exitStatus() ?? worker.server.exitStatus() });
    const log = fs.readFileSync(path.join(dir, "scheduler.log"), "utf8");
    assert.match(log, /"event": "succeeded", "exit": 0, "job": "tick"/);
    assert.match(log, /enqueued [0-9a-f-]{36}/, "the job's own output reaches the scheduler's log");
  });
});
