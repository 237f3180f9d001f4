import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../src/config/checker";
import { renderStack } from "../src/offline/render";
import { StackFileError } from "../src/offline/stackfiles";
import { ComparedResource, compareRenders, formatChanges, impactExitCode } from "../src/offline/impact";

/**
 * Pulumi records `new Error().stack` for every promise and resource it tracks (runtime/debuggable.js,
 * debuggablePromise) for a leak report the offline render never prints; capturing one frame instead
 * of ten takes about a third off a render. A stack trace limit given to node (NODE_OPTIONS or the
 * command line) is kept, for the whole trace of an unexpected error.
 */
const LIMIT_GIVEN = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => a.startsWith("--stack-trace-limit"));
if (!LIMIT_GIVEN) Error.stackTraceLimit = 1;

const USAGE = "usage: npm run render -- --stack <local|staging|production> [--project DIR] [--out DIR] [--file STACK_FILE] [--compare EARLIER_OUT_DIR] [--reference STACK=OUTPUTS_JSON]... [--print-config]\n";

/** `--reference org/project/stack=out/staging/outputs.json`: what a StackReference to that stack reads. */
function referencedOutputs(specs: readonly string[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    specs.map((spec) => {
      const at = spec.indexOf("=");
      if (at < 1) throw new FlagError(`--reference ${spec}: expected STACK=OUTPUTS_JSON, e.g. acme/djangostack/staging=out/staging/outputs.json`);
      const file = spec.slice(at + 1);
      if (!fs.existsSync(file)) throw new FlagError(`--reference ${spec}: no file ${file}; render that stack first (its outputs.json)`);
      return [spec.slice(0, at), JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>];
    }),
  );
}

/** A flag whose value the render cannot use (--reference, --compare): its reason, one line, no trace. */
class FlagError extends Error {}

/**
 * A refusal the program raised itself ("djangostack: ..."), such as a promotion from a stack with
 * other apps: only known inside an Output, so the engine's serializer wraps it in one
 * `error serializing property` per level it was nested at. The reason alone, without a stack trace.
 */
function ownReason(error: unknown): string | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const at = text.indexOf("djangostack: ");
  return at >= 0 ? text.slice(at) : undefined;
}

/** A bug's message and where it was thrown, and how to see the whole trace. */
function unexpected(error: unknown): string {
  const trace = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return LIMIT_GIVEN ? trace : `${trace}\n(one stack frame; NODE_OPTIONS=--stack-trace-limit=50 npm run render -- ... prints the whole trace)`;
}

/** An earlier render's resources.json: DIR/<stack>/resources.json, or DIR/resources.json. */
function earlierRender(dir: string, stack: string): ComparedResource[] {
  const candidates = [path.join(dir, stack, "resources.json"), path.join(dir, "resources.json")];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new FlagError(`--compare ${dir}: no ${candidates.join(" or ")}; render the earlier version there first (e.g. from a worktree of main)`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as ComparedResource[];
}

/**
 * `npm run render -- --stack <name> [--project DIR] [--out DIR] [--file STACK_FILE] [--compare DIR]`: the
 * offline render, no CLI and no account. `--project` reads Pulumi.yaml and Pulumi.<stack>.yaml from
 * another project directory, e.g. examples/kore/ (the CLI's `pulumi -C DIR`); `--file` reads the
 * stack's config from another file.
 * `--compare` prints what `pulumi up` would do going from the render in DIR to this one and exits 3
 * when data is at risk, 4 when only the site would go down (see src/offline/impact.ts).
 */
const OPTIONS = { stack: { type: "string" }, project: { type: "string" }, out: { type: "string", default: "out" }, file: { type: "string" }, compare: { type: "string" }, "print-config": { type: "boolean" }, reference: { type: "string", multiple: true }, help: { type: "boolean", short: "h" } } as const;

async function main(): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    ({ values } = parseArgs({ options: OPTIONS }));
  } catch (error) {
    // parseArgs' own message names the flag: "Unknown option '--x'", "Option '--stack <value>' argument missing".
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}
${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.stack) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    // Read first: --compare may name the directory this render is about to overwrite.
    const before = values.compare ? earlierRender(path.resolve(values.compare), values.stack) : undefined;
    const stackOutputs = referencedOutputs(values.reference ?? []);
    const summary = await renderStack({ stack: values.stack, outDir: path.resolve(values.out ?? "out"), projectDir: values.project === undefined ? undefined : path.resolve(values.project), stackFile: values.file, stackOutputs });
    process.stdout.write(`rendered stack ${values.stack}: ${summary.resources} resources, ${summary.artifacts} artifacts -> ${path.relative(process.cwd(), summary.dir) || "."}\n`);
    // --print-config: what the stack deploys after its overlay, secrets masked (the render wrote it).
    if (values["print-config"]) process.stdout.write(fs.readFileSync(path.join(summary.dir, "effective-config.yaml"), "utf8"));
    for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
    if (!before) return 0;
    const after = JSON.parse(fs.readFileSync(path.join(summary.dir, "resources.json"), "utf8")) as ComparedResource[];
    const changes = compareRenders(before, after);
    process.stdout.write(`changes from ${values.compare}:\n${formatChanges(changes).map((l) => `  ${l}`).join("\n")}\n`);
    return impactExitCode(changes);
  } catch (error) {
    const expected = error instanceof ConfigError || error instanceof StackFileError || error instanceof FlagError;
    const message = expected ? error.message : (ownReason(error) ?? unexpected(error));
    process.stderr.write(`render failed for stack ${values.stack}:\n${message}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));
