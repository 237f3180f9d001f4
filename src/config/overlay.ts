/**
 * Per-stack overlays: `djangostack:overlay` in Pulumi.<stack>.yaml changes the system defined once in
 * Pulumi.yaml. The CLI cannot do this itself: it applies a project value only when the stack does not
 * set the key at all (pkg/workspace/config.go, mergeConfig: `if !foundOnStack && (hasValue ||
 * hasDefault)`), so a stack's `djangostack:apps` replaces the project's apps wholesale. The overlay is
 * a separate key, so the CLI hands the program both values and the merge below happens in the program.
 * See docs/configuration-overlays.md.
 *
 * Rules: maps merge deeply and `null` removes a key (JSON merge patch, RFC 7386, which the CLI itself
 * uses for ESC environments); apps and worker pools are maps keyed by name, `$patch: add` and
 * `$patch: remove` add or remove one; every other list replaces.
 */
import { ConfigError, Raw, SECRET_SHOWN, isPlainObject, show } from "./checker";

export const OVERLAY_KEY = "overlay";
export const PATCH = "$patch";
const PATCH_OPS = ["add", "remove"] as const;
/** Keys set directly in the stack file: one value each, nothing to merge. */
const SCALAR_KEYS = ["target", "region", "domain"];

/** Where a value of the effective config was written: a base key (possibly at another index) or the overlay. */
export interface Written {
  from: "base" | "overlay";
  /** The key as the user wrote it, without namespace: `apps[1].routes` or `overlay.apps.web.replicas`. */
  key: string;
}

export interface Overlaid {
  /** The config the program validates and deploys: the base values with the overlay applied, no overlay key. */
  raw: Raw;
  /** Every place in `raw` that came wholesale from one written key; deeper paths inherit with their suffix. */
  written: Map<string, Written>;
  /** Problems with the overlay itself, as `key: got value; allowed` lines (without namespace). */
  problems: string[];
}

type Named = { name: string; item: unknown; at: string };

class Merger {
  readonly written = new Map<string, Written>();
  readonly problems: string[] = [];

  /** `secret`: the overlay arrived under a secret key, so no value of it appears in a message. */
  constructor(private readonly secret: boolean) {}

  fail(key: string, value: unknown, allowed: string): void {
    this.problems.push(`${key}: got ${this.secret ? SECRET_SHOWN : show(value)}; ${allowed}`);
  }

  /** Records `eff` as coming from `key` and returns the value untouched. */
  take<T>(eff: string, from: Written["from"], key: string, value: T): T {
    this.written.set(eff, { from, key });
    return value;
  }

  /** Deep merge of plain maps; lists and scalars in the patch replace; `null` removes the key. */
  merge(eff: string, base: unknown, patch: unknown, at: string): unknown {
    if (!isPlainObject(patch) || !isPlainObject(base)) return this.take(eff, "overlay", at, patch);
    const result: Raw = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete result[k];
      else result[k] = this.merge(`${eff}.${k}`, base[k], v, `${at}.${k}`);
    }
    return result;
  }

  /**
   * A list of named items (apps, worker pools) patched by a map of name -> patch. Base items keep their
   * order, added ones follow in the overlay's order; items the overlay leaves alone keep their written index.
   */
  named(eff: string, base: unknown, baseAt: string, patch: unknown, at: string, what: string, mergeItem: (eff: string, item: Raw, patch: Raw, at: string) => unknown): unknown[] | undefined {
    if (!isPlainObject(patch)) {
      this.fail(at, patch, `expected a map of ${what} name to overlay, e.g. {web: {replicas: 2}}; $patch: add or remove adds or removes one`);
      return Array.isArray(base) ? base : undefined;
    }
    const items: Named[] = (Array.isArray(base) ? base : []).map((item, i) => ({
      name: isPlainObject(item) && typeof item.name === "string" ? item.name : "",
      item,
      at: `${baseAt}[${i}]`,
    }));
    const known = items.map((i) => i.name).filter((n) => n !== "");
    const knownText = known.length > 0 ? `known ${what}s are ${known.join(", ")}` : `${baseAt} names no ${what}`;
    const removed = new Set<string>();
    const patched = new Map<string, { patch: Raw; at: string }>();
    const added: Named[] = [];
    for (const [name, p] of Object.entries(patch)) {
      const pat = `${at}.${name}`;
      if (!isPlainObject(p)) {
        this.fail(pat, p, `expected the ${what}'s overlay as a map; to remove the ${what} write {${PATCH}: remove}`);
        continue;
      }
      const op = p[PATCH];
      if (op !== undefined && !(PATCH_OPS as readonly unknown[]).includes(op)) {
        this.fail(`${pat}.${PATCH}`, op, `allowed values are ${PATCH_OPS.join(", ")}`);
        continue;
      }
      const exists = known.includes(name);
      if (op === "add") {
        if (exists) this.fail(`${pat}.${PATCH}`, op, `${baseAt} already has a ${what} "${name}"; leave out ${PATCH} to change it`);
        else if (p.name !== undefined && p.name !== name) this.fail(`${pat}.name`, p.name, `an added ${what} is named by its key ("${name}")`);
        else added.push({ name, item: { name, ...withoutPatch(p) }, at: pat });
        continue;
      }
      if (!exists) {
        this.fail(pat, p, `no ${what} "${name}" to ${op === "remove" ? "remove" : "change"}; ${knownText}${op === "remove" ? "" : ` (${PATCH}: add adds one)`}`);
        continue;
      }
      if (op === "remove") {
        if (Object.keys(p).length > 1) this.fail(pat, p, `a removed ${what} takes no other keys`);
        removed.add(name);
      } else if (p.name !== undefined && p.name !== name) {
        this.fail(`${pat}.name`, p.name, `an overlay cannot rename a ${what}; remove it and add one under the new name`);
      } else {
        patched.set(name, { patch: p, at: pat });
      }
    }
    const kept = [...items.filter((i) => !removed.has(i.name)), ...added];
    return kept.map((i, index) => {
      const itemEff = `${eff}[${index}]`;
      const p = patched.get(i.name);
      if (p && isPlainObject(i.item)) {
        this.take(itemEff, "base", i.at, undefined);
        return mergeItem(itemEff, i.item, p.patch, p.at);
      }
      return this.take(itemEff, i.at.startsWith("overlay.") ? "overlay" : "base", i.at, i.item);
    });
  }

  app(eff: string, app: Raw, patch: Raw, at: string): Raw {
    const { workers, ...rest } = patch;
    const merged = this.merge(eff, app, rest, at) as Raw;
    if (workers === undefined) return merged;
    const baseAt = this.written.get(eff)?.key ?? eff;
    this.take(`${eff}.workers`, "base", `${baseAt}.workers`, undefined);
    const pools = this.named(`${eff}.workers`, app.workers, `${baseAt}.workers`, workers, `${at}.workers`, "worker pool", (e, item, p, a) => this.merge(e, item, p, a));
    return { ...merged, workers: pools };
  }
}

function withoutPatch(value: Raw): Raw {
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== PATCH));
}

/**
 * Applies `raw.overlay` to the other keys of `raw` (the CLI's values: Pulumi.yaml defaults or the stack
 * file's own value per key). `overlayKeys`: the config keys an overlay may change; `secret`: the
 * overlay is a secret key, so its problems show no values.
 */
export function applyOverlay(raw: Raw, overlayKeys: readonly string[], secret = false): Overlaid {
  const m = new Merger(secret);
  const { [OVERLAY_KEY]: overlay, ...base } = raw;
  for (const key of Object.keys(base)) m.take(key, "base", key, undefined);
  if (overlay === undefined || overlay === null) return { raw: base, written: m.written, problems: [] };
  if (!isPlainObject(overlay)) {
    m.fail(OVERLAY_KEY, overlay, `expected a map of config key to its changes, with keys ${overlayKeys.join(", ")}`);
    return { raw: base, written: m.written, problems: m.problems };
  }
  const result: Raw = { ...base };
  for (const [key, patch] of Object.entries(overlay)) {
    const at = `${OVERLAY_KEY}.${key}`;
    if (!overlayKeys.includes(key)) {
      const hint = SCALAR_KEYS.includes(key) ? `; set djangostack:${key} in the stack file directly` : "";
      m.fail(at, patch, `unknown key; an overlay changes ${overlayKeys.join(", ")}${hint}`);
    } else if (patch === null) {
      delete result[key];
    } else if (key === "apps") {
      result.apps = m.named("apps", base.apps, "apps", patch, at, "app", (e, item, p, a) => m.app(e, item, p, a));
    } else {
      result[key] = m.merge(key, base[key], patch, at);
    }
  }
  return { raw: result, written: m.written, problems: m.problems };
}

/** The overlayable keys: the structured ones (scalars are simply set per stack). */
export function overlayKeysOf(configKeys: readonly string[]): string[] {
  return configKeys.filter((k) => !SCALAR_KEYS.includes(k));
}

/** Splits `apps[0].workers[1].name` into its prefixes, longest first. */
function prefixes(path: string): string[] {
  const out: string[] = [];
  for (let i = path.length; i > 0; i--) {
    if (i === path.length || path[i] === "." || path[i] === "[") out.push(path.slice(0, i));
  }
  return out;
}

/** Where the user wrote the value at an effective path: the longest recorded prefix plus the rest. */
export function writtenAt(written: ReadonlyMap<string, Written>, path: string): Written {
  for (const prefix of prefixes(path)) {
    const w = written.get(prefix);
    if (w) return { from: w.from, key: w.key + path.slice(prefix.length) };
  }
  return { from: "base", key: path };
}

export interface EffectiveConfig {
  /** What the stack deploys: the CLI's values with the overlay applied, no overlay key. */
  raw: Raw;
  /** Secret keys of `raw`: the CLI's, plus every key a secret overlay changes. */
  secretKeys: string[];
  /** Where each value was written. */
  written: ReadonlyMap<string, Written>;
}

/** Applies the stack's overlay; a bad overlay is a ConfigError on its own (its merge result would mislead). */
export function applyStackOverlay(raw: Raw, secretKeys: readonly string[], namespace: string, overlayKeys: readonly string[]): EffectiveConfig {
  const overlay = raw[OVERLAY_KEY];
  const secret = secretKeys.includes(OVERLAY_KEY);
  const { raw: effective, written, problems } = applyOverlay(raw, overlayKeys, secret);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${namespace}:${p}`));
  // A secret overlay's values land in other keys: those turn secret as a whole, as a key with one
  // `secure:` leaf does.
  const touched = secret && isPlainObject(overlay) ? Object.keys(overlay) : [];
  return { raw: effective, secretKeys: [...new Set([...secretKeys.filter((k) => k !== OVERLAY_KEY), ...touched])], written };
}

/**
 * Runs `parse` on the effective config. The checker names effective paths (`apps[0].replicas`); each
 * problem is renamed to the key the user wrote (`overlay.apps.web.replicas`, or `apps[1]...` when an
 * overlay removed an app before it), so the message points into the file that holds it.
 */
export function withOverlay<T>(raw: Raw, secretKeys: readonly string[], namespace: string, overlayKeys: readonly string[], parse: (raw: Raw, secretKeys: string[]) => T): T {
  const effective = applyStackOverlay(raw, secretKeys, namespace, overlayKeys);
  try {
    return parse(effective.raw, effective.secretKeys);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.problems.map((problem) => renameProblem(problem, `${namespace}:`, effective.written)));
  }
}

function renameProblem(problem: string, prefix: string, written: ReadonlyMap<string, Written>): string {
  const match = problem.startsWith(prefix) ? /^(\S+?): /.exec(problem.slice(prefix.length)) : null;
  if (!match) return problem;
  const { key } = writtenAt(written, match[1]);
  return key === match[1] ? problem : `${prefix}${key}: ${problem.slice(prefix.length + match[0].length)}`;
}
