import { performance } from "node:perf_hooks";
import { parseConfig } from "../src/config/schema";
import { buildModel } from "../src/model/build";
import { nginxInputFor, renderNginx } from "../src/render/nginx";
import { evaluateStack } from "../src/offline/render";

/**
 * `npm run bench`: how the pure pipeline (config -> model -> nginx.conf) and the offline evaluation
 * scale with the number of Django apps. Ratios are against the 1-app case measured in the same run.
 */
function appsConfig(count: number): Record<string, unknown> {
  return {
    apps: Array.from({ length: count }, (_, i) => ({ name: `svc${i + 1}`, routes: [`/svc${i + 1}/`], workers: [{ queues: [`q${i + 1}`] }], beat: i === 0 })),
  };
}

function timePerRun(fn: () => void, minMillis = 300): number {
  fn();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMillis) {
    fn();
    runs++;
  }
  return (performance.now() - start) / runs;
}

async function main(): Promise<void> {
  const counts = [1, 5, 16];
  const rows: { case: string; apps: number; ms: number }[] = [];
  for (const n of counts) {
    const raw = appsConfig(n);
    rows.push({
      case: "parse+model+nginx",
      apps: n,
      ms: timePerRun(() => {
        const config = parseConfig(raw, { project: "djangostack", stack: "bench" });
        renderNginx(nginxInputFor(buildModel(config), config.edge, config.domain));
      }),
    });
  }
  for (const n of counts) {
    const start = performance.now();
    await evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": appsConfig(n).apps } });
    rows.push({ case: "offline evaluation (local)", apps: n, ms: performance.now() - start });
  }
  const base = new Map(rows.filter((r) => r.apps === 1).map((r) => [r.case, r.ms]));
  console.log("| case | apps | ms per run | ratio vs 1 app |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.case} | ${r.apps} | ${r.ms.toFixed(2)} | ${(r.ms / (base.get(r.case) ?? r.ms)).toFixed(2)}x |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
