/**
 * Measurement helpers shared by the bench sections: child processes timed with their peak memory,
 * medians, and the one table every section adds its rows to.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";

export const ROOT = path.resolve(__dirname, "..");

/** One line of the bench table: a figure beside the baseline it is compared with, measured in the same run. */
export interface Row {
  section: string;
  case: string;
  value: string;
  baseline: string;
  /** value / baseline (or the figure the section defines); undefined when there is no baseline. */
  ratio?: number;
  note?: string;
}

export function formatTable(rows: Row[]): string {
  const lines = ["| section | case | value | baseline | ratio | note |", "| --- | --- | ---: | --- | ---: | --- |"];
  for (const r of rows) lines.push(`| ${r.section} | ${r.case} | ${r.value} | ${r.baseline} | ${r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}x`} | ${r.note ?? ""} |`);
  return lines.join("\n");
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

let preload: string | undefined;

/**
 * A --require file that reports the process's peak RSS on exit. Loaded through NODE_OPTIONS so a
 * launcher's child (tsx's CLI re-spawns node) reports too; the bench takes the largest.
 */
function rusagePreload(): string {
  if (preload) return preload;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "djangostack-bench-"));
  preload = path.join(dir, "rusage.cjs");
  fs.writeFileSync(preload, `process.on("exit", () => { require("fs").writeSync(2, "\\nBENCH_MAXRSS_KB " + process.resourceUsage().maxRSS + "\\n"); });\n`);
  return preload;
}

export interface ProcessRun {
  wallMs: number;
  /** Peak resident memory of the largest node process of the run, in MiB. */
  peakMiB: number;
  stdout: string;
}

/** Runs `node args...` in `cwd` to completion; wall time from spawn to exit. */
export function timeNode(args: string[], opts: { cwd?: string } = {}): Promise<ProcessRun> {
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${rusagePreload()}`.trim() };
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd: opts.cwd ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = performance.now() - start;
      if (code !== 0) return reject(new Error(`node ${args.join(" ")} exited ${code}:\n${stderr}`));
      const peaks = [...stderr.matchAll(/^BENCH_MAXRSS_KB (\d+)$/gm)].map((m) => Number(m[1]));
      resolve({ wallMs, peakMiB: Math.max(0, ...peaks) / 1024, stdout });
    });
  });
}

export const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);
