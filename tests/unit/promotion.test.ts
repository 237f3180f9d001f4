/**
 * Issue 12 item 2: production runs the image digests staging exported (djangostack:promoteFrom, a
 * StackReference) instead of building, and refuses staging's outputs when they are missing, of
 * another app set or not pinned. The offline engine serves the StackReference with the outputs of
 * the staging stack's own offline render.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { promotedImages } from "../../src/components/images";
import { resolveOutputs } from "../../src/offline/engine";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { id, onDroplet, refuses } from "./config-helpers";

const STAGING = "acme/djangostack/staging";
const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe("djangostack:promoteFrom config", () => {
  refuses([
    ["promotion on the docker target", { promoteFrom: STAGING }, "djangostack:promoteFrom", 'only on "droplet" and "kubernetes"'],
    ["a name with spaces", { ...onDroplet(), promoteFrom: "acme staging" }, "djangostack:promoteFrom", "org/project/stack"],
    ["four parts", { ...onDroplet(), promoteFrom: "a/b/c/d" }, "djangostack:promoteFrom", "org/project/stack"],
    ["the stack itself", { ...onDroplet(), promoteFrom: id.stack }, "djangostack:promoteFrom", "is this stack itself"],
  ]);
});

describe("promotedImages: what may be promoted", () => {
  const good = { web: `registry.digitalocean.com/acme/staging-web:staging@${digest("a")}`, frontend: "nginx:1.27" };
  it("takes each built app's pinned reference", () => {
    assert.deepEqual(promotedImages(STAGING, good, ["web", "frontend"], ["web"]), good);
  });
  for (const [title, images, pattern] of [
    ["no images output", undefined, /exports no images map; deploy it first/],
    ["another app set", { web: good.web, shop: good.web, frontend: "x" }, /exports images for frontend, shop, web, this stack runs frontend, web: deploy acme\/djangostack\/staging with the same apps first/],
    ["a missing app", { frontend: "x" }, /exports images for frontend, this stack runs frontend, web/],
    ["a tag, not a digest", { web: "registry.digitalocean.com/acme/staging-web:staging", frontend: "x" }, /exports web as "registry.digitalocean.com\/acme\/staging-web:staging", not pinned by digest/],
  ] as const) {
    it(`refuses ${title}`, () => assert.throws(() => promotedImages(STAGING, images, ["web", "frontend"], ["web"]), pattern));
  }
});

describe("production promoted from staging (offline engine)", () => {
  let staging: Record<string, unknown>;
  let production: Evaluation;
  // Promotion needs the same apps on both stacks: the repository's share Pulumi.yaml's.
  before(async () => {
    const s = await evaluateStack({ stack: "staging" });
    staging = (await resolveOutputs(s.exports)) as Record<string, unknown>;
    production = await evaluateStack({ stack: "production", extraConfig: { "djangostack:promoteFrom": STAGING }, stackOutputs: { [STAGING]: staging } });
  });

  it("builds nothing and runs staging's digests; the StackReference names staging", () => {
    assert.equal(production.engine.resources.filter((r) => r.type === "docker-build:index:Image").length, 0, "production built an image");
    const ref = production.engine.resources.find((r) => r.type === "pulumi:pulumi:StackReference");
    assert.equal(ref?.inputs.name, STAGING);
    const stagingImages = staging.images as Record<string, string>;
    const web = production.engine.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.endsWith("-web-web"));
    const image = (web?.inputs.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0].image;
    assert.equal(image, stagingImages.web);
    assert.match(image, /@sha256:[0-9a-f]{64}$/);
  });

  it("the migration Job is named by the promoted digest", () => {
    const job = production.engine.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.endsWith("-web-migrate"));
    const stagingDigest = (staging.images as Record<string, string>).web.split("@sha256:")[1];
    assert.equal((job?.inputs.metadata as { name: string }).name, `web-migrate-${stagingDigest.slice(0, 10)}`);
  });

  // In a process of their own: see the fixture.
  const promote = (mode: string) => spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "fixtures", "promote-offline.ts"), mode], { encoding: "utf8", timeout: 120_000 });

  it("fails the deploy when staging runs another app set", () => {
    const r = promote("another-app-set");
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /rejected: .*promoteFrom acme\/djangostack\/staging exports images for billing, web, this stack runs web: deploy acme\/djangostack\/staging with the same apps first/);
  });

  it("fails when staging exports no outputs (not deployed), naming the stack", () => {
    const r = promote("not-deployed");
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /rejected: .*stack acme\/djangostack\/staging exports no outputsVersion: not a djangostack stack, or not deployed yet/);
  });
});
