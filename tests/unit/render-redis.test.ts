import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { RedisConfig } from "../../src/config/types";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderRedisConf, renderRedisStartCommand } from "../../src/render/redis";

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
    assert.match(text, /#.*renderRedisStartCommand/);
    assert.doesNotMatch(text, /--requirepass/);
  });

  it("rejects overrides that would inject directives", () => {
    assert.throws(() => renderRedisConf(redis(), { bind: "0.0.0.0\nrequirepass x" }), /bind/);
    assert.throws(() => renderRedisConf(redis(), { dir: "/data\nsave \"\"" }), /dir/);
    assert.throws(() => renderRedisConf(redis(), { port: 70000 }), /port/);
  });
});

/**
 * The start script under dash with a stand-in `redis-server` that records its argv and its stdin:
 * what the real server would read as config (tests/integration/redis.test.ts runs the real one).
 */
describe("renderRedisStartCommand", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "djs-redis-unit-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "redis-server"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/argv\ncat > ${dir}/stdin\n`, { mode: 0o755 });
  const start = (password: string | undefined) => {
    const env: NodeJS.ProcessEnv = { PATH: `${dir}:/usr/bin:/bin` };
    if (password !== undefined) env.REDIS_PASSWORD = password;
    fs.rmSync(path.join(dir, "stdin"), { force: true });
    const r = spawnSync("dash", ["-c", renderRedisStartCommand("/usr/local/etc/redis/redis.conf")], { env, encoding: "utf8" });
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : undefined);
    return { status: r.status, stderr: r.stderr, argv: read("argv"), stdin: read("stdin") };
  };

  it("execs redis-server - with no secret in its argv, the config file included and the password on stdin", () => {
    const r = start("s3cretPassw0rd");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.argv, "-\n");
    assert.equal(r.stdin, 'include /usr/local/etc/redis/redis.conf\nrequirepass "s3cretPassw0rd"\n');
  });

  it("escapes backslash, quote, newline and CR for a redis.conf double-quoted string; leaves shell syntax alone", () => {
    const r = start('a"b\\c d$e\'f*?[x]`y`\nz\r!');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdin?.split("\n")[1], String.raw`requirepass "a\"b\\c d$e'f*?[x]` + "`y`" + String.raw`\nz\r!"`);
  });

  it("refuses to start without a password rather than serve without auth", () => {
    for (const pw of [undefined, ""]) {
      const r = start(pw);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /REDIS_PASSWORD is empty or not set/);
      assert.equal(r.stdin, undefined, "redis-server ran");
    }
  });

  it("rejects a config path or env name that would change the script", () => {
    assert.throws(() => renderRedisStartCommand("/etc/redis.conf\nrequirepass x"), /config path/);
    assert.throws(() => renderRedisStartCommand("/etc/redis.conf", "X; rm -rf /"), /env name/);
  });
});
