import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { PRICES, withOverrides } from "../../src/config/prices";
import { buildModel } from "../../src/model/build";
import { CostEstimate, estimateCost } from "../../src/model/cost";
import { costOutputs } from "../../src/outputs";
import { readStackConfig, renderStack } from "../../src/offline/render";
import { readStackFiles } from "../../src/offline/stackfiles";
import { Example, exampleDir } from "../helpers/examples";
import { effectiveRaw } from "../helpers/overlay";
import { id } from "./config-helpers";

const cost = (raw: Raw): CostEstimate => {
  const config = parseConfig(raw, id);
  return estimateCost(config, buildModel(config), withOverrides(config.prices));
};
const ofStack = (stack: string, projectDir?: string): CostEstimate => {
  const config = readStackConfig({ stack, projectDir });
  return estimateCost(config, buildModel(config), PRICES);
};
const line = (e: CostEstimate, resource: string) => e.lines.find((l) => l.resource === resource);

/** An example stack's effective `djangostack:*` values (its overlay applied), to retarget it. */
function exampleRaw(example: Example, stack: string): Raw {
  return effectiveRaw(readStackFiles(exampleDir(example), stack));
}

describe("cost arithmetic on known configs", () => {
  it("a local Docker stack costs nothing at DigitalOcean", () => {
    assert.deepEqual([cost({}).minUsd, cost({}).maxUsd, cost({}).lines], [0, 0, []]);
  });

  it("a Kubernetes stack: HA control plane, both pools at min and max nodes, LB units, managed databases, volumes, a created registry", () => {
    const e = cost({
      target: "kubernetes",
      domain: "example.com",
      kubernetes: { ha: true, systemPool: { size: "s-2vcpu-4gb", count: 2 }, workloadPool: { size: "s-4vcpu-8gb", minNodes: 2, maxNodes: 6 }, loadBalancerSize: "lb-medium", registry: { create: true, tier: "basic" } },
      data: { postgres: { managedSize: "db-s-2vcpu-4gb", managedNodes: 2 }, redis: { managedSize: "db-s-1vcpu-2gb" } },
    });
    // 40 + 2 x 24 + 2..6 x 48 + 3 x 12 + 2 x 60 + 30 + 5 GiB x 0.10 + 5
    assert.equal(e.minUsd, 40 + 48 + 96 + 36 + 120 + 30 + 0.5 + 5);
    assert.equal(e.maxUsd, e.minUsd + 4 * 48);
    assert.deepEqual(line(e, "workload pool nodes")?.count, { min: 2, max: 6 });
    assert.equal(line(e, "load balancer nodes")?.minUsd, 36);
  });

  it("djangostack:prices overrides a price and prices a slug the table lacks", () => {
    const raw = (prices: Raw): Raw => ({ target: "droplet", droplet: { size: "s-8vcpu-16gb", sshKeys: ["k"], adminCidrs: ["203.0.113.0/24"] }, prices });
    assert.equal(cost(raw({})).minUsd, 96);
    const e = cost(raw({ droplets: { "s-8vcpu-16gb": { monthlyUsd: 100 } } }));
    assert.deepEqual([e.minUsd, e.lines[0].source], [100, "config"]);
  });

  it("names a slug without a price instead of guessing", () => {
    const e = cost({ target: "droplet", droplet: { size: "g-8vcpu-32gb", sshKeys: ["k"], adminCidrs: ["203.0.113.0/24"] } });
    assert.deepEqual([e.minUsd, e.unpriced], [0, ["g-8vcpu-32gb"]]);
  });
});

describe("each example beside its seed's own figures", () => {
  it("seed 002 on its Droplet: $24, the seed's phase-2 figure; its ~$12 phase-1 Droplet (2 GB) cannot hold five services", () => {
    const e = ofStack("production", exampleDir("ticket-tracking"));
    assert.deepEqual([e.minUsd, e.maxUsd], [24, 24]);
    assert.deepEqual(e.lines.map((l) => `${l.resource} ${l.slug}`), ["Droplet s-2vcpu-4gb"]);
  });

  it("seed 002 on Kubernetes: $147.50 to $195.50 against the seed's ~$75, which counts neither the load balancer nor managed databases, and whose two nodes cannot hold its requests", () => {
    const raw = exampleRaw("ticket-tracking", "production");
    delete raw.droplet;
    const k8s = (maxNodes: number, managedSize: string): Raw => ({ ...raw, target: "kubernetes", domain: "example.com", edge: { tls: { mode: "letsencrypt" } }, data: { ...(raw.data as object), postgres: { managedSize } }, kubernetes: { systemPool: { size: "s-1vcpu-2gb", count: 1 }, workloadPool: { size: "s-2vcpu-4gb", minNodes: 2, maxNodes } } });
    // The seed's own shape (two s-2vcpu-4gb nodes, the smallest managed PostgreSQL) is refused by the
    // capacity check: its CPU requests at full scale need a third and fourth node, its connections a larger pool.
    assert.throws(() => cost(k8s(2, "db-s-1vcpu-2gb")), /kubernetes\.workloadPool\.maxNodes: got 2;[^]*data\.postgres\.managedSize: got "db-s-1vcpu-2gb"/);
    const e = cost(k8s(4, "db-s-2vcpu-4gb"));
    const by = Object.fromEntries(e.lines.map((l) => [l.resource, l.minUsd]));
    // The seed: DOKS "$12" + two worker nodes "~$50" = ~$75. Ours at minimum scale: the same nodes
    // ($12 + 2 x $24), plus the load balancer ($12), managed PostgreSQL ($60) and Valkey ($15), and
    // RabbitMQ's 5 GiB volume; at maximum scale two more workload nodes.
    assert.deepEqual(by, { "system pool nodes": 12, "workload pool nodes": 48, "load balancer nodes": 12, "managed PostgreSQL nodes": 60, "managed Valkey node": 15, "volumes (GiB)": 0.5 });
    assert.deepEqual([e.minUsd, e.maxUsd], [147.5, 195.5]);
  });

  it("seeds 000 and 004 name no price; ours: $0 on local Docker, $24 for admin2's Droplet", () => {
    assert.equal(ofStack("local", exampleDir("kore")).maxUsd, 0);
    assert.equal(ofStack("production", exampleDir("admin2")).maxUsd, 24);
  });

  it("seed 003 names no price; ours prices its pools and the load balancer", () => {
    const e = ofStack("production", exampleDir("ecommerce"));
    assert.ok(e.minUsd > 0 && e.maxUsd > e.minUsd, `${e.minUsd}..${e.maxUsd}`);
  });
});

describe("the estimate is a stack output and part of the plan", () => {
  it("exports estimatedMonthlyCostUsd and its breakdown", () => {
    const outputs = costOutputs(readStackConfig({ stack: "staging" }));
    assert.deepEqual(outputs.estimatedMonthlyCostUsd, { min: 24, max: 24 });
    assert.equal(outputs.estimatedMonthlyCostBreakdown[0].slug, "s-2vcpu-4gb");
  });

  it("plan.txt shows the cost lines, the total and the warnings", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "djs-plan-"));
    const summary = await renderStack({ stack: "production", projectDir: exampleDir("ticket-tracking"), outDir: out });
    const plan = fs.readFileSync(path.join(summary.dir, "plan.txt"), "utf8");
    assert.match(plan, /estimated monthly cost:\n {2}Droplet: 1 x s-2vcpu-4gb at \$24\/month = \$24\.00 \(do-2022-price-change\)\n {2}total: \$24\.00 per month/);
    assert.match(plan, /warnings:\n {2}! droplet\.size: Droplet memory: 4256 of 4096 MiB \(104%\)/);
    assert.ok(summary.warnings.length > 0);
    const outputs = JSON.parse(fs.readFileSync(path.join(summary.dir, "outputs.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(outputs.estimatedMonthlyCostUsd, { min: 24, max: 24 });
  });
});
