import type { Platform } from "@pulumi/docker-build/types/enums";

/**
 * The validated, defaulted configuration of one stack. Produced only by `parseConfig`;
 * every other module receives these plain objects and never reads Pulumi config itself.
 */

export const TARGETS = ["docker", "droplet", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

export const CELERY_POOLS = ["prefork", "eventlet", "gevent", "solo", "threads"] as const;
export type CeleryPool = (typeof CELERY_POOLS)[number];

export const TLS_MODES = ["none", "letsencrypt", "files"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export const DATA_MODES = ["container", "managed"] as const;
export type DataMode = (typeof DATA_MODES)[number];

export const REDIS_EVICTION_POLICIES = [
  "noeviction",
  "allkeys-lru",
  "volatile-lru",
  "allkeys-lfu",
  "volatile-lfu",
  "allkeys-random",
  "volatile-random",
  "volatile-ttl",
] as const;
export type RedisEvictionPolicy = (typeof REDIS_EVICTION_POLICIES)[number];
/** What DigitalOcean's managed Valkey accepts (the provider's DatabaseValkeyConfig validation): no LFU. */
export const VALKEY_EVICTION_POLICIES = ["noeviction", "allkeys-lru", "allkeys-random", "volatile-lru", "volatile-random", "volatile-ttl"] as const satisfies readonly RedisEvictionPolicy[];

/** CPU in millicores and memory in MiB: one unit system for Docker and Kubernetes. */
export interface Resources {
  cpuMillis: number;
  memoryMiB: number;
}

export interface Autoscale {
  min: number;
  max: number;
  cpuPercent: number;
}

export interface WorkerPool {
  name: string;
  queues: string[];
  concurrency: number;
  pool: CeleryPool;
  replicas: number;
  /** Hard task time limit in seconds; the worker's stop grace is never shorter. */
  timeLimitSeconds: number;
  resources: Resources;
}

export type AppSource =
  | { kind: "build"; context: string; dockerfile: string; target?: string }
  | { kind: "image"; image: string };

export interface GunicornSettings {
  /** 0 means "derive from the container's CPU": (2 x cores) + 1. */
  workers: number;
  threads: number;
  timeoutSeconds: number;
  gracefulTimeoutSeconds: number;
  keepaliveSeconds: number;
  maxRequests: number;
  maxRequestsJitter: number;
}

export interface AppConfig {
  name: string;
  source: AppSource;
  /** Python dotted path of the WSGI callable. */
  wsgi: string;
  /** Celery app module passed to `celery -A`. */
  celeryApp: string;
  settingsModule: string;
  /** URL path prefixes routed to this app, e.g. ["/api/auth/"]; "/" is the catch-all. */
  routes: string[];
  /** Extra host names (beyond the stack domain) routed entirely to this app, e.g. api.example.com. */
  hosts: string[];
  port: number;
  database: boolean;
  /** Redis logical database number for cache/sessions; unique per app. */
  redisDb: number;
  broker: boolean;
  workers: WorkerPool[];
  beat: boolean;
  migrate: boolean;
  env: Record<string, string>;
  /** Names of env vars whose values come from the secret `djangostack:secretEnv.<app>.<NAME>`. */
  secretEnvKeys: string[];
  replicas: number;
  autoscale?: Autoscale;
  resources: Resources;
  gunicorn: GunicornSettings;
  healthPath: string;
  readyPath: string;
  websocketPaths: string[];
}

export interface FrontendConfig {
  source: AppSource;
  /** Path prefix it is served under; "/" makes it the catch-all and moves Django apps to their routes. */
  route: string;
  port: number;
  resources: Resources;
}

export interface PostgresConfig {
  mode: DataMode;
  version: string;
  resources: Resources;
  volumeSizeGiB: number;
  /** Managed (DigitalOcean) cluster size slug and node count. */
  managedSize: string;
  managedNodes: number;
  maxConnections: number;
}

export interface RedisConfig {
  mode: DataMode;
  version: string;
  resources: Resources;
  volumeSizeGiB: number;
  maxMemoryMiB: number;
  evictionPolicy: RedisEvictionPolicy;
  managedSize: string;
}

export interface RabbitmqConfig {
  version: string;
  resources: Resources;
  volumeSizeGiB: number;
  /** Fraction of memory at which publishers are blocked. */
  memoryHighWatermark: number;
  diskFreeLimitMiB: number;
}

export interface DataConfig {
  postgres: PostgresConfig;
  redis: RedisConfig;
  rabbitmq: RabbitmqConfig;
}

export interface RateLimit {
  /** Requests per second for ordinary paths. */
  generalPerSecond: number;
  generalBurst: number;
  /** Requests per minute for login and admin paths. */
  strictPerMinute: number;
  strictBurst: number;
  strictPaths: string[];
}

export interface TlsConfig {
  mode: TlsMode;
  /** Let's Encrypt account email (mode letsencrypt). */
  email?: string;
  /** Use the Let's Encrypt staging CA (for trials that must not hit rate limits). */
  staging: boolean;
  /** Paths on the host running nginx (mode files). */
  certificatePath?: string;
  keyPath?: string;
}

export interface EdgeConfig {
  nginxVersion: string;
  /** Host port nginx publishes for plain HTTP (default 8080 on a loopback Docker engine, 80 elsewhere). */
  httpPort: number;
  httpsPort: number;
  tls: TlsConfig;
  clientMaxBodyMiB: number;
  hstsSeconds: number;
  /** HSTS `includeSubDomains`: every subdomain must serve HTTPS too. */
  hstsIncludeSubDomains: boolean;
  /** HSTS `preload` (hstspreload.org); needs includeSubDomains and at least a year. */
  hstsPreload: boolean;
  rateLimit: RateLimit;
  resources: Resources;
  replicas: number;
}

/** Where nginx publishes its ports on the engine's host (target docker). */
export const DOCKER_PUBLISH = ["loopback", "public"] as const;
export type DockerPublish = (typeof DOCKER_PUBLISH)[number];

/** Build platforms a Docker server may run: the Linux values of docker-build's `Platform` enum. */
export const DOCKER_PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm", "linux/386", "linux/ppc64le", "linux/riscv64", "linux/s390x"] as const satisfies readonly Platform[];
export type DockerPlatform = (typeof DOCKER_PLATFORMS)[number];

export interface DockerTargetConfig {
  /** Docker engine address; empty means the local engine's default socket. */
  host?: string;
  /** ssh:// or tcp:// (a tunnel): the engine runs on another machine, whose architecture we cannot see. */
  remote: boolean;
  /** "loopback" publishes nginx on 127.0.0.1 of the engine's host; "public" on 0.0.0.0. */
  publish: DockerPublish;
  /** Platform the app images are built for; undefined builds for the builder's native platform. */
  platform?: DockerPlatform;
  logMaxSizeMiB: number;
  logMaxFiles: number;
}

export interface DropletConfig {
  size: string;
  image: string;
  sshKeys: string[];
  adminCidrs: string[];
  tags: string[];
  alertEmails: string[];
  swapGiB: number;
  registry: { name: string; create: boolean; tier: string };
  dnsManaged: boolean;
  deployUser: string;
}

export interface KubernetesConfig {
  versionPrefix: string;
  /** Exact DOKS version: applied as given, without DigitalOcean's auto-upgrade. Unset: resolved from the prefix once, on create. */
  version?: string;
  namespace: string;
  ha: boolean;
  maintenance: { day: string; startTime: string };
  systemPool: { size: string; count: number };
  workloadPool: { size: string; minNodes: number; maxNodes: number };
  registry: { name: string; create: boolean; tier: string };
  dnsManaged: boolean;
  loadBalancerSize: string;
}

export interface SecretsConfig {
  /** Bump to regenerate every generated credential. */
  rotation: number;
}

export interface StackConfig {
  project: string;
  stack: string;
  target: Target;
  region: string;
  domain?: string;
  apps: AppConfig[];
  frontend?: FrontendConfig;
  data: DataConfig;
  edge: EdgeConfig;
  docker: DockerTargetConfig;
  droplet?: DropletConfig;
  kubernetes?: KubernetesConfig;
  secrets: SecretsConfig;
}
