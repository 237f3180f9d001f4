/**
 * The sample Django app under Debian's Python: gunicorn with the rendered gunicorn.conf.py,
 * Celery worker and beat with the model's own command lines, and manage.py one-offs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PYTHON, RunResult, ServerProcess, portOpen, requirePythonModules, run, spawnServer, tempDir, waitReady } from "./process";

/** Debian packages the sample app needs, by import name. */
export const APP_MODULES: Record<string, string> = {
  django: "python3-django",
  gunicorn: "gunicorn",
  celery: "python3-celery",
  django_redis: "python3-django-redis",
  psycopg2: "python3-psycopg2",
  dj_database_url: "python3-dj-database-url",
  redis: "python3-redis",
  amqp: "python3-amqp",
};

export const APP_DIR = path.resolve(__dirname, "../../../app");

/**
 * A bin dir whose `python`, `celery` and `gunicorn` run Debian's Python 3 (as the app image's
 * entry points do), so the model's command lines run verbatim.
 */
export function appBinDir(dir: string): string {
  const bin = path.join(dir, "bin");
  if (fs.existsSync(path.join(bin, "python"))) return bin;
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(PYTHON, path.join(bin, "python"));
  for (const mod of ["celery", "gunicorn"]) {
    fs.writeFileSync(path.join(bin, mod), `#!/bin/sh\nexec ${PYTHON} -m ${mod} "$@"\n`, { mode: 0o755 });
  }
  return bin;
}

/** Environment for the app's Python processes: the app's own env plus loopback secrets. */
export function pythonEnv(env: Record<string, string>, home: string): NodeJS.ProcessEnv {
  return {
    PATH: `${appBinDir(home)}:/usr/bin:/bin`,
    HOME: home,
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    // Keep __pycache__ out of the source tree the tests run from.
    PYTHONDONTWRITEBYTECODE: "1",
    ...env,
  };
}

export async function manage(args: string[], opts: { env: Record<string, string>; appDir?: string; home: string; check?: boolean }): Promise<RunResult> {
  await requirePythonModules(APP_MODULES);
  return run(PYTHON, ["manage.py", ...args], { cwd: opts.appDir ?? APP_DIR, env: pythonEnv(opts.env, opts.home), check: opts.check, timeoutMs: 180_000 });
}

/** Runs a one-off model command (e.g. the migrate process's `sh -c "python manage.py ..."`) in the app dir. */
export async function runAppCommand(command: string[], opts: { env: Record<string, string>; appDir?: string; home: string; check?: boolean }): Promise<RunResult> {
  await requirePythonModules(APP_MODULES);
  const [file, ...args] = command;
  return run(file, args, { cwd: opts.appDir ?? APP_DIR, env: pythonEnv(opts.env, opts.home), check: opts.check, timeoutMs: 180_000 });
}

export interface GunicornServer {
  port: number;
  dir: string;
  server: ServerProcess;
  stop(): Promise<void>;
}

/**
 * gunicorn from the model's web command (`gunicorn --config <path> <wsgi>`) with the rendered
 * config written to a temp file in place of <path>. `--bind` on the command line takes precedence
 * over the file's bind, so the same config serves on a free loopback port.
 */
export async function startGunicorn(opts: { command: string[]; configPath: string; config: string; port: number; env: Record<string, string>; healthPath: string; appDir?: string; label?: string }): Promise<GunicornServer> {
  await requirePythonModules(APP_MODULES);
  const dir = tempDir(opts.label ?? "gunicorn");
  const configFile = path.join(dir, "gunicorn.conf.py");
  fs.writeFileSync(configFile, opts.config);
  const [file, ...args] = opts.command;
  if (file !== "gunicorn" || !args.includes(opts.configPath)) throw new Error(`startGunicorn: expected "gunicorn --config ${opts.configPath} ...", got ${opts.command.join(" ")}`);
  const server = spawnServer(
    "gunicorn",
    path.join(appBinDir(dir), "gunicorn"),
    [...args.map((a) => (a === opts.configPath ? configFile : a)), "--bind", `127.0.0.1:${opts.port}`],
    path.join(dir, "gunicorn.log"),
    { cwd: opts.appDir ?? APP_DIR, env: pythonEnv(opts.env, dir), stopTimeoutMs: 20_000 },
  );
  await waitReady(server, "listening", () => portOpen(opts.port), 60_000);
  await waitReady(server, `answering ${opts.healthPath}`, async () => {
    const r = await fetch(`http://127.0.0.1:${opts.port}${opts.healthPath}`, { headers: { host: "localhost" } }).catch(() => undefined);
    return r?.status === 200;
  });
  return { port: opts.port, dir, server, stop: () => server.stop() };
}

export interface CeleryProcess {
  dir: string;
  server: ServerProcess;
  stop(): Promise<void>;
}

/**
 * A Celery process from the model's command line, verbatim (`celery -A app worker|beat ...`; the
 * `celery` on PATH runs Debian's). Ready when `readyFile` exists (worker) or its log shows
 * `readyLog` (beat).
 */
export async function startCelery(opts: { name: string; command: string[]; env: Record<string, string>; dir: string; readyFile?: string; readyLog?: RegExp; appDir?: string }): Promise<CeleryProcess> {
  await requirePythonModules(APP_MODULES);
  const env = pythonEnv(opts.env, opts.dir);
  const [file, ...args] = opts.command;
  if (file !== "celery") throw new Error(`startCelery: expected a celery command, got ${opts.command.join(" ")}`);
  const server = spawnServer(opts.name, path.join(appBinDir(opts.dir), "celery"), args, path.join(opts.dir, `${opts.name}.log`), {
    cwd: opts.appDir ?? APP_DIR,
    env,
    // Celery's warm shutdown; the harness SIGKILLs the group if it overstays.
    stopSignal: "SIGTERM",
    stopTimeoutMs: 20_000,
  });
  if (opts.readyFile) {
    const f = opts.readyFile;
    await waitReady(server, `ready file ${f}`, async () => fs.existsSync(f), 60_000);
  }
  if (opts.readyLog) {
    const re = opts.readyLog;
    await waitReady(server, `log line ${re}`, async () => re.test(fs.readFileSync(server.logFile, "utf8")), 60_000);
  }
  return { dir: opts.dir, server, stop: () => server.stop() };
}

