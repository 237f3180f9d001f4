/**
 * CIDR parsing with address arithmetic (bigint), shared by config validation and the policy pack.
 * Dependency-free on purpose (the Checker import is a type): policy/rules.ts imports it as `../src/config/cidr`.
 *
 * The admin rule (who may reach SSH) is decided on the parsed ranges, never on their spelling, so a
 * whole-internet range cannot pass in disguise: `1.2.3.4/0`, `0:0:0:0:0:0:0:0/0`, `0000::/0`, or
 * `0.0.0.0/1` + `128.0.0.0/1` are all the same 0.0.0.0/0 to a firewall.
 */

import type { Checker } from "./checker";

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** First address of the range (host bits cleared). */
  network: bigint;
  prefix: number;
}

export type ParsedCidr = { ok: true; cidr: Cidr; hostBitsSet: boolean } | { ok: false; reason: string };

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

type Parsed = { value: bigint } | { error: string };

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function parseIPv4(text: string): Parsed {
  const parts = text.split(".");
  if (parts.length !== 4) return { error: `an IPv4 address has four dot-separated numbers, "${text}" has ${parts.length}` };
  let value = 0n;
  for (const part of parts) {
    // A leading zero reads as octal to inet_aton (010 = 8): refused, as Go and Python's ipaddress do.
    if (!DECIMAL.test(part)) return { error: part === "" ? "an IPv4 address has an empty number" : `"${part}" is not a decimal number from 0 to 255 without leading zeros` };
    const n = Number(part);
    if (n > 255) return { error: `${part} is above 255` };
    value = (value << 8n) | BigInt(n);
  }
  return { value };
}

function parseGroups(text: string): bigint[] | string {
  if (text === "") return [];
  const groups: bigint[] = [];
  for (const g of text.split(":")) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return g === "" ? "an IPv6 address has an empty group (a single ':' where '::' or a number belongs)" : `"${g}" is not an IPv6 group of 1-4 hex digits`;
    groups.push(BigInt(`0x${g}`));
  }
  return groups;
}

function parseIPv6(input: string): Parsed {
  let text = input.toLowerCase();
  if (text.includes("%")) return { error: "zone indexes (%eth0) have no meaning in a firewall" };
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    // Embedded IPv4 (::ffff:192.0.2.1) fills the last two groups.
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if ("error" in v4) return v4;
    tail = [v4.value >> 16n, v4.value & 0xffffn];
    // Keep a "::" right before the IPv4 part ("::1.2.3.4"); otherwise drop the separating ':'.
    text = text[lastColon - 1] === ":" ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const halves = text.split("::");
  if (halves.length > 2) return { error: "'::' may appear only once" };
  const left = parseGroups(halves[0]);
  if (typeof left === "string") return { error: left };
  const right = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (typeof right === "string") return { error: right };
  const given = left.length + right.length + tail.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (given > 7) return { error: "'::' stands for at least one zero group, but 8 groups are already written" };
    groups = [...left, ...Array<bigint>(8 - given).fill(0n), ...right, ...tail];
  } else {
    if (given !== 8) return { error: `an IPv6 address has 8 groups (or '::'), "${input}" has ${given}` };
    groups = [...left, ...tail];
  }
  return { value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) };
}

/** Parses "address/prefix" (a bare address is one host). Never throws. */
export function parseCidr(text: string): ParsedCidr {
  if (typeof text !== "string" || text === "") return { ok: false, reason: "empty" };
  if (/\s/.test(text)) return { ok: false, reason: "contains whitespace" };
  const slash = text.split("/");
  if (slash.length > 2) return { ok: false, reason: "more than one '/'" };
  const family: Family = slash[0].includes(":") ? 6 : 4;
  const address = family === 4 ? parseIPv4(slash[0]) : parseIPv6(slash[0]);
  if ("error" in address) return { ok: false, reason: address.error };
  const bits = BITS[family];
  let prefix = bits;
  if (slash.length === 2) {
    if (!DECIMAL.test(slash[1])) return { ok: false, reason: `prefix length "${slash[1]}" is not a number from 0 to ${bits} without leading zeros` };
    prefix = Number(slash[1]);
    if (prefix > bits) return { ok: false, reason: `prefix length /${prefix} is above /${bits} for IPv${family}` };
  }
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return { ok: true, cidr: { family, network: address.value & ~hostMask, prefix }, hostBitsSet: (address.value & hostMask) !== 0n };
}

function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
  const groups = [...Array(8).keys()].map((i) => (value >> BigInt(16 * (7 - i))) & 0xffffn);
  // RFC 5952: compress the longest run of two or more zero groups (the first one on a tie).
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

/** Canonical text: dotted IPv4 or RFC 5952 IPv6, always with the prefix. */
export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.network)}/${cidr.prefix}`;
}

export function sizeOf(cidr: Cidr): bigint {
  return 1n << BigInt(BITS[cidr.family] - cidr.prefix);
}

/** Number of distinct addresses the ranges of one family cover together. */
export function unionSize(cidrs: readonly Cidr[], family: Family): bigint {
  const ranges = cidrs
    .filter((c) => c.family === family)
    .map((c) => [c.network, c.network + sizeOf(c)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n;
  let end = -1n;
  for (const [start, stop] of ranges) {
    if (start >= end) {
      total += stop - start;
      end = stop;
    } else if (stop > end) {
      total += stop - end;
      end = stop;
    }
  }
  return total;
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && inner.network - outer.network < sizeOf(outer) && inner.network >= outer.network;
}

const overlaps = (a: Cidr, b: Cidr): boolean => contains(a, b) || contains(b, a);

/**
 * The widest range an admin list may hold, per family: an IPv4 /8 is the largest block ever assigned
 * to one organisation (the legacy class A networks); an IPv6 /32 is the standard minimum allocation
 * to a whole ISP (RIPE-738). Anything wider is not "my office, VPN or CI runners".
 */
export const ADMIN_PREFIX_FLOOR: Record<Family, number> = { 4: 8, 6: 32 };

const must = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`cidr: bad built-in range ${text}`);
  return parsed.cidr;
};

/** Ranges no SSH client connects from: "this network", loopback, multicast, reserved, IPv4-compatible and -mapped IPv6. */
const NOT_A_SOURCE: { range: Cidr; what: string }[] = [
  { range: must("0.0.0.0/8"), what: '0.0.0.0/8 ("this network")' },
  { range: must("127.0.0.0/8"), what: "127.0.0.0/8 (loopback)" },
  { range: must("224.0.0.0/4"), what: "224.0.0.0/4 (multicast)" },
  { range: must("240.0.0.0/4"), what: "240.0.0.0/4 (reserved and broadcast)" },
  { range: must("::/96"), what: "::/96 (unspecified, loopback and deprecated IPv4-compatible)" },
  { range: must("::ffff:0:0/96"), what: "::ffff:0:0/96 (IPv4-mapped; write the IPv4 range itself)" },
  { range: must("ff00::/8"), what: "ff00::/8 (multicast)" },
];

export const ADMIN_CIDR_HINT = "a network such as 203.0.113.7/32 or 2001:db8:1234::/48 (IPv4 /8 or narrower, IPv6 /32 or narrower)";

export interface CidrProblem {
  /** Index of the offending entry; undefined when the list as a whole is at fault. */
  index?: number;
  value: string;
  problem: string;
}

function describe(n: bigint): string {
  return n.toLocaleString("en-US");
}

/**
 * Judges a list of ranges that may reach an admin port (SSH): every entry parses, has no host bits
 * set, is no wider than ADMIN_PREFIX_FLOOR and is a real source range; and the entries together
 * cover no more addresses than one range at the floor would. Returns canonical forms of the entries.
 */
export function judgeAdminCidrs(values: readonly string[]): { normalised: string[]; problems: CidrProblem[] } {
  const problems: CidrProblem[] = [];
  const normalised: string[] = [];
  // Every range a firewall would open, too-wide ones included, for the union check.
  const covered: Cidr[] = [];
  values.forEach((value, index) => {
    const parsed = parseCidr(value);
    if (!parsed.ok) {
      problems.push({ index, value, problem: `not a valid CIDR (${parsed.reason}); expected ${ADMIN_CIDR_HINT}` });
      return;
    }
    const { cidr } = parsed;
    const text = formatCidr(cidr);
    const floor = ADMIN_PREFIX_FLOOR[cidr.family];
    // Width first: "1.2.3.4/0" is the whole internet whatever its host bits say.
    if (cidr.prefix < floor) {
      const whole = cidr.prefix === 0 ? ` (the whole IPv${cidr.family} internet, ${text})` : "";
      problems.push({ index, value, problem: `opening SSH to ${describe(sizeOf(cidr))} addresses${whole} is refused; admin ranges must be IPv${cidr.family} /${floor} or narrower` });
      covered.push(cidr);
      return;
    }
    if (parsed.hostBitsSet) {
      // Refused rather than normalised: "203.0.113.7/24" usually means the one host, and widening it silently opens 255 more.
      const host = parseCidr(value.split("/")[0]);
      const hostText = host.ok ? formatCidr(host.cidr) : value;
      problems.push({ index, value, problem: `host bits are set, so this is not a network: write ${text} for the whole network or ${hostText} for the one host` });
      return;
    }
    const special = NOT_A_SOURCE.find((s) => overlaps(s.range, cidr));
    if (special) {
      problems.push({ index, value, problem: `lies in ${special.what}, which no SSH client connects from; expected ${ADMIN_CIDR_HINT}` });
      return;
    }
    covered.push(cidr);
    normalised.push(text);
  });
  for (const family of [4, 6] as const) {
    const total = unionSize(covered, family);
    const cap = 1n << BigInt(BITS[family] - ADMIN_PREFIX_FLOOR[family]);
    // Only when the combination is the problem: one too-wide entry was reported on its own already.
    const widest = covered.filter((c) => c.family === family).reduce((max, c) => (sizeOf(c) > max ? sizeOf(c) : max), 0n);
    if (total > cap && total > widest) {
      const all = total === 1n << BigInt(BITS[family]);
      const list = covered.filter((c) => c.family === family).map(formatCidr).join(", ");
      problems.push({
        value: list,
        problem: all
          ? `together these IPv${family} ranges cover the whole IPv${family} internet; list your admin networks`
          : `together these IPv${family} ranges cover ${describe(total)} addresses, more than one /${ADMIN_PREFIX_FLOOR[family]}; list your admin networks`,
      });
    }
  }
  return { normalised, problems };
}

/** `droplet.adminCidrs`: required, each entry and the list judged by judgeAdminCidrs; returns canonical forms. */
export function parseAdminCidrs(c: Checker, path: string, value: unknown): string[] {
  const entries = c.stringList(path, value, [], /^/, "CIDR blocks such as 203.0.113.7/32");
  if (entries.length === 0) c.fail(path, value, "at least one admin CIDR is required; SSH is never opened to 0.0.0.0/0 by default");
  const { normalised, problems } = judgeAdminCidrs(entries);
  for (const p of problems) c.fail(p.index === undefined ? path : `${path}[${p.index}]`, p.value, p.problem);
  return normalised;
}
