/**
 * The app contract: how djangostack probes an app, under which env names the app's settings read what
 * djangostack hands it, and which services it takes from outside the stack. Parsed with the Checker
 * like every other key; the model (model/build.ts) and the realizers only read the result.
 */
import { Checker, OFFLINE_SECRET_PREFIX, Raw, isPlainObject } from "./checker";
import { ENV_PRESET_NAMES } from "./env-rules";
import {
  AppConfig,
  AppHealth,
  AppProbe,
  COMPONENT_ROLES,
  ComponentRole,
  ComponentService,
  ENV_PRESETS,
  ENV_ROLES,
  EXTERNAL_SERVICES,
  EnvNames,
  EnvRole,
  ExternalService,
  PROBE_KINDS,
} from "./types";

/** The web process's default probes: slow enough for a first start that runs Django's checks. */
export const DEFAULT_WEB_TIMING = { intervalSeconds: 15, timeoutSeconds: 10, retries: 4, startPeriodSeconds: 60 } as const;

const COMMAND_ARG = /^[^\0\n]+$/;

function parseProbe(c: Checker, path: string, kindValue: unknown, commandValue: unknown, httpPath: string): AppProbe {
  const kind = c.oneOf(path, kindValue, PROBE_KINDS, "http");
  const commandKey = `${path}Command`;
  if (kind !== "exec") {
    if (commandValue !== undefined) c.fail(commandKey, commandValue, `only used when ${path} is "exec" (it is "${kind}")`);
    return kind === "http" ? { kind, path: httpPath } : { kind };
  }
  const command = c.stringList(commandKey, commandValue, [], COMMAND_ARG, "a command as a list of arguments, e.g. [python, manage.py, healthcheck]");
  if (command.length === 0) c.fail(commandKey, commandValue, `required when ${path} is "exec": the command as a list of arguments`);
  return { kind, command };
}

/**
 * `apps[].health`: the probe kind of liveness and readiness (http probes `healthPath` / `readyPath`),
 * exec commands, and the timings Docker's health check and Kubernetes' probes both use.
 */
export function parseHealth(c: Checker, path: string, value: unknown, healthPath: string, readyPath: string): AppHealth {
  const raw = c.object(path, value, ["liveness", "readiness", "livenessCommand", "readinessCommand", "interval", "timeout", "retries", "startPeriod"]);
  const d = DEFAULT_WEB_TIMING;
  const health: AppHealth = {
    liveness: parseProbe(c, `${path}.liveness`, raw.liveness, raw.livenessCommand, healthPath),
    readiness: parseProbe(c, `${path}.readiness`, raw.readiness, raw.readinessCommand, readyPath),
    intervalSeconds: c.int(`${path}.interval`, raw.interval, d.intervalSeconds, { min: 1, max: 3600 }),
    timeoutSeconds: c.int(`${path}.timeout`, raw.timeout, d.timeoutSeconds, { min: 1, max: 3600 }),
    retries: c.int(`${path}.retries`, raw.retries, d.retries, { min: 1, max: 100 }),
    startPeriodSeconds: c.int(`${path}.startPeriod`, raw.startPeriod, d.startPeriodSeconds, { min: 0, max: 3600 }),
  };
  // A check still running when the next is due makes Docker and kubelet count it as failed.
  if (health.timeoutSeconds > health.intervalSeconds) c.fail(`${path}.timeout`, health.timeoutSeconds, `must not exceed ${path}.interval (${health.intervalSeconds})`);
  return health;
}

/** Roles an app cannot do without: Django refuses to start without a key, health checks without allowed hosts. */
const REQUIRED_ROLES: readonly EnvRole[] = ["secretKey", "allowedHosts"];
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * `apps[].envNames`: a preset, then any name set one by one; "" means the app does not read that
 * setting. `fixed` are the other names djangostack sets (static paths, probe files), which no role may take.
 */
export function parseEnvNames(c: Checker, path: string, value: unknown, fixed: readonly string[]): EnvNames {
  const raw = c.object(path, value, ["preset", ...ENV_ROLES]);
  const preset = c.oneOf(`${path}.preset`, raw.preset, ENV_PRESETS, "djangostack");
  const names: EnvNames = { ...ENV_PRESET_NAMES[preset] };
  for (const role of ENV_ROLES) {
    const v = raw[role];
    if (v === undefined) continue;
    const optional = !REQUIRED_ROLES.includes(role);
    if (v === "" && optional) names[role] = undefined;
    else names[role] = c.string(`${path}.${role}`, v, "", ENV_NAME, optional ? 'an UPPER_SNAKE_CASE env name, or "" when the app does not read it' : "an UPPER_SNAKE_CASE env name");
  }
  const seen = new Map<string, EnvRole>();
  for (const role of ENV_ROLES) {
    const name = names[role];
    if (name === undefined) continue;
    const first = seen.get(name);
    if (first) c.fail(`${path}.${role}`, name, `already the name of ${path}.${first}; each setting needs its own variable`);
    else if (fixed.includes(name)) c.fail(`${path}.${role}`, name, `djangostack already sets ${name} for another purpose; choose another name`);
    seen.set(name, role);
  }
  return names;
}

/** URL schemes each external service accepts (Django's, redis-py's and Celery's own). */
const EXTERNAL_SCHEMES: Readonly<Record<ExternalService, readonly string[]>> = {
  database: ["postgres", "postgresql", "postgis"],
  cache: ["redis", "rediss"],
  broker: ["amqp", "amqps", "redis", "rediss"],
  resultBackend: ["redis", "rediss", "db+postgresql", "rpc"],
  // clickhouse-driver's native protocol (clickhouses: TLS) and the HTTP interface (clickhouse-connect).
  clickhouse: ["clickhouse", "clickhouses", "http", "https"],
};

/** Which env role carries each external service's URL. */
export const EXTERNAL_ROLE: Readonly<Record<ExternalService, EnvRole>> = {
  database: "databaseUrl",
  cache: "cacheUrl",
  broker: "brokerUrl",
  resultBackend: "resultBackend",
  clickhouse: "clickhouseUrl",
};

/**
 * The secret `djangostack:external`: app name -> service -> URL. Only the shape is read here (values
 * are secrets and never appear in a message); the URLs reach the app as secret env (config/load.ts).
 * `wantsDatabase`: the app's `database` key before an external database turned it off.
 */
export function attachExternalServices(c: Checker, apps: AppConfig[], value: unknown, wantsDatabase: ReadonlyMap<string, boolean>): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    c.fail("external", "[secret]", `expected an object of app name -> { ${EXTERNAL_SERVICES.join(" | ")}: URL }`);
    return;
  }
  for (const [appName, services] of Object.entries(value)) {
    const app = apps.find((a) => a.name === appName);
    if (!app) {
      c.fail(`external.${appName}`, appName, `no such app; apps are ${apps.map((a) => a.name).join(", ")}`);
      continue;
    }
    if (!isPlainObject(services)) {
      c.fail(`external.${appName}`, "[secret]", `expected an object of service (${EXTERNAL_SERVICES.join(", ")}) -> URL`);
      continue;
    }
    for (const [service, url] of Object.entries(services as Raw)) {
      const key = `external.${appName}.${service}`;
      if (!(EXTERNAL_SERVICES as readonly string[]).includes(service)) {
        c.fail(key, service, `unknown service; allowed: ${EXTERNAL_SERVICES.join(", ")}`);
        continue;
      }
      const s = service as ExternalService;
      const schemes = EXTERNAL_SCHEMES[s];
      const scheme = typeof url === "string" ? /^([a-z][a-z0-9+.-]*):\/\/\S+$/.exec(url)?.[1] : undefined;
      // The offline render holds a placeholder for a `secure:` URL: `pulumi up` judges the real one.
      const offline = typeof url === "string" && url.startsWith(OFFLINE_SECRET_PREFIX);
      if (!offline && (!scheme || !schemes.includes(scheme))) {
        c.fail(key, "[secret]", `expected a URL of scheme ${schemes.map((x) => `${x}://`).join(", ")}`);
        continue;
      }
      if (s === "clickhouse" && !readsService(app, "clickhouse")) {
        c.fail(key, service, `app ${appName} reads no ClickHouse variable; name the ones its settings read in apps[].envNames.clickhouseUrl or the clickhouse parts (clickhouseHost, clickhousePort, clickhouseDatabase, clickhouseUser, clickhousePassword)`);
        continue;
      }
      if (s !== "clickhouse" && app.envNames[EXTERNAL_ROLE[s]] === undefined) {
        c.fail(key, service, `apps[].envNames.${EXTERNAL_ROLE[s]} of ${appName} is "" (the app reads no such variable); name the variable it reads`);
        continue;
      }
      if (s === "database" && !wantsDatabase.get(appName)) c.fail(key, service, `app ${appName} has database: false; set it true (the default) to use an external database`);
      else if ((s === "broker" || s === "resultBackend") && !app.broker) c.fail(key, service, `app ${appName} has broker: false; Celery settings need broker: true`);
      else {
        app.external.push(s);
        if (s === "database") app.database = false;
      }
    }
  }
}

/** Which connection part each component role carries. */
export const COMPONENT_PARTS: Readonly<Record<ComponentRole, { service: ComponentService; part: "host" | "port" | "name" | "user" | "password" }>> = {
  databaseHost: { service: "database", part: "host" },
  databasePort: { service: "database", part: "port" },
  databaseName: { service: "database", part: "name" },
  databaseUser: { service: "database", part: "user" },
  databasePassword: { service: "database", part: "password" },
  brokerHost: { service: "broker", part: "host" },
  brokerPort: { service: "broker", part: "port" },
  brokerVhost: { service: "broker", part: "name" },
  brokerUser: { service: "broker", part: "user" },
  brokerPassword: { service: "broker", part: "password" },
  clickhouseHost: { service: "clickhouse", part: "host" },
  clickhousePort: { service: "clickhouse", part: "port" },
  clickhouseDatabase: { service: "clickhouse", part: "name" },
  clickhouseUser: { service: "clickhouse", part: "user" },
  clickhousePassword: { service: "clickhouse", part: "password" },
};

/** A component name needs the service it describes: a database, or RabbitMQ (deployed or external). */
export function checkComponentNames(c: Checker, apps: AppConfig[]): void {
  apps.forEach((app, i) => {
    for (const role of COMPONENT_ROLES) {
      if (app.envNames[role] === undefined) continue;
      const { service } = COMPONENT_PARTS[role];
      const key = `apps[${i}].envNames.${role}`;
      if (service === "database" && !app.database && !app.external.includes("database")) c.fail(key, app.envNames[role], `app ${app.name} has no database (database: false and no external one)`);
      if (service === "broker" && !usesDeployedRabbitmq(app) && !app.external.includes("broker")) c.fail(key, app.envNames[role], `app ${app.name} has no RabbitMQ broker (broker: ${app.broker ? `"${app.brokerKind}"` : "false"}); the parts exist for RabbitMQ or an external broker`);
      if (service === "clickhouse" && !app.external.includes("clickhouse")) c.fail(key, app.envNames[role], `app ${app.name} has no ClickHouse: give its URL as the secret djangostack:external.${app.name}.clickhouse`);
    }
  });
}

/** Does the app read a service under some name: its URL's role or one of its parts? */
function readsService(app: AppConfig, service: ComponentService): boolean {
  const role = (Object.entries(EXTERNAL_ROLE) as [ExternalService, EnvRole][]).find(([s]) => s === service)?.[1];
  return (role !== undefined && app.envNames[role] !== undefined) || COMPONENT_ROLES.some((r) => COMPONENT_PARTS[r].service === service && app.envNames[r] !== undefined);
}

/** The env name under which an app gets another app's vhost: CELERY_BROKER_URL_NOTIFICATION. */
export const brokerAccessEnv = (brokerUrlName: string, other: string): string => `${brokerUrlName}_${other.toUpperCase().replace(/-/g, "_")}`;

/** Does the app use the RabbitMQ djangostack deploys? */
export function usesDeployedRabbitmq(app: AppConfig): boolean {
  return app.broker && app.brokerKind === "rabbitmq" && !app.external.includes("broker");
}

/** Does the app use the Redis djangostack deploys (cache, or Celery results)? */
export function usesDeployedRedis(app: AppConfig): boolean {
  const cache = app.envNames.cacheUrl !== undefined && !app.external.includes("cache");
  const results = app.broker && app.envNames.resultBackend !== undefined && !app.external.includes("resultBackend");
  const queues = app.broker && app.brokerKind === "redis" && !app.external.includes("broker");
  return cache || results || queues;
}
