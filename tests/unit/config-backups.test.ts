/**
 * `djangostack:backups` and `djangostack:backupCredentials`: the defaults per target and PostgreSQL
 * mode, and every bad input refused with the key, the value (never a secret one) and what is allowed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { defaultBucketRegion } from "../../src/config/backups";
import { BadInput, droplet, id, problems, refuses } from "./config-helpers";

const onDroplet = (extra: Raw = {}): Raw => ({ target: "droplet", droplet, ...extra });
const onK8s = (extra: Raw = {}): Raw => ({ target: "kubernetes", domain: "example.com", ...extra });
const inCluster = { postgres: { mode: "container" } };

describe("backups config: defaults", () => {
  it("is on for a Droplet's own PostgreSQL: daily at 03:00 UTC, 30 days, a bucket named after project and stack in the stack's region", () => {
    const b = parseConfig(onDroplet({ region: "fra1" }), id).backups;
    assert.equal(b.enabled, true);
    assert.equal(b.schedule.expression, "0 3 * * *");
    assert.deepEqual([b.schedule.minutes, b.schedule.hours], [[0], [3]]);
    assert.equal(b.retentionDays, 30);
    assert.deepEqual(b.bucket, { name: "djangostack-test-backups", region: "fra1", create: true });
    assert.equal(b.suppliedCredentials, false);
    assert.deepEqual(b.databases, ["web"]);
    assert.equal(b.managedPostgres, false);
  });

  it("is on for in-cluster PostgreSQL on Kubernetes, off for managed PostgreSQL (which keeps its own backups)", () => {
    assert.equal(parseConfig(onK8s({ data: inCluster }), id).backups.enabled, true);
    const managed = parseConfig(onK8s(), id).backups;
    assert.equal(managed.enabled, false);
    assert.equal(managed.managedPostgres, true);
    assert.equal(parseConfig(onK8s({ backups: { enabled: true } }), id).backups.enabled, true, "the logical dump is still offered");
  });

  it("is off on target docker unless enabled (the local default has no DigitalOcean account)", () => {
    assert.equal(parseConfig({}, id).backups.enabled, false);
    assert.equal(parseConfig({ backups: { enabled: true } }, id).backups.enabled, true);
  });

  it("is off when no app has a database on the deployed PostgreSQL", () => {
    assert.equal(parseConfig(onDroplet({ apps: [{ name: "web", database: false }] }), id).backups.enabled, false);
  });

  it("takes every key, a supplied key pair and an existing bucket", () => {
    const b = parseConfig(
      onDroplet({ backups: { schedule: "@hourly", retentionDays: "7", bucket: { name: "acme-dumps", region: "ams3", create: false } }, backupCredentials: { accessKey: "DO00AAAA", secretKey: "s3cr3t" } }),
      id,
    ).backups;
    assert.equal(b.schedule.expression, "@hourly");
    assert.deepEqual(b.schedule.minutes, [0]);
    assert.equal(b.schedule.hours.length, 24);
    assert.equal(b.retentionDays, 7);
    assert.deepEqual(b.bucket, { name: "acme-dumps", region: "ams3", create: false });
    assert.equal(b.suppliedCredentials, true);
  });

  it("puts the bucket in a Spaces region: the stack's, its city's, else nyc3", () => {
    assert.equal(defaultBucketRegion("sgp1"), "sgp1");
    assert.equal(defaultBucketRegion("nyc1"), "nyc3");
    assert.equal(defaultBucketRegion("ams2"), "ams3");
    assert.equal(defaultBucketRegion("sfo1"), "sfo2");
    assert.equal(defaultBucketRegion("atl1"), "nyc3");
    assert.equal(parseConfig(onDroplet({ region: "nyc1" }), id).backups.bucket.region, "nyc3");
  });
});

describe("droplet.backups: DigitalOcean's own Droplet backups", () => {
  it("are off by default; true is weekly; daily and weekly by name", () => {
    assert.equal(parseConfig(onDroplet(), id).droplet?.backups, "none");
    assert.equal(parseConfig({ target: "droplet", droplet: { ...droplet, backups: true } }, id).droplet?.backups, "weekly");
    assert.equal(parseConfig({ target: "droplet", droplet: { ...droplet, backups: "false" } }, id).droplet?.backups, "none");
    assert.equal(parseConfig({ target: "droplet", droplet: { ...droplet, backups: "daily" } }, id).droplet?.backups, "daily");
  });
  refuses([
    ["a plan DigitalOcean does not offer", { target: "droplet", droplet: { ...droplet, backups: "monthly" } }, "djangostack:droplet.backups", '"none", "weekly", "daily"'],
    ["a number", { target: "droplet", droplet: { ...droplet, backups: 1 } }, "djangostack:droplet.backups", '"none", "weekly", "daily"'],
  ]);
});

describe("backups config: refusals", () => {
  const cases: BadInput[] = [
    ["backups not an object", onDroplet({ backups: "daily" }), "djangostack:backups", "expected an object with keys enabled, schedule, retentionDays, bucket"],
    ["an unknown backups key", onDroplet({ backups: { retention: 7 } }), "djangostack:backups.retention", "allowed keys of backups are enabled, schedule, retentionDays, bucket"],
    ["enabled not a boolean", onDroplet({ backups: { enabled: "yes" } }), "djangostack:backups.enabled", "expected true or false"],
    ["enabled without a database", onDroplet({ apps: [{ name: "web", database: false }], backups: { enabled: true } }), "djangostack:backups.enabled", "nothing to back up"],
    ["a schedule with six fields", onDroplet({ backups: { schedule: "0 0 3 * * *" } }), "djangostack:backups.schedule", "6 fields; expected five fields"],
    ["a schedule out of range", onDroplet({ backups: { schedule: "0 25 * * *" } }), "djangostack:backups.schedule", "hour 25 is outside 0-23"],
    ["a schedule with a time zone", onDroplet({ backups: { schedule: "TZ=Europe/Berlin 0 3 * * *" } }), "djangostack:backups.schedule", "schedules run in UTC"],
    ["an unknown descriptor", onDroplet({ backups: { schedule: "@every 1h" } }), "djangostack:backups.schedule", "unknown descriptor"],
    ["a schedule not a string", onDroplet({ backups: { schedule: 3 } }), "djangostack:backups.schedule", "expected a string"],
    ["retention of 0 days", onDroplet({ backups: { retentionDays: 0 } }), "djangostack:backups.retentionDays", "expected an integer from 1 to 3650"],
    ["retention in fractions", onDroplet({ backups: { retentionDays: 1.5 } }), "djangostack:backups.retentionDays", "expected an integer from 1 to 3650"],
    ["retention over ten years", onDroplet({ backups: { retentionDays: 4000 } }), "djangostack:backups.retentionDays", "expected an integer from 1 to 3650"],
    ["bucket not an object", onDroplet({ backups: { bucket: "dumps" } }), "djangostack:backups.bucket", "expected an object with keys name, region, create"],
    ["an unknown bucket key", onDroplet({ backups: { bucket: { acl: "public-read" } } }), "djangostack:backups.bucket.acl", "allowed keys of backups.bucket are name, region, create"],
    ["a bucket name with capitals", onDroplet({ backups: { bucket: { name: "Acme-Dumps" } } }), "djangostack:backups.bucket.name", "3-63 lowercase letters, digits and inner hyphens"],
    ["a bucket name of two letters", onDroplet({ backups: { bucket: { name: "ab" } } }), "djangostack:backups.bucket.name", "3-63 lowercase letters"],
    ["a bucket name ending in a hyphen", onDroplet({ backups: { bucket: { name: "dumps-" } } }), "djangostack:backups.bucket.name", "inner hyphens"],
    ["a bucket name with a dot", onDroplet({ backups: { bucket: { name: "acme.dumps" } } }), "djangostack:backups.bucket.name", "inner hyphens"],
    ["a default bucket name that is not one", onDroplet(), "djangostack:backups.bucket.name", "the default <project>-<stack>-backups is not"],
    ["a region without Spaces", onDroplet({ backups: { bucket: { region: "nyc1" } } }), "djangostack:backups.bucket.region", '"ams3", "blr1", "fra1", "lon1", "nyc3"'],
    ["create not a boolean", onDroplet({ backups: { bucket: { create: "no" } } }), "djangostack:backups.bucket.create", "expected true or false"],
  ];
  // The default bucket name is judged with a project name that cannot be one.
  const [defaultName] = cases.splice(cases.findIndex((c) => c[0] === "a default bucket name that is not one"), 1);
  refuses(cases);
  it(`${defaultName[0]}: names ${defaultName[2]}`, () => {
    const found = problems(defaultName[1], { project: "my_project", stack: "staging" });
    assert.ok(found.some((p) => p.startsWith(`${defaultName[2]}:`) && p.includes(defaultName[3]) && p.includes('"my_project-staging-backups"')), found.join("\n"));
  });

  const secret: BadInput[] = [
    ["credentials not an object", onDroplet({ backupCredentials: "AK:SK" }), "djangostack:backupCredentials", "expected an object with keys accessKey, secretKey"],
    ["credentials without a secret", onDroplet({ backupCredentials: { accessKey: "DO00AAAA" } }), "djangostack:backupCredentials.secretKey", "expected a non-empty string"],
    ["an empty access key", onDroplet({ backupCredentials: { accessKey: "", secretKey: "s3cr3t" } }), "djangostack:backupCredentials.accessKey", "expected a non-empty string"],
    ["a key with a space", onDroplet({ backupCredentials: { accessKey: "DO00 AAAA", secretKey: "s3cr3t" } }), "djangostack:backupCredentials.accessKey", "without spaces"],
    ["an unknown credentials key", onDroplet({ backupCredentials: { accessKey: "DO00AAAA", secretKey: "s3cr3t", token: "x" } }), "djangostack:backupCredentials.token", "allowed keys of backupCredentials are accessKey, secretKey"],
    ["credentials with backups off", onK8s({ backupCredentials: { accessKey: "DO00AAAA", secretKey: "s3cr3t" } }), "djangostack:backupCredentials", "only when backups are enabled"],
  ];
  refuses(secret);

  it("never shows a credential's value", () => {
    const found = problems(onDroplet({ backupCredentials: { accessKey: "DO00 VISIBLE", secretKey: 42, extra: "leaked-value" } }));
    const text = found.join("\n");
    assert.ok(text.includes("backupCredentials.accessKey"), text);
    assert.ok(!text.includes("VISIBLE") && !text.includes("42") && !text.includes("leaked-value"), text);
  });
});
