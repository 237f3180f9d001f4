/**
 * Process and directory bookkeeping for the integration suite: every server a test starts runs in
 * its own process group, in a temp dir under one per-file base, with a marker in its environment,
 * so cleanup can stop it (also on failure) and the final test can prove nothing was left behind.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { after } from "node:test";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { MissingPackageError, requireBinary } from "../../helpers/executables";

export { MissingPackageError, requireBinary };

/** The environment variable every spawned process carries; its value is the run id. */
export const MARKER_ENV = "DJANGOSTACK_IT_RUN";
/** Temp dirs of the suite start with this, under os.tmpdir(). */
export const DIR_PREFIX = "djangostack-it-";

/**
 * One id per `node --test` run: each test file runs in a child of the runner, so the runner's pid
 * groups them. A file run on its own (`node --import tsx file`) uses its own pid's parent the same way.
 */
export const RUN_ID = process.env.DJANGOSTACK_IT_RUN_ID ?? String(process.ppid);

/** Where this run records every pid and dir it made, read by the cleanup test. */
export const LEDGER = path.join(os.tmpdir(), `djangostack-ledger-${RUN_ID}.jsonl`);

export type LedgerEntry =
  | { kind: "process"; name: string; pid: number; startTime: string }
  | { kind: "dir"; path: string };

function record(entry: LedgerEntry): void {
  fs.appendFileSync(LEDGER, `${JSON.stringify(entry)}\n`);
}

/** Ledgers of earlier runs whose runner has exited (a file run on its own leaves one behind). */
function removeStaleLedgers(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const m = /^djangostack-ledger-([0-9]+)\.jsonl$/.exec(name);
    if (m && Number(m[1]) !== Number(RUN_ID) && !isAlive(Number(m[1]))) fs.rmSync(path.join(os.tmpdir(), name), { force: true });
  }
}

export function readLedger(): LedgerEntry[] {
  if (!fs.existsSync(LEDGER)) return [];
  return fs
    .readFileSync(LEDGER, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as LedgerEntry);
}

/** The interpreter that has Debian's Django, gunicorn and Celery (a pyenv shim on PATH may not). */
export const PYTHON = "/usr/bin/python3";

/** Fails with the Debian package to install when a Python module cannot be imported. */
export async function requirePythonModules(modules: Record<string, string>): Promise<void> {
  requireBinary(PYTHON, "python3");
  for (const [mod, pkg] of Object.entries(modules)) {
    const r = await run(PYTHON, ["-c", `import ${mod}`], { check: false });
    if (r.code !== 0) throw new MissingPackageError(`Python module ${mod}`, pkg);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  timeoutMs?: number;
  uid?: number;
  gid?: number;
}

/** Runs a short command to completion; the marker keeps anything it leaves behind visible. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: { ...(opts.env ?? process.env), [MARKER_ENV]: RUN_ID },
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        uid: opts.uid,
        gid: opts.gid,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        const result = { code, stdout: String(stdout), stderr: String(stderr) };
        if (code !== 0 && opts.check !== false) {
          reject(new Error(`${file} ${args.join(" ")} exited ${code}${error?.killed ? " (timed out)" : ""}\n${result.stderr}\n${result.stdout}`.trim()));
        } else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1, found by listening on port 0; never the same one twice per file. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await listenZero();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function listenZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; the error names what was awaited and the last failure. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, opts: { timeoutMs?: number; intervalMs?: number; alive?: () => string | undefined } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    const dead = opts.alive?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ""}`);
    await sleep(opts.intervalMs ?? 200);
  }
}

/** True when the port accepts TCP connections on 127.0.0.1. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

// ---------------------------------------------------------------- users

export interface User {
  name: string;
  uid: number;
  gid: number;
}

/** An existing system user (postgres, rabbitmq, redis, www-data) to run a server unprivileged. */
export function systemUser(name: string, pkg: string): User {
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new MissingPackageError(`system user ${name}`, pkg);
  const [, , uid, gid] = line.split(":");
  return { name, uid: Number(uid), gid: Number(gid) };
}

export function chownR(target: string, user: User): void {
  fs.chownSync(target, user.uid, user.gid);
  if (fs.statSync(target).isDirectory()) {
    for (const entry of fs.readdirSync(target)) chownR(path.join(target, entry), user);
  }
}

// ---------------------------------------------------------------- process liveness via /proc

interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  startTime: string;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parens: fields start after the last ')'.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, state: rest[0], pgrp: Number(rest[2]), startTime: rest[19] };
  } catch {
    return undefined;
  }
}

/** Alive means present and not a zombie (an orphaned zombie may linger if pid 1 does not reap). */
export function isAlive(pid: number, startTime?: string): boolean {
  const s = procStat(pid);
  if (!s || s.state === "Z" || s.state === "X") return false;
  return startTime === undefined || s.startTime === startTime;
}

function allPids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^[0-9]+$/.test(d))
    .map(Number);
}

export function liveGroupMembers(pgid: number): number[] {
  return allPids().filter((pid) => {
    const s = procStat(pid);
    return s !== undefined && s.pgrp === pgid && s.state !== "Z" && s.state !== "X";
  });
}

/** Live processes whose environment carries this run's marker: what the suite left running. */
export function markedProcesses(runId = RUN_ID): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid || !isAlive(pid)) continue;
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (env.includes(`${MARKER_ENV}=${runId}`)) {
        found.push({ pid, cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim() });
      }
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

// ---------------------------------------------------------------- cleanup registry

type Cleanup = { name: string; fn: () => Promise<void> };
const cleanups: Cleanup[] = [];
const trackedGroups = new Set<number>();
const trackedDirs = new Set<string>();
let hooked = false;

/** Registers work to undo; cleanup runs in reverse order (servers stop before their dirs go). */
export function onCleanup(name: string, fn: () => Promise<void>): void {
  cleanups.push({ name, fn });
}

/** Stops every server and removes every dir this file made; errors are collected, not swallowed. */
export async function cleanupAll(): Promise<void> {
  const errors: string[] = [];
  while (cleanups.length > 0) {
    const c = cleanups.pop()!;
    try {
      await c.fn();
    } catch (e) {
      errors.push(`${c.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  for (const pgid of trackedGroups) {
    if (liveGroupMembers(pgid).length > 0) errors.push(`process group ${pgid} still has live members`);
  }
  for (const dir of trackedDirs) if (fs.existsSync(dir)) errors.push(`dir ${dir} still exists`);
  if (errors.length > 0) throw new Error(`integration cleanup failed:\n  ${errors.join("\n  ")}`);
}

function killAllSync(): void {
  for (const pgid of trackedGroups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of trackedDirs) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Call once at the top of every integration test file: registers the file-level `after` that stops
 * everything (also when a test failed) and a last-resort kill when the process exits abruptly.
 */
export function useHarness(): void {
  if (hooked) return;
  hooked = true;
  removeStaleLedgers();
  after(cleanupAll, { timeout: 120_000 });
  process.once("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAllSync();
      process.exit(130);
    });
  }
}

/** A fresh temp dir (0755 so unprivileged servers can traverse it), removed at cleanup. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${label}-`));
  fs.chmodSync(dir, 0o755);
  trackedDirs.add(dir);
  record({ kind: "dir", path: dir });
  onCleanup(`remove ${dir}`, async () => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---------------------------------------------------------------- long-running servers

export interface ServerProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<string>;
  /** Undefined while running; the exit description afterwards. */
  exitStatus(): string | undefined;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): string;
  /** Sends `signal` to the whole process group, waits, then SIGKILLs whatever is left. */
  stop(opts?: { signal?: NodeJS.Signals; timeoutMs?: number }): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  user?: User;
  /** Signal for a graceful stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** Custom graceful stop (e.g. rabbitmqctl stop); the group is still signalled afterwards. */
  gracefulStop?: () => Promise<void>;
}

/**
 * Starts a long-running server in its own process group, logging to `logFile`, tracked for cleanup.
 * The returned handle can be stopped early (to prove a dependency outage); cleanup then is a no-op.
 */
export function spawnServer(name: string, file: string, args: string[], logFile: string, opts: SpawnOptions = {}): ServerProcess {
  const out = fs.openSync(logFile, "a");
  if (opts.user) fs.fchownSync(out, opts.user.uid, opts.user.gid);
  const child = spawn(file, args, {
    env: { ...(opts.env ?? process.env), [MARKER_ENV]: RUN_ID },
    cwd: opts.cwd,
    detached: true,
    stdio: ["ignore", out, out],
    uid: opts.user?.uid,
    gid: opts.user?.gid,
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${file}`);
  const pid = child.pid;
  trackedGroups.add(pid);
  record({ kind: "process", name, pid, startTime: procStat(pid)?.startTime ?? "" });
  let status: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      status = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve(status);
    });
    child.once("error", (e) => {
      status = `failed to start: ${e.message}`;
      resolve(status);
    });
  });
  const tail = (lines = 30): string => {
    try {
      return fs.readFileSync(logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (o: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<void> => {
    stopping ??= (async () => {
      const timeoutMs = o.timeoutMs ?? opts.stopTimeoutMs ?? 20_000;
      if (status === undefined && opts.gracefulStop) {
        try {
          await opts.gracefulStop();
        } catch {
          // fall through to signals
        }
      }
      const signalGroup = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-pid, sig);
        } catch {
          // group gone
        }
      };
      if (status === undefined) signalGroup(o.signal ?? opts.stopSignal ?? "SIGTERM");
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && (status === undefined || liveGroupMembers(pid).length > 0)) await sleep(100);
      if (status === undefined || liveGroupMembers(pid).length > 0) {
        signalGroup("SIGKILL");
        await Promise.race([exited, sleep(5_000)]);
      }
      const deadline2 = Date.now() + 5_000;
      while (Date.now() < deadline2 && liveGroupMembers(pid).length > 0) await sleep(100);
    })();
    return stopping;
  };
  onCleanup(`stop ${name}`, () => stop());
  return { name, pid, child, logFile, exited, exitStatus: () => status, tail, stop };
}

/** Waits for readiness while failing fast (with the log tail) if the server exits meanwhile. */
export function waitReady<T>(server: ServerProcess, what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  return waitFor(`${server.name} ${what}`, probe, {
    timeoutMs,
    alive: () => {
      const s = server.exitStatus();
      return s ? `${server.name} ${s} before it was ready; log ${server.logFile}:\n${server.tail()}` : undefined;
    },
  }).catch((e: Error) => {
    if (server.exitStatus()) throw e;
    throw new Error(`${e.message}\nlog ${server.logFile}:\n${server.tail()}`);
  });
}
