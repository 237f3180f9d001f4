/**
 * A Docker container with `init: true`, `restart: unless-stopped` and a healthcheck, approximated
 * without a Docker engine: each start is a fresh pid + mount namespace (unshare, as root) whose PID 1
 * is Debian's tini (what docker-init is) with the app as its child, /tmp a fresh tmpfs. A health
 * runner does what Docker's does: `interval` after the start and after each check it runs the test
 * inside the container (nsenter, so the check's parent is outside the namespace and its ppid reads
 * 0, as with `docker exec`), bounded by `timeout`. When PID 1 exits, the next start follows.
 * Network and the rest of the filesystem are the host's: apps listen on loopback ports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MARKER_ENV, RUN_ID, RunResult, ServerProcess, onCleanup, requireBinary, run, sleep, spawnServer, tempDir } from "./process";

/** Which shell runs the healthcheck: Debian images' /bin/sh (dash), or Alpine's (busybox ash with its applets only). */
export type HealthShell = "dash" | "busybox";

export interface ContainerSpec {
  label: string;
  /** The app, started by tini. */
  argv: string[];
  /** A Docker healthcheck test: ["CMD", argv...] or ["CMD-SHELL", script]. */
  test: readonly string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  shell: HealthShell;
  /** Docker's first restart delay is 100 ms. */
  restartDelayMs?: number;
}

export interface ContainerStart {
  index: number;
  /** Date.now() at the spawn. */
  startedAt: number;
  /** Host pid of the namespace's PID 1 (tini), once it runs. */
  pid1?: number;
  /** Exit code of PID 1 (tini: the app's code, 128 + n when signal n ended it), or a signal name. */
  exit?: string;
  exitedAt?: number;
}

export interface HealthCheck {
  start: number;
  /** Milliseconds from the container start to the check's start. */
  at: number;
  durationMs: number;
  /** 0 healthy, 1 unhealthy; anything else is a failed check to Docker too. */
  code: number;
  output: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** Dirs inside the container's /tmp: `python` for the probes healthcheckTest renders, and busybox's applets. */
const BIN = "/tmp/.it-bin";
const BUSYBOX = "/tmp/.it-busybox";
const BUSYBOX_APPLETS = ["sh", "sleep", "kill", "cat"];

function setupScript(argv: string[]): string {
  return [
    "set -eu",
    "mount -t tmpfs -o size=1m,mode=1777 tmpfs /tmp",
    `mkdir ${BIN} ${BUSYBOX}`,
    `ln -s /usr/bin/python3 ${BIN}/python`,
    ...BUSYBOX_APPLETS.map((a) => `ln -s /usr/bin/busybox ${BUSYBOX}/${a}`),
    `exec /usr/bin/tini -- ${argv.map(quote).join(" ")}`,
  ].join("\n");
}

/** The healthcheck's command line: Docker runs CMD-SHELL with the image's `/bin/sh -c`. */
function checkArgv(test: readonly string[], shell: HealthShell): string[] {
  const [kind, ...rest] = test;
  const env = ["/usr/bin/env", "-i", `${MARKER_ENV}=${RUN_ID}`];
  if (kind === "CMD-SHELL" && rest.length === 1) {
    return shell === "busybox" ? [...env, `PATH=${BUSYBOX}:${BIN}`, "/usr/bin/busybox", "sh", "-c", rest[0]] : [...env, `PATH=${BIN}:/usr/bin:/bin`, "/bin/sh", "-c", rest[0]];
  }
  if (kind === "CMD" && rest.length > 0) return [...env, `PATH=${shell === "busybox" ? `${BUSYBOX}:${BIN}` : `${BIN}:/usr/bin:/bin`}`, ...rest];
  throw new Error(`container: unsupported healthcheck test ${JSON.stringify(test)}`);
}

/** True when `pid` is PID 1 of a pid namespace other than this process's. */
function isOtherNamespaceInit(pid: number): boolean {
  try {
    const nspid = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1].trim().split(/\s+/) ?? [];
    return nspid.length >= 2 && nspid[nspid.length - 1] === "1" && fs.readlinkSync(`/proc/${pid}/ns/pid`) !== fs.readlinkSync("/proc/self/ns/pid");
  } catch {
    return false;
  }
}

export class EmulatedContainer {
  readonly starts: ContainerStart[] = [];
  readonly checks: HealthCheck[] = [];
  private stopped = false;
  private current?: ServerProcess;
  private readonly dir: string;
  private loop?: Promise<void>;

  constructor(private readonly spec: ContainerSpec) {
    requireBinary("/usr/bin/tini", "tini");
    requireBinary("/usr/bin/unshare", "util-linux");
    requireBinary("/usr/bin/nsenter", "util-linux");
    if (spec.shell === "busybox") requireBinary("/usr/bin/busybox", "busybox");
    this.dir = tempDir(`container-${spec.label}`);
  }

  /** `docker run -d`: starts it, and again whenever PID 1 exits, until `stop()`. */
  start(): void {
    this.loop = this.restartLoop();
  }

  /** `docker stop`: no restart after this; the current start gets TERM, then KILL. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.current?.stop({ timeoutMs: 3_000 });
    // The loop ends once the last start's health checks have.
    await this.loop;
  }

  /** `docker exec` into the running start (as root, with the check's PATH). */
  async exec(argv: string[]): Promise<RunResult> {
    const pid1 = this.starts[this.starts.length - 1]?.pid1;
    if (pid1 === undefined || !isOtherNamespaceInit(pid1)) throw new Error(`container ${this.spec.label} is not running`);
    return run("/usr/bin/nsenter", ["--target", String(pid1), "--pid", "--mount", "--", ...checkArgv(["CMD", ...argv], this.spec.shell)], { check: false, timeoutMs: 10_000, env: { PATH: "/usr/bin:/bin" } });
  }

  checksOf(start: number): HealthCheck[] {
    return this.checks.filter((c) => c.start === start);
  }

  logOf(start: number): string {
    return fs.readFileSync(path.join(this.dir, `start-${start}.log`), "utf8");
  }

  private async restartLoop(): Promise<void> {
    while (!this.stopped) {
      const index = this.starts.length;
      const record: ContainerStart = { index, startedAt: Date.now() };
      this.starts.push(record);
      // --kill-child: when the harness kills unshare, the namespace's PID 1 (and so all of it) dies too.
      const server = spawnServer(`${this.spec.label}-${index}`, "/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL", "/bin/sh", "-c", setupScript(this.spec.argv)], path.join(this.dir, `start-${index}.log`), {
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        stopTimeoutMs: 3_000,
      });
      this.current = server;
      // Runs before the harness stops this start (cleanups run last-in first): no restart after it.
      onCleanup(`stop container ${this.spec.label}`, () => this.stop());
      void server.exited.then((status) => {
        record.exit = status.replace(/^exited with code /, "");
        record.exitedAt = Date.now();
      });
      const health = this.healthLoop(record, server);
      await server.exited;
      await health;
      if (!this.stopped) await sleep(this.spec.restartDelayMs ?? 100);
    }
  }

  /** tini, once unshare's child has exec'd it. */
  private async pid1(server: ServerProcess): Promise<number | undefined> {
    for (let i = 0; i < 100 && server.exitStatus() === undefined; i++) {
      try {
        const child = Number(fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").trim().split(" ")[0]);
        if (child > 0 && fs.readFileSync(`/proc/${child}/comm`, "utf8").trim() === "tini" && isOtherNamespaceInit(child)) return child;
      } catch {
        // not there yet
      }
      await sleep(20);
    }
    return undefined;
  }

  private async healthLoop(record: ContainerStart, server: ServerProcess): Promise<void> {
    const pid1 = await this.pid1(server);
    if (pid1 === undefined) return;
    record.pid1 = pid1;
    const argv = checkArgv(this.spec.test, this.spec.shell);
    for (;;) {
      await Promise.race([sleep(this.spec.intervalSeconds * 1000), server.exited]);
      if (this.stopped || server.exitStatus() !== undefined) return;
      // The script signals PID 1's children: never let it run in this (the host's) pid namespace.
      if (!isOtherNamespaceInit(pid1)) throw new Error(`container ${this.spec.label}: pid ${pid1} is not a namespace's PID 1`);
      const t0 = Date.now();
      const r = await run("/usr/bin/nsenter", ["--target", String(pid1), "--pid", "--mount", "--", ...argv], { check: false, timeoutMs: this.spec.timeoutSeconds * 1000, env: { PATH: "/usr/bin:/bin" } });
      this.checks.push({ start: record.index, at: t0 - record.startedAt, durationMs: Date.now() - t0, code: r.code, output: (r.stdout + r.stderr).trim() });
    }
  }
}
