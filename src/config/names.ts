/**
 * Names that collide only after derivation. Apps, worker pools and the frontend each turn into
 * containers, network aliases, Kubernetes objects, images, Postgres roles and databases and RabbitMQ
 * vhosts and users; two owners deriving one name would share (or overwrite) one of those, e.g. an app
 * named `frontend` next to a frontend would run the frontend's image with the app's secrets. Every
 * name is derived by the functions the model and the targets use (src/model/names.ts), never
 * re-spelt here, so this check and what gets deployed cannot drift apart.
 */
import { Checker } from "./checker";
import { StackConfig } from "./types";
import { usesDeployedRabbitmq } from "./contract";
import * as names from "../model/names";
import { hasReleaseProcess } from "../model/build";

/** One derived name, who it comes from (a config key, or the stack itself) and what derives it. */
interface Claim {
  kind: string;
  name: string;
  /** Config key of the owner (`apps[1].name`, `apps[0].workers[2].name`, `frontend`), or undefined for built-ins. */
  key?: string;
  /** What the owner is, for messages: `app "x" (web)`. */
  what: string;
}

const KIND = {
  process: "container / network alias / Kubernetes workload",
  image: "image",
  configMap: "Kubernetes ConfigMap",
  secret: "Kubernetes Secret",
  volume: "Docker volume",
  database: "Postgres database",
  role: "Postgres role",
  vhost: "RabbitMQ vhost",
  brokerUser: "RabbitMQ user",
} as const;

/** Kubernetes Service and workload names are DNS-1035 labels (RFC 1035: a letter first, 63 at most). */
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 = 63 bytes (two long names would become one). */
const PG_IDENTIFIER_BYTES = 63;
/** Roles PostgreSQL refuses to create (`role name "pg_x" is reserved`), and the server's own ones. */
const PG_RESERVED_ROLE = /^pg_/;
/** Databases every server has (and DigitalOcean's managed default). */
const PG_BUILTIN_DATABASES = ["postgres", "template0", "template1", "defaultdb"];
/** RabbitMQ's default user and vhost, which the definitions never define. */
const RABBITMQ_BUILTIN_USERS = ["guest"];

function builtins(): Claim[] {
  const stack = (kind: string, name: string): Claim => ({ kind, name, what: "djangostack" });
  const fixedProcesses = [names.POSTGRES, names.POSTGRES_INIT, names.REDIS, names.RABBITMQ, names.EDGE];
  return [
    ...fixedProcesses.map((p) => stack(KIND.process, p)),
    ...fixedProcesses.map((p) => stack(KIND.configMap, names.kube.processEnv(p))),
    ...fixedProcesses.map((p) => stack(KIND.secret, names.kube.processEnv(p))),
    ...Object.values(names.kube.configMaps).map((n) => stack(KIND.configMap, n)),
    ...Object.values(names.kube.secrets).map((n) => stack(KIND.secret, n)),
    ...[names.volume.postgres, names.volume.redis, names.volume.rabbitmq, names.volume.postgresSocket, names.volume.certs, names.volume.acme].map((v) => stack(KIND.volume, v)),
    stack(KIND.role, names.SUPERUSER.role),
    ...PG_BUILTIN_DATABASES.map((d) => stack(KIND.database, d)),
    ...[...RABBITMQ_BUILTIN_USERS, names.RABBITMQ_ADMIN, names.RABBITMQ_BACKUP_USER].map((u) => stack(KIND.brokerUser, u)),
    // The default vhost "/" exists only when no definitions are loaded; an app must never land in it.
    stack(KIND.vhost, "/"),
  ];
}

/** The frontend's process, image and env, derived from one fixed name. */
function frontendClaims(config: StackConfig): Claim[] {
  if (!config.frontend) return [];
  const own = (kind: string, name: string): Claim => ({ kind, name, key: "frontend", what: "the frontend" });
  return [own(KIND.process, names.FRONTEND), own(KIND.image, names.FRONTEND), own(KIND.configMap, names.kube.processEnv(names.FRONTEND))];
}

/** Every name one app derives, with the config key that owns it. */
function appClaims(config: StackConfig, index: number): Claim[] {
  const app = config.apps[index];
  const key = `apps[${index}].name`;
  const own = (kind: string, name: string, role: string): Claim => ({ kind, name, key, what: `app "${app.name}" (${role})` });
  const processes: [string, string][] = [[names.web(app.name), "web"]];
  if (hasReleaseProcess(config, app)) processes.push([names.migrate(app.name), "release"]);
  if (app.beat) processes.push([names.beat(app.name), "beat"]);
  if (app.user && config.target !== "kubernetes") processes.push([names.chown(app.name), "volume ownership"]);
  const claims: Claim[] = [
    own(KIND.image, app.name, "image"),
    own(KIND.configMap, names.kube.appEnv(app.name), "env"),
    own(KIND.configMap, names.kube.gunicorn(app.name), "gunicorn config"),
    own(KIND.secret, names.kube.appSecrets(app.name), "secret env"),
    own(KIND.volume, names.volume.static(app.name), "static files"),
    own(KIND.volume, names.volume.media(app.name), "uploads"),
    ...processes.flatMap(([p, role]) => [own(KIND.process, p, role), own(KIND.configMap, names.kube.processEnv(p), `${role} env`)]),
  ];
  if (app.database) claims.push(own(KIND.database, names.database(app.name), "database"), own(KIND.role, names.role(app.name), "database role"));
  if (usesDeployedRabbitmq(app)) claims.push(own(KIND.vhost, names.vhost(app.name), "vhost"), own(KIND.brokerUser, names.brokerUser(app.name), "broker user"));
  app.workers.forEach((w, j) => {
    const p = names.worker(app.name, w.name);
    const pool: Claim = { kind: KIND.process, name: p, key: `apps[${index}].workers[${j}].name`, what: `app "${app.name}" pool "${w.name}"` };
    claims.push(pool, { ...pool, kind: KIND.configMap, name: names.kube.processEnv(p) });
  });
  if (app.jobs.length > 0) claims.push(own(KIND.process, names.scheduler(app.name), "scheduler"), own(KIND.configMap, names.kube.processEnv(names.scheduler(app.name)), "scheduler env"));
  app.jobs.forEach((job, j) => {
    const p = names.job(app.name, job.name);
    const owner: Claim = { kind: KIND.process, name: p, key: `apps[${index}].jobs[${j}].name`, what: `app "${app.name}" job "${job.name}"` };
    claims.push(owner, { ...owner, kind: KIND.configMap, name: names.kube.processEnv(p) });
  });
  return claims;
}

const DERIVATIONS = "<app>-web, <app>-migrate, <app>-beat, <app>-worker-<pool>, <app>-job-<job>, <app>-scheduler, <app>-chown, <app>-env, <app>-secrets, <app>_db, <app>_user, /<app>, <app>_broker";

/**
 * Refuses two owners deriving one name, a derived name a server reserves, and a derived name longer
 * than its system allows. Messages go to the key of the later owner and name the earlier one.
 */
export function checkDerivedNames(c: Checker, config: StackConfig): void {
  const seen = new Map<string, Claim>();
  const reported = new Set<string>();
  // Built-ins and the frontend first: a clash is then reported on the app or pool that can be renamed.
  const claims = [...builtins(), ...frontendClaims(config), ...config.apps.flatMap((_, i) => appClaims(config, i))];
  for (const claim of claims) {
    const id = `${claim.kind}\0${claim.name}`;
    const first = seen.get(id);
    if (!first) {
      seen.set(id, claim);
      continue;
    }
    // One owner deriving a name twice is one object; only distinct owners collide.
    if (first.key === claim.key && first.what === claim.what) continue;
    // One message per owner: renaming it clears every clash its name causes.
    if (!claim.key || reported.has(claim.key)) continue;
    reported.add(claim.key);
    const fixed = !first.key || first.key === "frontend";
    const other = first.key ? `${first.key} (${first.what}) derives it too` : "djangostack uses itself";
    c.fail(claim.key, nameAt(config, claim.key), `derives the ${claim.kind} "${claim.name}", which ${other}; ${fixed ? "choose another name" : "rename one of them"} (names derive as ${DERIVATIONS})`);
  }
  for (const claim of claims) {
    if (!claim.key) continue;
    if (claim.kind === KIND.role && PG_RESERVED_ROLE.test(claim.name)) {
      c.fail(claim.key, nameAt(config, claim.key), `derives the Postgres role "${claim.name}", and PostgreSQL reserves role names starting with "pg_"; choose an app name that does not start with "pg-" or equal "pg"`);
    }
    if ((claim.kind === KIND.role || claim.kind === KIND.database) && Buffer.byteLength(claim.name) > PG_IDENTIFIER_BYTES) {
      c.fail(claim.key, nameAt(config, claim.key), `derives the ${claim.kind} "${claim.name}", longer than PostgreSQL's ${PG_IDENTIFIER_BYTES}-byte identifiers; choose a shorter name`);
    }
    if (config.target === "kubernetes" && claim.kind === KIND.process && !DNS_LABEL.test(claim.name)) {
      c.fail(claim.key, nameAt(config, claim.key), `derives the Kubernetes Service and workload name "${claim.name}", which must be a DNS label (a letter first, lowercase letters, digits and "-", at most 63 characters); choose a shorter name`);
    }
  }
}

/** The parsed name at an owner's key, for the "got" part of a message. */
function nameAt(config: StackConfig, key: string): string | undefined {
  const pool = /^apps\[(\d+)\]\.workers\[(\d+)\]\.name$/.exec(key);
  if (pool) return config.apps[Number(pool[1])]?.workers[Number(pool[2])]?.name;
  const job = /^apps\[(\d+)\]\.jobs\[(\d+)\]\.name$/.exec(key);
  if (job) return config.apps[Number(job[1])]?.jobs[Number(job[2])]?.name;
  const app = /^apps\[(\d+)\]\.name$/.exec(key);
  if (app) return config.apps[Number(app[1])]?.name;
  return undefined;
}
