/**
 * The outputs contract cannot drift: docs/outputs.md's table is what OUTPUTS_CONTRACT generates, and
 * the offline render of every stack (and every example stack file) exports exactly the keys the
 * contract lists for its target, with the contract's JSON types and secretness.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { evaluateStack } from "../../src/offline/render";
import { resolveOutputs } from "../../src/offline/engine";
import { OUTPUTS_CONTRACT, TARGETS, Target, requiredKeys } from "../../packages/outputs/src/index";
import { DOC_PATH, withTable } from "../../scripts/outputs-doc";
import { allExampleStacks } from "../helpers/examples";

const MASK = "[secret]";

function jsonType(v: unknown): string {
  return Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
}

/** Every problem of one stack's masked outputs against the contract. */
function contractProblems(label: string, outputs: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const target = outputs.target as Target;
  if (!(TARGETS as readonly string[]).includes(target)) return [`${label}: target ${String(target)}`];
  const entries = OUTPUTS_CONTRACT.filter((e) => e.targets.includes(target));
  const check = (key: string, value: unknown, entry: (typeof OUTPUTS_CONTRACT)[number] | undefined) => {
    if (!entry) return problems.push(`${label}: ${key} is exported but not in the contract for ${target}`);
    if (entry.secret) {
      if (value !== MASK) problems.push(`${label}: ${key} must be a secret output`);
    } else if (value === MASK) problems.push(`${label}: ${key} is secret; the contract says plain`);
    else if (jsonType(value) !== entry.json) problems.push(`${label}: ${key} is ${jsonType(value)}; the contract says ${entry.json}`);
    return 0;
  };
  for (const [key, value] of Object.entries(outputs)) check(key, value, entries.find((e) => e.key === key));
  for (const key of requiredKeys(target)) if (outputs[key] === undefined) problems.push(`${label}: lacks ${key}`);
  const apps = (outputs.apps ?? {}) as Record<string, Record<string, unknown>>;
  for (const [app, members] of Object.entries(apps)) {
    for (const [m, value] of Object.entries(members)) {
      if (value === undefined) continue;
      check(`apps.<app>.${m}`, value, entries.find((e) => e.key === `apps.<app>.${m}`));
    }
    for (const e of entries.filter((x) => x.key.startsWith("apps.<app>.") && x.required)) {
      if (members[e.key.slice("apps.<app>.".length)] === undefined) problems.push(`${label}: apps.${app} lacks ${e.key}`);
    }
  }
  return problems;
}

const stacks: { label: string; stack: string; projectDir?: string }[] = [
  ...["local", "staging", "production"].map((s) => ({ label: s, stack: s })),
  ...allExampleStacks().map(({ label, stack, projectDir }) => ({ label: `examples/${label}`, stack, projectDir })),
];

describe("outputs contract", () => {
  it("docs/outputs.md's table is the one OUTPUTS_CONTRACT generates (npm run docs:outputs)", () => {
    const page = fs.readFileSync(DOC_PATH, "utf8");
    assert.equal(page, withTable(page), "docs/outputs.md is stale: run npm run docs:outputs");
  });

  it("lists each key once, on at least one target", () => {
    const keys = OUTPUTS_CONTRACT.map((e) => e.key);
    assert.equal(new Set(keys).size, keys.length);
    for (const e of OUTPUTS_CONTRACT) assert.ok(e.targets.length > 0 && e.meaning.length > 0, e.key);
  });

  it("every stack's offline render exports exactly its target's keys, types and secrets", async () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const s of stacks) {
      const ev = await evaluateStack({ stack: s.stack, projectDir: s.projectDir });
      const outputs = (await resolveOutputs(ev.exports)) as Record<string, unknown>;
      seen.add(String(outputs.target));
      problems.push(...contractProblems(s.label, outputs));
    }
    assert.deepEqual(problems, []);
    assert.deepEqual([...seen].sort(), [...TARGETS], "every target is covered");
  });

  it("catches a stack that drifts from the contract", () => {
    const base = { outputsVersion: "v1", target: "kubernetes", url: "u", healthUrl: "h", images: {}, apps: { web: { redisDb: 0, routes: [], hosts: [], redisUrl: MASK } } };
    const k8s = { clusterName: "c", clusterId: "i", namespace: "n", kubeconfig: MASK, loadBalancerIp: "ip", databaseHosts: [] };
    assert.deepEqual(contractProblems("ok", { ...base, ...k8s }), []);
    assert.deepEqual(contractProblems("x", { ...base, ...k8s, kubeconfig: "apiVersion: v1", extra: 1 }), [
      "x: kubeconfig must be a secret output",
      "x: extra is exported but not in the contract for kubernetes",
    ]);
    assert.deepEqual(contractProblems("y", { ...base, target: "droplet" }), [
      "y: lacks dropletIp", "y: lacks reservedIp", "y: lacks sshCommand", "y: lacks registry", "y: lacks dns", "y: lacks tls", "y: lacks monitoring",
    ]);
  });
});
