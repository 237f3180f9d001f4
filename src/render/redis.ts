/**
 * redis.conf renderer for the Redis container (Redis 6, 7 and 8 accept every directive used here).
 */
import { RedisConfig } from "../config/types";

export interface RedisRenderOptions {
  port?: number;
  /** Addresses to listen on; inside the container network nothing but the stack's own processes can reach it. */
  bind?: string;
  /** Where the RDB snapshot and the append-only file live. */
  dir?: string;
}

const BIND = /^[0-9A-Fa-f.:*-]+( [0-9A-Fa-f.:*-]+)*$/;
const DIR = /^\/[A-Za-z0-9._/-]*$/;

export function renderRedisConf(cfg: RedisConfig, opts: RedisRenderOptions = {}): string {
  const port = opts.port ?? 6379;
  const bind = opts.bind ?? "0.0.0.0";
  const dir = opts.dir ?? "/data";
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`renderRedisConf: invalid port ${port}`);
  if (!BIND.test(bind)) throw new Error(`renderRedisConf: invalid bind ${JSON.stringify(bind)}`);
  if (!DIR.test(dir)) throw new Error(`renderRedisConf: invalid dir ${JSON.stringify(dir)}`);
  if (!Number.isInteger(cfg.maxMemoryMiB) || cfg.maxMemoryMiB < 1) throw new Error(`renderRedisConf: invalid maxMemoryMiB ${cfg.maxMemoryMiB}`);
  return `# redis.conf rendered by djangostack: do not edit.
#
# No requirepass here: the start command (renderRedisStartCommand) feeds "include <this file>" plus
# requirepass, read from the REDIS_PASSWORD env var, to redis-server on stdin, so neither this file nor
# any command line holds the secret, and this file can be stored, diffed and shown in plans. Dangerous commands are not renamed: rename-command is deprecated
# and breaks replication/AOF rewrites; the password plus a private network are the access control,
# and Redis 7 already refuses DEBUG, MODULE and protected CONFIG changes by default.

bind ${bind}
# With an explicit bind and a password, protected mode changes nothing; it stays on as a safety net
# should either ever be missing.
protected-mode yes
port ${port}
tcp-backlog 511
tcp-keepalive 300
timeout 0
daemonize no
loglevel notice
logfile ""
databases 16

dir ${dir}
dbfilename dump.rdb
# Snapshots (after 1 h if 1 key changed, 5 min if 100, 1 min if 10000) plus an append-only file
# fsynced every second: at most about a second of writes is lost on a crash.
save 3600 1
save 300 100
save 60 10000
stop-writes-on-bgsave-error yes
rdbcompression yes
appendonly yes
appendfilename "appendonly.aof"
appendfsync everysec
no-appendfsync-on-rewrite no
auto-aof-rewrite-percentage 100
auto-aof-rewrite-min-size 64mb

# Below the container's memory limit, leaving room for fork copy-on-write during rewrites.
maxmemory ${cfg.maxMemoryMiB}mb
maxmemory-policy ${cfg.evictionPolicy}
`;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** A shell parameter expansion `${...}`, which a template literal cannot hold verbatim. */
const expand = (body: string): string => "${" + body + "}";

/**
 * The Redis container's start script (`sh -c <script>`). `redis-server -` reads its whole config
 * from stdin (Redis 6, 7 and 8), and a here-document gives it `include <configPath>` then
 * `requirepass "<password>"`. The password never reaches an argv (`--requirepass "$REDIS_PASSWORD"`
 * put it in redis-server's, which /proc shows every local user) nor a file: only shell builtins touch
 * it, and dash feeds a here-document through a pipe (no temp file, so the read-only root is fine).
 * It is escaped for a redis.conf double-quoted string (sdssplitargs: backslash, quote, newline, CR),
 * so any value works. An empty password refuses to start instead of serving without auth.
 */
export function renderRedisStartCommand(configPath: string, passwordEnv = "REDIS_PASSWORD"): string {
  if (!DIR.test(configPath)) throw new Error(`renderRedisStartCommand: invalid config path ${JSON.stringify(configPath)}`);
  if (!ENV_NAME.test(passwordEnv)) throw new Error(`renderRedisStartCommand: invalid env name ${JSON.stringify(passwordEnv)}`);
  return [
    "set -eu",
    `if [ -z "${expand(`${passwordEnv}:-`)}" ]; then echo "redis: ${passwordEnv} is empty or not set; refusing to start without a password" >&2; exit 1; fi`,
    String.raw`NL=$(printf '\nx'); NL=${expand("NL%x")}; CR=$(printf '\r')`,
    `p=$${passwordEnv}; q=`,
    String.raw`while [ -n "$p" ]; do`,
    String.raw`  r=${expand("p#?")}; c=${expand('p%"$r"')}; p=$r`,
    String.raw`  case $c in`,
    String.raw`    \\|\") q=$q\\$c ;;`,
    String.raw`    "$NL") q=$q\\n ;;`,
    String.raw`    "$CR") q=$q\\r ;;`,
    String.raw`    *) q=$q$c ;;`,
    String.raw`  esac`,
    String.raw`done`,
    String.raw`exec redis-server - <<EOF`,
    `include ${configPath}`,
    String.raw`requirepass "$q"`,
    "EOF",
    "",
  ].join("\n");
}
