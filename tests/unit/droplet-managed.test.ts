/**
 * Issue 16 item 3 (seed 002's phase 3: the database moves off the Droplet): managed PostgreSQL and
 * Valkey for target "droplet", in the Droplet's VPC, their firewall trusting only this Droplet, the
 * grants run from the Droplet, and the apps on the managed clusters' private hosts.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { isWireSecret, maskSecrets, unwrapSecrets } from "../../src/offline/secret";
import { fakeOutputs } from "../../src/offline/fakes";
import { renderManagedGrants } from "../../src/render/managed-grants";
import { estimateCost } from "../../src/model/cost";
import { buildModel } from "../../src/model/build";
import { withOverrides } from "../../src/config/prices";
import { stackObject } from "../helpers/replacement";
import { refuses } from "./config-helpers";

const DO = "digitalocean:index/";
const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
/** The id the offline engine gives a resource: its fake's, else `<name>-id` (src/offline/engine.ts). */
const idOf = (r: RecordedResource): string => {
  const fake = fakeOutputs[r.type]?.(r.inputs, r.name).id;
  return typeof fake === "string" ? fake : `${r.name}-id`;
};
const containerEnv = (e: Evaluation, process: string): string[] => {
  const c = ofType(e, "docker:index/container:Container").find((r) => (r.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "djangostack.process" && l.value === process));
  assert.ok(c, `no container for ${process}`);
  return unwrapSecrets(c.inputs.envs) as string[];
};

describe("managed PostgreSQL and Valkey on the Droplet", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:data": { ...stackObject("staging", "data"), postgres: { mode: "managed" }, redis: { mode: "managed" } } } });
  });

  it("puts both clusters in the Droplet's VPC, protected, with a firewall trusting exactly this Droplet", () => {
    const vpc = ofType(ev, `${DO}vpc:Vpc`)[0];
    const droplet = ofType(ev, `${DO}droplet:Droplet`)[0];
    const clusters = ofType(ev, `${DO}databaseCluster:DatabaseCluster`);
    assert.deepEqual(clusters.map((c) => c.inputs.engine).sort(), ["pg", "valkey"]);
    for (const c of clusters) {
      assert.equal(c.inputs.privateNetworkUuid, idOf(vpc), `${c.name} in the Droplet's VPC`);
      assert.equal(c.options.protect, true, c.name);
    }
    const firewalls = ofType(ev, `${DO}databaseFirewall:DatabaseFirewall`);
    assert.equal(firewalls.length, 2);
    for (const f of firewalls) assert.deepEqual(f.inputs.rules, [{ type: "droplet", value: idOf(droplet) }], f.name);
  });

  it("runs no PostgreSQL or Redis container, and the apps connect through the pool and to Valkey over TLS", () => {
    const names = ofType(ev, "docker:index/container:Container").map((r) => String(r.inputs.name));
    assert.ok(!names.some((n) => /-(postgres|postgres-init|redis)$/.test(n)), names.join(", "));
    const env = containerEnv(ev, "web-web");
    const dsn = env.find((e) => e.startsWith("DATABASE_URL="));
    assert.match(String(dsn), /^DATABASE_URL=postgres:\/\/web_user:[^@]+@[^/]*private[^/]*:\d+\/web_db_pool_[0-9a-f]{8}\?sslmode=require$/);
    assert.match(String(env.find((e) => e.startsWith("REDIS_URL="))), /^REDIS_URL=rediss:\/\//);
    assert.ok(env.includes("DJANGO_DB_CONN_MAX_AGE=0"), "no persistent connections through a session pool");
  });

  it("grants from the Droplet: psql in a one-off container, the password and SQL on stdin only, before the migration", () => {
    const grants = ofType(ev, "command:remote:Command").find((r) => r.name.endsWith("-postgres-grants"));
    assert.ok(grants, "a grants command");
    assert.ok(isWireSecret(grants.inputs.stdin), "stdin is secret");
    const stdin = String(unwrapSecrets(grants.inputs.stdin));
    assert.ok(stdin.endsWith(renderManagedGrants([{ database: "web_db", role: "web_user" }])), "the grants follow the password line");
    const script = String(grants.inputs.create);
    assert.match(script, /docker run --rm -i .*postgres:\d+-bookworm@sha256:[0-9a-f]{64}/);
    assert.ok(!script.includes(stdin.split("\n")[0]), "the password is not in the script");
    const migrate = ofType(ev, "docker:index/container:Container").find((r) => String(r.inputs.name).endsWith("-web-migrate"));
    assert.ok(migrate?.options.dependsOn.includes(grants.name), "the migration waits for the grants");
  });

  it("exports the clusters' private hosts and prices them", async () => {
    const out = (await resolveOutputs(ev.exports)) as { databaseHosts: string[] };
    assert.equal(out.databaseHosts.length, 2);
    const lines = estimateCost(ev.config, buildModel(ev.config), withOverrides(ev.config.prices)).lines.map((l) => l.resource);
    assert.ok(lines.includes("managed PostgreSQL nodes") && lines.includes("managed Valkey node"), lines.join(", "));
    assert.ok(!JSON.stringify(ev.engine.resources.map((r) => maskSecrets(r.inputs))).includes(String(unwrapSecrets(ofType(ev, "command:remote:Command").find((r) => r.name.endsWith("-postgres-grants"))?.inputs.stdin)).split("\n")[0]));
  });
});

describe("managed data: where it cannot be", () => {
  refuses([
    ["managed PostgreSQL on the local engine", { data: { postgres: { mode: "managed" } } }, "djangostack:data.postgres.mode", '"managed" needs target "kubernetes" or "droplet"'],
    ["the logical dump of managed PostgreSQL on a Droplet", { target: "droplet", droplet: { sshKeys: ["k"], adminCidrs: ["203.0.113.0/24"] }, data: { postgres: { mode: "managed" } }, backups: { enabled: true } }, "djangostack:backups.enabled", 'runs on target "kubernetes" only'],
  ]);
});
