import assert from "node:assert/strict";
import { it } from "node:test";
import { ConfigError, Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";

export const id = { project: "djangostack", stack: "test" };
export const droplet = { sshKeys: ["aa:bb"], adminCidrs: ["203.0.113.7/32"] };
export const onDroplet = (extra: Raw = {}, base: Raw = {}): Raw => ({ target: "droplet", ...base, droplet: { ...droplet, ...extra } });

export function problems(raw: Raw, identity: { project: string; stack: string } = id): string[] {
  try {
    parseConfig(raw, identity);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

/** [title, stack config, key the message must name, fragment of what is allowed]. */
export type BadInput = [string, Raw, string, string];

/** One test per bad input: a ConfigError (never another exception) naming the key, the value and what is allowed. */
export function refuses(cases: readonly BadInput[], opts: { valueShown?: boolean } = {}): void {
  for (const [title, raw, key, allowed] of cases) {
    it(`${title}: names ${key} and what is allowed`, () => {
      const found = problems(raw);
      const match = found.find((p) => p.startsWith(`${key}:`));
      assert.ok(match, `no problem names ${key}; got:\n${found.join("\n")}`);
      assert.ok(match.includes(allowed), `message for ${key} lacks "${allowed}": ${match}`);
      assert.ok(match.includes("got "), `message does not show the value: ${match}`);
      if (opts.valueShown !== false) assert.ok(!match.includes("got nothing"), match);
    });
  }
}

/** Stacks that must still validate. */
export function accepts(cases: readonly [string, Raw][]): void {
  for (const [title, raw] of cases) {
    it(`accepts ${title}`, () => {
      assert.doesNotThrow(() => parseConfig(raw, id));
    });
  }
}
