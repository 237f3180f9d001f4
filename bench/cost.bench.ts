/**
 * Item 4, cost: each stack's and example's estimated monthly cost at its minimum and maximum scale,
 * priced by the guardrails' table (src/model/cost.ts, the figure plan.txt and the stack outputs
 * show), beside the seed's own estimate where the seed gives one. Pure arithmetic: no timing.
 */
import { withOverrides } from "../src/config/prices";
import { buildModel } from "../src/model/build";
import { estimateCost } from "../src/model/cost";
import { readStackConfig } from "../src/offline/render";
import { allExampleStacks } from "../tests/helpers/examples";
import { Row } from "./measure";

/** A seed's own figure for the environment one of its example stacks deploys. */
interface SeedEstimate {
  usd: number;
  what: string;
}

/**
 * The figures the seeds state (seed 002, "Cost Estimates"): phase 2 is one 4 GB Droplet, phase 4
 * Kubernetes with two worker nodes. The other seeds give none. Keyed by a fragment of the example's
 * path and the stack's target.
 */
const SEED_ESTIMATES: { match: string; target: string; estimate: SeedEstimate }[] = [
  { match: "ticket-tracking", target: "droplet", estimate: { usd: 24, what: "seed 002 phase 2: one 4 GB Droplet, ~$24" } },
  { match: "ticket-tracking", target: "kubernetes", estimate: { usd: 75, what: "seed 002 phase 4: DOKS + 2 nodes, ~$75" } },
];

interface PricedStack {
  label: string;
  projectDir?: string;
  stack: string;
}

/** The repository's stacks, then every stack of every example folder. */
function pricedStacks(): PricedStack[] {
  return [...["local", "staging", "production"].map((stack) => ({ label: stack, stack })), ...allExampleStacks().map((s) => ({ ...s, label: `examples/${s.label}` }))];
}

const usd = (n: number): string => `$${n.toFixed(2)}`;

export function costBench(): Row[] {
  const rows: Row[] = [];
  for (const s of pricedStacks()) {
    const config = readStackConfig({ stack: s.stack, projectDir: s.projectDir });
    const cost = estimateCost(config, buildModel(config), withOverrides(config.prices));
    const seed = SEED_ESTIMATES.find((e) => s.label.includes(e.match) && e.target === config.target)?.estimate;
    const range = cost.minUsd === cost.maxUsd ? usd(cost.minUsd) : `${usd(cost.minUsd)} .. ${usd(cost.maxUsd)}`;
    rows.push({
      section: "4 cost",
      case: `${s.label} (${config.target}) per month`,
      value: range,
      baseline: seed ? seed.what : "",
      ratio: seed ? cost.minUsd / seed.usd : undefined,
      note: [cost.unpriced.length > 0 ? `unpriced: ${cost.unpriced.join(", ")}` : "", `prices taken ${cost.pricesTaken}`].filter(Boolean).join("; "),
    });
  }
  return rows;
}
