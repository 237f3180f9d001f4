import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { RedisConfig } from "../../src/config/types";
import { renderRedisConf } from "../../src/render/redis";

/** redis.conf directives: name -> list of argument lists, in order. */
function parseConf(text: string): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [name, ...args] = line.split(/\s+/);
    out.set(name, [...(out.get(name) ?? []), args]);
  }
  return out;
}

function redis(raw: Record<string, unknown> = {}): RedisConfig {
  return parseConfig({ data: { redis: raw } }, { project: "djangostack", stack: "test" }).data.redis;
}

const single = (conf: Map<string, string[][]>, name: string): string => {
  const v = conf.get(name);
  assert.ok(v && v.length === 1, `${name} set exactly once`);
  return v[0].join(" ");
};

describe("renderRedisConf", () => {
  it("listens on the container network with protected mode on, data in /data", () => {
    const conf = parseConf(renderRedisConf(redis()));
    assert.equal(single(conf, "bind"), "0.0.0.0");
    assert.equal(single(conf, "protected-mode"), "yes");
    assert.equal(single(conf, "port"), "6379");
    assert.equal(single(conf, "dir"), "/data");
    assert.equal(single(conf, "daemonize"), "no");
  });

  it("takes port, bind and dir overrides (for tests on loopback with a temp dir)", () => {
    const conf = parseConf(renderRedisConf(redis(), { port: 16379, bind: "127.0.0.1", dir: "/tmp/redis-test" }));
    assert.equal(single(conf, "port"), "16379");
    assert.equal(single(conf, "bind"), "127.0.0.1");
    assert.equal(single(conf, "dir"), "/tmp/redis-test");
  });

  it("persists with an fsync-every-second AOF plus RDB snapshots", () => {
    const conf = parseConf(renderRedisConf(redis()));
    assert.equal(single(conf, "appendonly"), "yes");
    assert.equal(single(conf, "appendfsync"), "everysec");
    const saves = (conf.get("save") ?? []).map((a) => a.map(Number));
    assert.ok(saves.length > 0 && saves.every((a) => a.length === 2 && a.every((n) => Number.isInteger(n) && n > 0)), "one `save <seconds> <changes>` per line");
    assert.equal(single(conf, "timeout"), "0");
    assert.ok(Number(single(conf, "tcp-keepalive")) > 0);
  });

  it("caps memory in MiB (Redis' `mb` unit is 1024 x 1024) with the configured eviction policy", () => {
    const conf = parseConf(renderRedisConf(redis({ maxMemory: 300, evictionPolicy: "volatile-lfu", resources: { memory: "512Mi" } })));
    assert.equal(single(conf, "maxmemory"), "300mb");
    assert.equal(single(conf, "maxmemory-policy"), "volatile-lfu");
  });

  it("holds no password and renames no command; the comment says where the password comes from", () => {
    const text = renderRedisConf(redis());
    const conf = parseConf(text);
    assert.ok(!conf.has("requirepass") && !conf.has("masterauth") && !conf.has("user"));
    assert.ok(!conf.has("rename-command"));
    assert.match(text, /#.*--requirepass "\$REDIS_PASSWORD"/);
  });

  it("rejects overrides that would inject directives", () => {
    assert.throws(() => renderRedisConf(redis(), { bind: "0.0.0.0\nrequirepass x" }), /bind/);
    assert.throws(() => renderRedisConf(redis(), { dir: "/data\nsave \"\"" }), /dir/);
    assert.throws(() => renderRedisConf(redis(), { port: 70000 }), /port/);
  });
});
