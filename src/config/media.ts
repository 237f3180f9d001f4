/**
 * `apps[].media`: where an app's uploads live. On "spaces" the app writes them to a bucket of its own
 * through django-storages' S3 backend and receives the bucket, endpoint, region and key pair under
 * the media env names of the app contract (`apps[].envNames`); `djangostack:mediaCredentials.<app>`
 * replaces the generated key. The bucket's name and region follow the backups bucket's rules.
 */
import { Checker, Raw, isPlainObject } from "./checker";
import { parseSpacesBucket, parseSpacesCredentials } from "./backups";
import { AppConfig, AppMedia, EnvNames, MEDIA_ROLES, MEDIA_STORAGES, MediaRole, MediaStorage, StackConfig, Target } from "./types";

/** Keys of `apps[].media` beside `url` and `root`. */
export const MEDIA_STORAGE_KEYS = ["storage", "bucket", "private", "expiry"] as const;

/** django-storages' default AWS_QUERYSTRING_EXPIRE. */
export const DEFAULT_MEDIA_EXPIRY_SECONDS = 3600;
/** A SigV4 presigned URL is valid at most a week (X-Amz-Expires <= 604800). */
export const MAX_MEDIA_EXPIRY_SECONDS = 604800;

/** Media roles the app cannot do without on Spaces: it must find the bucket and sign with the key. */
const REQUIRED_ON_SPACES: readonly MediaRole[] = ["storageBucket", "storageEndpoint", "storageAccessKey", "storageSecretKey"];

export interface MediaContext {
  project: string;
  stack: string;
  /** The stack's region (the bucket's default follows it). */
  region: string;
  target: Target;
}

/**
 * A volume is one host's: on Kubernetes each pod would get its own emptyDir, lost on every rollout,
 * so there uploads go to Spaces by default and "volume" is refused.
 */
const defaultStorage = (target: Target): MediaStorage => (target === "kubernetes" ? "spaces" : "volume");

/** The storage part of `apps[].media` (url and root are parseFiles'). */
export function parseMediaStorage(c: Checker, path: string, value: unknown, app: string, ctx: MediaContext): Pick<AppMedia, "storage" | "spaces"> {
  const raw: Raw = isPlainObject(value) ? value : {};
  const storage = c.oneOf(`${path}.storage`, raw.storage, MEDIA_STORAGES, defaultStorage(ctx.target));
  if (storage === "volume" && ctx.target === "kubernetes") {
    c.fail(`${path}.storage`, storage, 'on kubernetes a volume is an emptyDir per pod, lost on every rollout and not shared between replicas; use "spaces" (a bucket), or "none" for an app that keeps no uploads');
  }
  if (storage !== "spaces") {
    for (const key of ["bucket", "private", "expiry"] as const) {
      if (raw[key] !== undefined) c.fail(`${path}.${key}`, raw[key], `only used with ${path}.storage "spaces" (it is "${storage}")`);
    }
    return { storage };
  }
  const bucket = parseSpacesBucket(c, `${path}.bucket`, raw.bucket, { name: `${ctx.project}-${ctx.stack}-${app}-media`, pattern: "<project>-<stack>-<app>-media" }, ctx.region, true);
  const isPrivate = c.bool(`${path}.private`, raw.private, true);
  if (!isPrivate && raw.expiry !== undefined) c.fail(`${path}.expiry`, raw.expiry, `only used with ${path}.private true (signed URLs); public-read objects have plain URLs that never expire`);
  return {
    storage,
    spaces: {
      bucket,
      private: isPrivate,
      expirySeconds: c.int(`${path}.expiry`, raw.expiry, DEFAULT_MEDIA_EXPIRY_SECONDS, { min: 1, max: MAX_MEDIA_EXPIRY_SECONDS }),
      suppliedCredentials: false,
    },
  };
}

/**
 * The media env names apply only to an app on Spaces: otherwise they are cleared, so the app's own
 * env may use them (an app reaching some other bucket). Naming one for an app not on Spaces, or
 * leaving one out that an app on Spaces needs, is refused.
 */
export function settleMediaEnvNames(c: Checker, path: string, names: EnvNames, rawNames: unknown, storage: MediaStorage): void {
  const given: Raw = isPlainObject(rawNames) ? rawNames : {};
  for (const role of MEDIA_ROLES) {
    if (storage !== "spaces") {
      if (given[role] !== undefined && given[role] !== "") c.fail(`${path}.${role}`, given[role], `only used when the app's media.storage is "spaces" (it is "${storage}")`);
      names[role] = undefined;
    } else if (REQUIRED_ON_SPACES.includes(role) && names[role] === undefined) {
      c.fail(`${path}.${role}`, given[role] ?? "", "an app with media.storage \"spaces\" must read the bucket, its endpoint and the key pair djangostack hands it; name the variable its settings read");
    }
  }
}

/**
 * `djangostack:mediaCredentials` (secret): app name -> `{accessKey, secretKey}` of an existing Spaces
 * key for that app's bucket, instead of the generated one. Values are never shown.
 */
export function attachMediaCredentials(c: Checker, apps: AppConfig[], value: unknown): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    c.fail("mediaCredentials", "[secret]", "expected an object of app name -> { accessKey, secretKey }");
    return;
  }
  for (const [name, pair] of Object.entries(value)) {
    const app = apps.find((a) => a.name === name);
    if (!app) c.fail(`mediaCredentials.${name}`, name, `no such app; apps are ${apps.map((a) => a.name).join(", ")}`);
    else if (!app.media.spaces) c.fail(`mediaCredentials.${name}`, name, `app ${name} keeps its media on "${app.media.storage}", not in a Spaces bucket (apps[].media.storage "spaces")`);
    else app.media.spaces.suppliedCredentials = parseSpacesCredentials(c, `mediaCredentials.${name}`, pair);
  }
}

/** Each media bucket belongs to one app, and none is the backups bucket (whose key may delete anything in it). */
export function checkMediaBuckets(c: Checker, config: StackConfig): void {
  const owners = new Map<string, string>();
  if (config.backups.enabled) owners.set(config.backups.bucket.name, "backups.bucket.name");
  config.apps.forEach((a, i) => {
    if (!a.media.spaces) return;
    const key = `apps[${i}].media.bucket.name`;
    const name = a.media.spaces.bucket.name;
    const owner = owners.get(name);
    if (owner) c.fail(key, name, `already the bucket of ${owner}; each app's media need a bucket of their own`);
    else owners.set(name, key);
  });
}
