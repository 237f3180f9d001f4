/**
 * The configuration reference cannot drift: docs/configuration.md is what `npm run docs` writes from
 * src/config/reference.ts, and the keys it describes are exactly the keys the parser accepts. The
 * accepted keys come from the parser itself: the top-level lists schema.ts checks every key against,
 * and the allowed-key list of every `Checker.object` call (the parser's unknown-key check), recorded
 * while it parses stack configs that reach every object it reads.
 */
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Checker, ConfigError, Raw } from "../../src/config/checker";
import { CONFIG_KEYS, SECRET_CONFIG_KEYS, parseConfig } from "../../src/config/schema";
import { OVERLAY_KEY } from "../../src/config/overlay";
import { REFERENCE, describedKeys } from "../../src/config/reference";
import { CONFIGURATION_PATH, configurationPage } from "../../scripts/docs";
import { droplet, id } from "./config-helpers";

/** Configs that make the parser read every object it knows, the conditional ones included. */
const PROBES: Raw[] = [
  {
    domain: "example.com",
    frontend: { build: { context: "./frontend" }, hosts: ["app.example.com"] },
    apps: [
      {
        name: "web",
        autoscale: { min: 1 },
        workers: [{ name: "default", autoscale: { min: 1, max: 2 } }],
        jobs: [{ schedule: "@daily", command: ["true"] }],
        edge: {
          paths: [
            { path: "/web/admin/", allow: ["203.0.113.0/24"] },
            { path: "/web/api/", cors: { origins: ["https://app.example.com"], methods: ["GET"], headers: ["Authorization"], exposeHeaders: ["X-Request-ID"], credentials: true, maxAge: 60 } },
          ],
          headers: { "Content-Security-Policy": "default-src 'self'" },
        },
      },
    ],
    edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", paths: ["/web/api/"] }] }, trustedProxies: { cidrs: ["173.245.48.0/20"] }, redirectHosts: ["www.example.com"] },
    prices: {
      droplets: { "<slug>": { vcpus: 1, memoryMiB: 1024, monthlyUsd: 6 } },
      databases: { "<slug>": { vcpus: 1, memoryMiB: 1024, monthlyUsd: 15 } },
      other: { "<key>": { monthlyUsd: 1 } },
    },
  },
  { target: "droplet", droplet: { ...droplet, egress: "droplet-ip" }, backups: { bucket: {} }, backupCredentials: { accessKey: "DO00EXAMPLEKEY", secretKey: "example-secret" } },
  { target: "kubernetes", domain: "example.com", apps: [{ name: "web", media: { bucket: { name: "acme-uploads", region: "ams3", create: false }, private: true, expiry: 600 }, static: { storage: "spaces" } }] },
  { target: "kubernetes", domain: "example.com", monitoring: { prometheusOperator: true, labels: { release: "kube-prometheus-stack" } }, apps: [{ metrics: { path: "/internal/metrics" } }] },
];

/** Every key path the parser accepts, list indices written `[]`. */
function acceptedKeys(): Set<string> {
  const accepted = new Set<string>([...CONFIG_KEYS, ...SECRET_CONFIG_KEYS, OVERLAY_KEY]);
  const spy = mock.method(Checker.prototype, "object");
  try {
    for (const probe of PROBES) {
      try {
        parseConfig(probe, id);
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        assert.fail(`probe ${JSON.stringify(probe)} is invalid:\n${error.problems.join("\n")}`);
      }
    }
    for (const call of spy.mock.calls) {
      const [path, , known] = call.arguments;
      for (const key of known) accepted.add(`${path.replace(/\[\d+\]/g, "[]")}.${key}`);
    }
  } finally {
    spy.mock.restore();
  }
  return accepted;
}

describe("configuration reference", () => {
  it("docs/configuration.md is what npm run docs writes", () => {
    assert.equal(fs.readFileSync(CONFIGURATION_PATH, "utf8"), configurationPage(), "docs/configuration.md is stale: run npm run docs");
  });

  it("describes every key the parser accepts, and only those", () => {
    const accepted = acceptedKeys();
    const described = describedKeys();
    assert.deepEqual(described.filter((k) => !accepted.has(k)), [], "described in src/config/reference.ts but refused by the parser");
    assert.deepEqual([...accepted].filter((k) => !described.includes(k)).sort(), [], "accepted by the parser but not described in src/config/reference.ts");
  });

  it("describes each key once, with a meaning", () => {
    const keys = REFERENCE.flatMap((s) => s.keys);
    assert.equal(new Set(keys.map((k) => k.key)).size, keys.length);
    for (const k of keys) assert.ok(k.meaning.length > 0 && k.type.length > 0, k.key);
  });
});
