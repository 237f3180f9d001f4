/**
 * The Postgres start-up guard (src/render/postgres-guard.ts) under dash, with a stand-in
 * `docker-entrypoint.sh` that records its arguments: every branch, and that a refusal never reaches
 * the entrypoint (so nothing can initdb). tests/integration/postgres-major.test.ts runs it with
 * Debian's PostgreSQL 15; the model tests check where it sits in the container command.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PostgresGuardInput, RETIRED_MARKER, renderPostgresGuard } from "../../src/render/postgres-guard";
import { buildModel } from "../../src/model/build";
import { parseConfig } from "../../src/config/schema";

const base = fs.mkdtempSync(path.join(os.tmpdir(), "djs-pgguard-unit-"));
after(() => fs.rmSync(base, { recursive: true, force: true }));
let n = 0;

const docker: PostgresGuardInput["target"] = { kind: "docker", container: "djangostack-local-postgres", volume: "djangostack-local-postgres-data" };

/** A volume root with files in it (path -> content), a bin dir with the stand-in entrypoint. */
function setup(files: Record<string, string>): { root: string; bin: string; marks: string } {
  const dir = path.join(base, String(n++));
  const root = path.join(dir, "volume");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(bin);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  const marks = path.join(dir, "entrypoint.args");
  fs.writeFileSync(path.join(bin, "docker-entrypoint.sh"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${marks}\n`, { mode: 0o755 });
  return { root, bin, marks };
}

function guard(files: Record<string, string>, opts: { major?: string; pgdata?: string; pgMajor?: string; target?: PostgresGuardInput["target"] } = {}) {
  const { root, bin, marks } = setup(files);
  const script = renderPostgresGuard({ major: opts.major ?? "16", volumeRoot: root, target: opts.target ?? docker });
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:/usr/bin:/bin`, PGDATA: opts.pgdata ?? `${root}/pgdata` };
  if (opts.pgMajor) env.PG_MAJOR = opts.pgMajor;
  const r = spawnSync("dash", ["-c", script, "postgres-guard", "postgres", "-c", "max_connections=100"], { env, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr, entrypoint: fs.existsSync(marks) ? fs.readFileSync(marks, "utf8") : undefined, root };
}

describe("renderPostgresGuard", () => {
  it("an empty volume: hands the server's arguments to the image's entrypoint (which runs initdb)", () => {
    const r = guard({}, { pgMajor: "16" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.entrypoint, "postgres\n-c\nmax_connections=100\n");
  });

  it("a cluster of the configured major: starts it", () => {
    assert.equal(guard({ "pgdata/PG_VERSION": "16\n", "lost+found/.keep": "" }).entrypoint, "postgres\n-c\nmax_connections=100\n");
  });

  it("a cluster of another major: refuses with the dump-and-restore procedure, for Docker names", () => {
    const r = guard({ "pgdata/PG_VERSION": "15\n" });
    assert.equal(r.status, 1);
    assert.equal(r.entrypoint, undefined, "the entrypoint ran");
    assert.match(r.stderr, /refusing to start PostgreSQL 16: .*\/pgdata holds a PostgreSQL 15 cluster/);
    assert.match(r.stderr, /Nothing was changed/);
    assert.match(r.stderr, /docker exec djangostack-local-postgres pg_dumpall -U postgres > pg15\.sql/);
    assert.match(r.stderr, /-v djangostack-local-postgres-data:\/v postgres:16-bookworm sh -c 'mv \/v\/pgdata \/v\/pgdata-15 && touch \/v\/pgdata-15\/DJANGOSTACK_RETIRED'/);
    assert.match(r.stderr, /docker exec -i djangostack-local-postgres-restore psql -X -q -U postgres -d postgres < pg15\.sql/);
    assert.match(r.stderr, /docs\/postgres-upgrade\.md/);
  });

  it("for Kubernetes: the same procedure with kubectl in the stack's namespace", () => {
    const r = guard({ "pgdata/PG_VERSION": "17\n" }, { target: { kind: "kubernetes", namespace: "shop", statefulSet: "postgres", claim: "postgres-data-postgres-0" } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /kubectl -n shop exec postgres-0 -c postgres -- pg_dumpall -U postgres > pg17\.sql/);
    assert.match(r.stderr, /claim postgres-data-postgres-0/);
  });

  it("an empty PGDATA beside a cluster elsewhere on the volume: refuses instead of initialising a new one", () => {
    for (const where of ["PG_VERSION", "old/PG_VERSION", "17/docker/PG_VERSION"]) {
      const r = guard({ [where]: "15\n" });
      assert.equal(r.status, 1, where);
      assert.equal(r.entrypoint, undefined, where);
      assert.match(r.stderr, /holds a PostgreSQL 15 cluster/, where);
      assert.match(r.stderr, /PGDATA .* has no cluster/, where);
    }
    const same = guard({ "copy/PG_VERSION": "16\n" });
    assert.equal(same.status, 1);
    assert.match(same.stderr, /copy holds a PostgreSQL 16 cluster but PGDATA .* has none/);
  });

  it("a cluster retired on purpose (the upgrade's step 2) does not block a new one", () => {
    const r = guard({ "pgdata-15/PG_VERSION": "15\n", [`pgdata-15/${RETIRED_MARKER}`]: "" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.entrypoint);
  });

  it("refuses PGDATA off the volume, an image of another major, and a non-empty PGDATA without PG_VERSION", () => {
    const off = guard({}, { pgdata: "/var/lib/postgresql/18/docker" });
    assert.equal(off.status, 1);
    assert.match(off.stderr, /is not on the data volume/);
    const image = guard({}, { pgMajor: "17" });
    assert.equal(image.status, 1);
    assert.match(image.stderr, /the image runs PostgreSQL 17 but data.postgres.version is 16/);
    const half = guard({ "pgdata/base/1/1234": "x" });
    assert.equal(half.status, 1);
    assert.match(half.stderr, /not empty but has no PG_VERSION/);
    for (const r of [off, image, half]) assert.equal(r.entrypoint, undefined);
  });

  it("rejects inputs that would change the script", () => {
    assert.throws(() => renderPostgresGuard({ major: "16; rm -rf /", volumeRoot: "/v", target: docker }), /major/);
    assert.throws(() => renderPostgresGuard({ major: "16", volumeRoot: "/v data", target: docker }), /volumeRoot/);
    assert.throws(() => renderPostgresGuard({ major: "16", volumeRoot: "/v", target: { ...docker, container: "x'; rm -rf /" } }), /name/);
  });
});

describe("the postgres process runs the guard before the image's entrypoint", () => {
  const model = (target: string) =>
    buildModel(
      parseConfig(
        { target, apps: [{ name: "web" }], data: { postgres: { mode: "container" } }, ...(target === "kubernetes" ? { domain: "example.com", kubernetes: { namespace: "shop" } } : {}) },
        { project: "djangostack", stack: target === "kubernetes" ? "production" : "local" },
      ),
    );
  for (const target of ["docker", "kubernetes"]) {
    it(`${target}: sh -c <guard> postgres-guard postgres -c ...; the guard execs docker-entrypoint.sh`, () => {
      const pg = model(target).processes.find((p) => p.name === "postgres");
      assert.ok(pg);
      const [sh, c, script, name, ...args] = pg.command;
      assert.deepEqual([sh, c, name, args[0]], ["sh", "-c", "postgres-guard", "postgres"]);
      assert.ok(args.includes("password_encryption=scram-sha-256"));
      assert.match(script, /^want=16$/m);
      assert.match(script, /^root=\/var\/lib\/postgresql\/data$/m);
      assert.match(script, /^exec docker-entrypoint\.sh "\$@"$/m);
      assert.ok(pg.env.PGDATA?.startsWith("/var/lib/postgresql/data/"));
      assert.match(script, target === "kubernetes" ? /kubectl -n shop exec postgres-0/ : /docker exec djangostack-local-postgres pg_dumpall/);
    });
  }
});
