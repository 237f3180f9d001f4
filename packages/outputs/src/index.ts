/**
 * @djangostack/outputs: the djangostack stack-outputs contract (v1) and a typed StackReference reader.
 *
 * One file on purpose: teams that do not want the package can copy it (it needs only @pulumi/pulumi).
 * djangostack's own src/outputs.ts builds its exports from these types, and its tests check the
 * offline render of every stack against OUTPUTS_CONTRACT, so the contract, the docs table
 * (docs/outputs.md, generated from OUTPUTS_CONTRACT) and what a stack exports cannot drift apart.
 */
import * as pulumi from "@pulumi/pulumi";

/** Bumped on any breaking change to the outputs; additions keep the version. */
export const OUTPUTS_VERSION = "v1";

export const TARGETS = ["docker", "droplet", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

/** Per-app facts. The connection strings are secret outputs. */
export interface AppOutputV1 {
  /** Absent when the app has no database. */
  database?: { name: string; user: string };
  /** Absent when the app has no broker. */
  broker?: { vhost: string; user: string };
  redisDb: number;
  routes: string[];
  hosts: string[];
  /** Secret. Postgres DSN as the app receives it (absent without a database). */
  databaseUrl?: string;
  /** Secret. AMQP URL as the app receives it (absent without a broker). */
  brokerUrl?: string;
  /** Secret. Redis URL as the app receives it. */
  redisUrl: string;
}

/** Outputs every target exports. */
export interface CommonOutputsV1 {
  outputsVersion: typeof OUTPUTS_VERSION;
  target: Target;
  url: string;
  healthUrl: string;
  /** Each app's own health check through the edge (`url` + /_djangostack/<app>/health/); optional like the cost outputs. */
  appHealthUrls?: Record<string, string>;
  images: Record<string, string>;
  apps: Record<string, AppOutputV1>;
  /**
   * Monthly list price in USD at minimum and at maximum scale (0 on target docker). Optional: stacks
   * last deployed before the estimate existed still read as v1.
   */
  estimatedMonthlyCostUsd?: { min: number; max: number };
  /** What makes up that price, one row per billed resource (optional as above). */
  estimatedMonthlyCostBreakdown?: CostLineV1[];
  /** The scheduled backups, or why there are none (optional: stacks last deployed before it still read as v1). */
  backups?: BackupsOutputV1;
  /** Where the stack's outbound traffic comes from, for external allow-lists (optional as above). */
  egress?: EgressOutputV1;
}

/** `egress`: the source address external services see; null where there is no single one. */
export interface EgressOutputV1 {
  address: string | null;
  /** True when the address survives a replacement of the machines (the Droplet, the nodes). */
  stable: boolean;
  note: string;
}

/** `backups`: what runs the logical backup and where the dumps go; `note` says it in a sentence. */
export interface BackupsOutputV1 {
  enabled: boolean;
  note: string;
  bucket?: string;
  region?: string;
  schedule?: string;
  retentionDays?: number;
}

/** One billed resource of the cost estimate. */
export interface CostLineV1 {
  resource: string;
  slug: string;
  count: { min: number; max: number };
  unitUsd: number;
  minUsd: number;
  maxUsd: number;
  /** Where the unit price comes from; "unverified" prices were not found in a source. */
  source: string;
}

export interface DockerOutputsV1 extends CommonOutputsV1 {
  target: "docker";
}

export interface DropletOutputsV1 extends CommonOutputsV1 {
  target: "droplet";
  dropletIp: string;
  reservedIp: string;
  sshCommand: string;
  registry: string;
  dns: string;
  tls: string;
  monitoring: string;
}

export interface KubernetesOutputsV1 extends CommonOutputsV1 {
  target: "kubernetes";
  clusterName: string;
  clusterId: string;
  namespace: string;
  /** Secret. */
  kubeconfig: string;
  loadBalancerIp: string;
  databaseHosts: string[];
}

/** The v1 contract, as a consumer reads it back; `target` tells which members exist. */
export type StackOutputsV1 = DockerOutputsV1 | DropletOutputsV1 | KubernetesOutputsV1;

/** Every top-level output key, with its type on the target that exports it. */
export type OutputKey = keyof DockerOutputsV1 | keyof DropletOutputsV1 | keyof KubernetesOutputsV1;
export type OutputType<K extends OutputKey> = K extends keyof CommonOutputsV1
  ? CommonOutputsV1[K]
  : K extends keyof DropletOutputsV1
    ? DropletOutputsV1[K]
    : K extends keyof KubernetesOutputsV1
      ? KubernetesOutputsV1[K]
      : never;

export type JsonType = "string" | "number" | "object" | "array";

/** One row of the contract: what docs/outputs.md shows and what the tests hold each stack to. */
export interface ContractEntry {
  /** A top-level key, or `apps.<app>.<member>` for per-app members. */
  key: string;
  /** Type as the docs show it. */
  type: string;
  /** JSON type of the value (for the checks). */
  json: JsonType;
  secret: boolean;
  targets: readonly Target[];
  /** False when the key may be absent on a target that has it (an app without a database). */
  required: boolean;
  meaning: string;
}

const ALL = TARGETS;
/** The contract, in the order of the docs table. */
export const OUTPUTS_CONTRACT: readonly ContractEntry[] = [
  { key: "outputsVersion", type: '`"v1"`', json: "string", secret: false, targets: ALL, required: true, meaning: "contract version; bumped on any breaking change" },
  { key: "target", type: "`docker` \\| `droplet` \\| `kubernetes`", json: "string", secret: false, targets: ALL, required: true, meaning: "where the stack runs; tells which keys below exist" },
  { key: "url", type: "string", json: "string", secret: false, targets: ALL, required: true, meaning: "public base URL (`https://<domain>` with TLS, else the IP or localhost)" },
  { key: "healthUrl", type: "string", json: "string", secret: false, targets: ALL, required: true, meaning: "`url` + the first app's health path" },
  { key: "appHealthUrls", type: "`{<app>: string}`", json: "object", secret: false, targets: ALL, required: false, meaning: "each app's own health check through the edge, `url` + `/_djangostack/<app>/health/` (`/ready/` beside it), whatever health path apps share; always exported, absent only on stacks last updated before it existed" },
  { key: "images", type: "`{[app]: string}`", json: "object", secret: false, targets: ALL, required: true, meaning: "the image each app (and `frontend`) runs; `repo:tag@sha256:…` on the cloud targets" },
  { key: "apps", type: "`{[app]: object}`", json: "object", secret: false, targets: ALL, required: true, meaning: "per-app facts, below; a StackReference returns it secret as a whole (it holds the DSNs)" },
  { key: "apps.<app>.database", type: "`{name, user}`", json: "object", secret: false, targets: ALL, required: false, meaning: "the app's Postgres database and role; absent without a database" },
  { key: "apps.<app>.broker", type: "`{vhost, user}`", json: "object", secret: false, targets: ALL, required: false, meaning: "the app's RabbitMQ vhost and user; absent without a broker" },
  { key: "apps.<app>.redisDb", type: "number", json: "number", secret: false, targets: ALL, required: true, meaning: "the app's Redis database number" },
  { key: "apps.<app>.routes", type: "string[]", json: "array", secret: false, targets: ALL, required: true, meaning: "URL path prefixes nginx routes to the app" },
  { key: "apps.<app>.hosts", type: "string[]", json: "array", secret: false, targets: ALL, required: true, meaning: "extra host names routed to the app" },
  { key: "apps.<app>.databaseUrl", type: "string", json: "string", secret: true, targets: ALL, required: false, meaning: "Postgres DSN as the app receives it (`postgres://user:pass@host:port/db`)" },
  { key: "apps.<app>.brokerUrl", type: "string", json: "string", secret: true, targets: ALL, required: false, meaning: "AMQP URL as the app receives it" },
  { key: "apps.<app>.redisUrl", type: "string", json: "string", secret: true, targets: ALL, required: true, meaning: "Redis URL as the app receives it (`rediss://` on managed Valkey)" },
  { key: "estimatedMonthlyCostUsd", type: "`{min, max}`", json: "object", secret: false, targets: ALL, required: false, meaning: "monthly DigitalOcean list price in USD at minimum and maximum scale (workload pool min/max nodes); 0 on `docker`; always exported, absent only on stacks last updated before the estimate existed" },
  { key: "estimatedMonthlyCostBreakdown", type: "`{resource, slug, count, unitUsd, minUsd, maxUsd, source}[]`", json: "array", secret: false, targets: ALL, required: false, meaning: "the estimate per billed resource and where each price comes from (docs/guardrails.md)" },
  { key: "backups", type: "`{enabled, note, bucket?, region?, schedule?, retentionDays?}`", json: "object", secret: false, targets: ALL, required: false, meaning: "the scheduled logical backups (docs/backups.md): the bucket, schedule and retention, or a note why there are none (managed PostgreSQL keeps DigitalOcean's own backups); always exported, absent only on stacks last updated before it existed" },
  { key: "egress", type: "`{address, stable, note}`", json: "object", secret: false, targets: ALL, required: false, meaning: "the address the stack's outbound traffic comes from, for an external service's allow-list (seed 004's ClickHouse): the Droplet's reserved IP with `droplet.egress: reserved-ip` (stable), its own IP otherwise; `address` null on Kubernetes (each node's IP, replaced with the nodes) and on `docker` (the machine's own); always exported, absent only on stacks last updated before it existed" },
  { key: "dropletIp", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "the Droplet's own public IPv4" },
  { key: "reservedIp", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "the reserved IP: the address to point DNS at and to use" },
  { key: "sshCommand", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "`ssh deploy@<reservedIp>`" },
  { key: "registry", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "`registry.digitalocean.com/<name>`" },
  { key: "dns", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "`managed: …`, `manual: …` or `none: …`: which A records exist or are to be created" },
  { key: "tls", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "TLS mode and the names on the certificate" },
  { key: "monitoring", type: "string", json: "string", secret: false, targets: ["droplet"], required: true, meaning: "the alert policies, or a note that there are none" },
  { key: "clusterName", type: "string", json: "string", secret: false, targets: ["kubernetes"], required: true, meaning: "DOKS cluster name" },
  { key: "clusterId", type: "string", json: "string", secret: false, targets: ["kubernetes"], required: true, meaning: "DOKS cluster id (what `doctl kubernetes cluster` takes)" },
  { key: "namespace", type: "string", json: "string", secret: false, targets: ["kubernetes"], required: true, meaning: "the namespace the stack's objects live in" },
  { key: "kubeconfig", type: "string", json: "string", secret: true, targets: ["kubernetes"], required: true, meaning: "kubeconfig using the doctl exec credential (needs doctl and `DIGITALOCEAN_ACCESS_TOKEN`)" },
  { key: "loadBalancerIp", type: "string", json: "string", secret: false, targets: ["kubernetes"], required: true, meaning: "the DigitalOcean Load Balancer's IP" },
  { key: "databaseHosts", type: "string[]", json: "array", secret: false, targets: ["kubernetes"], required: true, meaning: "private hosts of the managed Postgres and Valkey clusters, in that order; empty when both run in-cluster" },
];

/** Top-level keys a stack of `target` exports (always), from the contract. */
export function requiredKeys(target: Target): string[] {
  return OUTPUTS_CONTRACT.filter((e) => !e.key.includes(".") && e.required && e.targets.includes(target)).map((e) => e.key);
}

const isTarget = (v: unknown): v is Target => (TARGETS as readonly unknown[]).includes(v);

/** Checks another stack's raw outputs against the v1 contract; the errors say what to do. */
export function asStackOutputsV1(stackName: string, raw: Record<string, unknown>): StackOutputsV1 {
  checkVersion(stackName, raw.outputsVersion);
  if (!isTarget(raw.target)) throw new Error(`djangostack: stack ${stackName} exports target ${JSON.stringify(raw.target)}; this reader knows ${TARGETS.join(", ")}`);
  const missing = requiredKeys(raw.target).filter((k) => raw[k] === undefined);
  if (missing.length > 0) throw new Error(`djangostack: stack ${stackName} (target ${raw.target}) lacks the v1 output(s) ${missing.join(", ")}`);
  return raw as unknown as StackOutputsV1;
}

/** The version check alone: a missing version is not a djangostack stack (or not deployed yet). */
export function checkVersion(stackName: string, version: unknown): typeof OUTPUTS_VERSION {
  if (version === OUTPUTS_VERSION) return OUTPUTS_VERSION;
  if (version === undefined) {
    throw new Error(`djangostack: stack ${stackName} exports no outputsVersion: not a djangostack stack, or not deployed yet (run pulumi up there first)`);
  }
  throw new Error(
    `djangostack: stack ${stackName} exports outputs ${String(version)}; this reader understands ${OUTPUTS_VERSION}. ` +
      `Use the @djangostack/outputs release for ${String(version)}, or ask the stack's owners which contract they publish.`,
  );
}

/** The value of `key`, or an error naming the targets that export it. */
export function pickOutput<K extends OutputKey>(stackName: string, target: Target, key: K, value: unknown): OutputType<K> {
  if (value === undefined) {
    const entry = OUTPUTS_CONTRACT.find((e) => e.key === key);
    throw new Error(`djangostack: stack ${stackName} (target ${target}) has no output ${key}; it is exported on ${entry ? entry.targets.join(", ") : "no target"}`);
  }
  return value as OutputType<K>;
}

/** One app of `apps`, or an error naming the apps the stack has. */
export function pickApp(stackName: string, apps: Record<string, AppOutputV1>, name: string): AppOutputV1 {
  const app = apps[name];
  if (app === undefined) throw new Error(`djangostack: stack ${stackName} has no app ${name}; it has ${Object.keys(apps).join(", ")}`);
  return app;
}

/**
 * Typed reader over a StackReference. `get(key)` keeps each output's own secretness (a plain URL
 * stays plain, `kubeconfig` stays secret) and fails the consumer's deployment with a clear message
 * when the stack publishes another contract version or a key its target does not export.
 */
export class DjangostackStackReference {
  readonly stackName: string;
  readonly reference: pulumi.StackReference;
  /** The producer's contract version, checked: resolves to "v1" or fails. */
  readonly outputsVersion: pulumi.Output<typeof OUTPUTS_VERSION>;
  readonly target: pulumi.Output<Target>;

  constructor(stackName: string, opts?: pulumi.CustomResourceOptions) {
    this.stackName = stackName;
    this.reference = new pulumi.StackReference(stackName, { name: stackName }, opts);
    this.outputsVersion = this.raw("outputsVersion").apply((v) => checkVersion(stackName, v));
    this.target = pulumi.all([this.outputsVersion, this.raw("target")]).apply(([, t]) => {
      if (!isTarget(t)) throw new Error(`djangostack: stack ${stackName} exports target ${JSON.stringify(t)}; this reader knows ${TARGETS.join(", ")}`);
      return t;
    });
  }

  private raw(key: string): pulumi.Output<unknown> {
    return this.reference.getOutput(key) as pulumi.Output<unknown>;
  }

  /** One top-level output, typed; secret if the producer exported it as a secret. */
  get<K extends OutputKey>(key: K): pulumi.Output<OutputType<K>> {
    return pulumi.all([this.target, this.raw(key)]).apply(([target, value]) => pickOutput(this.stackName, target, key, value));
  }

  /** One app's outputs (secret: the member DSNs are). */
  app(name: string): pulumi.Output<AppOutputV1> {
    return this.get("apps").apply((apps) => pickApp(this.stackName, apps, name));
  }

  /** Every output at once, checked against the contract; secret as a whole if any output is. */
  all(): pulumi.Output<StackOutputsV1> {
    return this.reference.outputs.apply((raw) => asStackOutputsV1(this.stackName, raw));
  }
}

/** Shorthand: every output of `stackName` (org/project/stack), checked and typed. */
export function readStackOutputs(stackName: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<StackOutputsV1> {
  return new DjangostackStackReference(stackName, opts).all();
}
