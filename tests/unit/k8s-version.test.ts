import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { clusterVersionChange, stackObject } from "../helpers/replacement";

const CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster";
const clusterOf = (e: Evaluation): RecordedResource => {
  const found = e.engine.resources.filter((r) => r.type === CLUSTER);
  assert.equal(found.length, 1);
  return found[0];
};
const withKubernetes = (extra: Record<string, unknown>) => evaluateStack({ stack: "production", extraConfig: { "djangostack:kubernetes": { ...stackObject("production", "kubernetes"), ...extra } } });

function problems(kubernetes: Record<string, unknown>): string[] {
  try {
    parseConfig({ target: "kubernetes", domain: "example.com", kubernetes }, { project: "djangostack", stack: "production" });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return [];
}

describe("DOKS cluster version: changes only when the user asks", () => {
  describe("resolved from kubernetes.versionPrefix (no exact version)", () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateStack({ stack: "production" });
    });

    it("creates the cluster on the newest version of the prefix, auto-upgraded by DigitalOcean in the maintenance window", () => {
      const cluster = clusterOf(ev);
      assert.equal(cluster.inputs.version, "1.33.5-do.0");
      assert.equal(cluster.inputs.autoUpgrade, true);
    });

    it("leaves a running cluster alone when DigitalOcean publishes a newer patch than the one it runs", () => {
      assert.equal(clusterVersionChange("1.33.2-do.1", clusterOf(ev)), "none", "no immediate upgrade of every node");
    });

    it("never replaces the cluster after a forced minor upgrade made the prefix resolve lower", () => {
      assert.equal(clusterVersionChange("1.34.1-do.0", clusterOf(ev)), "none");
    });
  });

  describe("pinned with kubernetes.version", () => {
    it("applies the exact version, upgrades in place when it is raised, and turns DigitalOcean's auto-upgrade off", async () => {
      const ev = await withKubernetes({ version: "1.33.5-do.0" });
      const cluster = clusterOf(ev);
      assert.equal(cluster.inputs.version, "1.33.5-do.0");
      assert.equal(cluster.inputs.autoUpgrade, false, "a patch upgrade would leave the pin below the running version, which is a replacement");
      assert.equal(clusterVersionChange("1.33.2-do.1", cluster), "upgrade");
      assert.equal(clusterVersionChange("1.33.5-do.0", cluster), "none");
    });

    it("wins over the prefix, which is not even resolved (DigitalOcean no longer offers 1.31 here)", async () => {
      const ev = await withKubernetes({ versionPrefix: "1.31.", version: "1.31.9-do.3" });
      assert.equal(clusterOf(ev).inputs.version, "1.31.9-do.3");
    });
  });

  describe("config validation", () => {
    it("accepts an exact DOKS version slug", () => {
      const config = parseConfig({ target: "kubernetes", domain: "example.com", kubernetes: { version: "1.33.5-do.0" } }, { project: "djangostack", stack: "production" });
      assert.equal(config.kubernetes?.version, "1.33.5-do.0");
      assert.equal(parseConfig({ target: "kubernetes", domain: "example.com" }, { project: "djangostack", stack: "production" }).kubernetes?.version, undefined);
    });

    it("names the key, the value and what is allowed for a malformed version", () => {
      const [problem] = problems({ version: "1.33" });
      assert.match(problem, /djangostack:kubernetes\.version: got "1\.33"; expected an exact DOKS version slug such as "1\.33\.5-do\.0"/);
    });

    it("refuses an exact version outside an explicitly set prefix", () => {
      const [problem] = problems({ versionPrefix: "1.33.", version: "1.34.1-do.0" });
      assert.match(problem, /djangostack:kubernetes\.version: got "1\.34\.1-do\.0"; must start with kubernetes\.versionPrefix \("1\.33\."\)/);
    });
  });
});
