/**
 * A throwaway PostgreSQL 15 cluster on 127.0.0.1: initdb with scram-sha-256 and a superuser
 * password, run as the `postgres` system user (the server refuses root) in a temp dir.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RunResult, ServerProcess, chownR, freePort, requireBinary, run, spawnServer, systemUser, tempDir, waitReady } from "./process";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const PKG = "postgresql";

export interface PostgresServer {
  host: string;
  port: number;
  superuser: string;
  password: string;
  dir: string;
  server: ServerProcess;
  /** Runs psql against this server (as `user`/`password`, default the superuser). */
  psql(args: string[], opts?: { user?: string; password?: string; database?: string; check?: boolean; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** A libpq URL for a role. */
  url(user: string, password: string, database: string): string;
  stop(): Promise<void>;
}

export async function startPostgres(opts: { password: string; label?: string }): Promise<PostgresServer> {
  const initdb = requireBinary(path.join(PG_BIN, "initdb"), PKG);
  const postgres = requireBinary(path.join(PG_BIN, "postgres"), PKG);
  const psqlBin = requireBinary("/usr/bin/psql", "postgresql-client");
  const pgIsReady = requireBinary("/usr/bin/pg_isready", "postgresql-client");
  const user = systemUser("postgres", PKG);
  const dir = tempDir(opts.label ?? "postgres");
  const data = path.join(dir, "data");
  const pwfile = path.join(dir, "pwfile");
  fs.writeFileSync(pwfile, opts.password, { mode: 0o600 });
  chownR(dir, user);
  await run(initdb, ["-D", data, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], {
    uid: user.uid,
    gid: user.gid,
    cwd: dir,
    env: { PATH: process.env.PATH, LANG: "C.UTF-8" },
  });
  fs.rmSync(pwfile);
  const port = await freePort();
  const server = spawnServer(
    "postgres",
    postgres,
    ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "password_encryption=scram-sha-256", "-c", "fsync=off", "-c", "max_connections=100"],
    path.join(dir, "postgres.log"),
    // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, exit cleanly.
    { user, cwd: dir, stopSignal: "SIGINT", env: { PATH: process.env.PATH, LANG: "C.UTF-8" } },
  );
  const host = "127.0.0.1";
  await waitReady(server, "accepting connections", async () => (await run(pgIsReady, ["-q", "-h", host, "-p", String(port)], { check: false })).code === 0);
  const psql: PostgresServer["psql"] = (args, o = {}) =>
    run(psqlBin, ["-X", "-h", host, "-p", String(port), "-U", o.user ?? "postgres", "-d", o.database ?? "postgres", ...args], {
      check: o.check,
      env: { PATH: process.env.PATH, PGPASSWORD: o.password ?? opts.password, PGCONNECT_TIMEOUT: "5", ...o.env },
    });
  return {
    host,
    port,
    superuser: "postgres",
    password: opts.password,
    dir,
    server,
    psql,
    url: (u, p, db) => `postgres://${encodeURIComponent(u)}:${encodeURIComponent(p)}@${host}:${port}/${db}`,
    stop: () => server.stop(),
  };
}
