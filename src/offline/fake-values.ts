import { createHash } from "node:crypto";

/** Stable stand-in values: the same seed always yields the same fake, so renders diff cleanly. */
export function fakeHex(seed: string, length = 64): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

export function fakeDigest(seed: string): string {
  return `sha256:${fakeHex(seed)}`;
}

/** A string input as the program passed it, or `fallback` when absent or empty. */
export function inputString(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}
