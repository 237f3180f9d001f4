import { AppConfig, AppMetrics, AppProbe, COMPONENT_ROLES, ExternalService, StackConfig, WorkerPool } from "../config/types";
import { COMPONENT_PARTS, EXTERNAL_ROLE, brokerAccessEnv, usesDeployedRabbitmq, usesDeployedRedis } from "../config/contract";
import { Health, Probe, Process, SecretEnvSource, VolumeMount, WorkloadModel } from "./types";
import * as names from "./names";
import { serviceUrlEnv } from "../config/calls";
import { PostgresGuardInput, renderPostgresGuard } from "../render/postgres-guard";
import { renderRedisStartCommand } from "../render/redis";
import { renderRabbitmqRetireScript } from "../render/rabbitmq-retire";
import { shellQuote } from "../render/oneoff";
import { SCHEDULER_STOP_GRACE_SECONDS } from "../render/scheduler";
import { staticCopyCommand } from "./static";
import { OWNERSHIP_CAPABILITIES, volumeOwnershipCommand } from "../render/ownership";
import { backsUpBrokerDefinitions, backupProcesses } from "./backup";
import { mediaEnv, mediaMounts, mediaSecretEnv, staticOnSpaces } from "./media";
import { exporterProcesses, rabbitmqMetrics } from "./monitoring";

/** In-container paths shared by the realizers and the renderers. */
export const PATHS = {
  gunicornConfig: "/etc/djangostack/gunicorn.conf.py",
  imageStatic: "/app/staticfiles",
  /** The static volume in the release one-off when the image collected at build (`static.collect: build`). */
  staticVolume: "/srv/djangostack-static",
  /** Where the volume-ownership one-off mounts an app's static and media volumes. */
  ownershipRoot: "/srv/djangostack-volumes",
  media: "/srv/media",
  celeryState: "/tmp/celery",
  /** The web process's PROMETHEUS_MULTIPROC_DIR: on its in-memory /tmp, emptied by gunicorn's on_starting. */
  metricsDir: "/tmp/djangostack-metrics",
  workerHeartbeat: "/tmp/celery/worker.heartbeat",
  workerReady: "/tmp/celery/worker.ready",
  beatHeartbeat: "/tmp/celery/beat.heartbeat",
  /** Docker targets: the scheduler's script and its jobs, rendered. */
  schedulerDir: "/etc/djangostack/scheduler",
  schedulerHeartbeat: "/tmp/djangostack-scheduler.heartbeat",
  postgresInit: "/docker-entrypoint-initdb.d/djangostack",
  /** The server's Unix socket directory; its local connections are trusted (see dataProcesses). */
  postgresSocket: "/var/run/postgresql",
  redisConfigDir: "/usr/local/etc/redis",
  rabbitmqConfigDir: "/etc/rabbitmq",
  /** The image's HOME and data dir: Mnesia, the Erlang cookie. */
  rabbitmqData: "/var/lib/rabbitmq",
  nginxConf: "/etc/nginx/nginx.conf",
  /** Docker targets: one file per upstream, written by the health-gated cutover. */
  nginxUpstreams: "/etc/nginx/upstreams",
  certs: "/etc/letsencrypt",
  acmeWebroot: "/var/www/acme",
  nginxStatic: "/srv/static",
  nginxMedia: "/srv/media",
} as const;

/** nginx runs unprivileged, so it listens above 1024 inside its container. */
export const EDGE_PORTS = { http: 8080, https: 8443 } as const;

const FAST: Health["timing"] = { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, startPeriodSeconds: 20 };
const SLOW_START: Health["timing"] = { intervalSeconds: 15, timeoutSeconds: 10, failureThreshold: 4, startPeriodSeconds: 60 };

/** Exec probe: is the file younger than `maxAgeSeconds`? Python is in every app image. */
export function freshFileProbe(path: string, maxAgeSeconds: number): string[] {
  return ["python", "-c", `import os,sys,time; sys.exit(0 if time.time() - os.path.getmtime('${path}') < ${maxAgeSeconds} else 1)`];
}

/** Health from exec probes; readiness defaults to the liveness command. */
function execHealth(timing: Health["timing"], liveness: string[], readiness: string[] = liveness): Health {
  return { liveness: { kind: "exec", command: liveness }, readiness: { kind: "exec", command: readiness }, timing };
}

export function buildModel(config: StackConfig): WorkloadModel {
  // The domain first, then app, frontend and redirecting hosts, once each: nginx, DNS records and
  // certificates all take this list.
  const edgeHosts = [...config.apps.flatMap((a) => a.hosts), ...(config.frontend?.hosts ?? []), ...config.edge.redirectHosts];
  const serverNames = config.domain ? [...new Set([config.domain, ...edgeHosts])] : [];
  const processes: Process[] = [...dataProcesses(config)];
  for (const app of config.apps) processes.push(...appProcesses(config, app));
  if (config.frontend) {
    processes.push({
      ...base("frontend", "frontend", config.frontend.resources),
      image: { kind: "frontend" },
      ports: [{ name: "http", port: config.frontend.port }],
      health: { liveness: { kind: "http", path: "/", port: config.frontend.port }, readiness: { kind: "http", path: "/", port: config.frontend.port }, timing: FAST },
      // A non-root static server (nginx-unprivileged and the like) on a read-only root: it writes only these.
      volumes: FRONTEND_SCRATCH.map((mountPath, i) => ({ volume: `frontend-scratch-${i}`, kind: "scratch" as const, mountPath, readOnly: false, memory: true })),
    });
  }
  processes.push(...backupProcesses(config));
  processes.push(edgeProcess(config));
  processes.push(...exporterProcesses(config, processes));
  const volumes = new Map<string, WorkloadModel["volumes"][number]>();
  const sizes: Record<string, number> = {
    [names.volume.postgres]: config.data.postgres.volumeSizeGiB,
    [names.volume.redis]: config.data.redis.volumeSizeGiB,
    [names.volume.rabbitmq]: config.data.rabbitmq.volumeSizeGiB,
  };
  for (const p of processes) {
    for (const v of p.volumes) {
      if (v.kind !== "scratch" && v.kind !== "config" && !volumes.has(v.volume)) volumes.set(v.volume, { name: v.volume, kind: v.kind, sizeGiB: sizes[v.volume] ?? 1 });
    }
  }
  return {
    project: config.project,
    stack: config.stack,
    processes,
    routing: config.apps.map((a) => ({
      app: a.name,
      upstream: names.web(a.name),
      port: a.port,
      routes: a.routes,
      hosts: a.hosts,
      websocketPaths: a.websocketPaths,
      healthPath: a.healthPath,
      readyPath: a.readyPath,
      staticVolume: names.volume.static(a.name),
      // Only a volume is nginx's to serve; a bucket's URLs point at Spaces (its CDN for static files).
      ...(staticOnSpaces(a) ? {} : { staticUrl: a.static.url }),
      ...(a.media.storage === "volume" ? { mediaUrl: a.media.url } : {}),
      readTimeoutSeconds: edgeReadTimeout(a),
      edgePaths: a.edge.paths,
      edgeHeaders: a.edge.headers,
      ...(a.metrics ? { metricsPath: a.metrics.path } : {}),
    })),
    frontend: config.frontend && { upstream: "frontend", port: config.frontend.port, route: config.frontend.route, hosts: config.frontend.hosts },
    volumes: [...volumes.values()],
    serverNames,
    redirectHosts: config.edge.redirectHosts,
  };
}

/** Where a static frontend server may write: nginx's pid and temp files, its cache. */
export const FRONTEND_SCRATCH = ["/tmp", "/var/cache/nginx", "/var/run"];

function base(name: string, role: Process["role"], resources: Process["resources"]): Process {
  return {
    name,
    role,
    image: { kind: "public", ref: "" },
    command: [],
    env: {},
    secretEnv: {},
    ports: [],
    resources,
    replicas: 1,
    singleton: false,
    stopGraceSeconds: 30,
    volumes: [],
    claims: {},
    readOnlyRootFs: true,
    dependsOn: [],
  };
}

function dataProcesses(config: StackConfig): Process[] {
  const { postgres, redis, rabbitmq } = config.data;
  const result: Process[] = [];
  const databaseApps = config.apps.filter((a) => a.database);
  if (postgres.mode === "container" && databaseApps.length > 0) {
    result.push({
      ...base(names.POSTGRES, "postgres", postgres.resources),
      image: { kind: "public", ref: `postgres:${postgres.version}-bookworm` },
      // The guard refuses a data directory of another major (and a new cluster beside an old one)
      // before the image's entrypoint, which it then execs with the server's arguments.
      command: [
        "sh",
        "-c",
        renderPostgresGuard({ major: postgres.version, volumeRoot: PG_VOLUME_ROOT, target: postgresUpgradeTarget(config) }),
        "postgres-guard",
        "postgres",
        "-c",
        `max_connections=${postgres.maxConnections}`,
        "-c",
        `shared_buffers=${Math.max(32, Math.floor(postgres.resources.memoryMiB / 4))}MB`,
        "-c",
        "password_encryption=scram-sha-256",
      ],
      env: { POSTGRES_USER: "postgres", POSTGRES_DB: "postgres", PGDATA: `${PG_VOLUME_ROOT}/pgdata`, POSTGRES_INITDB_ARGS: "--auth-host=scram-sha-256" },
      // The image applies POSTGRES_PASSWORD only to an empty data directory: a bootstrap password that
      // never rotates keeps a rotation from changing (and so replacing) this container; the init sets
      // the real, rotating superuser password on every deploy.
      secretEnv: { POSTGRES_PASSWORD: { kind: "postgresBootstrapPassword" } },
      ports: [{ name: "postgres", port: 5432 }],
      health: execHealth(SLOW_START, ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]),
      singleton: true,
      stopGraceSeconds: 60,
      volumes: [
        { volume: names.volume.postgres, kind: "data", mountPath: PG_VOLUME_ROOT, readOnly: false },
        // Shared with the init only: initdb leaves Unix-socket logins trusted (docker-entrypoint.sh passes
        // only --auth-host), so the init needs no password that a rotation could have made stale.
        { volume: names.volume.postgresSocket, kind: "socket", mountPath: PATHS.postgresSocket, readOnly: false },
        { volume: "postgres-tmp", kind: "scratch", mountPath: "/tmp", readOnly: false },
      ],
      user: "999:999",
    });
    result.push({
      ...base(names.POSTGRES_INIT, "dbinit", { cpuMillis: 100, memoryMiB: 64 }),
      image: { kind: "public", ref: `postgres:${postgres.version}-bookworm` },
      command: postgresInitCommand(),
      env: { PGHOST: PATHS.postgresSocket, PGUSER: names.SUPERUSER.role, PGDATABASE: "postgres", PGCONNECT_TIMEOUT: "5" },
      secretEnv: {
        [names.SUPERUSER.passwordEnv]: { kind: "postgresSuperuserPassword" },
        ...Object.fromEntries(databaseApps.map((a) => [names.dbPasswordEnv(a.name), { kind: "databasePassword", app: a.name } as SecretEnvSource])),
      },
      volumes: [
        { volume: "postgres-init", kind: "config", mountPath: PATHS.postgresInit, readOnly: true },
        { volume: names.volume.postgresSocket, kind: "socket", mountPath: PATHS.postgresSocket, readOnly: false },
      ],
      // Roles and databases exist before any app process touches them: its migration, or its processes when it has none.
      runOnceBefore: databaseApps.flatMap((a) => (hasReleaseProcess(config, a) ? [names.migrate(a.name)] : appProcessNames(config, a))),
      user: "999:999",
      dependsOn: ["postgres"],
    });
  }
  if (redis.mode === "container" && config.apps.some(usesDeployedRedis)) {
    result.push({
      ...base(names.REDIS, "redis", redis.resources),
      image: { kind: "public", ref: `redis:${redis.version}-bookworm` },
      // The password goes to redis-server on stdin, never on its command line (see renderRedisStartCommand).
      command: ["sh", "-c", renderRedisStartCommand(`${PATHS.redisConfigDir}/redis.conf`, "REDIS_PASSWORD")],
      secretEnv: { REDIS_PASSWORD: { kind: "redisPassword" } },
      ports: [{ name: "redis", port: 6379 }],
      health: execHealth(FAST, ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG']),
      singleton: true,
      volumes: [
        { volume: names.volume.redis, kind: "data", mountPath: "/data", readOnly: false },
        { volume: "redis-config", kind: "config", mountPath: PATHS.redisConfigDir, readOnly: true },
      ],
      user: "999:999",
    });
  }
  const rabbitmqApps = config.apps.filter(usesDeployedRabbitmq);
  const managementApi = backsUpBrokerDefinitions(config);
  if (rabbitmqApps.length > 0) {
    result.push({
      ...base(names.RABBITMQ, "rabbitmq", rabbitmq.resources),
      image: { kind: "public", ref: `rabbitmq:${rabbitmq.version}-alpine` },
      // The node keeps its data in mnesia/<node name>, and the name defaults to rabbit@<hostname> (the
      // container id on Docker): a fixed hostname and node name let a replaced container find its data.
      hostname: names.RABBITMQ,
      // The image's own start (its entrypoint, then rabbitmq-server), plus a one-time pass once the node
      // is up that deletes the broker users of apps no longer in config. On Kubernetes `command` replaces
      // the entrypoint, so the entrypoint is named here.
      command: ["sh", "-c", `(\n${renderRabbitmqRetireScript(rabbitmqApps.map((a) => names.brokerUser(a.name)), brokerGrants(rabbitmqApps))}\n) &\nexec docker-entrypoint.sh rabbitmq-server`],
      env: {
        // A glob, not the directory: definitions.json lives beside the .conf files and is not config syntax.
        RABBITMQ_CONFIG_FILES: `${PATHS.rabbitmqConfigDir}/conf.d/*.conf`,
        RABBITMQ_NODENAME: rabbitmqNodeName(names.RABBITMQ),
        // Both default to RABBITMQ_LOG_BASE (/var/log/rabbitmq), on the read-only root: the upgrade log,
        // which RabbitMQ < 3.12 writes at boot even with log.file = false, goes to stdout instead, and a
        // crash dump to the data volume, where it survives the restart that follows it.
        RABBITMQ_UPGRADE_LOG: "-",
        ERL_CRASH_DUMP: `${PATHS.rabbitmqData}/erl_crash.dump`,
        // The backup reads the live definitions from the management API. This list replaces the
        // image's enabled_plugins file, so it keeps the prometheus plugin the official image enables.
        ...(managementApi ? { RABBITMQ_ENABLED_PLUGINS: "rabbitmq_prometheus,rabbitmq_management" } : {}),
      },
      secretEnv: {},
      ports: [{ name: "amqp", port: 5672 }, ...(managementApi ? [{ name: "management", port: names.RABBITMQ_MANAGEMENT_PORT }] : [])],
      health: execHealth(SLOW_START, ["rabbitmq-diagnostics", "-q", "ping"], ["rabbitmq-diagnostics", "-q", "check_port_connectivity"]),
      singleton: true,
      stopGraceSeconds: 60,
      volumes: [
        { volume: names.volume.rabbitmq, kind: "data", mountPath: PATHS.rabbitmqData, readOnly: false },
        { volume: "rabbitmq-config", kind: "config", mountPath: `${PATHS.rabbitmqConfigDir}/conf.d`, readOnly: true },
        { volume: "rabbitmq-tmp", kind: "scratch", mountPath: "/tmp", readOnly: false },
      ],
      // Run as the image's rabbitmq user: the node writes only its data dir (cookie, mnesia, crash dump) and /tmp.
      user: "100:101",
      ...(rabbitmqMetrics(config) ? { metrics: rabbitmqMetrics(config) } : {}),
    });
  }
  return result;
}

/** A RabbitMQ node on `host`: `rabbit@<host>`, where the host part must resolve to the node itself. */
export function rabbitmqNodeName(host: string): string {
  return `rabbit@${host}`;
}

/** The Postgres data volume's mount; PGDATA is a subdirectory (a fresh disk's root holds lost+found). */
const PG_VOLUME_ROOT = "/var/lib/postgresql/data";

/** Names the guard's upgrade procedure uses: the realizers' container, volume and claim names. */
function postgresUpgradeTarget(config: StackConfig): PostgresGuardInput["target"] {
  if (config.target === "kubernetes") {
    if (!config.kubernetes) throw new Error("djangostack: target kubernetes without kubernetes config");
    // A StatefulSet's claim is <template>-<set>-<ordinal>.
    return { kind: "kubernetes", namespace: config.kubernetes.namespace, statefulSet: names.POSTGRES, claim: `${names.volume.postgres}-${names.POSTGRES}-0` };
  }
  return { kind: "docker", container: `djangostack-${config.stack}-${names.POSTGRES}`, volume: `djangostack-${config.stack}-${names.volume.postgres}` };
}

/** The init SQL reads every password from the env itself: no secret on psql's command line. */
function postgresInitCommand(): string[] {
  const wait = "until pg_isready -q; do sleep 1; done";
  return ["sh", "-c", `${wait}; exec psql -X -v ON_ERROR_STOP=1 -f ${PATHS.postgresInit}/init.sql`];
}

/** The processes of an app that roll on each release (its scheduled jobs take the new image too). */
function appProcessNames(config: StackConfig, app: AppConfig): string[] {
  return [
    names.web(app.name),
    ...app.workers.map((w) => names.worker(app.name, w.name)),
    ...(app.beat ? [names.beat(app.name)] : []),
    ...scheduledProcesses(config, app, {}).map((p) => p.name),
  ];
}

/**
 * The hosts clients reach a stack without a domain at: the engine's address for a remote Docker
 * engine (loopback stacks are reached as localhost), the Droplet's reserved IP (filled in by the
 * realizer). A Kubernetes stack always has a domain (config refuses one without).
 */
function addressHosts(config: StackConfig): string[] {
  if (config.target === "droplet") return [names.PUBLIC_ADDRESS];
  if (config.docker.publish === "public" && config.docker.host) return [new URL(config.docker.host).hostname.replace(/^\[(.*)\]$/, "$1")];
  return [];
}

/** How much longer the edge waits than gunicorn's timeout: gunicorn ends a request it gave up on first. */
export const EDGE_TIMEOUT_MARGIN_SECONDS = 5;
/** daphne and uvicorn have no request timeout of their own: the edge keeps its fixed wait for them. */
export const EDGE_DEFAULT_TIMEOUT_SECONDS = 120;

/**
 * nginx's proxy_read_timeout for an app: past its gunicorn timeout (a sync worker that long on one
 * request is killed and nginx answers 502 at once), never cutting it short at a fixed 120 s.
 */
export function edgeReadTimeout(app: AppConfig): number {
  return app.server === "gunicorn" || app.server === "gunicorn-uvicorn" ? app.gunicorn.timeoutSeconds + EDGE_TIMEOUT_MARGIN_SECONDS : EDGE_DEFAULT_TIMEOUT_SECONDS;
}

/**
 * The names requests reach the Django apps under: the domain (or, without one, the stack's address)
 * and the apps' hosts. The frontend's hosts and the redirecting ones end at the edge.
 */
function djangoHosts(config: StackConfig): string[] {
  return [...new Set([...(config.domain ? [config.domain] : addressHosts(config)), ...config.apps.flatMap((a) => a.hosts)])];
}

function appEnv(config: StackConfig, app: AppConfig): Record<string, string> {
  const tls = config.edge.tls.mode !== "none";
  const publicHosts = djangoHosts(config);
  // Pages the stack itself serves may post to any app: its own sites and the frontend's.
  const origins = [...new Set([...(config.domain ? [config.domain] : []), ...config.apps.flatMap((a) => a.hosts), ...(config.frontend?.hosts ?? [])])];
  const scheme = tls ? "https" : "http";
  return {
    // Which stack an error came from, beside the DSN (djangostack:sentryDsn); the app's env may say otherwise.
    ...(app.secretEnvKeys.includes("SENTRY_DSN") ? { SENTRY_ENVIRONMENT: config.stack } : {}),
    ...app.env,
    DJANGO_SETTINGS_MODULE: app.settingsModule,
    // Internal names keep container health checks and the edge's upstream Host header valid.
    [app.envNames.allowedHosts ?? "DJANGO_ALLOWED_HOSTS"]: [...new Set([...publicHosts, names.web(app.name), "localhost", "127.0.0.1"])].join(","),
    ...(app.envNames.debug ? { [app.envNames.debug]: "False" } : {}),
    CSRF_TRUSTED_ORIGINS: origins.map((h) => `${scheme}://${h}`).join(","),
    // apps[].calls: the web process's name resolves on both targets (a Docker network alias, a Service).
    ...Object.fromEntries(config.apps.filter((a) => app.calls.includes(a.name)).map((callee) => [serviceUrlEnv(callee.name), `http://${names.web(callee.name)}:${callee.port}`])),
    DJANGO_SECURE_COOKIES: String(tls),
    // nginx redirects to HTTPS; Django redirecting too would break plain-HTTP health checks.
    DJANGO_SECURE_SSL_REDIRECT: "false",
    DJANGO_STATIC_URL: app.static.url,
    DJANGO_MEDIA_URL: app.media.url,
    DJANGO_STATIC_ROOT: app.static.root,
    DJANGO_MEDIA_ROOT: app.media.root,
    DJANGO_LOG_LEVEL: "INFO",
    // The sample app's switch (app/config/settings.py), djangostack:logFormat.
    DJANGO_LOG_FORMAT: config.logFormat,
    CELERY_WORKER_HEARTBEAT_FILE: PATHS.workerHeartbeat,
    CELERY_WORKER_READY_FILE: PATHS.workerReady,
    CELERY_BEAT_HEARTBEAT_FILE: PATHS.beatHeartbeat,
    ...mediaEnv(app),
  };
}

/**
 * Where each service URL of an app comes from: the user's external URL, or the service djangostack
 * deploys. Absent: the app does not use that service (or reads no variable for it).
 */
export function serviceSources(app: AppConfig): Partial<Record<ExternalService, SecretEnvSource>> {
  const from = (service: ExternalService, deployed: SecretEnvSource | undefined): SecretEnvSource | undefined =>
    app.external.includes(service) ? { kind: "external", app: app.name, service } : deployed;
  const sources: Partial<Record<ExternalService, SecretEnvSource | undefined>> = {
    database: from("database", app.database ? { kind: "databaseUrl", app: app.name } : undefined),
    cache: app.envNames.cacheUrl ? from("cache", { kind: "redisUrl", app: app.name }) : undefined,
    broker: app.broker ? from("broker", { kind: app.brokerKind === "redis" ? "redisBrokerUrl" : "brokerUrl", app: app.name }) : undefined,
    resultBackend: app.broker && app.envNames.resultBackend ? from("resultBackend", { kind: "resultBackend", app: app.name }) : undefined,
    // Never deployed: only the user's URL.
    clickhouse: from("clickhouse", undefined),
  };
  return Object.fromEntries(Object.entries(sources).filter(([, v]) => v !== undefined));
}

function appSecretEnv(app: AppConfig): Record<string, SecretEnvSource> {
  const n = app.envNames;
  const env: Record<string, SecretEnvSource> = { [n.secretKey ?? "DJANGO_SECRET_KEY"]: { kind: "djangoSecretKey", app: app.name } };
  for (const [service, source] of Object.entries(serviceSources(app))) {
    const name = n[EXTERNAL_ROLE[service as ExternalService]];
    if (name && source) env[name] = source;
  }
  for (const role of COMPONENT_ROLES) {
    const name = n[role];
    if (name) env[name] = { kind: "component", app: app.name, ...COMPONENT_PARTS[role] };
  }
  if (n.brokerUrl && usesDeployedRabbitmq(app)) {
    for (const other of app.brokerAccess) env[brokerAccessEnv(n.brokerUrl, other)] = { kind: "brokerUrl", app: app.name, vhostOf: other };
  }
  Object.assign(env, mediaSecretEnv(app));
  for (const key of app.secretEnvKeys) env[key] = { kind: "userSecret", app: app.name, key };
  return env;
}

function appClaims(app: AppConfig): Process["claims"] {
  return {
    postgres: app.database ? { database: names.database(app.name), role: names.role(app.name) } : undefined,
    rabbitmq: usesDeployedRabbitmq(app) ? { vhost: names.vhost(app.name), user: names.brokerUser(app.name) } : undefined,
    redis: usesDeployedRedis(app) ? { db: app.redisDb } : undefined,
  };
}

function appDependencies(app: AppConfig): Process["dependsOn"] {
  return [...(app.database ? (["postgres"] as const) : []), ...(usesDeployedRedis(app) ? (["redis"] as const) : []), ...(usesDeployedRabbitmq(app) ? (["rabbitmq"] as const) : [])];
}

/** Every (broker user, vhost) pair the definitions grant: each app's own vhost and those of brokerAccess. */
export function brokerGrants(apps: AppConfig[]): { user: string; vhost: string }[] {
  return apps.flatMap((a) => [a.name, ...a.brokerAccess].map((v) => ({ user: names.brokerUser(a.name), vhost: names.vhost(v) })));
}

/**
 * The release one-off (`<app>-migrate`) runs when the app migrates or has release commands, and
 * always on the Docker targets, where it fills the static volume nginx serves.
 */
export const hasReleaseProcess = (config: StackConfig, app: AppConfig): boolean => app.migrate || app.release.length > 0 || config.target !== "kubernetes" || staticOnSpaces(app);

/**
 * The release's static step, Docker targets only (Kubernetes' edge copies from the image itself):
 * collectstatic into the static volume mounted at STATIC_ROOT, hardcoded or not; or, when the image
 * collected at build, a copy of its STATIC_ROOT into the volume mounted apart from it.
 */
function staticRelease(config: StackConfig, app: AppConfig): { step: string; mount?: VolumeMount } | undefined {
  // Into the app's bucket (django-storages, DJANGO_STATIC_STORAGE=s3), on every target: no volume.
  if (staticOnSpaces(app)) return { step: "python manage.py collectstatic --noinput" };
  if (config.target === "kubernetes") return undefined;
  const volume = names.volume.static(app.name);
  if (app.static.collect === "release") return { step: "python manage.py collectstatic --noinput", mount: { volume, kind: "static", mountPath: app.static.root, readOnly: false } };
  return { step: staticCopyCommand(true, app.static.root, PATHS.staticVolume).map(shellQuote).join(" "), mount: { volume, kind: "static", mountPath: PATHS.staticVolume, readOnly: false } };
}

function releaseSteps(app: AppConfig, staticStep: string | undefined): string[] {
  return [...(app.migrate ? ["python manage.py migrate --noinput"] : []), ...(staticStep ? [staticStep] : []), ...app.release.map((args) => args.map(shellQuote).join(" "))];
}

/**
 * Docker targets, an app with its own uid: a root one-off with only CHOWN and DAC_READ_SEARCH hands
 * the static and media volumes to that uid before the release (Kubernetes sets the pod's fsGroup).
 * Without `apps[].user` the image's user owns them: Docker fills a new volume from the image's
 * directory, owner included.
 */
function ownershipProcess(config: StackConfig, app: AppConfig, before: string[]): Process | undefined {
  if (config.target === "kubernetes" || !app.user) return undefined;
  const mounts: VolumeMount[] = [
    ...(staticOnSpaces(app) ? [] : [{ volume: names.volume.static(app.name), kind: "static" as const, mountPath: `${PATHS.ownershipRoot}/static`, readOnly: false }]),
    ...mediaMounts(app, `${PATHS.ownershipRoot}/media`, false),
  ];
  return {
    ...base(names.chown(app.name), "chown", { cpuMillis: 100, memoryMiB: 64 }),
    app: app.name,
    image: { kind: "app", app: app.name },
    user: "0:0",
    capabilities: OWNERSHIP_CAPABILITIES,
    command: volumeOwnershipCommand(app.user, mounts.map((m) => m.mountPath)),
    volumes: mounts,
    runOnceBefore: before,
  };
}

/** The scheduler process itself: Python's interpreter and the job table. */
const SCHEDULER_OWN_MIB = 64;

const celeryScratch: VolumeMount = { volume: "celery-state", kind: "scratch", mountPath: PATHS.celeryState, readOnly: false, memory: true };
const tmpScratch: VolumeMount = { volume: "tmp", kind: "scratch", mountPath: "/tmp", readOnly: false, memory: true };

function appProcesses(config: StackConfig, app: AppConfig): Process[] {
  const shared = {
    app: app.name,
    ...(app.user ? { user: app.user } : {}),
    image: { kind: "app", app: app.name } as const,
    env: appEnv(config, app),
    secretEnv: appSecretEnv(app),
    claims: appClaims(app),
    dependsOn: appDependencies(app),
  };
  const rolling = appProcessNames(config, app);
  const result: Process[] = [];
  const owner = ownershipProcess(config, app, hasReleaseProcess(config, app) ? [names.migrate(app.name)] : rolling);
  if (owner) result.push(owner);
  if (hasReleaseProcess(config, app)) {
    const staticFiles = staticRelease(config, app);
    result.push({
      ...base(names.migrate(app.name), "migrate", app.resources),
      ...shared,
      // Migrations, the static release and the app's release commands use the new image, in order,
      // before any web container is replaced: the first that fails stops the rest and the rollout.
      command: ["sh", "-c", releaseSteps(app, staticFiles?.step).join(" && ")],
      volumes: [...(staticFiles?.mount ? [staticFiles.mount] : []), tmpScratch],
      runOnceBefore: rolling,
    });
  }
  const web = app.port;
  result.push({
    ...base(names.web(app.name), "web", app.resources),
    ...shared,
    command: webCommand(app),
    ...(app.metrics ? { env: { ...shared.env, ...metricsEnv(app.metrics) } } : {}),
    ports: [{ name: "http", port: web }],
    ...(app.metrics ? { metrics: { port: app.metrics.port, path: app.metrics.path } } : {}),
    health: webHealth(app),
    // A port below 1024 needs no capability (every process drops ALL): the namespace lets any user bind it.
    ...(app.port < 1024 ? { sysctls: { "net.ipv4.ip_unprivileged_port_start": String(app.port) } } : {}),
    replicas: app.replicas,
    autoscale: app.autoscale,
    stopGraceSeconds: app.gunicorn.gracefulTimeoutSeconds + 5,
    volumes: [
      ...mediaMounts(app, app.media.root, false),
      { volume: "gunicorn-config", kind: "config", mountPath: "/etc/djangostack", readOnly: true },
      tmpScratch,
    ],
  });
  for (const pool of app.workers) result.push(workerProcess(app, pool, shared));
  if (app.beat) {
    result.push({
      ...base(names.beat(app.name), "beat", { cpuMillis: 100, memoryMiB: 256 }),
      ...shared,
      command: ["celery", "-A", app.celeryApp, "beat", "--loglevel=INFO", "--schedule", `${PATHS.celeryState}/beat-schedule`, "--pidfile="],
      health: execHealth(SLOW_START, freshFileProbe(PATHS.beatHeartbeat, 120)),
      singleton: true,
      volumes: [celeryScratch],
    });
  }
  result.push(...scheduledProcesses(config, app, shared));
  return result;
}

/** The web process's metrics env: the path the sample app serves, prometheus-client's multiprocess directory. */
function metricsEnv(metrics: AppMetrics): Record<string, string> {
  return { DJANGO_METRICS_PATH: metrics.path, PROMETHEUS_MULTIPROC_DIR: PATHS.metricsDir };
}

/**
 * An app's scheduled jobs: on Kubernetes a CronJob each; on Docker one scheduler container from the
 * app's image that runs each job as its own process on its schedule (no container may hold the
 * Docker socket, which a container per run would need: it is root on the host).
 */
function scheduledProcesses(config: StackConfig, app: AppConfig, shared: Partial<Process>): Process[] {
  if (app.jobs.length === 0) return [];
  const media = mediaMounts(app, app.media.root, false);
  if (config.target === "kubernetes") {
    return app.jobs.map((job) => ({
      ...base(names.job(app.name, job.name), "job", job.resources),
      ...shared,
      command: job.command,
      schedule: { cron: job.schedule.expression, concurrency: job.concurrency, timeLimitSeconds: job.timeLimitSeconds },
      volumes: [...media, tmpScratch],
    }));
  }
  // The jobs share the container's limits: room for each to run at once, and the scheduler's own.
  const sum = (f: (r: Process["resources"]) => number) => app.jobs.reduce((total, j) => total + f(j.resources), 0);
  return [
    {
      ...base(names.scheduler(app.name), "scheduler", { cpuMillis: Math.max(...app.jobs.map((j) => j.resources.cpuMillis)), memoryMiB: sum((r) => r.memoryMiB) + SCHEDULER_OWN_MIB }),
      ...shared,
      command: ["python", "-I", `${PATHS.schedulerDir}/scheduler.py`, `${PATHS.schedulerDir}/jobs.json`, "--heartbeat", PATHS.schedulerHeartbeat],
      health: execHealth(SLOW_START, freshFileProbe(PATHS.schedulerHeartbeat, 60)),
      // Exactly one, or each run would happen twice during a replacement.
      singleton: true,
      stopGraceSeconds: SCHEDULER_STOP_GRACE_SECONDS + 5,
      volumes: [...media, { volume: "scheduler-config", kind: "config", mountPath: PATHS.schedulerDir, readOnly: true }, tmpScratch],
    },
  ];
}

/**
 * The web server's command line. gunicorn reads the rendered config (bind, workers, worker class);
 * daphne and uvicorn take the same port and trust nginx's forwarded headers (only nginx reaches them).
 */
export function webCommand(app: AppConfig): string[] {
  switch (app.server) {
    case "gunicorn":
      return ["gunicorn", "--config", PATHS.gunicornConfig, app.wsgi];
    case "gunicorn-uvicorn":
      return ["gunicorn", "--config", PATHS.gunicornConfig, app.asgi];
    case "daphne":
      return ["daphne", "--bind", "0.0.0.0", "--port", String(app.port), "--proxy-headers", app.asgi];
    case "uvicorn":
      return ["uvicorn", "--host", "0.0.0.0", "--port", String(app.port), "--proxy-headers", "--forwarded-allow-ips", "*", ...(app.gunicorn.workers > 0 ? ["--workers", String(app.gunicorn.workers)] : []), app.asgi];
  }
}

/** A probe of the web process on its own port; http probes send the Host its ALLOWED_HOSTS accepts. */
function webProbe(probe: AppProbe, port: number): Probe | undefined {
  switch (probe.kind) {
    case "http":
      return { kind: "http", path: probe.path, port, host: "localhost" };
    case "tcp":
      return { kind: "tcp", port };
    case "exec":
      return { kind: "exec", command: probe.command };
    case "none":
      return undefined;
  }
}

function webHealth(app: AppConfig): Health | undefined {
  const h = app.health;
  const liveness = webProbe(h.liveness, app.port);
  const readiness = webProbe(h.readiness, app.port);
  if (!liveness && !readiness) return undefined;
  return { liveness, readiness, timing: { intervalSeconds: h.intervalSeconds, timeoutSeconds: h.timeoutSeconds, failureThreshold: h.retries, startPeriodSeconds: h.startPeriodSeconds } };
}

function workerProcess(app: AppConfig, pool: WorkerPool, shared: Partial<Process>): Process {
  const soft = Math.max(1, pool.timeLimitSeconds - Math.min(30, Math.ceil(pool.timeLimitSeconds / 10)));
  return {
    ...base(names.worker(app.name, pool.name), "worker", pool.resources),
    ...shared,
    command: [
      "celery", "-A", app.celeryApp, "worker", "--loglevel=INFO",
      "--queues", pool.queues.join(","), "--concurrency", String(pool.concurrency), "--pool", pool.pool,
      "--hostname", `${pool.name}@%h`, "--time-limit", String(pool.timeLimitSeconds), "--soft-time-limit", String(soft),
      ...(pool.prefetchMultiplier === undefined ? [] : ["--prefetch-multiplier", String(pool.prefetchMultiplier)]),
      ...(pool.maxTasksPerChild === undefined ? [] : ["--max-tasks-per-child", String(pool.maxTasksPerChild)]),
      // Celery reads "max,min" (in either order, celery/bin/worker.py Autoscale) and ignores --concurrency then.
      ...(pool.autoscale === undefined ? [] : ["--autoscale", `${pool.autoscale.max},${pool.autoscale.min}`]),
    ],
    health: execHealth(SLOW_START, freshFileProbe(PATHS.workerHeartbeat, 60), ["test", "-f", PATHS.workerReady]),
    replicas: pool.replicas,
    // A warm shutdown lets the longest task finish; never kill it before its own time limit.
    stopGraceSeconds: pool.timeLimitSeconds + 30,
    volumes: [celeryScratch, tmpScratch],
  } as Process;
}

function edgeProcess(config: StackConfig): Process {
  const tls = config.edge.tls.mode !== "none";
  const volumes: VolumeMount[] = [
    { volume: "nginx-config", kind: "config", mountPath: "/etc/nginx/conf.d", readOnly: true },
    { volume: "nginx-cache", kind: "scratch", mountPath: "/var/cache/nginx", readOnly: false },
    { volume: "nginx-run", kind: "scratch", mountPath: "/tmp", readOnly: false },
    ...config.apps.flatMap((a): VolumeMount[] => [
      ...(staticOnSpaces(a) ? [] : [{ volume: names.volume.static(a.name), kind: "static" as const, mountPath: `${PATHS.nginxStatic}/${a.name}`, readOnly: true }]),
      ...mediaMounts(a, `${PATHS.nginxMedia}/${a.name}`, true),
    ]),
  ];
  if (tls) {
    volumes.push({ volume: names.volume.certs, kind: "certs", mountPath: PATHS.certs, readOnly: true });
    volumes.push({ volume: names.volume.acme, kind: "acme", mountPath: PATHS.acmeWebroot, readOnly: true });
  }
  return {
    ...base(names.EDGE, "edge", config.edge.resources),
    image: { kind: "public", ref: `nginxinc/nginx-unprivileged:${config.edge.nginxVersion}-alpine` },
    ports: [{ name: "http", port: EDGE_PORTS.http }, ...(tls ? [{ name: "https", port: EDGE_PORTS.https }] : [])],
    health: {
      liveness: { kind: "http", path: "/nginx-health", port: EDGE_PORTS.http, host: "localhost" },
      readiness: { kind: "http", path: "/nginx-health", port: EDGE_PORTS.http, host: "localhost" },
      timing: FAST,
    },
    replicas: config.edge.replicas,
    volumes,
    user: "101:101",
    dependsOn: [],
  };
}
