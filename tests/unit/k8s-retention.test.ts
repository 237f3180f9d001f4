import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { deletionOf, stackObject } from "../helpers/replacement";
import { exactApps, stackApps } from "../helpers/stack-apps";

const DO = {
  db: "digitalocean:index/databaseDb:DatabaseDb",
  user: "digitalocean:index/databaseUser:DatabaseUser",
  pool: "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool",
  registry: "digitalocean:index/containerRegistry:ContainerRegistry",
};
const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
const key = (r: RecordedResource) => `${r.type}::${r.name}`;
/** What the engine deletes when the program goes from `before` to `after`. */
const removed = (before: Evaluation, after: Evaluation) => {
  const kept = new Set(after.engine.resources.map(key));
  return before.engine.resources.filter((r) => !kept.has(key(r)));
};
const blog = { name: "blog", build: "./app", routes: ["/blog/"] };

describe("data survives removing an app from config (production)", () => {
  let two: Evaluation;
  let one: Evaluation;
  before(async () => {
    two = await evaluateStack({ stack: "production", extraConfig: exactApps([...stackApps("production"), blog]) });
    one = await evaluateStack({ stack: "production" });
  });

  it("refuses to delete the removed app's managed database and user (protected), and drops only its pool", () => {
    const gone = removed(two, one).filter((r) => r.type.startsWith("digitalocean:index/database"));
    assert.deepEqual(gone.map((r) => [r.type, deletionOf(r)]).sort(), [
      [DO.pool, "deleted"],
      [DO.db, "refused"],
      [DO.user, "refused"],
    ]);
  });

  it("protects every managed database and user, not only the removed app's", () => {
    for (const r of [...ofType(one, DO.db), ...ofType(one, DO.user)]) assert.equal(r.options.protect, true, r.name);
  });
});

describe("in-cluster data volumes outlive their StatefulSets", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "production", extraConfig: { "djangostack:data": { ...stackObject("production", "data"), postgres: { mode: "container" }, redis: { mode: "container" } } } });
  });

  it("keeps every claim when its StatefulSet is deleted or scaled down, on a StorageClass that keeps the disk", () => {
    const sets = ofType(ev, "kubernetes:apps/v1:StatefulSet");
    assert.deepEqual(sets.map((s) => (s.inputs.metadata as { name: string }).name).sort(), ["postgres", "rabbitmq", "redis"]);
    const classes = new Map(ofType(ev, "kubernetes:storage.k8s.io/v1:StorageClass").map((c) => [(c.inputs.metadata as { name: string }).name, c.inputs.reclaimPolicy]));
    for (const s of sets) {
      const spec = s.inputs.spec as { persistentVolumeClaimRetentionPolicy: unknown; volumeClaimTemplates: { spec: { storageClassName: string } }[] };
      assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" }, s.name);
      for (const t of spec.volumeClaimTemplates) assert.equal(classes.get(t.spec.storageClassName), "Retain", `${s.name}: its disks are kept when a claim goes`);
    }
    assert.equal(ofType(ev, "kubernetes:core/v1:PersistentVolumeClaim").length, 0, "claims are the StatefulSet controller's, never deleted by Pulumi");
  });
});

describe("the account's container registry", () => {
  it("is never deleted with the stack that created it (one registry per account, shared by stacks)", async () => {
    const ev = await evaluateStack({ stack: "production", extraConfig: { "djangostack:kubernetes": { ...stackObject("production", "kubernetes"), registry: { name: "acme", create: true } } } });
    const [registry] = ofType(ev, DO.registry);
    assert.equal(deletionOf(registry), "kept");
  });
});
