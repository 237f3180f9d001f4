/**
 * CI entry point: `npx tsx automation/cli.ts <operation> --stack <name> [options]`.
 * Exit codes: 0 ok, 1 failure, 2 usage error or refused, 3 drift detected (drift).
 */
import { parseArgs } from "node:util";
import { OpMap } from "@pulumi/pulumi/automation";
import {
  DriverError,
  DriverResult,
  Operation,
  OPERATIONS,
  OperationOptions,
  assertConfirmed,
  destroy,
  drift,
  getPulumiCommand,
  outputs,
  preview,
  refresh,
  selectStack,
  StackOutputs,
  up,
} from "./driver";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_DRIFT = 3;

export const USAGE = `usage: npx tsx automation/cli.ts <${OPERATIONS.join("|")}> --stack <name> [options]

options:
  --stack NAME        stack to operate on (required; must already exist)
  --yes               confirm: required by destroy, and by up on production
  --json              print the result (or the error) as JSON on stdout
  --pulumi-root DIR   Pulumi CLI install to use (DIR/bin/pulumi); default $PULUMI_ROOT, else pulumi on PATH
  --show-secrets      print secret output values in plain text (up, outputs)
  --diff              detailed diff in the progress output (preview, up, destroy)
  --parallel N        resource operations in parallel (preview, up, refresh, destroy, drift)
  --message TEXT      message for the update (preview, up, refresh, destroy)
  --policy-pack DIR   enforce a CrossGuard pack, e.g. policy (preview, up); repeatable
  -h, --help          this text

exit codes: 0 ok, 1 failure, 2 usage error or refused, 3 drift detected (drift)`;

/** Flags each operation accepts besides --stack, --json and --pulumi-root. */
const ALLOWED: Record<Operation, readonly string[]> = {
  preview: ["diff", "parallel", "message", "policy-pack"],
  up: ["yes", "diff", "parallel", "message", "show-secrets", "policy-pack"],
  refresh: ["yes", "parallel", "message"],
  destroy: ["yes", "diff", "parallel", "message"],
  drift: ["parallel"],
  outputs: ["show-secrets"],
};

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Project directory (tests); defaults to the repo root. */
  workDir?: string;
}

export interface ParsedArgs {
  operation: Operation;
  stack: string;
  json: boolean;
  yes: boolean;
  pulumiRoot?: string;
  options: OperationOptions;
}

function usageError(message: string): DriverError {
  return new DriverError("usage", `${message}\n\n${USAGE}`);
}

function isOperation(v: string | undefined): v is Operation {
  return (OPERATIONS as readonly string[]).includes(v ?? "");
}

/** Parses argv (without node and script); throws a usage DriverError. Returns "help" for -h. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        stack: { type: "string" },
        yes: { type: "boolean" },
        json: { type: "boolean" },
        "pulumi-root": { type: "string" },
        "show-secrets": { type: "boolean" },
        diff: { type: "boolean" },
        parallel: { type: "string" },
        message: { type: "string" },
        "policy-pack": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length !== 1) throw usageError(positionals.length === 0 ? "missing operation" : `expected one operation, got: ${positionals.join(" ")}`);
  const operation = positionals[0];
  if (!isOperation(operation)) throw usageError(`unknown operation "${operation}"`);
  const stack = values.stack;
  if (stack === undefined || stack.trim() === "") throw usageError("--stack is required");
  if (!/^[A-Za-z0-9_.\-/]+$/.test(stack)) throw usageError(`invalid stack name "${stack}"`);

  const given = Object.entries(values)
    .filter(([k, v]) => v !== undefined && !["stack", "json", "pulumi-root", "help"].includes(k))
    .map(([k]) => k);
  const notAllowed = given.filter((k) => !ALLOWED[operation].includes(k));
  if (notAllowed.length > 0) throw usageError(`${notAllowed.map((k) => `--${k}`).join(", ")} not supported by ${operation}`);

  let parallel: number | undefined;
  if (values.parallel !== undefined) {
    if (!/^[1-9][0-9]*$/.test(values.parallel)) throw usageError(`--parallel must be a positive integer, got "${values.parallel}"`);
    parallel = Number(values.parallel);
  }
  const pulumiRoot = values["pulumi-root"] ?? (env.PULUMI_ROOT && env.PULUMI_ROOT !== "" ? env.PULUMI_ROOT : undefined);
  return {
    operation,
    stack,
    json: values.json ?? false,
    yes: values.yes ?? false,
    ...(pulumiRoot !== undefined ? { pulumiRoot } : {}),
    options: {
      ...(values.message !== undefined ? { message: values.message } : {}),
      ...(parallel !== undefined ? { parallel } : {}),
      ...(values.diff ? { diff: true } : {}),
      ...(values["policy-pack"] ? { policyPacks: values["policy-pack"] } : {}),
      ...(values["show-secrets"] ? { showSecrets: true } : {}),
      confirm: values.yes ?? false,
    },
  };
}

function formatSummary(summary: OpMap): string {
  const entries = Object.entries(summary);
  return entries.length === 0 ? "no resources" : entries.map(([op, n]) => `${op} ${n}`).join(", ");
}

function formatOutputs(o: StackOutputs): string[] {
  const keys = Object.keys(o.values).sort();
  if (keys.length === 0) return ["outputs: (none)"];
  const lines = [`outputs${o.secretsShown ? " (secrets shown)" : ""}:`];
  for (const k of keys) {
    const v = o.values[k];
    lines.push(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  }
  if (o.secrets.length > 0) lines.push(`secret outputs: ${o.secrets.join(", ")}`);
  return lines;
}

/** The human-readable summary printed on stdout. */
export function formatResult(r: DriverResult): string {
  const secs = `${(r.durationMs / 1000).toFixed(1)}s`;
  switch (r.operation) {
    case "preview":
      return [`preview ${r.stack}: ${r.changes} resource change(s) proposed (${formatSummary(r.summary)}) [${secs}]`].join("\n");
    case "up":
    case "refresh":
    case "destroy": {
      const version = r.version !== undefined ? ` (update #${r.version})` : "";
      const lines = [`${r.operation} ${r.stack}: ${r.result}${version}, ${r.changes} resource change(s) (${formatSummary(r.summary)}) [${secs}]`];
      if (r.outputs) lines.push(...formatOutputs(r.outputs));
      return lines.join("\n");
    }
    case "drift":
      return r.drifted
        ? `drift ${r.stack}: DRIFT DETECTED, ${r.changes} resource(s) differ from the state (${formatSummary(r.summary)}) [${secs}]`
        : `drift ${r.stack}: no drift (${formatSummary(r.summary)}) [${secs}]`;
    case "outputs":
      return [`outputs ${r.stack}:`, ...formatOutputs(r.outputs).slice(1)].join("\n");
  }
}

async function execute(a: ParsedArgs, io: CliIO): Promise<DriverResult> {
  const pulumi = await getPulumiCommand(a.pulumiRoot);
  const s = await selectStack({ stackName: a.stack, pulumi, ...(io.workDir ? { workDir: io.workDir } : {}) });
  // Progress from the CLI goes to stderr so stdout holds only the summary (or the JSON).
  const opts: OperationOptions = { ...a.options, onOutput: (text) => io.stderr(text) };
  switch (a.operation) {
    case "preview":
      return preview(s, opts);
    case "up":
      return up(s, opts);
    case "refresh":
      return refresh(s, opts);
    case "destroy":
      return destroy(s, opts);
    case "drift":
      return drift(s, opts);
    case "outputs":
      return outputs(s, opts);
  }
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], partial: Partial<CliIO> = {}): Promise<number> {
  const io: CliIO = {
    stdout: partial.stdout ?? ((t) => process.stdout.write(t)),
    stderr: partial.stderr ?? ((t) => process.stderr.write(t)),
    env: partial.env ?? process.env,
    ...(partial.workDir ? { workDir: partial.workDir } : {}),
  };
  let args: ParsedArgs | "help" | undefined;
  try {
    args = parseCli(argv, io.env);
    if (args === "help") {
      io.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    // Refuse before any pulumi command runs (not even `pulumi version`).
    assertConfirmed(args.operation, args.stack, args.yes);
    const result = await execute(args, io);
    io.stdout(args.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatResult(result)}\n`);
    return result.operation === "drift" && result.drifted ? EXIT_DRIFT : EXIT_OK;
  } catch (err) {
    const e = err instanceof DriverError ? err : new DriverError("command-failed", err instanceof Error ? err.message : String(err));
    io.stderr(`error: ${e.message}\n`);
    if (args !== undefined && args !== "help" && args.json) {
      io.stdout(`${JSON.stringify({ operation: args.operation, stack: args.stack, error: { kind: e.kind, message: e.message } }, null, 2)}\n`);
    }
    return e.exitCode;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
