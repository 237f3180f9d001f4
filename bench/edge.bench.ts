/**
 * Items 2 and 3 on real servers (Debian's nginx, gunicorn, Django; loopback only, bounded runs):
 * the rendered nginx + gunicorn against gunicorn alone, over HTTP/1.1, TLS and HTTP/2, variants of
 * the rendered nginx.conf to find where the difference goes, a hashed static file through nginx
 * against Django serving it, and the rendered gunicorn settings against alternatives.
 * Load generators: wrk (HTTP/1.1) and h2load from nghttp2-client (TLS, HTTP/2), both from Debian.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStack, generateCredentials, Stack } from "../tests/integration/fixtures";
import { GunicornServer, runAppCommand, startGunicorn } from "../tests/integration/harness/django";
import { nginxUser, startNginx } from "../tests/integration/harness/nginx";
import { chownR, cleanupAll, freePort, freePorts, tempDir } from "../tests/integration/harness/process";
import { selfSignedCert } from "../tests/integration/harness/secrets";
import { AppDirs, appDirs, appEnv, DataTier, Edge, startDataTier, startEdge } from "../tests/integration/stackup";
import { renderedFile, process as modelProcess } from "../tests/integration/fixtures";
import * as names from "../src/model/names";
import { Row, median } from "./measure";

const APP = "web";
const DOMAIN = "djangostack.test";
const HEALTH = "/api/v1/health/";

interface Load {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function exec(file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")}: exit ${String(error.code ?? error.signal)}\n${stderr}\n${String(stdout).split("\n").slice(-8).join("\n")}`)) : resolve(String(stdout)),
    );
  });
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
/** h2load's request count per second of a run: about what gunicorn alone serves on this 2-core machine. */
const REQUESTS_PER_SECOND = 2500;

/** wrk over HTTP/1.1 keep-alive; latency percentiles from its --latency table. */
async function wrk(url: string, seconds: number, connections: number, host = "localhost"): Promise<Load> {
  const text = await exec("/usr/bin/wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `Host: ${host}`, url], (seconds + 30) * 1000);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([0-9.]+)(us|ms|s)$`, "m").exec(text);
    return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return { rps, p50Ms: pct("50"), p99Ms: pct("99"), errors: non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) };
}

/**
 * h2load for TLS and HTTP/2, run in a private mount namespace whose /etc/hosts names the test
 * domain, so the handshake carries the real SNI (the edge rejects unknown ones) without touching
 * the machine's /etc/hosts. Percentiles from its per-request log.
 */
async function h2load(url: string, seconds: number, connections: number, h1: boolean, dir: string): Promise<Load> {
  const hosts = path.join(dir, "hosts");
  fs.writeFileSync(hosts, `127.0.0.1 localhost ${DOMAIN}\n`);
  const log = path.join(dir, `h2load-${Date.now()}.log`);
  // A request count, not -D: in timing mode h2load 1.52 keeps reconnecting after "Stopped all clients"
  // when the server closes every HTTP/1.1 connection (gunicorn's sync worker does), until killed
  // (strace: connect, read the 200, shutdown, close, again). The count is about `seconds` of load.
  const args = ["-c", String(connections), "-m", "1", "-n", String(REQUESTS_PER_SECOND * seconds), "--log-file", log, ...(h1 ? ["--h1"] : []), url];
  const run = () => exec("/usr/bin/unshare", ["-m", "sh", "-c", `mount --bind "$0" /etc/hosts && exec /usr/bin/h2load "$@"`, hosts, ...args], (seconds + 30) * 1000);
  // h2load occasionally exits non-zero on a loaded machine (seen once under the test runner): one retry.
  const text = await run().catch(run);
  const lat = fs
    .readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => Number(l.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
  const rps = Number(/finished in [^,]+, ([0-9.]+) req\/s/.exec(text)?.[1] ?? NaN);
  const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(text);
  const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const errors = (m ? Number(m[2]) + Number(m[3]) : 0) + (codes ? codes.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

const fmt = (l: Load) => `${l.rps.toFixed(0)} req/s, p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms${l.errors ? `, ${l.errors} errors` : ""}`;

function row(section: string, name: string, load: Load, base: Load, baseName: string, note = ""): Row {
  return { section, case: name, value: fmt(load), baseline: `${baseName}: ${base.rps.toFixed(0)} req/s, p99 ${base.p99Ms.toFixed(2)} ms`, ratio: load.rps / base.rps, note };
}

/** One measured case of a section: every case of a section runs once per round. */
interface Case {
  label: string;
  run: () => Promise<Load>;
}

/**
 * Every case once per round, the order rotated each round, so load that drifts during the run (this
 * machine is shared) falls on all cases alike. Loads by label, in round order.
 */
async function interleaved(cases: Case[], rounds: number): Promise<Map<string, Load[]>> {
  const loads = new Map<string, Load[]>(cases.map((c) => [c.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length];
      loads.get(c.label)?.push(await c.run());
    }
  }
  return loads;
}

const medianLoad = (xs: Load[]): Load => ({ rps: median(xs.map((l) => l.rps)), p50Ms: median(xs.map((l) => l.p50Ms)), p99Ms: median(xs.map((l) => l.p99Ms)), errors: xs.reduce((a, l) => a + l.errors, 0) });

/** A case against its baseline: median loads, and as the ratio the median of the per-round ratios. */
function compared(section: string, name: string, own: Load[], base: Load[], baseName: string, note = ""): Row {
  const perRound = own.map((l, r) => l.rps / base[r].rps);
  const rounds = `per-round ratios ${perRound.map((x) => x.toFixed(2)).join(", ")}`;
  return { ...row(section, name, medianLoad(own), medianLoad(base), baseName), ratio: median(perRound), note: note ? `${note}; ${rounds}` : rounds };
}

/** A copy of the running edge's config with `edit` applied, served on new ports. */
async function variantEdge(edge: Edge, label: string, edit: (conf: string) => string): Promise<number> {
  const [http, https, status] = await freePorts(3);
  // The upstream blocks are included from per-upstream files (the Docker cutover's layout): inline them so a variant can edit them.
  const base = fs.readFileSync(edge.nginx.configFile, "utf8").replace(/^\s*include (\S+\/upstreams\/\S+\.conf);$/gm, (_line, file: string) => fs.readFileSync(file, "utf8"));
  const dir = tempDir(`edge-${label}`);
  fs.mkdirSync(path.join(dir, "tmp"));
  const conf = edit(base)
    .split(`127.0.0.1:${edge.http}`)
    .join(`127.0.0.1:${http}`)
    .split(`127.0.0.1:${edge.https}`)
    .join(`127.0.0.1:${https}`)
    // The exporter's stub_status listener too (monitoring): two nginx cannot hold one port.
    .split(`127.0.0.1:${edge.input.status?.port ?? edge.https}`)
    .join(`127.0.0.1:${edge.input.status ? status : https}`)
    .replace(/^(\s*pid )\S+;/m, `$1${path.join(dir, "nginx.pid")};`)
    .split(`${edge.input.paths.tempDir}/`)
    .join(`${path.join(dir, "tmp")}/`);
  await startNginx({ config: conf, ports: [http], dir, label: `edge-${label}` });
  return http;
}

/** Django's own file view on STATIC_ROOT, added to the sample app's URLs for the static comparison. */
function djangoStaticOverlay(dir: string): string {
  const pkg = path.join(dir, "benchsite");
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, "__init__.py"), "");
  fs.writeFileSync(path.join(pkg, "settings.py"), `from config.settings import *  # noqa\nROOT_URLCONF = "benchsite.urls"\n`);
  fs.writeFileSync(
    path.join(pkg, "urls.py"),
    `from django.conf import settings\nfrom django.urls import re_path\nfrom django.views.static import serve\nfrom config.urls import urlpatterns as base\n` +
      `urlpatterns = [re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT})] + list(base)\n`,
  );
  return dir;
}

export async function edgeBench(quick: boolean): Promise<Row[]> {
  const seconds = quick ? 1 : 4;
  const conns = 8;
  const rows: Row[] = [];
  try {
    const local = await loadStack("local");
    const creds = generateCredentials(local.config);
    const certDir = tempDir("certs");
    const cert = await selfSignedCert(certDir, DOMAIN);
    chownR(certDir, nginxUser());
    const tlsStack = await loadStack("local", { domain: DOMAIN, edge: { tls: { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" } } });
    // The health view and static files need no data service: ports nothing listens on stand in.
    const data = await startDataTier(local, creds, { postgres: false, redis: false, rabbitmq: false });
    const dirs = appDirs();
    await collectStatic(local, creds, data, dirs);
    const web = await startWebWith(local, creds, data, dirs, {});
    const edge = await startEdge(local, { "web-web": web.port }, dirs);
    const edgeTls = await startEdge(tlsStack, { "web-web": web.port }, dirs, cert);
    const direct = `http://127.0.0.1:${web.port}${HEALTH}`;

    // Item 2: the app path, every case against the same gunicorn, in interleaved rounds.
    const rounds = quick ? 1 : 3;
    const variants: [string, (c: string) => string][] = quick
      ? []
      : [
          ["access_log off", (c) => c.replace(/^(\s*)access_log \S+ djs_json;$/m, "$1access_log off;")],
          ["access_log buffered (64k, flush 1s)", (c) => c.replace(/^(\s*access_log \S+ djs_json);$/m, "$1 buffer=64k flush=1s;")],
          ["no upstream keepalive", (c) => c.replace(/^\s*keepalive \d+;$/gm, "")],
          ["proxy_buffering off", (c) => c.replace("proxy_buffering on;", "proxy_buffering off;")],
          ["worker_processes 1", (c) => c.replace("worker_processes auto;", "worker_processes 1;")],
        ];
    const wrkAt = (port: number) => () => wrk(`http://127.0.0.1:${port}${HEALTH}`, seconds, conns);
    const http1: Case[] = [{ label: "alone", run: wrkAt(web.port) }, { label: "rendered", run: wrkAt(edge.http) }];
    for (const [label, edit] of variants) http1.push({ label, run: wrkAt(await variantEdge(edge, label.replace(/\W+/g, "-"), edit)) });
    const h1 = await interleaved(http1, rounds);
    const aloneLoads = h1.get("alone") ?? [];
    const note = `${conns} connections, ${seconds}s, ${HEALTH}, median of ${rounds} interleaved round${rounds > 1 ? "s" : ""}`;
    rows.push({ section: "2 edge", case: "gunicorn alone (rendered gunicorn.conf.py), wrk", value: fmt(medianLoad(aloneLoads)), baseline: "", note });
    rows.push(compared("2 edge", "rendered nginx -> gunicorn, HTTP/1.1", h1.get("rendered") ?? [], aloneLoads, "gunicorn alone", "goal >= 0.9x"));
    for (const [label] of variants) rows.push(compared("2 edge", `variant: ${label}`, h1.get(label) ?? [], aloneLoads, "gunicorn alone"));

    const scratch = tempDir("h2load");
    const tlsUrl = `https://${DOMAIN}:${edgeTls.https}${HEALTH}`;
    const tls = await interleaved(
      [
        { label: "alone", run: () => h2load(direct, seconds, conns, true, scratch) },
        ...(quick ? [] : [{ label: "h1", run: () => h2load(tlsUrl, seconds, conns, true, scratch) }]),
        { label: "h2", run: () => h2load(tlsUrl, seconds, conns, false, scratch) },
      ],
      rounds,
    );
    const aloneH2load = tls.get("alone") ?? [];
    rows.push({ section: "2 edge", case: "gunicorn alone, h2load HTTP/1.1", value: fmt(medianLoad(aloneH2load)), baseline: "", note: "baseline of the TLS rows" });
    if (!quick) rows.push(compared("2 edge", "rendered nginx, TLS HTTP/1.1 -> gunicorn", tls.get("h1") ?? [], aloneH2load, "gunicorn alone (h2load)", "goal >= 0.9x"));
    rows.push(compared("2 edge", "rendered nginx, TLS HTTP/2 -> gunicorn", tls.get("h2") ?? [], aloneH2load, "gunicorn alone (h2load)", "goal >= 0.9x"));

    // Static: the hashed admin stylesheet through nginx against Django's own static view.
    const manifest = JSON.parse(fs.readFileSync(path.join(dirs.staticRoot, APP, "staticfiles.json"), "utf8")) as { paths: Record<string, string> };
    const hashed = manifest.paths["admin/css/base.css"];
    const overlay = djangoStaticOverlay(tempDir("benchsite"));
    const djangoStatic = await startWebWith(local, creds, data, dirs, { PYTHONPATH: overlay, DJANGO_SETTINGS_MODULE: "benchsite.settings", DJANGO_STATIC_ROOT: path.join(dirs.staticRoot, APP) });
    const fromDjango = await wrk(`http://127.0.0.1:${djangoStatic.port}/static/${hashed}`, seconds, conns);
    const fromNginx = await wrk(`http://127.0.0.1:${edge.http}/static/${hashed}`, seconds, conns);
    await djangoStatic.stop();
    rows.push({ section: "2 static", case: "Django (django.views.static.serve) via gunicorn", value: fmt(fromDjango), baseline: "", note: hashed });
    rows.push(row("2 static", "rendered nginx, hashed file", fromNginx, fromDjango, "Django", "goal >= 20x"));

    // Item 3: gunicorn settings against the rendered config, every one running at once and measured
    // in interleaved rounds (a rotating order per round), so load that drifts during the run (this
    // machine is shared) falls on all of them alike; each ratio is the median of the per-round ratios.
    rows.push(...(await gunicornSizing(web, quick ? 1 : 5, seconds, conns, (extra) => startWebWith(local, creds, data, dirs, extra))));
  } finally {
    await cleanupAll();
  }
  return rows;
}

/** The alternatives item 3 measures the rendered gunicorn.conf.py against (GUNICORN_CMD_ARGS on top of it). */
const GUNICORN_ALTERNATIVES: [string, string][] = [
  ["workers 2, sync", "--workers 2"],
  ["workers 8, sync", "--workers 8"],
  ["workers 2, gthread x4", "--workers 2 --threads 4 --worker-class gthread"],
  ["workers 4, gthread x2", "--workers 4 --threads 2 --worker-class gthread"],
  ["rendered, access log to /dev/null", "--access-logfile /dev/null"],
];

async function gunicornSizing(rendered: GunicornServer, rounds: number, seconds: number, conns: number, start: (extraEnv: Record<string, string>) => Promise<GunicornServer>): Promise<Row[]> {
  const rows: Row[] = [];
  const cases: { label: string; server: GunicornServer }[] = [{ label: "rendered", server: rendered }];
  // The quick run starts one alternative, so the interleaving itself keeps working in CI.
  for (const [label, cmdArgs] of rounds > 1 ? GUNICORN_ALTERNATIVES : GUNICORN_ALTERNATIVES.slice(0, 1)) {
    // One alternative that cannot start is a row saying so, not a lost table.
    try {
      cases.push({ label, server: await start({ GUNICORN_CMD_ARGS: cmdArgs }) });
    } catch (error) {
      rows.push({ section: "3 gunicorn", case: label, value: "did not run", baseline: "", note: String(error).split("\n")[0] });
    }
  }
  const loads = await interleaved(cases.map((c) => ({ label: c.label, run: () => wrk(`http://127.0.0.1:${c.server.port}${HEALTH}`, seconds, conns) })), rounds);
  const base = loads.get("rendered") ?? [];
  const note = `median of ${rounds} interleaved round${rounds > 1 ? "s" : ""}, ${seconds}s each, ${conns} connections`;
  rows.unshift({ section: "3 gunicorn", case: "rendered: (2 x CPUs + 1) capped at 4 -> 4 sync workers, 1 thread", value: fmt(medianLoad(base)), baseline: "", note });
  for (const c of cases.slice(1)) rows.push(compared("3 gunicorn", c.label, loads.get(c.label) ?? [], base, "rendered"));
  for (const c of cases.slice(1)) await c.server.stop();
  return rows;
}

/** The image's collectstatic, into the edge's static root as the migrate process does (no database needed). */
async function collectStatic(stack: Stack, creds: ReturnType<typeof generateCredentials>, data: DataTier, dirs: AppDirs): Promise<void> {
  const env = appEnv(stack, names.migrate(APP), creds, data, dirs, APP);
  const r = await runAppCommand(["python", "manage.py", "collectstatic", "--noinput"], { env, home: dirs.dir, check: false });
  if (r.code !== 0) throw new Error(`collectstatic failed:\n${r.stdout}\n${r.stderr}`);
}

async function startWebWith(stack: Stack, creds: ReturnType<typeof generateCredentials>, data: DataTier, dirs: AppDirs, extraEnv: Record<string, string>): Promise<GunicornServer> {
  const conf = await renderedFile(stack, names.web(APP), creds, "/gunicorn.conf.py");
  return startGunicorn({
    command: modelProcess(stack.model, names.web(APP)).command,
    configPath: conf.path,
    config: conf.artifact,
    port: await freePort(),
    env: { ...appEnv(stack, names.web(APP), creds, data, dirs, APP), ...extraEnv },
    healthPath: HEALTH,
    label: "bench-gunicorn",
  });
}
