/**
 * What kreuzwerker/terraform-provider-docker v4.5.0 (bundled by pulumi-docker v5.1.0+) stores for a
 * container after create: `resourceDockerContainerRead` overwrites some inputs with the engine's
 * own form. An input that differs from its read-back form shows a diff on every later `up`: a
 * replacement for a ForceNew field, a silent no-op update for a field `Update` ignores. Ported
 * from internal/provider/resource_docker_container_funcs.go and helpers.go; the Go duration code
 * follows time.ParseDuration / Duration.String.
 */

/** Go's time.ParseDuration for the units a healthcheck uses; returns nanoseconds. */
export function goParseDuration(text: string): bigint {
  const units: Record<string, bigint> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
  if (text === "0") return 0n;
  const parts = [...text.matchAll(/(\d+)(ns|us|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) throw new Error(`time: invalid duration "${text}"`);
  return parts.reduce((sum, [, n, unit]) => sum + BigInt(n) * units[unit], 0n);
}

/** Go's time.Duration.String for non-negative whole milliseconds and up (what Docker hands back). */
export function goDurationString(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  if (nanos < 1_000_000_000n) return `${Number(nanos) / 1e6}ms`;
  const totalSeconds = nanos / 1_000_000_000n;
  const fraction = nanos % 1_000_000_000n;
  const h = totalSeconds / 3600n;
  const m = (totalSeconds % 3600n) / 60n;
  const s = totalSeconds % 60n;
  const sec = fraction === 0n ? `${s}` : `${s}.${fraction.toString().padStart(9, "0").replace(/0+$/, "")}`;
  if (h > 0n) return `${h}h${m}m${sec}s`;
  if (m > 0n) return `${m}m${sec}s`;
  return `${sec}s`;
}

/** docker/cli opts.ParseCPUs: a decimal number of CPUs to NanoCPUs; rejects what is not a whole nano. */
export function parseCpus(value: string): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) throw new Error(`failed to parse ${value} as a rational number`);
  const frac = (match[2] ?? "").padEnd(9, "0");
  if (frac.length > 9 && /[1-9]/.test(frac.slice(9))) throw new Error("value is too precise");
  return BigInt(match[1]) * 1_000_000_000n + BigInt(frac.slice(0, 9));
}

/** helpers.go nanoInt64ToDecimalString, quirks included ("1" -> "1.0", 0.05 -> "0.1", 10 -> "10."). */
export function nanoInt64ToDecimalString(nanos: bigint): string {
  if (nanos === 0n) return "0";
  const str = `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, "0")}`;
  if ((str.match(/0/g) ?? []).length === 9) {
    // big.Rat.FloatString(1): rounded half away from zero to one decimal.
    const tenths = (nanos + 50_000_000n) / 100_000_000n;
    return `${tenths / 10n}.${tenths % 10n}`;
  }
  return str.replace(/0+$/, "");
}

export interface ContainerHealthcheck {
  tests?: string[];
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: number;
}

/** The fields Read overwrites with the engine's form, for the inputs the program sets. */
export function readBack(inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof inputs.cpus === "string") {
    const nanos = parseCpus(inputs.cpus);
    if (nanos > 0n) out.cpus = nanoInt64ToDecimalString(nanos);
  }
  const hc = inputs.healthcheck as ContainerHealthcheck | undefined;
  if (hc) {
    const duration = (v: string | undefined) => goDurationString(goParseDuration(v ?? "0s"));
    out.healthcheck = { tests: hc.tests, interval: duration(hc.interval), timeout: duration(hc.timeout), startPeriod: duration(hc.startPeriod), startInterval: duration(hc.startInterval), retries: hc.retries ?? 0 };
  }
  return out;
}

/**
 * Container inputs the provider neither replaces on (ForceNew) nor applies in `Update` (which only
 * touches restart, memory, cpu_shares and the other resources in its `attrs` list): a change is saved
 * to state and never reaches the container unless the program asks for a replacement.
 */
export const UPDATE_IGNORES = ["healthcheck", "cpuPeriod", "cpuQuota"];
