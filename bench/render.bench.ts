/**
 * Item 1, program speed: whole-process renders beside the floor (a node that only loads
 * @pulumi/pulumi), the same render without tsx (scripts/ts-cache.cjs, what `npm run render` runs), in-process evaluation, and
 * growth with the number of apps. Cases run interleaved, round after round, and each figure is the
 * median, so a busy machine slows every case alike.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { appsStackFile } from "./apps";
import { ROOT, Row, median, ms, timeNode } from "./measure";

const TSX_CLI = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const TS_CACHE = path.join(ROOT, "scripts", "ts-cache.cjs");
/** The example with the most resources (112: five apps, two pools, a frontend). */
/** The largest example: Ticket Tracking's production stack (five services), a project of its own. */
const LARGEST_EXAMPLE = { stack: "production", project: "examples/ticket-tracking" };

interface RenderCase {
  label: string;
  args: (out: string) => string[];
}

function renderArgs(stack: string, extra: string[] = []): (out: string) => string[] {
  return (out) => ["scripts/render.ts", "--stack", stack, "--out", out, ...extra];
}

export async function renderBench(quick: boolean): Promise<Row[]> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "djangostack-bench-render-"));
  const appsDir = path.join(out, "stackfiles");
  fs.mkdirSync(appsDir);
  const appsFile = (n: number) => {
    const file = path.join(appsDir, `apps-${n}.yaml`);
    fs.writeFileSync(file, appsStackFile(n));
    return file;
  };
  const stacks: [string, string, string[]][] = quick
    ? [["local", "local", []]]
    : [["local", "local", []], ["staging", "staging", []], ["production", "production", []], ["ticket-tracking/production (largest example)", LARGEST_EXAMPLE.stack, ["--project", LARGEST_EXAMPLE.project]]];
  const cases: RenderCase[] = [{ label: "floor", args: () => ["-e", 'require("@pulumi/pulumi")'] }];
  for (const [name, stack, extra] of stacks) {
    // tsx alone costs more than the whole quick budget; the full run measures it.
    if (!quick) cases.push({ label: `${name} via tsx`, args: (o) => [TSX_CLI, ...renderArgs(stack, extra)(o)] });
    cases.push({ label: `${name} via ts-cache`, args: (o) => ["--require", TS_CACHE, ...renderArgs(stack, extra)(o)] });
  }
  // 16 apps is the most config accepts (one Redis database each).
  const growth = quick ? [1, 5] : [1, 5, 16];
  for (const n of quick ? [] : growth) cases.push({ label: `${n} app(s) via ts-cache`, args: (o) => ["--require", TS_CACHE, ...renderArgs(`apps${n}`, ["--file", appsFile(n)])(o)] });

  // One render first fills ts-cache's transpile cache (a fresh clone pays that once).
  await timeNode(["--require", TS_CACHE, ...renderArgs("local")(out)]);
  const rounds = quick ? 1 : 3;
  const wall = new Map<string, number[]>();
  const peak = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const r = await timeNode(c.args(out));
      wall.set(c.label, [...(wall.get(c.label) ?? []), r.wallMs]);
      peak.set(c.label, [...(peak.get(c.label) ?? []), r.peakMiB]);
    }
  }
  const w = (label: string) => median(wall.get(label) ?? [NaN]);
  const p = (label: string) => median(peak.get(label) ?? [NaN]);
  const floorWall = w("floor");
  const floorPeak = p("floor");
  const rows: Row[] = [{ section: "1 render", case: "floor: node loading @pulumi/pulumi", value: `${ms(floorWall)}, ${floorPeak.toFixed(0)} MiB`, baseline: "", note: `median of ${rounds}` }];
  for (const c of cases.slice(1)) {
    if (c.label.includes("app(s)")) continue;
    rows.push({ section: "1 render", case: `${c.label}: wall`, value: ms(w(c.label)), baseline: `floor ${ms(floorWall)}`, ratio: w(c.label) / floorWall, note: "goal <= 1.5x" });
    rows.push({ section: "1 render", case: `${c.label}: peak RSS`, value: `${p(c.label).toFixed(0)} MiB`, baseline: `floor ${floorPeak.toFixed(0)} MiB`, ratio: p(c.label) / floorPeak });
  }
  const one = w(`1 app(s) via ts-cache`);
  for (const n of quick ? [] : growth) {
    const label = `${n} app(s) via ts-cache`;
    rows.push({ section: "1 render", case: `whole process, ${n} app(s): wall`, value: ms(w(label)), baseline: `1 app ${ms(one)}`, ratio: w(label) / one, note: n > 1 ? "goal < 2x at the most apps" : "" });
  }
  rows.push(...(await evaluationRows(quick, growth)));
  fs.rmSync(out, { recursive: true, force: true });
  return rows;
}

/** In-process evaluation (modules already loaded) per stack and per app count, in a child of its own. */
async function evaluationRows(quick: boolean, growth: number[]): Promise<Row[]> {
  const specs = [...(quick ? ["local"] : ["local", "staging", "production", `${LARGEST_EXAMPLE.stack}@${LARGEST_EXAMPLE.project}`]), ...growth.map((n) => `apps:${n}`)];
  const runs = quick ? 1 : 3;
  const r = await timeNode(["--require", TS_CACHE, "bench/evaluate.ts", String(runs), ...specs]);
  const times = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number[]>;
  const rows: Row[] = [];
  const one = median(times["apps:1"] ?? [NaN]);
  for (const spec of specs) {
    const t = median(times[spec] ?? [NaN]);
    if (spec.startsWith("apps:")) {
      const n = Number(spec.slice(5));
      rows.push({ section: "1 render", case: `evaluation in process, ${n} app(s)`, value: ms(t), baseline: `1 app ${ms(one)}`, ratio: t / one, note: n > 1 ? `${ms(t / n)} per app` : "" });
    } else {
      rows.push({ section: "1 render", case: `evaluation in process, ${spec.includes("@") ? `${spec.slice(spec.indexOf("@") + 1).replace(/^examples\//, "")}/${spec.slice(0, spec.indexOf("@"))}` : spec.split("=")[0]}`, value: ms(t), baseline: "", note: "warm: modules loaded" });
    }
  }
  return rows;
}
