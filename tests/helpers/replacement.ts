/**
 * What a real `pulumi up` decides for a DigitalOcean resource whose inputs changed: mocks never diff,
 * so tests compare two renders with this model of the provider and the engine (see
 * docs/production-engine.md for the source each rule comes from).
 */
import { isDeepStrictEqual } from "node:util";
import { readStackFiles } from "../../src/offline/stackfiles";
import { REPO_ROOT } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";

/** A stack file's djangostack:apps list. */
export function stackApps(stack: string): Record<string, unknown>[] {
  return JSON.parse(readStackFiles(REPO_ROOT, stack).config["djangostack:apps"] ?? "[]") as Record<string, unknown>[];
}

/**
 * Inputs whose change forces a replacement (`ForceNew: true` in terraform-provider-digitalocean's
 * schema, Pulumi names), for every DigitalOcean resource type the program names explicitly.
 */
export const FORCE_NEW: Record<string, string[]> = {
  "digitalocean:index/kubernetesNodePool:KubernetesNodePool": ["clusterId", "size", "gpuPartitionMode"],
  "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": ["clusterId", "name", "user", "mode", "size", "dbName"],
  "digitalocean:index/certificate:Certificate": ["name", "privateKey", "leafCertificate", "certificateChain", "domains", "type"],
  "digitalocean:index/databaseDb:DatabaseDb": ["clusterId", "name"],
  "digitalocean:index/databaseUser:DatabaseUser": ["clusterId", "name"],
  "digitalocean:index/databaseCluster:DatabaseCluster": ["engine", "name", "privateNetworkUuid", "projectId"],
  "digitalocean:index/kubernetesCluster:KubernetesCluster": ["region", "vpcUuid", "workerSubnetUuid", "clusterSubnet", "serviceSubnet", "isolatedWorkers"],
  "digitalocean:index/vpc:Vpc": ["region", "ipRange"],
  "digitalocean:index/containerRegistry:ContainerRegistry": ["name", "region"],
  "digitalocean:index/dnsRecord:DnsRecord": ["domain", "type"],
  "digitalocean:index/tag:Tag": ["name"],
  "digitalocean:index/firewall:Firewall": [],
  "digitalocean:index/droplet:Droplet": ["image", "region", "monitoring", "sshKeys", "userData", "vpcUuid", "dropletAgent", "publicNetworking", "gpuPartitionMode"],
};

export interface Replacement {
  /** Replace-forcing inputs that differ. */
  replaced: string[];
  /** The old resource goes before the new one exists. */
  deleteFirst: boolean;
  /** The engine refuses the replacement (protect in state and in the program). */
  refused: boolean;
}

/**
 * The bridge replaces delete-first whenever the program set an auto-named `name` itself
 * (`nameRequiresDeleteBeforeReplace`, even when the name changes too); an explicit
 * `deleteBeforeReplace` option overrides the provider; a protected resource is never replaced.
 */
export function replacementOf(before: RecordedResource, after: RecordedResource): Replacement {
  const forceNew = FORCE_NEW[after.type];
  if (!forceNew) throw new Error(`no ForceNew list for ${after.type}: read its schema and add it`);
  const ignored = new Set(after.options.ignoreChanges ?? []);
  const replaced = forceNew.filter((k) => !ignored.has(k) && !isDeepStrictEqual(before.inputs[k], after.inputs[k]));
  const providerSays = replaced.length > 0 && after.inputs.name !== undefined;
  return {
    replaced,
    deleteFirst: replaced.length > 0 && (after.options.deleteBeforeReplace ?? providerSays),
    refused: replaced.length > 0 && before.options.protect === true && after.options.protect === true,
  };
}

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

/**
 * What the engine does to a resource the program no longer registers (pulumi/pulumi
 * `DeleteStep.Apply`): a protected one fails the update, a retained one leaves state only.
 */
export function deletionOf(gone: RecordedResource): "refused" | "kept" | "deleted" {
  if (gone.options.protect === true) return "refused";
  return gone.options.retainOnDelete === true ? "kept" : "deleted";
}

/**
 * The next `up` after a Job failed (its create returned pulumi-kubernetes' partial error, so the state
 * carries init errors): with `pulumi.com/replaceUnready` the provider's Diff reads the live Job, finds it
 * not complete and replaces it, so it runs again; without it the engine only re-awaits the failed Job.
 */
export function nextUpAfterFailedJob(job: RecordedResource): "runs again" | "stays failed" {
  const annotations = (job.inputs.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
  return annotations["pulumi.com/replaceUnready"] === "true" ? "runs again" : "stays failed";
}
