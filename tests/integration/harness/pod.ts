/**
 * One container of a Kubernetes pod, approximated on this host: private mount, network, UTS and pid
 * namespaces (unshare, as root), the pod's hostname, a loopback-only network, the container's volume
 * mounts bound from temp dirs, and everything else read-only (`readOnlyRootFilesystem`). The process
 * runs as the given uid/gid with exactly the given env. When its pid 1 exits, the kernel ends every
 * process left in the pid namespace (a daemon it started, such as epmd), and the mounts go with it.
 *
 * A mount point the host lacks (Debian has no /etc/rabbitmq/conf.d) is made on a tmpfs laid over its
 * nearest existing parent, read-only again afterwards: that parent's other host files are hidden.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MARKER_ENV, RUN_ID, RunResult, ServerProcess, SpawnOptions, User, requireBinary, run, spawnServer, tempDir } from "./process";

export interface PodMount {
  hostPath: string;
  mountPath: string;
  readOnly: boolean;
}

export interface PodContainer {
  /** The pod's hostname (a StatefulSet pod: <set>-<ordinal>). */
  hostname: string;
  /** Names /etc/hosts gives the pod's address (loopback here), as kubelet writes them. */
  hostNames: string[];
  mounts: PodMount[];
  env: Record<string, string>;
  user: User;
  argv: string[];
}

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs `argv` as the container's user with exactly its env (and the run marker, for cleanup checks). */
function asContainerUser(c: Pick<PodContainer, "env" | "user">, argv: string[]): string[] {
  const env = Object.entries({ ...c.env, [MARKER_ENV]: RUN_ID }).map(([k, v]) => `${k}=${v}`);
  return [requireBinary("/usr/bin/setpriv", "util-linux"), `--reuid=${c.user.uid}`, `--regid=${c.user.gid}`, "--clear-groups", "/usr/bin/env", "-i", ...env, ...argv];
}

/** The shell script that builds the container's filesystem in the new namespaces, then execs it. */
function setupScript(c: PodContainer, hostsFile: string): string {
  const lines = ["set -eu", `hostname ${quote(c.hostname)}`, "ip link set lo up"];
  const binds: PodMount[] = [{ hostPath: hostsFile, mountPath: "/etc/hosts", readOnly: true }, ...c.mounts];
  const sources = binds.map((m) => m.hostPath);
  // A mount over a directory that holds bind sources (/tmp) goes last, or it would hide them.
  const hidesSource = (m: PodMount) => sources.some((src) => src !== m.hostPath && !path.relative(m.mountPath, src).startsWith(".."));
  const ordered = [...binds.filter((m) => !hidesSource(m)), ...binds.filter(hidesSource)];
  const tmpfsParents: string[] = [];
  for (const m of ordered) {
    if (!fs.existsSync(m.mountPath)) {
      let parent = path.dirname(m.mountPath);
      while (!fs.existsSync(parent)) parent = path.dirname(parent);
      if (parent === "/") throw new Error(`pod: no parent to lay a tmpfs over for ${m.mountPath}`);
      if (!tmpfsParents.includes(parent)) {
        lines.push(`mount -t tmpfs -o size=1m,mode=755 tmpfs ${quote(parent)}`);
        tmpfsParents.push(parent);
      }
      lines.push(`mkdir -p ${quote(m.mountPath)}`);
    }
    lines.push(`mount --bind ${quote(m.hostPath)} ${quote(m.mountPath)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${quote(m.mountPath)}`);
  }
  for (const parent of tmpfsParents) lines.push(`mount -o remount,ro ${quote(parent)}`);
  lines.push("mount -o remount,bind,ro /", "cd /", `exec ${asContainerUser(c, c.argv).map(quote).join(" ")}`);
  return lines.join("\n");
}

function podInvocation(c: PodContainer, label: string): { file: string; args: string[] } {
  const dir = tempDir(`${label}-hosts`);
  const hostsFile = path.join(dir, "hosts");
  fs.writeFileSync(hostsFile, `127.0.0.1\tlocalhost\n127.0.0.1\t${c.hostNames.join(" ")}\n`);
  fs.chmodSync(hostsFile, 0o644);
  requireBinary("/usr/sbin/ip", "iproute2");
  const unshare = requireBinary("/usr/bin/unshare", "util-linux");
  return { file: unshare, args: ["--mount", "--net", "--uts", "--pid", "--kill-child=SIGTERM", "--propagation", "private", "/bin/sh", "-c", setupScript(c, hostsFile)] };
}

/** Runs a container to completion (an init container). */
export function runPodContainer(c: PodContainer, label: string, timeoutMs = 60_000): Promise<RunResult> {
  const { file, args } = podInvocation(c, label);
  return run(file, args, { check: false, timeoutMs, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
}

export interface PodServer {
  server: ServerProcess;
  /** `kubectl exec`: runs argv in the container's namespaces, as its user, with its env. */
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
}

/** Starts a long-running container; `gracefulStop` may use the returned exec. */
export function startPodContainer(c: PodContainer, label: string, logFile: string, opts: { gracefulStop?: (exec: PodServer["exec"]) => Promise<void>; stopTimeoutMs?: number } = {}): PodServer {
  const { file, args } = podInvocation(c, label);
  let pid = 0;
  const exec: PodServer["exec"] = async (argv, o = {}) => {
    // The pod's pid 1 is unshare's forked child. Its pid namespace too: a daemon the command starts
    // (an Erlang CLI starts epmd) then ends with the pod instead of outliving it on the host.
    const init = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")[0];
    if (!init) throw new Error(`${label}: the pod's pid 1 is not running yet`);
    const nsenter = requireBinary("/usr/bin/nsenter", "util-linux");
    return run(nsenter, ["-t", init, "-m", "-n", "-u", "-p", "--", ...asContainerUser(c, argv)], { check: false, timeoutMs: o.timeoutMs ?? 60_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  };
  const spawnOpts: SpawnOptions = {
    cwd: "/",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    stopTimeoutMs: opts.stopTimeoutMs ?? 30_000,
    gracefulStop: opts.gracefulStop && (() => opts.gracefulStop!(exec)),
  };
  const server = spawnServer(label, file, args, logFile, spawnOpts);
  pid = server.pid;
  return { server, exec };
}
