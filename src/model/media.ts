/**
 * Where an app's uploads go, as the model states it: on "volume" the media volume every app process
 * mounts at MEDIA_ROOT (and nginx serves); on "spaces" no volume at all, and the app's env names the
 * bucket, its endpoint and the key pair django-storages signs with; on "none" neither.
 */
import { AppConfig } from "../config/types";
import * as names from "./names";
import { SecretEnvSource, VolumeMount } from "./types";

/** `https://<region>.digitaloceanspaces.com`: the Spaces endpoint of a region (the backup script and the apps sign for it). */
export function spacesEndpoint(region: string): string {
  return `https://${region}.digitaloceanspaces.com`;
}

/**
 * The Spaces CDN's endpoint for a bucket: `<bucket>.<region>.cdn.digitaloceanspaces.com` (DigitalOcean's
 * Spaces CDN docs; the Cdn resource's `endpoint` is checked against it at deploy, src/components/media.ts).
 */
export function spacesCdnDomain(bucket: string, region: string): string {
  return `${bucket}.${region}.cdn.digitaloceanspaces.com`;
}

/** The prefix static files take in an app's media bucket (django-storages' `location`). */
export const STATIC_LOCATION = "static";

/** Does the app serve its static files from its bucket (apps[].static.storage "spaces")? */
export const staticOnSpaces = (app: AppConfig): boolean => app.static.storage === "spaces";

/** The app's media volume mounted at `mountPath`, when its media are on a volume; else nothing. */
export function mediaMounts(app: AppConfig, mountPath: string, readOnly: boolean): VolumeMount[] {
  return app.media.storage === "volume" ? [{ volume: names.volume.media(app.name), kind: "media", mountPath, readOnly }] : [];
}

/** The switch the app's settings read for static files in its bucket (a fixed name, like DJANGO_STATIC_URL). */
export const STATIC_STORAGE_ENV = "DJANGO_STATIC_STORAGE";

/** The value DJANGO_MEDIA_STORAGE (envNames.mediaStorage) carries for an app on Spaces. */
export const S3_MEDIA_STORAGE = "s3";

/** Plain env of an app on Spaces, under its media env names (those the app does not read are left out). */
export function mediaEnv(app: AppConfig): Record<string, string> {
  const spaces = app.media.spaces;
  if (!spaces) return {};
  const n = app.envNames;
  const values: [string | undefined, string][] = [
    [n.mediaStorage, S3_MEDIA_STORAGE],
    [n.storageBucket, spaces.bucket.name],
    [n.storageEndpoint, spacesEndpoint(spaces.bucket.region)],
    [n.storageRegion, spaces.bucket.region],
    // Spaces applies per-object ACLs: the bucket stays private (no listing) either way.
    [n.storageDefaultAcl, spaces.private ? "private" : "public-read"],
    [n.storageQuerystringAuth, spaces.private ? "true" : "false"],
    ...(spaces.private ? [[n.storageQuerystringExpire, String(spaces.expirySeconds)] as [string | undefined, string]] : []),
    // Static files in the same bucket under static/, public-read behind the CDN (DJANGO_STATIC_URL is its URL).
    ...(staticOnSpaces(app) ? [[STATIC_STORAGE_ENV, S3_MEDIA_STORAGE] as [string | undefined, string]] : []),
  ];
  return Object.fromEntries(values.filter((v): v is [string, string] => v[0] !== undefined));
}

/** The media bucket's key pair as secret env of an app on Spaces. */
export function mediaSecretEnv(app: AppConfig): Record<string, SecretEnvSource> {
  const n = app.envNames;
  if (!app.media.spaces || !n.storageAccessKey || !n.storageSecretKey) return {};
  return {
    [n.storageAccessKey]: { kind: "mediaCredential", app: app.name, part: "accessKeyId" },
    [n.storageSecretKey]: { kind: "mediaCredential", app: app.name, part: "secretAccessKey" },
  };
}
