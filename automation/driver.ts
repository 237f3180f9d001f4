/**
 * Automation API driver used by CI: typed operations over one selected stack of this project.
 *
 * Every function takes a stack selected with {@link selectStack} (LocalWorkspace over the repo root,
 * with an injected PulumiCommand) and returns a small typed result: operation, stack, change counts
 * from the engine, duration, and masked outputs where relevant. Failures are thrown as
 * {@link DriverError}, whose message is safe to print (no stdout of the CLI, no secret values).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  CommandError,
  ConcurrentUpdateError,
  EngineEvent,
  LocalWorkspace,
  OpMap,
  OpType,
  OutputMap,
  PulumiCommand,
  Stack,
  StackNotFoundError,
  UpdateResult,
  UpdateSummary,
} from "@pulumi/pulumi/automation";

const execFileAsync = promisify(execFile);

/** The repository root: Pulumi.yaml and Pulumi.<stack>.yaml live here. */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** Stacks on which `up` needs an explicit confirmation. `destroy` always needs one. */
export const PROTECTED_STACKS: readonly string[] = ["production"];

export const OPERATIONS = ["preview", "up", "refresh", "destroy", "drift", "outputs"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The string the CLI prints in place of a secret value. */
export const SECRET_MASK = "[secret]";

/** Ops in a change summary that are not changes (as the engine's HasChanges counts them). */
const NON_CHANGES: ReadonlySet<OpType> = new Set<OpType>(["same", "read", "read-replacement", "discard", "discard-replaced", "refresh"]);

// ---------------------------------------------------------------------------------------------
// Results

/** Stack outputs as the driver reports them. */
export interface StackOutputs {
  /** Output values; secret values (top-level or nested) are "[secret]" unless `secretsShown`. */
  values: Record<string, unknown>;
  /** Paths of secret values, e.g. `kubeconfig`, `apps.web.databaseUrl`. */
  secrets: string[];
  secretsShown: boolean;
}

interface ResultBase {
  stack: string;
  /** Resource counts by operation, from the engine (summary event or update history). */
  summary: OpMap;
  /** Number of resources that change (every op except same/read/refresh). */
  changes: number;
  durationMs: number;
}

export interface PreviewOperationResult extends ResultBase {
  operation: "preview";
}

export interface UpdateOperationResult extends ResultBase {
  operation: "up" | "refresh" | "destroy";
  /** Result recorded in the stack's update history ("unknown" if the backend returned none). */
  result: UpdateResult | "unknown";
  /** Update version in the stack's history, when known. */
  version?: number;
  /** Stack outputs after `up`. */
  outputs?: StackOutputs;
}

export interface DriftResult extends ResultBase {
  operation: "drift";
  drifted: boolean;
}

export interface OutputsResult {
  operation: "outputs";
  stack: string;
  durationMs: number;
  outputs: StackOutputs;
}

export type DriverResult = PreviewOperationResult | UpdateOperationResult | DriftResult | OutputsResult;

// ---------------------------------------------------------------------------------------------
// Errors

export type FailureKind = "usage" | "refused" | "cli-unavailable" | "stack-not-found" | "concurrent-update" | "command-failed";

/** A failure with a printable message (never CLI stdout or secret values) and the exit code to use. */
export class DriverError extends Error {
  readonly kind: FailureKind;
  readonly exitCode: number;
  constructor(kind: FailureKind, message: string) {
    super(message);
    this.name = "DriverError";
    this.kind = kind;
    this.exitCode = kind === "usage" || kind === "refused" ? 2 : 1;
  }
}

/** Stacks whose short name (last segment of org/project/stack) is protected. */
export function isProtectedStack(stackName: string): boolean {
  const short = stackName.split("/").pop() ?? stackName;
  return PROTECTED_STACKS.includes(short);
}

/**
 * Refuses destructive operations that were not confirmed: `destroy` on any stack and `up` on a
 * protected stack. Called by the CLI before it runs any `pulumi` command, and again by the driver.
 */
export function assertConfirmed(operation: Operation, stackName: string, confirmed: boolean | undefined): void {
  if (confirmed) return;
  if (operation === "destroy") {
    throw new DriverError("refused", `refusing to destroy stack "${stackName}" without confirmation: pass --yes`);
  }
  if (operation === "up" && isProtectedStack(stackName)) {
    throw new DriverError("refused", `refusing to run up on protected stack "${stackName}" without confirmation: pass --yes`);
  }
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

/** What a CommandError holds at run time (the SDK declares it private): the CLI's result and execa's error. */
interface CommandErrorInternals {
  commandResult?: { code?: unknown; stderr?: unknown; err?: { exitCode?: unknown; stderr?: unknown } };
}

/**
 * Exit code and stderr of a failed CLI command. The SDK wraps a non-zero exit as code -2 with execa's
 * message (command line, stderr and stdout) as "stderr"; the real exit code and stderr are on the
 * execa error it keeps. Falls back to parsing the message if that shape ever changes.
 */
export function commandFailure(err: CommandError): { code: number | undefined; stderr: string } {
  const result = (err as unknown as CommandErrorInternals).commandResult;
  const inner = result?.err;
  if (inner && typeof inner.exitCode === "number" && typeof inner.stderr === "string") {
    return { code: inner.exitCode, stderr: inner.stderr.replace(ANSI, "").trim() };
  }
  if (result && typeof result.code === "number" && result.code !== -2 && typeof result.stderr === "string") {
    return { code: result.code, stderr: result.stderr.replace(ANSI, "").trim() };
  }
  const text = err.message;
  const exited = /Command failed with exit code (\d+)/.exec(text) ?? /^code: (-?\d+)/.exec(text);
  const errAt = text.lastIndexOf("\n err?: ");
  const stderrAt = text.lastIndexOf("\n stderr: ", errAt >= 0 ? errAt : undefined);
  const stderr = stderrAt >= 0 ? text.slice(stderrAt + "\n stderr: ".length, errAt >= 0 ? errAt : undefined) : "";
  return { code: exited ? Number(exited[1]) : undefined, stderr: stderr.replace(ANSI, "").trim() };
}

function tail(text: string, lines = 15): string {
  const all = text.split("\n").filter((l) => l.trim() !== "");
  return all.slice(-lines).join("\n");
}

const NOT_FOUND = /no stack named.*found/;
const CONFLICT = ["[409] Conflict: Another update is currently in progress.", "the stack is currently locked by"];

function classify(stderr: string): "stack-not-found" | "concurrent-update" | undefined {
  if (NOT_FOUND.test(stderr)) return "stack-not-found";
  if (CONFLICT.some((t) => stderr.includes(t))) return "concurrent-update";
  return undefined;
}

function failureMessage(kind: FailureKind, operation: string, stack: string, code: number | undefined, stderr: string, diagnostics: string[]): string {
  switch (kind) {
    case "stack-not-found":
      return `stack "${stack}" does not exist in the current backend (check PULUMI_BACKEND_URL / PULUMI_ACCESS_TOKEN, or create it with \`pulumi stack init ${stack}\`)`;
    case "concurrent-update":
      return (
        `${operation} on stack "${stack}" failed: another update is in progress (the stack is locked). ` +
        `Wait for it and retry; if that update died, \`pulumi cancel --stack ${stack}\` releases the lock.`
      );
    default: {
      const details = [...diagnostics, tail(stderr)].filter((d) => d !== "").join("\n");
      return `pulumi ${operation} on stack "${stack}" failed (exit ${code ?? "unknown"})${details ? `:\n${details}` : ""}`;
    }
  }
}

/** Maps anything thrown by the Automation API to a DriverError with a clear message. */
export function toDriverError(err: unknown, operation: Operation | "stack select", stack: string, diagnostics: string[] = []): DriverError {
  if (err instanceof DriverError) return err;
  if (err instanceof CommandError) {
    const { code, stderr } = commandFailure(err);
    const kind: FailureKind =
      err instanceof ConcurrentUpdateError ? "concurrent-update" : err instanceof StackNotFoundError ? "stack-not-found" : (classify(stderr) ?? "command-failed");
    return new DriverError(kind, failureMessage(kind, operation, stack, code, stderr, diagnostics));
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DriverError("command-failed", `${operation} on stack "${stack}" failed: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// CLI and stack selection

/**
 * The Pulumi CLI to drive: `<root>/bin/pulumi` when a root is given, else `pulumi` on PATH.
 * The version check of the Automation API applies (PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK opts out).
 */
export async function getPulumiCommand(root?: string): Promise<PulumiCommand> {
  try {
    return await PulumiCommand.get(root ? { root } : undefined);
  } catch (err) {
    const where = root ? path.join(path.resolve(root), "bin", "pulumi") : "pulumi on PATH";
    const reason = err instanceof CommandError ? commandFailure(err).stderr : err instanceof Error ? err.message : String(err);
    throw new DriverError("cli-unavailable", `cannot run the Pulumi CLI (${where}): ${tail(reason, 3)}. Install it, or pass --pulumi-root DIR / set PULUMI_ROOT.`);
  }
}

export interface SelectStackOptions {
  stackName: string;
  pulumi: PulumiCommand;
  /** Project directory; defaults to the repo root. */
  workDir?: string;
  envVars?: Record<string, string>;
}

export interface SelectedStack {
  stack: Stack;
  name: string;
  workDir: string;
  pulumi: PulumiCommand;
  envVars: Record<string, string>;
}

/**
 * Selects an existing stack (`pulumi stack select`). It does not create one: in CI a typo in the
 * stack name must fail, not create an empty stack that `up` would then fill from scratch.
 */
export async function selectStack(opts: SelectStackOptions): Promise<SelectedStack> {
  const workDir = opts.workDir ?? REPO_ROOT;
  const envVars = { ...(opts.envVars ?? {}) };
  try {
    const stack = await LocalWorkspace.selectStack({ stackName: opts.stackName, workDir }, { pulumiCommand: opts.pulumi, envVars });
    return { stack, name: opts.stackName, workDir, pulumi: opts.pulumi, envVars };
  } catch (err) {
    throw toDriverError(err, "stack select", opts.stackName);
  }
}

// ---------------------------------------------------------------------------------------------
// Operations

export interface OperationOptions {
  message?: string;
  parallel?: number;
  diff?: boolean;
  /** Report secret output values in plain text (outputs, up). Default: masked. */
  showSecrets?: boolean;
  /** Explicit confirmation (`--yes`): required by destroy, and by up on protected stacks. */
  confirm?: boolean;
  /** CrossGuard packs to enforce (preview, up): directories such as "policy" (relative to the repo root). */
  policyPacks?: string[];
  /** Progress text the CLI prints while it runs. */
  onOutput?: (text: string) => void;
}

/** Collects the summary event and error diagnostics from the engine event stream. */
class EventCollector {
  summary: OpMap | undefined;
  readonly errors: string[] = [];
  readonly onEvent = (event: EngineEvent): void => {
    if (event.summaryEvent) this.summary = event.summaryEvent.resourceChanges ?? {};
    const d = event.diagnosticEvent;
    if (d && d.severity === "error" && !d.ephemeral) {
      const text = d.message.replace(ANSI, "").trim();
      if (text !== "") this.errors.push(d.urn ? `${d.urn}: ${text}` : text);
    }
  };
}

export function countChanges(summary: OpMap): number {
  let n = 0;
  for (const [op, count] of Object.entries(summary) as [OpType, number | undefined][]) {
    if (!NON_CHANGES.has(op)) n += count ?? 0;
  }
  return n;
}

function cleanSummary(summary: OpMap | undefined): OpMap {
  const out: OpMap = {};
  for (const [op, count] of Object.entries(summary ?? {}) as [OpType, number | undefined][]) {
    if (typeof count === "number" && count > 0) out[op] = count;
  }
  return out;
}

async function run<T>(operation: Operation, s: SelectedStack, events: EventCollector, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toDriverError(err, operation, s.name, events.errors);
  }
}

function common(o: OperationOptions): { message?: string; parallel?: number; onOutput?: (text: string) => void } {
  return { message: o.message, parallel: o.parallel, onOutput: o.onOutput };
}

/** The packs as absolute paths: the CLI runs in the project directory, the caller may not. */
function policy(o: OperationOptions): { policyPacks?: string[] } {
  return o.policyPacks && o.policyPacks.length > 0 ? { policyPacks: o.policyPacks.map((p) => path.resolve(REPO_ROOT, p)) } : {};
}

function updateResult(operation: "up" | "refresh" | "destroy", s: SelectedStack, history: UpdateSummary | undefined, events: EventCollector, started: number): UpdateOperationResult {
  const summary = cleanSummary(history?.resourceChanges ?? events.summary);
  return {
    operation,
    stack: s.name,
    result: history?.result ?? "unknown",
    ...(history?.version !== undefined ? { version: history.version } : {}),
    summary,
    changes: countChanges(summary),
    durationMs: Date.now() - started,
  };
}

/** `pulumi preview`: what `up` would change. */
export async function preview(s: SelectedStack, o: OperationOptions = {}): Promise<PreviewOperationResult> {
  const events = new EventCollector();
  const started = Date.now();
  const r = await run("preview", s, events, () => s.stack.preview({ ...common(o), diff: o.diff, ...policy(o), onEvent: events.onEvent }));
  const summary = cleanSummary(r.changeSummary);
  return { operation: "preview", stack: s.name, summary, changes: countChanges(summary), durationMs: Date.now() - started };
}

/** `pulumi up --yes --skip-preview`; refuses protected stacks unless `confirm`. */
export async function up(s: SelectedStack, o: OperationOptions = {}): Promise<UpdateOperationResult> {
  assertConfirmed("up", s.name, o.confirm);
  const events = new EventCollector();
  const started = Date.now();
  // showSecrets: false keeps the history call that builds the summary from decrypting config.
  const r = await run("up", s, events, () => s.stack.up({ ...common(o), diff: o.diff, showSecrets: false, ...policy(o), onEvent: events.onEvent }));
  const outputs = await collectOutputs(s, o.showSecrets ?? false, r.outputs);
  return { ...updateResult("up", s, r.summary as UpdateSummary | undefined, events, started), outputs, durationMs: Date.now() - started };
}

/** `pulumi refresh --yes --skip-preview`: writes the cloud's actual state into the stack state. */
export async function refresh(s: SelectedStack, o: OperationOptions = {}): Promise<UpdateOperationResult> {
  const events = new EventCollector();
  const started = Date.now();
  const r = await run("refresh", s, events, () => s.stack.refresh({ ...common(o), showSecrets: false, onEvent: events.onEvent }));
  return updateResult("refresh", s, r.summary as UpdateSummary | undefined, events, started);
}

/** `pulumi destroy --yes --skip-preview`; always needs `confirm`. */
export async function destroy(s: SelectedStack, o: OperationOptions = {}): Promise<UpdateOperationResult> {
  assertConfirmed("destroy", s.name, o.confirm);
  const events = new EventCollector();
  const started = Date.now();
  const r = await run("destroy", s, events, () => s.stack.destroy({ ...common(o), diff: o.diff, showSecrets: false, onEvent: events.onEvent }));
  return updateResult("destroy", s, r.summary as UpdateSummary | undefined, events, started);
}

const NO_CHANGES_EXPECTED = /no changes were expected.*but changes (were proposed|occurred)/;
/** Exit code of the CLI (3.226.1 and later) for "no changes expectation not met". */
const EXIT_NO_CHANGES_EXPECTED = 7;

/**
 * Drift: `pulumi refresh --preview-only --expect-no-changes` (Stack.previewRefresh). It reads every
 * resource from the cloud and compares with the state, writing nothing. The CLI fails when it finds
 * changes; that failure is the drift signal, and the counts come from the engine's summary event.
 */
export async function drift(s: SelectedStack, o: OperationOptions = {}): Promise<DriftResult> {
  const events = new EventCollector();
  const started = Date.now();
  let summary: OpMap;
  let expectationFailed = false;
  try {
    const r = await s.stack.previewRefresh({ parallel: o.parallel, onOutput: o.onOutput, expectNoChanges: true, onEvent: events.onEvent });
    summary = cleanSummary(r.changeSummary);
  } catch (err) {
    if (!(err instanceof CommandError) || err instanceof ConcurrentUpdateError || err instanceof StackNotFoundError) {
      throw toDriverError(err, "drift", s.name, events.errors);
    }
    const { code, stderr } = commandFailure(err);
    if (!NO_CHANGES_EXPECTED.test(stderr) && !(code === EXIT_NO_CHANGES_EXPECTED && events.summary)) {
      throw toDriverError(err, "drift", s.name, events.errors);
    }
    expectationFailed = true;
    summary = cleanSummary(events.summary);
  }
  const changes = countChanges(summary);
  return { operation: "drift", stack: s.name, drifted: expectationFailed || changes > 0, summary, changes, durationMs: Date.now() - started };
}

/** The stack's outputs; secrets masked unless `showSecrets`. */
export async function outputs(s: SelectedStack, o: OperationOptions = {}): Promise<OutputsResult> {
  const started = Date.now();
  const events = new EventCollector();
  const plain = o.showSecrets ? await run("outputs", s, events, () => s.stack.outputs()) : undefined;
  const result = await collectOutputs(s, o.showSecrets ?? false, plain);
  return { operation: "outputs", stack: s.name, durationMs: Date.now() - started, outputs: result };
}

// ---------------------------------------------------------------------------------------------
// Outputs and masking

/**
 * `pulumi stack output --json` as the CLI masks it: every secret, nested ones included, is "[secret]".
 * Stack.outputs() cannot be used for masking alone: it fetches plain text, and it marks an output
 * secret only when the whole value is secret, so an object output with a secret member (the v1
 * `apps.<name>.databaseUrl`) comes back as `secret: false` with the connection string inside.
 */
export async function fetchMaskedOutputs(s: SelectedStack): Promise<Record<string, unknown>> {
  const command = s.pulumi.command;
  const env: NodeJS.ProcessEnv = { ...process.env, ...s.envVars, PULUMI_AUTOMATION_API: "true" };
  if (path.isAbsolute(command)) env.PATH = `${path.dirname(command)}${path.delimiter}${env.PATH ?? ""}`;
  const args = ["stack", "output", "--json", "--stack", s.name, "--non-interactive"];
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(command, args, { cwd: s.workDir, env, maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    const e = err as { code?: unknown; stderr?: unknown; message?: string };
    const stderr = (typeof e.stderr === "string" ? e.stderr : (e.message ?? "")).replace(ANSI, "").trim();
    const kind = classify(stderr) ?? "command-failed";
    throw new DriverError(kind, failureMessage(kind, "outputs", s.name, typeof e.code === "number" ? e.code : undefined, stderr, []));
  }
  const parsed: unknown = JSON.parse(stdout.trim() === "" ? "{}" : stdout);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new DriverError("command-failed", `pulumi stack output on stack "${s.name}" did not return a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Paths of "[secret]" values in a CLI-masked output tree. */
export function secretPaths(masked: unknown, prefix = ""): string[] {
  if (masked === SECRET_MASK) return [prefix];
  const join = (k: string | number): string => (typeof k === "number" ? `${prefix}[${k}]` : prefix === "" ? k : `${prefix}.${k}`);
  if (Array.isArray(masked)) return masked.flatMap((v, i) => secretPaths(v, join(i)));
  if (isObject(masked)) return Object.entries(masked).flatMap(([k, v]) => secretPaths(v, join(k)));
  return [];
}

/** Replaces every secret value with "[secret]": the CLI's masking plus the SDK's top-level flags. */
export function maskOutputs(masked: Record<string, unknown>, flags?: OutputMap): Record<string, unknown> {
  const out: Record<string, unknown> = { ...masked };
  for (const [key, v] of Object.entries(flags ?? {})) {
    if (v.secret) out[key] = SECRET_MASK;
    else if (!(key in out)) out[key] = SECRET_MASK; // unknown to the masked view: never print it
  }
  return out;
}

async function collectOutputs(s: SelectedStack, showSecrets: boolean, plain: OutputMap | undefined): Promise<StackOutputs> {
  const masked = maskOutputs(await fetchMaskedOutputs(s), plain);
  const secrets = [...new Set([...secretPaths(masked), ...Object.entries(plain ?? {}).filter(([, v]) => v.secret).map(([k]) => k)])].sort();
  if (showSecrets && plain) {
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(plain)) values[k] = v.value as unknown;
    return { values, secrets, secretsShown: true };
  }
  return { values: masked, secrets, secretsShown: false };
}
