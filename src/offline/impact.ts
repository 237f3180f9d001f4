/**
 * Change impact: what a real `pulumi up` would do going from one render to another. Mocks never diff,
 * so this models the providers' replace decisions (their ForceNew / forceNew lists, read from their
 * source) and the engine's rules for replacement order, protect and retainOnDelete. Used by
 * `npm run render -- --compare DIR` and by the tests (tests/helpers/replacement.ts re-exports it).
 */
import { isDeepStrictEqual } from "node:util";
import type { RecordedOptions } from "./engine";

/** A resource as two renders hold it: resources.json entries (options are absent in renders that predate them). */
export interface ComparedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  options?: Partial<RecordedOptions>;
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
  // The default pool is a block of the cluster: its size is ForceNew there, so resizing it replaces the cluster.
  "digitalocean:index/kubernetesCluster:KubernetesCluster": ["region", "vpcUuid", "workerSubnetUuid", "clusterSubnet", "serviceSubnet", "isolatedWorkers", "nodePool.size"],
  "digitalocean:index/vpc:Vpc": ["region", "ipRange"],
  // resource_reserved_ip.go: only region is ForceNew (ip_address is Optional+Computed, droplet_id updates in place).
  "digitalocean:index/reservedIp:ReservedIp": ["region"],
  "digitalocean:index/containerRegistry:ContainerRegistry": ["name", "region"],
  "digitalocean:index/dnsRecord:DnsRecord": ["domain", "type"],
  "digitalocean:index/tag:Tag": ["name"],
  "digitalocean:index/firewall:Firewall": [],
  // kreuzwerker/docker resource_docker_image.go: name, pull_triggers, build, triggers and platform are ForceNew.
  "docker:index/remoteImage:RemoteImage": ["name", "pullTriggers", "build", "triggers", "platform"],
  // spaces/resource_spaces_bucket.go: only region is ForceNew (name is Required without ForceNew, and
  // Update never renames: the backups bucket is protected, so either change is refused, not applied).
  "digitalocean:index/spacesBucket:SpacesBucket": ["region"],
  // spaces/spaces_entities.go spacesKeySchema: name and grants update in place (SpacesKeys.Update).
  "digitalocean:index/spacesKey:SpacesKey": [],
  "digitalocean:index/droplet:Droplet": ["image", "region", "monitoring", "sshKeys", "userData", "vpcUuid", "dropletAgent", "publicNetworking", "gpuPartitionMode"],
  // uptime/resource_uptime_check.go and resource_uptime_alert.go: no argument is ForceNew (an alert's
  // check_id updates in place; the program replaces the alert then, with replaceOnChanges).
  "digitalocean:index/uptimeCheck:UptimeCheck": [],
  "digitalocean:index/uptimeAlert:UptimeAlert": [],
};

/**
 * kreuzwerker/terraform-provider-docker v4.5.0 (bundled by pulumi-docker 5.x): a container's
 * `resourceDockerContainerUpdate` applies only these `attrs` (plus start/must_run); every other
 * container input is ForceNew or, like healthcheck and the CFS quota, neither (the program asks for
 * a replacement on those with replaceOnChanges). Volumes and networks: every input is ForceNew.
 */
const CONTAINER_UPDATABLE = ["restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap", "deviceReadBps", "deviceReadIops", "deviceWriteBps", "deviceWriteIops", "start", "mustRun"];
const ALL_INPUTS_EXCEPT: Record<string, string[]> = {
  "docker:index/container:Container": CONTAINER_UPDATABLE,
  "docker:index/volume:Volume": [],
  "docker:index/network:Network": [],
  // terraform-provider-random: every argument of random_password is RequiresReplace.
  "random:index/randomPassword:RandomPassword": [],
};

/** pulumi-kubernetes provider/pkg/provider/diff.go `forceNew`, for the kinds the program creates (dotted paths). */
const SELECTOR = ["spec.selector"];
const K8S_FORCE_NEW: Record<string, string[]> = {
  "kubernetes:apps/v1:Deployment": SELECTOR,
  "kubernetes:apps/v1:StatefulSet": ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName", "spec.volumeClaimTemplates", ...SELECTOR],
  "kubernetes:batch/v1:Job": ["spec.completions", "spec.parallelism", "spec.template", ...SELECTOR],
  "kubernetes:core/v1:Service": ["spec.clusterIP"],
  // Immutable unless the provider is told otherwise (enableSecretMutable / enableConfigMapMutable are off by default).
  "kubernetes:core/v1:Secret": ["type", "stringData", "data"],
  "kubernetes:core/v1:ConfigMap": ["binaryData", "data"],
  "kubernetes:core/v1:PersistentVolumeClaim": ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
  "kubernetes:storage.k8s.io/v1:StorageClass": ["parameters", "provisioner"],
};
const K8S_METADATA = ["metadata.name", "metadata.namespace"];

const at = (inputs: Record<string, unknown>, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), inputs);

/** The replace-forcing inputs of a type, or undefined when no provider list is modelled for it. */
export function replaceFields(type: string, before: Record<string, unknown>, after: Record<string, unknown>): string[] | undefined {
  if (FORCE_NEW[type]) return FORCE_NEW[type];
  const except = ALL_INPUTS_EXCEPT[type];
  if (except) return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !except.includes(k)).sort();
  if (K8S_FORCE_NEW[type]) return [...K8S_METADATA, ...K8S_FORCE_NEW[type]];
  if (type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm")) return K8S_METADATA;
  if (type.startsWith("command:")) return ["triggers"];
  return undefined;
}

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
 * (`nameRequiresDeleteBeforeReplace`, even when the name changes too); pulumi-kubernetes does the
 * same for an object whose metadata.name the program set (provider.go: replace && IsNamed && not
 * autonamed). An explicit `deleteBeforeReplace` option overrides the provider; a protected
 * resource is never replaced. Throws for a type without a modelled list.
 */
export function replacementOf(before: ComparedResource, after: ComparedResource): Replacement {
  const forceNew = replaceFields(after.type, before.inputs, after.inputs);
  if (!forceNew) throw new Error(`no ForceNew list for ${after.type}: read its schema and add it`);
  const ignored = new Set(after.options?.ignoreChanges ?? []);
  const forced = new Set(after.options?.replaceOnChanges ?? []);
  const differs = (k: string) => !ignored.has(k) && !isDeepStrictEqual(at(before.inputs, k), at(after.inputs, k));
  const replaced = [...new Set([...forceNew, ...forced])].filter(differs);
  const named = after.type.startsWith("kubernetes:") ? at(after.inputs, "metadata.name") !== undefined : after.inputs.name !== undefined;
  const providerSays = replaced.length > 0 && named;
  return {
    replaced,
    deleteFirst: replaced.length > 0 && (after.options?.deleteBeforeReplace ?? providerSays),
    refused: replaced.length > 0 && before.options?.protect === true && after.options?.protect === true,
  };
}

/**
 * What the engine does to a resource the program no longer registers (pulumi/pulumi
 * `DeleteStep.Apply`): a protected one fails the update, a retained one leaves state only.
 */
export function deletionOf(gone: ComparedResource): "refused" | "kept" | "deleted" {
  if (gone.options?.protect === true) return "refused";
  return gone.options?.retainOnDelete === true ? "kept" : "deleted";
}

export type Operation = "create" | "update" | "replace" | "delete";
export type Risk = "data" | "outage";

export interface Change {
  op: Operation;
  type: string;
  name: string;
  /** Replace: the fields forcing it. Update: the inputs that differ. */
  fields: string[];
  /** Replace: old one deleted first. Delete/replace: refused by protect, or kept by retainOnDelete. */
  note?: string;
  risk?: Risk;
  why?: string;
}

/** Resources that hold data the stack cannot recreate: managed databases, the cluster, volumes, the Droplet's disk. */
function holdsData(r: ComparedResource): boolean {
  const name = String(r.inputs.name ?? r.name);
  if (r.type === "docker:index/volume:Volume") return /-(postgres|redis|rabbitmq)-data$|-media-/.test(name);
  return [
    "digitalocean:index/databaseCluster:DatabaseCluster",
    "digitalocean:index/databaseDb:DatabaseDb",
    "digitalocean:index/kubernetesCluster:KubernetesCluster",
    "digitalocean:index/volume:Volume",
    // Every Docker volume of a Droplet stack lives on the Droplet's own disk.
    "digitalocean:index/droplet:Droplet",
    "kubernetes:core/v1:PersistentVolumeClaim",
  ].includes(r.type) || (r.type === "kubernetes:apps/v1:StatefulSet" && at(r.inputs, "spec.volumeClaimTemplates") !== undefined);
}

/** Resources whose loss (or delete-first replacement) takes the site down. */
function servesTraffic(r: ComparedResource): boolean {
  if (r.type === "docker:index/container:Container") return /-nginx$/.test(String(r.inputs.name ?? r.name));
  if (r.type === "kubernetes:core/v1:Service") return at(r.inputs, "spec.type") === "LoadBalancer";
  return [
    "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
    "digitalocean:index/certificate:Certificate",
    "digitalocean:index/reservedIp:ReservedIp",
    "digitalocean:index/droplet:Droplet",
    "digitalocean:index/kubernetesCluster:KubernetesCluster",
  ].includes(r.type);
}

/** RabbitMQ keeps its data under its node name: a new hostname or RABBITMQ_NODENAME starts an empty node. */
function rabbitmqNodeMoved(before: ComparedResource, after: ComparedResource): boolean {
  const node = (r: ComparedResource) => {
    const envs = Array.isArray(r.inputs.envs) ? r.inputs.envs.map(String) : [];
    return [r.inputs.hostname, envs.find((e) => e.startsWith("RABBITMQ_NODENAME=")), JSON.stringify(at(r.inputs, "spec.template.spec.hostname"))];
  };
  return /rabbitmq/.test(after.name) && !isDeepStrictEqual(node(before), node(after));
}

const key = (r: ComparedResource) => `${r.type}::${r.name}`;

/** Every create, update, replace and delete from `before` to `after`, with its risk. */
export function compareRenders(before: readonly ComparedResource[], after: readonly ComparedResource[]): Change[] {
  const old = new Map(before.map((r) => [key(r), r]));
  const next = new Map(after.map((r) => [key(r), r]));
  const changes: Change[] = [];
  for (const r of after) {
    const was = old.get(key(r));
    if (!was) {
      changes.push({ op: "create", type: r.type, name: r.name, fields: [] });
      continue;
    }
    // A render from before options were recorded: judge with the new options.
    const prior = { ...was, options: was.options ?? r.options };
    const differing = [...new Set([...Object.keys(was.inputs), ...Object.keys(r.inputs)])].filter((k) => !isDeepStrictEqual(was.inputs[k], r.inputs[k])).sort();
    if (differing.length === 0) continue;
    const fields = replaceFields(r.type, was.inputs, r.inputs);
    const rep = fields ? replacementOf(prior, r) : undefined;
    if (!rep || rep.replaced.length === 0) {
      const moved = rabbitmqNodeMoved(prior, r);
      changes.push({ op: "update", type: r.type, name: r.name, fields: differing, note: fields ? undefined : "no replace list modelled for this type: treated as an update", risk: moved ? "data" : undefined, why: moved ? "RabbitMQ's node name changes: the node starts empty beside its old data" : undefined });
      continue;
    }
    const note = rep.refused ? "refused: the resource is protected" : rep.deleteFirst ? "delete-first" : "create-first";
    const change: Change = { op: "replace", type: r.type, name: r.name, fields: rep.replaced, note };
    // A refused replacement still needs a decision: `up` fails there until the change is undone or the data moved.
    if (holdsData(r)) Object.assign(change, { risk: "data", why: rep.refused ? "it would be replaced empty; protect makes `up` fail here instead" : "the replacement starts empty: its data is lost" });
    else if (rabbitmqNodeMoved(prior, r)) Object.assign(change, { risk: "data", why: "RabbitMQ's node name changes: the node starts empty beside its old data" });
    else if (servesTraffic(r) && rep.deleteFirst) Object.assign(change, { risk: "outage", why: "delete-first: nothing serves until the new one is up" });
    else if (r.type === "digitalocean:index/reservedIp:ReservedIp") Object.assign(change, { risk: "outage", why: "a new address: DNS points at the old one until it is changed" });
    changes.push(change);
  }
  for (const r of before) {
    if (next.has(key(r))) continue;
    const fate = deletionOf(r);
    const change: Change = { op: "delete", type: r.type, name: r.name, fields: [], note: fate === "deleted" ? undefined : fate === "kept" ? "kept: retainOnDelete leaves it in the cloud" : "refused: the resource is protected" };
    if (fate === "deleted" && holdsData(r)) Object.assign(change, { risk: "data", why: "deleting it destroys its data" });
    else if (fate === "deleted" && servesTraffic(r)) Object.assign(change, { risk: "outage", why: "the site loses what serves it" });
    changes.push(change);
  }
  return changes;
}

/** Exit codes of `render --compare`: distinct when data is at risk. */
export const IMPACT_EXIT = { none: 0, outage: 4, data: 3 } as const;

export function impactExitCode(changes: readonly Change[]): number {
  if (changes.some((c) => c.risk === "data")) return IMPACT_EXIT.data;
  return changes.some((c) => c.risk === "outage") ? IMPACT_EXIT.outage : IMPACT_EXIT.none;
}

export function formatChanges(changes: readonly Change[]): string[] {
  if (changes.length === 0) return ["no changes"];
  const mark: Record<Operation, string> = { create: "+", update: "~", replace: "+-", delete: "-" };
  return changes.map((c) => {
    const fields = c.fields.length > 0 ? ` [${c.fields.join(", ")}]` : "";
    const note = c.note ? ` (${c.note})` : "";
    const risk = c.risk ? `  !! ${c.risk === "data" ? "DATA AT RISK" : "SITE DOWN"}: ${c.why}` : "";
    return `${mark[c.op]} ${c.op} ${c.type} ${c.name}${fields}${note}${risk}`;
  });
}
