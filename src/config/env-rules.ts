/**
 * Rules for an app's plain `env` and the names under `secretEnv`. The credential-name rule is shared
 * with the policy pack (policy/rules.ts imports this file), so config and policy agree on what a
 * credential looks like. Dependency-free except for the Checker type.
 */
import type { Checker } from "./checker";
import type { ComponentRole, EnvNames, EnvPreset, EnvRole, MediaRole } from "./types";

/** The settings each env role carries, and the config key that controls its value. */
const ROLE_SOURCES: Readonly<Record<EnvRole, string>> = {
  secretKey: "the secret djangostack:secretKey (generated when unset)",
  allowedHosts: "djangostack:domain and apps[].hosts (plus the internal names health checks use)",
  debug: "djangostack (always off in a deployment)",
  databaseUrl: "apps[].database, the secret djangostack:databasePasswords or djangostack:external.<app>.database",
  cacheUrl: "apps[].redisDb, the secret djangostack:redisPassword or djangostack:external.<app>.cache",
  brokerUrl: "apps[].broker (RabbitMQ, or apps[].brokerRedisDb with broker: redis), the secret djangostack:brokerPasswords or djangostack:external.<app>.broker",
  resultBackend: "apps[].redisDb (results go to the app's Redis database) or djangostack:external.<app>.resultBackend",
  databaseHost: "the database djangostack deploys, or djangostack:external.<app>.database",
  databasePort: "the database djangostack deploys, or djangostack:external.<app>.database",
  databaseName: "apps[].name (<app>_db), or djangostack:external.<app>.database",
  databaseUser: "apps[].name (<app>_user), or djangostack:external.<app>.database",
  databasePassword: "the secret djangostack:databasePasswords (generated when unset), or djangostack:external.<app>.database",
  brokerHost: "the RabbitMQ djangostack deploys, or djangostack:external.<app>.broker",
  brokerPort: "the RabbitMQ djangostack deploys, or djangostack:external.<app>.broker",
  brokerVhost: "apps[].name (/<app>), or djangostack:external.<app>.broker",
  brokerUser: "apps[].name (<app>_broker), or djangostack:external.<app>.broker",
  brokerPassword: "the secret djangostack:brokerPasswords (generated when unset), or djangostack:external.<app>.broker",
  clickhouseUrl: "the secret djangostack:external.<app>.clickhouse",
  clickhouseHost: "the secret djangostack:external.<app>.clickhouse",
  clickhousePort: "the secret djangostack:external.<app>.clickhouse",
  clickhouseDatabase: "the secret djangostack:external.<app>.clickhouse",
  clickhouseUser: "the secret djangostack:external.<app>.clickhouse",
  clickhousePassword: "the secret djangostack:external.<app>.clickhouse",
  mediaStorage: 'apps[].media.storage ("s3": the app stores uploads with django-storages\' S3 backend)',
  storageBucket: "apps[].media.bucket.name",
  storageEndpoint: "apps[].media.bucket.region (https://<region>.digitaloceanspaces.com)",
  storageRegion: "apps[].media.bucket.region",
  storageAccessKey: "the media bucket's generated Spaces key, or the secret djangostack:mediaCredentials.<app>",
  storageSecretKey: "the media bucket's generated Spaces key, or the secret djangostack:mediaCredentials.<app>",
  storageDefaultAcl: "apps[].media.private (private, or public-read)",
  storageQuerystringAuth: "apps[].media.private (signed URLs)",
  storageQuerystringExpire: "apps[].media.expiry",
};

/** No convention sets the connection parts one by one: apps name the ones they read. */
const NO_COMPONENTS: Readonly<Record<ComponentRole, undefined>> = {
  databaseHost: undefined, databasePort: undefined, databaseName: undefined, databaseUser: undefined, databasePassword: undefined,
  brokerHost: undefined, brokerPort: undefined, brokerVhost: undefined, brokerUser: undefined, brokerPassword: undefined,
  clickhouseHost: undefined, clickhousePort: undefined, clickhouseDatabase: undefined, clickhouseUser: undefined, clickhousePassword: undefined,
};

/** django-storages' own setting names, which its S3 backend also reads from settings of the same name. */
const DJANGO_STORAGES: Readonly<Record<MediaRole, string | undefined>> = {
  mediaStorage: "DJANGO_MEDIA_STORAGE",
  storageBucket: "AWS_STORAGE_BUCKET_NAME",
  storageEndpoint: "AWS_S3_ENDPOINT_URL",
  storageRegion: "AWS_S3_REGION_NAME",
  storageAccessKey: "AWS_ACCESS_KEY_ID",
  storageSecretKey: "AWS_SECRET_ACCESS_KEY",
  storageDefaultAcl: "AWS_DEFAULT_ACL",
  storageQuerystringAuth: "AWS_QUERYSTRING_AUTH",
  storageQuerystringExpire: "AWS_QUERYSTRING_EXPIRE",
};

/** The names of each convention (apps[].envNames.preset). `undefined`: the convention has no such variable, so it is not set. */
export const ENV_PRESET_NAMES: Readonly<Record<EnvPreset, EnvNames>> = {
  // Today's names (the sample app's settings). No debug variable: the sample app defaults to off.
  djangostack: {
    secretKey: "DJANGO_SECRET_KEY",
    allowedHosts: "DJANGO_ALLOWED_HOSTS",
    debug: undefined,
    databaseUrl: "DATABASE_URL",
    cacheUrl: "REDIS_URL",
    brokerUrl: "CELERY_BROKER_URL",
    resultBackend: "CELERY_RESULT_BACKEND",
    clickhouseUrl: undefined,
    ...NO_COMPONENTS,
    ...DJANGO_STORAGES,
  },
  // Heroku's and dj-database-url's family: unprefixed Django names, a URL per service.
  "twelve-factor": {
    secretKey: "SECRET_KEY",
    allowedHosts: "ALLOWED_HOSTS",
    debug: "DEBUG",
    databaseUrl: "DATABASE_URL",
    cacheUrl: "REDIS_URL",
    brokerUrl: "CELERY_BROKER_URL",
    resultBackend: "CELERY_RESULT_BACKEND",
    clickhouseUrl: undefined,
    ...NO_COMPONENTS,
    // No selector: such settings switch to S3 on the bucket variable itself.
    ...DJANGO_STORAGES,
    mediaStorage: undefined,
  },
  // cookiecutter-django's config/settings: results go to CELERY_BROKER_URL, so no result backend variable.
  "cookiecutter-django": {
    secretKey: "DJANGO_SECRET_KEY",
    allowedHosts: "DJANGO_ALLOWED_HOSTS",
    debug: "DJANGO_DEBUG",
    databaseUrl: "DATABASE_URL",
    cacheUrl: "REDIS_URL",
    brokerUrl: "CELERY_BROKER_URL",
    resultBackend: undefined,
    clickhouseUrl: undefined,
    ...NO_COMPONENTS,
    // Its production settings read the DJANGO_AWS_ names and fix the ACL and query-string auth in code.
    mediaStorage: undefined,
    storageBucket: "DJANGO_AWS_STORAGE_BUCKET_NAME",
    storageEndpoint: "DJANGO_AWS_S3_ENDPOINT_URL",
    storageRegion: "DJANGO_AWS_S3_REGION_NAME",
    storageAccessKey: "DJANGO_AWS_ACCESS_KEY_ID",
    storageSecretKey: "DJANGO_AWS_SECRET_ACCESS_KEY",
    storageDefaultAcl: undefined,
    storageQuerystringAuth: undefined,
    storageQuerystringExpire: undefined,
  },
};

/**
 * Env names djangostack sets on every app process whatever its env names, and the config key that
 * controls each. A plain `env` entry with a managed name is either silently replaced (model/build.ts
 * spreads app.env first) or, on Kubernetes, wins over the program's own value: both hide a setting.
 */
export const FIXED_ENV: Readonly<Record<string, string>> = {
  DJANGO_SETTINGS_MODULE: "apps[].settingsModule",
  CSRF_TRUSTED_ORIGINS: "djangostack:domain, apps[].hosts and frontend.hosts",
  DJANGO_SECURE_COOKIES: "edge.tls.mode (cookies are Secure exactly when TLS is on)",
  DJANGO_SECURE_SSL_REDIRECT: "edge.tls.mode (nginx redirects to HTTPS; Django redirecting too breaks plain-HTTP health checks)",
  DJANGO_SECURE_HSTS_SECONDS: "edge.hstsSeconds (nginx, or the load balancer edge, sends the HSTS header)",
  DJANGO_STATIC_URL: "apps[].name (nginx serves /static/<app>/), or the Spaces CDN with apps[].static.storage \"spaces\"",
  DJANGO_STATIC_STORAGE: 'apps[].static.storage ("s3": collectstatic writes to the app\'s bucket)',
  DJANGO_MEDIA_URL: "apps[].name (nginx serves /media/<app>/)",
  DJANGO_STATIC_ROOT: "the image's static directory that djangostack's release step collects into",
  DJANGO_MEDIA_ROOT: "the media volume djangostack mounts",
  DJANGO_LOG_LEVEL: "djangostack (INFO; no config key changes it yet)",
  DJANGO_LOG_FORMAT: "djangostack:logFormat",
  CELERY_WORKER_HEARTBEAT_FILE: "the Celery worker liveness probe",
  CELERY_WORKER_READY_FILE: "the Celery worker readiness probe",
  CELERY_BEAT_HEARTBEAT_FILE: "the Celery beat liveness probe",
  DJANGO_METRICS_PATH: "apps[].metrics.path",
  PROMETHEUS_MULTIPROC_DIR: "apps[].metrics (prometheus-client's multiprocess directory of the web process)",
};

/** Every env name djangostack manages for an app reading `names`: the fixed ones and its role names. */
export function managedEnv(names: EnvNames): Record<string, string> {
  const roles = Object.entries(names).flatMap(([role, name]) => (name === undefined ? [] : [[name, ROLE_SOURCES[role as EnvRole]] as const]));
  return { ...FIXED_ENV, ...Object.fromEntries(roles) };
}

/** The managed names of an app with the default (djangostack) env names. */
export const MANAGED_ENV: Readonly<Record<string, string>> = managedEnv(ENV_PRESET_NAMES.djangostack);

/**
 * Names that carry credentials: the issue's *_SECRET*, *PASSWORD*, *_KEY, *TOKEN* and their usual
 * spellings (PASSWD, _PASS, PASSPHRASE, CREDENTIALS, PRIVATE_KEY, _DSN: a Sentry DSN embeds its key).
 */
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|_KEY$|^KEY$|_PASS$|_PWD$|_DSN$|^DSN$)/;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name.toUpperCase());
}

/** A URL with a password in its userinfo (postgres://user:pw@host/db) is a credential whatever its name. */
export function hasUrlPassword(value: string): boolean {
  return /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i.test(value);
}

/** The first control character of a value, if any. Plain env allows tab only; secrets also allow newlines (PEM keys). */
export function controlCharacter(value: string, allowNewlines: boolean): { code: number; at: number } | undefined {
  for (let at = 0; at < value.length; at++) {
    const code = value.charCodeAt(at);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    const allowed = code === 0x09 || (allowNewlines && (code === 0x0a || code === 0x0d));
    if (control && !allowed) return { code, at };
  }
  return undefined;
}

const codeName = (code: number): string => `U+${code.toString(16).toUpperCase().padStart(4, "0")}${code === 0 ? " (NUL)" : code === 0x0a ? " (newline)" : code === 0x0d ? " (carriage return)" : ""}`;

const secretEnvHint = (app: string, name: string) => `pulumi config set --secret --path 'djangostack:secretEnv.${app}.${name}' '…'`;

/**
 * Checks one app's plain env: no name the program manages, no credential (plain env is stored
 * unencrypted in the Pulumi state and previews, and becomes a ConfigMap on Kubernetes: refused on
 * every target alike, so a stack never changes meaning when it moves), no control characters
 * (NUL cannot pass through execve; newlines break env files and log lines).
 */
export function checkAppEnv(c: Checker, path: string, app: string, env: Readonly<Record<string, string>>, managedNames: Readonly<Record<string, string>> = MANAGED_ENV): void {
  for (const [name, value] of Object.entries(env)) {
    const key = `${path}.${name}`;
    const managed = managedNames[name];
    if (managed !== undefined) {
      c.fail(key, value, `this variable is set by djangostack from ${managed}; remove it from env and use that setting`);
    } else if (c.isSecret(key)) {
      // Set with `pulumi config set --secret`: it becomes secret env (secrets.ts), so a credential is fine here.
      const bad = controlCharacter(value, true);
      if (bad) c.fail(key, value, `contains the control character ${codeName(bad.code)}; values may hold printable text, tabs and newlines only`);
    } else if (isCredentialName(name) || hasUrlPassword(value)) {
      c.fail(key, "[value not shown]", `looks like a credential; plain env is stored unencrypted in the Pulumi state (a ConfigMap on kubernetes): remove it and set it as a secret with ${secretEnvHint(app, name)}`);
    } else {
      const bad = controlCharacter(value, false);
      if (bad) c.fail(key, value, `contains the control character ${codeName(bad.code)} at position ${bad.at}; plain env values may hold printable text and tabs only`);
    }
  }
}

/**
 * Control characters in `secretEnv` values (names and collisions are checked where the names are
 * attached). NUL cannot pass through execve; newlines are allowed, for PEM keys. Never shows a value.
 */
export function checkSecretEnvValues(c: Checker, secretEnv: unknown): void {
  if (typeof secretEnv !== "object" || secretEnv === null) return;
  for (const [app, vars] of Object.entries(secretEnv)) {
    if (typeof vars !== "object" || vars === null) continue;
    for (const [name, value] of Object.entries(vars)) {
      const bad = typeof value === "string" ? controlCharacter(value, true) : undefined;
      if (bad) c.fail(`secretEnv.${app}.${name}`, "[secret]", `the secret contains the control character ${codeName(bad.code)}; secret values may hold printable text, tabs and newlines only`);
    }
  }
}
