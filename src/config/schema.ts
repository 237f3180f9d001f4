import { Checker, OFFLINE_SECRET_PREFIX, Raw, checkUnique, isPlainObject } from "./checker";
import { parseResources } from "./quantities";
import { parseCommand } from "./commands";
import { parseJobs } from "./jobs";
import { parsePromoteFrom, parseRegistryCredentials } from "./registries";
import { checkDerivedNames } from "./names";
import { overlayKeysOf, withOverlay } from "./overlay";
import { ROUTE, ROUTE_HINT, checkRoutes } from "./routes";
import { checkHosts } from "./hosts";
import { parseAppEdge, parseDenyPaths, parseRateZones, parseTrustedProxies } from "./edge";
import { moveSecretEnv } from "./secrets";
import { parseAdminCidrs } from "./cidr";
import { checkCalls } from "./calls";
import { FIXED_ENV, MANAGED_ENV, checkAppEnv, checkSecretEnvValues, controlCharacter, hasUrlPassword, isCredentialName, managedEnv } from "./env-rules";
import { attachExternalServices, brokerAccessEnv, checkComponentNames, parseEnvNames, parseHealth, usesDeployedRabbitmq } from "./contract";
import { checkTlsPair, parseTlsPath } from "./paths";
import { checkSwap, parseDropletImage, parseRegion, parseSize } from "./slugs";
import { parsePrices } from "./prices";
import { checkCapacity } from "./capacity";
import { NO_BACKUPS, parseBackups, parseDropletBackups } from "./backups";
import { MEDIA_STORAGE_KEYS, MediaContext, attachMediaCredentials, checkMediaBuckets, parseMediaStorage, settleMediaEnvNames } from "./media";
import { parseAppMetrics, parseMonitoring } from "./monitoring";
import { PATHS } from "../model/build";
import { STATIC_LOCATION, spacesCdnDomain } from "../model/media";
import { checkEdgePorts, checkReplicas, parseDeployUser, parseNamespace, parseNginxVersion } from "./values";
import {
  AppConfig,
  APP_SERVERS,
  AppSource,
  BROKER_KINDS,
  BrokerKind,
  CELERY_POOLS,
  CeleryPool,
  GUNICORN_WORKER_CLASSES,
  DATA_MODES,
  DOCKER_PLATFORMS,
  DOCKER_PUBLISH,
  DROPLET_EGRESS,
  STATIC_STORAGES,
  AppMedia,
  DataConfig,
  DockerTargetConfig,
  DropletConfig,
  EdgeConfig,
  FrontendConfig,
  KubernetesConfig,
  REDIS_EVICTION_POLICIES,
  Resources,
  StackConfig,
  TARGETS,
  STATIC_COLLECT,
  TLS_MODES,
  Target,
  VALKEY_EVICTION_POLICIES,
  WorkerPool,
  LOG_FORMATS,
} from "./types";

export const NAMESPACE = "djangostack";

/** Every key a stack file may set under the `djangostack:` namespace. */
export const CONFIG_KEYS = [
  "target",
  "region",
  "domain",
  "apps",
  "frontend",
  "data",
  "edge",
  "docker",
  "droplet",
  "kubernetes",
  "secrets",
  "prices",
  "promoteFrom",
  "backups",
  "logFormat",
  "monitoring",
] as const;

/** Keys read with `getSecret`: user-supplied replacements for generated credentials. */
export const SECRET_CONFIG_KEYS = [
  "secretKey",
  "postgresPassword",
  "redisPassword",
  "rabbitmqAdminPassword",
  "databasePasswords",
  "brokerPasswords",
  "secretEnv",
  "sentryDsn",
  "external",
  "registryCredentials",
  "backupCredentials",
  "mediaCredentials",
] as const;

/** Env names djangostack sets itself with the default env names; an app's `env` must not shadow them. */
export const RESERVED_ENV: readonly string[] = Object.keys(MANAGED_ENV);

export const APP_NAME = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
const APP_NAME_HINT = "a lowercase name of 1-20 letters, digits and inner hyphens, starting with a letter";
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOSTNAME_HINT = "a lowercase fully qualified domain name such as example.com";
const PY_PATH = /^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_]*)?$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const QUEUE = /^[A-Za-z0-9_.-]{1,64}$/;
const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/;
const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const VERSION = /^[0-9]+(\.[0-9]+)*(-[a-z0-9]+)?$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const DAYS = ["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

const WEB_RESOURCES: Resources = { cpuMillis: 500, memoryMiB: 512 };
const WORKER_RESOURCES: Resources = { cpuMillis: 500, memoryMiB: 512 };

export interface StackIdentity {
  project: string;
  stack: string;
}

/**
 * Validates the raw `djangostack:*` values of one stack and fills every default.
 * Throws a ConfigError listing every problem; never returns a partially valid config.
 * `secretKeys`: the keys Pulumi marks secret (no namespace); their values never appear in a message.
 */
export function parseConfig(raw: Raw, identity: StackIdentity, secretKeys: readonly string[] = []): StackConfig {
  // The stack's overlay (overlay.ts) comes first: validation and guardrails see what the stack deploys.
  return withOverlay(raw, secretKeys, NAMESPACE, overlayKeysOf(CONFIG_KEYS), (effective, keys) => parseEffective(effective, identity, keys));
}

function parseEffective(raw: Raw, identity: StackIdentity, secretKeys: readonly string[]): StackConfig {
  const c = new Checker(NAMESPACE, [...SECRET_CONFIG_KEYS, ...secretKeys]);
  for (const key of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key) && !(SECRET_CONFIG_KEYS as readonly string[]).includes(key)) {
      // The value is not echoed: a misspelt secret key would otherwise print its secret.
      c.fail(key, "[value not shown]", `unknown key; allowed keys are ${[...CONFIG_KEYS, ...SECRET_CONFIG_KEYS].join(", ")}`);
    }
  }
  const target = c.oneOf<Target>("target", raw.target, TARGETS, "docker");
  const domain = c.optionalString("domain", raw.domain, HOSTNAME, HOSTNAME_HINT);
  // Without a name Django would have to accept any Host: the load balancer's address exists only once
  // nginx's pods are ready (pulumi-kubernetes waits for a Service's endpoints), after the apps start.
  if (target === "kubernetes" && (raw.domain === undefined || raw.domain === null || raw.domain === "")) {
    c.fail("domain", raw.domain, 'target "kubernetes" needs a domain (a zone in DigitalOcean DNS, or records you point at the load balancer): its address is known only after the apps start, and Django must not accept any Host. To try the stack without one, use target "droplet" or "docker"');
  }
  const frontend = raw.frontend === undefined ? undefined : parseFrontend(c, raw.frontend);
  // A region slug is judged the same on every target; only Kubernetes adds a rule of its own.
  const region = parseRegion(c, raw.region, target, "nyc3");
  const apps = parseApps(c, raw.apps, frontend, { ...identity, region, target });
  attachMediaCredentials(c, apps, raw.mediaCredentials);
  attachSecretEnvKeys(c, apps, raw.secretEnv);
  attachSentryDsn(c, apps, raw.sentryDsn);
  attachExternalServices(c, apps, raw.external, new Map(apps.map((a) => [a.name, a.database])));
  checkBrokerAccess(c, apps);
  checkCalls(c, apps);
  checkComponentNames(c, apps);
  checkSecretEnvValues(c, raw.secretEnv);
  checkSuppliedSecrets(c, apps, raw);
  // What follows depends on the target; with an invalid one it is judged as "docker", so its problems are dropped below.
  const targetDependent = c.problems.length;
  const targetValid = raw.target === undefined || (TARGETS as readonly unknown[]).includes(raw.target);
  const docker = parseDocker(c, raw.docker, target);
  checkReplicas(c, apps, target);
  const config: StackConfig = {
    project: identity.project,
    stack: identity.stack,
    target,
    region,
    // One JSON object per line where logs go to a collector (a Droplet's, a cluster's); text locally.
    logFormat: c.oneOf("logFormat", raw.logFormat, LOG_FORMATS, target === "docker" ? "plain" : "json"),
    domain,
    apps,
    frontend,
    data: parseData(c, raw.data, target),
    edge: parseEdge(c, raw.edge, target, domain, docker),
    docker,
    droplet: target === "droplet" ? parseDroplet(c, raw.droplet) : undefined,
    kubernetes: target === "kubernetes" ? parseKubernetes(c, raw.kubernetes) : undefined,
    secrets: { rotation: c.int("secrets.rotation", c.object("secrets", raw.secrets, ["rotation"]).rotation, 0, { min: 0, max: 1_000_000 }) },
    prices: parsePrices(c, raw.prices),
    registries: parseRegistryCredentials(c, raw.registryCredentials, { apps, frontend }),
    promoteFrom: parsePromoteFrom(c, raw.promoteFrom, target, identity.stack),
    backups: NO_BACKUPS,
    monitoring: parseMonitoring(c, raw.monitoring, target, apps),
  };
  config.backups = parseBackups(c, raw.backups, raw.backupCredentials, config);
  checkMediaBuckets(c, config);
  if (target !== "droplet" && raw.droplet !== undefined) c.fail("droplet", raw.droplet, `only allowed when target is "droplet" (target is "${target}")`);
  if (target !== "kubernetes" && raw.kubernetes !== undefined) c.fail("kubernetes", raw.kubernetes, `only allowed when target is "kubernetes" (target is "${target}")`);
  if (!targetValid) c.problems.splice(targetDependent);
  checkRoutes(c, config);
  checkHosts(c, config);
  checkDerivedNames(c, config);
  checkCapacity(c, config);
  c.throwIfAny();
  return config;
}

function parseSource(c: Checker, path: string, raw: Raw, defaultContext: string): AppSource {
  if (raw.image !== undefined && raw.build !== undefined) {
    c.fail(`${path}.image`, raw.image, `set either ${path}.image or ${path}.build, not both`);
  }
  if (raw.image !== undefined) {
    return { kind: "image", image: c.string(`${path}.image`, raw.image, "", IMAGE, 'an image reference such as "registry.digitalocean.com/team/api:1.4"') };
  }
  const build = c.object(`${path}.build`, typeof raw.build === "string" ? { context: raw.build } : raw.build, ["context", "dockerfile", "target", "args"]);
  return {
    kind: "build",
    context: c.string(`${path}.build.context`, build.context, defaultContext, /^[^\0]+$/, "a directory path"),
    dockerfile: c.string(`${path}.build.dockerfile`, build.dockerfile, "Dockerfile", /^[^\0]+$/, "a file path relative to the context"),
    target: c.optionalString(`${path}.build.target`, build.target, /^[A-Za-z0-9_.-]+$/, "a Dockerfile stage name"),
    ...(build.args === undefined ? {} : { args: parseBuildArgs(c, `${path}.build.args`, build.args) }),
  };
}

/** Build args end up in the image's history for anyone who can pull it: no credentials, no control characters. */
function parseBuildArgs(c: Checker, path: string, value: unknown): Record<string, string> {
  const args = c.stringMap(path, value, /^[A-Za-z_][A-Za-z0-9_]*$/, "build arg names of letters, digits and underscores");
  for (const [name, v] of Object.entries(args)) {
    if (isCredentialName(name) || hasUrlPassword(v)) c.fail(`${path}.${name}`, "[value not shown]", "looks like a credential; build args are readable in the image history (docker history): pass it to the app at run time with secretEnv instead");
    else if (controlCharacter(v, false)) c.fail(`${path}.${name}`, v, "build arg values may hold printable text and tabs only");
  }
  return args;
}

const APP_USER = /^([1-9][0-9]{0,9}):([0-9]{1,10})$/;

const APP_KEYS = [
  "name", "build", "image", "wsgi", "celeryApp", "settingsModule", "routes", "hosts", "port", "database",
  "redisDb", "broker", "brokerRedisDb", "brokerAccess", "calls", "workers", "beat", "migrate", "release", "env", "replicas", "autoscale", "resources", "gunicorn",
  "healthPath", "readyPath", "health", "static", "media", "websocketPaths", "envNames", "user", "server", "asgi", "jobs", "edge",
  "metrics",
] as const;

function parseApps(c: Checker, value: unknown, frontend: FrontendConfig | undefined, ctx: MediaContext): AppConfig[] {
  const items = c.list("apps", value, [{}]);
  if (items.length === 0) c.fail("apps", value, "expected at least one Django app");
  if (items.length > 16) c.fail("apps", `${items.length} apps`, "at most 16 apps fit the 16 Redis databases");
  const apps = items.map((item, i) => parseApp(c, `apps[${i}]`, item, i, items.length === 1 && !frontend, ctx));
  checkUnique(c, apps, (a) => [a.name], (i) => `apps[${i}].name`, "app names must be unique");
  checkUnique(c, apps, (a) => a.hosts, (i) => `apps[${i}].hosts`, "each host belongs to exactly one app");
  checkUnique(c, apps, (a) => [String(a.redisDb)], (i) => `apps[${i}].redisDb`, "each app needs its own Redis database number");
  assignBrokerRedisDbs(c, apps);
  checkFileUrls(c, apps);
  return apps;
}

/**
 * Apps whose Celery broker is Redis get a database of their own for the queues, apart from every
 * cache database (Django's cache.clear() flushes its whole database, queued tasks included). Unset,
 * it is the highest number no app uses.
 */
function assignBrokerRedisDbs(c: Checker, apps: AppConfig[]): void {
  const owners = new Map<number, string>();
  apps.forEach((a, i) => owners.set(a.redisDb, `apps[${i}].redisDb`));
  apps.forEach((a, i) => {
    if (a.brokerRedisDb === undefined) return;
    const key = `apps[${i}].brokerRedisDb`;
    const owner = owners.get(a.brokerRedisDb);
    if (owner) c.fail(key, a.brokerRedisDb, `already used by ${owner}; the queues need a Redis database no cache or other queue uses`);
    else owners.set(a.brokerRedisDb, key);
  });
  for (const a of apps) {
    if (!a.broker || a.brokerKind !== "redis" || a.brokerRedisDb !== undefined) continue;
    const free = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0].find((db) => !owners.has(db));
    if (free === undefined) {
      c.fail(`apps[${apps.indexOf(a)}].broker`, "redis", "no Redis database is left for its queues (16 in all); give fewer apps a Redis broker or use rabbitmq");
      continue;
    }
    a.brokerRedisDb = free;
    owners.set(free, `apps[${apps.indexOf(a)}].brokerRedisDb`);
  }
}

/**
 * `apps[].brokerAccess`: both apps use the RabbitMQ djangostack deploys (a vhost and a user each); the
 * app gets the other vhost's URL, with its own user, as `<its broker URL name>_<OTHER>`.
 */
function checkBrokerAccess(c: Checker, apps: AppConfig[]): void {
  apps.forEach((app, i) => {
    app.brokerAccess.forEach((other, j) => {
      const key = `apps[${i}].brokerAccess[${j}]`;
      const target = apps.find((a) => a.name === other);
      if (!target) c.fail(key, other, `no such app; apps are ${apps.map((a) => a.name).join(", ")}`);
      else if (target === app) c.fail(key, other, "an app always uses its own vhost; name another app");
      else if (!usesDeployedRabbitmq(app)) c.fail(key, other, `app ${app.name} has no RabbitMQ user of its own (broker: rabbitmq, not external) to be granted the vhost with`);
      else if (!usesDeployedRabbitmq(target)) c.fail(key, other, `app ${other} has no vhost on the deployed RabbitMQ (its broker is "${target.brokerKind}"${target.external.includes("broker") ? ", external" : ""})`);
      else if (app.envNames.brokerUrl === undefined) c.fail(key, other, `apps[${i}].envNames.brokerUrl is "": name the variable the app reads its broker URL from`);
      else {
        const env = brokerAccessEnv(app.envNames.brokerUrl, other);
        if (env in app.env || app.secretEnvKeys.includes(env)) c.fail(key, other, `the app's env already sets ${env}, the variable this grant hands it`);
      }
    });
  });
}

/** `apps[].broker`: true (RabbitMQ), false (no Celery), or the broker by name. */
function parseBroker(c: Checker, path: string, value: unknown): { broker: boolean; brokerKind: BrokerKind } {
  if (value === undefined || value === true) return { broker: true, brokerKind: "rabbitmq" };
  if (value === false) return { broker: false, brokerKind: "rabbitmq" };
  if (typeof value === "string" && (BROKER_KINDS as readonly string[]).includes(value)) return { broker: true, brokerKind: value as BrokerKind };
  c.fail(path, value, `expected true (RabbitMQ), false (no Celery) or one of ${BROKER_KINDS.map((k) => `"${k}"`).join(", ")}`);
  return { broker: true, brokerKind: "rabbitmq" };
}

function parseApp(c: Checker, path: string, value: unknown, index: number, soleApp: boolean, ctx: MediaContext): AppConfig {
  const { target } = ctx;
  const raw = c.object(path, value, APP_KEYS);
  const name = c.string(`${path}.name`, raw.name, index === 0 ? "web" : `app${index + 1}`, APP_NAME, APP_NAME_HINT);
  const routes = c.stringList(`${path}.routes`, raw.routes, soleApp ? ["/"] : [`/${name}/`], ROUTE, ROUTE_HINT);
  if (routes.length === 0 && raw.hosts === undefined) c.fail(`${path}.routes`, raw.routes, "an app needs at least one route or host");
  const env = c.stringMap(`${path}.env`, raw.env, ENV_NAME, "UPPER_SNAKE_CASE names");
  const envNames = parseEnvNames(c, `${path}.envNames`, raw.envNames, Object.keys(FIXED_ENV));
  const media = {
    ...parseFiles(c, `${path}.media`, raw.media, "media", soleApp ? "/media/" : `/media/${name}/`, PATHS.media, MEDIA_STORAGE_KEYS),
    ...parseMediaStorage(c, `${path}.media`, raw.media, name, ctx),
  };
  settleMediaEnvNames(c, `${path}.envNames`, envNames, raw.envNames, media.storage);
  checkAppEnv(c, `${path}.env`, name, env, managedEnv(envNames));
  const replicas = c.int(`${path}.replicas`, raw.replicas, 1, { min: 1, max: 100 });
  const autoscaleRaw = raw.autoscale === undefined ? undefined : c.object(`${path}.autoscale`, raw.autoscale, ["min", "max", "cpuPercent"]);
  const autoscale = autoscaleRaw && {
    min: c.int(`${path}.autoscale.min`, autoscaleRaw.min, replicas, { min: 1, max: 100 }),
    max: c.int(`${path}.autoscale.max`, autoscaleRaw.max, Math.max(replicas, 3), { min: 1, max: 200 }),
    cpuPercent: c.int(`${path}.autoscale.cpuPercent`, autoscaleRaw.cpuPercent, 70, { min: 10, max: 100 }),
  };
  if (autoscale && autoscale.min > autoscale.max) c.fail(`${path}.autoscale.min`, autoscale.min, `must not exceed autoscale.max (${autoscale.max})`);
  const g = c.object(`${path}.gunicorn`, raw.gunicorn, ["workers", "threads", "workerClass", "timeout", "gracefulTimeout", "keepalive", "maxRequests", "maxRequestsJitter"]);
  const websocketPaths = c.stringList(`${path}.websocketPaths`, raw.websocketPaths, [], ROUTE, ROUTE_HINT);
  // A WebSocket needs an ASGI server: an app that declares WebSocket paths defaults to one.
  const server = c.oneOf(`${path}.server`, raw.server, APP_SERVERS, websocketPaths.length > 0 ? "gunicorn-uvicorn" : "gunicorn");
  if (server === "gunicorn" && websocketPaths.length > 0) c.fail(`${path}.websocketPaths`, websocketPaths, `a WSGI server cannot hold a WebSocket; set ${path}.server to "gunicorn-uvicorn", "daphne" or "uvicorn" (ASGI), or drop the WebSocket paths`);
  const workerClass = g.workerClass === undefined ? undefined : c.oneOf(`${path}.gunicorn.workerClass`, g.workerClass, GUNICORN_WORKER_CLASSES, "sync");
  if (workerClass !== undefined && server !== "gunicorn") c.fail(`${path}.gunicorn.workerClass`, workerClass, `only for server "gunicorn" (WSGI); server "${server}" runs its own ASGI workers`);
  const workersValue = c.list(`${path}.workers`, raw.workers, [{}]);
  const healthPath = c.string(`${path}.healthPath`, raw.healthPath, "/api/v1/health/", ROUTE, ROUTE_HINT);
  const readyPath = c.string(`${path}.readyPath`, raw.readyPath, "/readyz/", ROUTE, ROUTE_HINT);
  const app: AppConfig = {
    name,
    source: parseSource(c, path, raw, "./app"),
    wsgi: c.string(`${path}.wsgi`, raw.wsgi, "config.wsgi:application", PY_PATH, "a Python path such as config.wsgi:application"),
    asgi: c.string(`${path}.asgi`, raw.asgi, "config.asgi:application", PY_PATH, "a Python path such as config.asgi:application"),
    server,
    celeryApp: c.string(`${path}.celeryApp`, raw.celeryApp, "config", PY_PATH, "a Python module such as config"),
    settingsModule: c.string(`${path}.settingsModule`, raw.settingsModule, "config.settings", PY_PATH, "a Python module such as config.settings"),
    routes,
    hosts: c.stringList(`${path}.hosts`, raw.hosts, [], HOSTNAME, HOSTNAME_HINT),
    port: c.int(`${path}.port`, raw.port, 8000, { min: 1, max: 65535 }),
    user: c.optionalString(`${path}.user`, raw.user, APP_USER, '"uid:gid" with a non-zero uid, such as "1000:1000" (the image\'s own user when unset)'),
    database: c.bool(`${path}.database`, raw.database, true),
    redisDb: c.int(`${path}.redisDb`, raw.redisDb, index, { min: 0, max: 15 }),
    ...parseBroker(c, `${path}.broker`, raw.broker),
    brokerAccess: c.stringList(`${path}.brokerAccess`, raw.brokerAccess, [], APP_NAME, "app names"),
    calls: c.stringList(`${path}.calls`, raw.calls, [], APP_NAME, "app names"),
    ...(raw.brokerRedisDb === undefined ? {} : { brokerRedisDb: c.int(`${path}.brokerRedisDb`, raw.brokerRedisDb, 15, { min: 0, max: 15 }) }),
    workers: [],
    beat: c.bool(`${path}.beat`, raw.beat, true),
    migrate: c.bool(`${path}.migrate`, raw.migrate, true),
    release: parseRelease(c, `${path}.release`, raw.release),
    jobs: parseJobs(c, `${path}.jobs`, raw.jobs),
    env,
    secretEnvKeys: [],
    replicas,
    autoscale,
    resources: parseResources(c, `${path}.resources`, raw.resources, WEB_RESOURCES),
    gunicorn: {
      ...(workerClass ? { workerClass } : {}),
      workers: c.int(`${path}.gunicorn.workers`, g.workers, 0, { min: 0, max: 64 }),
      threads: c.int(`${path}.gunicorn.threads`, g.threads, 1, { min: 1, max: 64 }),
      timeoutSeconds: c.int(`${path}.gunicorn.timeout`, g.timeout, 60, { min: 1, max: 3600 }),
      gracefulTimeoutSeconds: c.int(`${path}.gunicorn.gracefulTimeout`, g.gracefulTimeout, 30, { min: 1, max: 3600 }),
      keepaliveSeconds: c.int(`${path}.gunicorn.keepalive`, g.keepalive, 5, { min: 1, max: 300 }),
      maxRequests: c.int(`${path}.gunicorn.maxRequests`, g.maxRequests, 1000, { min: 0, max: 1_000_000 }),
      maxRequestsJitter: c.int(`${path}.gunicorn.maxRequestsJitter`, g.maxRequestsJitter, 100, { min: 0, max: 100_000 }),
    },
    static: parseStatic(c, `${path}.static`, raw.static, soleApp ? "/static/" : `/static/${name}/`, target, media),
    media,
    healthPath,
    readyPath,
    health: parseHealth(c, `${path}.health`, raw.health, healthPath, readyPath),
    websocketPaths,
    envNames,
    external: [],
    edge: parseAppEdge(c, `${path}.edge`, raw.edge),
  };
  app.metrics = parseAppMetrics(c, `${path}.metrics`, raw.metrics, app.port);
  moveSecretEnv(c, path, app);
  app.workers = workersValue.map((w, i) => parseWorker(c, `${path}.workers[${i}]`, w, i));
  checkUnique(c, app.workers, (w) => [w.name], (i) => `${path}.workers[${i}].name`, "worker pool names must be unique within an app");
  if (!app.broker && app.workers.length > 0 && raw.workers !== undefined) c.fail(`${path}.workers`, raw.workers, "Celery workers need broker: true");
  if (!app.broker) {
    app.workers = [];
    app.beat = false;
  }
  if (app.beat && app.workers.length === 0) c.fail(`${path}.beat`, true, "beat needs at least one worker pool to run its tasks");
  return app;
}

function parseWorker(c: Checker, path: string, value: unknown, index: number): WorkerPool {
  const raw = c.object(path, value, ["name", "queues", "concurrency", "pool", "replicas", "timeLimit", "resources", "prefetchMultiplier", "maxTasksPerChild", "autoscale"]);
  const queues = c.stringList(`${path}.queues`, raw.queues, ["celery"], QUEUE, "queue names of letters, digits, dot, dash or underscore");
  if (queues.length === 0) c.fail(`${path}.queues`, raw.queues, "expected at least one queue");
  const pool = c.oneOf(`${path}.pool`, raw.pool, CELERY_POOLS, "prefork");
  const options = parseWorkerOptions(c, path, raw, pool);
  return {
    ...options,
    name: c.string(`${path}.name`, raw.name, index === 0 ? "default" : `pool${index + 1}`, APP_NAME, APP_NAME_HINT),
    queues,
    concurrency: c.int(`${path}.concurrency`, raw.concurrency, 2, { min: 1, max: 1000 }),
    pool,
    replicas: c.int(`${path}.replicas`, raw.replicas, 1, { min: 0, max: 100 }),
    timeLimitSeconds: c.int(`${path}.timeLimit`, raw.timeLimit, 300, { min: 1, max: 86400 }),
    resources: parseResources(c, `${path}.resources`, raw.resources, WORKER_RESOURCES),
  };
}

const CONTAINER_DIR = /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/;

/**
 * `apps[].static` / `apps[].media`: the URL prefix nginx serves the files under (inside the edge's
 * /static/ or /media/ tree; "/static/" itself for a sole app, whose settings often hardcode it) and
 * the directory in the app's container (STATIC_ROOT where the image collects, MEDIA_ROOT).
 */
function parseFiles(c: Checker, path: string, value: unknown, tree: "static" | "media", defaultUrl: string, defaultRoot: string, extraKeys: readonly string[] = []): { url: string; root: string } {
  const raw = c.object(path, value, ["url", "root", ...extraKeys]);
  const url = c.string(`${path}.url`, raw.url, defaultUrl, ROUTE, ROUTE_HINT);
  if (!url.startsWith(`/${tree}/`)) c.fail(`${path}.url`, url, `must be /${tree}/ or a path under it (nginx serves the apps' ${tree} files there)`);
  const root = c.string(`${path}.root`, raw.root, defaultRoot, CONTAINER_DIR, "an absolute directory in the container, such as /app/staticfiles");
  if (/(^|\/)\.\.?(\/|$)/.test(root) || ["/", "/etc", "/tmp", "/proc", "/sys", "/dev", "/usr", "/bin"].includes(root)) c.fail(`${path}.root`, root, "an absolute directory of the app's own, such as /app/staticfiles or /srv/media; not a system directory and no . or .. segments");
  return { url, root };
}

/**
 * Kubernetes' edge copies the static files from the image (no volume is shared between the release
 * Job and nginx's pods), so there they must be collected at build; the Docker targets collect at
 * release unless told the image already holds them.
 */
function parseStatic(c: Checker, path: string, value: unknown, defaultUrl: string, target: Target, media: AppMedia): AppConfig["static"] {
  const raw: Raw = isPlainObject(value) ? value : {};
  const files = parseFiles(c, path, value, "static", defaultUrl, PATHS.imageStatic, ["collect", "storage"]);
  const storage = c.oneOf(`${path}.storage`, raw.storage, STATIC_STORAGES, "edge");
  if (storage === "spaces") {
    // The release's collectstatic uploads them into the app's media bucket, which the CDN fronts.
    if (!media.spaces) c.fail(`${path}.storage`, storage, `static files go to the app's media bucket: set apps[].media.storage "spaces" (it is "${media.storage}")`);
    for (const key of ["url", "collect"] as const) {
      if (raw[key] !== undefined) c.fail(`${path}.${key}`, raw[key], `set by djangostack with ${path}.storage "spaces": the CDN's URL, and collectstatic at release into the bucket`);
    }
    const url = media.spaces ? `https://${spacesCdnDomain(media.spaces.bucket.name, media.spaces.bucket.region)}/${STATIC_LOCATION}/` : files.url;
    return { ...files, url, collect: "release", storage };
  }
  const collect = c.oneOf(`${path}.collect`, raw.collect, STATIC_COLLECT, target === "kubernetes" ? "build" : "release");
  if (target === "kubernetes" && collect === "release") c.fail(`${path}.collect`, collect, 'on kubernetes the edge serves the files the image collected at build (nginx\'s pods copy them from the image); set "build" and run collectstatic in the Dockerfile, or serve them from the bucket (storage "spaces")');
  return { ...files, collect, storage };
}

/** Two apps' static (or media) URLs: never the same, never one inside the other (nginx would hand the inner one's files to the wrong app). */
function checkFileUrls(c: Checker, apps: AppConfig[]): void {
  for (const tree of ["static", "media"] as const) {
    apps.forEach((a, i) => {
      const j = apps.findIndex((b, k) => k < i && (b[tree].url.startsWith(a[tree].url) || a[tree].url.startsWith(b[tree].url)));
      if (j >= 0) c.fail(`apps[${i}].${tree}.url`, a[tree].url, `overlaps apps[${j}].${tree}.url (${apps[j][tree].url}); each app needs its own ${tree} prefix, none inside another's`);
    });
  }
}

/** `apps[].release`: each command an argument list (no shell), run in order; at most 20. */
function parseRelease(c: Checker, path: string, value: unknown): string[][] {
  const items = c.list(path, value, []);
  if (items.length > 20) c.fail(path, `${items.length} commands`, "at most 20 release commands");
  return items.map((item, i) => parseCommand(c, `${path}[${i}]`, item, "[python, manage.py, loaddata, initial]"));
}

/** Prefetch, child recycling and autoscaling as Celery's worker takes them; the last two only for prefork. */
function parseWorkerOptions(c: Checker, path: string, raw: Raw, pool: CeleryPool): Pick<WorkerPool, "prefetchMultiplier" | "maxTasksPerChild" | "autoscale"> {
  const out: Pick<WorkerPool, "prefetchMultiplier" | "maxTasksPerChild" | "autoscale"> = {};
  if (raw.prefetchMultiplier !== undefined) out.prefetchMultiplier = c.int(`${path}.prefetchMultiplier`, raw.prefetchMultiplier, 4, { min: 1, max: 1000 });
  const preforkOnly = (key: string, value: unknown): boolean => {
    if (pool === "prefork") return true;
    c.fail(`${path}.${key}`, value, `only for pool "prefork" (child processes); pool is "${pool}"`);
    return false;
  };
  if (raw.maxTasksPerChild !== undefined && preforkOnly("maxTasksPerChild", raw.maxTasksPerChild)) out.maxTasksPerChild = c.int(`${path}.maxTasksPerChild`, raw.maxTasksPerChild, 1, { min: 1, max: 1_000_000 });
  if (raw.autoscale !== undefined && preforkOnly("autoscale", raw.autoscale)) {
    const a = c.object(`${path}.autoscale`, raw.autoscale, ["min", "max"]);
    const autoscale = { min: c.int(`${path}.autoscale.min`, a.min, 1, { min: 0, max: 1000 }), max: c.int(`${path}.autoscale.max`, a.max, 4, { min: 1, max: 1000 }) };
    if (autoscale.min > autoscale.max) c.fail(`${path}.autoscale.min`, autoscale.min, `must not exceed autoscale.max (${autoscale.max})`);
    if (raw.concurrency !== undefined) c.fail(`${path}.concurrency`, raw.concurrency, "Celery ignores concurrency under autoscale: set autoscale.max instead");
    out.autoscale = autoscale;
  }
  return out;
}

function parseFrontend(c: Checker, value: unknown): FrontendConfig {
  const raw = c.object("frontend", value, ["build", "image", "route", "hosts", "port", "resources"]);
  if (raw.build === undefined && raw.image === undefined) c.fail("frontend", value, "a frontend needs build or image");
  return {
    source: parseSource(c, "frontend", raw, "./frontend"),
    route: c.string("frontend.route", raw.route, "/", ROUTE, ROUTE_HINT),
    hosts: c.stringList("frontend.hosts", raw.hosts, [], HOSTNAME, HOSTNAME_HINT),
    port: c.int("frontend.port", raw.port, 8080, { min: 1024, max: 65535 }),
    resources: parseResources(c, "frontend.resources", raw.resources, { cpuMillis: 100, memoryMiB: 64 }),
  };
}

function parseData(c: Checker, value: unknown, target: Target): DataConfig {
  const raw = c.object("data", value, ["postgres", "redis", "rabbitmq"]);
  const pg = c.object("data.postgres", raw.postgres, ["mode", "version", "resources", "volumeSize", "managedSize", "managedNodes", "maxConnections"]);
  const rd = c.object("data.redis", raw.redis, ["mode", "version", "resources", "volumeSize", "maxMemory", "evictionPolicy", "managedSize"]);
  const mq = c.object("data.rabbitmq", raw.rabbitmq, ["version", "resources", "volumeSize", "memoryHighWatermark", "diskFreeLimit"]);
  const managedDefault = target === "kubernetes" ? "managed" : "container";
  const pgMode = c.oneOf("data.postgres.mode", pg.mode, DATA_MODES, managedDefault);
  const redisMode = c.oneOf("data.redis.mode", rd.mode, DATA_MODES, managedDefault);
  // Managed clusters need a DigitalOcean VPC and a trusted source inside it: the DOKS cluster or the Droplet.
  const managedHint = `"managed" needs target "kubernetes" or "droplet" (a DigitalOcean VPC to put the cluster in); allowed here: "container"`;
  if (target === "docker" && pgMode === "managed") c.fail("data.postgres.mode", pg.mode, managedHint);
  if (target === "docker" && redisMode === "managed") c.fail("data.redis.mode", rd.mode, managedHint);
  const redisResources = parseResources(c, "data.redis.resources", rd.resources, { cpuMillis: 250, memoryMiB: 256 });
  const maxMemoryMiB = c.int("data.redis.maxMemory", rd.maxMemory, Math.floor(redisResources.memoryMiB * 0.75), { min: 16, max: 262144 });
  if (maxMemoryMiB >= redisResources.memoryMiB) c.fail("data.redis.maxMemory", rd.maxMemory, `must stay below the container memory (${redisResources.memoryMiB} MiB) to leave room for AOF rewrites`);
  const evictionPolicy = c.oneOf("data.redis.evictionPolicy", rd.evictionPolicy, REDIS_EVICTION_POLICIES, "allkeys-lru");
  if (redisMode === "managed" && !(VALKEY_EVICTION_POLICIES as readonly string[]).includes(evictionPolicy)) {
    c.fail("data.redis.evictionPolicy", evictionPolicy, `managed Valkey (data.redis.mode "managed") allows ${VALKEY_EVICTION_POLICIES.map((p) => `"${p}"`).join(", ")}; the LFU policies need mode "container"`);
  }
  return {
    postgres: {
      mode: pgMode,
      version: c.string("data.postgres.version", pg.version, "16", /^(13|14|15|16|17)$/, "a PostgreSQL major version from 13 to 17"),
      resources: parseResources(c, "data.postgres.resources", pg.resources, { cpuMillis: 500, memoryMiB: 1024 }),
      volumeSizeGiB: c.int("data.postgres.volumeSize", pg.volumeSize, 10, { min: 1, max: 16384 }),
      managedSize: c.string("data.postgres.managedSize", pg.managedSize, "db-s-1vcpu-2gb", SLUG, "a DigitalOcean database size slug"),
      managedNodes: c.int("data.postgres.managedNodes", pg.managedNodes, 1, { min: 1, max: 3 }),
      maxConnections: c.int("data.postgres.maxConnections", pg.maxConnections, 200, { min: 20, max: 10000 }),
    },
    redis: {
      mode: redisMode,
      version: c.string("data.redis.version", rd.version, "7", /^(6|7|8)(\.[0-9]+)?$/, "a Redis major version 6, 7 or 8"),
      resources: redisResources,
      volumeSizeGiB: c.int("data.redis.volumeSize", rd.volumeSize, 2, { min: 1, max: 16384 }),
      maxMemoryMiB,
      evictionPolicy,
      managedSize: c.string("data.redis.managedSize", rd.managedSize, "db-s-1vcpu-1gb", SLUG, "a DigitalOcean database size slug"),
    },
    rabbitmq: {
      version: c.string("data.rabbitmq.version", mq.version, "3.13", VERSION, "a RabbitMQ version such as 3.13 or 4.1"),
      resources: parseResources(c, "data.rabbitmq.resources", mq.resources, { cpuMillis: 500, memoryMiB: 512 }),
      volumeSizeGiB: c.int("data.rabbitmq.volumeSize", mq.volumeSize, 5, { min: 1, max: 16384 }),
      memoryHighWatermark: c.number("data.rabbitmq.memoryHighWatermark", mq.memoryHighWatermark, 0.6, { min: 0.1, max: 0.9 }),
      diskFreeLimitMiB: c.int("data.rabbitmq.diskFreeLimit", mq.diskFreeLimit, 1024, { min: 50, max: 1_048_576 }),
    },
  };
}

function parseEdge(c: Checker, value: unknown, target: Target, domain: string | undefined, docker: DockerTargetConfig): EdgeConfig {
  const raw = c.object("edge", value, ["nginxVersion", "httpPort", "httpsPort", "tls", "clientMaxBody", "hstsSeconds", "hstsIncludeSubDomains", "hstsPreload", "rateLimit", "trustedProxies", "denyPaths", "redirectHosts", "resources", "replicas"]);
  const tlsRaw = c.object("edge.tls", raw.tls, ["mode", "email", "staging", "certificatePath", "keyPath"]);
  const rl = c.object("edge.rateLimit", raw.rateLimit, ["generalPerSecond", "generalBurst", "strictPerMinute", "strictBurst", "strictPaths", "connectionsPerClient", "zones"]);
  // Only a public edge can answer Let's Encrypt: a Droplet, or a docker engine published on 0.0.0.0.
  const publicEdge = target === "droplet" || (target === "docker" && docker.publish === "public");
  const tlsDefault = domain && (target === "kubernetes" || publicEdge) ? "letsencrypt" : "none";
  const mode = c.oneOf("edge.tls.mode", tlsRaw.mode, TLS_MODES, tlsDefault);
  const email = c.optionalString("edge.tls.email", tlsRaw.email, EMAIL, "an email address for the Let's Encrypt account");
  if (mode !== "none" && !domain) c.fail("edge.tls.mode", mode, 'TLS needs djangostack:domain; set a domain or use "none"');
  // On Kubernetes DigitalOcean issues and renews the load balancer's certificate: no ACME account.
  if (mode === "letsencrypt" && !email && target !== "kubernetes") c.fail("edge.tls.email", tlsRaw.email, `required when edge.tls.mode is "letsencrypt" on target "${target}"`);
  if (mode === "files" && target === "kubernetes") c.fail("edge.tls.mode", mode, 'TLS terminates at the DigitalOcean Load Balancer with a managed certificate on target "kubernetes"; allowed here: "letsencrypt", "none"');
  if (mode === "letsencrypt" && target === "docker" && !publicEdge) {
    c.fail("edge.tls.mode", mode, 'Let\'s Encrypt cannot reach an edge published on loopback; set docker.publish "public" (an engine on a server you run), or use "none" or "files" on target "docker"');
  }
  const httpDefault = target === "docker" && docker.publish === "loopback" ? 8080 : 80;
  const httpsDefault = target === "docker" && docker.publish === "loopback" ? 8443 : 443;
  const httpPort = c.int("edge.httpPort", raw.httpPort, httpDefault, { min: 1, max: 65535 });
  // HTTP-01 validation always connects to port 80 (RFC 8555 section 8.3).
  if (mode === "letsencrypt" && publicEdge && httpPort !== 80) {
    c.fail("edge.httpPort", httpPort, 'Let\'s Encrypt validates on port 80 only; use 80 with edge.tls.mode "letsencrypt", or use "files"');
  }
  const certificatePath = parseTlsPath(c, "edge.tls.certificatePath", tlsRaw.certificatePath, "certificate");
  const keyPath = parseTlsPath(c, "edge.tls.keyPath", tlsRaw.keyPath, "key");
  checkTlsPair(c, certificatePath, keyPath);
  const httpsPort = c.int("edge.httpsPort", raw.httpsPort, httpsDefault, { min: 1, max: 65535 });
  checkEdgePorts(c, httpPort, httpsPort);
  if (mode === "files" && (!certificatePath || !keyPath)) c.fail("edge.tls", raw.tls, 'mode "files" needs certificatePath and keyPath');
  const hstsSeconds = c.int("edge.hstsSeconds", raw.hstsSeconds, 31536000, { min: 0, max: 63072000 });
  const hstsIncludeSubDomains = c.bool("edge.hstsIncludeSubDomains", raw.hstsIncludeSubDomains, false);
  const hstsPreload = c.bool("edge.hstsPreload", raw.hstsPreload, false);
  // The preload list's submission rules (hstspreload.org): a browser would otherwise refuse the entry.
  if (hstsPreload && (!hstsIncludeSubDomains || hstsSeconds < 31536000)) {
    c.fail("edge.hstsPreload", hstsPreload, `needs edge.hstsIncludeSubDomains true and edge.hstsSeconds of at least 31536000 (got ${String(hstsIncludeSubDomains)}, ${hstsSeconds})`);
  }
  return {
    denyPaths: parseDenyPaths(c, "edge.denyPaths", raw.denyPaths),
    nginxVersion: parseNginxVersion(c, raw.nginxVersion, "1.28"),
    httpPort,
    httpsPort,
    tls: { mode, email, staging: c.bool("edge.tls.staging", tlsRaw.staging, false), certificatePath, keyPath },
    clientMaxBodyMiB: c.int("edge.clientMaxBody", raw.clientMaxBody, 10, { min: 1, max: 10240 }),
    hstsSeconds,
    hstsIncludeSubDomains,
    hstsPreload,
    rateLimit: {
      generalPerSecond: c.int("edge.rateLimit.generalPerSecond", rl.generalPerSecond, 20, { min: 1, max: 100000 }),
      generalBurst: c.int("edge.rateLimit.generalBurst", rl.generalBurst, 40, { min: 0, max: 100000 }),
      strictPerMinute: c.int("edge.rateLimit.strictPerMinute", rl.strictPerMinute, 10, { min: 1, max: 100000 }),
      strictBurst: c.int("edge.rateLimit.strictBurst", rl.strictBurst, 5, { min: 0, max: 100000 }),
      strictPaths: c.stringList("edge.rateLimit.strictPaths", rl.strictPaths, ["/admin/login/", "/accounts/login/", "/api/auth/login/"], ROUTE, ROUTE_HINT),
      // A browser opens at most 6 HTTP/1.1 connections per host; 100 leaves room for an office behind one NAT address.
      connectionsPerClient: c.int("edge.rateLimit.connectionsPerClient", rl.connectionsPerClient, 100, { min: 0, max: 100000 }),
      zones: parseRateZones(c, "edge.rateLimit.zones", rl.zones),
    },
    ...(raw.trustedProxies === undefined ? {} : { trustedProxies: parseTrustedProxies(c, "edge.trustedProxies", raw.trustedProxies, target) }),
    redirectHosts: c.stringList("edge.redirectHosts", raw.redirectHosts, [], HOSTNAME, HOSTNAME_HINT),
    resources: parseResources(c, "edge.resources", raw.resources, { cpuMillis: 250, memoryMiB: 128 }),
    replicas: c.int("edge.replicas", raw.replicas, target === "kubernetes" ? 2 : 1, { min: 1, max: 20 }),
  };
}

const LOOPBACK_HOSTS = /^(localhost|127(\.[0-9]{1,3}){3}|\[::1\])$/;

/** The host part of an ssh:// or tcp:// docker.host (IPv6 in brackets), or undefined when it has none. */
export function dockerHostAddress(host: string | undefined): string | undefined {
  if (!host || !/^(ssh|tcp):\/\//.test(host)) return undefined;
  try {
    return new URL(host).hostname || undefined;
  } catch {
    return undefined;
  }
}

function parseDocker(c: Checker, value: unknown, target: Target): DockerTargetConfig {
  const raw = c.object("docker", value, ["host", "publish", "platform", "logMaxSize", "logMaxFiles"]);
  const host = c.optionalString("docker.host", raw.host, /^(unix|tcp|ssh):\/\/\S+$/, "a Docker host such as unix:///var/run/docker.sock or ssh://user@host");
  const address = dockerHostAddress(host);
  if (host && !host.startsWith("unix://") && !address) c.fail("docker.host", host, "expected a host name or address after the scheme, such as ssh://deploy@203.0.113.10");
  // docker-build 0.0.22 builds its engine client from bare ClientOptions, so it sends no client
  // certificate (a TLS-protected tcp:// engine refuses it), and a plain tcp:// engine is root on its
  // host for anyone who reaches the port. Only a loopback tcp:// (an SSH tunnel) is accepted.
  if (host?.startsWith("tcp://") && address && !LOOPBACK_HOSTS.test(address)) {
    c.fail("docker.host", host, "tcp:// is accepted only on a loopback address (an SSH tunnel: ssh -NL 2375:/var/run/docker.sock user@server, then tcp://127.0.0.1:2375); use ssh://user@host for a remote engine");
  }
  const remote = host !== undefined && !host.startsWith("unix://");
  const onlyDocker = (key: string, v: unknown) => {
    if (v !== undefined && target !== "docker") c.fail(`docker.${key}`, v, `only allowed when target is "docker" (target is "${target}"; its edge and image platform are fixed)`);
  };
  onlyDocker("publish", raw.publish);
  onlyDocker("platform", raw.platform);
  const platformDefault = remote ? "linux/amd64" : undefined;
  return {
    host,
    remote,
    publish: c.oneOf("docker.publish", raw.publish, DOCKER_PUBLISH, "loopback"),
    // A remote server's architecture is unknown here; amd64 is what most servers (and Droplets) run.
    platform: raw.platform === undefined || raw.platform === null ? platformDefault : c.oneOf("docker.platform", raw.platform, DOCKER_PLATFORMS, "linux/amd64"),
    logMaxSizeMiB: c.int("docker.logMaxSize", raw.logMaxSize, 10, { min: 1, max: 1024 }),
    logMaxFiles: c.int("docker.logMaxFiles", raw.logMaxFiles, 5, { min: 1, max: 100 }),
  };
}

function parseRegistry(c: Checker, path: string, value: unknown, project: string) {
  const raw = c.object(path, value, ["name", "create", "tier"]);
  return {
    name: c.string(`${path}.name`, raw.name, project, SLUG, "a DigitalOcean Container Registry name"),
    create: c.bool(`${path}.create`, raw.create, false),
    tier: c.oneOf(`${path}.tier`, raw.tier, ["starter", "basic", "professional"] as const, "basic"),
  };
}

function parseDroplet(c: Checker, value: unknown): DropletConfig {
  const raw = c.object("droplet", value, ["size", "image", "sshKeys", "adminCidrs", "tags", "alertEmails", "swapGiB", "registry", "dnsManaged", "deployUser", "backups", "egress"]);
  const sshKeys = c.stringList("droplet.sshKeys", raw.sshKeys, [], /^\S+$/, "SSH key fingerprints, IDs or names registered in DigitalOcean");
  const adminCidrs = parseAdminCidrs(c, "droplet.adminCidrs", raw.adminCidrs);
  if (sshKeys.length === 0) c.fail("droplet.sshKeys", raw.sshKeys, "at least one SSH key is required to reach the Droplet");
  const droplet: DropletConfig = {
    size: parseSize(c, "droplet.size", raw.size, "s-2vcpu-4gb", "Droplet"),
    image: parseDropletImage(c, raw.image),
    sshKeys,
    adminCidrs,
    tags: c.stringList("droplet.tags", raw.tags, [], /^[A-Za-z0-9:_-]{1,255}$/, "tags of letters, digits, colon, dash or underscore"),
    alertEmails: c.stringList("droplet.alertEmails", raw.alertEmails, [], EMAIL, "email addresses"),
    swapGiB: c.int("droplet.swapGiB", raw.swapGiB, 2, { min: 0, max: 64 }),
    registry: parseRegistry(c, "droplet.registry", raw.registry, NAMESPACE),
    dnsManaged: c.bool("droplet.dnsManaged", raw.dnsManaged, true),
    deployUser: parseDeployUser(c, raw.deployUser),
    backups: parseDropletBackups(c, raw.backups),
    egress: c.oneOf("droplet.egress", raw.egress, DROPLET_EGRESS, "reserved-ip"),
  };
  checkSwap(c, droplet.size, droplet.swapGiB);
  return droplet;
}

function parseKubernetes(c: Checker, value: unknown): KubernetesConfig {
  const raw = c.object("kubernetes", value, ["versionPrefix", "version", "namespace", "ha", "maintenance", "systemPool", "workloadPool", "registry", "dnsManaged", "loadBalancerSize"]);
  const m = c.object("kubernetes.maintenance", raw.maintenance, ["day", "startTime"]);
  const sp = c.object("kubernetes.systemPool", raw.systemPool, ["size", "count"]);
  const wp = c.object("kubernetes.workloadPool", raw.workloadPool, ["size", "minNodes", "maxNodes"]);
  const minNodes = c.int("kubernetes.workloadPool.minNodes", wp.minNodes, 2, { min: 1, max: 100 });
  const maxNodes = c.int("kubernetes.workloadPool.maxNodes", wp.maxNodes, 5, { min: 1, max: 100 });
  if (minNodes > maxNodes) c.fail("kubernetes.workloadPool.minNodes", minNodes, `must not exceed maxNodes (${maxNodes})`);
  const versionPrefix = c.string("kubernetes.versionPrefix", raw.versionPrefix, "1.33.", /^[0-9]+\.[0-9]+\.?$/, 'a version prefix such as "1.33."');
  const version = c.optionalString("kubernetes.version", raw.version, /^[0-9]+\.[0-9]+\.[0-9]+-do\.[0-9]+$/, 'an exact DOKS version slug such as "1.33.5-do.0" (`doctl kubernetes options versions`)');
  if (version && raw.versionPrefix !== undefined && !version.startsWith(versionPrefix)) {
    c.fail("kubernetes.version", version, `must start with kubernetes.versionPrefix ("${versionPrefix}"), or drop versionPrefix`);
  }
  return {
    versionPrefix,
    version,
    namespace: parseNamespace(c, "kubernetes.namespace", raw.namespace, NAMESPACE),
    ha: c.bool("kubernetes.ha", raw.ha, false),
    maintenance: {
      day: c.oneOf("kubernetes.maintenance.day", m.day, DAYS, "sunday"),
      startTime: c.string("kubernetes.maintenance.startTime", m.startTime, "04:00", /^([01][0-9]|2[0-3]):[0-5][0-9]$/, "a UTC time as HH:MM"),
    },
    systemPool: {
      size: parseSize(c, "kubernetes.systemPool.size", sp.size, "s-2vcpu-2gb", "node"),
      count: c.int("kubernetes.systemPool.count", sp.count, 1, { min: 1, max: 10 }),
    },
    workloadPool: { size: parseSize(c, "kubernetes.workloadPool.size", wp.size, "s-4vcpu-8gb", "node"), minNodes, maxNodes },
    registry: parseRegistry(c, "kubernetes.registry", raw.registry, NAMESPACE),
    dnsManaged: c.bool("kubernetes.dnsManaged", raw.dnsManaged, true),
    loadBalancerSize: c.oneOf("kubernetes.loadBalancerSize", raw.loadBalancerSize, ["lb-small", "lb-medium", "lb-large"] as const, "lb-small"),
  };
}

/** Reads only the names under `secretEnv`; its values are secrets and never appear in a message. */
function attachSecretEnvKeys(c: Checker, apps: AppConfig[], value: unknown): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    c.fail("secretEnv", "[secret]", "expected an object of app name -> { ENV_NAME: value }");
    return;
  }
  for (const [appName, vars] of Object.entries(value)) {
    const app = apps.find((a) => a.name === appName);
    if (!app) {
      c.fail(`secretEnv.${appName}`, appName, `no such app; apps are ${apps.map((a) => a.name).join(", ")}`);
      continue;
    }
    if (!isPlainObject(vars)) {
      c.fail(`secretEnv.${appName}`, "[secret]", "expected an object of ENV_NAME -> value");
      continue;
    }
    for (const [name, secret] of Object.entries(vars)) {
      if (!ENV_NAME.test(name)) c.fail(`secretEnv.${appName}.${name}`, name, "names must be UPPER_SNAKE_CASE");
      else if (name in managedEnv(app.envNames) || name in app.env || app.secretEnvKeys.includes(name)) c.fail(`secretEnv.${appName}.${name}`, name, "already set by djangostack or by the app's env");
      else if (typeof secret !== "string") c.fail(`secretEnv.${appName}.${name}`, "[secret]", "expected a string value");
      else app.secretEnvKeys.push(name);
    }
  }
}

/** A Sentry DSN: scheme, the project's public key (and a legacy secret), the host, the project id. */
const SENTRY_DSN = /^https?:\/\/[A-Za-z0-9]+(:[A-Za-z0-9]+)?@[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._-]+)*\/[0-9]+$/;

/**
 * `djangostack:sentryDsn` (secret): every app's processes get it as the secret env SENTRY_DSN, except
 * an app whose own secretEnv (or env) already sets SENTRY_DSN, for a project of its own.
 */
function attachSentryDsn(c: Checker, apps: AppConfig[], value: unknown): void {
  if (value === undefined || value === null) return;
  const offline = typeof value === "string" && value.startsWith(OFFLINE_SECRET_PREFIX);
  if (typeof value !== "string" || (!offline && !SENTRY_DSN.test(value))) {
    c.fail("sentryDsn", "[secret]", "expected a Sentry DSN such as https://<public key>@o123.ingest.sentry.io/456 (the project's Client Keys page)");
    return;
  }
  for (const app of apps) if (!app.secretEnvKeys.includes("SENTRY_DSN") && !("SENTRY_DSN" in app.env)) app.secretEnvKeys.push("SENTRY_DSN");
}

/** Shapes of user-supplied credentials; messages name the key and never the value. */
function checkSuppliedSecrets(c: Checker, apps: AppConfig[], raw: Raw): void {
  const minLength = (key: string, value: unknown, min: number) => {
    if (value === undefined || value === null) return;
    if (typeof value !== "string" || value.length < min) c.fail(key, "[secret]", `expected a secret string of at least ${min} characters`);
  };
  minLength("secretKey", raw.secretKey, 50);
  for (const key of ["postgresPassword", "redisPassword", "rabbitmqAdminPassword"] as const) minLength(key, raw[key], 16);
  for (const [key, needs] of [["databasePasswords", (a: AppConfig) => a.database], ["brokerPasswords", (a: AppConfig) => a.broker]] as const) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) {
      c.fail(key, "[secret]", "expected an object of app name -> password");
      continue;
    }
    for (const [appName, password] of Object.entries(value)) {
      const app = apps.find((a) => a.name === appName);
      if (!app || !needs(app)) c.fail(`${key}.${appName}`, appName, `no app with ${key === "databasePasswords" ? "a database" : "a broker"} by that name; apps are ${apps.map((a) => a.name).join(", ")}`);
      else minLength(`${key}.${appName}`, password, 16);
    }
  }
}
