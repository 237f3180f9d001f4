/**
 * A throwaway redis-server on 127.0.0.1 with a rendered config file and `--requirepass`, the way
 * the Redis container runs it. Loopback port, data dir and foreground mode are set on the command
 * line, which takes precedence over the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RunResult, ServerProcess, chownR, freePort, requireBinary, run, spawnServer, systemUser, tempDir, waitReady } from "./process";

export interface RedisServer {
  port: number;
  password: string;
  dir: string;
  configFile: string;
  server: ServerProcess;
  /** redis-cli against this server; `auth: false` sends no password. */
  cli(args: string[], opts?: { auth?: boolean; db?: number }): Promise<RunResult>;
  url(db: number): string;
  stop(): Promise<void>;
}

export interface RedisPlacement {
  port: number;
  bind: string;
  dir: string;
}

/**
 * `config` is the redis.conf text, or a function that renders it for the loopback placement
 * (redis-server checks `dir` while parsing the file, so a container path cannot stay in it).
 */
export async function startRedis(opts: { config: string | ((at: RedisPlacement) => string); password: string; label?: string; port?: number }): Promise<RedisServer> {
  const redisServer = requireBinary("/usr/bin/redis-server", "redis-server");
  const redisCli = requireBinary("/usr/bin/redis-cli", "redis-tools");
  const user = systemUser("redis", "redis-server");
  const dir = tempDir(opts.label ?? "redis");
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  const configFile = path.join(dir, "redis.conf");
  const port = opts.port ?? (await freePort());
  fs.writeFileSync(configFile, typeof opts.config === "string" ? opts.config : opts.config({ port, bind: "127.0.0.1", dir: data }));
  chownR(dir, user);
  const server = spawnServer(
    "redis",
    redisServer,
    [configFile, "--port", String(port), "--bind", "127.0.0.1", "--dir", data, "--daemonize", "no", "--logfile", "", "--pidfile", "", "--requirepass", opts.password],
    path.join(dir, "redis.log"),
    { user, cwd: dir },
  );
  const cli: RedisServer["cli"] = (args, o = {}) =>
    run(redisCli, ["-h", "127.0.0.1", "-p", String(port), "-n", String(o.db ?? 0), ...args], {
      check: false,
      env: { PATH: process.env.PATH, ...(o.auth === false ? {} : { REDISCLI_AUTH: opts.password }) },
    });
  await waitReady(server, "answering PING", async () => (await cli(["PING"])).stdout.trim() === "PONG");
  return {
    port,
    password: opts.password,
    dir,
    configFile,
    server,
    cli,
    url: (db) => `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}/${db}`,
    stop: () => server.stop(),
  };
}
