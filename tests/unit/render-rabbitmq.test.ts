import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseConfig } from "../../src/config/schema";
import { RabbitmqConfig } from "../../src/config/types";
import * as names from "../../src/model/names";
import { DEFAULT_DEFINITIONS_PATH, rabbitPasswordHash, renderRabbitmqConf, renderRabbitmqDefinitions } from "../../src/render/rabbitmq";

/** rabbitmq.conf (sysctl format) as key -> value; a repeated key fails the test. */
function parseConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z_.0-9]+)\s*=\s*(\S.*)$/.exec(line);
    assert.ok(m, `not a key = value line: ${line}`);
    assert.ok(!out.has(m[1]), `duplicate key ${m[1]}`);
    out.set(m[1], m[2]);
  }
  return out;
}

function rabbitmq(raw: Record<string, unknown> = {}): RabbitmqConfig {
  return parseConfig({ data: { rabbitmq: raw } }, { project: "djangostack", stack: "test" }).data.rabbitmq;
}

interface Definitions {
  users: { name: string; password_hash: string; hashing_algorithm: string; tags: string[] }[];
  vhosts: { name: string; default_queue_type: string; metadata: { default_queue_type: string } }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
  [key: string]: unknown;
}

/** Checks a hash the way RabbitMQ does: base64(salt(4) ++ sha256(salt ++ password)). */
function verify(hash: string, password: string): boolean {
  const raw = Buffer.from(hash, "base64");
  if (raw.length !== 36) return false;
  const salt = raw.subarray(0, 4);
  return createHash("sha256").update(Buffer.concat([salt, Buffer.from(password, "utf8")])).digest().equals(raw.subarray(4));
}

describe("renderRabbitmqConf", () => {
  it("listens on the AMQP port and loads the definitions file", () => {
    const conf = parseConf(renderRabbitmqConf(rabbitmq()));
    assert.equal(conf.get("listeners.tcp.default"), "5672");
    assert.equal(conf.get("load_definitions"), DEFAULT_DEFINITIONS_PATH);
    assert.equal(DEFAULT_DEFINITIONS_PATH, "/etc/rabbitmq/conf.d/definitions.json");
    const custom = parseConf(renderRabbitmqConf(rabbitmq(), { port: 5673, definitionsPath: "/tmp/x/definitions.json" }));
    assert.equal(custom.get("listeners.tcp.default"), "5673");
    assert.equal(custom.get("load_definitions"), "/tmp/x/definitions.json");
  });

  it("keeps guest loopback-only and enables no management listener", () => {
    const conf = parseConf(renderRabbitmqConf(rabbitmq()));
    assert.equal(conf.get("loopback_users.guest"), "true");
    assert.ok(![...conf.keys()].some((k) => k.startsWith("management.") || k.startsWith("default_user") || k.startsWith("default_pass")));
  });

  it("with a management port (the backup's live export): the API listens there, without its statistics database", () => {
    const conf = parseConf(renderRabbitmqConf(rabbitmq(), { managementPort: names.RABBITMQ_MANAGEMENT_PORT }));
    assert.equal(conf.get("management.tcp.port"), "15672");
    assert.equal(conf.get("management.disable_stats"), "true");
    assert.throws(() => renderRabbitmqConf(rabbitmq(), { managementPort: 70000 }), /invalid port 70000/);
  });

  it("the backup's user: administrator, its password hashed, no permission on any vhost", () => {
    const defs = JSON.parse(
      renderRabbitmqDefinitions({ apps: [{ vhost: "/web", user: "web_broker", password: "pw-web" }], admin: { user: names.RABBITMQ_ADMIN, password: "pw-admin" }, backup: { user: names.RABBITMQ_BACKUP_USER, password: "pw-backup" } }),
    ) as Definitions;
    const user = defs.users.find((u) => u.name === names.RABBITMQ_BACKUP_USER);
    assert.ok(user && verify(user.password_hash, "pw-backup"));
    assert.deepEqual(user.tags, ["administrator"]);
    assert.ok(!defs.permissions.some((p) => p.user === names.RABBITMQ_BACKUP_USER));
    assert.throws(() => renderRabbitmqDefinitions({ apps: [], admin: { user: names.RABBITMQ_ADMIN, password: "a" }, backup: { user: names.RABBITMQ_ADMIN, password: "b" } }), /user names must be unique/);
    assert.throws(() => renderRabbitmqDefinitions({ apps: [], admin: { user: names.RABBITMQ_ADMIN, password: "a" }, backup: { user: names.RABBITMQ_BACKUP_USER, password: "" } }), /empty password for djangostack-backup/);
  });

  it("sizes the memory watermark and the disk limit from config, in bytes", () => {
    const conf = parseConf(renderRabbitmqConf(rabbitmq({ memoryHighWatermark: 0.5, diskFreeLimit: 2048, resources: { memory: "1Gi" } })));
    assert.equal(conf.get("vm_memory_high_watermark.relative"), "0.5");
    assert.equal(conf.get("disk_free_limit.absolute"), String(2048 * 1024 * 1024));
    assert.equal(conf.get("total_memory_available_override_value"), String(1024 * 1024 * 1024));
  });

  it("rejects a watermark outside (0, 1) and paths that are not plain absolute paths", () => {
    assert.throws(() => renderRabbitmqConf({ ...rabbitmq(), memoryHighWatermark: 1.5 }), /memoryHighWatermark/);
    assert.throws(() => renderRabbitmqConf(rabbitmq(), { definitionsPath: "defs.json\nloopback_users = none" }), /definitionsPath/);
  });
});

describe("renderRabbitmqDefinitions", () => {
  const input = {
    apps: ["web", "shop-api"].map((a) => ({ vhost: names.vhost(a), user: names.brokerUser(a), password: `${a}-Pässword` })),
    admin: { user: "djangostack_admin", password: "admin-secret" },
  };
  const text = renderRabbitmqDefinitions(input);
  const defs = JSON.parse(text) as Definitions;

  it("hashes every password with rabbit_password_hashing_sha256 and never writes the password itself", () => {
    assert.equal(defs.users.length, 3);
    for (const u of defs.users) {
      assert.equal(u.hashing_algorithm, "rabbit_password_hashing_sha256");
      const password = u.name === input.admin.user ? input.admin.password : input.apps.find((a) => a.user === u.name)?.password;
      assert.ok(password);
      assert.ok(verify(u.password_hash, password), `${u.name}'s hash verifies`);
      assert.ok(!verify(u.password_hash, `${password}x`));
      assert.ok(!text.includes(password), "no plaintext password");
    }
  });

  it("is deterministic, with a salt that differs per user and per password", () => {
    assert.equal(renderRabbitmqDefinitions(input), text);
    const salt = (h: string): string => Buffer.from(h, "base64").subarray(0, 4).toString("hex");
    assert.notEqual(salt(rabbitPasswordHash("a", "same")), salt(rabbitPasswordHash("b", "same")));
    assert.notEqual(rabbitPasswordHash("a", "one"), rabbitPasswordHash("a", "two"));
  });

  it("gives each app user its own vhost only, the admin (tagged administrator) every vhost, and defines no guest", () => {
    assert.deepEqual(defs.vhosts.map((v) => v.name), ["/web", "/shop-api"]);
    const perms = (user: string): string[] => defs.permissions.filter((p) => p.user === user).map((p) => p.vhost).sort();
    assert.deepEqual(perms("web_broker"), ["/web"]);
    assert.deepEqual(perms("shop_api_broker"), ["/shop-api"]);
    assert.deepEqual(perms("djangostack_admin"), ["/shop-api", "/web"]);
    assert.ok(defs.permissions.every((p) => p.configure === ".*" && p.write === ".*" && p.read === ".*"));
    assert.deepEqual(defs.users.find((u) => u.name === "djangostack_admin")?.tags, ["administrator"]);
    assert.deepEqual(defs.users.find((u) => u.name === "web_broker")?.tags, ["djangostack-app"], "app users carry our mark, so a removed app's user can be found");
    assert.ok(!defs.users.some((u) => u.name === "guest"));
    assert.ok(!defs.vhosts.some((v) => v.name === "/"));
  });

  it("defaults vhosts to classic queues (Celery 5.2's own queues cannot be quorum)", () => {
    for (const v of defs.vhosts) {
      assert.equal(v.default_queue_type, "classic");
      assert.equal(v.metadata.default_queue_type, "classic");
    }
  });

  it("rejects guest, duplicate users, shared vhosts and empty passwords", () => {
    assert.throws(() => renderRabbitmqDefinitions({ ...input, admin: { user: "guest", password: "x" } }), /guest/);
    assert.throws(() => renderRabbitmqDefinitions({ ...input, admin: { user: "web_broker", password: "x" } }), /unique/);
    assert.throws(() => renderRabbitmqDefinitions({ ...input, apps: [...input.apps, { vhost: "/web", user: "other", password: "x" }] }), /own vhost/);
    assert.throws(() => renderRabbitmqDefinitions({ ...input, admin: { user: "admin", password: "" } }), /empty password/);
  });
});
