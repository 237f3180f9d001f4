/**
 * Issue 13 item 7: djangostack:sentryDsn reaches every Django and Celery process of the app contract
 * as SENTRY_DSN (with SENTRY_ENVIRONMENT), and the sample app, given it, reports an error to that DSN:
 * Debian's python3-sentry-sdk (1.9) under the app's settings, against a stand-in Sentry ingest
 * endpoint on loopback that records what arrives.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import * as names from "../../src/model/names";
import { Stack, generateCredentials, loadStack, processEnv } from "./fixtures";
import { runAppCommand } from "./harness/django";
import { tempDir, useHarness } from "./harness/process";

useHarness();

interface Received {
  url: string;
  auth: string;
  body: string;
}

let stack: Stack;
let ingest: http.Server;
const received: Received[] = [];

before(async () => {
  ingest = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(raw) : raw;
      received.push({ url: req.url ?? "", auth: String(req.headers["x-sentry-auth"] ?? ""), body: body.toString("utf8") });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => ingest.listen(0, "127.0.0.1", () => resolve()));
  stack = await loadStack("local", { sentryDsn: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${(ingest.address() as AddressInfo).port}/42` });
});

after(() => new Promise<void>((resolve) => ingest.close(() => resolve())));

describe("Sentry (issue 13 item 7)", () => {
  test("every Django and Celery process of the app gets SENTRY_DSN as a secret and SENTRY_ENVIRONMENT", () => {
    const appProcesses = stack.model.processes.filter((p) => ["web", "worker", "beat", "migrate"].includes(p.role));
    assert.ok(appProcesses.length >= 4, appProcesses.map((p) => p.name).join(", "));
    for (const p of appProcesses) {
      assert.deepEqual(p.secretEnv.SENTRY_DSN, { kind: "userSecret", app: "web", key: "SENTRY_DSN" }, p.name);
      assert.equal(p.env.SENTRY_DSN, undefined, `${p.name}: never in plain env`);
      assert.equal(p.env.SENTRY_ENVIRONMENT, "local", p.name);
    }
  });

  test("the sample app reports an error it logs to the DSN, tagged with the stack", async () => {
    const dir = tempDir("sentry");
    // No data service is needed to log one line: their URLs point at closed loopback ports.
    const closed = { host: "127.0.0.1", port: 9 };
    const env = processEnv(stack, names.web("web"), generateCredentials(stack.config), { postgres: closed, redis: closed, rabbitmq: closed }, dir);
    // The fixtures stand in a random value for a user secret; the DSN is the stand-in endpoint's.
    const dsn = `http://0123456789abcdef0123456789abcdef@127.0.0.1:${(ingest.address() as AddressInfo).port}/42`;
    const r = await runAppCommand(["python3", "manage.py", "shell", "-c", "import logging; logging.getLogger('core').error('it-sentry-boom')"], { env: { ...env, SENTRY_DSN: dsn }, home: dir, check: false });
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const event = received.find((e) => e.body.includes("it-sentry-boom"));
    assert.ok(event, `nothing reached the DSN: ${received.map((e) => e.url).join(", ")}`);
    assert.match(event.url, /^\/api\/42\/(store|envelope)\//);
    assert.match(event.auth, /sentry_key=0123456789abcdef0123456789abcdef/);
    assert.match(event.body, /"environment":\s*"local"/);
  });
});
