/**
 * Child of the render section: times evaluateStack in a process of its own (modules loaded once,
 * then each evaluation timed warm) and prints the figures as JSON on its last line.
 * Usage: node --require ./scripts/ts-cache.cjs bench/evaluate.ts <runs> <case>...
 * where a case is `stack`, `stack=file`, `stack@projectDir` (a stack of an example folder, e.g.
 * `production@examples/ticket-tracking`) or `apps:N` (the local stack with N apps).
 */
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { evaluateStack, EvaluateOptions } from "../src/offline/render";
import { appsConfig } from "./apps";

function options(spec: string): EvaluateOptions {
  const apps = /^apps:(\d+)$/.exec(spec);
  if (apps) return { stack: "local", extraConfig: { "djangostack:apps": appsConfig(Number(apps[1])) } };
  const at = spec.indexOf("@");
  if (at > 0) return { stack: spec.slice(0, at), projectDir: path.resolve(spec.slice(at + 1)) };
  const [stack, file] = spec.split("=");
  return { stack, stackFile: file };
}

async function main(): Promise<void> {
  const [runsArg, ...specs] = process.argv.slice(2);
  const runs = Number(runsArg);
  const result: Record<string, number[]> = {};
  // The first evaluation loads every module; it is not counted.
  await evaluateStack(options(specs[0]));
  for (let i = 0; i < runs; i++) {
    for (const spec of specs) {
      const start = performance.now();
      await evaluateStack(options(spec));
      (result[spec] ??= []).push(performance.now() - start);
    }
  }
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
