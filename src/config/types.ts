import type { Platform } from "@pulumi/docker-build/types/enums";
import type { PriceOverrides } from "./prices";
import type { CronSchedule } from "./cron";

/**
 * The validated, defaulted configuration of one stack. Produced only by `parseConfig`;
 * every other module receives these plain objects and never reads Pulumi config itself.
 */

export const TARGETS = ["docker", "droplet", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

export const CELERY_POOLS = ["prefork", "eventlet", "gevent", "solo", "threads"] as const;
export type CeleryPool = (typeof CELERY_POOLS)[number];
/** Celery's broker: the RabbitMQ djangostack deploys (a vhost per app), or a database of its Redis. */
export const BROKER_KINDS = ["rabbitmq", "redis"] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

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
  /** Celery's --prefetch-multiplier (undefined: Celery's default, 4). */
  prefetchMultiplier?: number;
  /** Celery's --max-tasks-per-child (prefork only): a child is replaced after this many tasks. */
  maxTasksPerChild?: number;
  /** Celery's --autoscale (prefork only): child processes grow from min to max with the load; replaces concurrency. */
  autoscale?: { min: number; max: number };
}

/**
 * Where the static files come from: `release` runs collectstatic in the release one-off (into the
 * static volume, Docker targets only); `build` takes what the image collected at `static.root`.
 */
export const STATIC_COLLECT = ["release", "build"] as const;
export type StaticCollect = (typeof STATIC_COLLECT)[number];
/** Where an app's static files are served from: the edge (a volume or the image), or its media bucket behind the Spaces CDN. */
export const STATIC_STORAGES = ["edge", "spaces"] as const;
export type StaticStorage = (typeof STATIC_STORAGES)[number];

/** What a scheduled job does when its previous run is still going (Kubernetes' concurrencyPolicy). */
export const JOB_CONCURRENCY = ["forbid", "allow", "replace"] as const;
export type JobConcurrency = (typeof JOB_CONCURRENCY)[number];

/** A cron-like job of an app, run with the app's image and env; apart from Celery beat. */
export interface ScheduledJob {
  name: string;
  schedule: CronSchedule;
  /** Argument list, no shell. */
  command: string[];
  concurrency: JobConcurrency;
  /** A run still going after this many seconds is stopped and counts as failed. */
  timeLimitSeconds: number;
  resources: Resources;
}

export type AppSource =
  | { kind: "build"; context: string; dockerfile: string; target?: string; args?: Record<string, string> }
  | { kind: "image"; image: string };

/**
 * The web process's server: gunicorn with WSGI workers, or ASGI (needed for WebSockets) as gunicorn
 * with uvicorn's worker class, daphne, or uvicorn on its own.
 */
export const APP_SERVERS = ["gunicorn", "gunicorn-uvicorn", "daphne", "uvicorn"] as const;
export type AppServer = (typeof APP_SERVERS)[number];
export const GUNICORN_WORKER_CLASSES = ["sync", "gthread", "gevent", "eventlet"] as const;
export type GunicornWorkerClass = (typeof GUNICORN_WORKER_CLASSES)[number];

export interface GunicornSettings {
  /** WSGI worker class (server "gunicorn"); undefined: gthread with threads > 1, else sync. */
  workerClass?: GunicornWorkerClass;
  /** 0 means "derive from the container's CPU": (2 x cores) + 1. */
  workers: number;
  threads: number;
  timeoutSeconds: number;
  gracefulTimeoutSeconds: number;
  keepaliveSeconds: number;
  maxRequests: number;
  maxRequestsJitter: number;
}

/** How a process is probed: an HTTP GET of the app's path, a TCP connect to its port, a command, or not at all. */
export const PROBE_KINDS = ["http", "tcp", "exec", "none"] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

export type AppProbe = { kind: "http"; path: string } | { kind: "tcp" } | { kind: "exec"; command: string[] } | { kind: "none" };

/** The web process's probes and their timings (seconds), the same on every target. */
export interface AppHealth {
  liveness: AppProbe;
  readiness: AppProbe;
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

/** Conventions for the env names an app's settings read; each name may still be set one by one. */
export const ENV_PRESETS = ["djangostack", "twelve-factor", "cookiecutter-django"] as const;
export type EnvPreset = (typeof ENV_PRESETS)[number];

/** The settings djangostack hands an app through env; `names` says under which name each arrives. */
/**
 * Parts of the database, broker and ClickHouse connection one by one, for settings that build the URL
 * themselves (seed 000: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; RABBITMQ_USER, RABBITMQ_PASSWORD,
 * RABBITMQ_VHOST; seed 004: CLICKHOUSE_HOST, CLICKHOUSE_USER, ...).
 */
export const COMPONENT_ROLES = [
  "databaseHost", "databasePort", "databaseName", "databaseUser", "databasePassword",
  "brokerHost", "brokerPort", "brokerVhost", "brokerUser", "brokerPassword",
  "clickhouseHost", "clickhousePort", "clickhouseDatabase", "clickhouseUser", "clickhousePassword",
] as const;
export type ComponentRole = (typeof COMPONENT_ROLES)[number];
/** The services whose URL an app may also read in parts. */
export type ComponentService = "database" | "broker" | "clickhouse";
/**
 * The media bucket's settings (apps[].media.storage "spaces"), in django-storages' S3 terms; set only
 * for an app whose media are on Spaces.
 */
export const MEDIA_ROLES = [
  "mediaStorage", "storageBucket", "storageEndpoint", "storageRegion", "storageAccessKey", "storageSecretKey",
  "storageDefaultAcl", "storageQuerystringAuth", "storageQuerystringExpire",
] as const;
export type MediaRole = (typeof MEDIA_ROLES)[number];
export const ENV_ROLES = ["secretKey", "allowedHosts", "debug", "databaseUrl", "cacheUrl", "brokerUrl", "resultBackend", "clickhouseUrl", ...COMPONENT_ROLES, ...MEDIA_ROLES] as const;
export type EnvRole = (typeof ENV_ROLES)[number];
/** Env name per role; undefined: the app does not read it, so it is not set. */
export type EnvNames = Record<EnvRole, string | undefined>;

/** Services an app may take from outside the stack: a URL given as the secret `djangostack:external.<app>.<service>`. */
export const EXTERNAL_SERVICES = ["database", "cache", "broker", "resultBackend", "clickhouse"] as const;
export type ExternalService = (typeof EXTERNAL_SERVICES)[number];

/** What the edge does differently under one of an app's paths (and every location under it). */
export interface AppEdgePath {
  path: string;
  /** How long nginx waits for the app's response (proxy_read_timeout), instead of the app's. */
  timeoutSeconds?: number;
  /** Largest request body (client_max_body_size), instead of edge.clientMaxBody. */
  clientMaxBodyMiB?: number;
  /** Only clients in these networks (canonical CIDRs) reach it; others get 403. */
  allow?: string[];
  /** Cross-origin requests the edge allows here, answering their preflights itself. */
  cors?: CorsPolicy;
}

/** `apps[].edge.paths[].cors`: which other origins' pages may call the path from a browser. */
export interface CorsPolicy {
  /** Exact origins such as "https://app.example.com", or ["*"] for any (never with credentials). */
  origins: string[];
  methods: string[];
  headers: string[];
  exposeHeaders: string[];
  /** Cookies and Authorization from the other origin: Access-Control-Allow-Credentials. */
  credentials: boolean;
  maxAgeSeconds: number;
}

/** `apps[].edge`: the app's own edge settings. */
export interface AppEdge {
  paths: AppEdgePath[];
  /** Response headers added to the app's responses unless the app sent the header itself (e.g. Content-Security-Policy). */
  headers: Record<string, string>;
}

export interface AppConfig {
  name: string;
  source: AppSource;
  /** Python dotted path of the WSGI callable. */
  wsgi: string;
  /** Python dotted path of the ASGI application (the ASGI servers). */
  asgi: string;
  server: AppServer;
  /** Celery app module passed to `celery -A`. */
  celeryApp: string;
  settingsModule: string;
  /** URL path prefixes routed to this app, e.g. ["/api/auth/"]; "/" is the catch-all. */
  routes: string[];
  /** Extra host names (beyond the stack domain) routed entirely to this app, e.g. api.example.com. */
  hosts: string[];
  /** Any port: below 1024 the container is allowed to bind it unprivileged (a sysctl), the user stays non-root. */
  port: number;
  /** "uid:gid" the app's processes run as; undefined keeps the image's user (Docker) or 10001:10001 (Kubernetes). */
  user?: string;
  /** A database on the Postgres djangostack deploys (false when the app's database is external or absent). */
  database: boolean;
  /** Redis logical database number for cache/sessions; unique per app. */
  redisDb: number;
  /** Celery is used (workers, beat, a broker URL); `brokerKind` says where its broker lives. */
  broker: boolean;
  brokerKind: BrokerKind;
  /** With brokerKind "redis": the Redis database of the queues, apart from the cache's (a cache clear flushes its database). */
  brokerRedisDb?: number;
  /** Apps whose RabbitMQ vhost this app's broker user may also use (it enqueues tasks their workers run). */
  brokerAccess: string[];
  /** Apps whose web this app calls inside the stack: it gets their URLs, and only those calls are allowed. */
  calls: string[];
  workers: WorkerPool[];
  beat: boolean;
  migrate: boolean;
  /** Commands (argument lists) run after the migration with the new image, before any process rolls. */
  release: string[][];
  jobs: ScheduledJob[];
  env: Record<string, string>;
  /** Names of env vars whose values come from the secret `djangostack:secretEnv.<app>.<NAME>`. */
  secretEnvKeys: string[];
  replicas: number;
  autoscale?: Autoscale;
  resources: Resources;
  gunicorn: GunicornSettings;
  /** Where the app's collected static files are served (its STATIC_URL) and where its image holds them (STATIC_ROOT). */
  static: { url: string; root: string; collect: StaticCollect; storage: StaticStorage };
  /** Where its uploads are served (MEDIA_URL) and where its processes write them (MEDIA_ROOT, the media volume), or its Spaces bucket. */
  media: AppMedia;
  /** HTTP paths of the liveness and readiness probes; nginx routes each exactly to this app. */
  healthPath: string;
  readyPath: string;
  health: AppHealth;
  websocketPaths: string[];
  envNames: EnvNames;
  /** Services whose URL the app gets from `djangostack:external` instead of a deployed server. */
  external: ExternalService[];
  edge: AppEdge;
  /** `apps[].metrics`: where the web process serves Prometheus metrics; undefined: it serves none (or monitoring is off). */
  metrics?: AppMetrics;
}

/** Where an app's web process serves its Prometheus metrics: scraped inside the network, never through the edge. */
export interface AppMetrics {
  /** URL path (edge-denied on every site whatever edge.denyPaths says). */
  path: string;
  /** Port of the web container; the app's own port unless the app serves metrics on a listener of its own. */
  port: number;
}

/**
 * Where an app's uploads live: "volume", a volume the app's processes share and nginx serves under
 * `media.url` (one host: the Docker targets); "spaces", a Spaces bucket the app writes through
 * django-storages' S3 backend, which builds the URLs itself (src/config/media.ts); "none", nowhere
 * (an app that keeps no uploads: no volume, no bucket).
 */
export const MEDIA_STORAGES = ["volume", "spaces", "none"] as const;
export type MediaStorage = (typeof MEDIA_STORAGES)[number];

/** `apps[].media.storage: spaces`: the bucket and how its objects are read. */
export interface MediaSpaces {
  bucket: SpacesBucketConfig;
  /** Objects are private and the app hands out signed URLs (query-string auth) valid `expirySeconds`; false: public-read objects, plain URLs. */
  private: boolean;
  expirySeconds: number;
  /** `djangostack:mediaCredentials.<app>` is set; otherwise the stack generates a Spaces key limited to the bucket. */
  suppliedCredentials: boolean;
}

export interface AppMedia {
  url: string;
  root: string;
  storage: MediaStorage;
  /** Set exactly when storage is "spaces". */
  spaces?: MediaSpaces;
}

/** A Spaces bucket the stack creates (protected, retained on delete) or an existing one by name. */
export interface SpacesBucketConfig {
  name: string;
  region: string;
  create: boolean;
}

export interface FrontendConfig {
  source: AppSource;
  /** Path prefix it is served under; "/" makes it the catch-all and moves Django apps to their routes. */
  route: string;
  /** Host names served entirely by the frontend (e.g. www.example.com beside the API's domain). */
  hosts: string[];
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

/** A request limit over some paths: `rate` requests per second ("s") or per minute ("m"). */
export interface RateZone {
  name: string;
  rate: number;
  per: "s" | "m";
  /** Requests over the rate answered at once before 429 (nginx `burst`, with `nodelay`). */
  burst: number;
  /** URL path prefixes it covers, with every location under them. */
  paths: string[];
}

export interface RateLimit {
  /** Requests per second for ordinary paths. */
  generalPerSecond: number;
  generalBurst: number;
  /** Requests per minute for login and admin paths. */
  strictPerMinute: number;
  strictBurst: number;
  strictPaths: string[];
  /** Connections (HTTP/2: concurrent requests) one client address may hold open at once; 0: no limit. */
  connectionsPerClient: number;
  /** Limits of their own over some paths; the most specific zone covering a location replaces the general limit. */
  zones: RateZone[];
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

/** Headers a CDN writes the client address into (Cloudflare: CF-Connecting-IP; Akamai: True-Client-IP). */
export const CLIENT_ADDRESS_HEADERS = ["X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP", "True-Client-IP"] as const;
export type ClientAddressHeader = (typeof CLIENT_ADDRESS_HEADERS)[number];

/** Proxies in front of the edge (a CDN) whose word on the client address nginx takes. */
export interface TrustedProxies {
  /** Canonical CIDRs the proxies connect from. */
  cidrs: string[];
  header: ClientAddressHeader;
}

export interface EdgeConfig {
  /** Paths nginx answers 404 on every site, whatever app serves them (e.g. /metrics): "/x" covers /x and /x/... */
  denyPaths: string[];
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
  /** Undefined: no proxy in front (on Kubernetes, only the load balancer). */
  trustedProxies?: TrustedProxies;
  /** Host names that answer a permanent redirect to the same path on the domain (www to apex, or apex to www). */
  redirectHosts: string[];
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
  /** DigitalOcean's own Droplet backups (a disk image, 4 weeks kept), beside the logical `backups`. */
  backups: DropletBackupPlan;
  /** Where outbound traffic leaves from: the reserved IP (stable across Droplet replacement) or the Droplet's own. */
  egress: DropletEgress;
}

export const DROPLET_EGRESS = ["reserved-ip", "droplet-ip"] as const;
export type DropletEgress = (typeof DROPLET_EGRESS)[number];

export const DROPLET_BACKUP_PLANS = ["none", "weekly", "daily"] as const;
export type DropletBackupPlan = (typeof DROPLET_BACKUP_PLANS)[number];

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

export const LOG_FORMATS = ["json", "plain"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface StackConfig {
  project: string;
  stack: string;
  target: Target;
  region: string;
  /** How the apps' processes log: JSON lines (with the request id nginx sets) or plain text. */
  logFormat: LogFormat;
  domain?: string;
  apps: AppConfig[];
  frontend?: FrontendConfig;
  data: DataConfig;
  edge: EdgeConfig;
  docker: DockerTargetConfig;
  droplet?: DropletConfig;
  kubernetes?: KubernetesConfig;
  secrets: SecretsConfig;
  /** `djangostack:prices`: rows added to or replacing the slug/price table (src/config/prices.ts). */
  prices: PriceOverrides;
  /** Registry hosts with pull credentials in the secret `djangostack:registryCredentials`. */
  registries: string[];
  /** A stack (`org/project/stack`) whose exported image digests this one runs instead of building. */
  promoteFrom?: string;
  /** `djangostack:backups` (src/config/backups.ts). */
  backups: BackupsConfig;
  /** `djangostack:monitoring` (src/config/monitoring.ts). */
  monitoring: MonitoringConfig;
}

/** `djangostack:monitoring`: Prometheus metrics of the apps and the data services, and the operator's objects on Kubernetes. */
export interface MonitoringConfig {
  /** The apps' metrics endpoints and the exporters (each per its own switch). */
  enabled: boolean;
  /** Exporters for nginx, PostgreSQL, Redis and Celery (RabbitMQ serves its own metrics). */
  exporters: boolean;
  /** Kubernetes only: PodMonitors, the PrometheusRule and the Grafana dashboard ConfigMap (monitoring.coreos.com/v1). */
  prometheusOperator: boolean;
  /** Kubernetes: the namespace Prometheus scrapes from (NetworkPolicies admit it to the metrics ports). */
  namespace: string;
  /** Labels the PodMonitors and the PrometheusRule carry, for the operator's selectors (e.g. release: kube-prometheus-stack). */
  labels: Record<string, string>;
}

/** Scheduled logical backups of the stack's PostgreSQL to a Spaces bucket (src/render/backup.ts runs them). */
export interface BackupsConfig {
  enabled: boolean;
  /** UTC; the Docker scheduler takes the expanded sets, a CronJob the expression. */
  schedule: CronSchedule;
  /** The bucket's lifecycle rule expires objects after this many days; the script's prune uses it too. */
  retentionDays: number;
  bucket: SpacesBucketConfig;
  /** `djangostack:backupCredentials` is set; otherwise the stack generates a Spaces key limited to the bucket. */
  suppliedCredentials: boolean;
  /** Apps whose database on the deployed PostgreSQL is dumped. */
  databases: string[];
  /** data.postgres.mode "managed": DigitalOcean keeps its own daily backups and point-in-time recovery. */
  managedPostgres: boolean;
}
