/**
 * Does the stack fit its machines? Pure arithmetic over the validated config and the workload model,
 * run during config validation (src/config/capacity.ts turns failures into config errors) and by the
 * offline render (warnings in plan.txt). Every check reports its numbers, so a message says how far
 * over the stack is and which key to change. docs/guardrails.md explains each reserve and its source.
 */
import { AppConfig, StackConfig } from "../config/types";
import { PriceTable, machine } from "../config/prices";
import { GUNICORN_MAX_DERIVED_WORKERS, GUNICORN_MIB_PER_WORKER } from "../render/gunicorn";
import { poolSize } from "./managed";
import { Process, WorkloadModel } from "./types";
import { hasReleaseProcess } from "./build";

/** Above this share of what is available a check warns: a near miss. */
export const NEAR_MISS = 0.85;

/**
 * What a Droplet keeps from its containers: the kernel and firmware (MemTotal is below the plan's
 * memory), systemd, journald, sshd, dockerd and containerd, DigitalOcean's droplet-agent and do-agent,
 * and unattended-upgrades' apt runs. An estimate of their resident memory, not a measurement.
 */
export const DROPLET_RESERVE_MIB = 512;
/** CPU limits may add up to this many times the vCPUs before the processes starve each other under load. */
export const CPU_OVERCOMMIT = 2;
/** DOKS's own pods on every node (Cilium, CSI node plugin, konnectivity agent, do-node-agent), estimated. */
export const DOKS_DAEMONSET = { memoryMiB: 256, cpuMillis: 200 };
/** PostgreSQL's superuser_reserved_connections default: ordinary roles never get these. */
export const PG_SUPERUSER_RESERVED = 3;
/** A pg_dump backup holds one connection while it runs. */
export const BACKUP_CONNECTIONS = 1;

/**
 * The kubelet reserve by node memory (25% of the first 4 GiB, 20% of the next 4, 10% of the next 8,
 * 6% up to 128 GiB, 2% above, plus a 100 MiB eviction threshold) and CPU (6% of the first core, 1% of
 * the second, 0.5% of the next two, 0.25% above): the tiers GKE documents and most managed Kubernetes
 * use. DigitalOcean's own per-size table could not be sourced here; see docs/guardrails.md.
 */
export function nodeReserve(vcpus: number, memoryMiB: number): { memoryMiB: number; cpuMillis: number } {
  const tiers: [number, number][] = [[4096, 0.25], [4096, 0.2], [8192, 0.1], [114688, 0.06], [Infinity, 0.02]];
  let left = memoryMiB;
  let memory = 100;
  for (const [size, share] of tiers) {
    const part = Math.min(left, size);
    memory += part * share;
    left -= part;
  }
  const cpuTiers: [number, number][] = [[1, 60], [1, 10], [2, 5], [Infinity, 2.5]];
  let cores = vcpus;
  let cpu = 0;
  for (const [n, millis] of cpuTiers) {
    const part = Math.min(cores, n);
    cpu += part * millis;
    cores -= part;
  }
  return { memoryMiB: Math.ceil(memory), cpuMillis: Math.ceil(cpu) };
}

export type Verdict = "ok" | "warn" | "fail";

export interface CapacityCheck {
  /** What is measured, e.g. "droplet memory". */
  what: string;
  /** The config key whose change fixes it. */
  key: string;
  used: number;
  available: number;
  unit: "MiB" | "millicores" | "connections";
  verdict: Verdict;
  /** The arithmetic, e.g. "containers 3264 + deploy surge 256 + system reserve 512". */
  detail: string;
  fix: string;
}

export const verdictOf = (used: number, available: number): Verdict => (used > available ? "fail" : used > available * NEAR_MISS ? "warn" : "ok");

const maxReplicas = (p: Process): number => p.autoscale?.max ?? p.replicas;
const oneOff = (p: Process): boolean => p.runOnceBefore !== undefined;

function check(what: string, key: string, unit: CapacityCheck["unit"], used: number, available: number, detail: string, fix: string): CapacityCheck {
  return { what, key, unit, used, available, verdict: verdictOf(used, available), detail, fix };
}

/** The extra memory of a deploy: the largest one-off (a migration) or second copy of a rolling process. */
function deploySurge(processes: Process[], rolling: (p: Process) => number): number {
  return Math.max(0, ...processes.map((p) => (oneOff(p) ? p.resources.memoryMiB : rolling(p))));
}

function dropletChecks(config: StackConfig, model: WorkloadModel, table: PriceTable): CapacityCheck[] {
  const size = config.droplet?.size ?? "";
  const host = machine(table, "droplets", size);
  if (!host) return [];
  const running = model.processes.filter((p) => !oneOff(p));
  const steady = running.reduce((sum, p) => sum + p.resources.memoryMiB * p.replicas, 0);
  // The health-gated cutover starts each new web or frontend container before the old one stops.
  const surge = deploySurge(model.processes, (p) => (p.role === "web" || p.role === "frontend" ? p.resources.memoryMiB : 0));
  const used = steady + surge + DROPLET_RESERVE_MIB;
  const swapMiB = (config.droplet?.swapGiB ?? 0) * 1024;
  const cpuSum = running.reduce((sum, p) => sum + p.resources.cpuMillis * p.replicas, 0);
  const vcpuMillis = host.vcpus * 1000;
  const memory = check("Droplet memory", "droplet.size", "MiB", used, host.memoryMiB, `container memory limits ${steady} + deploy surge ${surge} + system reserve ${DROPLET_RESERVE_MIB} on ${size} (${host.memoryMiB} MiB, swap ${swapMiB} MiB)`, "choose a larger droplet.size or lower the resources.memory of apps, workers and data services");
  // What runs all the time must fit in RAM; a deploy's extra container is brief and may lean on the swap file.
  if (memory.verdict === "fail" && steady + DROPLET_RESERVE_MIB <= host.memoryMiB && used <= host.memoryMiB + swapMiB) memory.verdict = "warn";
  const checks = [
    memory,
    check("Droplet CPU limits", "droplet.size", "millicores", cpuSum, vcpuMillis * CPU_OVERCOMMIT, `CPU limits add up to ${cpuSum}m on ${host.vcpus} vCPU (${CPU_OVERCOMMIT}x overcommit allowed)`, "choose a droplet.size with more vCPUs or lower the resources.cpu of the processes"),
  ];
  // Only a near miss for the sum: CPU is shared, not lost. One limit above the machine limits nothing.
  if (checks[1].verdict === "fail") checks[1].verdict = "warn";
  for (const p of running.filter((x) => x.resources.cpuMillis > vcpuMillis)) {
    checks.push(check(`CPU limit of ${p.name}`, "droplet.size", "millicores", p.resources.cpuMillis, vcpuMillis, `${p.name} may use ${p.resources.cpuMillis}m; ${size} has ${host.vcpus} vCPU`, `lower its resources.cpu to at most ${vcpuMillis}m or choose a larger droplet.size`));
  }
  return checks;
}

function kubernetesChecks(config: StackConfig, model: WorkloadModel, table: PriceTable): CapacityCheck[] {
  const kc = config.kubernetes;
  if (!kc) return [];
  const node = machine(table, "droplets", kc.workloadPool.size);
  if (!node) return [];
  const reserve = nodeReserve(node.vcpus, node.memoryMiB);
  const allocatable = { memoryMiB: node.memoryMiB - reserve.memoryMiB - DOKS_DAEMONSET.memoryMiB, cpuMillis: node.vcpus * 1000 - reserve.cpuMillis - DOKS_DAEMONSET.cpuMillis };
  const running = model.processes.filter((p) => !oneOff(p));
  // RollingUpdate's default maxSurge is 25% (rounded up); singletons use Recreate and never surge.
  const surgePods = (p: Process) => (p.singleton ? 0 : Math.ceil(maxReplicas(p) * 0.25));
  const sum = (f: (p: Process) => number) => running.reduce((s, p) => s + f(p) * maxReplicas(p), 0);
  const memory = sum((p) => p.resources.memoryMiB);
  const cpu = sum((p) => p.resources.cpuMillis);
  const surgeMemory = deploySurge(model.processes, (p) => p.resources.memoryMiB * surgePods(p));
  const surgeCpu = Math.max(0, ...model.processes.map((p) => p.resources.cpuMillis * (oneOff(p) ? 1 : surgePods(p))));
  const nodes = kc.workloadPool.maxNodes;
  const per = `${kc.workloadPool.size}: ${node.memoryMiB} MiB - kubelet reserve ${reserve.memoryMiB} - DOKS pods ${DOKS_DAEMONSET.memoryMiB} = ${allocatable.memoryMiB} MiB allocatable per node`;
  const checks = [
    check("workload pool memory requests", "kubernetes.workloadPool.maxNodes", "MiB", memory + surgeMemory, allocatable.memoryMiB * nodes, `requests at maximum replicas ${memory} + rollout surge ${surgeMemory} on ${nodes} node(s) of ${per}`, "raise kubernetes.workloadPool.maxNodes or its size, or lower replicas/autoscale.max or resources.memory"),
    check("workload pool CPU requests", "kubernetes.workloadPool.maxNodes", "millicores", cpu + surgeCpu, allocatable.cpuMillis * nodes, `requests at maximum replicas ${cpu}m + rollout surge ${surgeCpu}m on ${nodes} node(s) of ${node.vcpus * 1000}m - ${reserve.cpuMillis}m - ${DOKS_DAEMONSET.cpuMillis}m = ${allocatable.cpuMillis}m allocatable each`, "raise kubernetes.workloadPool.maxNodes or its size, or lower replicas/autoscale.max or resources.cpu"),
  ];
  // A pod larger than one node is never scheduled, whatever the node count.
  for (const p of running.filter((x) => x.resources.memoryMiB > allocatable.memoryMiB)) {
    checks.push(check(`pod ${p.name}`, "kubernetes.workloadPool.size", "MiB", p.resources.memoryMiB, allocatable.memoryMiB, `${p.name} requests ${p.resources.memoryMiB} MiB; one node of ${per}`, "choose a larger kubernetes.workloadPool.size or lower its resources.memory"));
  }
  return checks;
}

/** Gunicorn workers of one web container: the configured count, else what gunicorn.conf.py derives. */
export function gunicornWorkers(app: AppConfig, cpus: number | undefined): number {
  if (app.gunicorn.workers > 0) return app.gunicorn.workers;
  const cap = Math.min(GUNICORN_MAX_DERIVED_WORKERS, Math.max(1, Math.floor(app.resources.memoryMiB / GUNICORN_MIB_PER_WORKER)));
  return cpus === undefined ? cap : Math.max(1, Math.min(2 * cpus + 1, cap));
}

/** The CPUs gunicorn sees: its cgroup quota on Docker; the whole node on Kubernetes, which sets no CPU limit. */
function webCpus(config: StackConfig, app: AppConfig, table: PriceTable): number | undefined {
  if (config.target === "kubernetes") return config.kubernetes && machine(table, "droplets", config.kubernetes.workloadPool.size)?.vcpus;
  return Math.ceil(app.resources.cpuMillis / 1000);
}

export interface AppConnections {
  app: string;
  web: number;
  workers: number;
  beat: number;
  release: number;
  total: number;
}

/** Connections one app opens at maximum scale: one per gunicorn thread, Celery child and one-off. */
export function appConnections(config: StackConfig, app: AppConfig, table: PriceTable): AppConnections {
  const webReplicas = app.autoscale?.max ?? app.replicas;
  const web = gunicornWorkers(app, webCpus(config, app, table)) * app.gunicorn.threads * webReplicas;
  const workers = app.workers.reduce((s, w) => s + (w.autoscale?.max ?? w.concurrency) * w.replicas, 0);
  const beat = app.beat ? 1 : 0;
  const release = hasReleaseProcess(config, app) ? 1 : 0;
  return { app: app.name, web, workers, beat, release, total: web + workers + beat + release };
}

const describe = (c: AppConnections) => `${c.app}: web ${c.web} + Celery ${c.workers} + beat ${c.beat} + release ${c.release}`;

function postgresChecks(config: StackConfig, table: PriceTable): CapacityCheck[] {
  const apps = config.apps.filter((a) => a.database);
  if (apps.length === 0) return [];
  const per = apps.map((a) => appConnections(config, a, table));
  const pg = config.data.postgres;
  if (pg.mode === "managed") {
    // Each app reaches the managed cluster through its own PgBouncer pool in session mode: one server connection per client.
    const size = poolSize(pg.managedSize, apps.length);
    return per.map((c) => check(`PostgreSQL pool of ${c.app}`, "data.postgres.managedSize", "connections", c.total, size, `${describe(c)} = ${c.total} clients; its pool on ${pg.managedSize} has ${size}`, "choose a larger data.postgres.managedSize, or lower gunicorn workers/threads, autoscale.max or Celery concurrency"));
  }
  const total = per.reduce((s, c) => s + c.total, 0) + 1 + BACKUP_CONNECTIONS;
  const available = pg.maxConnections - PG_SUPERUSER_RESERVED;
  return [check("PostgreSQL connections", "data.postgres.maxConnections", "connections", total, available, `${per.map(describe).join("; ")}; init 1 + backup ${BACKUP_CONNECTIONS} = ${total} of max_connections ${pg.maxConnections} - ${PG_SUPERUSER_RESERVED} superuser-reserved`, "raise data.postgres.maxConnections (and the Postgres memory with it), or lower gunicorn workers/threads, autoscale.max or Celery concurrency")];
}

function redisChecks(config: StackConfig): CapacityCheck[] {
  const r = config.data.redis;
  if (r.mode !== "container") return [];
  // Redis needs room beside maxmemory for its own process, client buffers and the copy-on-write pages of an AOF rewrite.
  return [check("Redis maxmemory", "data.redis.maxMemory", "MiB", r.maxMemoryMiB, r.resources.memoryMiB, `maxmemory ${r.maxMemoryMiB} MiB in a ${r.resources.memoryMiB} MiB container`, "lower data.redis.maxMemory or raise data.redis.resources.memory")];
}

export function capacityChecks(config: StackConfig, model: WorkloadModel, table: PriceTable): CapacityCheck[] {
  return [
    ...(config.target === "droplet" ? dropletChecks(config, model, table) : []),
    ...(config.target === "kubernetes" ? kubernetesChecks(config, model, table) : []),
    ...postgresChecks(config, table),
    ...redisChecks(config),
  ];
}

const pct = (c: CapacityCheck) => `${Math.round((c.used / c.available) * 100)}%`;

/** One line per check: what, the numbers, the share, and the fix when it is not ok. */
export function formatCheck(c: CapacityCheck): string {
  const head = `${c.what}: ${c.used} of ${c.available} ${c.unit} (${pct(c)}): ${c.detail}`;
  return c.verdict === "ok" ? head : `${head}; ${c.verdict === "fail" ? "does not fit" : `over ${Math.round(NEAR_MISS * 100)}%, a near miss`}: ${c.fix}`;
}
