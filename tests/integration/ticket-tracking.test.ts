/**
 * Issue 16 item 5: seed 002, the Ticket Tracking System, as examples/ticket-tracking renders its
 * staging stack (loadStack with the example's project dir: the real index.ts under the offline
 * engine), on real servers. PostgreSQL with the rendered init SQL (a database and role per
 * service), RabbitMQ with the rendered definitions (a vhost and user per service, workflow's grant on
 * notification's vhost), Redis, the five services as the sample app (app/) each under its own env
 * from the model (gunicorn with the rendered config; messaging's uvicorn worker class), notification's
 * gevent worker with the model's command line, and the rendered nginx with TLS in front of them and
 * of a stand-in for the frontend image. Debian 12's servers, Django 3.2, Celery 5.2, uvicorn 0.17, gevent 22.10.
 *
 * The frontend is the user's own image (frontend.image: a React build in its own nginx): its history
 * fallback and cache headers are that image's job, as the seed's conf.d/frontend.conf does it. The
 * stand-in behaves that way (try_files to index.html, hashed assets cached a year), and the test
 * checks what the edge does with it: "/" and deep links routed to it, its headers passed through.
 * The services' own static files are djangostack's to serve: the edge caches their hashed names.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as names from "../../src/model/names";
import { exampleDir } from "../helpers/examples";
import { Credentials, Stack, generateCredentials, loadStack } from "./fixtures";
import { CHAT_DIR } from "./chatapp";
import { CeleryProcess, GunicornServer, runAppCommand } from "./harness/django";
import { HttpResponse, request } from "./harness/http";
import { NginxServer, startNginx } from "./harness/nginx";
import { amqpLogin } from "./harness/rabbitmq";
import { PYTHON, freePort, requirePythonModules, run, tempDir, useHarness, waitFor } from "./harness/process";
import { AppDirs, DataTier, Edge, appDirs, appEnv, nginxCert, releaseApp, startDataTier, startEdge, startWeb, startWorker } from "./stackup";

useHarness();

const SERVICES = ["auth", "ticket", "workflow", "messaging", "notification"] as const;
type Service = (typeof SERVICES)[number];
/** The stand-in frontend's build: an index.html and one content-hashed bundle, as a React build writes them. */
const INDEX = '<!doctype html><html><body><div id="root" data-build="tts-frontend"></div><script src="/assets/index.3f2a9c1d.js"></script></body></html>\n';
const BUNDLE = 'console.log("tts-frontend");\n';

// What the before hook brings up: the render, its credentials and data tier, the services.
let stack: Stack;
let creds: Credentials;
let data: DataTier;
const webs = {} as Record<Service, GunicornServer>;
const dirs = {} as Record<Service, AppDirs>;
let mailWorker: CeleryProcess;
let frontend: { port: number; server: NginxServer };
// The edge, the domain it serves and the certificate clients trust it with.
let edge: Edge;
let domain: string;
let cafile: string;

/**
 * The frontend image's behaviour, on Debian's nginx: files from its build, every other path answered
 * with index.html (the SPA's history fallback), index.html revalidated on each load and the hashed
 * bundles under /assets/ cached a year.
 */
async function startFrontend(): Promise<{ port: number; server: NginxServer }> {
  const dir = tempDir("tts-frontend");
  const site = path.join(dir, "site");
  fs.mkdirSync(path.join(site, "assets"), { recursive: true });
  fs.writeFileSync(path.join(site, "index.html"), INDEX);
  fs.writeFileSync(path.join(site, "assets", "index.3f2a9c1d.js"), BUNDLE);
  const port = await freePort();
  const temp = (name: string) => `${name}_temp_path ${path.join(dir, name)};`;
  const config = [
    "worker_processes 1;",
    "events { worker_connections 64; }",
    "http {",
    "  types { text/html html; text/javascript js; }",
    "  access_log off;",
    `  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join(" ")}`,
    "  server {",
    `    listen 127.0.0.1:${port};`,
    `    root ${site};`,
    '    location / { add_header Cache-Control "no-cache"; try_files $uri /index.html; }',
    '    location /assets/ { add_header Cache-Control "public, max-age=31536000, immutable"; try_files $uri =404; }',
    "  }",
    "}",
  ].join("\n");
  return { port, server: await startNginx({ config, ports: [port], dir, label: "tts-frontend" }) };
}

/** One request to the edge over TLS for the stack's domain, from a loopback address of the test's choice. */
const get = (urlPath: string, from?: string): Promise<HttpResponse> => request({ port: edge.https, tls: true, host: domain, path: urlPath, from });

/** Every value of a response header, as received. */
const header = (r: HttpResponse, name: string): string[] => r.raw[name] ?? [];

/** The services whose logs name `token` (each request below carries one of its own in its path). */
function servedBy(token: string): Service[] {
  return SERVICES.filter((s) => fs.readFileSync(webs[s].server.logFile, "utf8").includes(token));
}

/** One wss:// round trip through the edge with the chat project's client (Debian's websockets), trusting the test's certificate. */
const wsRoundTrip = (urlPath: string, message: string) =>
  run(PYTHON, [path.join(CHAT_DIR, "ws_client.py"), `wss://${domain}${urlPath}`, "127.0.0.1", String(edge.https), message, cafile], { check: false, timeoutMs: 30_000 });

/** `paths` sent together from one client address; how many got through (not 429) and how long the burst took. */
async function burst(paths: string[], from: string): Promise<{ passed: HttpResponse[]; limited: number; seconds: number }> {
  const start = Date.now();
  const rs = await Promise.all(paths.map((p) => get(p, from)));
  return { passed: rs.filter((r) => r.status !== 429), limited: rs.filter((r) => r.status === 429).length, seconds: (Date.now() - start) / 1000 };
}

describe("Ticket Tracking (seed 002) on real servers (issue 16 item 5)", () => {
  before(async () => {
    // notification's pool, messaging's worker class, the WebSocket client.
    await requirePythonModules({ gevent: "python3-gevent", uvicorn: "python3-uvicorn", websockets: "python3-websockets" });
    stack = await loadStack("staging", {}, exampleDir("ticket-tracking"));
    domain = stack.config.domain ?? assert.fail("the staging stack has a domain");
    creds = generateCredentials(stack.config);
    data = await startDataTier(stack, creds);
    // One static and media root for the edge (the static-<app> volumes side by side), a home per service.
    const edgeDirs = appDirs();
    for (const s of SERVICES) dirs[s] = { ...appDirs(), staticRoot: edgeDirs.staticRoot, mediaRoot: edgeDirs.mediaRoot };
    await Promise.all(SERVICES.map((s) => releaseApp(stack, creds, data, dirs[s], s)));
    const [started, worker, frontendServer, cert] = await Promise.all([
      Promise.all(SERVICES.map((s) => startWeb(stack, creds, data, dirs[s], s))),
      startWorker(stack, creds, data, dirs.notification, "notification", "mail"),
      startFrontend(),
      nginxCert("tts-certs", domain),
    ]);
    SERVICES.forEach((s, i) => (webs[s] = started[i]));
    mailWorker = worker;
    frontend = frontendServer;
    cafile = cert.cert;
    edge = await startEdge(stack, { ...Object.fromEntries(SERVICES.map((s) => [names.web(s), webs[s].port])), [names.FRONTEND]: frontend.port }, edgeDirs, cert);
  }, { timeout: 240_000 });

  // The harness would stop them one at a time: the app tier, then the data tier, each together, is quicker.
  after(async () => {
    await Promise.all([...Object.values(webs), mailWorker, frontend?.server, edge?.nginx].map((p) => p?.stop()));
    await Promise.all([data?.postgres, data?.redis, data?.rabbitmq].map((p) => p?.stop()));
  });

  describe("five services behind one nginx", () => {
    test("the example's render: five services with a database, role, vhost and broker user each, workflow granted notification's vhost", async () => {
      assert.deepEqual(stack.config.apps.map((a) => a.name), [...SERVICES]);
      const dbs = await data.postgres!.psql(["-tAc", "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%\\_db' ORDER BY 1"]);
      assert.deepEqual(dbs.stdout.trim().split("\n"), [...SERVICES].sort().map((s) => `${names.database(s)}:${names.role(s)}`));
      const vhosts = JSON.parse((await data.rabbitmq!.ctl(["list_vhosts", "--formatter", "json"])).stdout) as { name: string }[];
      assert.deepEqual(vhosts.map((v) => v.name).sort(), SERVICES.map(names.vhost).sort());
      const grants = JSON.parse((await data.rabbitmq!.ctl(["list_user_permissions", names.brokerUser("workflow"), "--formatter", "json"])).stdout) as { vhost: string }[];
      assert.deepEqual(grants.map((g) => g.vhost).sort(), [names.vhost("notification"), names.vhost("workflow")]);
    });

    test("each service's migration ran in its own database, owned by its own role", async () => {
      for (const s of SERVICES) {
        const owner = await data.postgres!.psql(["-tAc", "SELECT tableowner FROM pg_tables WHERE tablename = 'django_migrations'"], { database: names.database(s) });
        assert.equal(owner.stdout.trim(), names.role(s), s);
      }
    });

    test("each service is ready through the edge: its database, cache and broker vhost answer", async () => {
      for (const s of SERVICES) {
        const r = await get(names.appHealthPaths(s).ready);
        assert.equal(r.status, 200, `${s}: ${r.text}`);
        const checks = (JSON.parse(r.text) as { checks: Record<string, { ok: boolean }> }).checks;
        assert.deepEqual(Object.keys(checks).sort(), ["broker", "cache", "database"], s);
      }
    });

    test("each route reaches its own service: /api/auth/ and /admin/ auth, /api/tickets/ ticket, /api/workflow/, /api/messages/, /api/notifications/", async () => {
      const routes: [string, Service][] = [["/api/auth/", "auth"], ["/admin/", "auth"], ["/api/tickets/", "ticket"], ["/api/workflow/", "workflow"], ["/api/messages/", "messaging"], ["/api/notifications/", "notification"]];
      for (const [route, service] of routes) {
        const token = `probe-${service}-${route.replace(/\W/g, "")}-${Date.now()}`;
        const r = await get(`${route}${token}/`);
        // The sample app has no view there: Django's 404, or the admin's redirect to its login.
        assert.equal(r.status, route === "/admin/" ? 302 : 404, route);
        await waitFor(`${token} in a service's log`, async () => servedBy(token).length > 0, { timeoutMs: 5_000 });
        assert.deepEqual(servedBy(token), [service], route);
      }
    });

    test("the admin is the auth service's, with its static files under /static/auth/; hashed names cached a year by the edge", async () => {
      const login = await get("/admin/login/");
      assert.equal(login.status, 200);
      const css = /href="(\/static\/auth\/admin\/css\/base\.[0-9a-f]{12}\.css)"/.exec(login.text)?.[1] ?? assert.fail(`no hashed admin stylesheet in ${login.text.slice(0, 400)}`);
      const file = await get(css);
      assert.equal(file.status, 200);
      assert.deepEqual(header(file, "cache-control"), ["public, max-age=31536000, immutable"]);
    });
  });

  describe("the frontend at /: the SPA's history fallback and long-cached assets through the edge", () => {
    test("/ and a deep link (/tickets/42) both get the SPA's index.html from the frontend, revalidated on each load", async () => {
      for (const p of ["/", "/tickets/42", "/tickets/42/comments?tab=history"]) {
        const r = await get(p);
        assert.equal(r.status, 200, p);
        assert.equal(r.text, INDEX, p);
        assert.deepEqual(header(r, "cache-control"), ["no-cache"], `${p}: the frontend's header, once`);
        assert.match(header(r, "strict-transport-security")[0] ?? "", /^max-age=\d+/, "the edge's HSTS");
        assert.deepEqual(header(r, "x-frame-options"), ["DENY"]);
      }
    });

    test("a content-hashed bundle keeps the frontend's year-long immutable caching; a missing one is a 404, not the index", async () => {
      const r = await get("/assets/index.3f2a9c1d.js");
      assert.equal(r.status, 200);
      assert.equal(r.text, BUNDLE);
      assert.deepEqual(header(r, "cache-control"), ["public, max-age=31536000, immutable"]);
      assert.equal((await get("/assets/index.00000000.js")).status, 404);
    });

    test("over plain HTTP a deep link is redirected to the same path on HTTPS", async () => {
      const r = await request({ port: edge.http, host: domain, path: "/tickets/42" });
      assert.equal(r.status, 301);
      assert.deepEqual(header(r, "location"), [`https://${domain}:${edge.https}/tickets/42`]);
    });
  });

  describe("per-route limits: the api zone at 10 r/s (burst 20), the auth zone at 5 r/s (burst 10)", () => {
    const paths = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}limit-${i}/`);

    test("/api/tickets/: 21 of a burst of 40 reach the ticket service (plus what 10 r/s refills during the burst), the rest are 429", async () => {
      const r = await burst(paths("/api/tickets/", 40), "127.0.0.11");
      assert.ok(r.passed.length >= 21 && r.passed.length <= 21 + Math.ceil(r.seconds * 10), `${r.passed.length} passed in ${r.seconds}s`);
      assert.equal(r.limited, 40 - r.passed.length);
      assert.ok(r.passed.every((p) => p.status === 404), "the ones let through reached Django");
    });

    test("/api/auth/ and /admin/ share the auth zone: 11 of 30 pass (plus 5 r/s of refill), its own bucket beside /api/'s", async () => {
      // The api zone is spent from this address first: the auth paths do not draw on it.
      const spent = await burst(paths("/api/workflow/", 30), "127.0.0.12");
      assert.ok(spent.limited > 0);
      const r = await burst([...paths("/api/auth/", 15), ...paths("/admin/", 15)], "127.0.0.12");
      assert.ok(r.passed.length >= 11 && r.passed.length <= 11 + Math.ceil(r.seconds * 5), `${r.passed.length} passed in ${r.seconds}s`);
      assert.equal(r.limited, 30 - r.passed.length);
      // The frontend keeps the general limit.
      assert.equal((await get("/tickets/7", "127.0.0.12")).status, 200);
    });
  });

  describe("a WebSocket round trip to the messaging service", () => {
    test("wss:// through the edge's /ws/ location to messaging's gunicorn with uvicorn's worker class", async () => {
      const message = `tts-${Date.now()}`;
      const r = await wsRoundTrip("/ws/echo/", message);
      assert.equal(r.code, 0, `WebSocket client failed: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `echo:${message} host=${domain}`);
      assert.deepEqual(servedBy("/ws/echo/"), ["messaging"]);
      // Another path under /ws/ reaches the same server, which refuses the handshake.
      const other = await wsRoundTrip("/ws/other/", message);
      assert.match(other.stderr, /server rejected WebSocket connection: HTTP 403/);
    });
  });

  describe("a cross-service task: workflow enqueues onto notification's vhost, notification's worker runs it", () => {
    test("with CELERY_BROKER_URL_NOTIFICATION, workflow sends core.tasks.add to the email queue; the gevent worker's result is in notification's backend", async () => {
      const env = appEnv(stack, names.web("workflow"), creds, data, dirs.workflow, "workflow");
      assert.equal(new URL(env.CELERY_BROKER_URL_NOTIFICATION).pathname, `/${encodeURIComponent(names.vhost("notification"))}`);
      assert.equal(decodeURIComponent(new URL(env.CELERY_BROKER_URL_NOTIFICATION).username), names.brokerUser("workflow"));
      // What the workflow service's code does. Celery takes CELERY_BROKER_URL from the environment over
      // any broker= argument (celery/app/utils.py, Settings.broker_url), so the granted URL goes in as the connection.
      const send = [
        "import os",
        "from config.celery import app",
        'with app.connection_for_write(os.environ["CELERY_BROKER_URL_NOTIFICATION"]) as conn:',
        '    print(app.send_task("core.tasks.add", (19, 23), queue="email", connection=conn).id)',
      ].join("\n");
      const sent = await runAppCommand(["python", "manage.py", "shell", "-c", send], { env, home: dirs.workflow.dir, check: false });
      assert.equal(sent.code, 0, sent.stderr);
      const id = sent.stdout.trim();
      const result = await waitFor("the task's result at the notification service", async () => {
        const r = await fetch(`http://127.0.0.1:${webs.notification.port}/api/v1/tasks/${id}/`, { headers: { host: "localhost" } });
        const body = (await r.json()) as { state: string; result?: number };
        return body.state === "SUCCESS" ? body : undefined;
      }, { timeoutMs: 30_000, intervalMs: 300, alive: () => mailWorker.server.exitStatus() }).catch((e: Error) => assert.fail(`${e.message}; the worker's log:\n${mailWorker.server.tail(30)}`));
      assert.equal(result.result, 42);
      assert.match(fs.readFileSync(mailWorker.server.logFile, "utf8"), new RegExp(`Task core\\.tasks\\.add\\[${id}\\] succeeded`));
    });
  });

  describe("per-service isolation on the rendered PostgreSQL and RabbitMQ", () => {
    /** Every (service, service whose database or vhost it tries) pair, itself included. */
    const pairs = (): [Service, Service][] => SERVICES.flatMap((s) => SERVICES.map((other): [Service, Service] => [s, other]));

    test("each service's role logs in to its own database and is refused on every other service's", async () => {
      await Promise.all(pairs().map(async ([s, other]) => {
        const r = await data.postgres!.psql(["-tAc", "SELECT 1"], { user: names.role(s), password: creds.database[s], database: names.database(other), check: false });
        if (s === other) assert.equal(r.code, 0, `${s} on its own database: ${r.stderr}`);
        else assert.match(r.stderr, /permission denied for database|does not have CONNECT privilege/, `${names.role(s)} on ${names.database(other)}`);
      }));
    });

    test("each service's broker user opens its own vhost and is refused on the others, except workflow's grant on notification's", async () => {
      const granted = (s: Service, vhostOf: Service) => s === vhostOf || (s === "workflow" && vhostOf === "notification");
      await Promise.all(pairs().map(async ([s, other]) => {
        const r = await amqpLogin(data.rabbitmq!.port, names.brokerUser(s), creds.broker[s], names.vhost(other));
        if (granted(s, other)) assert.equal(r.ok, true, `${names.brokerUser(s)} on ${names.vhost(other)}: ${r.error}`);
        else assert.match(r.error, /NOT_ALLOWED|access to vhost|AccessRefused|ACCESS_REFUSED/i, `${names.brokerUser(s)} reached ${names.vhost(other)}`);
      }));
    });
  });
});
