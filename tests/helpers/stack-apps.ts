/** The repository's stacks' apps, and extra config that replaces them, for tests that render a stack with other apps. */
import { effectiveConfig, rawConfigOf } from "../../src/config/load";
import { REPO_ROOT } from "../../src/offline/render";
import { readStackFiles } from "../../src/offline/stackfiles";

/** The apps a stack runs: Pulumi.yaml's djangostack:apps with the stack file's overlay applied. */
export function stackApps(stack: string): Record<string, unknown>[] {
  const { raw } = rawConfigOf(readStackFiles(REPO_ROOT, stack).config, () => false);
  return (effectiveConfig(raw, []).raw.apps ?? []) as Record<string, unknown>[];
}

/**
 * Extra config for a stack that runs exactly `apps`: its stack file's overlay, which changes
 * Pulumi.yaml's apps by name, is cleared with them (as `pulumi config set` of both would do).
 */
export function exactApps(apps: readonly Record<string, unknown>[]): Record<string, unknown> {
  return { "djangostack:apps": apps, "djangostack:overlay": {} };
}
