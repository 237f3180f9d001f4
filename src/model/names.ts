/**
 * One naming scheme for processes, volumes and data-service identities, so realizers,
 * renderers and tests agree without repeating string templates.
 */

export const POSTGRES = "postgres";
export const POSTGRES_INIT = "postgres-init";
export const REDIS = "redis";
export const RABBITMQ = "rabbitmq";
export const EDGE = "nginx";

export const web = (app: string): string => `${app}-web`;
export const migrate = (app: string): string => `${app}-migrate`;
/** Docker targets with apps[].user: the one-off that hands the app's volumes to that uid. */
export const chown = (app: string): string => `${app}-chown`;
export const worker = (app: string, pool: string): string => `${app}-worker-${pool}`;
export const beat = (app: string): string => `${app}-beat`;
export const job = (app: string, name: string): string => `${app}-job-${name}`;
/** Docker targets: the container that runs an app's scheduled jobs. */
export const scheduler = (app: string): string => `${app}-scheduler`;

/** SQL identifiers cannot carry hyphens unquoted; app names may. */
const sqlSafe = (app: string): string => app.replace(/-/g, "_");
export const database = (app: string): string => `${sqlSafe(app)}_db`;
export const role = (app: string): string => `${sqlSafe(app)}_user`;
export const vhost = (app: string): string => `/${app}`;
export const brokerUser = (app: string): string => `${sqlSafe(app)}_broker`;
export const dbPasswordEnv = (app: string): string => `DB_PASSWORD_${sqlSafe(app).toUpperCase()}`;
/** psql variable that carries an app role's password into the init SQL. */
export const dbPasswordVar = (app: string): string => `pw_${sqlSafe(app)}`;
/** The superuser, and where the init reads the password it sets for it. */
export const SUPERUSER = { role: "postgres", passwordVar: "pw_superuser", passwordEnv: "POSTGRES_SUPERUSER_PASSWORD" } as const;

export const volume = {
  postgres: "postgres-data",
  redis: "redis-data",
  rabbitmq: "rabbitmq-data",
  postgresSocket: "postgres-socket",
  certs: "certs",
  acme: "acme",
  static: (app: string): string => `static-${app}`,
  media: (app: string): string => `media-${app}`,
} as const;

/** The frontend's process, upstream and image key; an app can never be named this next to a frontend. */
export const FRONTEND = "frontend";

/** Operator user of the RabbitMQ definitions; apps never log in as it. */
export const RABBITMQ_ADMIN = "djangostack-admin";

/**
 * The backup's RabbitMQ user: it reads the live definitions from the management API. Tagged
 * administrator because RabbitMQ (3.10.8, measured) answers GET /api/definitions with 401 "Not
 * administrator user" to monitoring and policymaker users; it has no permission on any vhost.
 */
export const RABBITMQ_BACKUP_USER = "djangostack-backup";
/** The management API's port, inside the stack's network only (never published). */
export const RABBITMQ_MANAGEMENT_PORT = 15672;

/**
 * Names of the Kubernetes ConfigMaps and Secrets (Pulumi resource names under the stack's prefix; the
 * objects themselves are auto-named from them). Two equal names of one kind are one resource twice.
 */
export const kube = {
  appEnv: (app: string): string => `${app}-env`,
  processEnv: (process: string): string => `${process}-env`,
  appSecrets: (app: string): string => `${app}-secrets`,
  gunicorn: (app: string): string => `${app}-gunicorn`,
  configMaps: {
    postgresGrantsSql: "postgres-grants-sql",
    postgresGrantsEnv: "postgres-grants-env",
    postgresInitSql: "postgres-init-sql",
    redisConfig: "redis-config",
    rabbitmqConfig: "rabbitmq-config",
    nginxConfig: "nginx-config",
  },
  secrets: {
    postgresGrants: "postgres-grants",
    rabbitmqDefinitions: "rabbitmq-definitions",
    rabbitmqErlangCookie: "rabbitmq-erlang-cookie",
  },
} as const;

/**
 * Each app's own health and readiness through the edge, whatever path it shares with other apps:
 * `/_djangostack/<app>/health/` and `/ready/`, which nginx passes to that app as its healthPath and
 * readyPath (a plain health path reaches only one app when several declare the same one).
 */
export const APP_HEALTH_PREFIX = "/_djangostack/";
export const appHealthPaths = (app: string): { health: string; ready: string } => ({ health: `${APP_HEALTH_PREFIX}${app}/health/`, ready: `${APP_HEALTH_PREFIX}${app}/ready/` });

/**
 * Stands in for the Droplet's reserved IP in ALLOWED_HOSTS until the realizer knows it. A name in
 * the reserved .invalid TLD (RFC 6761): left unreplaced, it admits no client at all, never every one.
 */
export const PUBLIC_ADDRESS = "public-address.djangostack.invalid";
