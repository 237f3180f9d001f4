import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Checker, Raw } from "../../src/config/checker";
import { NAMESPACE, parseConfig } from "../../src/config/schema";
import { checkDerivedNames } from "../../src/config/names";
import * as names from "../../src/model/names";

import { id, problems } from "./config-helpers";

const routed = (name: string, extra: Raw = {}): Raw => ({ name, routes: [`/${name}/`], ...extra });

// [title, stack config, key the message must start with, what it must say]
const bad: [string, Raw, string, string][] = [
  ["an app named frontend next to a frontend (one image key)", { frontend: { image: "nginx:1.27", route: "/app/" }, apps: [routed("frontend")] }, "djangostack:apps[0].name", 'image "frontend", which frontend (the frontend) derives it too'],
  ["an app named like another app's pool", { apps: [routed("a", { workers: [{ name: "web" }] }), routed("a-worker", { beat: false })] }, "djangostack:apps[1].name", '"a-worker-web"'],
  ["a pool named like another app's beat", { apps: [routed("x-worker"), routed("x", { workers: [{ name: "beat" }], beat: false })] }, "djangostack:apps[1].workers[0].name", '"x-worker-beat"'],
  ["a pool named like another app's migration", { apps: [routed("x-worker"), routed("x", { workers: [{ name: "migrate" }], beat: false })] }, "djangostack:apps[1].workers[0].name", '"x-worker-migrate"'],
  ["a pool whose name ends like another app's web", { apps: [routed("x", { workers: [{ name: "y-web" }], beat: false }), routed("x-worker-y", { workers: [], beat: false })] }, "djangostack:apps[1].name", '"x-worker-y-web"'],
  ["an app whose web ConfigMap is another app's env ConfigMap", { target: "kubernetes", domain: "example.com", apps: [routed("x", { workers: [], beat: false }), routed("x-web", { workers: [], beat: false })] }, "djangostack:apps[1].name", 'Kubernetes ConfigMap "x-web-env"'],
  ["an app named redis (its env ConfigMap is Redis's)", { apps: [routed("redis")] }, "djangostack:apps[0].name", `ConfigMap "redis-env", which djangostack uses itself`],
  ["an app named postgres", { apps: [routed("postgres")] }, "djangostack:apps[0].name", '"postgres-env"'],
  ["an app named rabbitmq", { apps: [routed("rabbitmq")] }, "djangostack:apps[0].name", '"rabbitmq-env"'],
  ["an app named nginx", { apps: [routed("nginx")] }, "djangostack:apps[0].name", '"nginx-env"'],
  ["an app named postgres-grants (the managed grants ConfigMap)", { apps: [routed("postgres-grants")] }, "djangostack:apps[0].name", '"postgres-grants-env"'],
  ["an app named postgres-init", { apps: [routed("postgres-init")] }, "djangostack:apps[0].name", '"postgres-init-env"'],
  ["an app named pg (role pg_user is reserved)", { apps: [routed("pg")] }, "djangostack:apps[0].name", 'reserves role names starting with "pg_"'],
  ["an app named pg-admin (role pg_admin_user)", { apps: [routed("pg-admin")] }, "djangostack:apps[0].name", '"pg_admin_user"'],
  ["a second app named pg-stats", { apps: [routed("web"), routed("pg-stats")] }, "djangostack:apps[1].name", 'starting with "pg_"'],
  ["a pool named like another app's web, beat off", { apps: [routed("api-worker", { beat: false, workers: [] }), routed("api", { workers: [{ name: "web" }], beat: false })] }, "djangostack:apps[1].workers[0].name", '"api-worker-web"'],
];

describe("names: collisions after derivation are refused by the schema", () => {
  for (const [title, raw, key, says] of bad) {
    it(title, () => {
      const found = problems(raw);
      const match = found.find((p) => p.startsWith(`${key}:`));
      assert.ok(match, `no problem names ${key}; got:\n${found.join("\n")}`);
      assert.ok(match.includes(says), `message for ${key} lacks "${says}": ${match}`);
      assert.ok(match.includes("rename") || match.includes("choose"), `message says what to do: ${match}`);
    });
  }

  it("reports a clash once, on the owner that can be renamed", () => {
    const found = problems({ frontend: { image: "nginx:1.27", route: "/app/" }, apps: [routed("frontend")] });
    assert.equal(found.filter((p) => p.includes('"frontend"')).length, 1, found.join("\n"));
    assert.ok(!found.some((p) => p.startsWith("djangostack:frontend")), "the frontend's names are fixed; the app is the one to rename");
  });
});

describe("names: what users legitimately name stays valid", () => {
  const good: [string, Raw][] = [
    ["an app named frontend without a frontend", { apps: [{ name: "frontend" }] }],
    ["hyphenated apps and pools whose names only look alike (a-b/c vs a/b-c)", { apps: [routed("a-b", { workers: [{ name: "c" }] }), routed("a", { workers: [{ name: "b-c" }] })] }],
    ["apps named like data services' volumes", { apps: [routed("data"), routed("certs"), routed("acme")] }],
    ["seed 002's five services and pools", { apps: ["auth", "ticket", "workflow", "messaging", "notification"].map((n) => routed(n, { workers: [{ name: "default" }, { name: "mail" }] })) }],
    ["names at their longest on Kubernetes", { target: "kubernetes", domain: "example.com", apps: [routed("a123456789b123456789", { workers: [{ name: "p123456789q123456789" }] })] }],
    ["an app named postgresql (no clash: postgresql-env)", { apps: [routed("postgresql")] }],
    ["an app named pgadmin (role pgadmin_user is not reserved)", { apps: [routed("pgadmin")] }],
  ];
  for (const [title, raw] of good) it(title, () => assert.doesNotThrow(() => parseConfig(raw, id)));
});

describe("names: limits after derivation", () => {
  // The schema's 20-character names keep every derived name within its system's limit; should that
  // change, the check (which measures what names.ts derives) refuses the overflow.
  const long = "a".repeat(60);
  it("refuses a Kubernetes workload name past 63 characters", () => {
    const config = parseConfig({ target: "kubernetes", domain: "example.com", apps: [routed("web")] }, id);
    config.apps[0].name = long;
    const c = new Checker(NAMESPACE);
    checkDerivedNames(c, config);
    const match = c.problems.find((p) => p.includes(`"${names.web(long)}"`) && p.includes("DNS label"));
    assert.ok(match, c.problems.join("\n"));
    assert.ok(match.startsWith("djangostack:apps[0].name:"));
  });
  it("refuses a Postgres identifier past 63 bytes", () => {
    const config = parseConfig({ apps: [routed("web")] }, id);
    config.apps[0].name = long;
    const c = new Checker(NAMESPACE);
    checkDerivedNames(c, config);
    assert.ok(c.problems.some((p) => p.includes(`"${names.role(long)}"`) && p.includes("63-byte")), c.problems.join("\n"));
  });
});
