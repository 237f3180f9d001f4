/**
 * `npm run bench [-- --quick]`: every figure of issue 17 in one table, each beside the baseline it
 * is compared with, measured in the same run. A benchmark never fails on a timing; it fails only
 * when a case cannot run. `--quick` runs each section once, briefly, so CI keeps it working; `--only render|edge|cost` runs one.
 */
import * as os from "node:os";
import { parseArgs } from "node:util";
import { costBench } from "./cost.bench";
import { edgeBench } from "./edge.bench";
import { Row, formatTable } from "./measure";
import { renderBench } from "./render.bench";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, only: { type: "string" } } });
  const quick = values.quick ?? false;
  const only = values.only;
  const started = Date.now();
  const load = os.loadavg()[0];
  const rows: Row[] = [];
  if (!only || only === "render") rows.push(...(await renderBench(quick)));
  if (!only || only === "edge") rows.push(...(await edgeBench(quick)));
  if (!only || only === "cost") rows.push(...costBench());
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(`djangostack bench${quick ? " (quick)" : ""}: ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${load.toFixed(1)} at start, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(formatTable(rows));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
