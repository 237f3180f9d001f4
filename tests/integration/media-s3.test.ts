/**
 * Media on object storage (issue 13 item 4) for real: the sample app under Debian's Django 3.2,
 * django-storages 1.13 and boto3 1.26, with the env the model gives an app whose media are on
 * Spaces (the Kubernetes default), pointed at s3rver 3.7.1 behind harness/s3.ts's proxy. The proxy
 * checks every header signature and, because s3rver checks no V4 query signature, recomputes each
 * presigned URL's signature with aws4 and refuses an expired one: an upload or a URL the app signs
 * wrongly fails here as it would on Spaces.
 *
 * The only value moved is the endpoint (the model's is https://<region>.digitaloceanspaces.com):
 * the bucket, region, ACL, query-string auth and expiry are the model's, the key pair is the one the
 * server knows, handed over as the model's secret env names.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { Raw } from "../../src/config/checker";
import { buildModel } from "../../src/model/build";
import * as names from "../../src/model/names";
import { renderGunicornConf } from "../../src/render/gunicorn";
import { PATHS } from "../../src/model/build";
import { Credentials, Stack, generateCredentials, process as modelProcess, processEnv } from "./fixtures";
import { runAppCommand, startGunicorn } from "./harness/django";
import { freePort, requirePythonModules, sleep, tempDir, useHarness } from "./harness/process";
import { S3Server, startS3 } from "./harness/s3";

useHarness();

const ID = { project: "djangostack", stack: "itest" };
const BUCKET = "djangostack-itest-web-media";
const REGION = "nyc3";
const STORAGE_MODULES = { storages: "python3-django-storages", boto3: "python3-boto3", botocore: "python3-botocore" };

/** A Kubernetes stack of one app without database, cache or broker: its media settings are what is under test. */
function stackWith(media: Raw): Stack {
  const config = parseConfig({ target: "kubernetes", domain: "example.com", region: REGION, apps: [{ name: "web", database: false, broker: false, envNames: { cacheUrl: "" }, media }] }, ID);
  return { config, model: buildModel(config), artifacts: {} };
}

interface MediaCheck {
  storage: string;
  name: string;
  url: string;
  kept: boolean;
}

describe("media on a Spaces-compatible bucket: the sample app with the model's env", () => {
  let s3: S3Server;
  let creds: Credentials;
  let dir: string;

  before(async () => {
    await requirePythonModules(STORAGE_MODULES);
    s3 = await startS3({ bucket: BUCKET, region: REGION });
    dir = tempDir("media-s3");
    creds = { ...generateCredentials(stackWith({}).config), media: { web: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } };
  });

  /** The web process's env from the model, with the endpoint moved to the test's server. */
  const envOf = (stack: Stack): Record<string, string> => {
    const env = processEnv(stack, names.web("web"), creds, {}, dir);
    assert.equal(env.AWS_S3_ENDPOINT_URL, `https://${REGION}.digitaloceanspaces.com`, "the model points the app at the bucket's Spaces region");
    return { ...env, AWS_S3_ENDPOINT_URL: s3.endpoint };
  };

  const mediacheck = async (env: Record<string, string>): Promise<MediaCheck> => {
    const r = await runAppCommand(["python", "manage.py", "mediacheck", "--keep"], { env, home: dir, check: false });
    assert.equal(r.code, 0, `mediacheck failed:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as MediaCheck;
  };

  test("the model hands every S3 setting over, the key pair as secret env", () => {
    const web = modelProcess(stackWith({ expiry: 600 }).model, names.web("web"));
    assert.deepEqual(
      Object.fromEntries(Object.entries(web.env).filter(([k]) => k.startsWith("AWS_") || k === "DJANGO_MEDIA_STORAGE")),
      {
        DJANGO_MEDIA_STORAGE: "s3",
        AWS_STORAGE_BUCKET_NAME: BUCKET,
        AWS_S3_ENDPOINT_URL: `https://${REGION}.digitaloceanspaces.com`,
        AWS_S3_REGION_NAME: REGION,
        AWS_DEFAULT_ACL: "private",
        AWS_QUERYSTRING_AUTH: "true",
        AWS_QUERYSTRING_EXPIRE: "600",
      },
    );
    assert.deepEqual(Object.keys(web.secretEnv).filter((k) => k.startsWith("AWS_")).sort(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    assert.ok(!web.volumes.some((v) => v.kind === "media"), "no media volume");
  });

  test("the app boots under gunicorn with the S3 storage settings (the rendered gunicorn.conf.py, the model's command)", async () => {
    const stack = stackWith({});
    const app = stack.config.apps[0];
    const web = modelProcess(stack.model, names.web("web"));
    const g = await startGunicorn({ command: web.command, configPath: PATHS.gunicornConfig, config: renderGunicornConf(app, stack.config.logFormat), port: await freePort(), env: envOf(stack), healthPath: app.healthPath, label: "media-gunicorn" });
    await g.stop();
  });

  test("private (the default): the upload lands in the bucket, signed and private; the signed URL fetches it; unsigned, tampered or foreign ones are refused", async () => {
    const check = await mediacheck(envOf(stackWith({ expiry: 600 })));
    assert.equal(check.storage, "storages.backends.s3boto3.S3Boto3Storage");
    assert.deepEqual(await s3.keys("djangostack-mediacheck/"), [check.name], "the object is in the bucket");
    const put = s3.requests.find((r) => r.method === "PUT" && r.key === check.name);
    assert.ok(put, "the upload went through the proxy");
    assert.deepEqual([put.status, put.auth, put.acl], [200, "header", "private"], "a signed PUT of a private object");

    const url = new URL(check.url);
    assert.equal(`${url.protocol}//${url.host}`, s3.endpoint);
    assert.equal(url.pathname, `/${BUCKET}/${check.name}`);
    assert.equal(url.searchParams.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256", "signed with SigV4");
    assert.equal(url.searchParams.get("X-Amz-Expires"), "600", "valid for media.expiry");
    const signed = await fetch(url);
    assert.equal(signed.status, 200, `${JSON.stringify(s3.requests.at(-1))} ${check.url}`);
    assert.match(await signed.text(), /^djangostack mediacheck [0-9a-f]{32}\n$/);
    assert.equal(s3.requests.at(-1)?.auth, "query");

    const unsigned = await fetch(`${url.origin}${url.pathname}`);
    assert.equal(unsigned.status, 403, "a private object is not served without a signature");
    const tampered = new URL(url);
    tampered.searchParams.set("X-Amz-Expires", "604800");
    assert.equal((await fetch(tampered)).status, 403, "a longer expiry than the app signed is refused");
    assert.equal(s3.requests.at(-1)?.refused, "SignatureDoesNotMatch");
    const otherKey = new URL(url);
    otherKey.pathname = `/${BUCKET}/djangostack-mediacheck/other.txt`;
    assert.equal((await fetch(otherKey)).status, 403, "a signature is for its own object only");
    assert.equal(s3.requests.at(-1)?.refused, "SignatureDoesNotMatch");
  });

  test("an expired signed URL is refused", async () => {
    const check = await mediacheck(envOf(stackWith({ expiry: 1 })));
    const url = new URL(check.url);
    assert.equal(url.searchParams.get("X-Amz-Expires"), "1");
    await sleep(2100);
    const r = await fetch(url);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /Request has expired/);
  });

  test("public-read (media.private false): the object is uploaded public-read and its plain URL is served", async () => {
    const check = await mediacheck(envOf(stackWith({ private: false })));
    const put = s3.requests.find((r) => r.method === "PUT" && r.key === check.name);
    assert.deepEqual([put?.status, put?.acl], [200, "public-read"]);
    const url = new URL(check.url);
    assert.equal(url.search, "", "a plain URL: no signature, no expiry");
    assert.equal(url.pathname, `/${BUCKET}/${check.name}`);
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^djangostack mediacheck /);
  });

  test("static files in the bucket (static.storage spaces): collectstatic uploads hashed, public-read files and the manifest; their URLs are the CDN's", async () => {
    const spaces = parseConfig({ target: "kubernetes", domain: "example.com", region: REGION, apps: [{ name: "web", database: false, broker: false, envNames: { cacheUrl: "" }, static: { storage: "spaces" } }] }, ID);
    const env = envOf({ config: spaces, model: buildModel(spaces), artifacts: {} });
    assert.equal(env.DJANGO_STATIC_STORAGE, "s3");
    assert.equal(env.DJANGO_STATIC_URL, `https://${BUCKET}.${REGION}.cdn.digitaloceanspaces.com/static/`);
    const r = await runAppCommand(["python", "manage.py", "collectstatic", "--noinput"], { env, home: dir, check: false });
    assert.equal(r.code, 0, `collectstatic failed:\n${r.stdout}\n${r.stderr}`);
    const keys = await s3.keys("static/");
    assert.ok(keys.includes("static/staticfiles.json"), "the manifest is in the bucket");
    const hashed = keys.find((k) => /^static\/admin\/css\/base\.[0-9a-f]{12}\.css$/.test(k));
    assert.ok(hashed, `a hashed admin stylesheet among ${keys.length} keys`);
    const put = s3.requests.find((q) => q.method === "PUT" && q.key === hashed);
    assert.deepEqual([put?.status, put?.acl], [200, "public-read"], "public-read: the CDN fetches it without a signature");
    assert.equal((await fetch(`${s3.endpoint}/${BUCKET}/${hashed}`)).status, 200, "served to anyone");
    // What a template's {% static %} gives: the CDN's host, the hashed name from the manifest in the bucket.
    const url = await runAppCommand(["python", "manage.py", "shell", "-c", "from django.templatetags.static import static; print(static('admin/css/base.css'))"], { env, home: dir, check: false });
    assert.equal(url.code, 0, url.stderr);
    assert.equal(url.stdout.trim().split("\n").pop(), `https://${BUCKET}.${REGION}.cdn.digitaloceanspaces.com/${hashed}`);
  });

  test("mediacheck without --keep leaves nothing behind", async () => {
    const env = envOf(stackWith({}));
    const before = await s3.keys("djangostack-mediacheck/");
    const r = await runAppCommand(["python", "manage.py", "mediacheck"], { env, home: dir, check: false });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await s3.keys("djangostack-mediacheck/"), before);
  });
});
