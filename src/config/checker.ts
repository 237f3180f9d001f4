/**
 * A small collecting validator: every check records a message naming the key, the value it got
 * and what is allowed, so one run reports every mistake in a stack file at once.
 */

export type Raw = Record<string, unknown>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid djangostack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isPlainObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

interface IntRule {
  min: number;
  max: number;
}

/** What a message prints instead of a value that may hold a secret. */
export const SECRET_SHOWN = "[secret]";

/**
 * What the offline render reads a `secure:` value as (src/offline/stackfiles.ts): it holds no key to
 * decrypt it, so a secret's shape (a DSN's, say) is judged by `pulumi up`, which has the value.
 */
export const OFFLINE_SECRET_PREFIX = "offline-placeholder-";

export class Checker {
  readonly problems: string[] = [];

  /**
   * `secretKeys`: top-level keys whose whole value is secret. Pulumi delivers a structured key with
   * any `secure:` leaf as one secret key, so every value under such a key is treated as secret.
   */
  constructor(
    private readonly namespace: string,
    private readonly secretKeys: readonly string[] = [],
  ) {}

  key(path: string): string {
    return `${this.namespace}:${path}`;
  }

  /** True when the value at `path` (e.g. `apps[0].env.TOKEN`) lies under a secret key. */
  isSecret(path: string): boolean {
    return this.secretKeys.some((k) => path === k || path.startsWith(`${k}.`) || path.startsWith(`${k}[`));
  }

  fail(path: string, value: unknown, allowed: string): void {
    this.problems.push(`${this.key(path)}: got ${this.isSecret(path) ? SECRET_SHOWN : show(value)}; ${allowed}`);
  }

  /** A plain object whose keys are all in `known`; undefined becomes {}. */
  object(path: string, value: unknown, known: readonly string[]): Raw {
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) {
      this.fail(path, value, `expected an object with keys ${known.join(", ")}`);
      return {};
    }
    for (const k of Object.keys(value)) {
      if (!known.includes(k)) this.fail(`${path}.${k}`, value[k], `unknown key; allowed keys of ${path} are ${known.join(", ")}`);
    }
    return value;
  }

  string(path: string, value: unknown, fallback: string, pattern?: RegExp, hint?: string): string {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string") {
      this.fail(path, value, `expected a string${hint ? ` (${hint})` : ""}`);
      return fallback;
    }
    if (pattern && !pattern.test(value)) {
      this.fail(path, value, `expected ${hint ?? `a string matching ${pattern}`}`);
      return fallback;
    }
    return value;
  }

  optionalString(path: string, value: unknown, pattern?: RegExp, hint?: string): string | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    const checked = this.string(path, value, "", pattern, hint);
    return checked === "" ? undefined : checked;
  }

  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      this.fail(path, value, `allowed values are ${allowed.map((a) => `"${a}"`).join(", ")}`);
      return fallback;
    }
    return value as T;
  }

  int(path: string, value: unknown, fallback: number, rule: IntRule): number {
    if (value === undefined || value === null) return fallback;
    const parsed = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isInteger(parsed) || parsed < rule.min || parsed > rule.max) {
      this.fail(path, value, `expected an integer from ${rule.min} to ${rule.max}`);
      return fallback;
    }
    return parsed;
  }

  number(path: string, value: unknown, fallback: number, rule: IntRule): number {
    if (value === undefined || value === null) return fallback;
    const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof parsed !== "number" || Number.isNaN(parsed) || parsed < rule.min || parsed > rule.max) {
      this.fail(path, value, `expected a number from ${rule.min} to ${rule.max}`);
      return fallback;
    }
    return parsed;
  }

  bool(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    this.fail(path, value, "expected true or false");
    return fallback;
  }

  list(path: string, value: unknown, fallback: unknown[]): unknown[] {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value)) {
      this.fail(path, value, "expected a list");
      return fallback;
    }
    return value;
  }

  stringList(path: string, value: unknown, fallback: string[], pattern?: RegExp, hint?: string): string[] {
    const items = this.list(path, value, fallback);
    return items.map((item, i) => this.string(`${path}[${i}]`, item, "", pattern, hint ?? "a string"));
  }

  stringMap(path: string, value: unknown, keyPattern: RegExp, keyHint: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) {
      this.fail(path, value, `expected an object of ${keyHint} to string values`);
      return {};
    }
    const result: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!keyPattern.test(k)) {
        this.fail(`${path}.${k}`, k, `keys must be ${keyHint}`);
        continue;
      }
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") result[k] = String(v);
      else this.fail(`${path}.${k}`, v, "expected a string, number or boolean");
    }
    return result;
  }

  /** Throws with every collected problem; call once after the whole config was read. */
  throwIfAny(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/** Each key (from `keys`) belongs to one item; a repeat is reported at the later item, naming the first. */
export function checkUnique<T>(c: Checker, items: T[], keys: (item: T) => string[], pathOf: (index: number) => string, rule: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    for (const key of keys(item)) {
      const first = seen.get(key);
      if (first !== undefined) c.fail(pathOf(i), key, `already used by ${pathOf(first)}; ${rule}`);
      else seen.set(key, i);
    }
  });
}
