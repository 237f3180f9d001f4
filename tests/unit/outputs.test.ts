import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { DjangostackStackReference, asStackOutputsV1, checkVersion, pickApp, pickOutput, readStackOutputs } from "../../src/outputs";

/** A consumer's view: another stack's outputs arrive through a StackReference. */
const published: Record<string, Record<string, unknown>> = {
  "acme/djangostack/production": {
    outputsVersion: "v1",
    target: "kubernetes",
    url: "https://shop.example.com",
    healthUrl: "https://shop.example.com/api/v1/health/",
    images: { shop: "registry.digitalocean.com/acme/production-shop:production@sha256:abc" },
    apps: { shop: { database: { name: "shop_db", user: "shop_user" }, redisDb: 0, routes: ["/"], hosts: [], redisUrl: "rediss://x" } },
    clusterName: "djangostack-production",
    clusterId: "id",
    namespace: "shop",
    kubeconfig: "apiVersion: v1",
    loadBalancerIp: "203.0.113.50",
    databaseHosts: [],
  },
  "acme/djangostack/legacy": { outputsVersion: "v0", url: "http://old" },
};

const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((ok) => output.apply(ok));

describe("readStackOutputs (the consumers' typed reader)", () => {
  it("returns the v1 contract of another stack, and refuses any other version", async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, outputs: published[String(args.inputs.name)] ?? {}, secretOutputNames: ["apps"] } }),
        call: () => ({}),
      },
      "consumer",
      "dev",
    );
    const prod = await resolve(readStackOutputs("acme/djangostack/production"));
    assert.equal(prod.outputsVersion, "v1");
    assert.equal(prod.url, "https://shop.example.com");
    assert.deepEqual(prod.apps.shop.database, { name: "shop_db", user: "shop_user" });
    assert.throws(() => asStackOutputsV1("acme/djangostack/legacy", published["acme/djangostack/legacy"]), /exports outputs v0; this reader understands v1/);
    assert.throws(() => asStackOutputsV1("x", { outputsVersion: "v1", target: "docker" }), /lacks the v1 output\(s\) url, healthUrl, images, apps/);
    assert.throws(() => asStackOutputsV1("x", { outputsVersion: "v1", target: "kubernetes", url: "u", healthUrl: "h", images: {}, apps: {} }), /target kubernetes\) lacks the v1 output\(s\) clusterName/);
    assert.throws(() => asStackOutputsV1("x", { url: "u" }), /exports no outputsVersion: not a djangostack stack, or not deployed yet/);
  });

  it("get(key) keeps each output's own secretness and checks the version and the target's keys", async () => {
    const prod = new DjangostackStackReference("acme/djangostack/production");
    assert.equal(await resolve(prod.get("url")), "https://shop.example.com");
    assert.equal(await pulumi.isSecret(prod.get("url")), false);
    assert.equal(await pulumi.isSecret(prod.app("shop")), true, "apps holds the DSNs");
    assert.deepEqual((await resolve(prod.app("shop"))).routes, ["/"]);
    // The checks get() and app() apply, as pure functions (a failed Output would only surface as an unhandled rejection here).
    assert.throws(() => checkVersion("acme/djangostack/legacy", "v0"), /legacy exports outputs v0; this reader understands v1/);
    assert.throws(() => pickOutput("p", "kubernetes", "dropletIp", undefined), /\(target kubernetes\) has no output dropletIp; it is exported on droplet/);
    assert.throws(() => pickApp("p", {}, "nope"), /has no app nope/);
  });
});
