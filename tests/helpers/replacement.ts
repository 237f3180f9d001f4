/**
 * What a real `pulumi up` decides for a DigitalOcean resource whose inputs changed: mocks never diff,
 * so tests compare two renders with this model of the provider and the engine (see
 * docs/production-engine.md for the source each rule comes from).
 */
import { readStackFiles } from "../../src/offline/stackfiles";
import { REPO_ROOT } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";

// The provider and engine rules themselves are the real implementation in src/offline/impact.ts,
// which `npm run render -- --compare` uses too.
export { FORCE_NEW, replacementOf } from "../../src/offline/impact";
export type { Replacement } from "../../src/offline/impact";

/** A stack file's `djangostack:<key>` object, to change one field of it in a second render. */
export function stackObject(stack: string, key: string): Record<string, unknown> {
  const raw = readStackFiles(REPO_ROOT, stack).config[`djangostack:${key}`];
  if (raw === undefined) throw new Error(`Pulumi.${stack}.yaml has no djangostack:${key}`);
  return JSON.parse(raw) as Record<string, unknown>;
}

/** `1.33.5-do.0` -> [1, 33, 5, 0]: DOKS slugs as hashicorp/go-version orders them (release, then the do.N pre-release). */
function doksVersion(slug: string): number[] {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-do\.(\d+))?$/.exec(slug);
  if (!m) throw new Error(`not a DOKS version slug: ${slug}`);
  return m.slice(1).map((n) => Number(n ?? 0));
}

/**
 * What an `up` does to the cluster's version. The engine keeps the old input for an ignored property
 * (after a refresh that input is what the bridge read back); the provider upgrades in place on a
 * higher version and forces a replacement on a lower one (`ForceNewIfChange("version", newVer < oldVer)`).
 */
export function clusterVersionChange(stateVersion: string, program: RecordedResource): "none" | "upgrade" | "replace" {
  const next = (program.options.ignoreChanges ?? []).includes("version") ? stateVersion : String(program.inputs.version);
  const [a, b] = [doksVersion(stateVersion), doksVersion(next)];
  const order = a.map((x, i) => Math.sign(b[i] - x)).find((s) => s !== 0) ?? 0;
  return order === 0 ? "none" : order > 0 ? "upgrade" : "replace";
}

export { deletionOf } from "../../src/offline/impact";

/**
 * The next `up` after a Job failed (its create returned pulumi-kubernetes' partial error, so the state
 * carries init errors): with `pulumi.com/replaceUnready` the provider's Diff reads the live Job, finds it
 * not complete and replaces it, so it runs again; without it the engine only re-awaits the failed Job.
 */
export function nextUpAfterFailedJob(job: RecordedResource): "runs again" | "stays failed" {
  const annotations = (job.inputs.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
  return annotations["pulumi.com/replaceUnready"] === "true" ? "runs again" : "stays failed";
}
