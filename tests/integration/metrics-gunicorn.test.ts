/**
 * Issue 13 items 5 and 8: the sample app's /metrics under gunicorn with the rendered gunicorn.conf.py
 * and four workers (Debian's gunicorn 20, Django 3.2, python3-prometheus-client 0.16). Requests spread
 * over the workers; every scrape, whichever worker answers it, reports the sum of all of them
 * (prometheus-client's multiprocess mode in PROMETHEUS_MULTIPROC_DIR); a worker that exits keeps its
 * counts (child_exit); the server's start empties the directory (on_starting); the endpoint answers
 * a scrape whose Host is a pod address while the app refuses that Host elsewhere.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as names from "../../src/model/names";
import { PATHS } from "../../src/model/build";
import { Stack, generateCredentials, loadStack, process as processOf, processEnv } from "./fixtures";
import { GunicornServer, startGunicorn } from "./harness/django";
import { freePort, tempDir, useHarness, waitFor } from "./harness/process";
import { request } from "./harness/http";

useHarness();

const WORKERS = 4;
let stack: Stack;
let gunicorn: GunicornServer;
let metricsDir: string;

/** Text exposition lines -> value by series (name + sorted labels as written). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(host = "localhost"): Promise<Map<string, number>> {
  const r = await request({ port: gunicorn.port, path: "/metrics", host });
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return samples(r.text);
}

const INDEX_200 = 'django_http_requests_total{method="GET",status="200",view="index"}';
const UNRESOLVED_404 = 'django_http_requests_total{method="GET",status="404",view="<unresolved>"}';

before(async () => {
  stack = await loadStack("local");
  const web = processOf(stack.model, names.web("web"));
  assert.equal(web.env.PROMETHEUS_MULTIPROC_DIR, PATHS.metricsDir, "the model sets the multiprocess directory on the web process");
  assert.equal(web.env.DJANGO_METRICS_PATH, "/metrics");
  const dir = tempDir("metrics-gunicorn");
  // No data service is needed: the index view and /metrics touch none (their URLs point at a closed port).
  const closed = { host: "127.0.0.1", port: 9 };
  const env = processEnv(stack, web.name, generateCredentials(stack.config), { postgres: closed, redis: closed, rabbitmq: closed }, dir);
  metricsDir = env.PROMETHEUS_MULTIPROC_DIR;
  assert.notEqual(metricsDir, PATHS.metricsDir, "moved into the test's temp dir");
  // A stale file of an earlier run: on_starting must remove it before any worker writes.
  fs.mkdirSync(metricsDir, { recursive: true });
  fs.writeFileSync(path.join(metricsDir, "counter_999999.db"), "stale");
  const config = stack.artifacts["gunicorn/web.gunicorn.conf.py"];
  assert.match(config, /def child_exit\(server, worker\):/);
  gunicorn = await startGunicorn({ command: web.command, configPath: PATHS.gunicornConfig, config, port: await freePort(), env: { ...env, GUNICORN_WORKERS: String(WORKERS) }, healthPath: "/api/v1/health/", label: "metrics-gunicorn" });
});

after(async () => {
  await gunicorn?.stop();
});

describe("the sample app's /metrics under gunicorn's workers (issue 13 items 5, 8)", () => {
  test("the server's start emptied the multiprocess directory", () => {
    assert.ok(!fs.existsSync(path.join(metricsDir, "counter_999999.db")));
  });

  test("requests spread over several workers; every scrape reports their sum", async () => {
    // Batches of concurrent requests until two workers have served some: on a busy machine one sync
    // worker can take a whole batch of these trivial requests before another wakes up.
    const BATCH = 30;
    let N = 0;
    const writers = () => fs.readdirSync(metricsDir).filter((f) => /^counter_\d+\.db$/.test(f));
    for (let batch = 0; batch < 20 && (N === 0 || writers().length < 2); batch++) {
      await Promise.all(Array.from({ length: BATCH }, () => request({ port: gunicorn.port, path: "/", host: "localhost" }).then((r) => assert.equal(r.status, 200))));
      N += BATCH;
    }
    await request({ port: gunicorn.port, path: "/no-such-page/", host: "localhost" });
    assert.ok(writers().length >= 2, `samples from ${writers().length} worker(s) only after ${N} requests: ${writers().join(", ")}`);
    // Scrapes land on different workers; each must report all of them.
    for (let i = 0; i < 8; i++) {
      const s = await scrape();
      assert.equal(s.get(INDEX_200), N, "every worker's requests, summed");
      assert.equal(s.get(UNRESOLVED_404), 1, "an unknown path is one series, not one per path");
      assert.equal(s.get('django_http_request_duration_seconds_count{method="GET",view="index"}'), N);
      assert.ok((s.get('django_http_request_duration_seconds_bucket{le="2.0",method="GET",view="index"}') ?? 0) <= N);
      assert.equal(s.get("django_db_connection_errors_total"), 0);
    }
  });

  test("a worker that exits keeps its counts in the sum (child_exit marks it dead, its counters stay)", async () => {
    const before = (await scrape()).get(INDEX_200) ?? 0;
    const pid = Number(fs.readdirSync(metricsDir).map((f) => /^counter_(\d+)\.db$/.exec(f)?.[1]).find((p) => p !== undefined));
    process.kill(pid, "SIGTERM");
    await waitFor("the worker to exit", async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal((await scrape()).get(INDEX_200), before);
  });

  test("a readiness check that cannot reach the database counts a connection error", async () => {
    const r = await request({ port: gunicorn.port, path: "/readyz/", host: "localhost" });
    assert.equal(r.status, 503);
    await waitFor("the error in the sum", async () => ((await scrape()).get("django_db_connection_errors_total") ?? 0) >= 1);
  });

  test("answers a scrape whose Host is a pod address, which the rest of the app refuses", async () => {
    assert.ok((await scrape("10.244.1.17:8000")).has(INDEX_200));
    const refused = await request({ port: gunicorn.port, path: "/", host: "10.244.1.17:8000" });
    assert.equal(refused.status, 400, "ALLOWED_HOSTS still applies to the app itself");
    const post = await request({ port: gunicorn.port, path: "/metrics", method: "POST", host: "localhost" });
    assert.equal(post.status, 405);
  });
});
