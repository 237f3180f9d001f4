import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { nextUpAfterFailedJob, stackObject } from "../helpers/replacement";
import { exactApps, stackApps } from "../helpers/stack-apps";

const JOB = "kubernetes:batch/v1:Job";
const DO = {
  db: "digitalocean:index/databaseDb:DatabaseDb",
  user: "digitalocean:index/databaseUser:DatabaseUser",
  pool: "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool",
};
const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
const jobName = (e: Evaluation, name: string) => ofType(e, JOB).find((j) => String((j.inputs.metadata as { name?: string }).name).startsWith(name));

describe("one-off Jobs are retried by the next up after a failure", () => {
  let managed: Evaluation;
  let inCluster: Evaluation;
  before(async () => {
    managed = await evaluateStack({ stack: "production" });
    inCluster = await evaluateStack({ stack: "production", extraConfig: { "djangostack:data": { ...stackObject("production", "data"), postgres: { mode: "container" }, redis: { mode: "container" } } } });
  });

  it("runs a failed migration again on the next up, with the same image", () => {
    const migrate = jobName(managed, "web-migrate-");
    assert.ok(migrate);
    assert.equal(nextUpAfterFailedJob(migrate), "runs again");
  });

  it("does the same for the grants and init Jobs of both data modes", () => {
    const jobs = [...ofType(managed, JOB), ...ofType(inCluster, JOB)];
    assert.ok(jobName(managed, "postgres-grants") && jobName(inCluster, "postgres-init"));
    for (const job of jobs) assert.equal(nextUpAfterFailedJob(job), "runs again", job.name);
  });
});

describe("managed databases, users and pools are created one at a time", () => {
  it("chains every app's database, user and pool, and the next app's database after the previous pool", async () => {
    const ev = await evaluateStack({ stack: "production", extraConfig: exactApps([...stackApps("production"), { name: "blog", build: "./app", routes: ["/blog/"] }]) });
    const byApp = (type: string, app: string) => {
      const r = ofType(ev, type).find((x) => x.name.includes(`-${app}-`));
      assert.ok(r, `${type} of ${app}`);
      return r;
    };
    const chain = ["web", "blog"].flatMap((app) => [byApp(DO.db, app), byApp(DO.user, app), byApp(DO.pool, app)]);
    chain.slice(1).forEach((r, i) => assert.ok(r.options.dependsOn.includes(chain[i].name), `${r.name} waits for ${chain[i].name}`));
    assert.deepEqual(chain[0].options.dependsOn, [], "the first database waits only for its cluster (an input)");
  });
});
