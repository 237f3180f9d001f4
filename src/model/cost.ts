/**
 * What a stack costs per month at DigitalOcean list prices, at its minimum and its maximum scale (the
 * workload pool's minNodes and maxNodes; every other resource has one size). Pure: priced from the
 * config, the workload model and the slug/price table, so `pulumi preview`, the stack outputs and the
 * offline render's plan.txt show the same figure. Bandwidth overage and taxes are not included.
 */
import { StackConfig } from "../config/types";
import { PRICES_TAKEN, PriceSource, PriceTable, machine } from "../config/prices";
import { WorkloadModel } from "./types";
import type { CostLineV1 } from "../../packages/outputs/src/index";
import { LB_SIZE_UNITS } from "./managed";

/** One billed resource: the stack output's row (packages/outputs), its source typed. */
export interface CostLine extends CostLineV1 {
  source: PriceSource;
}

export interface CostEstimate {
  minUsd: number;
  maxUsd: number;
  lines: CostLine[];
  /** Slugs the table has no price for: counted as $0 until `djangostack:prices` gives one. */
  unpriced: string[];
  pricesTaken: string;
}

const cents = (usd: number): number => Math.round(usd * 100) / 100;

export function estimateCost(config: StackConfig, model: WorkloadModel, table: PriceTable): CostEstimate {
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const add = (resource: string, slug: string, price: { monthlyUsd?: number; source?: PriceSource } | undefined, min: number, max = min) => {
    if (min === 0 && max === 0) return;
    if (price?.monthlyUsd === undefined) unpriced.push(slug);
    const unitUsd = price?.monthlyUsd ?? 0;
    lines.push({ resource, slug, count: { min, max }, unitUsd, minUsd: cents(unitUsd * min), maxUsd: cents(unitUsd * max), source: price?.source ?? "unverified" });
  };
  const droplet = (slug: string) => machine(table, "droplets", slug);
  const registry = config.droplet?.registry ?? config.kubernetes?.registry;
  // Managed clusters: Kubernetes' default, a Droplet's on request (never on docker).
  const managedClusters = () => {
    const pg = config.data.postgres;
    if (pg.mode === "managed" && config.apps.some((a) => a.database)) add("managed PostgreSQL nodes", pg.managedSize, machine(table, "databases", pg.managedSize), pg.managedNodes);
    if (config.data.redis.mode === "managed") add("managed Valkey node", config.data.redis.managedSize, machine(table, "databases", config.data.redis.managedSize), 1);
  };
  if (config.target === "droplet" && config.droplet) {
    add("Droplet", config.droplet.size, droplet(config.droplet.size), 1);
    managedClusters();
  }
  const kc = config.kubernetes;
  if (config.target === "kubernetes" && kc) {
    add("DOKS HA control plane", "doks-ha-control-plane", table.other["doks-ha-control-plane"], kc.ha ? 1 : 0);
    add("system pool nodes", kc.systemPool.size, droplet(kc.systemPool.size), kc.systemPool.count);
    add("workload pool nodes", kc.workloadPool.size, droplet(kc.workloadPool.size), kc.workloadPool.minNodes, kc.workloadPool.maxNodes);
    add("load balancer nodes", kc.loadBalancerSize, table.other["lb-node"], LB_SIZE_UNITS[kc.loadBalancerSize]);
    managedClusters();
    // In-cluster data services keep their data on DigitalOcean Volumes (their PVCs); a Droplet keeps it on its own disk.
    const gib = model.volumes.filter((v) => v.kind === "data").reduce((s, v) => s + v.sizeGiB, 0);
    add("volumes (GiB)", "volume-gib", table.other["volume-gib"], gib);
  }
  // An existing registry is billed to the account whatever uses it; only one the stack creates is its cost.
  if (registry?.create) add("container registry", `registry-${registry.tier}`, table.other[`registry-${registry.tier}`], 1);
  return {
    minUsd: cents(lines.reduce((s, l) => s + l.minUsd, 0)),
    maxUsd: cents(lines.reduce((s, l) => s + l.maxUsd, 0)),
    lines,
    unpriced,
    pricesTaken: PRICES_TAKEN,
  };
}

/** plan.txt's cost section: one line per billed resource, then the totals. */
export function formatCost(estimate: CostEstimate): string[] {
  const range = (min: number, max: number) => (min === max ? `$${min.toFixed(2)}` : `$${min.toFixed(2)} .. $${max.toFixed(2)}`);
  const lines = estimate.lines.map((l) => {
    const count = l.count.min === l.count.max ? `${l.count.min}` : `${l.count.min}..${l.count.max}`;
    return `  ${l.resource}: ${count} x ${l.slug} at $${l.unitUsd}/month = ${range(l.minUsd, l.maxUsd)} (${l.source})`;
  });
  const total = `  total: ${range(estimate.minUsd, estimate.maxUsd)} per month (list prices of the table taken ${estimate.pricesTaken}; no bandwidth overage, no taxes)`;
  const unpriced = estimate.unpriced.length > 0 ? [`  no price for ${estimate.unpriced.join(", ")}: counted as $0; set djangostack:prices`] : [];
  return [...(lines.length > 0 ? lines : ["  nothing billed by DigitalOcean: the stack runs on your Docker engine"]), ...unpriced, total];
}
