/**
 * Capacity as part of config validation: a stack that cannot fit its machines fails before any
 * resource exists, with the numbers and the fix (the arithmetic is src/model/capacity.ts).
 */
import type { Checker } from "./checker";
import type { StackConfig } from "./types";
import { buildModel } from "../model/build";
import { CapacityCheck, capacityChecks, formatCheck } from "../model/capacity";
import { withOverrides } from "./prices";

/** Every capacity check of a valid config (the offline render prints the warnings among them). */
export function capacityReport(config: StackConfig): CapacityCheck[] {
  return capacityChecks(config, buildModel(config), withOverrides(config.prices));
}

/** Fails the config on each check that does not fit. Runs only once the rest of the config is valid: the model needs it whole. */
export function checkCapacity(c: Checker, config: StackConfig): void {
  if (c.problems.length > 0) return;
  for (const check of capacityReport(config).filter((x) => x.verdict === "fail")) c.fail(check.key, valueAt(config, check.key), formatCheck(check));
}

/** The configured value behind a check's key, for the message (e.g. droplet.size -> "s-2vcpu-4gb"). */
function valueAt(config: StackConfig, key: string): unknown {
  // Config keys name quantities without their unit; the typed config carries it.
  const path = key.replace(/\.maxMemory$/, ".maxMemoryMiB").split(".");
  let value: unknown = config;
  for (const part of path) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

/** The render's and `pulumi up`'s warning for a Droplet stack whose alerts would reach nobody. */
export const NO_ALERT_DESTINATION =
  "droplet.alertEmails: no alert destination is configured, so no alert is created: nobody hears when the apps' health URLs go down or slow, " +
  "a container turns unhealthy or crash-loops (a failed backup run included), or CPU, memory, disk or load run high. Add an address to droplet.alertEmails";

/** Defaults of the data volumes: a differing value was set by the user. */
const VOLUME_DEFAULTS = { postgres: 10, redis: 2, rabbitmq: 5 } as const;

/**
 * What the stack should hear before `up` without failing it: capacity near misses, settings the
 * target cannot honour (so they would otherwise be silently dropped), missing alert destinations.
 */
export function stackWarnings(config: StackConfig): string[] {
  const warnings = capacityReport(config)
    .filter((x) => x.verdict === "warn")
    .map((x) => `${x.key}: ${formatCheck(x)}`);
  config.apps.forEach((app, i) => {
    if (app.autoscale && config.target !== "kubernetes") {
      warnings.push(`apps[${i}].autoscale: target "${config.target}" runs a fixed ${app.replicas} web container(s); autoscale is ignored there (only target "kubernetes" has a HorizontalPodAutoscaler)`);
    }
  });
  if (config.target !== "kubernetes") {
    for (const service of ["postgres", "redis", "rabbitmq"] as const) {
      const size = config.data[service].volumeSizeGiB;
      if (size !== VOLUME_DEFAULTS[service]) warnings.push(`data.${service}.volumeSize: ${size} GiB is ignored on target "${config.target}": a Docker volume has no size and grows on the host's disk`);
    }
  }
  if (config.droplet && config.droplet.alertEmails.length === 0) warnings.push(NO_ALERT_DESTINATION);
  return warnings;
}
