/**
 * Watches every process's command line (/proc/<pid>/cmdline, readable by any local user) for
 * secrets, in a worker thread that rescans without pause while the test starts servers on the main
 * thread. The secrets reach the worker through workerData (memory), never through an argv.
 */
import { Worker } from "node:worker_threads";

export interface ArgvScanResult {
  /** Full passes over /proc. */
  scans: number;
  /** Processes whose command line held a secret: pid and the command line (secret masked). */
  hits: { pid: number; cmdline: string }[];
  /**
   * Command lines of this process's descendants that match `watch` (proof the scan overlapped the
   * processes of interest); other processes on the machine are not the test's to judge.
   */
  seen: string[];
}

export interface ArgvScan {
  stop(): Promise<ArgvScanResult>;
}

const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const { secrets, watch, flag } = workerData;
const stop = new Int32Array(flag);
const needles = secrets.map((s) => Buffer.from(s));
const re = new RegExp(watch);
const hits = new Map();
const seen = new Set();
let scans = 0;
// The parent pid is the field after the command name, which is in parentheses and may hold spaces.
function parentOf(pid) {
  try {
    const stat = fs.readFileSync("/proc/" + pid + "/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch { return 0; }
}
function isOwnDescendant(pid) {
  for (let p = parentOf(pid), depth = 0; p > 1 && depth < 64; p = parentOf(p), depth++) if (p === process.pid) return true;
  return false;
}
while (Atomics.load(stop, 0) === 0) {
  for (const name of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue;
    let buf;
    try { buf = fs.readFileSync("/proc/" + name + "/cmdline"); } catch { continue; }
    if (buf.length === 0) continue;
    let text = buf.toString("utf8").split("\\0").join(" ").trim();
    if (needles.some((n) => buf.includes(n))) {
      for (const s of secrets) text = text.split(s).join("[secret]");
      hits.set(name + " " + text, { pid: Number(name), cmdline: text });
    }
    if (re.test(text) && seen.size < 200 && isOwnDescendant(name)) seen.add(text);
  }
  if (scans++ === 0) parentPort.postMessage("ready");
}
parentPort.postMessage({ scans, hits: [...hits.values()], seen: [...seen] });
`;

/**
 * Starts scanning for `secrets`; `watch` (a regex source) picks the command lines to report as seen.
 * Resolves once the first full pass is done: a worker that is slow to start on a loaded machine
 * would otherwise miss a short-lived process started right after.
 */
export async function scanArgv(secrets: string[], watch: string): Promise<ArgvScan> {
  if (secrets.some((s) => s.length < 8)) throw new Error("scanArgv: secrets this short would match by chance");
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { secrets, watch, flag } });
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const result = new Promise<ArgvScanResult>((resolve, reject) => {
    worker.on("message", (m: ArgvScanResult | "ready") => (m === "ready" ? ready() : resolve(m)));
    worker.once("error", reject);
  });
  await Promise.race([started, result]);
  return {
    stop: async () => {
      Atomics.store(new Int32Array(flag), 0, 1);
      const r = await result;
      await worker.terminate();
      return r;
    },
  };
}
