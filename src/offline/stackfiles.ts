import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { OFFLINE_SECRET_PREFIX } from "../config/checker";

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
  /** `namespace:key` -> the file whose value the CLI hands over (Pulumi.yaml only when the stack file leaves the key out). */
  origins: Record<string, string>;
  /** `file:line:col` of a written key such as `djangostack:overlay.apps.web.replicas` (its deepest existing node). */
  locate(key: string): string | undefined;
  /**
   * The program the CLI runs for this project, from Pulumi.yaml's `main:` as the engine's getPwdMain
   * (pkg/engine/project.go) resolves it: relative to Pulumi.yaml's directory, outside it too
   * (`main: ../..`); a directory is the program's working directory, a file's directory is. The
   * program, its package.json and every relative path it hands a provider (a `build` context) are
   * relative to `dir`; the stack files stay next to Pulumi.yaml.
   */
  program: { dir: string; entry: string };
}

/** What Pulumi.yaml may say about one config key (the CLI's ProjectConfigType, sdk/go/common/workspace/project.go). */
const DECLARATION_KEYS = ["type", "description", "items", "default", "value", "secret"];

/** Top-level keys of a Pulumi.<stack>.yaml the offline render reads or may ignore (the CLI's workspace.ProjectStack). */
const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptedkey", "encryptionsalt"];

/** One parsed YAML file, with what it takes to point at a line and column in it. */
class YamlFile {
  private readonly lines = new YAML.LineCounter();
  readonly doc: YAML.Document.Parsed;

  constructor(readonly file: string) {
    // uniqueKeys (the default) makes a duplicate key an error with its position, as the CLI refuses one.
    this.doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { lineCounter: this.lines, prettyErrors: false });
    const [error] = this.doc.errors;
    if (error) {
      const at = error.linePos?.[0] ?? this.lines.linePos(error.pos[0]);
      throw new StackFileError(`${this.file}:${at.line}:${at.col}: ${error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")} (YAML ${error.code})`);
    }
  }

  /** `file:line:col` of a node (the file itself for a node without a position). */
  where(node: YAML.Node | null | undefined): string {
    if (!node?.range) return this.file;
    const at = this.lines.linePos(node.range[0]);
    return `${this.file}:${at.line}:${at.col}`;
  }

  line(node: YAML.Node): string {
    return String(node.range ? this.lines.linePos(node.range[0]).line : "?");
  }

  fail(node: YAML.Node | null | undefined, message: string): never {
    throw new StackFileError(`${this.where(node)}: ${message}`);
  }

  /** The pairs of a mapping node; null (an empty document or key) is an empty mapping. */
  pairs(node: unknown, what: string): { key: string; keyNode: YAML.Scalar; value: unknown }[] {
    if (node === null || node === undefined || (YAML.isScalar(node) && node.value === null)) return [];
    if (!YAML.isMap(node)) this.fail(YAML.isNode(node) ? node : undefined, `${what} must be a YAML mapping of key: value; got ${describe(node)}`);
    return node.items.map((pair) => {
      if (!YAML.isScalar(pair.key) || typeof pair.key.value !== "string") this.fail(YAML.isNode(pair.key) ? pair.key : undefined, `keys of ${what} must be plain strings`);
      const keyNode = pair.key as YAML.Scalar<string>;
      return { key: keyNode.value, keyNode, value: YAML.isNode(pair.value) ? pair.value.toJS(this.doc) : (pair.value ?? null) };
    });
  }

  /** The node under a top-level key (for positions). */
  node(key: string): YAML.Node | undefined {
    const value: unknown = YAML.isMap(this.doc.contents) ? this.doc.contents.get(key, true) : undefined;
    return YAML.isNode(value) ? value : undefined;
  }
}

/** The value nodes of `config:`, keyed by their qualified key: what `locate` walks. */
type ValueNodes = Map<string, { file: YamlFile; node: unknown }>;

/** The deepest node on `path` (`apps[1].routes[0]`, `overlay.apps.web`) below `node`. */
function walk(node: unknown, path: string): unknown {
  let at = node;
  for (const [, name, index] of path.matchAll(/\.?([^.[\]]+)|\[(\d+)\]/g)) {
    const next: unknown = YAML.isMap(at) ? at.get(name ?? "", true) : YAML.isSeq(at) && index !== undefined ? at.get(Number(index), true) : undefined;
    if (!YAML.isNode(next)) break;
    at = next;
  }
  return at;
}

function describe(node: unknown): string {
  if (YAML.isSeq(node)) return "a list";
  if (YAML.isScalar(node)) return `the scalar ${JSON.stringify(node.value)}`;
  return "something else";
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

/** Config namespaces the program reads besides its own: `pulumi` and each Pulumi package it depends on. */
function providerNamespaces(projectDir: string): string[] {
  const file = path.join(projectDir, "package.json");
  const deps = fs.existsSync(file) ? Object.keys((JSON.parse(fs.readFileSync(file, "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {}) : [];
  return [...new Set(["pulumi", ...deps.filter((d) => d.startsWith("@pulumi/")).map((d) => d.slice("@pulumi/".length))])].sort();
}

/** True when a `secure:` leaf lies anywhere in the value. */
function holdsSecure(value: unknown): boolean {
  if (isSecure(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(holdsSecure);
}

/**
 * Pulumi.yaml: the project name and its config values, read as the CLI reads them
 * (sdk/go/common/workspace/project.go): a scalar or a list is shorthand for `default:`
 * (RewriteShorthandConfigValues); a mapping is always a declaration (project.json allows only
 * type, items, description, secret, default, value), so a structured value goes under `default:`
 * or `value:`, never both (Project.Validate).
 */
function readProject(projectFile: string, nodes: ValueNodes): { name: string; defaults: [string, unknown][]; program: { dir: string; entry: string } } {
  const file = new YamlFile(projectFile);
  const top = file.pairs(file.doc.contents, "Pulumi.yaml");
  const name = top.find((p) => p.key === "name")?.value;
  if (typeof name !== "string" || name === "") return file.fail(file.doc.contents, 'Pulumi.yaml needs a "name:" (the project name)');
  const program = programOf(file, top.find((p) => p.key === "main"));
  const config = top.find((p) => p.key === "config");
  const configNode = file.node("config");
  const defaults = (config ? file.pairs(configNode, "config") : []).map(({ key, keyNode, value }): [string, unknown] => {
    const valueNode: unknown = YAML.isMap(configNode) ? configNode.get(keyNode, true) : undefined;
    if (qualify(name, key) === `${name}:overlay`) file.fail(keyNode, `"${key}" is a stack's overlay: write it in Pulumi.<stack>.yaml; Pulumi.yaml holds what every stack shares`);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      nodes.set(qualify(name, key), { file, node: valueNode });
      return [key, value];
    }
    const spec = value as Record<string, unknown>;
    for (const k of Object.keys(spec)) {
      if (!DECLARATION_KEYS.includes(k)) file.fail(keyNode, `config key "${key}" is a mapping, which the CLI reads as a declaration (${DECLARATION_KEYS.join(", ")}), and "${k}" is none of those: put a structured value under default:`);
    }
    if ("default" in spec && "value" in spec) file.fail(keyNode, `config key "${key}" has both default: and value:; the CLI allows one`);
    const field = "default" in spec ? "default" : "value";
    if (holdsSecure(spec[field])) file.fail(keyNode, `config key "${key}" holds a secure: value; the CLI does not decrypt Pulumi.yaml: set secrets per stack (pulumi config set --secret)`);
    nodes.set(qualify(name, key), { file, node: YAML.isMap(valueNode) ? valueNode.get(field, true) : valueNode });
    return [key, spec[field]];
  });
  return { name, defaults, program };
}

/** Pulumi.yaml's `main:` resolved as the engine's getPwdMain does (the default: the project directory, index.ts). */
function programOf(file: YamlFile, main: { keyNode: YAML.Scalar; value: unknown } | undefined): { dir: string; entry: string } {
  const root = path.dirname(file.file);
  if (main === undefined || main.value === null || main.value === "") return { dir: root, entry: path.join(root, "index.ts") };
  if (typeof main.value !== "string") return file.fail(main.keyNode, `main: must be a path (to the program's directory or file), relative to Pulumi.yaml; got ${JSON.stringify(main.value)}`);
  const at = path.resolve(root, main.value);
  if (!fs.existsSync(at)) return file.fail(main.keyNode, `main: ${main.value} is ${at}, which does not exist; the CLI stops with "project 'main' could not be read"`);
  return fs.statSync(at).isDirectory() ? { dir: at, entry: path.join(at, "index.ts") } : { dir: path.dirname(at), entry: at };
}

/**
 * The `config:` of a stack file, checked as the CLI reads it: a mapping (an empty file or an empty
 * `config:` is the default stack), no unknown top-level key (a misspelt `config:` would otherwise drop
 * every setting), keys in this project's or a provider's namespace, each key once.
 */
function readStackConfig(stackFile: string, project: string, namespaces: string[], nodes: ValueNodes): [string, unknown][] {
  const file = new YamlFile(stackFile);
  const top = file.pairs(file.doc.contents, "a stack file");
  for (const { key, keyNode } of top) {
    if (key === "environment") file.fail(keyNode, "environment: (Pulumi ESC) cannot be opened by the offline render; put the values under config:");
    if (STACK_FILE_KEYS.includes(key)) continue;
    const hint = key.includes(":") ? `config keys such as "${key}" belong under config:` : `did you mean "config"?`;
    file.fail(keyNode, `unknown top-level key "${key}"; a stack file has ${STACK_FILE_KEYS.join(", ")}: ${hint}`);
  }
  const seen = new Map<string, string>();
  return file.pairs(file.node("config"), "config").map(({ key, keyNode, value }): [string, unknown] => {
    const qualified = qualify(project, key);
    const namespace = qualified.slice(0, qualified.indexOf(":"));
    if (namespace !== project && !namespaces.includes(namespace)) {
      file.fail(keyNode, `config key "${key}" is in namespace "${namespace}", which is neither this project's ("${project}:") nor one of its providers' (${namespaces.join(", ")}); write ${project}:${key.slice(key.indexOf(":") + 1)}`);
    }
    const first = seen.get(qualified);
    if (first) file.fail(keyNode, `config key "${key}" sets ${qualified} again (first set at line ${first}); set each key once`);
    seen.set(qualified, file.line(keyNode));
    const configNode = file.node("config");
    nodes.set(qualified, { file, node: YAML.isMap(configNode) ? configNode.get(keyNode, true) : undefined });
    return [key, value];
  });
}

/**
 * Reads Pulumi.yaml (project config defaults) and Pulumi.<stack>.yaml as the CLI would.
 * `secure:` values become placeholder secrets: the offline render never holds a real one.
 */
export function readStackFiles(projectDir: string, stack: string, extraConfig: Record<string, unknown> = {}, stackFilePath?: string): StackFiles {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(projectFile)) {
    throw new StackFileError(fs.existsSync(projectDir) ? `no Pulumi.yaml in ${projectDir}; a project directory holds Pulumi.yaml and its Pulumi.<stack>.yaml files` : `no project directory ${projectDir}`);
  }
  const projectNodes: ValueNodes = new Map();
  const project = readProject(projectFile, projectNodes);
  const stackFile = stackFilePath ? path.resolve(projectDir, stackFilePath) : path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) throw new StackFileError(`no stack file ${stackFile}; stacks are the Pulumi.<stack>.yaml files next to Pulumi.yaml`);
  const stackNodes: ValueNodes = new Map();
  const stackConfig = readStackConfig(stackFile, project.name, providerNamespaces(project.program.dir), stackNodes);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const origins: Record<string, string> = {};
  // The CLI's mergeConfig (pkg/workspace/config.go) sets a project value only when the stack does not
  // set the key: the stack's value replaces it wholesale, structured or not.
  for (const [key, value] of project.defaults) {
    if (value === undefined || value === null) continue;
    config[qualify(project.name, key)] = encode(value);
    origins[qualify(project.name, key)] = projectFile;
  }
  const apply = (key: string, value: unknown) => {
    const qualified = qualify(project.name, key);
    let secret = false;
    // `secure:` leaves at any depth (`pulumi config set --secret [--path]`) become placeholders, and
    // the whole key turns secret: the CLI hands the program no finer record of which leaf was secure.
    const placeholders = (v: unknown, at: string): unknown => {
      if (isSecure(v)) {
        secret = true;
        return `${OFFLINE_SECRET_PREFIX}${at.replace(/[^A-Za-z0-9]/g, "-")}`;
      }
      if (Array.isArray(v)) return v.map((item, i) => placeholders(item, `${at}-${i}`));
      if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, placeholders(item, `${at}-${k}`)]));
      return v;
    };
    config[qualified] = encode(placeholders(value, key));
    if (secret && !secretKeys.includes(qualified)) secretKeys.push(qualified);
  };
  for (const [key, value] of stackConfig) {
    apply(key, value);
    origins[qualify(project.name, key)] = stackFile;
  }
  for (const [key, value] of Object.entries(extraConfig)) {
    apply(key, value);
    origins[qualify(project.name, key)] = "extra config";
  }
  const locate = (key: string): string | undefined => {
    const top = /^[^.[]+/.exec(key.slice(key.indexOf(":") + 1))?.[0] ?? "";
    const qualified = `${key.slice(0, key.indexOf(":"))}:${top}`;
    const at = origins[qualified] === stackFile ? stackNodes.get(qualified) : origins[qualified] === projectFile ? projectNodes.get(qualified) : undefined;
    if (!at) return undefined;
    const node = walk(at.node, key.slice(qualified.length));
    return at.file.where(YAML.isNode(node) ? node : undefined);
  };
  return { project: project.name, config, secretKeys, origins, locate, program: project.program };
}
