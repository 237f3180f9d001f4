/**
 * Container inputs in the form kreuzwerker's Read stores them (v4.5.0
 * resource_docker_container_funcs.go), so the next `up` sees no diff. See docs/docker-engine.md.
 */

/** Go's time.Duration.String for whole seconds ("60s" is read back as "1m0s"). */
export function dockerDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`djangostack: a Docker duration must be whole seconds, got ${seconds}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** The CFS period Docker uses by default (`--cpu-period`), in microseconds. */
export const CPU_PERIOD_MICROS = 100_000;

/**
 * A CPU limit as a CFS quota: exact for every millicore value. `cpus` is read back through
 * nanoInt64ToDecimalString, which turns "1" into "1.0" and rounds 0.05 to "0.1"; Read never touches
 * cpu_period and cpu_quota. The config's 10m floor keeps the quota at Docker's 1 ms minimum or above.
 */
export function cpuLimit(millis: number): { cpuPeriod: number; cpuQuota: number } {
  return { cpuPeriod: CPU_PERIOD_MICROS, cpuQuota: (millis * CPU_PERIOD_MICROS) / 1000 };
}

/**
 * Inputs the provider neither replaces on nor applies in `Update` (it updates only restart, memory,
 * cpu_shares and the other `attrs` it lists): a change must replace the container.
 */
export const REPLACE_ON_CHANGES = ["healthcheck", "cpuPeriod", "cpuQuota"];
