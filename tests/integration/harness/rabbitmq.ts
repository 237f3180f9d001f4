/**
 * A throwaway RabbitMQ node on 127.0.0.1, run as the `rabbitmq` system user with HOME, Mnesia,
 * logs and config in a temp dir, its own epmd on a free port (so no shared epmd is left behind),
 * and no plugins. The rendered rabbitmq.conf goes into a conf.d dir (as RABBITMQ_CONFIG_FILES in
 * the container); a second file after it only moves the listener to loopback and points
 * definitions at the temp copy.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PYTHON, RunResult, ServerProcess, chownR, freePorts, portOpen, requireBinary, requirePythonModules, run, spawnServer, systemUser, tempDir, waitReady } from "./process";

const PKG = "rabbitmq-server";
const BIN = "/usr/lib/rabbitmq/bin";

export interface RabbitServer {
  port: number;
  node: string;
  dir: string;
  server: ServerProcess;
  /** rabbitmqctl against this node. */
  ctl(args: string[], opts?: { check?: boolean }): Promise<RunResult>;
  /** The environment rabbitmqctl needs to reach this node (its epmd port, HOME with the cookie). */
  ctlEnv: NodeJS.ProcessEnv;
  url(user: string, password: string, vhost: string): string;
  stop(): Promise<void>;
}

export interface RabbitOptions {
  /** Rendered rabbitmq.conf text. */
  config: string;
  /** File name of the rendered config inside conf.d (default 10-rendered.conf). */
  configName?: string;
  /** Rendered definitions JSON text; written into conf.d (as in the container) and loaded at boot. */
  definitions?: string;
  definitionsName?: string;
  /** Config keys whose values are container paths to definitions; pointed at the temp copy. */
  definitionsKeys?: string[];
  /**
   * RABBITMQ_CONFIG_FILES for the temp conf.d dir (default: the dir itself). RabbitMQ reads every
   * regular file of a dir given here as rabbitmq.conf syntax, or only the matches of a glob.
   */
  configFiles?: (confd: string) => string;
  label?: string;
  enabledPlugins?: string[];
  /** Node name (default: a fresh `it<hex>@localhost`); its data lives in `<mnesiaBase>/<node>`. */
  node?: string;
  /** RABBITMQ_MNESIA_BASE to keep across starts (a dir from tempDir, owned by rabbitmq); default a fresh one. */
  mnesiaBase?: string;
  /** More environment for the node, as the container's env sets it (e.g. RABBITMQ_ENABLED_PLUGINS). */
  env?: Record<string, string>;
  /** More lines for the loopback override file (e.g. the management listener on a free loopback port). */
  overrides?: string[];
}

export async function startRabbitmq(opts: RabbitOptions): Promise<RabbitServer> {
  const server = requireBinary(path.join(BIN, "rabbitmq-server"), PKG);
  const ctlBin = requireBinary(path.join(BIN, "rabbitmqctl"), PKG);
  const epmd = requireBinary("/usr/bin/epmd", "erlang-base");
  const user = systemUser("rabbitmq", PKG);
  const dir = tempDir(opts.label ?? "rabbitmq");
  const [port, distPort, epmdPort] = await freePorts(3);
  const node = opts.node ?? `it${crypto.randomBytes(4).toString("hex")}@localhost`;
  const confd = path.join(dir, "conf.d");
  fs.mkdirSync(confd);
  const mnesiaBase = opts.mnesiaBase ?? path.join(dir, "mnesia");
  if (!opts.mnesiaBase) fs.mkdirSync(mnesiaBase);
  fs.mkdirSync(path.join(dir, "log"));
  fs.writeFileSync(path.join(dir, "enabled_plugins"), `[${(opts.enabledPlugins ?? []).join(",")}].\n`);
  fs.writeFileSync(path.join(dir, ".erlang.cookie"), crypto.randomBytes(20).toString("hex").toUpperCase(), { mode: 0o400 });
  const configName = opts.configName ?? "10-rendered.conf";
  if (!configName.endsWith(".conf") || configName >= "90-loopback.conf") throw new Error(`startRabbitmq: config name ${configName} must end in .conf and sort before 90-loopback.conf`);
  fs.writeFileSync(path.join(confd, configName), opts.config);
  // conf.d files load in name order and a later value of a key wins: only loopback and paths change.
  const overrides = [`listeners.tcp.default = 127.0.0.1:${port}`, ...(opts.overrides ?? [])];
  if (opts.definitions !== undefined) {
    const defs = path.join(confd, opts.definitionsName ?? "definitions.json");
    fs.writeFileSync(defs, opts.definitions);
    for (const key of opts.definitionsKeys ?? ["load_definitions"]) overrides.push(`${key} = ${defs}`);
  }
  fs.writeFileSync(path.join(confd, "90-loopback.conf"), `${overrides.join("\n")}\n`);
  chownR(dir, user);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: "C.UTF-8",
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: mnesiaBase,
    RABBITMQ_LOG_BASE: path.join(dir, "log"),
    RABBITMQ_LOGS: "-",
    RABBITMQ_CONFIG_FILES: opts.configFiles ? opts.configFiles(confd) : confd,
    RABBITMQ_CONFIG_FILE: path.join(dir, "none"),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, "enabled_plugins"),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ...opts.env,
  };
  const epmdServer = spawnServer("epmd", epmd, ["-port", String(epmdPort), "-address", "127.0.0.1"], path.join(dir, "epmd.log"), { user, cwd: dir, env });
  await waitReady(epmdServer, "listening", () => portOpen(epmdPort), 10_000);
  const ctl: RabbitServer["ctl"] = (args, o = {}) => run(ctlBin, ["-n", node, ...args], { env, cwd: dir, uid: user.uid, gid: user.gid, check: o.check, timeoutMs: 60_000 });
  const rabbit = spawnServer("rabbitmq", server, [], path.join(dir, "rabbitmq.log"), {
    user,
    cwd: dir,
    env,
    stopTimeoutMs: 30_000,
    gracefulStop: async () => {
      await ctl(["stop"], { check: false });
    },
  });
  await waitReady(rabbit, "booted", async () => (await ctl(["await_startup", "--timeout", "2"], { check: false })).code === 0 && portOpen(port), 90_000);
  return {
    port,
    node,
    dir,
    server: rabbit,
    ctl,
    ctlEnv: env,
    url: (u, p, vhost) => `amqp://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${port}/${encodeURIComponent(vhost)}`,
    stop: () => rabbit.stop(),
  };
}

/** Opens an AMQP connection (py-amqp, as Celery does) and a channel; reports the refusal if any. */
export async function amqpLogin(port: number, user: string, password: string, vhost: string): Promise<{ ok: boolean; error: string }> {
  await requirePythonModules({ amqp: "python3-amqp" });
  const script = [
    "import sys, amqp",
    "c = amqp.Connection(host=sys.argv[1], userid=sys.argv[2], password=sys.argv[3], virtual_host=sys.argv[4], connect_timeout=5)",
    "try:",
    "    c.connect(); ch = c.channel(); ch.close(); c.close(); print('OK')",
    "except Exception as e:",
    "    print(type(e).__name__ + ': ' + str(e)); sys.exit(3)",
  ].join("\n");
  const r = await run(PYTHON, ["-c", script, `127.0.0.1:${port}`, user, password, vhost], { check: false, timeoutMs: 30_000 });
  return { ok: r.code === 0 && r.stdout.includes("OK"), error: `${r.stdout}${r.stderr}`.trim() };
}

export interface AmqpLogin {
  user: string;
  password: string;
  vhost: string;
}

/**
 * Persistent messages on a durable queue (as Celery declares its task queues): `publish` sends the
 * bodies; `peek` reads every message without acknowledging it, so closing the channel requeues them.
 * `exists` is false when the broker does not know the queue (404 NOT_FOUND).
 */
export async function amqpQueue(
  port: number,
  login: AmqpLogin,
  queue: string,
  op: { publish: string[] } | "peek",
  /** Where the client runs: here by default, or inside a pod's namespaces. */
  via: (argv: string[]) => Promise<RunResult> = (argv) => run(argv[0], argv.slice(1), { check: false, timeoutMs: 30_000 }),
): Promise<{ exists: boolean; bodies: string[] }> {
  await requirePythonModules({ amqp: "python3-amqp" });
  const script = [
    "import json, sys, amqp",
    "host, user, password, vhost, queue, op = sys.argv[1:7]",
    "c = amqp.Connection(host=host, userid=user, password=password, virtual_host=vhost, connect_timeout=5)",
    "c.connect(); ch = c.channel()",
    "if op == 'publish':",
    "    ch.queue_declare(queue, durable=True, auto_delete=False)",
    "    for body in json.loads(sys.argv[7]): ch.basic_publish(amqp.Message(body, delivery_mode=2), routing_key=queue)",
    "    ch.close(); c.close(); print(json.dumps({'exists': True, 'bodies': []}))",
    "else:",
    "    try:",
    "        bodies = []",
    "        while (m := ch.basic_get(queue, no_ack=False)) is not None: bodies.append(m.body if isinstance(m.body, str) else m.body.decode())",
    "        print(json.dumps({'exists': True, 'bodies': bodies}))",
    "    except amqp.exceptions.NotFound:",
    "        print(json.dumps({'exists': False, 'bodies': []}))",
  ].join("\n");
  const args = ["-c", script, `127.0.0.1:${port}`, login.user, login.password, login.vhost, queue, op === "peek" ? "peek" : "publish", ...(op === "peek" ? [] : [JSON.stringify(op.publish)])];
  const r = await via([PYTHON, ...args]);
  if (r.code !== 0) throw new Error(`AMQP ${op === "peek" ? "peek at" : "publish to"} ${queue} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as { exists: boolean; bodies: string[] };
}
