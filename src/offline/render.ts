import * as fs from "node:fs";
import * as path from "node:path";
import { recordedArtifacts, resetArtifacts } from "../artifacts";
import { OfflineRun, RecordedResource, resolveOutputs, runOffline } from "./engine";
import { maskSecrets } from "./secret";
import { readStackFiles } from "./stackfiles";
import { effectiveConfigYaml, locateProblems, stackFileValues } from "./effective";
import { kubernetesManifests } from "./manifests";
import { decodeConfigValue } from "../config/load";
import { NAMESPACE, parseConfig } from "../config/schema";
import { StackConfig } from "../config/types";
import { stackWarnings } from "../config/capacity";
import { buildModel } from "../model/build";
import { estimateCost, formatCost } from "../model/cost";
import { withOverrides } from "../config/prices";

export interface EvaluateOptions {
  stack: string;
  /**
   * Directory holding Pulumi.yaml and its stack files (default: the repository root), e.g. one of
   * examples/. The program is the one its `main:` names (examples/<name>/ say `main: ../..`: this
   * repository's index.ts), as the CLI runs it.
   */
  projectDir?: string;
  /** Extra `key: value` config (keys without namespace go to the project's), as `pulumi config set` would add. */
  extraConfig?: Record<string, unknown>;
  /** Read the stack's config from this file instead of `Pulumi.<stack>.yaml` (e.g. one of examples/). */
  stackFile?: string;
  /** What other stacks export (their outputs.json), by stack name, for the program's StackReferences. */
  stackOutputs?: Record<string, Record<string, unknown>>;
}

export interface Evaluation extends OfflineRun {
  project: string;
  artifacts: { path: string; content: string }[];
  /** The validated config the program ran with, parsed again from the same stack files. */
  config: StackConfig;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Evaluates the real index.ts for a stack under the offline engine. */
export async function evaluateStack(options: EvaluateOptions): Promise<Evaluation> {
  const projectDir = options.projectDir ?? REPO_ROOT;
  const files = readStackFiles(projectDir, options.stack, options.extraConfig, options.stackFile);
  const entry = require.resolve(files.program.entry);
  resetArtifacts();
  const run = await runOffline({
    project: files.project,
    stack: options.stack,
    config: files.config,
    secretKeys: files.secretKeys,
    stackOutputs: options.stackOutputs,
    program: () => {
      // index.ts runs afresh on each evaluation, exactly as `pulumi up` loads the program; the modules
      // it imports stay loaded so the artifact registry read below is the one the program wrote to.
      delete require.cache[entry];
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program is loaded by path, as the language host does
      return require(entry) as Record<string, unknown>;
    },
  }).catch((error: unknown) => {
    // A config problem names the key where the user wrote it; add that key's file:line:col.
    throw locateProblems(error, files);
  });
  const artifacts = await Promise.all(
    recordedArtifacts().map(async (a) => ({ path: a.path, content: String(await resolveOutputs(a.content)) })),
  );
  return { ...run, project: files.project, artifacts, config: parseStackConfig(files.project, options.stack, files.config, files.secretKeys) };
}

/** A stack's validated config straight from its stack files, without running the program (throws ConfigError as the program would). */
export function readStackConfig(options: EvaluateOptions): StackConfig {
  const files = readStackFiles(options.projectDir ?? REPO_ROOT, options.stack, options.extraConfig, options.stackFile);
  return parseStackConfig(files.project, options.stack, files.config, files.secretKeys);
}

/** The program's own parse of `djangostack:*`, as src/config/load.ts does it from the engine's config. */
function parseStackConfig(project: string, stack: string, config: Record<string, string>, secretKeys: string[]): StackConfig {
  const prefix = `${NAMESPACE}:`;
  const raw = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), decodeConfigValue(v)]));
  return parseConfig(raw, { project, stack }, secretKeys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
}

const STACK_TYPE = "pulumi:pulumi:Stack";

/** A resource's parent as the engine records it: one registered without a parent belongs to the Stack. */
function parentsOf(resources: RecordedResource[]): Map<string, string | undefined> {
  const stack = resources.find((r) => r.type === STACK_TYPE)?.name;
  return new Map(resources.map((r) => [r.name, r.type === STACK_TYPE ? undefined : (r.parent ?? stack)]));
}

function treeLines(resources: RecordedResource[]): string[] {
  const parents = parentsOf(resources);
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of resources) children.set(parents.get(r.name), [...(children.get(parents.get(r.name)) ?? []), r]);
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}+ ${r.type}  ${r.name}`);
      if (r.name !== parent) walk(r.name, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

function mermaid(resources: RecordedResource[]): string {
  const ids = new Map(resources.map((r, i) => [r.name, `n${i}`]));
  const lines = ["graph TD"];
  resources.forEach((r, i) => lines.push(`  n${i}["${r.name}<br/><small>${r.type}</small>"]`));
  const parents = parentsOf(resources);
  for (const r of resources) {
    const parent = parents.get(r.name);
    if (parent && ids.has(parent)) lines.push(`  ${ids.get(parent)} --> ${ids.get(r.name)}`);
  }
  return `${lines.join("\n")}\n`;
}

export interface RenderSummary {
  dir: string;
  resources: number;
  artifacts: number;
  /** Printed by the CLI and written to plan.txt. */
  warnings: string[];
}

/** plan.txt: the resource tree, the monthly cost and every warning. */
export function planText(evaluation: Evaluation, warnings: string[]): string {
  const { config } = evaluation;
  const cost = formatCost(estimateCost(config, buildModel(config), withOverrides(config.prices)));
  const warned = warnings.length > 0 ? warnings.map((w) => `  ! ${w}`) : ["  none"];
  return `${[...treeLines(evaluation.engine.resources), "", "estimated monthly cost:", ...cost, "", "warnings:", ...warned].join("\n")}\n`;
}

function impactOptions(o: RecordedResource["options"]): Partial<RecordedResource["options"]> {
  const { protect, deleteBeforeReplace, retainOnDelete, ignoreChanges, replaceOnChanges } = o;
  return Object.fromEntries(Object.entries({ protect, deleteBeforeReplace, retainOnDelete, ignoreChanges, replaceOnChanges }).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
}

/** Writes resources.json, plan.txt, graph.mmd, outputs.json and artifacts/ for one stack. */
export async function renderStack(options: EvaluateOptions & { outDir: string }): Promise<RenderSummary> {
  const dir = path.join(options.outDir, options.stack);
  // Gone before the evaluation: a failed render leaves no earlier output that looks current.
  fs.rmSync(dir, { recursive: true, force: true });
  const evaluation = await evaluateStack(options);
  fs.mkdirSync(path.join(dir, "artifacts"), { recursive: true });
  // Options feed `--compare` (protect, delete-first, ignored and replace-forcing fields); empty ones are left out.
  const resources = evaluation.engine.resources.map((r) => ({ type: r.type, name: r.name, parent: r.parent ?? null, inputs: maskSecrets(r.inputs), options: impactOptions(r.options) }));
  fs.writeFileSync(path.join(dir, "resources.json"), `${JSON.stringify(resources, null, 2)}\n`);
  const warnings = stackWarnings(evaluation.config);
  fs.writeFileSync(path.join(dir, "plan.txt"), planText(evaluation, warnings));
  const files = readStackFiles(options.projectDir ?? REPO_ROOT, options.stack, options.extraConfig, options.stackFile);
  fs.writeFileSync(path.join(dir, "effective-config.yaml"), effectiveConfigYaml(files, options.stack));
  fs.appendFileSync(path.join(dir, "plan.txt"), `\nvalues from the stack file (the rest are Pulumi.yaml's or defaults):\n${stackFileValues(files).join("\n") || "  none"}\n`);
  fs.writeFileSync(path.join(dir, "graph.mmd"), mermaid(evaluation.engine.resources));
  fs.writeFileSync(path.join(dir, "outputs.json"), `${JSON.stringify(await resolveOutputs(evaluation.exports), null, 2)}\n`);
  const artifacts = [...evaluation.artifacts, ...kubernetesManifests(evaluation.engine.resources)];
  for (const a of artifacts) {
    const file = path.join(dir, "artifacts", a.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, a.content);
  }
  return { dir, resources: resources.length, artifacts: artifacts.length, warnings };
}
