/**
 * WebSockets end to end (issue 10 item 5): a second Django project (tests/integration/chatapp: channels
 * with an echo consumer, configured as ./chatapp.ts says) runs under each ASGI server
 * with the model's own command line (daphne, uvicorn, gunicorn with uvicorn's worker class and the
 * rendered gunicorn.conf.py) behind the rendered nginx, plain and TLS; a client sends a message
 * through nginx's WebSocket location and reads the consumer's answer. Debian's daphne 4, uvicorn
 * 0.17, python3-django-channels 4 and python3-websockets (the client).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Credentials, Stack, generateCredentials, loadStack, process as modelProcess, processEnv, renderedFile } from "./fixtures";
import { startGunicorn, pythonEnv } from "./harness/django";
import { nginxUser } from "./harness/nginx";
import { PYTHON, chownR, freePort, requirePythonModules, run, spawnServer, tempDir, useHarness, waitReady, portOpen } from "./harness/process";
import { selfSignedCert } from "./harness/secrets";
import { AppDirs, Edge, appDirs, startEdge } from "./stackup";
import { CHAT_DIR, chatApp } from "./chatapp";

useHarness();

const DOMAIN = "djangostack.test";
const MODULES = { django: "python3-django", channels: "python3-django-channels", daphne: "daphne", uvicorn: "python3-uvicorn", websockets: "python3-websockets", gunicorn: "gunicorn" };

interface Web {
  port: number;
  stop(): Promise<void>;
}

/**
 * The web process from the model's command: gunicorn through the harness (rendered config, --bind
 * appended), daphne and uvicorn with only their address and port moved to loopback.
 */
async function startWeb(stack: Stack, creds: Credentials, dirs: AppDirs): Promise<Web> {
  const p = modelProcess(stack.model, "chat-web");
  const port = await freePort();
  // The web process never reaches Redis here (no view touches the cache or enqueues): a closed port stands in.
  const env = processEnv(stack, "chat-web", creds, { redis: { host: "127.0.0.1", port: 9 } }, dirs.dir);
  const [file, ...args] = p.command;
  if (file === "gunicorn") {
    const conf = await renderedFile(stack, "chat-web", creds, "/gunicorn.conf.py");
    const g = await startGunicorn({ command: p.command, configPath: conf.path, config: conf.artifact, port, env, healthPath: "/healthz/", appDir: CHAT_DIR, label: "chat-gunicorn" });
    return { port, stop: () => g.stop() };
  }
  const moved = args.map((a, i) => (args[i - 1] === "--port" ? String(port) : args[i - 1] === "--bind" || args[i - 1] === "--host" ? "127.0.0.1" : a));
  assert.notDeepEqual(moved, args, "the command names its address and port");
  const dir = tempDir(`chat-${file}`);
  const server = spawnServer(`chat-${file}`, PYTHON, ["-m", file, ...moved], path.join(dir, `${file}.log`), { cwd: CHAT_DIR, env: pythonEnv(env, dir), stopTimeoutMs: 10_000 });
  await waitReady(server, "listening", () => portOpen(port), 30_000);
  await waitReady(server, "answering /healthz/", async () => (await fetch(`http://127.0.0.1:${port}/healthz/`, { headers: { host: "localhost" } }).catch(() => undefined))?.status === 200);
  return { port, stop: () => server.stop() };
}

/** One WebSocket round trip with Debian's websockets client; the reply text. */
async function roundTrip(uri: string, port: number, message: string, cafile?: string): Promise<string> {
  const r = await run(PYTHON, [path.join(CHAT_DIR, "ws_client.py"), uri, "127.0.0.1", String(port), message, ...(cafile ? [cafile] : [])], { check: false, timeoutMs: 30_000 });
  assert.equal(r.code, 0, `WebSocket client failed: ${r.stderr}`);
  return r.stdout.trim();
}

for (const server of ["daphne", "uvicorn", "gunicorn-uvicorn"] as const) {
  describe(`WebSocket through the rendered nginx to ${server}`, () => {
    let plain: Stack;
    let tls: Stack;
    let webs: Web[] = [];
    let edge: Edge;
    let edgeTls: Edge;
    let cafile: string;

    before(async () => {
      await requirePythonModules(MODULES);
      plain = await loadStack("local", { apps: [chatApp(server)] });
      tls = await loadStack("local", { apps: [chatApp(server)], domain: DOMAIN, edge: { tls: { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" } } });
      const certDir = tempDir("chat-certs");
      const cert = await selfSignedCert(certDir, DOMAIN);
      chownR(certDir, nginxUser());
      cafile = cert.cert;
      const creds = generateCredentials(plain.config);
      const dirs = appDirs();
      webs = await Promise.all([startWeb(plain, creds, dirs), startWeb(tls, creds, dirs)]);
      [edge, edgeTls] = await Promise.all([startEdge(plain, { "chat-web": webs[0].port }, dirs), startEdge(tls, { "chat-web": webs[1].port }, dirs, cert)]);
    }, { timeout: 180_000 });

    after(async () => {
      await Promise.all(webs.map((w) => w.stop()));
      await Promise.all([edge?.nginx.stop(), edgeTls?.nginx.stop()]);
    });

    test("the model runs the app's own ASGI server, and only the data services the app uses: Redis, no Postgres or RabbitMQ", () => {
      const byRole = (exporters: boolean) => plain.model.processes.filter((p) => (p.role === "exporter") === exporters).map((p) => p.name).sort();
      assert.deepEqual(byRole(false), ["chat-chown", "chat-migrate", "chat-scheduler", "chat-web", "chat-worker-default", "nginx", "redis"]);
      assert.deepEqual(byRole(true), ["chat-celery-exporter", "nginx-exporter", "redis-exporter"], "and the exporters of what runs (docs/monitoring.md)");
      const command = modelProcess(plain.model, "chat-web").command;
      assert.equal(command[0], server === "gunicorn-uvicorn" ? "gunicorn" : server);
      assert.equal(command[command.length - 1], "chat.asgi:application");
    });

    test("plain edge: a message goes through nginx's WebSocket location and the consumer's answer comes back", async () => {
      const message = `plain-${server}-${Date.now()}`;
      const reply = await roundTrip("ws://localhost/ws/echo/", edge.http, message);
      assert.match(reply, new RegExp(`^echo:${message} host=localhost`));
    });

    test("TLS edge: the same round trip over wss:// with the edge's certificate", async () => {
      const message = `tls-${server}-${Date.now()}`;
      const reply = await roundTrip(`wss://${DOMAIN}/ws/echo/`, edgeTls.https, message, cafile);
      assert.match(reply, new RegExp(`^echo:${message} host=${DOMAIN.replace(/\./g, "\\.")}`));
    });

    test("plain HTTP to the same app still works through the edge (health path routed to it)", async () => {
      const r = await fetch(`http://127.0.0.1:${edge.http}/healthz/`, { headers: { host: "localhost" } });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: "ok", app: "chat" });
    });
  });
}
