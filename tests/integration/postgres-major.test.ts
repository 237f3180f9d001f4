/**
 * Issue 9 item 11: a PostgreSQL major version change never starts a server on the old data
 * directory. The postgres process's own command (the rendered guard, then the entrypoint) runs
 * against Debian's PostgreSQL 15, as the postgres user, on a temp dir standing for the data volume.
 * A stand-in for the image's docker-entrypoint.sh does what the real one does for `postgres ...`
 * (docker-library/postgres docker-entrypoint.sh: initdb only when $PGDATA/PG_VERSION is missing, then
 * exec the server). Debian 12 ships only PostgreSQL 15, so "another major" is a stack configured for
 * 16 (PG_MAJOR=16, as that image sets it) meeting a real 15 cluster, and a 15 server meeting a cluster
 * whose PG_VERSION says 14.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildModel } from "../../src/model/build";
import * as names from "../../src/model/names";
import { process as modelProcess, stackConfig } from "./fixtures";
import { RunResult, ServerProcess, User, chownR, freePort, requireBinary, run, spawnServer, systemUser, tempDir, useHarness, waitReady } from "./harness/process";
import { generatePassword } from "./harness/secrets";

useHarness();

const PG_BIN = "/usr/lib/postgresql/15/bin";
const VOLUME_ROOT = "/var/lib/postgresql/data";
let user: User;
let bin: string;
let pwfile: string;
let psql: string;
let pgIsReady: string;
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/** Mirrors docker-entrypoint.sh's _main for `postgres ...`: initdb on an empty PGDATA only, then exec the server (on loopback). */
const STAND_IN = `#!/bin/sh
set -eu
[ "$1" = postgres ] || exec "$@"
shift
if [ -s "$PGDATA/PG_VERSION" ]; then
  echo "stand-in entrypoint: PostgreSQL Database directory appears to contain a database; Skipping initialization"
else
  echo "stand-in entrypoint: initdb" > "$STANDIN_MARKS/initdb"
  mkdir -p "$PGDATA"; chmod 700 "$PGDATA"
  initdb -D "$PGDATA" -U postgres --pwfile="$STANDIN_PWFILE" --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync
fi
exec postgres "$@" -p "$STANDIN_PORT" -k "$STANDIN_SOCKET" -c listen_addresses=127.0.0.1 -c fsync=off
`;

before(() => {
  requireBinary(path.join(PG_BIN, "postgres"), "postgresql");
  psql = requireBinary("/usr/bin/psql", "postgresql-client");
  pgIsReady = requireBinary("/usr/bin/pg_isready", "postgresql-client");
  user = systemUser("postgres", "postgresql");
  bin = tempDir("pg-major-bin");
  fs.writeFileSync(path.join(bin, "docker-entrypoint.sh"), STAND_IN, { mode: 0o755 });
  pwfile = path.join(bin, "pwfile");
  fs.writeFileSync(pwfile, generatePassword(), { mode: 0o600 });
  chownR(bin, user);
});

/** The postgres process of a local stack configured for `major`. */
function postgresProcess(major: string) {
  const config = stackConfig("local", { apps: [{ name: "web" }], data: { postgres: { version: major } } });
  return modelProcess(buildModel(config), names.POSTGRES);
}

interface Volume {
  root: string;
  socket: string;
  marks: string;
  port: number;
}

async function volume(label: string): Promise<Volume> {
  const dir = tempDir(label);
  const v = { root: path.join(dir, "volume"), socket: path.join(dir, "socket"), marks: path.join(dir, "marks"), port: await freePort() };
  for (const d of [v.root, v.socket, v.marks]) fs.mkdirSync(d);
  chownR(dir, user);
  return v;
}

/** The model's command and env with the volume's mount moved to `v.root`, PG_MAJOR as the image sets it. */
function launch(major: string, v: Volume, imageMajor = major): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const p = postgresProcess(major);
  assert.equal(p.volumes.find((m) => m.kind === "data")?.mountPath, VOLUME_ROOT);
  const command = p.command.map((arg) => arg.split(VOLUME_ROOT).join(v.root));
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(p.env).map(([k, val]) => [k, val.split(VOLUME_ROOT).join(v.root)])),
    PG_MAJOR: imageMajor,
    PATH: `${bin}:${PG_BIN}:/usr/bin:/bin`,
    LANG: "C.UTF-8",
    STANDIN_PWFILE: pwfile,
    STANDIN_PORT: String(v.port),
    STANDIN_SOCKET: v.socket,
    STANDIN_MARKS: v.marks,
  };
  return { file: command[0], args: command.slice(1), env };
}

async function start(major: string, v: Volume): Promise<ServerProcess> {
  const l = launch(major, v);
  const server = spawnServer(`postgres-${major}`, l.file, l.args, path.join(path.dirname(v.root), `postgres-${servers.length}.log`), { user, env: l.env, stopSignal: "SIGINT" });
  servers.push(server);
  await waitReady(server, "accepting connections", async () => (await run(pgIsReady, ["-q", "-h", "127.0.0.1", "-p", String(v.port)], { check: false })).code === 0);
  return server;
}

/** Runs the command to completion, as the container runs it. */
function runOnce(major: string, v: Volume, imageMajor = major): Promise<RunResult> {
  const l = launch(major, v, imageMajor);
  return run(l.file, l.args, { env: l.env, uid: user.uid, gid: user.gid, check: false, timeoutMs: 30_000 });
}

const sql = (v: Volume, query: string): Promise<RunResult> => run(psql, ["-X", "-h", v.socket, "-p", String(v.port), "-U", "postgres", "-d", "postgres", "-tAc", query], { env: { PATH: "/usr/bin:/bin" } });

/** Every file under the volume: path, mode and content hash, so "untouched" is a string comparison. */
function fingerprint(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      const st = fs.lstatSync(full);
      if (e.isDirectory()) {
        lines.push(`${path.relative(root, full)}/ ${st.mode.toString(8)}`);
        walk(full);
      } else lines.push(`${path.relative(root, full)} ${st.mode.toString(8)} ${st.mtimeMs} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`);
    }
  };
  walk(root);
  return lines.join("\n");
}

/** The clusters on a volume: their PG_VERSION files (each database's base/<oid>/PG_VERSION left out). */
const clusters = (root: string): string[] =>
  fingerprint(root)
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((f) => /(^|\/)PG_VERSION$/.test(f) && !/(^|\/)base\/[0-9]+\/PG_VERSION$/.test(f));

describe("the postgres process on a real PostgreSQL 15", () => {
  let v: Volume;
  let first: ServerProcess;

  test("(a) a fresh, empty volume: the guard hands over, the entrypoint initialises, the server serves", async () => {
    v = await volume("pg-major-fresh");
    first = await start("15", v);
    assert.ok(fs.existsSync(path.join(v.marks, "initdb")), "the entrypoint did not initialise");
    await sql(v, "CREATE TABLE kept (id int); INSERT INTO kept SELECT generate_series(1, 42);");
    assert.equal((await sql(v, "SELECT count(*) FROM kept")).stdout.trim(), "42");
    assert.equal(fs.readFileSync(path.join(v.root, "pgdata", "PG_VERSION"), "utf8"), "15\n");
    await first.stop();
  });

  test("(b) the same volume again (a replaced container): starts without initdb, the data intact", async () => {
    fs.rmSync(path.join(v.marks, "initdb"));
    const again = await start("15", v);
    assert.ok(!fs.existsSync(path.join(v.marks, "initdb")), "initdb ran on an existing cluster");
    assert.match(fs.readFileSync(again.logFile, "utf8"), /Skipping initialization/);
    assert.equal((await sql(v, "SELECT count(*) FROM kept")).stdout.trim(), "42");
    await again.stop();
  });

  test("(c) configured for 16 on the 15 cluster: refused with the procedure, the volume untouched, no new cluster", async () => {
    const before = fingerprint(v.root);
    const r = await runOnce("16", v);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /refusing to start PostgreSQL 16: .*\/pgdata holds a PostgreSQL 15 cluster/);
    assert.match(r.stderr, /Nothing was changed/);
    assert.match(r.stderr, /docker exec djangostack-local-postgres pg_dumpall -U postgres > pg15\.sql/);
    assert.match(r.stderr, /docker run -d --name djangostack-local-postgres-restore .* postgres:16-bookworm/);
    assert.ok(!fs.existsSync(path.join(v.marks, "initdb")), "the entrypoint ran");
    assert.equal(fingerprint(v.root), before, "the volume changed");
    assert.deepEqual(clusters(v.root), ["pgdata/PG_VERSION"]);
  });

  test("(c) a 15 server on a cluster whose PG_VERSION says 14: today's entrypoint path fails late, the guard refuses first", async () => {
    const w = await volume("pg-major-14");
    fs.cpSync(path.join(v.root, "pgdata"), path.join(w.root, "pgdata"), { recursive: true });
    // cpSync does not keep a directory's mode on every Node version; PostgreSQL insists on 0700.
    fs.chmodSync(path.join(w.root, "pgdata"), 0o700);
    fs.writeFileSync(path.join(w.root, "pgdata", "PG_VERSION"), "14\n");
    chownR(w.root, user);
    const before = fingerprint(w.root);
    // Without the guard (the command before): the entrypoint skips initdb, the server refuses the files.
    const l = launch("15", w);
    const bare = await run(path.join(bin, "docker-entrypoint.sh"), l.args.slice(l.args.indexOf("postgres-guard") + 1), { env: l.env, uid: user.uid, gid: user.gid, check: false, timeoutMs: 30_000 });
    assert.notEqual(bare.code, 0);
    assert.match(bare.stdout, /Skipping initialization/);
    assert.match(bare.stderr, /database files are incompatible with server/);
    assert.doesNotMatch(bare.stderr, /upgrade|pg_dumpall/);
    // With it: refused before the entrypoint, with what to do.
    const guarded = await runOnce("15", w);
    assert.equal(guarded.code, 1);
    assert.match(guarded.stderr, /refusing to start PostgreSQL 15: .*\/pgdata holds a PostgreSQL 14 cluster/);
    assert.equal(guarded.stdout, "", "the entrypoint ran");
    assert.equal(fingerprint(w.root), before, "the volume changed");
  });

  test("(d) an empty PGDATA beside a cluster elsewhere on the volume: refused, no new cluster initialised", async () => {
    const w = await volume("pg-major-sibling");
    fs.cpSync(path.join(v.root, "pgdata"), path.join(w.root, "old-pgdata"), { recursive: true });
    fs.chmodSync(path.join(w.root, "old-pgdata"), 0o700);
    chownR(w.root, user);
    const before = fingerprint(w.root);
    const r = await runOnce("15", w);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /old-pgdata holds a PostgreSQL 15 cluster but PGDATA .*\/pgdata has none/);
    assert.ok(!fs.existsSync(path.join(w.marks, "initdb")) && !fs.existsSync(path.join(w.root, "pgdata")), "a new cluster was started");
    assert.equal(fingerprint(w.root), before);
    assert.deepEqual(clusters(w.root), ["old-pgdata/PG_VERSION"]);
  });
});
