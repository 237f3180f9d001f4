import { Checker, Raw } from "./checker";
import { Resources } from "./types";

const CPU_PATTERN = /^(\d+(?:\.\d+)?)(m?)$/;
const MEMORY_PATTERN = /^(\d+)(Mi|Gi)$/;

/** "500m", "1.5", 2 -> millicores. */
export function parseCpu(checker: Checker, path: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const text = typeof value === "number" ? String(value) : value;
  const match = typeof text === "string" ? CPU_PATTERN.exec(text) : null;
  const millis = match ? (match[2] === "m" ? Number(match[1]) : Number(match[1]) * 1000) : NaN;
  if (!match || !Number.isInteger(millis) || millis < 10 || millis > 64000) {
    checker.fail(path, value, 'expected CPU as millicores ("250m") or cores ("1.5"), from 10m to 64');
    return fallback;
  }
  return millis;
}

/** "512Mi", "2Gi" -> MiB. */
export function parseMemory(checker: Checker, path: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const match = typeof value === "string" ? MEMORY_PATTERN.exec(value) : null;
  const mib = match ? Number(match[1]) * (match[2] === "Gi" ? 1024 : 1) : NaN;
  if (!match || mib < 16 || mib > 262144) {
    checker.fail(path, value, 'expected memory as "<n>Mi" or "<n>Gi", from 16Mi to 256Gi');
    return fallback;
  }
  return mib;
}

export function parseResources(checker: Checker, path: string, value: unknown, fallback: Resources): Resources {
  const raw: Raw = checker.object(path, value, ["cpu", "memory"]);
  return {
    cpuMillis: parseCpu(checker, `${path}.cpu`, raw.cpu, fallback.cpuMillis),
    memoryMiB: parseMemory(checker, `${path}.memory`, raw.memory, fallback.memoryMiB),
  };
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

export function formatMemory(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
