/** What a stack file changes in its project's shared definition: for tests that hold a stack to "differs exactly where its file says". */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Raw } from "../../src/config/checker";
import { effectiveConfig, rawConfigOf } from "../../src/config/load";
import { stackFileValues } from "../../src/offline/effective";
import { StackFiles, readStackFiles } from "../../src/offline/stackfiles";

/** Leaves of a value by path: lists of maps are walked by index, other lists are leaves. */
export function leaves(value: unknown, at: string, out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value) && value.every((v) => typeof v === "object" && v !== null)) value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
  else if (typeof value === "object" && value !== null && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) leaves(v, `${at}.${k}`, out);
  else out.set(at, JSON.stringify(value));
  return out;
}

/** A stack's `djangostack:*` values after its overlay, as the program reads them. */
export function effectiveRaw(files: StackFiles): Raw {
  const { raw, secretKeys } = rawConfigOf(files.config, (k) => files.secretKeys.includes(k));
  return effectiveConfig(raw, secretKeys).raw;
}

/** The project's shared definition alone: Pulumi.yaml's values, as a stack whose file sets nothing gets them. */
export function sharedFiles(projectDir: string): StackFiles {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "shared-"));
  try {
    fs.writeFileSync(path.join(empty, "Pulumi.shared.yaml"), "config: {}\n");
    return readStackFiles(projectDir, "shared", {}, path.join(empty, "Pulumi.shared.yaml"));
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Paths of the shared config an overlay removes (`null`, or `$patch: remove` for an app or pool matched by name). */
function removals(overlay: unknown, base: unknown, at: string, out: string[] = []): string[] {
  if (!isMap(overlay)) return out;
  const join = (k: string) => (at === "" ? k : `${at}.${k}`);
  for (const [k, v] of Object.entries(overlay)) {
    const child = isMap(base) ? base[k] : undefined;
    if (Array.isArray(child) && isMap(v)) {
      for (const [name, item] of Object.entries(v)) {
        const i = child.findIndex((c) => isMap(c) && c.name === name);
        if (i < 0) continue;
        if (isMap(item) && item.$patch === "remove") out.push(`${join(k)}[${i}]`);
        else removals(item, child[i], `${join(k)}[${i}]`, out);
      }
    } else if (v === null) out.push(join(k));
    else removals(v, child, join(k), out);
  }
  return out;
}

/**
 * Where a stack's effective config differs from the shared definition (`differing`), and what its
 * stack file says it sets (`said`: the plan's "values from the stack file", plus what its overlay removes).
 */
export function stackDifferences(projectDir: string, stack: string): { differing: string[]; said: Set<string>; files: StackFiles } {
  const files = readStackFiles(projectDir, stack);
  const shared = effectiveRaw(sharedFiles(projectDir));
  const effective = effectiveRaw(files);
  const leafMap = (raw: Raw) => {
    const out = new Map<string, string>();
    for (const [k, v] of Object.entries(raw)) leaves(v, k, out);
    return out;
  };
  const [before, after] = [leafMap(shared), leafMap(effective)];
  const differing = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
  const written = stackFileValues(files).flatMap((line) => /djangostack:(\S+) =/.exec(line)?.[1] ?? []);
  const removed = removals(JSON.parse(files.config["djangostack:overlay"] ?? "{}") as unknown, shared, "");
  const said = new Set([...written, ...differing.filter((k) => removed.some((r) => k === r || k.startsWith(`${r}.`) || k.startsWith(`${r}[`)))]);
  return { differing, said, files };
}
