/**
 * Self-check of the sample Django app (app/) on Debian 12's Python packages:
 * `manage.py check`, `check --deploy`, `makemigrations --check --dry-run`, then gunicorn on a free
 * loopback port with the image's gunicorn.conf.py delegating to a "platform" config (as when
 * /etc/djangostack/gunicorn.conf.py is mounted), asserting /api/v1/health/ = 200 and
 * /readyz/ = 503 naming database, cache and broker while their URLs point at closed loopback ports.
 *
 * Needs: apt-get install -y python3-django python3-gunicorn python3-celery python3-django-redis \
 *          python3-dj-database-url python3-psycopg2 python3-redis
 * DJANGOSTACK_PYTHON overrides the interpreter (default: /usr/bin/python3, where Debian installs them).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { freePort } from "./harness/process";

const APP_DIR = path.resolve(__dirname, "../../app");

/** Python module -> Debian 12 package that provides it. */
const MODULES: Record<string, string> = {
  django: "python3-django",
  gunicorn: "python3-gunicorn",
  celery: "python3-celery",
  kombu: "python3-kombu",
  django_redis: "python3-django-redis",
  redis: "python3-redis",
  dj_database_url: "python3-dj-database-url",
  psycopg2: "python3-psycopg2",
};

function missingModules(python: string): string[] {
  const probe = `import importlib.util, sys; print(",".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))`;
  const r = spawnSync(python, ["-c", probe, ...Object.keys(MODULES)], { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) return Object.keys(MODULES);
  return r.stdout.trim().split(",").filter(Boolean);
}

/** The interpreter with Debian's packages; throws naming the packages to install. */
function findPython(): string {
  const candidates = process.env.DJANGOSTACK_PYTHON ? [process.env.DJANGOSTACK_PYTHON] : ["/usr/bin/python3", "python3"];
  let best: { python: string; missing: string[] } | undefined;
  for (const python of candidates) {
    if (python.startsWith("/") && !existsSync(python)) continue;
    const missing = missingModules(python);
    if (missing.length === 0) return python;
    if (!best || missing.length < best.missing.length) best = { python, missing };
  }
  const missing = best?.missing ?? Object.keys(MODULES);
  throw new Error(
    `the sample app needs Debian's Python packages (${best ? `${best.python} lacks ${missing.join(", ")}` : "no python3 found"}): ` +
      `apt-get install -y ${[...new Set(missing.map((m) => MODULES[m]))].join(" ")}`,
  );
}

interface HttpResult {
  status: number;
  body: string;
  ms: number;
}

function get(port: number, urlPath: string, host = "localhost", timeoutMs = 15_000): Promise<HttpResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, headers: { Host: host }, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sample Django app self-check (Debian packages)", () => {
  let python = "";
  let tmp = "";
  let baseEnv: NodeJS.ProcessEnv = {};
  let prodEnv: NodeJS.ProcessEnv = {};
  const secrets = { db: "dbpw-selfcheck-Zq1", redis: "redispw-selfcheck-Zq2", broker: "brokerpw-selfcheck-Zq3" };
  let gunicorn: ChildProcess | undefined;
  let gunicornLog = "";
  let webPort = 0;

  function manage(args: string[], env: NodeJS.ProcessEnv) {
    const r = spawnSync(python, ["manage.py", ...args], { cwd: APP_DIR, env, encoding: "utf8", timeout: 60_000 });
    return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error };
  }

  before(async () => {
    python = findPython();
    tmp = mkdtempSync(path.join(os.tmpdir(), "djangostack-app-selfcheck-"));
    // A clean environment: nothing from the caller's DJANGO_* / CELERY_* / *_URL leaks in.
    baseEnv = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: tmp,
      LANG: "C.UTF-8",
      TMPDIR: tmp,
      PYTHONDONTWRITEBYTECODE: "1",
      DJANGO_SETTINGS_MODULE: "config.settings",
    };
    const [dbPort, redisPort, brokerPort] = [await freePort(), await freePort(), await freePort()];
    prodEnv = {
      ...baseEnv,
      DJANGO_SECRET_KEY: `selfcheck-${"k".repeat(8)}-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-0123456789abcdefghij`,
      DJANGO_DEBUG: "false",
      DJANGO_ALLOWED_HOSTS: "app.example.com,web,localhost,127.0.0.1",
      CSRF_TRUSTED_ORIGINS: "https://app.example.com",
      DJANGO_SECURE_COOKIES: "true",
      DJANGO_SECURE_SSL_REDIRECT: "false",
      DJANGO_STATIC_URL: "/static/web/",
      DJANGO_MEDIA_URL: "/media/web/",
      DJANGO_STATIC_ROOT: path.join(tmp, "static"),
      DJANGO_MEDIA_ROOT: path.join(tmp, "media"),
      DJANGO_LOG_LEVEL: "INFO",
      DATABASE_URL: `postgres://web_user:${secrets.db}@127.0.0.1:${dbPort}/web_db?sslmode=disable`,
      REDIS_URL: `redis://:${secrets.redis}@127.0.0.1:${redisPort}/0`,
      CELERY_BROKER_URL: `amqp://web_broker:${secrets.broker}@127.0.0.1:${brokerPort}/%2Fweb`,
      CELERY_RESULT_BACKEND: `redis://:${secrets.redis}@127.0.0.1:${redisPort}/1`,
      CELERY_WORKER_HEARTBEAT_FILE: path.join(tmp, "celery/worker.heartbeat"),
      CELERY_WORKER_READY_FILE: path.join(tmp, "celery/worker.ready"),
      CELERY_BEAT_HEARTBEAT_FILE: path.join(tmp, "celery/beat.heartbeat"),
    };
  });

  after(async () => {
    if (gunicorn && gunicorn.exitCode === null && gunicorn.signalCode === null && gunicorn.pid) {
      const exited = new Promise((r) => gunicorn!.once("exit", r));
      try {
        process.kill(-gunicorn.pid, "SIGTERM"); // its own process group: master and workers
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-gunicorn!.pid!, "SIGKILL");
        } catch {
          /* already gone */
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("passes `manage.py check` with production settings", () => {
    const r = manage(["check"], prodEnv);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /no issues/);
  });

  it("passes `check --deploy` with only the warnings the edge makes moot (HSTS, SSL redirect)", () => {
    const r = manage(["check", "--deploy"], prodEnv);
    assert.equal(r.status, 0, r.out);
    const ids = [...r.out.matchAll(/\(([a-z_]+\.[A-Z]\d+)\)/g)].map((m) => m[1]).sort();
    assert.deepEqual(ids, ["security.W004", "security.W008"], r.out);
  });

  it("has every model change in a committed migration", () => {
    const env = { ...baseEnv, DJANGO_DEBUG: "true", DJANGO_SQLITE_PATH: path.join(tmp, "db.sqlite3") };
    const r = manage(["makemigrations", "--check", "--dry-run"], env);
    assert.equal(r.status, 0, `uncommitted model changes:\n${r.out}`);
    assert.match(r.out, /No changes detected/);
  });

  it("fails fast and clearly without DJANGO_SECRET_KEY when DEBUG is off", () => {
    const r = manage(["check"], { ...prodEnv, DJANGO_SECRET_KEY: "" });
    assert.notEqual(r.status, 0);
    assert.match(r.out, /DJANGO_SECRET_KEY is required/);
  });

  it("serves /api/v1/health/ (200) and /readyz/ (503 naming the failing checks) under gunicorn", async () => {
    webPort = await freePort();
    const bind = `127.0.0.1:${webPort}`;
    const marker = path.join(tmp, "platform-config-used");
    const platformConfig = path.join(tmp, "platform-gunicorn.conf.py");
    // Stands in for djangostack's rendered /etc/djangostack/gunicorn.conf.py.
    writeFileSync(
      platformConfig,
      [
        `bind = ${JSON.stringify(bind)}`,
        "workers = 1",
        "timeout = 30",
        "graceful_timeout = 2",
        'accesslog = "-"',
        "",
        "def on_starting(server):",
        `    open(${JSON.stringify(marker)}, "w").write("ok")`,
        "",
      ].join("\n"),
    );
    gunicorn = spawn(python, ["-m", "gunicorn", "--config", path.join(APP_DIR, "gunicorn.conf.py"), "config.wsgi:application"], {
      cwd: APP_DIR,
      // GUNICORN_BIND keeps even the fallback config on loopback.
      env: { ...prodEnv, DJANGOSTACK_GUNICORN_CONFIG: platformConfig, GUNICORN_BIND: bind, GUNICORN_WORKERS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    gunicorn.stdout?.on("data", (d: Buffer) => (gunicornLog += d.toString()));
    gunicorn.stderr?.on("data", (d: Buffer) => (gunicornLog += d.toString()));

    const deadline = Date.now() + 20_000;
    let health: HttpResult | undefined;
    while (Date.now() < deadline) {
      if (gunicorn.exitCode !== null) assert.fail(`gunicorn exited with ${gunicorn.exitCode}:\n${gunicornLog}`);
      try {
        health = await get(webPort, "/api/v1/health/", "localhost", 2_000);
        break;
      } catch {
        await sleep(150);
      }
    }
    assert.ok(health, `gunicorn did not answer on ${bind} within 20s:\n${gunicornLog}`);
    assert.equal(health.status, 200, health.body);
    assert.deepEqual(JSON.parse(health.body), { status: "ok" });
    assert.equal(readFileSync(marker, "utf8"), "ok", "app/gunicorn.conf.py did not run the mounted platform config");

    // Probes pass whatever the Host header and without a trailing slash; other paths keep ALLOWED_HOSTS.
    assert.equal((await get(webPort, "/api/v1/health", "10.0.0.7:8000")).status, 200);
    assert.equal((await get(webPort, "/", "not-allowed.example")).status, 400);

    const ready = await get(webPort, "/readyz/", "localhost");
    assert.equal(ready.status, 503, ready.body);
    assert.ok(ready.ms < 10_000, `readyz took ${ready.ms} ms`);
    const body = JSON.parse(ready.body) as { status: string; failing: string[]; checks: Record<string, { ok: boolean; error?: string; ms: number }> };
    assert.equal(body.status, "fail");
    assert.deepEqual([...body.failing].sort(), ["broker", "cache", "database"]);
    for (const name of ["database", "cache", "broker"]) {
      assert.equal(body.checks[name].ok, false, name);
      assert.ok(body.checks[name].error, `${name} has no error message`);
    }
    for (const secret of Object.values(secrets)) assert.ok(!ready.body.includes(secret), "readyz leaked a password");
  });
});
