/**
 * Issue 3 item 4: Redis with the rendered redis.conf, started by the redis process's own command.
 * Commands need the password; the rendered limits are in effect; the sample app's Django
 * cache and sessions live in Redis, in the app's own database number. The app under test is the
 * second app of a two-app stack (redisDb 1), so the database number is not the default 0.
 * Issue 9 item 12: the password is on no process's command line while Redis starts or runs.
 */
import { after, before, describe, test } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import assert from "node:assert/strict";
import { Credentials, Stack, generateCredentials, loadStack } from "./fixtures";
import { GunicornServer } from "./harness/django";
import { HttpResponse, request } from "./harness/http";
import { generatePassword } from "./harness/secrets";
import { portOpen, run, tempDir, useHarness } from "./harness/process";
import { RedisServer } from "./harness/redis";
import { ArgvScanResult, scanArgv } from "./harness/argv-scan";
import { AppDirs, DataTier, appDirs, releaseApp, startDataTier, startStackRedis, startWeb } from "./stackup";

useHarness();

const APP = "shop";
let stack: Stack;
let creds: Credentials;
let data: DataTier;
let dirs: AppDirs;
let web: GunicornServer;
let db: number;

before(async () => {
  stack = await loadStack("local", { apps: [{ name: "web", routes: ["/"] }, { name: APP, routes: [`/${APP}/`] }] });
  db = stack.config.apps.find((a) => a.name === APP)!.redisDb;
  assert.equal(db, 1);
  creds = generateCredentials(stack.config);
  data = await startDataTier(stack, creds, { rabbitmq: false });
  dirs = appDirs();
  await releaseApp(stack, creds, data, dirs, APP);
  web = await startWeb(stack, creds, data, dirs, APP);
}, { timeout: 120_000 });

const app = (path: string, headers: Record<string, string> = {}): Promise<HttpResponse> => request({ port: web.port, host: "localhost", path, headers });

describe("Redis with the rendered config", () => {
  test("a command without the password is refused (NOAUTH); with a wrong one too; with it, it works", async () => {
    const none = await data.redis!.cli(["SET", "probe", "1"], { auth: false });
    assert.match(none.stdout + none.stderr, /NOAUTH Authentication required/);
    const ping = await data.redis!.cli(["PING"], { auth: false });
    assert.match(ping.stdout + ping.stderr, /NOAUTH/);
    const wrong = await data.redis!.cli(["AUTH", generatePassword()], { auth: false });
    assert.match(wrong.stdout + wrong.stderr, /WRONGPASS|invalid password/);
    const ok = await data.redis!.cli(["SET", "probe", "1"]);
    assert.equal(ok.stdout.trim(), "OK");
    assert.equal((await data.redis!.cli(["GET", "probe"])).stdout.trim(), "1");
    await data.redis!.cli(["DEL", "probe"]);
  });

  test("the rendered limits and persistence are in effect", async () => {
    const get = async (key: string) => (await data.redis!.cli(["CONFIG", "GET", key])).stdout.trim().split("\n")[1];
    assert.equal(await get("maxmemory"), String(stack.config.data.redis.maxMemoryMiB * 1024 * 1024));
    assert.equal(await get("maxmemory-policy"), stack.config.data.redis.evictionPolicy);
    assert.equal(await get("appendonly"), "yes");
    assert.equal(await get("protected-mode"), "yes");
  });
});

describe("the app's Django cache and sessions use Redis", () => {
  test("the cache counter persists across requests and its key is in the app's Redis database", async () => {
    const first = JSON.parse((await app("/api/v1/cache/")).text) as { hits: number; key: string; backend: string };
    const second = JSON.parse((await app("/api/v1/cache/")).text) as { hits: number; key: string };
    assert.equal(first.backend, "django_redis.cache.RedisCache");
    assert.equal(second.hits, first.hits + 1);
    assert.equal((await data.redis!.cli(["GET", first.key], { db })).stdout.trim(), String(second.hits));
    assert.equal((await data.redis!.cli(["EXISTS", first.key], { db: 0 })).stdout.trim(), "0", "the key landed in database 0");
  });

  test("a session counter persists with its cookie, and the session is found in the app's Redis database", async () => {
    const one = await app("/api/v1/session/");
    assert.equal(one.status, 200, one.text);
    const cookie = (one.raw["set-cookie"] ?? []).find((c) => c.startsWith("sessionid="));
    assert.ok(cookie, "no session cookie");
    const sessionid = cookie.split(";")[0];
    const b1 = JSON.parse(one.text) as { count: number; session_key: string; cache_key: string };
    assert.equal(b1.count, 1);
    const two = await app("/api/v1/session/", { cookie: sessionid });
    const b2 = JSON.parse(two.text) as { count: number; session_key: string; cache_key: string };
    assert.equal(b2.count, 2);
    assert.equal(b2.session_key, b1.session_key);
    assert.equal(sessionid, `sessionid=${b2.session_key}`);
    const keys = (await data.redis!.cli(["KEYS", `*${b2.session_key}*`], { db })).stdout.trim().split("\n").filter(Boolean);
    assert.deepEqual(keys, [b2.cache_key], `session key not in Redis db ${db}`);
    assert.equal((await data.redis!.cli(["EXISTS", b2.cache_key], { db: 0 })).stdout.trim(), "0");
    // Without the cookie it is a new session.
    const fresh = JSON.parse((await app("/api/v1/session/")).text) as { count: number; session_key: string };
    assert.equal(fresh.count, 1);
    assert.notEqual(fresh.session_key, b2.session_key);
  });

  test("a session whose Redis copy is evicted survives (cached_db) and is cached in Redis again", async () => {
    const one = await app("/api/v1/session/");
    const b1 = JSON.parse(one.text) as { session_key: string; cache_key: string };
    const cookie = `sessionid=${b1.session_key}`;
    assert.equal((await data.redis!.cli(["DEL", b1.cache_key], { db })).stdout.trim(), "1");
    const two = JSON.parse((await app("/api/v1/session/", { cookie })).text) as { count: number };
    assert.equal(two.count, 2);
    assert.equal((await data.redis!.cli(["EXISTS", b1.cache_key], { db })).stdout.trim(), "1", "session not cached in Redis again");
    const row = await data.postgres!.psql(["-tAc", `SELECT count(*) FROM django_session WHERE session_key = '${b1.session_key}'`], { database: "shop_db" });
    assert.equal(row.stdout.trim(), "1");
  });
});

describe("the Redis password is on no command line (issue 9 item 12)", () => {
  let own: RedisServer;
  let scan: ArgvScanResult;
  // Characters a naive quoting would break on; generated passwords are alphanumeric, supplied ones may not be.
  const password = `${generatePassword()}"\\ $x'*`;

  before(async () => {
    let port = 18700;
    while (port < 18799 && (await portOpen(port))) port++;
    // A stand-in on PATH holds redis-server's argv for 300 ms before the real server starts (and
    // overwrites its process title): an argv the scan must not miss, however fast the machine.
    const bin = tempDir("redis-argv-bin");
    fs.writeFileSync(path.join(bin, "redis-server"), "#!/bin/sh\nsleep 0.3\nexec /usr/bin/redis-server \"$@\"\n", { mode: 0o755 });
    const watcher = await scanArgv([password], "redis-server");
    own = await startStackRedis(stack, { ...creds, redis: password }, port, { binDirs: [bin] });
    // Keep scanning a little while it runs (AOF, background saves fork children with the same argv).
    await own.cli(["SET", "k", "v"]);
    await own.cli(["BGSAVE"]);
    await new Promise((r) => setTimeout(r, 500));
    scan = await watcher.stop();
  }, { timeout: 60_000 });
  after(() => own?.stop());

  test("the scan sees a password put on a command line (it would catch the old --requirepass)", async () => {
    const control = await scanArgv([password], "never-matches-anything");
    await run("/bin/sh", ["-c", "sleep 0.3", "sh", password]);
    const r = await control.stop();
    // At least one: a fork of the shell, caught before its exec, carries the same argv.
    assert.ok(r.hits.length >= 1 && r.hits.every((h) => h.cmdline === "/bin/sh -c sleep 0.3 sh [secret]"), JSON.stringify(r.hits));
  });

  test("no process's /proc/<pid>/cmdline held it while Redis started and ran", () => {
    assert.ok(scan.scans > 10, `only ${scan.scans} scans`);
    assert.ok(scan.seen.some((c) => c.startsWith("/bin/sh ") && c.includes("redis-server -")), `the stand-in's argv was never seen: ${scan.seen.join(" | ")}`);
    assert.ok(scan.seen.some((c) => c.startsWith("/usr/bin/redis-server")), `redis-server was never seen: ${scan.seen.join(" | ")}`);
    assert.deepEqual(scan.hits, []);
  });

  test("AUTH works with the password and fails without it or with a wrong one", async () => {
    assert.match((await own.cli(["GET", "k"], { auth: false })).stdout + "", /NOAUTH/);
    const wrong = await own.cli(["AUTH", generatePassword()], { auth: false });
    assert.match(wrong.stdout + wrong.stderr, /WRONGPASS|invalid password/);
    assert.equal((await own.cli(["GET", "k"])).stdout.trim(), "v");
    assert.equal((await own.cli(["CONFIG", "GET", "port"])).stdout.trim().split("\n")[1], String(own.port));
  });
});
