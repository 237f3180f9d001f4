import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { asStackOutputsV1, readStackOutputs } from "../../src/outputs";

/** A consumer's view: another stack's outputs arrive through a StackReference. */
const published: Record<string, Record<string, unknown>> = {
  "acme/djangostack/production": {
    outputsVersion: "v1",
    target: "kubernetes",
    url: "https://shop.example.com",
    healthUrl: "https://shop.example.com/api/v1/health/",
    images: { shop: "registry.digitalocean.com/acme/production-shop:production@sha256:abc" },
    apps: { shop: { database: { name: "shop_db", user: "shop_user" }, redisDb: 0, routes: ["/"], hosts: [] } },
  },
  "acme/djangostack/legacy": { outputsVersion: "v0", url: "http://old" },
};

const resolve = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((ok) => output.apply(ok));

describe("readStackOutputs (the consumers' typed reader)", () => {
  it("returns the v1 contract of another stack, and refuses any other version", async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, outputs: published[String(args.inputs.name)] ?? {}, secretOutputNames: [] } }),
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
    assert.throws(() => asStackOutputsV1("x", { outputsVersion: "v1", target: "docker" }), /lacks the v1 output url/);
  });
});
