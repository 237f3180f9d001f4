/**
 * What a stack deploys once its overlay is applied, for people: `effective-config.yaml` (and
 * `--print-config`), the plan's list of values that came from the stack file, and config errors
 * pointed at the file, line and column where the user wrote the key.
 */
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError, SECRET_SHOWN, isPlainObject, show } from "../config/checker";
import { effectiveConfig, rawConfigOf } from "../config/load";
import { EffectiveConfig, writtenAt } from "../config/overlay";
import { NAMESPACE, SECRET_CONFIG_KEYS } from "../config/schema";
import { StackFiles } from "./stackfiles";

function effectiveOf(files: StackFiles): EffectiveConfig {
  const { raw, secretKeys } = rawConfigOf(files.config, (k) => files.secretKeys.includes(k));
  return effectiveConfig(raw, secretKeys);
}

function isSecretKey(effective: EffectiveConfig, key: string): boolean {
  return effective.secretKeys.includes(key) || (SECRET_CONFIG_KEYS as readonly string[]).includes(key);
}

/** Every leaf keeps its place; its value becomes "[secret]". */
function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]));
  return SECRET_SHOWN;
}

/** effective-config.yaml: the stack's `djangostack:*` values after the overlay, in stack-file form. */
export function effectiveConfigYaml(files: StackFiles, stack: string): string {
  const effective = effectiveOf(files);
  const config = Object.fromEntries(Object.entries(effective.raw).map(([k, v]) => [`${NAMESPACE}:${k}`, isSecretKey(effective, k) ? masked(v) : v]));
  const header = [
    `# Effective config of stack "${stack}": Pulumi.yaml's values, the stack file's (each replaces the key`,
    `# whole, as the Pulumi CLI merges them), then its ${NAMESPACE}:overlay. Secrets show as ${SECRET_SHOWN};`,
    "# keys left out take the program's defaults (docs/configuration.md).",
  ];
  return `${header.join("\n")}\n${YAML.stringify({ config }, { lineWidth: 0 })}`;
}

/** Leaves of a value with their checker-style paths; lists of maps (apps, pools) are walked, other lists are leaves. */
function leaves(value: unknown, at: string): [string, unknown][] {
  if (isPlainObject(value) && Object.keys(value).length > 0) return Object.entries(value).flatMap(([k, v]) => leaves(v, `${at}.${k}`));
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject)) return value.flatMap((v, i) => leaves(v, `${at}[${i}]`));
  return [[at, value]];
}

/** plan.txt's section: each effective value the stack file set, with the key and position it was written at. */
export function stackFileValues(files: StackFiles): string[] {
  const effective = effectiveOf(files);
  const lines: string[] = [];
  for (const [key, value] of Object.entries(effective.raw)) {
    for (const [at, leaf] of leaves(value, key)) {
      const written = writtenAt(effective.written, at);
      const file = written.from === "overlay" ? files.origins[`${NAMESPACE}:overlay`] : files.origins[`${NAMESPACE}:${key}`];
      if (file === undefined || path.basename(file) === "Pulumi.yaml") continue;
      const where = files.locate(`${NAMESPACE}:${written.key}`) ?? file;
      const shown = isSecretKey(effective, key) ? SECRET_SHOWN : show(leaf);
      lines.push(`  ${NAMESPACE}:${at} = ${shown}${written.key === at ? "" : `  <- ${NAMESPACE}:${written.key}`}  (${path.relative(process.cwd(), where) || where})`);
    }
  }
  return lines;
}

/** A ConfigError whose problems start with the file:line:col of the key they name, where it was written. */
export function locateProblems(error: unknown, files: StackFiles): unknown {
  if (!(error instanceof ConfigError)) return error;
  return new ConfigError(
    error.problems.map((problem) => {
      const key = /^(\S+?): /.exec(problem)?.[1];
      const where = key?.startsWith(`${NAMESPACE}:`) ? files.locate(key) : undefined;
      return where ? `${path.relative(process.cwd(), where) || where}: ${problem}` : problem;
    }),
  );
}
