/**
 * A throwaway PostgreSQL 15 cluster on 127.0.0.1, initialised the way the official image's
 * docker-entrypoint.sh does it (`initdb --pwfile ... --auth-host=scram-sha-256`: TCP logins need a
 * scram password, logins on the Unix socket are trusted), run as the `postgres` system user (the
 * server refuses root) in a temp dir that also holds the socket.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RunResult, ServerProcess, chownR, freePort, requireBinary, run, spawnServer, systemUser, tempDir, waitReady } from "./process";

const PG_BIN = "/usr/lib/postgresql/15/bin";
const PKG = "postgresql";

export interface PostgresServer {
  host: string;
  port: number;
  /** Directory of the server's Unix socket (the container's /var/run/postgresql). */
  socketDir: string;
  superuser: string;
  password: string;
  dir: string;
  server: ServerProcess;
  /**
   * Runs psql against this server: over TCP as `user`/`password` when a password is given, else as the
   * superuser over the trusted socket (its password may have been changed by an init since).
   */
  psql(args: string[], opts?: { user?: string; password?: string; database?: string; check?: boolean; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** A libpq URL for a role. */
  url(user: string, password: string, database: string): string;
  stop(): Promise<void>;
}

/** `password`: the one initdb gives the superuser (the image's POSTGRES_PASSWORD). */
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
  await run(initdb, ["-D", data, "-U", "postgres", "--auth-host=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], {
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
    run(psqlBin, ["-X", "-h", o.password === undefined ? dir : host, "-p", String(port), "-U", o.user ?? "postgres", "-d", o.database ?? "postgres", ...args], {
      check: o.check,
      env: { PATH: process.env.PATH, ...(o.password === undefined ? {} : { PGPASSWORD: o.password }), PGCONNECT_TIMEOUT: "5", ...o.env },
    });
  return {
    host,
    port,
    socketDir: dir,
    superuser: "postgres",
    password: opts.password,
    dir,
    server,
    psql,
    url: (u, p, db) => `postgres://${encodeURIComponent(u)}:${encodeURIComponent(p)}@${host}:${port}/${db}`,
    stop: () => server.stop(),
  };
}
