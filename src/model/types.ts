/**
 * The platform-neutral workload model: every process of the stack described once, as plain data.
 * Realizers (Docker, Kubernetes) translate it; renderers read it. Nothing here knows Pulumi.
 */
import { AppEdgePath, ComponentService, ExternalService, JobConcurrency, Resources } from "../config/types";

/**
 * "job": one scheduled job (a Kubernetes CronJob); "scheduler": on Docker, the one container per app
 * that runs its jobs on their schedules; "chown": on Docker, the one-off that hands an app's volumes
 * to its uid.
 */
export type Role = "postgres" | "redis" | "rabbitmq" | "dbinit" | "chown" | "migrate" | "web" | "worker" | "beat" | "job" | "scheduler" | "frontend" | "edge" | "backup" | "exporter";

/** The Prometheus endpoint a process serves, scraped from inside the network only (never published, never routed by the edge). */
export interface MetricsEndpoint {
  port: number;
  path: string;
}

/** When a scheduled job runs: the cron expression as written (UTC), and what an overlap or overrun does. */
export interface JobSchedule {
  cron: string;
  concurrency: JobConcurrency;
  timeLimitSeconds: number;
}

/** An app image built or named by the Images tier, or a public image pulled as is. */
/** "backup": the backup image the Images tier builds (postgres of the server's major plus python3, src/model/backup.ts). */
export type ImageRef = { kind: "app"; app: string } | { kind: "frontend" } | { kind: "public"; ref: string } | { kind: "backup" };

export type Probe =
  | { kind: "http"; path: string; port: number; host?: string }
  | { kind: "exec"; command: string[] }
  | { kind: "tcp"; port: number };

export interface ProbeTiming {
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  startPeriodSeconds: number;
}

/** At least one of the two probes is set; a process probed by neither has no `health`. */
export interface Health {
  /** Is the process alive? Failing it restarts the process. Must not touch dependencies. Unset: never restarted for it. */
  liveness?: Probe;
  /** May it receive traffic / is it done starting? Unset: ready once it runs. */
  readiness?: Probe;
  timing: ProbeTiming;
}

/** "socket": a Unix socket directory shared by the processes of one host (Docker) or one pod. */
export type VolumeKind = "data" | "static" | "media" | "scratch" | "config" | "certs" | "acme" | "socket";

export interface VolumeMount {
  /** Logical volume name, shared between processes that mount the same data (e.g. "static-web"). */
  volume: string;
  kind: VolumeKind;
  mountPath: string;
  readOnly: boolean;
  /** Scratch volumes held in memory (gunicorn's worker tmp dir). */
  memory?: boolean;
  /** A disk scratch volume's size limit on Kubernetes, when the default (1 GiB) is too small (the backup's dumps). */
  sizeMiB?: number;
}

/** Typed claims on data services: what each process needs created for it. */
export interface Claims {
  postgres?: { database: string; role: string };
  rabbitmq?: { vhost: string; user: string };
  redis?: { db: number };
}

/** Credentials an app process gets as secret env; resolved by the realizer from the Secrets tier. */
export type ConnectionPart = "host" | "port" | "name" | "user" | "password";

export type SecretEnvSource =
  | { kind: "databaseUrl"; app: string }
  | { kind: "redisUrl"; app: string }
  /** The app's own broker user on its vhost, or (vhostOf) on another app's vhost it was granted. */
  | { kind: "brokerUrl"; app: string; vhostOf?: string }
  /** The app's Celery broker on the deployed Redis, in its brokerRedisDb. */
  | { kind: "redisBrokerUrl"; app: string }
  | { kind: "resultBackend"; app: string }
  | { kind: "djangoSecretKey"; app: string }
  | { kind: "postgresSuperuserPassword" }
  | { kind: "postgresBootstrapPassword" }
  | { kind: "databasePassword"; app: string }
  | { kind: "redisPassword" }
  | { kind: "rabbitmqAdminPassword" }
  /** The backup's RabbitMQ user (names.RABBITMQ_BACKUP_USER), which exports the live definitions. */
  | { kind: "rabbitmqBackupPassword" }
  | { kind: "userSecret"; app: string; key: string }
  /** One part of the app's database or broker connection (deployed, or read from its external URL). */
  | { kind: "component"; app: string; service: ComponentService; part: ConnectionPart }
  /** A URL the user supplied as the secret `djangostack:external.<app>.<service>`. */
  | { kind: "external"; app: string; service: ExternalService }
  /** The key pair of the backup bucket (djangostack:backupCredentials or the generated Spaces key). */
  | { kind: "backupCredential"; part: "accessKeyId" | "secretAccessKey" }
  /** The key pair of an app's media bucket (djangostack:mediaCredentials.<app> or its generated Spaces key). */
  | { kind: "mediaCredential"; app: string; part: "accessKeyId" | "secretAccessKey" };

export interface Process {
  /** Unique, DNS-safe: "postgres", "web-web", "web-worker-default", "web-beat", "web-migrate", "nginx". */
  name: string;
  role: Role;
  app?: string;
  image: ImageRef;
  command: string[];
  /** Arguments to the image's own entrypoint instead of `command` (the exporters' images): Docker's CMD, a Kubernetes container's `args`. */
  args?: string[];
  env: Record<string, string>;
  /** Env name -> where its secret value comes from. */
  secretEnv: Record<string, SecretEnvSource>;
  ports: { name: string; port: number }[];
  health?: Health;
  resources: Resources;
  replicas: number;
  autoscale?: { min: number; max: number; cpuPercent: number };
  /** Exactly one instance may ever run (beat, data services on one host). */
  singleton: boolean;
  /** Seconds between SIGTERM and SIGKILL. */
  stopGraceSeconds: number;
  volumes: VolumeMount[];
  /** Scheduled jobs only. */
  schedule?: JobSchedule;
  /** A one-off process that must complete before the named processes roll. */
  runOnceBefore?: string[];
  claims: Claims;
  /** uid:gid to run as; undefined when the image's own user is already unprivileged. */
  user?: string;
  /** Linux capabilities added back after dropping ALL (only the volume-ownership one-off has any). */
  capabilities?: readonly string[];
  /** A fixed container hostname, for servers that key their data by it; undefined lets the platform pick. */
  hostname?: string;
  readOnlyRootFs: boolean;
  /** Kernel parameters of the process's own network namespace, e.g. an unprivileged bind below 1024. */
  sysctls?: Record<string, string>;
  /** Data services this process needs reachable (drives ordering and network policy). */
  dependsOn: Role[];
  /** Its Prometheus endpoint (apps[].metrics, RabbitMQ's plugin, an exporter's). */
  metrics?: MetricsEndpoint;
  /** An exporter that must share the network namespace of this process (nginx's stub_status on loopback): a sidecar on Kubernetes. */
  sidecarOf?: string;
}

export interface AppRouting {
  app: string;
  upstream: string;
  port: number;
  routes: string[];
  hosts: string[];
  websocketPaths: string[];
  healthPath: string;
  readyPath: string;
  staticVolume: string;
  /** URL prefixes nginx serves the app's static files and uploads under; neither when they are in its bucket. */
  staticUrl?: string;
  mediaUrl?: string;
  /** How long nginx waits for the app's response, derived from its app server's timeout. */
  readTimeoutSeconds: number;
  /** The app's own edge settings per path (config `apps[].edge.paths`). */
  edgePaths: AppEdgePath[];
  /** Response headers the edge adds to the app's responses that lack them (config `apps[].edge.headers`). */
  edgeHeaders: Record<string, string>;
  /** The app's metrics path (apps[].metrics): the edge denies it on every site. */
  metricsPath?: string;
}

export interface WorkloadModel {
  project: string;
  stack: string;
  processes: Process[];
  routing: AppRouting[];
  frontend?: { upstream: string; port: number; route: string; hosts: string[] };
  /** Every volume any process mounts, once. */
  volumes: { name: string; kind: VolumeKind; sizeGiB: number }[];
  /**
   * Host names nginx answers for (domain, app, frontend and redirecting hosts), which certificates and
   * DNS records cover; empty means "any host on the IP".
   */
  serverNames: string[];
  /** Host names that answer a permanent redirect to the domain (edge.redirectHosts). */
  redirectHosts: string[];
}
