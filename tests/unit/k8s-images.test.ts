import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { kubernetesManifests } from "../../src/offline/manifests";
import { withDigest } from "../../src/components/pinning";
import { stackObject } from "../helpers/replacement";
import { registryDigest } from "../helpers/registry";

type Pod = { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] };
const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"];
const DIGEST = /@sha256:[0-9a-f]{64}$/;

function images(e: Evaluation): { where: string; image: string }[] {
  return e.engine.resources
    .filter((r) => WORKLOADS.includes(r.type))
    .flatMap((r) => {
      const pod = (r.inputs.spec as { template: { spec: Pod } }).template.spec;
      return [...(pod.initContainers ?? []), ...pod.containers].map((c) => ({ where: `${r.name}/${c.name}`, image: c.image }));
    });
}
/** The digest the registry reports for a tag (the offline engine's stand-in for docker.getRegistryImage). */

describe("production pins every image by digest, public ones too", () => {
  let managed: Evaluation;
  let inCluster: Evaluation;
  before(async () => {
    managed = await evaluateStack({ stack: "production" });
    inCluster = await evaluateStack({ stack: "production", extraConfig: { "djangostack:data": { ...stackObject("production", "data"), postgres: { mode: "container" }, redis: { mode: "container" } } } });
  });

  it("gives every container of every workload an image reference ending in @sha256:<digest>", () => {
    for (const e of [managed, inCluster]) {
      const all = images(e);
      assert.ok(all.length > 10);
      for (const { where, image } of all) assert.match(image, DIGEST, `${where}: ${image}`);
    }
  });

  it("pins the public images (postgres, redis, rabbitmq, nginx, the exporters) to the registry's digest for the tag the model names", () => {
    const publics = images(inCluster).filter(({ image }) => !image.startsWith("registry.digitalocean.com/"));
    const repos = new Set(publics.map(({ image }) => image.split(":")[0]));
    assert.deepEqual([...repos].sort(), [
      "danihodovic/celery-exporter",
      "nginx/nginx-prometheus-exporter",
      "nginxinc/nginx-unprivileged",
      "oliver006/redis_exporter",
      "postgres",
      "quay.io/prometheuscommunity/postgres-exporter",
      "rabbitmq",
      "redis",
    ]);
    for (const { where, image } of publics) {
      const tag = image.slice(0, image.indexOf("@"));
      assert.match(tag, /^[a-z0-9._/-]+:v?[0-9][0-9a-z.-]*$/, `${where}: the version tag stays readable`);
      assert.equal(image, `${tag}@${registryDigest(tag)}`, `${where}: the digest is the registry's for ${tag}`);
    }
  });

  it("shows the digest in the rendered manifests", () => {
    const nginx = kubernetesManifests(managed.engine.resources).find((m) => m.path.endsWith("deployment-nginx.yaml"));
    assert.match(String(nginx?.content), /image: nginxinc\/nginx-unprivileged:[0-9.]+-alpine@sha256:[0-9a-f]{64}/);
  });

  it("refuses a registry answer that is not a sha256 digest, or a reference that already carries one", () => {
    assert.equal(withDigest("redis:7-bookworm", `sha256:${"a".repeat(64)}`), `redis:7-bookworm@sha256:${"a".repeat(64)}`);
    assert.throws(() => withDigest("redis:7-bookworm", ""), /no sha256 digest for redis:7-bookworm/);
    assert.throws(() => withDigest(`redis:7@sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`), /already pinned/);
  });
});
