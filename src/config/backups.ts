/**
 * `djangostack:backups`: the scheduled logical backups of the stack's PostgreSQL (src/render/backup.ts)
 * to a DigitalOcean Spaces bucket, and `djangostack:backupCredentials`, the secret key pair the backup
 * process signs its requests with (absent: a Spaces key the stack generates).
 */
import { Checker, Raw, isPlainObject } from "./checker";
import { CRON_HINT, parseCron } from "./cron";
import { BackupsConfig, DROPLET_BACKUP_PLANS, DropletBackupPlan, SpacesBucketConfig, StackConfig } from "./types";
import { DEFAULT_BACKUP_RETENTION_DAYS } from "../render/backup";

export const BACKUP_KEYS = ["enabled", "schedule", "retentionDays", "bucket"] as const;
const BUCKET_KEYS = ["name", "region", "create"] as const;
const CREDENTIAL_KEYS = ["accessKey", "secretKey"] as const;

/** Regions with Spaces: the provider's own list (terraform-provider-digitalocean digitalocean/spaces/spaces_buckets.go `SpacesRegions`). */
export const SPACES_REGIONS = ["ams3", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"] as const;

/** Spaces bucket names (S3 DNS-compatible): 3-63 lowercase letters, digits and inner hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const BUCKET_HINT = "a bucket name of 3-63 lowercase letters, digits and inner hyphens";
export const DEFAULT_BACKUP_SCHEDULE = "0 3 * * *";

/** Placeholder the literal in schema.ts starts from; `parseBackups` replaces it once the rest is parsed. */
export const NO_BACKUPS: BackupsConfig = {
  enabled: false,
  schedule: { expression: DEFAULT_BACKUP_SCHEDULE, minutes: [0], hours: [3], days: [], months: [], weekdays: [], anyDay: true, anyWeekday: true },
  retentionDays: DEFAULT_BACKUP_RETENTION_DAYS,
  bucket: { name: "", region: "nyc3", create: true },
  suppliedCredentials: false,
  databases: [],
  managedPostgres: false,
};

/** The stack's region if it has Spaces, else the Spaces region of the same city (nyc1 -> nyc3), else nyc3. */
export function defaultBucketRegion(region: string): string {
  if ((SPACES_REGIONS as readonly string[]).includes(region)) return region;
  const city = region.replace(/[0-9]+$/, "");
  return SPACES_REGIONS.find((r) => r.startsWith(city)) ?? "nyc3";
}

/** Apps whose database is on the PostgreSQL the stack deploys (container or managed), not external. */
function deployedDatabaseApps(config: StackConfig): string[] {
  return config.apps.filter((a) => a.database && !a.external.includes("database")).map((a) => a.name);
}

/**
 * Reads `backups` and `backupCredentials` against the rest of the parsed config. On by default when
 * the stack runs PostgreSQL itself on a cloud target (droplet, kubernetes with data.postgres.mode
 * "container"); off for managed PostgreSQL (DigitalOcean keeps daily backups and point-in-time
 * recovery) and on target "docker", whose default is a laptop without a DigitalOcean account.
 */
export function parseBackups(c: Checker, value: unknown, credentials: unknown, config: StackConfig): BackupsConfig {
  const raw = c.object("backups", value, BACKUP_KEYS);
  const managedPostgres = config.data.postgres.mode === "managed";
  const databases = deployedDatabaseApps(config);
  const enabledDefault = !managedPostgres && config.target !== "docker" && databases.length > 0;
  const enabled = c.bool("backups.enabled", raw.enabled, enabledDefault);
  if (enabled && managedPostgres && config.target === "droplet") {
    c.fail("backups.enabled", raw.enabled, 'the logical dump of managed PostgreSQL runs on target "kubernetes" only; on a Droplet DigitalOcean\'s daily backups with point-in-time recovery keep the managed cluster: set false');
  }
  if (enabled && databases.length === 0) {
    c.fail("backups.enabled", raw.enabled, "no app has a database on the PostgreSQL this stack deploys (apps[].database, not external): nothing to back up; set false");
  }
  const scheduleText = c.string("backups.schedule", raw.schedule, DEFAULT_BACKUP_SCHEDULE, /^[^\n]*$/, CRON_HINT);
  const parsed = parseCron(scheduleText);
  if ("problem" in parsed) c.fail("backups.schedule", scheduleText, parsed.problem);
  const bucket = parseSpacesBucket(c, "backups.bucket", raw.bucket, { name: `${config.project}-${config.stack}-backups`, pattern: "<project>-<stack>-backups" }, config.region, enabled);
  const suppliedCredentials = parseSpacesCredentials(c, "backupCredentials", credentials);
  if (!enabled && suppliedCredentials) c.fail("backupCredentials", "[secret]", "set only when backups are enabled (backups.enabled true)");
  return {
    enabled,
    schedule: "problem" in parsed ? NO_BACKUPS.schedule : parsed,
    retentionDays: c.int("backups.retentionDays", raw.retentionDays, DEFAULT_BACKUP_RETENTION_DAYS, { min: 1, max: 3650 }),
    bucket,
    suppliedCredentials,
    databases,
    managedPostgres,
  };
}

/** `droplet.backups`: DigitalOcean's Droplet backups; true is "weekly", false "none". */
export function parseDropletBackups(c: Checker, value: unknown): DropletBackupPlan {
  if (value === true || value === "true") return "weekly";
  if (value === false || value === "false") return "none";
  return c.oneOf("droplet.backups", value, DROPLET_BACKUP_PLANS, "none");
}

/**
 * A Spaces key pair given as secret config (`backupCredentials`, `mediaCredentials.<app>`): both keys,
 * non-empty strings; their values are never shown. True when given.
 */
export function parseSpacesCredentials(c: Checker, path: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (!isPlainObject(value)) {
    c.fail(path, "[secret]", `expected an object with keys ${CREDENTIAL_KEYS.join(", ")} (a Spaces access key and its secret)`);
    return false;
  }
  const creds: Raw = c.object(path, value, CREDENTIAL_KEYS);
  for (const key of CREDENTIAL_KEYS) {
    const v = creds[key];
    if (typeof v !== "string" || v.trim() === "" || /\s/.test(v)) c.fail(`${path}.${key}`, "[secret]", "expected a non-empty string without spaces");
  }
  return true;
}

/**
 * `<path>: { name, region, create }` of a Spaces bucket. The default name is derived from the
 * project and stack (`derived.pattern` says how, for the message); `needed`: the bucket is used, so a
 * derived name that is no bucket name is refused.
 */
export function parseSpacesBucket(c: Checker, path: string, value: unknown, derived: { name: string; pattern: string }, stackRegion: string, needed: boolean): SpacesBucketConfig {
  const raw = c.object(path, value, BUCKET_KEYS);
  const defaultName = derived.name.toLowerCase();
  const name = c.string(`${path}.name`, raw.name, defaultName, BUCKET_NAME, BUCKET_HINT);
  if (raw.name === undefined && needed && !BUCKET_NAME.test(defaultName)) c.fail(`${path}.name`, defaultName, `the default ${derived.pattern} is not ${BUCKET_HINT}; set one`);
  return {
    name,
    region: c.oneOf(`${path}.region`, raw.region, SPACES_REGIONS, defaultBucketRegion(stackRegion) as (typeof SPACES_REGIONS)[number]),
    create: c.bool(`${path}.create`, raw.create, true),
  };
}
