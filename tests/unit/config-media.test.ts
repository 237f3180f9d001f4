/**
 * `apps[].media` storage (issue 13 item 4): the defaults per target, the bucket's name and region
 * rules shared with the backups bucket, the media env names of the app contract, and every bad input
 * refused with the key, the value (never a secret one) and what is allowed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { BadInput, droplet, id, problems, refuses } from "./config-helpers";

const onK8s = (extra: Raw = {}): Raw => ({ target: "kubernetes", domain: "example.com", region: "fra1", ...extra });
const onDroplet = (extra: Raw = {}): Raw => ({ target: "droplet", droplet, ...extra });
const web = (media: Raw, more: Raw = {}): Raw => ({ apps: [{ name: "web", media, ...more }] });
const media = (raw: Raw) => parseConfig(raw, id).apps[0].media;
const names = (raw: Raw) => parseConfig(raw, id).apps[0].envNames;

describe("media config: defaults", () => {
  it("puts an app's uploads in a private Spaces bucket of its own on kubernetes: named after project, stack and app, in the stack's region, signed URLs for an hour", () => {
    const m = media(onK8s());
    assert.equal(m.storage, "spaces");
    assert.deepEqual(m.spaces, { bucket: { name: "djangostack-test-web-media", region: "fra1", create: true }, private: true, expirySeconds: 3600, suppliedCredentials: false });
  });

  it("keeps them on a volume on the Docker targets", () => {
    assert.equal(media({}).storage, "volume");
    assert.equal(media({}).spaces, undefined);
    assert.equal(media(onDroplet()).storage, "volume");
  });

  it("takes the bucket's region from the backups rule: the stack's Spaces region, or its city's", () => {
    assert.equal(media(onK8s({ region: "nyc1" })).spaces?.bucket.region, "nyc3");
    assert.equal(media(onDroplet({ region: "ams3", ...web({ storage: "spaces" }) })).spaces?.bucket.region, "ams3");
  });

  it("takes every key: an existing bucket, public-read objects, an expiry; spaces on a Droplet", () => {
    assert.deepEqual(media(onDroplet(web({ storage: "spaces", bucket: { name: "acme-uploads", region: "sgp1", create: false }, private: false }))).spaces, {
      bucket: { name: "acme-uploads", region: "sgp1", create: false },
      private: false,
      expirySeconds: 3600,
      suppliedCredentials: false,
    });
    assert.equal(media(onK8s(web({ expiry: "600" }))).spaces?.expirySeconds, 600);
    assert.equal(media(onK8s(web({ storage: "none" }))).storage, "none");
  });

  it("names each app's bucket after it", () => {
    const apps = parseConfig(onK8s({ apps: [{ name: "api" }, { name: "shop" }] }), id).apps;
    assert.deepEqual(apps.map((a) => a.media.spaces?.bucket.name), ["djangostack-test-api-media", "djangostack-test-shop-media"]);
  });

  it("marks supplied credentials (djangostack:mediaCredentials) on the app", () => {
    assert.equal(media(onK8s({ mediaCredentials: { web: { accessKey: "DO00AAAA", secretKey: "s3cr3t" } } })).spaces?.suppliedCredentials, true);
  });
});

describe("media config: the env names of the app contract", () => {
  it("hands an app on Spaces django-storages' own names, and DJANGO_MEDIA_STORAGE", () => {
    const n = names(onK8s());
    assert.deepEqual(
      [n.mediaStorage, n.storageBucket, n.storageEndpoint, n.storageRegion, n.storageAccessKey, n.storageSecretKey, n.storageDefaultAcl, n.storageQuerystringAuth, n.storageQuerystringExpire],
      ["DJANGO_MEDIA_STORAGE", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_REGION_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_ACL", "AWS_QUERYSTRING_AUTH", "AWS_QUERYSTRING_EXPIRE"],
    );
  });

  it("follows the presets and takes names one by one", () => {
    const cookie = names(onK8s(web({}, { envNames: { preset: "cookiecutter-django" } })));
    assert.equal(cookie.storageBucket, "DJANGO_AWS_STORAGE_BUCKET_NAME");
    assert.equal(cookie.storageSecretKey, "DJANGO_AWS_SECRET_ACCESS_KEY");
    assert.equal(cookie.storageQuerystringAuth, undefined);
    assert.equal(cookie.mediaStorage, undefined);
    const own = names(onK8s(web({}, { envNames: { storageBucket: "UPLOADS_BUCKET", mediaStorage: "" } })));
    assert.equal(own.storageBucket, "UPLOADS_BUCKET");
    assert.equal(own.mediaStorage, undefined);
  });

  it("sets none of them for an app on a volume, whose own env may then use them", () => {
    const n = names({});
    assert.equal(n.storageBucket, undefined);
    assert.equal(n.storageAccessKey, undefined);
    const app = parseConfig({ apps: [{ name: "web", env: { AWS_STORAGE_BUCKET_NAME: "reports" } }] }, id).apps[0];
    assert.equal(app.env.AWS_STORAGE_BUCKET_NAME, "reports");
  });

  it("reserves them for an app on Spaces: its env and secretEnv may not set them", () => {
    const found = problems(onK8s({ apps: [{ name: "web", env: { AWS_STORAGE_BUCKET_NAME: "other" } }], secretEnv: { web: { AWS_SECRET_ACCESS_KEY: "x" } } }));
    assert.ok(found.some((p) => p.startsWith("djangostack:apps[0].env.AWS_STORAGE_BUCKET_NAME:") && p.includes("apps[].media.bucket.name")), found.join("\n"));
    assert.ok(found.some((p) => p.startsWith("djangostack:secretEnv.web.AWS_SECRET_ACCESS_KEY:") && p.includes("already set by djangostack")), found.join("\n"));
  });
});

describe("media config: refusals", () => {
  const cases: BadInput[] = [
    ["a storage that does not exist", onK8s(web({ storage: "s3" })), "djangostack:apps[0].media.storage", '"volume", "spaces", "none"'],
    ["a volume on kubernetes, which loses uploads on every rollout", onK8s(web({ storage: "volume" })), "djangostack:apps[0].media.storage", 'use "spaces"'],
    ["a bucket for an app on a volume", onDroplet(web({ bucket: { name: "acme-uploads" } })), "djangostack:apps[0].media.bucket", 'only used with apps[0].media.storage "spaces"'],
    ["private for an app on a volume", web({ private: false }), "djangostack:apps[0].media.private", 'only used with apps[0].media.storage "spaces"'],
    ["an unknown media key", onK8s(web({ acl: "public-read" })), "djangostack:apps[0].media.acl", "allowed keys of apps[0].media are url, root, storage, bucket, private, expiry"],
    ["a bucket name with capitals", onK8s(web({ bucket: { name: "Acme-Uploads" } })), "djangostack:apps[0].media.bucket.name", "3-63 lowercase letters, digits and inner hyphens"],
    ["a region without Spaces", onK8s(web({ bucket: { region: "nyc1" } })), "djangostack:apps[0].media.bucket.region", '"ams3", "blr1", "fra1", "lon1", "nyc3"'],
    ["an unknown bucket key", onK8s(web({ bucket: { acl: "public-read" } })), "djangostack:apps[0].media.bucket.acl", "allowed keys of apps[0].media.bucket are name, region, create"],
    ["private not a boolean", onK8s(web({ private: "yes" })), "djangostack:apps[0].media.private", "expected true or false"],
    ["an expiry beyond SigV4's week", onK8s(web({ expiry: 604801 })), "djangostack:apps[0].media.expiry", "expected an integer from 1 to 604800"],
    ["an expiry of 0", onK8s(web({ expiry: 0 })), "djangostack:apps[0].media.expiry", "expected an integer from 1 to 604800"],
    ["an expiry on public-read objects", onK8s(web({ private: false, expiry: 60 })), "djangostack:apps[0].media.expiry", "only used with apps[0].media.private true"],
    [
      "two apps on one bucket",
      onK8s({ apps: [{ name: "api", media: { bucket: { name: "acme-uploads" } } }, { name: "shop", media: { bucket: { name: "acme-uploads" } } }] }),
      "djangostack:apps[1].media.bucket.name",
      "already the bucket of apps[0].media.bucket.name",
    ],
    [
      "the backups bucket",
      onDroplet({ ...web({ storage: "spaces", bucket: { name: "acme-dumps" } }), backups: { bucket: { name: "acme-dumps" } } }),
      "djangostack:apps[0].media.bucket.name",
      "already the bucket of backups.bucket.name",
    ],
    ["a media env name for an app on a volume", { apps: [{ name: "web", envNames: { storageBucket: "UPLOADS" } }] }, "djangostack:apps[0].envNames.storageBucket", 'only used when the app\'s media.storage is "spaces" (it is "volume")'],
    ["no name for the key an app on Spaces must read", onK8s(web({}, { envNames: { storageSecretKey: "" } })), "djangostack:apps[0].envNames.storageSecretKey", "name the variable its settings read"],
    ["a media env name taken twice", onK8s(web({}, { envNames: { storageBucket: "AWS_S3_REGION_NAME" } })), "djangostack:apps[0].envNames.storageRegion", "already the name of apps[0].envNames.storageBucket"],
    ["credentials for an unknown app", onK8s({ mediaCredentials: { shop: { accessKey: "DO00AAAA", secretKey: "s3cr3t" } } }), "djangostack:mediaCredentials.shop", "no such app; apps are web"],
    ["credentials for an app on a volume", onDroplet({ mediaCredentials: { web: { accessKey: "DO00AAAA", secretKey: "s3cr3t" } } }), "djangostack:mediaCredentials.web", 'keeps its media on "volume"'],
    ["credentials without a secret", onK8s({ mediaCredentials: { web: { accessKey: "DO00AAAA" } } }), "djangostack:mediaCredentials.web.secretKey", "expected a non-empty string"],
    ["credentials not an object", onK8s({ mediaCredentials: "AK:SK" }), "djangostack:mediaCredentials", "expected an object of app name -> { accessKey, secretKey }"],
  ];
  refuses(cases);

  it("refuses a default bucket name that is no bucket name, showing it", () => {
    const found = problems(onK8s(), { project: "my_project", stack: "production" });
    assert.ok(found.some((p) => p.startsWith("djangostack:apps[0].media.bucket.name:") && p.includes("the default <project>-<stack>-<app>-media is not") && p.includes('"my_project-production-web-media"')), found.join("\n"));
  });

  it("never shows a media credential's value", () => {
    const text = problems(onK8s({ mediaCredentials: { web: { accessKey: "DO00 VISIBLE", secretKey: 42, extra: "leaked-value" } } })).join("\n");
    assert.ok(text.includes("mediaCredentials.web.accessKey"), text);
    assert.ok(!text.includes("VISIBLE") && !text.includes("42") && !text.includes("leaked-value"), text);
  });
});
