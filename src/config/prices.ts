/**
 * One table of the DigitalOcean sizes and monthly prices the program's capacity and cost arithmetic
 * read: Droplets (and DOKS nodes, billed as Droplets), managed PostgreSQL and Valkey, the load
 * balancer, registry tiers, volumes and Spaces. Prices are USD per month at list price, no taxes,
 * no bandwidth overage. `djangostack:prices` overrides any row or adds a slug the table lacks.
 *
 * Where each number comes from (`source` on every row):
 * - "do-2022-price-change": DigitalOcean's price change of 1 July 2022, transcribed with old and new
 *   monthly price per plan in https://gist.github.com/colinwilson/cd31bde012f6727b24b2fc4ebee749c0
 *   (Basic and Premium AMD Droplets). Found through the docs corpus; not DigitalOcean's own page.
 * - "seed-002": seed 002's own cost section (2024): "Managed PostgreSQL: $15/month", agreeing with
 *   https://gist.github.com/fakhrullah/26edc80e92ceaebdf412fd5bfb6d0f01 (1 vCPU, 1 GB, $15).
 * - "doks-size-units": src/model/managed.ts LB_SIZE_UNITS (1, 3, 6 nodes).
 * - "unverified": written from memory of https://www.digitalocean.com/pricing, not found in any
 *   source reachable here. Check and override with `djangostack:prices` before trusting them.
 */
import type { Checker } from "./checker";
import { isPlainObject } from "./checker";

/** The date the table was assembled (its sources are older: see `source`). */
export const PRICES_TAKEN = "2026-12-03";

export type PriceSource = "do-2022-price-change" | "seed-002" | "doks-size-units" | "unverified" | "config";

export interface SizeRow {
  vcpus: number;
  memoryMiB: number;
  monthlyUsd: number;
  source: PriceSource;
}

export interface PriceRow {
  monthlyUsd: number;
  source: PriceSource;
}

const GiB = 1024;
const row = (vcpus: number, memoryGiB: number, monthlyUsd: number, source: PriceSource): SizeRow => ({ vcpus, memoryMiB: memoryGiB * GiB, monthlyUsd, source });

/** Droplet plans; DOKS worker nodes cost what the Droplet of the same slug costs. */
const DROPLETS: Record<string, SizeRow> = (() => {
  const table: Record<string, SizeRow> = { "s-1vcpu-512mb-10gb": { vcpus: 1, memoryMiB: 512, monthlyUsd: 4, source: "do-2022-price-change" } };
  // [slug, vCPU, GiB, Basic, Premium AMD, Premium Intel]
  const plans: [string, number, number, number, number, number][] = [
    ["s-1vcpu-1gb", 1, 1, 6, 7, 8],
    ["s-1vcpu-2gb", 1, 2, 12, 14, 16],
    ["s-2vcpu-2gb", 2, 2, 18, 21, 24],
    ["s-2vcpu-4gb", 2, 4, 24, 28, 32],
    ["s-4vcpu-8gb", 4, 8, 48, 56, 64],
    ["s-8vcpu-16gb", 8, 16, 96, 112, 128],
  ];
  for (const [slug, vcpus, gib, basic, amd, intel] of plans) {
    table[slug] = row(vcpus, gib, basic, "do-2022-price-change");
    table[`${slug}-amd`] = row(vcpus, gib, amd, "do-2022-price-change");
    table[`${slug}-intel`] = row(vcpus, gib, intel, "unverified");
  }
  // General Purpose, CPU- and Memory-Optimized: the smallest plans, from memory.
  table["c-2"] = row(2, 4, 42, "unverified");
  table["c-4"] = row(4, 8, 84, "unverified");
  table["g-2vcpu-8gb"] = row(2, 8, 63, "unverified");
  table["g-4vcpu-16gb"] = row(4, 16, 126, "unverified");
  table["m-2vcpu-16gb"] = row(2, 16, 84, "unverified");
  return table;
})();

/** Managed PostgreSQL and Valkey plans (per node; standby nodes cost the same again). */
const DATABASES: Record<string, SizeRow> = {
  "db-s-1vcpu-1gb": row(1, 1, 15, "seed-002"),
  "db-s-1vcpu-2gb": row(1, 2, 30, "unverified"),
  "db-s-2vcpu-4gb": row(2, 4, 60, "unverified"),
  "db-s-4vcpu-8gb": row(4, 8, 120, "unverified"),
  "db-s-6vcpu-16gb": row(6, 16, 240, "unverified"),
  "db-s-8vcpu-32gb": row(8, 32, 480, "unverified"),
};

const LB_NODE: PriceRow = { monthlyUsd: 12, source: "unverified" };
const OTHER: Record<string, PriceRow> = {
  "lb-node": LB_NODE,
  "doks-ha-control-plane": { monthlyUsd: 40, source: "unverified" },
  "registry-starter": { monthlyUsd: 0, source: "unverified" },
  "registry-basic": { monthlyUsd: 5, source: "unverified" },
  "registry-professional": { monthlyUsd: 20, source: "unverified" },
  /** Per GiB of block storage (Volumes; DOKS PVCs are Volumes). */
  "volume-gib": { monthlyUsd: 0.1, source: "unverified" },
  /** The Spaces subscription (250 GiB storage, 1 TiB transfer included). */
  spaces: { monthlyUsd: 5, source: "unverified" },
};

export interface PriceTable {
  droplets: Record<string, SizeRow>;
  databases: Record<string, SizeRow>;
  other: Record<string, PriceRow>;
}

/** The built-in table; `withOverrides` layers `djangostack:prices` on a copy. */
export const PRICES: PriceTable = { droplets: DROPLETS, databases: DATABASES, other: OTHER };

/** What `djangostack:prices` may hold, per section: a slug -> its row (vcpus/memory for sizes). */
export interface PriceOverrides {
  droplets: Record<string, { vcpus: number; memoryMiB: number; monthlyUsd: number }>;
  databases: Record<string, { vcpus: number; memoryMiB: number; monthlyUsd: number }>;
  other: Record<string, { monthlyUsd: number }>;
}

export const NO_OVERRIDES: PriceOverrides = { droplets: {}, databases: {}, other: {} };

export function withOverrides(overrides: PriceOverrides): PriceTable {
  const sized = (base: Record<string, SizeRow>, extra: PriceOverrides["droplets"]) => ({
    ...base,
    ...Object.fromEntries(Object.entries(extra).map(([slug, r]) => [slug, { ...r, source: "config" as const }])),
  });
  return {
    droplets: sized(DROPLETS, overrides.droplets),
    databases: sized(DATABASES, overrides.databases),
    other: { ...OTHER, ...Object.fromEntries(Object.entries(overrides.other).map(([k, r]) => [k, { ...r, source: "config" as const }])) },
  };
}

/**
 * vCPUs and memory of a Droplet slug the table has no row for, read from the slug itself
 * (s-2vcpu-4gb, g-4vcpu-16gb-intel; c-N plans have 2 GiB per vCPU).
 */
export function sizeFromSlug(slug: string): { vcpus: number; memoryMiB: number } | undefined {
  const named = /^[a-z0-9_]+-(\d+)vcpu-(\d+)(mb|gb)/.exec(slug);
  if (named) return { vcpus: Number(named[1]), memoryMiB: Number(named[2]) * (named[3] === "gb" ? GiB : 1) };
  const cpu = /^c-(\d+)(-intel)?$/.exec(slug);
  return cpu ? { vcpus: Number(cpu[1]), memoryMiB: Number(cpu[1]) * 2 * GiB } : undefined;
}

/** The machine behind a slug: the table's row, else what the slug says (without a price). */
export function machine(table: PriceTable, section: "droplets" | "databases", slug: string): { vcpus: number; memoryMiB: number; monthlyUsd?: number; source?: PriceSource } | undefined {
  return table[section][slug] ?? sizeFromSlug(slug.replace(/^db-/, ""));
}

const SECTIONS = ["droplets", "databases", "other"] as const;

/** Parses `djangostack:prices`: { droplets: { slug: { vcpus, memory, monthlyUsd } }, databases: …, other: { key: { monthlyUsd } } }. */
export function parsePrices(c: Checker, value: unknown): PriceOverrides {
  const raw = c.object("prices", value, SECTIONS);
  const result: PriceOverrides = { droplets: {}, databases: {}, other: {} };
  for (const section of SECTIONS) {
    const entries = raw[section];
    if (entries === undefined || entries === null) continue;
    if (!isPlainObject(entries)) {
      c.fail(`prices.${section}`, entries, "expected an object of slug -> price row");
      continue;
    }
    for (const [slug, entry] of Object.entries(entries)) {
      const path = `prices.${section}.${slug}`;
      const sized = section !== "other";
      const r = c.object(path, entry, sized ? ["vcpus", "memoryMiB", "monthlyUsd"] : ["monthlyUsd"]);
      const monthlyUsd = c.number(`${path}.monthlyUsd`, r.monthlyUsd, Number.NaN, { min: 0, max: 1_000_000 });
      if (Number.isNaN(monthlyUsd)) c.fail(`${path}.monthlyUsd`, r.monthlyUsd, "required: the monthly list price in USD");
      if (section === "other") {
        result.other[slug] = { monthlyUsd };
        continue;
      }
      const known = machine(PRICES, section, slug);
      result[section][slug] = {
        vcpus: c.int(`${path}.vcpus`, r.vcpus, known?.vcpus ?? 0, { min: 1, max: 512 }),
        memoryMiB: c.int(`${path}.memoryMiB`, r.memoryMiB, known?.memoryMiB ?? 0, { min: 256, max: 4_194_304 }),
        monthlyUsd,
      };
      if (!known && (r.vcpus === undefined || r.memoryMiB === undefined)) c.fail(path, entry, "a slug the table does not know needs vcpus and memoryMiB");
    }
  }
  return result;
}
