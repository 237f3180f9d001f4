/**
 * PostgreSQL with the rendered init SQL. A two-app local stack (web + shop): the postgres-init
 * process's own command runs the rendered init.sql with psql over the server's trusted Unix socket
 * (as the container shares it) against a real PostgreSQL 15 initialised like the official image,
 * then each app role is checked against its own and the other app's database, the init is re-run,
 * the sample app migrates with its DATABASE_URL, and every credential is rotated on the populated
 * database.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PATHS } from "../../src/model/build";
import * as names from "../../src/model/names";
import { Credentials, Stack, generateCredentials, loadStack, process, processCommand, processEnv, renderedFile } from "./fixtures";
import { APP_DIR, runAppCommand } from "./harness/django";
import { RunResult, run, tempDir, useHarness } from "./harness/process";
import { PostgresServer, startPostgres } from "./harness/postgres";
import { generatePassword } from "./harness/secrets";
import { scanArgv } from "./harness/argv-scan";

useHarness();

const APPS = ["web", "shop"];
let stack: Stack;
let creds: Credentials;
let pg: PostgresServer;
let initDir: string;

before(async () => {
  stack = await loadStack("local", { apps: APPS.map((name) => ({ name })) });
  creds = generateCredentials(stack.config);
  pg = await startPostgres({ password: creds.postgresBootstrap });
  const init = await renderedFile(stack, names.POSTGRES_INIT, creds, "/init.sql");
  assert.equal(init.path, `${PATHS.postgresInit}/init.sql`);
  initDir = tempDir("pg-init");
  fs.writeFileSync(path.join(initDir, "init.sql"), init.artifact);
});

/**
 * The postgres-init process exactly as the realizer runs it: its command (`sh -c "until pg_isready;
 * ...; exec psql -X -v ON_ERROR_STOP=1 -f .../init.sql"`), its env and secret env; only the socket
 * directory points at the loopback server's and the mount path at the temp copy.
 */
async function runInit(c: Credentials = creds, binDirs: string[] = [], rendered: { stack: Stack; dir: string } = { stack, dir: initDir }): Promise<RunResult> {
  const p = process(rendered.stack.model, names.POSTGRES_INIT);
  const env = processEnv(rendered.stack, names.POSTGRES_INIT, c, {}, rendered.dir);
  assert.equal(env.PGHOST, PATHS.postgresSocket, "the init connects over the shared socket");
  assert.equal(env.PGPASSWORD, undefined, "the init needs no password to log in");
  const command = p.command.map((arg) => arg.split(PATHS.postgresInit).join(rendered.dir));
  for (const secret of [c.postgresSuperuser, c.database.web, c.database.shop]) assert.ok(!command.join(" ").includes(secret), "a password on the command line");
  return run(command[0], command.slice(1), {
    check: false,
    timeoutMs: 60_000,
    env: { PATH: [...binDirs, "/usr/bin", "/bin"].join(":"), ...env, PGHOST: pg.socketDir, PGPORT: String(pg.port) },
  });
}

async function asSuperuser(password: string): Promise<RunResult> {
  return pg.psql(["-tAc", "SELECT 1"], { password, check: false });
}

async function asRole(app: string, database: string, sql: string, password = creds.database[app]): Promise<RunResult> {
  return pg.psql(["-v", "ON_ERROR_STOP=1", "-tAc", sql], { user: names.role(app), password, database, check: false });
}

describe("PostgreSQL init rendered for two apps", () => {
  test("runs with psql as the postgres-init process runs it", async () => {
    const r = await runInit();
    assert.equal(r.code, 0, `init failed:\n${r.stderr}`);
    const roles = await pg.psql(["-tAc", "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname LIKE '%\\_user' ORDER BY 1"]);
    assert.deepEqual(roles.stdout.trim().split("\n"), ["shop_user|f|f|f", "web_user|f|f|f"]);
    const dbs = await pg.psql(["-tAc", "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%\\_db' ORDER BY 1"]);
    assert.deepEqual(dbs.stdout.trim().split("\n"), ["shop_db|shop_user", "web_db|web_user"]);
  });

  for (const app of APPS) {
    test(`role of ${app} connects to its own database and can create tables`, async () => {
      const db = names.database(app);
      const r = await asRole(app, db, `CREATE TABLE probe_${app} (id int); INSERT INTO probe_${app} VALUES (1); SELECT current_user || '@' || current_database() || ':' || count(*) FROM probe_${app};`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split("\n").pop(), `${names.role(app)}@${db}:1`);
    });
  }

  for (const [app, other] of [["web", "shop"], ["shop", "web"]]) {
    test(`role of ${app} is refused on the database of ${other}`, async () => {
      const r = await asRole(app, names.database(other), "SELECT 1");
      assert.notEqual(r.code, 0, `${names.role(app)} could connect to ${names.database(other)}`);
      assert.match(r.stderr, /permission denied for database|does not have CONNECT privilege/);
    });
  }

  test("a role is refused with a wrong password (scram-sha-256)", async () => {
    const r = await asRole("web", names.database("web"), "SELECT 1", generatePassword());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /password authentication failed for user "web_user"/);
  });

  test("the init is idempotent, and a rotated password takes effect on the re-run", async () => {
    const again = await runInit();
    assert.equal(again.code, 0, `second init failed:\n${again.stderr}`);
    // Data survives a re-run.
    const kept = await asRole("web", names.database("web"), "SELECT count(*) FROM probe_web");
    assert.equal(kept.stdout.trim(), "1", kept.stderr);
    const rotated: Credentials = { ...creds, database: { ...creds.database, web: generatePassword() } };
    const third = await runInit(rotated);
    assert.equal(third.code, 0, `third init failed:\n${third.stderr}`);
    assert.notEqual((await asRole("web", names.database("web"), "SELECT 1")).code, 0, "old password still accepted");
    assert.equal((await asRole("web", names.database("web"), "SELECT 1", rotated.database.web)).code, 0);
    // Back to the fixture's password for the tests that follow.
    assert.equal((await runInit()).code, 0);
  });

  test("the init sets the superuser's password: the bootstrap one no longer logs in over TCP", async () => {
    assert.notEqual((await asSuperuser(creds.postgresBootstrap)).code, 0, "bootstrap password still accepted");
    assert.equal((await asSuperuser(creds.postgresSuperuser)).code, 0);
  });

  test("the init fails clearly, before changing anything, when a password is missing from its env", async () => {
    const env = processEnv(stack, names.POSTGRES_INIT, creds, {}, initDir);
    delete env[names.dbPasswordEnv("shop")];
    const r = await run("/usr/bin/psql", ["-X", "-v", "ON_ERROR_STOP=1", "-f", path.join(initDir, "init.sql")], {
      check: false,
      env: { PATH: "/usr/bin:/bin", ...env, PGHOST: pg.socketDir, PGPORT: String(pg.port) },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /environment variable DB_PASSWORD_SHOP is empty or not set/);
  });

  test("the sample app's migrate process (migrate + collectstatic) succeeds with the app's DATABASE_URL", async () => {
    const dir = tempDir("migrate");
    const endpoints = { postgres: { host: pg.host, port: pg.port }, redis: { host: "127.0.0.1", port: 1 }, rabbitmq: { host: "127.0.0.1", port: 1 } };
    const env = processEnv(stack, names.migrate("web"), creds, endpoints, dir);
    assert.match(env.DATABASE_URL, new RegExp(`^postgres://web_user:[A-Za-z0-9]{32}@127\\.0\\.0\\.1:${pg.port}/web_db$`));
    const r = await runAppCommand(processCommand(stack, names.migrate("web"), dir), { env, home: dir, check: false });
    assert.equal(r.code, 0, `migrate failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Applying auth\.0001_initial\.\.\. OK/);
    // Tables belong to the app role, in the app database only.
    const owner = await pg.psql(["-tAc", "SELECT tableowner FROM pg_tables WHERE tablename = 'django_migrations'"], { database: "web_db" });
    assert.equal(owner.stdout.trim(), "web_user");
    const other = await pg.psql(["-tAc", "SELECT count(*) FROM pg_tables WHERE tablename = 'django_migrations'"], { database: "shop_db" });
    assert.equal(other.stdout.trim(), "0");
    // Nothing left unapplied.
    const check = await runAppCommand(["python", "manage.py", "migrate", "--check", "--noinput"], { env, home: dir, check: false });
    assert.equal(check.code, 0, `migrate --check:\n${check.stdout}\n${check.stderr}`);
    // collectstatic wrote hashed files into the static release dir (the migrate process's volume).
    assert.ok(fs.existsSync(path.join(env.DJANGO_STATIC_ROOT, "staticfiles.json")), "collectstatic wrote no manifest");
    assert.ok(fs.existsSync(APP_DIR));
  });

  test("rotation on a populated database: every password changes, old ones are refused, the app reconnects", async () => {
    const dir = tempDir("rotate");
    const endpoints = { postgres: { host: pg.host, port: pg.port }, redis: { host: "127.0.0.1", port: 1 }, rabbitmq: { host: "127.0.0.1", port: 1 } };
    const migrated = await asRole("web", names.database("web"), "SELECT count(*) FROM django_migrations");
    assert.equal(migrated.code, 0, migrated.stderr);
    const rows = Number(migrated.stdout.trim());
    assert.ok(rows > 10, "the database holds the app's data");
    // secrets.rotation bumped: every generated credential is new, the bootstrap one stays.
    const rotated: Credentials = {
      ...creds,
      postgresSuperuser: generatePassword(),
      database: { web: generatePassword(), shop: generatePassword() },
    };
    const r = await runInit(rotated);
    assert.equal(r.code, 0, `init with rotated credentials failed:\n${r.stderr}`);
    assert.notEqual((await asSuperuser(creds.postgresSuperuser)).code, 0, "old superuser password still accepted");
    assert.equal((await asSuperuser(rotated.postgresSuperuser)).code, 0);
    for (const app of APPS) {
      assert.notEqual((await asRole(app, names.database(app), "SELECT 1")).code, 0, `old password of ${app} still accepted`);
      assert.equal((await asRole(app, names.database(app), "SELECT 1", rotated.database[app])).code, 0, `${app} refused with its new password`);
    }
    // The app's next release gets the new DATABASE_URL and finds its data; the old URL is refused.
    const oldEnv = processEnv(stack, names.web("web"), creds, endpoints, dir);
    const newEnv = processEnv(stack, names.web("web"), rotated, endpoints, dir);
    const check = ["python", "manage.py", "migrate", "--check", "--noinput"];
    const after = await runAppCommand(check, { env: newEnv, home: dir, check: false });
    assert.equal(after.code, 0, `the app with rotated credentials:\n${after.stdout}\n${after.stderr}`);
    const before = await runAppCommand(check, { env: oldEnv, home: dir, check: false });
    assert.notEqual(before.code, 0, "the app with the old credentials still connects");
    assert.match(before.stderr, /password authentication failed for user "web_user"/);
    const kept = await asRole("web", names.database("web"), "SELECT count(*) FROM django_migrations", rotated.database.web);
    assert.equal(Number(kept.stdout.trim()), rows, "the data survived the rotation");
    // Back to the fixture's credentials: the init needs no old password to do that either.
    assert.equal((await runInit()).code, 0);
  });
});

describe("an app removed from config", () => {
  test("keeps its database and data, but its role can no longer log in and its open session ends; adding it back restores the login", async () => {
    const webOnly = await loadStack("local", { apps: [{ name: "web" }] });
    const dir = tempDir("pg-init-web-only");
    fs.writeFileSync(path.join(dir, "init.sql"), (await renderedFile(webOnly, names.POSTGRES_INIT, creds, "/init.sql")).artifact);
    const shopDb = names.database("shop");
    assert.equal((await asRole("shop", shopDb, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)")).code, 0);
    // A worker of the removed app still connected when the app goes.
    const session = spawn("psql", ["-X", "-tAc", "SELECT pg_sleep(60)"], { env: { PATH: "/usr/bin:/bin", PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: names.role("shop"), PGDATABASE: shopDb, PGPASSWORD: creds.database.shop }, stdio: "ignore" });
    const ended = new Promise<number | null>((resolve) => session.on("exit", (code) => resolve(code)));
    for (let i = 0; i < 50; i++) {
      const active = await pg.psql(["-tAc", `SELECT count(*) FROM pg_stat_activity WHERE usename = '${names.role("shop")}'`]);
      if (active.stdout.trim() === "1") break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const r = await runInit(creds, [], { stack: webOnly, dir });
    assert.equal(r.code, 0, r.stderr);
    const refused = await asRole("shop", shopDb, "SELECT 1");
    assert.notEqual(refused.code, 0, "the removed app's role still logs in");
    assert.match(refused.stderr, /not permitted to log in/);
    const code = await Promise.race([ended, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 10_000))]);
    assert.notEqual(code, "still running", "the removed app's open session was not ended");
    assert.notEqual(code, 0);
    const kept = await pg.psql(["-tAc", "SELECT id FROM kept"], { database: shopDb });
    assert.equal(kept.stdout.trim(), "7", "the removed app's data is still there");
    assert.equal((await asRole("web", names.database("web"), "SELECT 1")).code, 0, "the remaining app is untouched");

    assert.equal((await runInit()).code, 0);
    assert.equal((await asRole("shop", shopDb, "SELECT count(*) FROM kept")).stdout.trim(), "1", "the app added back logs in again");
  });
});

describe("no password on a command line during the init (issue 9 item 12)", () => {
  test("a /proc scan of every process while the init runs finds none; the scan did see psql", async () => {
    // A stand-in holds psql's argv for 300 ms before the real one runs, so the scan cannot miss it;
    // psql's backquoted `printf '%s' "$VAR"` runs in /bin/sh with the variable's name in its argv.
    const bin = tempDir("pg-argv-bin");
    fs.writeFileSync(path.join(bin, "psql"), '#!/bin/sh\nsleep 0.3\nexec /usr/bin/psql "$@"\n', { mode: 0o755 });
    const secrets = [creds.postgresSuperuser, creds.database.web, creds.database.shop];
    const control = await scanArgv(secrets, "never-matches-anything");
    await run("/bin/sh", ["-c", "sleep 0.3", "sh", creds.database.web]);
    // At least one: a fork of the shell, caught before its exec, carries the same argv.
    const seenByControl = (await control.stop()).hits;
    assert.ok(seenByControl.length >= 1 && seenByControl.every((h) => h.cmdline.includes("[secret]")), "the scan misses a password on a command line");
    const watcher = await scanArgv(secrets, "psql|printf");
    const r = await runInit(creds, [bin]);
    const scan = await watcher.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(scan.seen.some((c) => c.startsWith("/bin/sh ") && c.includes("psql -X -v ON_ERROR_STOP=1 -f")), `psql's argv was never seen: ${scan.seen.join(" | ")}`);
    assert.deepEqual(scan.hits, []);
    for (const c of scan.seen.filter((x) => x.includes("printf"))) assert.match(c, /printf '%s' "\$[A-Z_]+"/, "a popen shell's argv carries a value, not a name");
  });
});
