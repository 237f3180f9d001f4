import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../src/config/checker";
import { renderStack } from "../src/offline/render";
import { StackFileError } from "../src/offline/stackfiles";

/**
 * `npm run render -- --stack <name> [--out DIR] [--file STACK_FILE]`: the offline render, no CLI and
 * no account. `--file` reads the stack's config from another file, e.g. one of examples/.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { stack: { type: "string" }, out: { type: "string", default: "out" }, file: { type: "string" }, "print-config": { type: "boolean" } } });
  if (!values.stack) {
    process.stderr.write("usage: npm run render -- --stack <local|staging|production> [--out DIR] [--file STACK_FILE] [--print-config]\n");
    return 2;
  }
  try {
    const summary = await renderStack({ stack: values.stack, outDir: path.resolve(values.out ?? "out"), stackFile: values.file });
    process.stdout.write(`rendered stack ${values.stack}: ${summary.resources} resources, ${summary.artifacts} artifacts -> ${path.relative(process.cwd(), summary.dir) || "."}\n`);
    // --print-config: what the stack deploys after its overlay, secrets masked (the render wrote it).
    if (values["print-config"]) process.stdout.write(fs.readFileSync(path.join(summary.dir, "effective-config.yaml"), "utf8"));
    return 0;
  } catch (error) {
    const expected = error instanceof ConfigError || error instanceof StackFileError;
    const message = expected ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`render failed for stack ${values.stack}:\n${message}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));
