/**
 * A throwaway redis-server on 127.0.0.1 with a rendered config file. With `command` it runs the
 * Redis container's own start command (the password in REDIS_PASSWORD, fed to the server on stdin);
 * without it, `--requirepass` on the command line (only for tests about something else). Loopback
 * port, data dir and foreground mode come from the rendered file, or from the command line without
 * `command`.
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
export async function startRedis(opts: {
  config: string | ((at: RedisPlacement) => string);
  password: string;
  label?: string;
  port?: number;
  /** The container's command with its config path replaced by `configFile`; PATH is `binDirs` then /usr/bin:/bin. */
  command?: (configFile: string) => string[];
  binDirs?: string[];
}): Promise<RedisServer> {
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
  const command = opts.command?.(configFile);
  const server = command
    ? spawnServer("redis", command[0], command.slice(1), path.join(dir, "redis.log"), {
        user,
        cwd: dir,
        env: { PATH: [...(opts.binDirs ?? []), "/usr/bin", "/bin"].join(":"), REDIS_PASSWORD: opts.password },
      })
    : spawnServer(
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
