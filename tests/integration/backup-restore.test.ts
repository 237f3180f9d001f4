/**
 * Backups and restores (issue 13 items 2 and 3): the rendered backup script (src/render/backup.ts)
 * with its rendered settings, run by Debian's Python 3 with Debian's PostgreSQL 15 client tools,
 * against a real PostgreSQL 15 (harness/postgres.ts) and a real S3-compatible server on loopback:
 * s3rver 3.7.1 from npm, which runs on Node 22. s3rver does not check V4 signatures, so it sits behind
 * a proxy that checks each one with the aws4 package before passing the request on (harness/s3.ts):
 * a request the script signs wrongly fails here as it would on Spaces.
 *
 * Two app databases (web_db, shop_db) owned by their roles, as the stack's init makes them; web_db has
 * a second schema, rows with gaps, a bytea column holding every byte value, a sequence advanced past
 * its start and a large object. Each test builds on the bucket the ones before it left.
 *
 * The RabbitMQ definitions come live from Debian's RabbitMQ 3.10 (harness/rabbitmq.ts) booted with the
 * rendered rabbitmq.conf (the management listener moved to a free loopback port), the rendered
 * definitions (the backup's user among them) and the plugins the model's env enables; after boot the
 * test changes the broker (a vhost, a user, a queue, a policy) so only a live export holds them.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BACKUP_ENV, BACKUP_INTEGRITY_EXIT, BACKUP_SCRIPT, backupCommand, backupPrefixes, renderBackupSettings, BackupSettingsInput } from "../../src/render/backup";
import { scanArgv } from "./harness/argv-scan";
import { PostgresServer, startPostgres } from "./harness/postgres";
import { RunResult, freePorts, requireBinary, run, sleep, spawnServer, tempDir, useHarness, waitFor } from "./harness/process";
import { S3Server, startS3 } from "./harness/s3";
import { RabbitServer, amqpLogin, startRabbitmq } from "./harness/rabbitmq";
import * as names from "../../src/model/names";
import { buildModel } from "../../src/model/build";
import { renderRabbitmqConf, renderRabbitmqDefinitions } from "../../src/render/rabbitmq";
import { managementPort as managementPortOf } from "../../src/components/rendered";
import { parseConfig } from "../../src/config/schema";
import { BACKUP_FILES, BACKUP_PATHS, backupJob, backupProcesses } from "../../src/model/backup";
import { SCHEDULER_SCRIPT, renderSchedulerJobs } from "../../src/render/scheduler";
import { generatePassword } from "./harness/secrets";

useHarness();

const STACK = "itest";
const ROLES = { web_db: "web_user", shop_db: "shop_user" } as const;
const PASSWORDS = { web_user: generatePassword(), shop_user: generatePassword() };
/** The large object's bytes: random, so a restore cannot pass by chance. */
const LARGE_OBJECT = crypto.randomBytes(48 * 1024);

interface LogLine {
  level: string;
  event: string;
  error?: string;
  key?: string;
  [field: string]: unknown;
}

interface Result extends RunResult {
  logs: LogLine[];
}

interface Manifest {
  format: string;
  kind: string;
  key: string;
  time: string;
  size: number;
  sha256: string;
  database?: string;
  pgDump?: string;
  server?: string;
}

interface Report {
  database: string;
  tables: Record<string, number>;
  sequences: Record<string, number>;
  largeObjects: number;
  restoredFrom: string;
}

/** What a restore must preserve, read with the server's own functions. */
interface Fingerprint {
  tables: Record<string, { owner: string; rows: number; md5: string }>;
  sequences: Record<string, string>;
  largeObjects: Record<string, string>;
}

let pg: PostgresServer;
let s3: S3Server;
let work: string;
let tmp: string;
let script: string;
let settingsFile: string;
let mediaDir: string;
let rabbit: RabbitServer;
let managementPort: number;
const BROKER = { admin: generatePassword(), backup: generatePassword(), web: generatePassword() };
let env: NodeJS.ProcessEnv;
let lastBackupSecond = "";

const sha256 = (b: Buffer): string => crypto.createHash("sha256").update(b).digest("hex");

function settingsInput(extra: Partial<BackupSettingsInput> = {}): BackupSettingsInput {
  return {
    stack: STACK,
    databases: Object.entries(ROLES).map(([name, role]) => ({ name, role })),
    media: [{ name: "web", path: mediaDir }],
    rabbitmqApi: `http://127.0.0.1:${managementPort}`,
    addressing: "path",
    retentionDays: 30,
    ...extra,
  };
}

/** The command backupCommand gives, on Debian's python3; every stderr line must be a JSON log line. */
async function backup(args: string[], o: { env?: NodeJS.ProcessEnv; settings?: string; secrets?: string[] } = {}): Promise<Result> {
  const [file, ...rest] = backupCommand(script, o.settings ?? settingsFile, ...args);
  const r = await run(file, rest, { check: false, env: { ...env, ...o.env }, timeoutMs: 60_000 });
  const logs = r.stderr
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return assert.fail(`a log line that is not JSON: ${l}`);
      }
    });
  for (const secret of [pg.password, s3.secretAccessKey, ...(o.secrets ?? [])]) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `a secret in the output of ${args.join(" ")}`);
  }
  return { ...r, logs };
}

const failed = (r: Result): string => `exit ${r.code}\n${r.stderr}\n${r.stdout}`;
const errorOf = (r: Result): string => r.logs.filter((l) => l.level === "error").map((l) => l.error ?? "").join("\n");

/** A backup run in a later UTC second than the last one (one backup per set and second). */
async function backupAgain(args: string[], o: { settings?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  while (new Date().toISOString().slice(0, 19) === lastBackupSecond) await sleep(50);
  const r = await backup(["backup", ...args], o);
  lastBackupSecond = new Date().toISOString().slice(0, 19);
  return r;
}

async function sql(database: string, text: string, user?: keyof typeof PASSWORDS): Promise<string> {
  const file = path.join(work, `sql-${crypto.randomBytes(4).toString("hex")}.sql`);
  fs.writeFileSync(file, text, { mode: 0o600 });
  const r = await pg.psql(["-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\t", "-f", file], user ? { user, password: PASSWORDS[user], database } : { database });
  fs.rmSync(file);
  return r.stdout.trim();
}

const rows = (text: string): string[][] => (text === "" ? [] : text.split("\n").map((l) => l.split("\t")));

async function databaseExists(name: string): Promise<boolean> {
  return (await sql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '${name}'`)) === "1";
}

async function fingerprint(database: string): Promise<Fingerprint> {
  const tables = rows(await sql(database, "SELECT format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1"));
  const sequences = rows(await sql(database, "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences ORDER BY 1")).map((r) => r[0]);
  const queries = [
    ...tables.map(([t]) => `SELECT 't', '${t}', count(*)::text || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM ${t} x`),
    ...sequences.map((s) => `SELECT 's', '${s}', last_value::text || ' ' || is_called::text FROM ${s}`),
    "SELECT 'l', oid::text, md5(lo_get(oid)) || ' ' || pg_get_userbyid(lomowner) FROM pg_largeobject_metadata",
  ];
  const fp: Fingerprint = { tables: {}, sequences: {}, largeObjects: {} };
  const owners = new Map(tables.map(([t, o]) => [t, o]));
  for (const [kind, name, value] of rows(await sql(database, `${queries.join("\nUNION ALL\n")};`))) {
    if (kind === "t") {
      const [n, md5] = value.split(" ");
      fp.tables[name] = { owner: owners.get(name) ?? "", rows: Number(n), md5 };
    } else if (kind === "s") fp.sequences[name] = value;
    else fp.largeObjects[name] = value;
  }
  return fp;
}

function listing(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(base, full);
    if (entry.isDirectory()) Object.assign(out, { [`${rel}/`]: "dir" }, listing(full, base));
    else out[rel] = sha256(fs.readFileSync(full));
  }
  return out;
}

/** Stand-ins on PATH that pause 300 ms before exec'ing the real tool, so a scan of /proc sees each argv. */
function slowTools(): string {
  const bin = tempDir("backup-slow-bin");
  for (const tool of ["pg_dump", "pg_restore", "psql"]) {
    fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\nsleep 0.3\nexec /usr/bin/${tool} "$@"\n`, { mode: 0o755 });
  }
  return bin;
}

/** The broker as the stack runs it with backups on: the rendered conf and definitions, the model's plugins. */
async function startBroker(): Promise<RabbitServer> {
  const config = parseConfig({ target: "droplet", droplet: { sshKeys: ["aa:bb"], adminCidrs: ["203.0.113.7/32"] }, backups: { enabled: true } }, { project: "djangostack", stack: STACK });
  const mq = buildModel(config).processes.find((p) => p.name === names.RABBITMQ);
  assert.ok(mq, "the model runs RabbitMQ");
  return startRabbitmq({
    label: "backup-rabbitmq",
    config: renderRabbitmqConf(config.data.rabbitmq, managementPortOf(config)),
    definitions: renderRabbitmqDefinitions({ apps: [{ vhost: names.vhost("web"), user: names.brokerUser("web"), password: BROKER.web }], admin: { user: names.RABBITMQ_ADMIN, password: BROKER.admin }, backup: { user: names.RABBITMQ_BACKUP_USER, password: BROKER.backup } }),
    // As the container reads them (the model's RABBITMQ_CONFIG_FILES glob): the .conf files only.
    configFiles: (confd) => `${confd}/*.conf`,
    env: { RABBITMQ_ENABLED_PLUGINS: mq.env.RABBITMQ_ENABLED_PLUGINS },
    overrides: [`management.tcp.port = ${managementPort}`, "management.tcp.ip = 127.0.0.1"],
  });
}

/** The management API as the operator (admin): PUT a queue, GET the definitions. */
async function asAdmin(method: string, apiPath: string, body?: unknown): Promise<Response> {
  const r = await fetch(`http://127.0.0.1:${managementPort}${apiPath}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${names.RABBITMQ_ADMIN}:${BROKER.admin}`).toString("base64")}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${apiPath}: HTTP ${r.status} ${await r.clone().text()}`);
  return r;
}

/** What an operator or an app changed at run time: none of it is in the rendered definitions file. */
async function liveBrokerChanges(): Promise<void> {
  await rabbit.ctl(["add_vhost", "live_vhost"]);
  await rabbit.ctl(["add_user", "live_user", generatePassword()]);
  await rabbit.ctl(["set_permissions", "-p", "live_vhost", "live_user", ".*", ".*", ".*"]);
  await rabbit.ctl(["set_policy", "-p", names.vhost("web"), "live-ttl", "^live\\.", '{"message-ttl": 60000}', "--apply-to", "queues"]);
  await asAdmin("PUT", `/api/queues/${encodeURIComponent(names.vhost("web"))}/live.queue`, { durable: true, arguments: {} });
}

type Definitions = { users: { name: string; password_hash: string; tags: string[] | string }[]; vhosts: { name: string }[]; queues: { name: string; vhost: string }[]; policies: { name: string; vhost: string }[]; permissions: { user: string; vhost: string }[] };
const liveDefinitions = async (): Promise<Definitions> => (await (await asAdmin("GET", "/api/definitions")).json()) as Definitions;

/** The export as the bucket holds it holds the live state: the rendered users and what changed since. */
function assertLive(defs: Definitions): void {
  const users = defs.users.map((u) => u.name).sort();
  assert.deepEqual(users, [names.RABBITMQ_ADMIN, names.RABBITMQ_BACKUP_USER, names.brokerUser("web"), "live_user"].sort());
  assert.ok(defs.users.every((u) => u.password_hash.length > 20), "password hashes are in the export");
  assert.ok(defs.vhosts.some((v) => v.name === "live_vhost"));
  assert.ok(defs.queues.some((q) => q.name === "live.queue" && q.vhost === names.vhost("web")));
  assert.ok(defs.policies.some((p) => p.name === "live-ttl"));
  assert.ok(defs.permissions.some((p) => p.user === "live_user" && p.vhost === "live_vhost"));
}

before(async () => {
  for (const tool of ["pg_dump", "pg_restore", "psql"]) requireBinary(`/usr/bin/${tool}`, "postgresql-client");
  requireBinary("/usr/bin/python3", "python3");
  [managementPort] = await freePorts(1);
  [pg, s3, rabbit] = await Promise.all([startPostgres({ password: generatePassword(), label: "backup-pg" }), startS3(), startBroker()]);
  await liveBrokerChanges();
  work = tempDir("backup-work");
  tmp = tempDir("backup-tmp");
  mediaDir = path.join(work, "media");
  fs.mkdirSync(path.join(mediaDir, "uploads/2026/12"), { recursive: true });
  fs.mkdirSync(path.join(mediaDir, "empty"));
  fs.writeFileSync(path.join(mediaDir, "readme.txt"), "media of the web app\n");
  fs.writeFileSync(path.join(mediaDir, "uploads/2026/12/photo.jpg"), crypto.randomBytes(20_000));
  script = path.join(work, "backup.py");
  fs.writeFileSync(script, BACKUP_SCRIPT);
  settingsFile = path.join(work, "backup.json");
  fs.writeFileSync(settingsFile, renderBackupSettings(settingsInput()));
  env = {
    PATH: "/usr/bin:/bin",
    LANG: "C.UTF-8",
    TMPDIR: tmp,
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.superuser,
    PGPASSWORD: pg.password,
    [BACKUP_ENV.endpoint]: s3.endpoint,
    [BACKUP_ENV.region]: s3.region,
    [BACKUP_ENV.bucket]: s3.bucket,
    [BACKUP_ENV.accessKeyId]: s3.accessKeyId,
    [BACKUP_ENV.secretAccessKey]: s3.secretAccessKey,
    [BACKUP_ENV.rabbitmqUser]: names.RABBITMQ_BACKUP_USER,
    [BACKUP_ENV.rabbitmqPassword]: BROKER.backup,
  };
  // As the stack's init makes them: each database owned by its app role, which alone may connect.
  await sql("postgres", Object.entries(ROLES).map(([db, role]) => `CREATE ROLE ${role} LOGIN PASSWORD '${PASSWORDS[role]}';\nCREATE DATABASE ${db} OWNER ${role};\nREVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC;`).join("\n"));
  // The app's own tables, made by the app's role as migrations would.
  await sql(
    "web_db",
    `CREATE SCHEMA reports;
CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, born date);
INSERT INTO authors (name, born) SELECT 'author ' || g, date '1900-01-01' + g FROM generate_series(1, 300) g;
DELETE FROM authors WHERE id % 7 = 0;
CREATE TABLE books (id serial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors, title text NOT NULL, cover bytea, meta jsonb, price numeric(8, 2));
INSERT INTO books (author_id, title, cover, meta, price)
  SELECT id, 'Böök ' || id || E'\\ttab', decode(md5(id::text), 'hex') || '\\x00ff0a0d5c27'::bytea, jsonb_build_object('n', id, 'q', 'it''s'), id * 1.25 FROM authors;
CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
INSERT INTO blobs SELECT 1, string_agg(set_byte('\\x00'::bytea, 0, b), ''::bytea ORDER BY b) FROM generate_series(0, 255) b;
CREATE SEQUENCE invoice_numbers START 1000;
SELECT setval('invoice_numbers', 4242);
SELECT nextval('invoice_numbers');
CREATE TABLE documents (id int PRIMARY KEY, content oid NOT NULL);
INSERT INTO documents VALUES (1, lo_from_bytea(0, decode('${LARGE_OBJECT.toString("hex")}', 'hex')));
CREATE TABLE reports.daily (day date PRIMARY KEY, total numeric NOT NULL);
INSERT INTO reports.daily SELECT date '2026-01-01' + g, g * 10 FROM generate_series(0, 30) g;
`,
    "web_user",
  );
  await sql("shop_db", "CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL); INSERT INTO orders (total) SELECT g FROM generate_series(1, 50) g;", "shop_user");
});

describe("backup and restore with the rendered script (real PostgreSQL 15, s3rver 3.7.1 behind a SigV4 check)", () => {
  let first: Manifest;
  let latest: Fingerprint;

  test("the fixture is what the restore must keep: binary bytes, an advanced sequence, a large object", async () => {
    assert.equal(await sql("web_db", "SELECT length(data) || ' ' || md5(data) FROM blobs"), `256 ${crypto.createHash("md5").update(Buffer.from([...Array(256).keys()])).digest("hex")}`);
    assert.equal(await sql("web_db", "SELECT last_value || ' ' || is_called FROM invoice_numbers"), "4243 true");
    assert.equal(await sql("web_db", "SELECT md5(lo_get(content)) FROM documents"), crypto.createHash("md5").update(LARGE_OBJECT).digest("hex"));
  });

  test("backup uploads each database, the media and the definitions, every object before its manifest, no secret on any command line", async () => {
    const watch = await scanArgv([pg.password, s3.secretAccessKey], "pg_dump|psql");
    const r = await backupAgain([], {});
    const scan = await watch.stop();
    assert.equal(r.code, 0, failed(r));
    assert.deepEqual(scan.hits, [], "a password on a command line");

    const keys = await s3.keys(`${STACK}/`);
    const stamp = /\/(\d{8}T\d{6}Z)\./.exec(keys[0])?.[1] ?? "";
    const expected = [
      `${backupPrefixes.media(STACK, "web")}${stamp}.manifest.json`,
      `${backupPrefixes.media(STACK, "web")}${stamp}.tar.gz`,
      `${backupPrefixes.rabbitmq(STACK)}${stamp}.definitions.json`,
      `${backupPrefixes.rabbitmq(STACK)}${stamp}.manifest.json`,
      `${backupPrefixes.database(STACK, "shop_db")}${stamp}.dump`,
      `${backupPrefixes.database(STACK, "shop_db")}${stamp}.manifest.json`,
      `${backupPrefixes.database(STACK, "web_db")}${stamp}.dump`,
      `${backupPrefixes.database(STACK, "web_db")}${stamp}.manifest.json`,
    ].sort();
    assert.deepEqual(keys, expected);

    const puts = s3.requests.filter((q) => q.method === "PUT").map((q) => q.key);
    for (const key of expected.filter((k) => !k.endsWith(".manifest.json"))) {
      const manifestKey = key.replace(/\.(dump|tar\.gz|definitions\.json)$/, ".manifest.json");
      assert.ok(puts.indexOf(key) >= 0 && puts.indexOf(key) < puts.indexOf(manifestKey), `${key} is uploaded before ${manifestKey}`);
      const manifest = JSON.parse((await s3.get(manifestKey)).toString()) as Manifest;
      const object = await s3.get(key);
      assert.equal(manifest.key, key);
      assert.equal(manifest.format, "djangostack-backup/1");
      assert.equal(manifest.size, object.length);
      assert.equal(manifest.sha256, sha256(object), `the manifest's sha256 is the object's (${key})`);
      assert.equal(manifest.time, `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
      if (key.endsWith(".dump")) {
        assert.equal(object.subarray(0, 5).toString(), "PGDMP", "pg_dump's custom format");
        assert.match(manifest.pgDump ?? "", /^pg_dump \(PostgreSQL\) 15\./);
        assert.match(manifest.server ?? "", /^15\./);
        assert.equal(manifest.database, key.split("/")[1]);
      }
    }
    assert.ok(s3.requests.every((q) => q.refused === undefined), "every request passed the SigV4 check");
    assertLive(JSON.parse((await s3.get(`${backupPrefixes.rabbitmq(STACK)}${stamp}.definitions.json`)).toString("utf8")) as Definitions);
    assert.deepEqual(r.logs.filter((l) => l.event === "uploaded").map((l) => l.key).sort(), expected.filter((k) => !k.endsWith(".manifest.json")));
    assert.deepEqual(fs.readdirSync(tmp), [], "the dumps and archives are removed from the temp dir");
  });

  test("pg_dump and psql get the password only in their environment", async () => {
    const watch = await scanArgv([pg.password, s3.secretAccessKey], "pg_dump|psql");
    const r = await backupAgain(["--database", "shop_db"], { env: { PATH: `${slowTools()}:/usr/bin:/bin` } });
    const scan = await watch.stop();
    assert.equal(r.code, 0, failed(r));
    assert.deepEqual(scan.hits, [], "a password on a command line");
    assert.ok(scan.seen.some((c) => c.includes("pg_dump --format=custom --dbname=shop_db --file=")), `pg_dump's argv was never seen: ${scan.seen.join(" | ")}`);
  });

  test("list: complete dumps newest first with time, size and sha256; an object without a manifest is not a backup", async () => {
    await sql("web_db", "INSERT INTO authors (name) VALUES ('after the first backup');", "web_user");
    const r = await backupAgain(["--database", "web_db"]);
    assert.equal(r.code, 0, failed(r));
    assert.deepEqual(r.logs.filter((l) => l.event === "uploaded").length, 1, "--database backs up only that database");
    latest = await fingerprint("web_db");
    const orphan = `${backupPrefixes.database(STACK, "web_db")}29991231T235959Z.dump`;
    await s3.put(orphan, Buffer.from("an upload cut short"));

    const l = await backup(["list", "--database", "web_db"]);
    assert.equal(l.code, 0, failed(l));
    const entries = JSON.parse(l.stdout) as Manifest[];
    assert.equal(entries.length, 2, l.stdout);
    assert.ok(entries[0].time > entries[1].time, "newest first");
    for (const e of entries) {
      assert.match(e.key, /^itest\/web_db\/\d{8}T\d{6}Z\.dump$/);
      assert.equal(e.sha256, sha256(await s3.get(e.key)));
      assert.equal(e.size, (await s3.get(e.key)).length);
    }
    assert.ok(!entries.some((e) => e.key === orphan));
    assert.ok(l.logs.some((x) => x.event === "incomplete" && x.key === orphan), "the orphan is reported");
    first = entries[1];

    const all = await backup(["list"]);
    const kinds = (JSON.parse(all.stdout) as Manifest[]).map((e) => `${e.kind} ${e.key.split("/").slice(1, -1).join("/")}`);
    assert.deepEqual([...new Set(kinds)], ["postgres web_db", "postgres shop_db", "media media/web", "rabbitmq rabbitmq"]);
  });

  test("restore the latest dump into a fresh database: every table, row, sequence and large object, owned by the app role", async () => {
    const watch = await scanArgv([pg.password, s3.secretAccessKey], "pg_restore|psql");
    const r = await backup(["restore", "--database", "web_db", "--into", "web_db_restored"], { env: { PATH: `${slowTools()}:/usr/bin:/bin` } });
    const scan = await watch.stop();
    assert.equal(r.code, 0, failed(r));
    assert.deepEqual(scan.hits, [], "a password on a command line");
    assert.ok(scan.seen.some((c) => c.includes("pg_restore --no-owner --role=web_user --single-transaction")), `pg_restore's argv was never seen: ${scan.seen.join(" | ")}`);
    assert.deepEqual(await fingerprint("web_db_restored"), latest);

    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.database, "web_db_restored");
    assert.notEqual(report.restoredFrom, first.key);
    assert.deepEqual(report.tables, Object.fromEntries(Object.entries(latest.tables).map(([t, v]) => [t, v.rows])));
    assert.deepEqual(report.sequences, { "public.authors_id_seq": 301, "public.books_id_seq": 258, "public.invoice_numbers": 4243 });
    assert.equal(report.largeObjects, 1);
    const verified = await backup(["verify", "--database", "web_db"]);
    const source = JSON.parse(verified.stdout) as Report;
    assert.deepEqual([source.tables, source.sequences, source.largeObjects], [report.tables, report.sequences, report.largeObjects], "verify of the source says what the restore's verify said");

    // Made like the init makes databases: the app role connects, another app's role does not.
    assert.equal((await pg.psql(["-tAc", "SELECT current_database()"], { user: "web_user", password: PASSWORDS.web_user, database: "web_db_restored" })).stdout.trim(), "web_db_restored");
    const other = await pg.psql(["-tAc", "SELECT 1"], { user: "shop_user", password: PASSWORDS.shop_user, database: "web_db_restored", check: false });
    assert.match(other.stderr, /permission denied for database|does not have CONNECT privilege/);

    const again = await backup(["restore", "--database", "web_db", "--into", "web_db_restored"]);
    assert.equal(again.code, 1);
    assert.match(errorOf(again), /already exists/);
    assert.deepEqual(await fingerprint("web_db_restored"), latest, "an existing database is never a fresh one");
  });

  test("restore a named dump: the first backup, without the row added after it", async () => {
    const stamp = first.key.split("/").pop()?.split(".")[0] ?? "";
    const r = await backup(["restore", "--database", "web_db", "--dump", stamp, "--into", "web_db_first"]);
    assert.equal(r.code, 0, failed(r));
    assert.equal((JSON.parse(r.stdout) as Report).restoredFrom, first.key);
    assert.equal(await sql("web_db_first", "SELECT count(*) FROM authors WHERE name = 'after the first backup'"), "0");
    assert.equal(Number(await sql("web_db_first", "SELECT count(*) FROM authors")), latest.tables["public.authors"].rows - 1);
    const missing = await backup(["restore", "--database", "web_db", "--dump", "20000101T000000Z", "--into", "web_db_none"]);
    assert.equal(missing.code, 1);
    assert.match(errorOf(missing), /no complete backup 20000101T000000Z of web_db/);
    assert.equal(await databaseExists("web_db_none"), false);
  });

  test("restore --all --suffix: each database's latest dump into a fresh database beside it", async () => {
    const r = await backup(["restore", "--all", "--suffix", "_all"]);
    assert.equal(r.code, 0, failed(r));
    assert.deepEqual((JSON.parse(r.stdout) as Report[]).map((x) => x.database), ["web_db_all", "shop_db_all"]);
    assert.deepEqual(await fingerprint("web_db_all"), latest);
    assert.deepEqual(await fingerprint("shop_db_all"), await fingerprint("shop_db"));
  });

  test("restore in place: refused while the app is connected; with it stopped, the damaged database is back as dumped", async () => {
    const dir = tempDir("backup-app-session");
    const session = spawnServer("app-session", "/usr/bin/psql", ["-X", "-h", pg.host, "-p", String(pg.port), "-U", "web_user", "-d", "web_db", "-c", "SELECT pg_sleep(60)"], path.join(dir, "psql.log"), { env: { PATH: "/usr/bin:/bin", PGPASSWORD: PASSWORDS.web_user } });
    await waitFor("the app's session", async () => (await sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'web_db'")) !== "0");
    const busy = await backup(["restore", "--database", "web_db", "--in-place"]);
    assert.equal(busy.code, 1);
    assert.match(errorOf(busy), /1 other session\(s\) connected to web_db: stop the app first/);
    await session.stop();
    // A backend asleep in pg_sleep notices its client gone only when it next talks to it.
    await sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'web_db'");
    await waitFor("the app's session to end", async () => (await sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = 'web_db'")) === "0");

    await sql("web_db", "DELETE FROM books WHERE id < 50; UPDATE authors SET name = 'overwritten'; DROP TABLE blobs; SELECT setval('invoice_numbers', 1); SELECT lo_unlink(content) FROM documents; DROP SCHEMA reports CASCADE;", "web_user");
    assert.notDeepEqual(await fingerprint("web_db"), latest);
    const r = await backup(["restore", "--database", "web_db", "--in-place"]);
    assert.equal(r.code, 0, failed(r));
    assert.deepEqual(await fingerprint("web_db"), latest);
  });

  test("a dump that does not match its manifest is refused before any database is touched", async () => {
    const key = (JSON.parse((await backup(["list", "--database", "web_db"])).stdout) as Manifest[])[0].key;
    const original = await s3.get(key);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    for (const [what, bytes] of [["one bit flipped", flipped], ["cut short", original.subarray(0, original.length - 100)]] as const) {
      await s3.put(key, bytes);
      const fresh = await backup(["restore", "--database", "web_db", "--into", "web_db_corrupt"]);
      assert.equal(fresh.code, BACKUP_INTEGRITY_EXIT, `${what}: ${failed(fresh)}`);
      assert.match(errorOf(fresh), new RegExp(`${key} does not match its manifest: sha256 ${sha256(bytes)}, ${bytes.length} bytes`));
      assert.equal(await databaseExists("web_db_corrupt"), false, `${what}: no database is created`);
      const inPlace = await backup(["restore", "--database", "web_db", "--in-place"]);
      assert.equal(inPlace.code, BACKUP_INTEGRITY_EXIT, `${what}: ${failed(inPlace)}`);
      const out = path.join(work, "fetched.dump");
      const fetched = await backup(["download", "--key", key, "--out", out]);
      assert.equal(fetched.code, BACKUP_INTEGRITY_EXIT);
      assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.partial`), `${what}: nothing is left that looks downloaded`);
    }
    assert.deepEqual(await fingerprint("web_db"), latest, "the database is as it was");
    await s3.put(key, original);
  });

  test("media come back byte for byte, the definitions as the broker holds them", async () => {
    const entries = JSON.parse((await backup(["list"])).stdout) as Manifest[];
    const media = entries.find((e) => e.kind === "media");
    const defs = entries.find((e) => e.kind === "rabbitmq");
    assert.ok(media && defs);
    const out = tempDir("backup-media-restore");
    const archive = path.join(out, "media.tar.gz");
    assert.equal((await backup(["download", "--key", media.key, "--out", archive])).code, 0);
    const into = path.join(out, "media");
    fs.mkdirSync(into);
    await run("/bin/tar", ["-xzf", archive, "-C", into]);
    assert.deepEqual(listing(into), listing(mediaDir));
    const defsOut = path.join(out, "definitions.json");
    assert.equal((await backup(["download", "--key", defs.key, "--out", defsOut])).code, 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(defsOut, "utf8")), await liveDefinitions());
  });

  test("a failed set fails the run without a manifest, the other sets still complete, a 5xx is retried", async () => {
    const withMissing = path.join(work, "backup-missing.json");
    fs.writeFileSync(withMissing, renderBackupSettings(settingsInput({ databases: [...settingsInput().databases, { name: "missing_db", role: "web_user" }] })));
    s3.fail({ method: "PUT", key: /^itest\/shop_db\/.*\.dump$/, status: 403, times: 1 });
    s3.fail({ method: "PUT", key: /^itest\/web_db\/.*\.dump$/, status: 503, times: 1 });
    const before = await s3.keys(`${STACK}/`);
    const r = await backupAgain([], { settings: withMissing });
    assert.equal(r.code, 1, failed(r));
    const added = (await s3.keys(`${STACK}/`)).filter((k) => !before.includes(k));
    const stamp = /(\d{8}T\d{6}Z)/.exec(added[0])?.[1] ?? "";
    assert.deepEqual(added, [
      `itest/media/web/${stamp}.manifest.json`, `itest/media/web/${stamp}.tar.gz`,
      `itest/rabbitmq/${stamp}.definitions.json`, `itest/rabbitmq/${stamp}.manifest.json`,
      `itest/web_db/${stamp}.dump`, `itest/web_db/${stamp}.manifest.json`,
    ]);
    const failures = r.logs.filter((l) => l.event === "backup-failed");
    assert.deepEqual(failures.map((l) => l.set), ["database shop_db", "database missing_db"]);
    assert.match(String(failures[0].error), /PUT itest\/shop_db\/.*\.dump: HTTP 403 InjectedFault/);
    assert.match(String(failures[1].error), /database "missing_db" does not exist/);
    assert.ok(r.logs.some((l) => l.event === "retrying" && String(l.key).startsWith("itest/web_db/")), "the 503 was retried");
    assert.match(errorOf(r), /2 of 5 backups failed/);
    assert.equal(JSON.parse((await backup(["list", "--database", "shop_db"])).stdout).length, 2, "shop_db has no new backup");
  });

  test("the backup's RabbitMQ user: no vhost permission (AMQP refused), administrator because monitoring is refused the export; a failing export names the reason, never the password", async () => {
    for (const vhost of [names.vhost("web"), "live_vhost"]) {
      const login = await amqpLogin(rabbit.port, names.RABBITMQ_BACKUP_USER, BROKER.backup, vhost);
      assert.equal(login.ok, false, `the backup user opened ${vhost}`);
    }
    // Why administrator: RabbitMQ 3.10 serves GET /api/definitions to administrators only.
    await rabbit.ctl(["set_user_tags", "live_user", "monitoring"]);
    await rabbit.ctl(["change_password", "live_user", BROKER.web]);
    const monitoring = await backup(["backup", "--database", "web_db"], { env: { ...env, [BACKUP_ENV.rabbitmqUser]: "live_user", [BACKUP_ENV.rabbitmqPassword]: BROKER.web } });
    assert.equal(monitoring.code, 0, "--database skips the definitions");
    const refused = await backupAgain([], { env: { ...env, [BACKUP_ENV.rabbitmqUser]: "live_user", [BACKUP_ENV.rabbitmqPassword]: BROKER.web } });
    assert.equal(refused.code, 1);
    const failure = refused.logs.find((l) => l.event === "backup-failed" && l.set === "rabbitmq");
    assert.match(String(failure?.error), /GET http:\/\/127\.0\.0\.1:\d+\/api\/definitions: HTTP 401 Not administrator user/);
    const wrong = await backupAgain([], { env: { ...env, [BACKUP_ENV.rabbitmqPassword]: "wrong-password-for-the-test" } });
    assert.equal(wrong.code, 1);
    assert.match(errorOf(wrong), /HTTP 401/);
    for (const r of [refused, wrong]) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes(BROKER.web) && !`${r.stdout}${r.stderr}`.includes("wrong-password-for-the-test"), "no password in any log line");
      assert.ok(!/password_hash/.test(`${r.stdout}${r.stderr}`), "no definitions in any log line");
    }
    await rabbit.ctl(["set_user_tags", "live_user"]);
  });

  test("requests signed with a wrong key are refused by the SigV4 check; a missing setting is named", async () => {
    const wrong = `wrong-${generatePassword()}`;
    const r = await backup(["list"], { env: { [BACKUP_ENV.secretAccessKey]: wrong }, secrets: [wrong] });
    assert.equal(r.code, 1);
    assert.match(errorOf(r), /HTTP 403 SignatureDoesNotMatch/);
    assert.equal(s3.requests[s3.requests.length - 1].refused, "SignatureDoesNotMatch");
    const unset = await backup(["list"], { env: { [BACKUP_ENV.bucket]: "" } });
    assert.equal(unset.code, 1);
    assert.match(errorOf(unset), /environment variable BACKUP_S3_BUCKET is not set/);
  });

  test("prune deletes only backups older than the retention, manifests first, and keeps each set's newest complete one", async () => {
    const old = ["itest/web_db/20200101T000000Z.dump", "itest/web_db/20200101T000000Z.manifest.json", "itest/web_db/20200102T000000Z.dump", "itest/web_db/20200103T000000Z.manifest.json", "itest/gone_db/20200101T000000Z.dump", "itest/gone_db/20200101T000000Z.manifest.json"];
    const kept = ["itest/gone_db/20200201T000000Z.dump", "itest/gone_db/20200201T000000Z.manifest.json", "itest/notes.txt", "other/20200101T000000Z.dump"];
    for (const key of [...old, ...kept]) await s3.put(key, Buffer.from(`{"seeded": "${key}"}`));
    const recent = (await s3.keys(`${STACK}/`)).filter((k) => ![...old, ...kept].includes(k));

    const dry = await backup(["prune", "--dry-run"]);
    assert.equal(dry.code, 0, failed(dry));
    assert.deepEqual([...(JSON.parse(dry.stdout) as { deleted: string[] }).deleted].sort(), [...old].sort());
    assert.deepEqual((await s3.keys("")).filter((k) => old.includes(k)).sort(), [...old].sort(), "a dry run deletes nothing");

    const from = s3.requests.length;
    const r = await backup(["prune"]);
    assert.equal(r.code, 0, failed(r));
    assert.equal((JSON.parse(r.stdout) as { days: number }).days, 30, "the settings' retention");
    assert.deepEqual((await s3.keys("")).sort(), [...kept, ...recent].sort());
    const deletes = s3.requests.slice(from).filter((q) => q.method === "DELETE").map((q) => q.key);
    assert.ok(deletes.indexOf("itest/web_db/20200101T000000Z.manifest.json") < deletes.indexOf("itest/web_db/20200101T000000Z.dump"), "the manifest goes first");

    // A year on, with no backup since: every set keeps its newest complete backup, nothing else.
    const later = new Date(Date.now() + 400 * 86_400_000).toISOString().slice(0, 19) + "Z";
    const y = await backup(["prune", "--now", later]);
    assert.equal(y.code, 0, failed(y));
    const left = (await s3.keys(`${STACK}/`)).filter((k) => /\d{8}T\d{6}Z\.manifest\.json$/.test(k));
    assert.deepEqual(left.map((k) => k.split("/").slice(1, -1).join("/")).sort(), ["gone_db", "media/web", "rabbitmq", "shop_db", "web_db"]);
    const webLatest = (JSON.parse((await backup(["list", "--database", "web_db"])).stdout) as Manifest[]).map((e) => e.key);
    assert.equal(webLatest.length, 1);
    const restored = await backup(["restore", "--database", "web_db", "--into", "web_db_after_prune"]);
    assert.equal(restored.code, 0, failed(restored));
    assert.deepEqual(await fingerprint("web_db_after_prune"), latest);
  });

  test("backup --prune (the scheduled run on a bucket without our lifecycle rule) prunes after a complete run only", async () => {
    const stale = ["itest/web_db/20200301T000000Z.dump", "itest/web_db/20200301T000000Z.manifest.json"];
    for (const key of stale) await s3.put(key, Buffer.from(`{"seeded": "${key}"}`));
    const refused = await backup(["backup", "--prune", "--database", "nosuch_db"]);
    assert.equal(refused.code, 1, "an unknown database fails the run");
    assert.deepEqual((await s3.keys("itest/web_db/")).filter((k) => stale.includes(k)).sort(), [...stale].sort(), "a failed run prunes nothing");
    const before = JSON.parse((await backup(["list", "--database", "web_db"])).stdout) as Manifest[];
    const r = await backup(["backup", "--prune"]);
    assert.equal(r.code, 0, failed(r));
    assert.ok(r.logs.some((l) => l.event === "pruned" && l.days === 30), JSON.stringify(r.logs.slice(-3)));
    const keys = await s3.keys("itest/web_db/");
    assert.deepEqual(keys.filter((k) => stale.includes(k)), [], "the stale backup is gone");
    const after = JSON.parse((await backup(["list", "--database", "web_db"])).stdout) as Manifest[];
    assert.equal(after.length, before.length + 1, "the new backup is there and the recent ones stay");
  });

  test("a failed scheduled backup turns the backup container's health (Docker's readiness) unhealthy until a run succeeds (issue 13 item 1)", async () => {
    // The Droplet's backup process as the model has it: the scheduler with --status, readiness = --probe.
    const config = parseConfig({ target: "droplet", droplet: { sshKeys: ["aa:bb"], adminCidrs: ["203.0.113.7/32"] }, backups: { enabled: true, schedule: "* * * * *" } }, { project: "djangostack", stack: STACK });
    const proc = backupProcesses(config)[0];
    const dir = tempDir("backup-scheduler");
    const moved = (a: string): string =>
      ({ [BACKUP_FILES.scheduler]: path.join(dir, "scheduler.py"), [BACKUP_FILES.jobs]: path.join(dir, "jobs.json"), [BACKUP_PATHS.heartbeat]: path.join(dir, "heartbeat"), [BACKUP_PATHS.status]: path.join(dir, "status") })[a] ?? a;
    fs.writeFileSync(path.join(dir, "scheduler.py"), SCHEDULER_SCRIPT);
    // The model's job, its command pointed at this test's script and settings.
    const job = backupJob(config);
    fs.writeFileSync(path.join(dir, "jobs.json"), renderSchedulerJobs([{ ...job, command: job.command.map((a) => (a === BACKUP_FILES.script ? script : a === BACKUP_FILES.settings ? settingsFile : a)) }]));
    const readiness = proc.health?.readiness;
    assert.ok(readiness?.kind === "exec");
    const probe = async (): Promise<RunResult> => {
      const [file, ...args] = readiness.command.map(moved);
      return run(file, args, { env, check: false });
    };
    s3.fail({ method: "PUT", key: /^itest\/web_db\/.*\.dump$/, status: 403, times: 1 });
    const [file, ...args] = proc.command.map(moved);
    const log = path.join(dir, "scheduler.log");
    const scheduler = spawnServer("backup-scheduler", file, [...args, "--clock-start", "2026-12-04T02:58", "--seconds-per-minute", "4"], log, { env });
    const events = (): { event: string; job?: string; exit?: number; problems?: string[] }[] =>
      fs.readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("djangostack-scheduler ")).map((l) => JSON.parse(l.slice("djangostack-scheduler ".length)));
    const alive = (): string | undefined => (scheduler.exitStatus() ? `the scheduler exited: ${fs.readFileSync(log, "utf8")}` : undefined);
    try {
      await waitFor("the status file", async () => fs.existsSync(path.join(dir, "status")), { alive });
      assert.equal((await probe()).code, 0, "healthy before any run is due");
      await waitFor("the first run to fail", async () => events().some((e) => e.event === "failed" && e.job === "backup"), { alive, timeoutMs: 60_000 });
      const unhealthy = await waitFor("readiness to fail", async () => {
        const r = await probe();
        return r.code === 1 ? r : undefined;
      }, { alive });
      assert.match(unhealthy.stdout, /^backup: the run due at 2026-12-04T02:59Z failed \(exit 1\)$/m);
      assert.ok(s3.requests.some((r) => r.method === "PUT" && /^itest\/web_db\//.test(r.key) && r.status === 403), "the failure was the injected upload refusal");
      await waitFor("a later run to succeed", async () => events().some((e) => e.event === "succeeded" && e.job === "backup"), { alive, timeoutMs: 60_000 });
      await waitFor("readiness to pass again", async () => (await probe()).code === 0, { alive });
    } finally {
      await scheduler.stop();
    }
    // A status nobody rewrites (a stuck scheduler) fails the probe too.
    fs.utimesSync(path.join(dir, "status"), new Date(Date.now() - 10 * 60_000), new Date(Date.now() - 10 * 60_000));
    const stale = await probe();
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /the status is \d+s old: the scheduler is stuck/);
  });
});
