/**
 * Issue 13 item 4's option: an app's static files in its media bucket behind the Spaces CDN
 * (`apps[].static.storage: spaces`). collectstatic at release writes them there (tests/integration/
 * media-s3.test.ts runs it against s3rver), the app's STATIC_URL is the CDN's, and the edge serves
 * no /static/ for that app on any target.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";
import { refuses } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const blog = (extra: Raw = {}): Raw => ({ name: "blog", build: "./app", routes: ["/"], static: { storage: "spaces" }, ...extra });
const CDN_URL = "https://djangostack-production-blog-media.nyc3.cdn.digitaloceanspaces.com/static/";

describe("apps[].static.storage spaces in config and the model", () => {
  it("points STATIC_URL at the bucket's CDN and collects at release, without a static volume anywhere", () => {
    const m = buildModel(parseConfig({ target: "kubernetes", domain: "example.com", region: "nyc3", apps: [blog()] }, { project: "djangostack", stack: "production" }));
    const web = m.processes.find((p) => p.name === "blog-web");
    assert.deepEqual([web?.env.DJANGO_STATIC_URL, web?.env.DJANGO_STATIC_STORAGE], [CDN_URL, "s3"]);
    const migrate = m.processes.find((p) => p.name === "blog-migrate");
    assert.ok(migrate, "a release runs on Kubernetes for it");
    assert.match(migrate.command.join(" "), /python manage\.py collectstatic --noinput/);
    assert.ok(migrate.secretEnv.AWS_SECRET_ACCESS_KEY, "with the bucket's key");
    assert.ok(!m.volumes.some((v) => v.kind === "static"), m.volumes.map((v) => v.name).join(", "));
    assert.equal(m.routing[0].staticUrl, undefined, "nothing for the edge to serve");
  });

  it("on the Droplet too: the release collects into the bucket and no static volume exists", () => {
    const m = buildModel(parseConfig({ target: "droplet", droplet: { sshKeys: ["k"], adminCidrs: ["203.0.113.0/24"] }, apps: [blog({ media: { storage: "spaces" } })] }, { project: "djangostack", stack: "staging" }));
    const migrate = m.processes.find((p) => p.name === "blog-migrate");
    assert.match(String(migrate?.command.join(" ")), /collectstatic --noinput/);
    assert.ok(!(migrate?.volumes ?? []).some((v) => v.kind === "static"));
    assert.ok(!m.volumes.some((v) => v.kind === "static"));
    assert.equal(m.routing[0].staticUrl, undefined);
  });

  refuses([
    ["static in a bucket without one", { apps: [blog()] }, "djangostack:apps[0].static.storage", 'set apps[].media.storage "spaces"'],
    ["a static URL of one's own in the bucket", { target: "kubernetes", domain: "example.com", apps: [blog({ static: { storage: "spaces", url: "/static/x/" } })] }, "djangostack:apps[0].static.url", "the CDN's URL"],
    ["an unknown static storage", { apps: [blog({ static: { storage: "cdn" } })] }, "djangostack:apps[0].static.storage", '"edge", "spaces"'],
  ]);
});

describe("apps[].static.storage spaces on Kubernetes", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "production", extraConfig: exactApps([blog()]) });
  });

  it("puts a Spaces CDN in front of the app's bucket", () => {
    const cdns = ev.engine.resources.filter((r) => r.type === "digitalocean:index/cdn:Cdn");
    assert.equal(cdns.length, 1);
    assert.deepEqual([cdns[0].inputs.origin, cdns[0].inputs.ttl], ["djangostack-production-blog-media.fra1.digitaloceanspaces.com", 3600]);
    const web = ev.engine.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.inputs.data as Record<string, unknown> | undefined)?.DJANGO_STATIC_URL !== undefined);
    assert.equal((web?.inputs.data as Record<string, unknown>).DJANGO_STATIC_URL, "https://djangostack-production-blog-media.fra1.cdn.digitaloceanspaces.com/static/", "the URL the CDN serves");
  });

  it("copies no static files into nginx's pods and serves no /static/ location", () => {
    const nginx = ev.engine.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs.metadata as { name?: string }).name === "nginx") as RecordedResource;
    const init = ((nginx.inputs.spec as { template: { spec: { initContainers?: { name: string }[] } } }).template.spec.initContainers ?? []).map((c) => c.name);
    assert.ok(!init.some((n) => n.includes("blog")), init.join(", "));
    const conf = ev.engine.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.inputs.data as Record<string, unknown> | undefined)?.["nginx.conf"] !== undefined);
    assert.ok(conf);
    assert.doesNotMatch(String(unwrapSecrets((conf.inputs.data as Record<string, unknown>)["nginx.conf"])), /location \/static\//);
  });
});
