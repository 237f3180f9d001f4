/**
 * Issue 13 item 7: with djangostack:logFormat "json" every line gunicorn writes is one JSON object,
 * access lines with their fields and the request id nginx sets (sent here as nginx would send it),
 * and the sample app's Django and Celery records carry the same id: from the request to the task it
 * enqueued, through RabbitMQ, in the worker. Real gunicorn (Debian's 20) with the rendered
 * gunicorn.conf.py, Django, a Celery worker, PostgreSQL, Redis and RabbitMQ on loopback.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as names from "../../src/model/names";
import { Credentials, Stack, generateCredentials, loadStack } from "./fixtures";
import { CeleryProcess, GunicornServer } from "./harness/django";
import { request } from "./harness/http";
import { useHarness } from "./harness/process";
import { AppDirs, DataTier, appDirs, releaseApp, startDataTier, startWeb, startWorker } from "./stackup";

useHarness();

const REQUEST_ID = "it-logs-7f3a9c";
let stack: Stack;
let creds: Credentials;
let data: DataTier;
let dirs: AppDirs;
let web: GunicornServer;
let worker: CeleryProcess;

before(async () => {
  stack = await loadStack("local", { logFormat: "json" });
  creds = generateCredentials(stack.config);
  data = await startDataTier(stack, creds);
  dirs = appDirs();
  await releaseApp(stack, creds, data, dirs, "web");
  [web, worker] = await Promise.all([startWeb(stack, creds, data, dirs, "web"), startWorker(stack, creds, data, dirs, "web")]);
}, { timeout: 120_000 });

after(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
});

const jsonLines = (file: string): Record<string, unknown>[] =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("JSON logs with the request id (issue 13 item 7)", () => {
  test("the rendered gunicorn.conf.py logs JSON when the stack says so, and the apps get DJANGO_LOG_FORMAT", () => {
    assert.match(stack.artifacts["gunicorn/web.gunicorn.conf.py"] ?? "", /^logconfig_dict = \{$/m);
    const env = stack.model.processes.find((p) => p.name === names.web("web"))?.env;
    assert.equal(env?.DJANGO_LOG_FORMAT, "json");
  });

  test("one request: gunicorn's access line, Django's record and the task's record in the worker share the id", async () => {
    const r = await request({ port: web.port, path: "/api/v1/tasks/add/?x=2&y=3&wait=1", method: "POST", host: "localhost", headers: { "X-Request-ID": REQUEST_ID } });
    assert.equal(r.status, 200, r.text);
    assert.equal((JSON.parse(r.text) as { result: number }).result, 5);
    // The access line is written once the response is sent.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const webLines = jsonLines(web.server.logFile);
    const access = webLines.find((l) => l.logger === "gunicorn.access" && l.path === "/api/v1/tasks/add/");
    assert.ok(access, JSON.stringify(webLines.slice(-5)));
    assert.deepEqual([access.method, access.status, access.query, access.request_id], ["POST", 200, "x=2&y=3&wait=1", REQUEST_ID]);
    assert.equal(typeof access.duration_ms, "number");
    const enqueued = webLines.find((l) => l.logger === "core.views" && String(l.message).startsWith("enqueued"));
    assert.equal(enqueued?.request_id, REQUEST_ID, JSON.stringify(webLines.slice(-5)));
    const task = jsonLines(worker.server.logFile).find((l) => l.logger === "core.tasks" && l.message === "add(2, 3)");
    assert.equal(task?.request_id, REQUEST_ID, fs.readFileSync(worker.server.logFile, "utf8").slice(-2000));
  });

  test("every line gunicorn and the app write to the web process's log is one JSON object", () => {
    const lines = fs.readFileSync(web.server.logFile, "utf8").split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length > 3);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
  });
});
