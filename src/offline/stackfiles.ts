import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

/** A stack that cannot be read: the render reports it as a usage error, without a stack trace. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

export interface StackFiles {
  project: string;
  /** `namespace:key` -> string, exactly as the Pulumi CLI hands config to a program. */
  config: Record<string, string>;
  secretKeys: string[];
}

function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
}

function qualify(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/**
 * Reads Pulumi.yaml (project config defaults) and Pulumi.<stack>.yaml as the CLI would.
 * `secure:` values become placeholder secrets: the offline render never holds a real one.
 */
export function readStackFiles(projectDir: string, stack: string, extraConfig: Record<string, unknown> = {}, stackFilePath?: string): StackFiles {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  const project = YAML.parse(fs.readFileSync(projectFile, "utf8")) as { name: string; config?: Record<string, { default?: unknown; value?: unknown }> };
  const stackFile = stackFilePath ? path.resolve(projectDir, stackFilePath) : path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) throw new StackFileError(`no stack file ${stackFile}; stacks are the Pulumi.<stack>.yaml files next to Pulumi.yaml`);
  const stackDoc = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, spec] of Object.entries(project.config ?? {})) {
    const value = spec?.default ?? spec?.value;
    if (value !== undefined) config[qualify(project.name, key)] = encode(value);
  }
  const apply = (key: string, value: unknown) => {
    const qualified = qualify(project.name, key);
    let secret = false;
    // `secure:` leaves (`pulumi config set --secret [--path]`) become placeholders; the key turns secret.
    const placeholders = (v: unknown, at: string): unknown => {
      if (isSecure(v)) {
        secret = true;
        return `offline-placeholder-${at.replace(/[^A-Za-z0-9]/g, "-")}`;
      }
      if (Array.isArray(v)) return v.map((item, i) => placeholders(item, `${at}-${i}`));
      if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, placeholders(item, `${at}-${k}`)]));
      return v;
    };
    config[qualified] = encode(placeholders(value, key));
    if (secret) secretKeys.push(qualified);
  };
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) apply(key, value);
  for (const [key, value] of Object.entries(extraConfig)) apply(key, value);
  return { project: project.name, config, secretKeys };
}
