import { Checker } from "./checker";

/**
 * A command as a list of arguments (no shell), as release commands and scheduled jobs take it: a
 * string would be split by someone's shell rules, and an argument holding a newline breaks the
 * one-line scripts that carry it.
 */
export function parseCommand(c: Checker, path: string, value: unknown, example: string): string[] {
  const hint = `a command as a list of arguments (no shell), e.g. ${example}`;
  if (!Array.isArray(value)) {
    c.fail(path, value, `expected ${hint}`);
    return [];
  }
  const args = c.stringList(path, value, [], /^[^\0\n]+$/, hint);
  if (args.length === 0) c.fail(path, value, "expected a command: a non-empty list of arguments");
  return args;
}
