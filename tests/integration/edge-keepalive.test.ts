/**
 * Issue 8 item 14 on a real nginx: the production (load-balanced) nginx.conf keeps an idle client
 * connection open for its rendered keepalive_timeout and closes it then. The production value (LB idle
 * timeout 120 s) is far too long to wait for, so the same rendering is run with a 1-second proxy idle
 * timeout; the unit tests hold the production value relation (tests/unit/edge-keepalive.test.ts).
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as path from "node:path";
import { LB_IDLE_TIMEOUT_SECONDS, loadBalancedInput, loadBalancedNginx } from "../../src/components/targets/kubernetes/edge";
import { StackConfig } from "../../src/config/types";
import { buildModel } from "../../src/model/build";
import { WorkloadModel } from "../../src/model/types";
import { NginxInput, renderNginx } from "../../src/render/nginx";
import { diffBeyondPlacement, stackConfig } from "./fixtures";
import { startNginx } from "./harness/nginx";
import { freePorts, tempDir, useHarness } from "./harness/process";
import { movedStatus, nginxVersion } from "./stackup";

useHarness();

/** Short enough to wait for, as the LB's idle timeout this nginx is rendered against. */
const PROXY_IDLE_SECONDS = 1;
const VPC = "10.110.0.0/20";
/** Lines the test moves to loopback and temp dirs, and the one value it shortens. */
const PLACEMENT = [
  /^\s*(listen|pid|access_log|error_log|client_body_temp_path|proxy_temp_path|fastcgi_temp_path|uwsgi_temp_path|scgi_temp_path|alias|root) /,
  /^\s*http2 on;$/,
  /^\s*server \S+:\d+;$/,
  /^\s*keepalive_timeout \d+s;$/,
];

const keepaliveOf = (conf: string): number => Number(/^\s*keepalive_timeout ([0-9]+)s;$/m.exec(conf)?.[1]);

let config: StackConfig;
let model: WorkloadModel;
let production: string;
let conf: string;
let port: number;

/** One request on a fresh connection; resolves once the whole response is in, with the open socket. */
function exchange(socket: net.Socket, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      const length = Number(/\r\ncontent-length: *([0-9]+)/i.exec(text)?.[1] ?? NaN);
      if (head >= 0 && text.length >= head + 4 + length) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(`GET /nginx-health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Milliseconds from now until the server closes the socket (bounded). */
function closedAfter(socket: net.Socket, limitMs: number): Promise<number> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
    socket.resume();
  });
}

before(async () => {
  config = stackConfig("production");
  model = buildModel(config);
  production = loadBalancedNginx(model, config, VPC);
  const dir = tempDir("edge-keepalive");
  const [http, https, spare, status] = await freePorts(4);
  port = http;
  // loadBalancedNginx's own input (TLS at the LB, the VPC trusted) with a short proxy idle timeout,
  // listening on loopback with its paths in the temp dir; checked below to say nothing else.
  const base = loadBalancedInput(model, config, VPC);
  const input: NginxInput = {
    ...base,
    nginxVersion: await nginxVersion(),
    addresses: Object.fromEntries(Object.keys(base.addresses).map((u) => [u, `127.0.0.1:${spare}`])),
    listen: { http, https, address: "127.0.0.1" },
    ...movedStatus(base, status),
    paths: { ...base.paths, staticRoot: dir, mediaRoot: dir, pidFile: path.join(dir, "nginx.pid"), tempDir: dir, accessLog: "off", errorLog: "stderr" },
    trustedProxy: { ...base.trustedProxy, cidrs: [VPC], idleTimeoutSeconds: PROXY_IDLE_SECONDS },
  };
  conf = renderNginx(input);
  const diff = diffBeyondPlacement(production, conf, PLACEMENT);
  assert.deepEqual(diff, [], "the config under test is the production one but for placement and keepalive_timeout");
  await startNginx({ config: conf, ports: [http], dir, label: "edge-keepalive" });
}, { timeout: 60_000 });

describe("load-balanced nginx keepalive (production rendering, short proxy idle timeout)", () => {
  test("renders the same margin over the proxy's idle timeout as production does over the LB's", () => {
    assert.equal(keepaliveOf(conf) - PROXY_IDLE_SECONDS, keepaliveOf(production) - LB_IDLE_TIMEOUT_SECONDS);
    assert.ok(keepaliveOf(conf) > PROXY_IDLE_SECONDS);
  });

  test("a connection idle for longer than the proxy's idle timeout still serves the next request", async () => {
    const socket = await connect();
    try {
      assert.match(await exchange(socket, "localhost"), /^HTTP\/1\.1 200 /);
      await new Promise((r) => setTimeout(r, (PROXY_IDLE_SECONDS + 1) * 1000));
      assert.match(await exchange(socket, "localhost"), /^HTTP\/1\.1 200 /, "nginx closed a connection the LB could still reuse");
    } finally {
      socket.destroy();
    }
  });

  test("nginx closes an idle connection when its keepalive_timeout runs out, not before", async (t) => {
    const socket = await connect();
    const response = await exchange(socket, "localhost");
    assert.doesNotMatch(response, /\r\nconnection: close/i, "the response keeps the connection alive");
    const keepaliveMs = keepaliveOf(conf) * 1000;
    const ms = await closedAfter(socket, keepaliveMs + 3000);
    t.diagnostic(`keepalive_timeout ${keepaliveMs} ms; nginx closed the idle connection after ${ms} ms`);
    assert.ok(ms >= keepaliveMs - 250, `closed after ${ms} ms, before keepalive_timeout ${keepaliveMs} ms`);
    assert.ok(ms <= keepaliveMs + 2000, `closed after ${ms} ms, long after keepalive_timeout ${keepaliveMs} ms`);
  });
});
