/**
 * Brings up the processes of a stack's model on loopback, each from its own rendered config and
 * command line: data services (PostgreSQL + the postgres-init process, Redis, RabbitMQ), an app's
 * migrate one-off, gunicorn, Celery worker and beat, and the nginx edge. Only addresses, ports and
 * container paths are moved (to loopback and temp dirs), the way volumes and networks map them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { StackConfig } from "../../src/config/types";
import { PATHS, buildModel } from "../../src/model/build";
import * as names from "../../src/model/names";
import { loadBalancedInput } from "../../src/components/targets/kubernetes/edge";
import { nginxInputFor, renderNginx, renderUpstreamBlock, NginxInput } from "../../src/render/nginx";
import { renderRedisConf } from "../../src/render/redis";
import { hostStatusNginx } from "../../src/render/host-status";
import { Credentials, Endpoints, Stack, diffBeyondPlacement, process, processCommand, processEnv, renderedFile, stackConfig } from "./fixtures";
import { EchoUpstream, startFreeEcho } from "./harness/echo";
import { CeleryProcess, GunicornServer, runAppCommand, startCelery, startGunicorn } from "./harness/django";
import { NginxServer, nginxUser, startNginx } from "./harness/nginx";
import { PostgresServer, startPostgres } from "./harness/postgres";
import { RabbitServer, startRabbitmq } from "./harness/rabbitmq";
import { selfSignedCert } from "./harness/secrets";
import { RedisServer, startRedis } from "./harness/redis";
import { RunResult, chownR, freePort, freePorts, requireBinary, run, tempDir } from "./harness/process";

// ------------------------------------------------------------------------------------- data tier

/** Runs the postgres-init process's command (psql reading the passwords from its env) on the server's socket. */
export async function runPostgresInit(stack: Stack, creds: Credentials, pg: PostgresServer, dir: string): Promise<RunResult> {
  const init = await renderedFile(stack, names.POSTGRES_INIT, creds, "/init.sql");
  // No secret in it: the offline render's artifact is the file itself.
  fs.writeFileSync(path.join(dir, path.basename(init.path)), init.artifact);
  const containerDir = path.dirname(init.path);
  const p = process(stack.model, names.POSTGRES_INIT);
  const env = processEnv(stack, names.POSTGRES_INIT, creds, {}, dir);
  const command = p.command.map((arg) => arg.split(containerDir).join(dir));
  return run(command[0], command.slice(1), {
    check: false,
    timeoutMs: 60_000,
    env: { PATH: "/usr/bin:/bin", ...env, PGHOST: pg.socketDir, PGPORT: String(pg.port) },
  });
}

export async function startStackPostgres(stack: Stack, creds: Credentials): Promise<PostgresServer> {
  const pg = await startPostgres({ password: creds.postgresBootstrap });
  const r = await runPostgresInit(stack, creds, pg, tempDir("pg-init"));
  if (r.code !== 0) throw new Error(`postgres-init failed:\n${r.stderr}`);
  return pg;
}

/**
 * redis-server started by the redis process's own command (password from REDIS_PASSWORD on stdin),
 * with the redis.conf the realizer writes, rendered by renderRedisConf with only its port/bind/dir
 * options moved to loopback. `binDirs` go first on PATH (a stand-in that delays redis-server).
 */
export async function startStackRedis(stack: Stack, creds: Credentials, port?: number, opts: { binDirs?: string[] } = {}): Promise<RedisServer> {
  const deployed = await renderedFile(stack, names.REDIS, creds, "/redis.conf");
  const command = process(stack.model, names.REDIS).command;
  if (command.length !== 3 || command[0] !== "sh" || command[1] !== "-c" || !command[2].includes(`include ${deployed.path}\n`)) throw new Error(`unexpected redis command: ${command.join(" ")}`);
  return startRedis({
    password: creds.redis,
    port,
    command: (configFile) => command.map((arg) => arg.split(deployed.path).join(configFile)),
    binDirs: opts.binDirs,
    config: (at) => {
      const text = renderRedisConf(stack.config.data.redis, at);
      const diff = diffBeyondPlacement(deployed.artifact, text, [/^(bind|port|dir) /]);
      if (diff.length > 0) throw new Error(`loopback redis.conf differs from the offline render's ${deployed.artifactPath} beyond bind/port/dir: ${diff.join("; ")}`);
      return text;
    },
  });
}

/**
 * RabbitMQ with the rendered rabbitmq.conf and definitions, placed in a conf.d dir as in the
 * container, with the rabbitmq process's RABBITMQ_CONFIG_FILES. `exact: false` narrows a bare
 * directory value to its *.conf files, so tests of everything else still get a broker while the
 * exact boot is proven (and fails) in rabbitmq.test.ts.
 */
export async function startStackRabbitmq(stack: Stack, creds: Credentials, opts: { exact?: boolean } = {}): Promise<RabbitServer> {
  const conf = await renderedFile(stack, names.RABBITMQ, creds, ".conf");
  const defs = await renderedFile(stack, names.RABBITMQ, creds, "/definitions.json");
  const containerDir = path.dirname(conf.path);
  const configFiles = process(stack.model, names.RABBITMQ).env.RABBITMQ_CONFIG_FILES;
  if (!configFiles?.startsWith(containerDir)) throw new Error(`RABBITMQ_CONFIG_FILES ${configFiles} does not point into ${containerDir}`);
  const hashes = diffBeyondPlacement(defs.artifact, defs.text, [/"password_hash":/]);
  if (hashes.length > 0) throw new Error(`definitions differ from the offline render's ${defs.artifactPath} beyond password hashes: ${hashes.join("; ")}`);
  return startRabbitmq({
    config: conf.artifact,
    configName: path.basename(conf.path),
    definitions: defs.text,
    definitionsName: path.basename(defs.path),
    // The container's value, with its conf.d mount moved to the temp one.
    configFiles: (confd) => (opts.exact === false && configFiles === containerDir ? `${confd}/*.conf` : confd + configFiles.slice(containerDir.length)),
  });
}

export interface DataTier {
  postgres?: PostgresServer;
  redis?: RedisServer;
  rabbitmq?: RabbitServer;
  endpoints: Endpoints;
}

/** Starts the requested data services concurrently (RabbitMQ's boot dominates). */
export async function startDataTier(stack: Stack, creds: Credentials, want: { postgres?: boolean; redis?: boolean; rabbitmq?: boolean } = {}): Promise<DataTier> {
  const { postgres = true, redis = true, rabbitmq = true } = want;
  const [pg, rd, mq] = await Promise.all([
    postgres ? startStackPostgres(stack, creds) : undefined,
    redis ? startStackRedis(stack, creds) : undefined,
    rabbitmq ? startStackRabbitmq(stack, creds, { exact: false }) : undefined,
  ]);
  // Ports nothing listens on stand in for absent services, so the app's env is still complete.
  const [spare1, spare2, spare3] = await freePorts(3);
  return {
    postgres: pg,
    redis: rd,
    rabbitmq: mq,
    endpoints: {
      postgres: { host: "127.0.0.1", port: pg?.port ?? spare1 },
      redis: { host: "127.0.0.1", port: rd?.port ?? spare2 },
      rabbitmq: { host: "127.0.0.1", port: mq?.port ?? spare3 },
    },
  };
}

// ------------------------------------------------------------------------------------- app tier

export interface AppDirs {
  /** Home of the app's processes; container paths (/tmp/celery, /app/staticfiles, /srv/media) map under it. */
  dir: string;
  /** nginx's static root: one folder per app, as the static-<app> volumes are mounted into the edge. */
  staticRoot: string;
  mediaRoot: string;
}

export function appDirs(): AppDirs {
  const dir = tempDir("app");
  const staticRoot = path.join(dir, "edge-static");
  const mediaRoot = path.join(dir, "edge-media");
  fs.mkdirSync(staticRoot, { recursive: true });
  fs.mkdirSync(mediaRoot, { recursive: true });
  return { dir, staticRoot, mediaRoot };
}

/** The environment of one of the app's processes with the edge's volume mapping applied. */
export function appEnv(stack: Stack, processName: string, creds: Credentials, data: DataTier, dirs: AppDirs, app: string): Record<string, string> {
  const env = processEnv(stack, processName, creds, data.endpoints, dirs.dir);
  // The static-<app> / media-<app> volumes: the migrate process writes where the edge reads.
  if (process(stack.model, processName).volumes.some((v) => v.kind === "static")) env.DJANGO_STATIC_ROOT = path.join(dirs.staticRoot, app);
  env.DJANGO_MEDIA_ROOT = path.join(dirs.mediaRoot, app);
  fs.mkdirSync(env.DJANGO_MEDIA_ROOT, { recursive: true });
  return env;
}

/**
 * The app image's build step (Dockerfile: `python manage.py collectstatic --noinput` into
 * /app/staticfiles) and then the migrate process (migrate + collectstatic into the static volume).
 */
export async function releaseApp(stack: Stack, creds: Credentials, data: DataTier, dirs: AppDirs, app: string): Promise<void> {
  const imageEnv = appEnv(stack, names.web(app), creds, data, dirs, app);
  const build = await runAppCommand(["python", "manage.py", "collectstatic", "--noinput"], { env: imageEnv, home: dirs.dir, check: false });
  if (build.code !== 0) throw new Error(`image collectstatic failed:\n${build.stdout}\n${build.stderr}`);
  const env = appEnv(stack, names.migrate(app), creds, data, dirs, app);
  const r = await runAppCommand(processCommand(stack, names.migrate(app), dirs.dir), { env, home: dirs.dir, check: false });
  if (r.code !== 0) throw new Error(`${names.migrate(app)} failed:\n${r.stdout}\n${r.stderr}`);
}

export async function startWeb(stack: Stack, creds: Credentials, data: DataTier, dirs: AppDirs, app: string, extraEnv: Record<string, string> = {}): Promise<GunicornServer> {
  const conf = await renderedFile(stack, names.web(app), creds, "/gunicorn.conf.py");
  const appConfig = stack.config.apps.find((a) => a.name === app)!;
  return startGunicorn({
    command: process(stack.model, names.web(app)).command,
    configPath: conf.path,
    config: conf.artifact,
    port: await freePort(),
    env: { ...appEnv(stack, names.web(app), creds, data, dirs, app), ...extraEnv },
    healthPath: appConfig.healthPath,
  });
}

export async function startWorker(stack: Stack, creds: Credentials, data: DataTier, dirs: AppDirs, app: string, pool = "default", extraEnv: Record<string, string> = {}): Promise<CeleryProcess> {
  const name = names.worker(app, pool);
  const env = { ...appEnv(stack, name, creds, data, dirs, app), ...extraEnv };
  return startCelery({ name, command: processCommand(stack, name, dirs.dir), env, dir: dirs.dir, readyFile: env.CELERY_WORKER_READY_FILE });
}

export async function startBeat(stack: Stack, creds: Credentials, data: DataTier, dirs: AppDirs, app: string, extraEnv: Record<string, string> = {}): Promise<CeleryProcess> {
  const name = names.beat(app);
  const env = { ...appEnv(stack, name, creds, data, dirs, app), ...extraEnv };
  const beat = await startCelery({ name, command: processCommand(stack, name, dirs.dir), env, dir: dirs.dir, readyLog: /beat: Starting/ });
  return beat;
}

// ------------------------------------------------------------------------------------- edge

/**
 * nginx.conf lines that only place the edge: listen ports, upstream addresses (and the run-time
 * re-resolution that needs nginx >= 1.27.3), writable and served paths, the redirect's public port,
 * and the http2 syntax that differs between nginx versions.
 */
const NGINX_PLACEMENT = [
  /^\s*(listen|pid|access_log|error_log|resolver|resolver_timeout|client_body_temp_path|proxy_temp_path|fastcgi_temp_path|uwsgi_temp_path|scgi_temp_path|alias|root|ssl_certificate|ssl_certificate_key) /,
  /^\s*http2 on;$/,
  /^\s*zone upstream_\S+ \d+k;$/,
  /^\s*server \S+:\d+( resolve)?;$/,
  /^\s*return 301 https:\/\/\$host(:\d+)?\$request_uri;$/,
];

let nginxVersionCache: string | undefined;

/** The exporter's stub_status listener (when rendered) moved to a free port: its fixed one may be taken on a shared machine. */
export function movedStatus(base: NginxInput, port: number): Pick<NginxInput, "status"> {
  return base.status ? { status: { ...base.status, port } } : {};
}

/** Version of the nginx binary the test runs (Debian 12: 1.22), which selects version-dependent syntax. */
export async function nginxVersion(): Promise<string> {
  if (nginxVersionCache) return nginxVersionCache;
  const r = await run(requireBinary("/usr/sbin/nginx", "nginx-light"), ["-v"]);
  const m = /nginx\/([0-9.]+)/.exec(r.stderr + r.stdout);
  if (!m) throw new Error(`cannot read the nginx version from: ${r.stderr}`);
  nginxVersionCache = m[1];
  return nginxVersionCache;
}

export interface Edge {
  nginx: NginxServer;
  http: number;
  https: number;
  input: NginxInput;
  acmeWebroot: string;
}

/**
 * nginx with the config rendered from the model (nginxInputFor), with only the upstream addresses,
 * listen ports (127.0.0.1), redirect port and paths moved to the test's.
 */
export async function startEdge(stack: Stack, upstreams: Record<string, number>, dirs: AppDirs, tls?: { cert: string; key: string }): Promise<Edge> {
  const dir = tempDir("edge");
  const [http, https, status] = await freePorts(3);
  const base = nginxInputFor(stack.model, stack.config.edge, stack.config.domain);
  const acmeWebroot = path.join(dir, "acme");
  // The nginx-cache scratch volume: nginx creates client_temp etc. inside it, not the dir itself.
  fs.mkdirSync(path.join(dir, "tmp"));
  fs.mkdirSync(path.join(acmeWebroot, ".well-known", "acme-challenge"), { recursive: true });
  const input: NginxInput = {
    ...base,
    nginxVersion: await nginxVersion(),
    addresses: Object.fromEntries(Object.keys(base.addresses).map((u) => [u, `127.0.0.1:${upstreams[u] ?? 9}`])),
    listen: { http, https, address: "127.0.0.1" },
    ...movedStatus(base, status),
    // The Droplet's nginx also serves the host's container status (an alias nothing here fills: 404).
    ...hostStatusNginx(stack.config.target),
    redirectHttpsPort: https,
    paths: {
      ...base.paths,
      staticRoot: dirs.staticRoot,
      mediaRoot: dirs.mediaRoot,
      // mode "files": the operator's files are used where they are.
      tlsCertificate: tls?.cert ?? base.paths.tlsCertificate,
      tlsKey: tls?.key ?? base.paths.tlsKey,
      acmeWebroot,
      pidFile: path.join(dir, "nginx.pid"),
      tempDir: path.join(dir, "tmp"),
      accessLog: path.join(dir, "access.log"),
      errorLog: "stderr",
    },
  };
  const artifact = stack.artifacts["nginx/nginx.conf"];
  if (artifact === undefined) throw new Error("the offline render wrote no nginx/nginx.conf");
  // The Docker targets include one file per upstream (written by the cutover): the same here, from the upstreams dir.
  const upstreamsDir = artifact.includes(`include ${PATHS.nginxUpstreams}/`) ? path.join(dir, "upstreams") : undefined;
  if (upstreamsDir) {
    fs.mkdirSync(upstreamsDir);
    for (const [name, address] of Object.entries(input.addresses)) fs.writeFileSync(path.join(upstreamsDir, `${name}.conf`), renderUpstreamBlock(name, [address], { resolve: false }));
    input.upstreamsDir = upstreamsDir;
  }
  const config = renderNginx(input);
  const diff = diffBeyondPlacement(artifact, upstreamsDir ? config.split(upstreamsDir).join(PATHS.nginxUpstreams) : config, NGINX_PLACEMENT);
  if (diff.length > 0) throw new Error(`the nginx.conf under test differs from the offline render's beyond addresses, ports and paths: ${diff.join("; ")}`);
  const tlsOn = stack.config.edge.tls.mode !== "none";
  const nginx = await startNginx({ config, ports: tlsOn ? [http, https] : [http], dir });
  return { nginx, http, https, input, acmeWebroot };
}

/** A self-signed certificate for `domain` (and `altNames`) that the test's nginx user can read. */
export async function nginxCert(label: string, domain: string, altNames: string[] = []): Promise<{ cert: string; key: string }> {
  const dir = tempDir(label);
  const cert = await selfSignedCert(path.join(dir, "certs"), domain, altNames);
  chownR(dir, nginxUser());
  return cert;
}

export interface PlacedEdgeOptions {
  /** The Kubernetes target's rendering (loadBalancedInput) with this range as its load balancer. */
  loadBalancer?: string;
  /** TLS from these files (edge.tls.mode "files"), served on the returned https port. */
  tls?: { cert: string; key: string };
  /** The Droplet's host-status directory, served under /_djangostack/_host/ (src/render/host-status.ts). */
  hostStatusDir?: string;
}

/**
 * The nginx a config renders, on loopback with its paths in a temp dir and its upstreams in include
 * files as the Docker cutover writes them, each at the address `addressOf` gives; started. For tests
 * whose upstreams are stand-ins (echo servers) rather than the sample app.
 */
export async function startPlacedEdge(config: StackConfig, addressOf: (upstream: string) => string, label: string, opts: PlacedEdgeOptions = {}): Promise<{ http: number; https: number; conf: string }> {
  const model = buildModel(config);
  const base = opts.loadBalancer ? loadBalancedInput(model, config, opts.loadBalancer) : nginxInputFor(model, config.edge, config.domain);
  const [http, https, status] = await freePorts(3);
  const dir = tempDir(label);
  const upstreamsDir = path.join(dir, "upstreams");
  fs.mkdirSync(upstreamsDir, { recursive: true });
  fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
  const addresses = Object.fromEntries(Object.keys(base.addresses).map((u) => [u, addressOf(u)]));
  for (const [name, address] of Object.entries(addresses)) fs.writeFileSync(path.join(upstreamsDir, `${name}.conf`), renderUpstreamBlock(name, [address], { resolve: false }));
  const conf = renderNginx({
    ...base,
    nginxVersion: await nginxVersion(),
    addresses,
    upstreamsDir,
    listen: { http, https, address: "127.0.0.1" },
    ...movedStatus(base, status),
    ...(opts.tls ? { redirectHttpsPort: https } : {}),
    ...(opts.hostStatusDir ? { hostStatusDir: opts.hostStatusDir } : {}),
    paths: {
      ...base.paths,
      staticRoot: dir,
      mediaRoot: dir,
      tlsCertificate: opts.tls?.cert ?? base.paths.tlsCertificate,
      tlsKey: opts.tls?.key ?? base.paths.tlsKey,
      acmeWebroot: path.join(dir, "acme"),
      pidFile: path.join(dir, "nginx.pid"),
      tempDir: path.join(dir, "tmp"),
      accessLog: "off",
      errorLog: "stderr",
    },
  });
  chownR(dir, nginxUser());
  await startNginx({ config: conf, ports: opts.tls ? [http, https] : [http], dir, label });
  return { http, https, conf };
}

export const VARIANT_DOMAIN = "djangostack.test";
const TLS_FILES = { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" };

export interface EdgeVariants {
  echo: EchoUpstream;
  /** HTTP port of the local stack's rendering, HTTPS port of the TLS one, HTTP port behind the LB. */
  local: number;
  tls: number;
  lb: number;
}

/**
 * One echo app behind three renderings: the local stack (plain HTTP), the local stack with
 * VARIANT_DOMAIN and TLS from files (a self-signed certificate), and the production stack as the
 * Kubernetes target renders it behind its load balancer at `lbCidr`. `extra` is each one's config.
 */
export async function startEdgeVariants(label: string, lbCidr: string, extra: { local: Record<string, unknown>; tls: Record<string, unknown>; production: Record<string, unknown> }): Promise<EdgeVariants> {
  const echo = await startFreeEcho();
  const at = (): string => echo.address;
  const cert = await nginxCert(`${label}-certs`, VARIANT_DOMAIN);
  const tlsEdge = { ...(extra.tls.edge as Record<string, unknown> | undefined), tls: TLS_FILES };
  const local = (await startPlacedEdge(stackConfig("local", extra.local), at, `${label}-local`)).http;
  const tls = (await startPlacedEdge(stackConfig("local", { ...extra.tls, domain: VARIANT_DOMAIN, edge: tlsEdge }), at, `${label}-tls`, { tls: cert })).https;
  const lb = (await startPlacedEdge(stackConfig("production", extra.production), at, `${label}-lb`, { loadBalancer: lbCidr })).http;
  return { echo, local, tls, lb };
}
