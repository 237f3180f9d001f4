/**
 * Media on object storage (issue 13 item 4) under the offline engine (the real index.ts with mocks):
 * the bucket and its key with the options that keep uploads, the env every Django and Celery process
 * of the app receives, no media emptyDir or volume, no nginx /media/ location, and backups that skip
 * a bucket. Production (kubernetes: spaces by default), staging (droplet: a volume, and spaces when asked).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { exactApps, stackApps } from "../helpers/stack-apps";

const BUCKET = "digitalocean:index/spacesBucket:SpacesBucket";
const KEY = "digitalocean:index/spacesKey:SpacesKey";
const TIER = "djangostack:app:Media";
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const K8S_WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];

type Obj = Record<string, unknown>;
type Container = { name: string; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; envFrom?: { configMapRef?: { name: string } }[]; volumeMounts?: { name: string; mountPath: string }[] };
type PodSpec = { containers: Container[]; volumes?: (Obj & { name: string })[] };

const ofType = (e: Evaluation, type: string): RecordedResource[] => e.engine.resources.filter((r) => r.type === type);
const metaName = (r: RecordedResource): string => String((r.inputs.metadata as Obj | undefined)?.name);
const podOf = (r: RecordedResource): PodSpec => {
  const spec = r.inputs.spec as Obj;
  // A CronJob's pod is one level further down.
  const template = (spec.jobTemplate ? ((spec.jobTemplate as Obj).spec as Obj).template : spec.template) as Obj;
  return template.spec as PodSpec;
};
const nginxConf = (e: Evaluation): string => e.artifacts.find((a) => a.path.endsWith("nginx.conf"))?.content ?? "";
const dockerLabels = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries(((unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
const dockerEnv = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries((unwrapSecrets(r.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
/** A location block that serves files from a directory under /media/. */
const MEDIA_LOCATION = /location \/media\/[^{]*\{\s*alias /;

const PLAIN = {
  DJANGO_MEDIA_STORAGE: "s3",
  AWS_STORAGE_BUCKET_NAME: "djangostack-production-web-media",
  AWS_S3_ENDPOINT_URL: "https://fra1.digitaloceanspaces.com",
  AWS_S3_REGION_NAME: "fra1",
  AWS_DEFAULT_ACL: "private",
  AWS_QUERYSTRING_AUTH: "true",
  AWS_QUERYSTRING_EXPIRE: "3600",
};

describe("media on Spaces: production (kubernetes, the default storage)", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "production" });
  });

  it("creates the app's private bucket in the stack's region, never deleted, never replaced delete-first", () => {
    const buckets = ofType(ev, BUCKET);
    assert.equal(buckets.length, 1, buckets.map((b) => b.name).join(", "));
    const [bucket] = buckets;
    assert.deepEqual(bucket.inputs, { name: "djangostack-production-web-media", region: "fra1", acl: "private", forceDestroy: false });
    assert.equal(bucket.options.protect, true);
    assert.equal(bucket.options.retainOnDelete, true);
    assert.equal(bucket.options.deleteBeforeReplace, false);
    assert.equal(bucket.parent, ofType(ev, TIER)[0].name);
  });

  it("generates a key with readwrite on that bucket only, after the bucket", () => {
    const keys = ofType(ev, KEY);
    assert.equal(keys.length, 1);
    const [key] = keys;
    assert.deepEqual(key.inputs.grants, [{ bucket: "djangostack-production-web-media", permission: "readwrite" }]);
    assert.equal(key.inputs.name, "djangostack-production-web-media");
    assert.ok(key.options.dependsOn.includes(ofType(ev, BUCKET)[0].name));
  });

  it("hands every Django and Celery process of the app the bucket as plain env and the key as secret env; no media emptyDir", () => {
    const appWorkloads = K8S_WORKLOADS.flatMap((t) => ofType(ev, t)).filter((r) => /^web-(web|worker-|beat|migrate|job-)/.test(metaName(r)));
    const names = appWorkloads.map(metaName);
    for (const role of ["web-web", "web-worker-default", "web-worker-emails", "web-beat", "web-migrate"]) assert.ok(names.some((n) => n.startsWith(role)), `${role} among ${names.join(", ")}`);
    const envMap = ofType(ev, "kubernetes:core/v1:ConfigMap").find((r) => r.name === "production-web-env");
    assert.ok(envMap, "the app's env ConfigMap");
    const data = envMap.inputs.data as Record<string, string>;
    for (const [name, value] of Object.entries(PLAIN)) assert.equal(data[name], value, name);
    for (const w of appWorkloads) {
      for (const c of podOf(w).containers) {
        // Auto-named objects: the name Pulumi gives them starts with the resource's.
        assert.ok(c.envFrom?.some((f) => f.configMapRef?.name.startsWith("production-web-env-")), `${metaName(w)}/${c.name} reads the app's env`);
        for (const secret of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
          const ref = c.env?.find((e) => e.name === secret)?.valueFrom?.secretKeyRef;
          assert.ok(ref?.key === secret && ref.name.startsWith("production-web-secrets-"), `${metaName(w)}/${c.name}: ${secret} from the app's Secret, got ${JSON.stringify(ref)}`);
        }
        assert.ok(!(c.volumeMounts ?? []).some((m) => m.mountPath === "/srv/media" || m.name.startsWith("media-")), `${metaName(w)}/${c.name} mounts no media dir`);
      }
      assert.ok(!(podOf(w).volumes ?? []).some((v) => v.name.startsWith("media-")), `${metaName(w)} has no media volume`);
    }
    const secret = ofType(ev, "kubernetes:core/v1:Secret").find((r) => r.name === "production-web-secrets");
    assert.ok(secret && isWireSecret(secret.inputs.stringData), "the key pair reaches the cluster as a secret");
    const keys = Object.keys(unwrapSecrets(secret.inputs.stringData) as Obj);
    assert.ok(keys.includes("AWS_ACCESS_KEY_ID") && keys.includes("AWS_SECRET_ACCESS_KEY"), keys.join(", "));
  });

  it("says in the outputs where the app's uploads are (apps.<app>.media)", async () => {
    const outputs = (await resolveOutputs(ev.exports)) as { apps: Record<string, { media?: unknown }> };
    assert.deepEqual(outputs.apps.web.media, { storage: "spaces", bucket: "djangostack-production-web-media", region: "fra1", endpoint: "https://fra1.digitaloceanspaces.com", private: true });
  });

  it("gives nginx no /media/ location and its pods no media volume", () => {
    const conf = (ofType(ev, "kubernetes:core/v1:ConfigMap").find((r) => typeof (r.inputs.data as Obj | undefined)?.["nginx.conf"] === "string")?.inputs.data as Record<string, string>)["nginx.conf"];
    assert.ok(conf.includes("location /static/"), "static files are still the edge's");
    assert.doesNotMatch(conf, MEDIA_LOCATION);
    assert.ok(!conf.includes("djs_media_disposition"));
    const edge = ofType(ev, "kubernetes:apps/v1:Deployment").find((r) => metaName(r) === "nginx");
    assert.ok(edge);
    assert.ok(!(podOf(edge).volumes ?? []).some((v) => v.name.startsWith("media-")));
  });
});

describe("media on a volume: staging (droplet, the default storage)", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "staging" });
  });

  it("creates no media bucket; nginx serves /media/ from the volume; the backup archives it", () => {
    assert.ok(!ofType(ev, BUCKET).some((b) => String(b.inputs.name).endsWith("-media")));
    assert.equal(ofType(ev, TIER).length, 0);
    assert.match(nginxConf(ev), MEDIA_LOCATION);
    assert.ok(ofType(ev, VOLUME).some((v) => String(v.inputs.name).endsWith("media-web")));
    const settings = JSON.parse(ev.artifacts.find((a) => a.path === "backup/backup.json")?.content ?? "{}") as { media: { name: string }[] };
    assert.deepEqual(settings.media.map((m) => m.name), ["web"]);
    const web = ofType(ev, CONTAINER).find((c) => dockerLabels(c)["djangostack.process"] === "web-web");
    assert.ok(web);
    assert.equal(dockerEnv(web).AWS_STORAGE_BUCKET_NAME, undefined);
  });

  it("says so in the outputs", async () => {
    const outputs = (await resolveOutputs(ev.exports)) as { apps: Record<string, { media?: unknown }> };
    assert.deepEqual(outputs.apps.web.media, { storage: "volume" });
  });
});

describe("media on Spaces: staging (droplet) with apps[].media.storage spaces", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "staging", extraConfig: exactApps(stackApps("staging").map((a) => ({ ...a, media: { storage: "spaces", private: false } }))) });
  });

  it("creates the bucket and key beside the backups bucket, and no media volume", () => {
    const media = ofType(ev, BUCKET).filter((b) => b.name.startsWith("staging-media-"));
    assert.deepEqual(media.map((b) => b.inputs.name), ["djangostack-staging-web-media"]);
    assert.equal(media[0].options.protect, true);
    assert.equal(media[0].options.retainOnDelete, true);
    assert.deepEqual(ofType(ev, KEY).find((k) => k.name.startsWith("staging-media-"))?.inputs.grants, [{ bucket: "djangostack-staging-web-media", permission: "readwrite" }]);
    assert.ok(!ofType(ev, VOLUME).some((v) => String(v.inputs.name).includes("media")), "no media volume");
  });

  it("gives every app container the bucket's env (public-read: no signed URLs) and the key as secret env", () => {
    const app = ofType(ev, CONTAINER).filter((c) => /^web-(web|worker-|beat|migrate)/.test(dockerLabels(c)["djangostack.process"] ?? ""));
    assert.ok(app.length >= 4, app.map((c) => dockerLabels(c)["djangostack.process"]).join(", "));
    for (const c of app) {
      const env = dockerEnv(c);
      const what = dockerLabels(c)["djangostack.process"];
      assert.equal(env.AWS_STORAGE_BUCKET_NAME, "djangostack-staging-web-media", what);
      assert.equal(env.AWS_S3_ENDPOINT_URL, "https://fra1.digitaloceanspaces.com", what);
      assert.equal(env.AWS_DEFAULT_ACL, "public-read", what);
      assert.equal(env.AWS_QUERYSTRING_AUTH, "false", what);
      assert.equal(env.AWS_QUERYSTRING_EXPIRE, undefined, what);
      assert.ok((env.AWS_SECRET_ACCESS_KEY ?? "").length > 0 && (env.AWS_ACCESS_KEY_ID ?? "").length > 0, what);
      assert.ok(isWireSecret(c.inputs.envs), `${what}: the env reaches the provider as a secret`);
      assert.ok(!((c.inputs.volumes ?? []) as { containerPath: string }[]).some((v) => v.containerPath === "/srv/media"), `${what} mounts no media volume`);
    }
  });

  it("skips the media in the backup (the bucket is the store) and serves no /media/ location", () => {
    const settings = JSON.parse(ev.artifacts.find((a) => a.path === "backup/backup.json")?.content ?? "{}") as { media: unknown[]; databases: unknown[] };
    assert.deepEqual(settings.media, []);
    assert.equal(settings.databases.length, 1);
    assert.doesNotMatch(nginxConf(ev), MEDIA_LOCATION);
  });
});
