/**
 * RabbitMQ renderers: rabbitmq.conf (new-style sysctl format) and the definitions file it imports at
 * boot (users, vhosts, permissions). Both are pure: password hashes use a salt derived from the
 * inputs, so the same inputs always give the same text and a plan shows no spurious diff.
 */
import { createHash } from "node:crypto";
import { RabbitmqConfig } from "../config/types";
import { PATHS } from "../model/build";
import { APP_USER_TAG } from "./rabbitmq-retire";

export const DEFAULT_DEFINITIONS_PATH = `${PATHS.rabbitmqConfigDir}/conf.d/definitions.json`;

export interface RabbitmqConfOptions {
  port?: number;
  definitionsPath?: string;
  /** The management API's port, for the backup's export of the live definitions; absent: no HTTP listener. */
  managementPort?: number;
  /** rabbitmq_prometheus's listener (monitoring.enabled): its metrics, scraped inside the network only. */
  metricsPort?: number;
}

const MIB = 1024 * 1024;
const FILE_PATH = /^\/[A-Za-z0-9._/-]*$/;

export function renderRabbitmqConf(cfg: RabbitmqConfig, opts: RabbitmqConfOptions = {}): string {
  const port = opts.port ?? 5672;
  const definitions = opts.definitionsPath ?? DEFAULT_DEFINITIONS_PATH;
  for (const p of [port, ...[opts.managementPort, opts.metricsPort].filter((x): x is number => x !== undefined)]) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`renderRabbitmqConf: invalid port ${p}`);
  if (!FILE_PATH.test(definitions)) throw new Error(`renderRabbitmqConf: invalid definitionsPath ${JSON.stringify(definitions)}`);
  if (!(cfg.memoryHighWatermark > 0 && cfg.memoryHighWatermark < 1)) throw new Error(`renderRabbitmqConf: memoryHighWatermark must be in (0, 1), got ${cfg.memoryHighWatermark}`);
  if (!Number.isInteger(cfg.diskFreeLimitMiB) || cfg.diskFreeLimitMiB < 1) throw new Error(`renderRabbitmqConf: invalid diskFreeLimitMiB ${cfg.diskFreeLimitMiB}`);
  if (!Number.isInteger(cfg.resources.memoryMiB) || cfg.resources.memoryMiB < 1) throw new Error(`renderRabbitmqConf: invalid resources.memoryMiB ${cfg.resources.memoryMiB}`);
  // Sizes are written in bytes: the meaning of unit suffixes (MB vs MiB, "M") changed across releases.
  return `# rabbitmq.conf rendered by djangostack: do not edit.

listeners.tcp.default = ${port}

# Users, vhosts and permissions come from the definitions file, imported on every boot (so a rotated
# password applies on restart). With definitions configured, RabbitMQ creates neither the guest
# user nor the "/" vhost; should guest ever exist, it may only connect from localhost.
load_definitions = ${definitions}
loopback_users.guest = true

# Memory: the container's limit (${cfg.resources.memoryMiB} MiB), since a node cannot always see its cgroup limit;
# publishers are blocked at the watermark fraction of it.
total_memory_available_override_value = ${cfg.resources.memoryMiB * MIB}
vm_memory_high_watermark.relative = ${cfg.memoryHighWatermark}
# Free disk below ${cfg.diskFreeLimitMiB} MiB blocks publishers.
disk_free_limit.absolute = ${cfg.diskFreeLimitMiB * MIB}

# Celery keeps prefetched and ETA/countdown messages unacknowledged for as long as they wait; the
# 30-minute default would close its channel. 24 hours still catches a truly stuck consumer.
consumer_timeout = 86400000

# The console only: the log directory is on the container's read-only root.
log.console = true
log.console.level = info
log.file = false

${
    opts.managementPort === undefined
      ? "# The management plugin is not enabled (no enabled_plugins entry): no management UI or HTTP API.\n"
      : `# The management API, for the backup's export of the live definitions (GET /api/definitions). Its
# statistics database is off: the API serves definitions without it, and the node saves the memory.
management.tcp.port = ${opts.managementPort}
management.disable_stats = true
`
  }${
    opts.metricsPort === undefined
      ? ""
      : `
# rabbitmq_prometheus (the official image enables it; a package install needs it in enabled_plugins):
# aggregated metrics on their own port, reached from inside the network only.
prometheus.tcp.port = ${opts.metricsPort}
`
  }`;
}

export interface RabbitmqDefinitionsInput {
  apps: { vhost: string; user: string; password: string }[];
  admin: { user: string; password: string };
  /** Further (user, vhost) permissions: an app's user on another app's vhost (apps[].brokerAccess). */
  grants?: { user: string; vhost: string }[];
  /** The backup's user: administrator (the only tag GET /api/definitions accepts), no vhost permission. */
  backup?: { user: string; password: string };
}

/**
 * RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ utf8(password))) with a
 * 4-byte salt. The salt is the first 4 bytes of sha256(user NUL password): deterministic, distinct per
 * user and per password, and no weaker than a random one for these 32-character generated passwords.
 */
export function rabbitPasswordHash(user: string, password: string): string {
  const salt = createHash("sha256").update(`${user}\0${password}`, "utf8").digest().subarray(0, 4);
  const hash = createHash("sha256").update(salt).update(Buffer.from(password, "utf8")).digest();
  return Buffer.concat([salt, hash]).toString("base64");
}

const NAME = /^[A-Za-z0-9_/.-]{1,255}$/;

/**
 * Vhosts use classic queues by default. Celery 5.2 declares its `celery` queue without arguments and
 * uses auto-delete/non-durable queues for remote control (pidbox) and events, which quorum queues
 * reject; it also relies on global QoS, which quorum queues do not support. Quorum needs Celery >= 5.5
 * with explicit queue arguments, so classic it is. A single-node broker gains nothing from quorum.
 */
const DEFAULT_QUEUE_TYPE = "classic";

export function renderRabbitmqDefinitions(input: RabbitmqDefinitionsInput): string {
  const { apps, admin } = input;
  const grants = input.grants ?? [];
  for (const g of grants) {
    if (!apps.some((a) => a.user === g.user) || !apps.some((a) => a.vhost === g.vhost)) throw new Error(`renderRabbitmqDefinitions: grant of ${g.vhost} to ${g.user} names an unknown user or vhost`);
  }
  const backup = input.backup ? [input.backup] : [];
  for (const name of [admin.user, ...backup.map((b) => b.user), ...apps.flatMap((a) => [a.user, a.vhost])]) {
    if (!NAME.test(name)) throw new Error(`renderRabbitmqDefinitions: invalid user or vhost name ${JSON.stringify(name)}`);
  }
  for (const [who, password] of [[admin.user, admin.password], ...backup.map((b) => [b.user, b.password]), ...apps.map((a) => [a.user, a.password])]) {
    if (password.length === 0) throw new Error(`renderRabbitmqDefinitions: empty password for ${who}`);
  }
  const users = [admin.user, ...backup.map((b) => b.user), ...apps.map((a) => a.user)];
  if (users.includes("guest")) throw new Error("renderRabbitmqDefinitions: the guest user is never defined");
  if (new Set(users).size !== users.length) throw new Error("renderRabbitmqDefinitions: user names must be unique");
  const vhosts = [...new Set(apps.map((a) => a.vhost))];
  if (vhosts.length !== apps.length) throw new Error("renderRabbitmqDefinitions: each app needs its own vhost");

  const user = (name: string, password: string, tags: string[]) => ({
    name,
    password_hash: rabbitPasswordHash(name, password),
    hashing_algorithm: "rabbit_password_hashing_sha256",
    tags,
    limits: {},
  });
  const all = { configure: ".*", write: ".*", read: ".*" };
  const definitions = {
    users: [user(admin.user, admin.password, ["administrator"]), ...backup.map((b) => user(b.user, b.password, ["administrator"])), ...apps.map((a) => user(a.user, a.password, [APP_USER_TAG]))],
    vhosts: vhosts.map((name) => ({
      name,
      description: "djangostack app vhost",
      tags: [],
      default_queue_type: DEFAULT_QUEUE_TYPE,
      metadata: { description: "djangostack app vhost", tags: [], default_queue_type: DEFAULT_QUEUE_TYPE },
    })),
    permissions: [
      ...apps.map((a) => ({ user: a.user, vhost: a.vhost, ...all })),
      ...grants.filter((g) => !apps.some((a) => a.user === g.user && a.vhost === g.vhost)).map((g) => ({ user: g.user, vhost: g.vhost, ...all })),
      ...vhosts.map((vhost) => ({ user: admin.user, vhost, ...all })),
    ],
    topic_permissions: [],
    parameters: [],
    global_parameters: [],
    policies: [],
    queues: [],
    exchanges: [],
    bindings: [],
  };
  return JSON.stringify(definitions, null, 2) + "\n";
}
