/**
 * Issue 13 item 5: the exporters the model runs, with the model's own env and arguments, against real
 * servers from Debian on loopback (prometheus-postgres-exporter 0.11, prometheus-redis-exporter 1.45,
 * prometheus-nginx-exporter 0.11 on the images' flags and variables), and RabbitMQ 3.10's built-in
 * rabbitmq_prometheus on the port the rendered rabbitmq.conf sets. Only the addresses move (service
 * names to 127.0.0.1 and free ports); the credentials are the stack's, from the environment only.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as names from "../../src/model/names";
import { EXPORTER_NAMES, METRICS_PORTS, NGINX_STATUS } from "../../src/model/monitoring";
import { Credentials, Stack, generateCredentials, loadStack, process as processOf, secretValue, stackConfig } from "./fixtures";
import { ServerProcess, freePorts, portOpen, requireBinary, spawnServer, tempDir, useHarness, waitReady } from "./harness/process";
import { request } from "./harness/http";
import { DataTier, Edge, appDirs, startDataTier, startEdge, startPlacedEdge } from "./stackup";
import { EchoUpstream, rawRequest, startFreeEcho } from "./harness/echo";
import { startRabbitmq, RabbitServer } from "./harness/rabbitmq";
import { renderRabbitmqConf } from "../../src/render/rabbitmq";

useHarness();

let stack: Stack;
let creds: Credentials;
let data: DataTier;
let edge: Edge;
const exporters: ServerProcess[] = [];

before(async () => {
  stack = await loadStack("local");
  creds = generateCredentials(stack.config);
  [data, edge] = await Promise.all([startDataTier(stack, creds, { rabbitmq: false }), startEdge(stack, {}, appDirs())]);
});

after(async () => {
  for (const e of exporters) await e.stop();
});

/** The exporter process of the model, its env values resolved and its service addresses moved to `moves`. */
function exporterEnv(name: string, moves: [string, string][]): { args: string[]; env: NodeJS.ProcessEnv } {
  const p = processOf(stack.model, name);
  const move = (v: string) => moves.reduce((s, [from, to]) => s.split(from).join(to), v);
  const env: NodeJS.ProcessEnv = { PATH: "/usr/bin:/bin" };
  for (const [k, v] of Object.entries(p.env)) env[k] = move(v);
  for (const [k, source] of Object.entries(p.secretEnv)) env[k] = secretValue(source, stack, creds, data.endpoints);
  return { args: (p.args ?? []).map(move), env };
}

async function startExporter(label: string, binary: string, pkg: string, args: string[], env: NodeJS.ProcessEnv, listenFlag: string): Promise<number> {
  const [port] = await freePorts(1);
  const dir = tempDir(label);
  const server = spawnServer(label, requireBinary(binary, pkg), [...args, `${listenFlag}=127.0.0.1:${port}`], path.join(dir, `${label}.log`), { env, cwd: dir });
  exporters.push(server);
  await waitReady(server, "listening", () => portOpen(port), 20_000);
  return port;
}

async function metrics(port: number, p = "/metrics"): Promise<string> {
  const r = await request({ port, path: p, host: "localhost" });
  assert.equal(r.status, 200, r.text);
  return r.text;
}

describe("exporters against real servers (issue 13 item 5)", () => {
  test("postgres-exporter logs in with the model's DATA_SOURCE_* (password from the environment) and reports the server up", async () => {
    const { args, env } = exporterEnv(EXPORTER_NAMES.postgres, [[`${names.POSTGRES}:5432`, `127.0.0.1:${data.endpoints.postgres?.port}`]]);
    assert.equal(env.DATA_SOURCE_PASS, creds.postgresSuperuser, "the superuser's rotating password (Docker targets)");
    assert.ok(!args.some((a) => a.includes(creds.postgresSuperuser)));
    const port = await startExporter("postgres-exporter", "/usr/bin/prometheus-postgres-exporter", "prometheus-postgres-exporter", args, env, "--web.listen-address");
    const text = await metrics(port);
    assert.match(text, /^pg_up 1$/m);
    assert.match(text, /^pg_stat_database_numbackends\{.*datname="web_db".*\} \d+$/m, "every database's statistics, the app's included");
  });

  test("redis-exporter reads REDIS_ADDR and REDIS_PASSWORD and reports the server up", async () => {
    const { args, env } = exporterEnv(EXPORTER_NAMES.redis, [[`redis://${names.REDIS}:6379`, `redis://127.0.0.1:${data.endpoints.redis?.port}`]]);
    assert.equal(env.REDIS_PASSWORD, creds.redis);
    const port = await startExporter("redis-exporter", "/usr/bin/prometheus-redis-exporter", "prometheus-redis-exporter", args, env, "-web.listen-address");
    const text = await metrics(port);
    assert.match(text, /^redis_up 1$/m);
    assert.match(text, /^redis_connected_clients \d+$/m);
  });

  test("nginx-exporter reads the rendered stub_status listener and reports nginx up; the public port has no stub_status", async () => {
    const status = edge.input.status;
    assert.ok(status, "the rendered nginx.conf has the exporter's listener");
    assert.equal(status.path, NGINX_STATUS.path);
    const { args, env } = exporterEnv(EXPORTER_NAMES.nginx, [[`http://${names.EDGE}:${NGINX_STATUS.port}`, `http://127.0.0.1:${status.port}`]]);
    const port = await startExporter("nginx-exporter", "/usr/bin/prometheus-nginx-exporter", "prometheus-nginx-exporter", args, env, "-web.listen-address");
    const text = await metrics(port);
    assert.match(text, /^nginx_up 1$/m);
    assert.match(text, /^nginx_connections_accepted \d+$/m);
    const publicStatus = await request({ port: edge.http, path: NGINX_STATUS.path, host: "localhost" });
    assert.notEqual(publicStatus.status, 200, "stub_status is not on the public listener");
    const publicMetrics = await request({ port: edge.http, path: "/metrics", host: "localhost" });
    assert.equal(publicMetrics.status, 404, "nor are the app's metrics");
  });

  test("the metrics ports are the exporters' defaults, the ones the PodMonitors and NetworkPolicies name", () => {
    for (const [name, port] of [[EXPORTER_NAMES.postgres, METRICS_PORTS.postgres], [EXPORTER_NAMES.redis, METRICS_PORTS.redis], [EXPORTER_NAMES.nginx, METRICS_PORTS.nginx]] as const) {
      assert.equal(processOf(stack.model, name).metrics?.port, port, name);
    }
  });
});

describe("an app's own metrics path at the edge (apps[].metrics.path), with edge.denyPaths off", () => {
  let echo: EchoUpstream;
  let port: number;
  before(async () => {
    echo = await startFreeEcho();
    const config = stackConfig("local", { apps: [{ name: "web", routes: ["/"], metrics: { path: "/internal/prom" } }], edge: { denyPaths: [] } });
    ({ http: port } = await startPlacedEdge(config, () => echo.address, "edge-metrics-path"));
  });
  after(async () => {
    await echo?.stop();
  });

  test("answers the path and its tree 404 before the app, and passes what denyPaths no longer lists", async () => {
    for (const p of ["/internal/prom", "/internal/prom/", "/internal/prom/x", "/internal/prom?name[]=up"]) {
      const before = echo.seen.length;
      const r = await rawRequest({ port, path: p, host: "localhost" });
      assert.deepEqual([r.status, echo.seen.length - before], [404, 0], p);
    }
    const before = echo.seen.length;
    const r = await rawRequest({ port, path: "/metrics", host: "localhost" });
    assert.deepEqual([r.status, echo.seen.length - before], [200, 1], "denyPaths: [] is honoured for the rest");
  });
});

describe("RabbitMQ's own metrics (rabbitmq_prometheus)", () => {
  let mq: RabbitServer;
  let metricsPort: number;
  before(async () => {
    const rendered = stack.artifacts["rabbitmq/rabbitmq.conf"];
    assert.ok(rendered, "the offline render wrote rabbitmq's conf");
    assert.match(rendered, new RegExp(`^prometheus\\.tcp\\.port = ${METRICS_PORTS.rabbitmq}$`, "m"));
    [metricsPort] = await freePorts(1);
    // The rendered file with only its metrics port moved (the fixed one may be taken on a shared machine).
    const config = renderRabbitmqConf(stack.config.data.rabbitmq, { metricsPort });
    assert.equal(config.replace(`prometheus.tcp.port = ${metricsPort}`, `prometheus.tcp.port = ${METRICS_PORTS.rabbitmq}`), rendered, "only the port moved");
    // Debian's package enables no plugin; the official image enables rabbitmq_prometheus, as here. The
    // definitions are a stand-in: users and vhosts are rabbitmq.test.ts's subject, not this one's.
    mq = await startRabbitmq({ config, definitions: JSON.stringify({ vhosts: [{ name: "/web" }], users: [], permissions: [] }),
      // As the container's RABBITMQ_CONFIG_FILES: the .conf files only, not the definitions beside them.
      configFiles: (confd) => `${confd}/*.conf`,
      enabledPlugins: ["rabbitmq_prometheus"],
      label: "rabbitmq-metrics",
    });
  });
  after(async () => {
    await mq?.stop();
  });

  test("serves its metrics on the rendered prometheus.tcp.port", async () => {
    await waitReady(mq.server, "metrics listener", () => portOpen(metricsPort), 30_000);
    const text = await metrics(metricsPort);
    assert.match(text, /^rabbitmq_build_info\{/m);
    assert.match(text, /^rabbitmq_queues \d+$/m);
  });
});
