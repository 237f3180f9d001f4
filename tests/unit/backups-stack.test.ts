/**
 * The backups wiring under the offline engine (the real index.ts with mocks): the Spaces bucket and
 * its key (issue 13 item 1), on the stacks that back up and not on those that do not.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { containsSecret } from "../../src/offline/secret";
import { FORCE_NEW, stackObject } from "../helpers/replacement";

const BUCKET = "digitalocean:index/spacesBucket:SpacesBucket";
const KEY = "digitalocean:index/spacesKey:SpacesKey";
const TIER = "djangostack:ops:Backups";

const ofType = (e: Evaluation, type: string): RecordedResource[] => e.engine.resources.filter((r) => r.type === type);
const one = (e: Evaluation, type: string): RecordedResource => {
  const found = ofType(e, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0];
};

describe("backups bucket: staging (droplet, container PostgreSQL: on by default)", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "staging" });
  });

  it("creates one private bucket in the stack's region whose lifecycle rule expires the stack's objects after retentionDays", () => {
    const bucket = one(ev, BUCKET);
    assert.equal(bucket.inputs.name, "djangostack-staging-backups");
    assert.equal(bucket.inputs.region, "fra1");
    assert.equal(bucket.inputs.acl, "private");
    assert.equal(bucket.inputs.forceDestroy, false);
    assert.deepEqual(bucket.inputs.lifecycleRules, [
      { id: "djangostack-staging-retention", enabled: true, prefix: "staging/", expiration: { days: 30 }, abortIncompleteMultipartUploadDays: 1 },
    ]);
  });

  it("never deletes the bucket: protected, retained on delete, never replaced delete-first", () => {
    const { options } = one(ev, BUCKET);
    assert.equal(options.protect, true);
    assert.equal(options.retainOnDelete, true);
    assert.equal(options.deleteBeforeReplace, false);
  });

  it("generates a key limited to that bucket (readwrite), created after the bucket", () => {
    const key = one(ev, KEY);
    assert.deepEqual(key.inputs.grants, [{ bucket: "djangostack-staging-backups", permission: "readwrite" }]);
    assert.ok(key.options.dependsOn.includes(one(ev, BUCKET).name), "the grant names an existing bucket");
  });

  it("parents both under the Backups tier", () => {
    const tier = one(ev, TIER);
    assert.equal(one(ev, BUCKET).parent, tier.name);
    assert.equal(one(ev, KEY).parent, tier.name);
  });

  it("says in the outputs where the dumps go and when", async () => {
    const outputs = (await resolveOutputs(ev.exports)) as Record<string, unknown>;
    assert.equal(containsSecret(outputs.backups), false, "nothing secret in the backups output");
    const backups = outputs.backups as Record<string, unknown>;
    assert.equal(backups.enabled, true);
    assert.equal(backups.bucket, "djangostack-staging-backups");
    assert.equal(backups.schedule, "0 3 * * *");
    assert.equal(backups.retentionDays, 30);
    assert.match(String(backups.note), /staging\//);
  });

  it("takes the retention from djangostack:backups.retentionDays and an existing bucket without creating one", async () => {
    const seven = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:backups": { retentionDays: 7 } } });
    assert.equal((one(seven, BUCKET).inputs.lifecycleRules as { expiration: { days: number } }[])[0].expiration.days, 7);
    const existing = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:backups": { bucket: { name: "acme-dumps", create: false } } } });
    assert.equal(ofType(existing, BUCKET).length, 0);
    assert.deepEqual(one(existing, KEY).inputs.grants, [{ bucket: "acme-dumps", permission: "readwrite" }]);
  });

  it("uses djangostack:backupCredentials instead of generating a key", async () => {
    const supplied = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:backupCredentials": { accessKey: "DO00SUPPLIED", secretKey: "supplied-secret" } } });
    assert.equal(ofType(supplied, KEY).length, 0);
    assert.equal(ofType(supplied, BUCKET).length, 1);
  });
});

describe("droplet.backups: DigitalOcean's own backups of the staging Droplet", () => {
  const droplet = (e: Evaluation) => one(e, "digitalocean:index/droplet:Droplet").inputs;
  it("are off by default and weekly on Sundays when set, updated in place (not a ForceNew field)", async () => {
    const off = await evaluateStack({ stack: "staging" });
    assert.equal(droplet(off).backups, false);
    assert.equal(droplet(off).backupPolicy, undefined);
    const weekly = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:droplet": { ...stackObject("staging", "droplet"), backups: true } } });
    assert.equal(droplet(weekly).backups, true);
    assert.deepEqual(droplet(weekly).backupPolicy, { plan: "weekly", weekday: "SUN", hour: 0 });
    assert.ok(!FORCE_NEW["digitalocean:index/droplet:Droplet"].some((f) => f === "backups" || f === "backupPolicy"));
  });
});

describe("backups bucket: stacks that do not back up", () => {
  it("production (managed PostgreSQL): no bucket, and the output says managed PostgreSQL keeps its own backups", async () => {
    const ev = await evaluateStack({ stack: "production" });
    // The media bucket of the app (apps[].media.storage "spaces", the Kubernetes default) is the Media tier's.
    const backupsOwned = (type: string) => ofType(ev, type).filter((r) => r.name.startsWith("production-backups"));
    assert.equal(backupsOwned(BUCKET).length + backupsOwned(KEY).length + ofType(ev, TIER).length, 0);
    const backups = ((await resolveOutputs(ev.exports)) as Record<string, unknown>).backups as Record<string, unknown>;
    assert.equal(backups.enabled, false);
    assert.match(String(backups.note), /managed PostgreSQL: DigitalOcean keeps daily backups with point-in-time recovery/);
  });

  it("local (target docker): off unless enabled", async () => {
    const ev = await evaluateStack({ stack: "local" });
    assert.equal(ofType(ev, BUCKET).length, 0);
    assert.equal((((await resolveOutputs(ev.exports)) as Record<string, unknown>).backups as Record<string, unknown>).enabled, false);
  });
});
