/**
 * Issue 8 item 4 on a real nginx: the Docker targets' health-gated cutover (src/render/cutover.ts) only
 * ever points nginx at healthy containers, and a failed deploy leaves the running release serving.
 *
 * nginx 1.22 (Debian) runs the local stack's nginx.conf rendered in include mode (`upstreamsDir`), with
 * placement moved to loopback. The cutover script runs unchanged under dash as nginx's user, with a fake
 * `docker` first on PATH (harness/fakedocker.ts): health and running state come from files, the
 * upstreams volume is the directory nginx includes from, and `docker exec <nginx> nginx ...` runs the
 * real nginx binary with this test's config. Web containers are Python HTTP servers on their own
 * loopback addresses (127.0.0.2, ...: valid container names nginx connects to without DNS), all on one
 * port, each counting the requests it received.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { DOCKER_RESOLVER } from "../../src/components/targets/docker/configfiles";
import { StackConfig } from "../../src/config/types";
import { buildModel } from "../../src/model/build";
import { CutoverInput, renderCutoverScript } from "../../src/render/cutover";
import { NginxInput, nginxInputFor, renderNginx, renderUpstreamBlock } from "../../src/render/nginx";
import { diffBeyondPlacement, stackConfig } from "./fixtures";
import { FakeDocker, installFakeDocker } from "./harness/fakedocker";
import { request } from "./harness/http";
import { NginxServer, nginxUser, startNginx } from "./harness/nginx";
import { PYTHON, RunResult, ServerProcess, chownR, freePorts, liveGroupMembers, run, spawnServer, tempDir, useHarness, waitFor, waitReady } from "./harness/process";
import { movedStatus, nginxVersion } from "./stackup";

useHarness();

const VOLUME = "djs-nginx-upstreams";
const NGINX = "djs-nginx";
/** Stands for the nginx image id the deploy passes; the fake engine "has" only this image. */
const IMAGE = `sha256:${"ab".repeat(32)}`;
const OLD = "127.0.0.2";
const NEW = "127.0.0.3";
const NEVER = "127.0.0.4";
const REPLICA = "127.0.0.5";
/** Healthy to Docker, but not a name nginx can resolve: `nginx -t` rejects the file. */
const UNRESOLVABLE = "web-new.invalid";
const N = 200;
const CONCURRENCY = 8;
/** What the test moves to loopback and temp dirs, and the limits it lifts so N requests are not 429s. */
const PLACEMENT = [
  /^\s*(listen|pid|access_log|error_log|client_body_temp_path|proxy_temp_path|fastcgi_temp_path|uwsgi_temp_path|scgi_temp_path|alias|root|include) /,
  /^\s*limit_req_zone /,
  /^\s*limit_req zone=djs_general /,
  /^\s*(resolver|resolver_timeout) /,
];

const BACKEND = `
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
ip, port = sys.argv[1], int(sys.argv[2])
count, lock = 0, threading.Lock()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # nginx keeps upstream connections alive
    def do_GET(self):
        global count
        if self.path == "/__count":
            body = str(count).encode()
        else:
            with lock:
                count += 1
            body = ip.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer((ip, port), Handler).serve_forever()
`;

let config: StackConfig;
let upstream: string;
let conf: string;
let httpPort: number;
let backendPort: number;
let docker: FakeDocker;
let volumeDir: string;
let nginxDir: string;
let nginx: NginxServer | undefined;
const backends = new Map<string, ServerProcess>();

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A port in 18600-18699 free on every backend address (each binds its own address). */
async function backendPortFree(hosts: string[]): Promise<number> {
  for (let port = 18600; port <= 18699; port++) {
    const free = await Promise.all(hosts.map((h) => new Promise<boolean>((resolve) => {
      const s = net.createServer().once("error", () => resolve(false)).listen(port, h, () => s.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return port;
  }
  throw new Error("no free port in 18600-18699 on the backend addresses");
}

/** Requests a backend counted, asked of it directly (not through nginx). */
function received(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: ip, port: backendPort, path: "/__count", agent: false }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(Number(body)));
      })
      .on("error", reject);
  });
}

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const ip of backends.keys()) out[ip] = await received(ip);
  return out;
}

const delta = (before: Record<string, number>, after: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.keys(after).map((ip) => [ip, after[ip] - before[ip]]));

interface Tally {
  sent: number;
  /** Answering backend (the response body) -> responses. */
  by: Record<string, number>;
  failures: string[];
}

/** Sends requests through nginx, CONCURRENCY at a time, each on a fresh connection, until `more()` says stop. */
async function load(more: (sent: number) => boolean): Promise<Tally> {
  const tally: Tally = { sent: 0, by: {}, failures: [] };
  const worker = async (): Promise<void> => {
    while (more(tally.sent)) {
      tally.sent++;
      try {
        const r = await request({ port: httpPort, path: "/cutover-probe/", host: "localhost", timeoutMs: 10_000 });
        if (r.status === 200 && backends.has(r.text)) tally.by[r.text] = (tally.by[r.text] ?? 0) + 1;
        else tally.failures.push(`${r.status} ${r.text.slice(0, 80)}`);
      } catch (e) {
        tally.failures.push(e instanceof Error ? e.message : String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return tally;
}

const exactly = (n: number) => (sent: number): boolean => sent < n;

function cutoverInput(containers: string[]): CutoverInput {
  // Debian's nginx 1.22 has no `server ... resolve`; the Docker targets render with resolve: true.
  return { upstream, containers, port: backendPort, volume: VOLUME, nginxContainer: NGINX, image: IMAGE, upstreamOptions: { resolve: false } };
}

/** The rendered script under dash, as nginx's user (so nginx -t / -s reload act on its own master). */
function cutover(containers: string[]): Promise<RunResult> {
  const user = nginxUser();
  return run("/bin/sh", ["-c", renderCutoverScript(cutoverInput(containers))], { env: docker.env(), uid: user.uid, gid: user.gid, check: false, timeoutMs: 30_000 });
}

const upstreamFile = (): string => path.join(volumeDir, `${upstream}.conf`);
const readUpstream = (): string => fs.readFileSync(upstreamFile(), "utf8");
const subcommands = (): string[] => docker.calls().map((c) => c[0]);

function workers(): number[] {
  assert.ok(nginx, "nginx is running");
  const master = nginx.server.pid;
  return liveGroupMembers(master).filter((p) => p !== master).sort();
}

before(async () => {
  config = stackConfig("local");
  const model = buildModel(config);
  upstream = model.routing[0].upstream;
  const dir = tempDir("docker-cutover");
  docker = installFakeDocker(path.join(dir, "docker"));
  docker.addImage(IMAGE);
  volumeDir = docker.volumeDir(VOLUME);
  nginxDir = path.join(dir, "nginx");
  fs.mkdirSync(nginxDir);
  chownR(dir, nginxUser());
  const [http_, httpsPort, statusPort] = await freePorts(3);
  httpPort = http_;
  backendPort = await backendPortFree([OLD, NEW, NEVER, REPLICA]);

  // What the Docker target renders (plus upstreamsDir), and the same for loopback: checked to differ only there.
  const production = renderNginx({ ...nginxInputFor(model, config.edge, config.domain), resolver: DOCKER_RESOLVER, upstreamsDir: "/etc/nginx/upstreams" });
  const base = nginxInputFor(model, config.edge, config.domain);
  const input: NginxInput = {
    ...base,
    nginxVersion: await nginxVersion(),
    addresses: {},
    upstreamsDir: volumeDir,
    edge: { ...base.edge, rateLimit: { ...base.edge.rateLimit, generalPerSecond: 100_000, generalBurst: 100_000 } },
    listen: { http: httpPort, https: httpsPort, address: "127.0.0.1" },
    ...movedStatus(base, statusPort),
    paths: { ...base.paths, staticRoot: nginxDir, mediaRoot: nginxDir, acmeWebroot: nginxDir, pidFile: path.join(nginxDir, "nginx.pid"), tempDir: nginxDir, accessLog: "off", errorLog: "stderr" },
  };
  conf = renderNginx(input);
  assert.deepEqual(diffBeyondPlacement(production, conf, PLACEMENT), [], "the config under test is the Docker target's but for placement and rate limits");
  assert.ok(conf.includes(`include ${volumeDir}/${upstream}.conf;`));

  const script = path.join(dir, "backend.py");
  fs.writeFileSync(script, BACKEND);
  for (const ip of [OLD, NEW, NEVER, REPLICA]) {
    const server = spawnServer(`backend-${ip}`, PYTHON, [script, ip, String(backendPort)], path.join(dir, `backend-${ip}.log`));
    backends.set(ip, server);
  }
  for (const [ip, server] of backends) await waitReady(server, `listening on ${ip}:${backendPort}`, () => connects(ip, backendPort), 15_000);
  // Every "container" but OLD listens already: were nginx ever pointed at one too early, it would be counted.
  docker.setContainer(OLD, { health: "healthy", running: true });
}, { timeout: 60_000 });

describe("health-gated cutover on Docker (real nginx, fake docker CLI)", () => {
  test("(d) first deploy: no nginx container yet, so the cutover only writes the file; nginx then starts on it", async (t) => {
    docker.clearCalls();
    const r = await cutover([OLD]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /upstream file written; nginx container djs-nginx is not running \(absent\)/);
    assert.deepEqual(subcommands(), ["inspect", "inspect", "inspect", "run"], "no exec: there is no nginx to reload");
    assert.equal(readUpstream(), `# Upstream ${upstream}: written by the deploy's health-gated cutover; do not edit.\n${renderUpstreamBlock(upstream, [`${OLD}:${backendPort}`], { resolve: false })}`);

    nginx = await startNginx({ config: conf, ports: [httpPort], dir: nginxDir, label: "docker-cutover" });
    const { configFile } = nginx;
    // `docker exec djs-nginx nginx ...` runs this nginx binary with this config.
    docker.setContainer(NGINX, { running: true, exec: `[ "$1" = nginx ] || exit 127; shift; exec /usr/sbin/nginx -p '${nginxDir}/' -c '${configFile}' -e stderr "$@"\n` });
    const before = await counts();
    const tally = await load(exactly(N));
    const got = delta(before, await counts());
    t.diagnostic(`first release: sent ${tally.sent}, received ${JSON.stringify(got)}, failures ${tally.failures.length}`);
    assert.deepEqual(tally.failures, []);
    assert.deepEqual(got, { [OLD]: N, [NEW]: 0, [NEVER]: 0, [REPLICA]: 0 });
  });

  test("(a) a new container still starting: the cutover fails, and requests sent meanwhile all reach the old one", async (t) => {
    docker.setContainer(NEW, { health: "starting", running: true });
    const file = readUpstream();
    const workersBefore = workers();
    docker.clearCalls();
    const before = await counts();
    const [tally, r] = await Promise.all([load(exactly(N)), cutover([NEW])]);
    const got = delta(before, await counts());
    t.diagnostic(`new container starting: cutover exit ${r.code}; sent ${tally.sent}, received ${JSON.stringify(got)}, failures ${tally.failures.length}`);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `cutover ${upstream}: container ${NEW} is starting, not healthy; nginx is not switched and the running release keeps serving`);
    assert.deepEqual(subcommands(), ["inspect"], "nothing written, nginx not touched");
    assert.equal(readUpstream(), file);
    assert.deepEqual(workers(), workersBefore, "nginx was not reloaded");
    assert.deepEqual(tally.failures, []);
    assert.deepEqual(got, { [OLD]: N, [NEW]: 0, [NEVER]: 0, [REPLICA]: 0 });
  });

  test("(b) a new container that never becomes healthy: every retry fails, and the old one keeps serving afterwards", async (t) => {
    docker.setContainer(NEVER, { health: "unhealthy", running: true });
    const file = readUpstream();
    const before = await counts();
    let retries = 0;
    const retry = async (): Promise<void> => {
      for (; retries < 5; retries++) {
        const r = await cutover([NEVER]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`container ${NEVER.replace(/\./g, "\\.")} is unhealthy, not healthy; nginx is not switched and the running release keeps serving`));
      }
    };
    const [during] = await Promise.all([load(exactly(N)), retry()]);
    const afterwards = await load(exactly(N));
    const got = delta(before, await counts());
    t.diagnostic(`never healthy: ${retries} failed cutovers; sent ${during.sent} during + ${afterwards.sent} after, received ${JSON.stringify(got)}, failures ${during.failures.length + afterwards.failures.length}`);
    assert.equal(readUpstream(), file);
    assert.deepEqual([...during.failures, ...afterwards.failures], []);
    assert.deepEqual(got, { [OLD]: 2 * N, [NEW]: 0, [NEVER]: 0, [REPLICA]: 0 });
  });

  test("(e) nginx -t rejecting the new file: the previous file is restored and nginx is not reloaded", async (t) => {
    docker.setContainer(UNRESOLVABLE, { health: "healthy", running: true });
    const file = readUpstream();
    const workersBefore = workers();
    docker.clearCalls();
    const r = await cutover([UNRESOLVABLE]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nginx -t rejected the new upstream file, the previous one is restored; nginx is not switched and the running release keeps serving: .*host not found in upstream "web-new\.invalid:/s);
    assert.deepEqual(subcommands(), ["inspect", "inspect", "run", "exec", "run"], "written, tested, restored; no reload");
    assert.equal(readUpstream(), file, "the previous file is back byte for byte");
    assert.deepEqual(fs.readdirSync(volumeDir).sort(), [`${upstream}.conf`], "no temp or .prev file left behind");
    assert.deepEqual(workers(), workersBefore, "nginx was not reloaded");
    const before = await counts();
    const tally = await load(exactly(N));
    const got = delta(before, await counts());
    t.diagnostic(`nginx -t rejected: sent ${tally.sent}, received ${JSON.stringify(got)}`);
    assert.deepEqual(tally.failures, []);
    assert.deepEqual(got, { [OLD]: N, [NEW]: 0, [NEVER]: 0, [REPLICA]: 0 });
  });

  test("(c) once healthy: the cutover switches with no failed request, and after the reload everything reaches the new one", async (t) => {
    docker.setContainer(NEW, { health: "healthy", running: true });
    const workersBefore = workers();
    const before = await counts();
    let switched = false;
    let reloadedMs = 0;
    const switching = (async (): Promise<RunResult> => {
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      const r = await cutover([NEW]);
      // The reload is complete when every worker of the old configuration has exited.
      await waitFor("the old nginx workers to exit", async () => workers().every((p) => !workersBefore.includes(p)) && workers().length > 0, { timeoutMs: 15_000, intervalMs: 20 });
      reloadedMs = Date.now() - started;
      await new Promise((res) => setTimeout(res, 200));
      switched = true;
      return r;
    })();
    const [during, r] = await Promise.all([load(() => !switched), switching]);
    const mid = await counts();
    t.diagnostic(`switch under load: cutover exit ${r.code}, old workers gone ${reloadedMs} ms after it started; sent ${during.sent}, answered by ${JSON.stringify(during.by)}, failures ${during.failures.length}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`nginx reloaded; it routes to ${NEW.replace(/\./g, "\\.")}:${backendPort}`));
    assert.deepEqual(during.failures, [], "a request failed during the switch");
    assert.ok((during.by[OLD] ?? 0) > 0 && (during.by[NEW] ?? 0) > 0, `load spanned the switch: ${JSON.stringify(during.by)}`);
    assert.equal(during.sent, (during.by[OLD] ?? 0) + (during.by[NEW] ?? 0));

    const after = await load(exactly(N));
    const got = delta(mid, await counts());
    t.diagnostic(`after the reload: sent ${after.sent}, received ${JSON.stringify(got)}, failures ${after.failures.length}; during the switch the backends counted ${JSON.stringify(delta(before, mid))}`);
    assert.deepEqual(after.failures, []);
    assert.deepEqual(got, { [OLD]: 0, [NEW]: N, [NEVER]: 0, [REPLICA]: 0 });
  });

  test("two replicas: the cutover needs both healthy and then routes to both", async (t) => {
    docker.setContainer(REPLICA, { health: "starting", running: true });
    const refused = await cutover([NEW, REPLICA]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /container 127\.0\.0\.5 is starting/);
    docker.setContainer(REPLICA, { health: "healthy", running: true });
    const workersBefore = workers();
    const r = await cutover([NEW, REPLICA]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor("the old nginx workers to exit", async () => workers().every((p) => !workersBefore.includes(p)) && workers().length > 0, { timeoutMs: 15_000, intervalMs: 20 });
    const before = await counts();
    const tally = await load(exactly(N));
    const got = delta(before, await counts());
    t.diagnostic(`two replicas: sent ${tally.sent}, received ${JSON.stringify(got)}`);
    assert.deepEqual(tally.failures, []);
    assert.equal(got[NEW] + got[REPLICA], N);
    assert.ok(got[NEW] > 0 && got[REPLICA] > 0, `both replicas serve: ${JSON.stringify(got)}`);
    assert.equal(got[OLD] + got[NEVER], 0);
  });
});
