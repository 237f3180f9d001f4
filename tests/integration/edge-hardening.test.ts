/**
 * Issue 11, on a real nginx (Debian's 1.22): what a client and the app behind the edge observe.
 * Three renderings, each from the real config parser, model and renderer:
 * - `local`: the local stack (no domain, plain HTTP), upstreams in include files as the Docker
 *   targets' cutover writes them;
 * - `tls`: the same with a domain and TLS from files (a self-signed certificate made here);
 * - `lb`: the production stack as `loadBalancedNginx` renders it for the Kubernetes target, the
 *   load balancer being 127.0.0.2 (trusted) and every other peer 127.0.0.1.
 * The app is an echo upstream recording every request nginx forwards. Ports 18800-18819.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadBalancedInput, loadBalancedNginx } from "../../src/components/targets/kubernetes/edge";
import { EdgeConfig, StackConfig } from "../../src/config/types";
import { buildModel } from "../../src/model/build";
import { WorkloadModel } from "../../src/model/types";
import { NginxInput, nginxInputFor, renderNginx, renderUpstreamBlock } from "../../src/render/nginx";
import { diffBeyondPlacement, stackConfig } from "./fixtures";
import { EchoUpstream, EdgeRequest, EdgeResponse, h2Request, rawRequest, startEcho } from "./harness/echo";
import { nginxUser, startNginx } from "./harness/nginx";
import { chownR, freePort, tempDir, useHarness } from "./harness/process";
import { selfSignedCert } from "./harness/secrets";
import { movedStatus, nginxVersion } from "./stackup";
import { exactApps } from "../helpers/stack-apps";

useHarness();

const TLS_EDGE = { tls: { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" } };
/** Names that look hashed (the immutable static location's regex) or plain, in dot files and dot directories. */
const DOT_FILES = [".env.0a1b2c3d.txt", ".git/config.0a1b2c3d.txt", ".env", ".git/config", "css/.htaccess"];
const ACTIVE_UPLOADS = ["evil.html", "evil.HTM", "evil.xhtml", "evil.svg", "evil.xml"];
const PORT = { echo: 18800, localHttp: 18801, tlsHttp: 18802, tlsHttps: 18803, lbHttp: 18804, spare: 18805 };
const DOMAIN = "djangostack.test";
const LB = "127.0.0.2";
const APPS = [{ name: "web", build: "./app", websocketPaths: ["/ws/"] }];
/** The production stack's domain and hosts, with a small app (its sizing is not what is tested here). */
const LB_APPS = [{ name: "shop", build: "./app", routes: ["/"], hosts: ["api.shop.example.com"], websocketPaths: ["/ws/"] }];

let echo: EchoUpstream;
let localConf: string;
let tlsConf: string;
let lbConf: string;
let mediaDir: string;
let staticDir: string;

interface Rendered {
  config: StackConfig;
  model: WorkloadModel;
}

function rendered(stack: string, extra: Record<string, unknown>): Rendered {
  const config = stackConfig(stack, extra);
  return { config, model: buildModel(config) };
}

/** The in-container input with only placement moved: loopback ports, temp paths, the echo upstream. */
async function placed(r: Rendered, edge: EdgeConfig, dir: string, ports: { http: number; https: number }, tls?: { cert: string; key: string }): Promise<NginxInput> {
  const base = nginxInputFor(r.model, edge, r.config.domain);
  fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
  return {
    ...base,
    nginxVersion: await nginxVersion(),
    addresses: Object.fromEntries(Object.keys(base.addresses).map((u) => [u, `127.0.0.1:${PORT.echo}`])),
    listen: { ...ports, address: "127.0.0.1" },
    ...movedStatus(base, await freePort()),
    redirectHttpsPort: ports.https,
    paths: {
      ...base.paths,
      staticRoot: staticDir,
      mediaRoot: mediaDir,
      tlsCertificate: tls?.cert ?? base.paths.tlsCertificate,
      tlsKey: tls?.key ?? base.paths.tlsKey,
      acmeWebroot: path.join(dir, "acme"),
      pidFile: path.join(dir, "nginx.pid"),
      tempDir: path.join(dir, "tmp"),
      accessLog: "off",
      errorLog: "stderr",
    },
  };
}

/** Upstreams as include files, one per upstream, as the Docker targets' health-gated cutover writes them. */
function withUpstreamFiles(input: NginxInput, dir: string): NginxInput {
  const upstreamsDir = path.join(dir, "upstreams");
  fs.mkdirSync(upstreamsDir, { recursive: true });
  for (const [name, address] of Object.entries(input.addresses)) fs.writeFileSync(path.join(upstreamsDir, `${name}.conf`), renderUpstreamBlock(name, [address], { resolve: false }));
  return { ...input, upstreamsDir };
}

before(async () => {
  echo = await startEcho(PORT.echo);
  const files = tempDir("edge-hardening-files");
  staticDir = path.join(files, "static");
  mediaDir = path.join(files, "media");
  for (const app of ["web", "shop"]) {
    fs.mkdirSync(path.join(staticDir, app), { recursive: true });
    fs.mkdirSync(path.join(mediaDir, app), { recursive: true });
    fs.writeFileSync(path.join(staticDir, app, "app.css"), "body{}\n");
    fs.writeFileSync(path.join(mediaDir, app, "photo.png"), "not really a png\n");
    for (const f of DOT_FILES) {
      fs.mkdirSync(path.dirname(path.join(staticDir, app, f)), { recursive: true });
      fs.writeFileSync(path.join(staticDir, app, f), "SECRET_KEY=leaked\n");
      fs.mkdirSync(path.dirname(path.join(mediaDir, app, f)), { recursive: true });
      fs.writeFileSync(path.join(mediaDir, app, f), "SECRET_KEY=leaked\n");
    }
    for (const f of ACTIVE_UPLOADS) fs.writeFileSync(path.join(mediaDir, app, f), '<html><form action="https://evil.example/"><input name="password"></form><script>alert(1)</script></html>\n');
  }
  const cert = await selfSignedCert(path.join(files, "certs"), DOMAIN);
  chownR(files, nginxUser());

  const local = rendered("local", { apps: APPS });
  const localDir = tempDir("edge-hardening-local");
  localConf = renderNginx(withUpstreamFiles(await placed(local, local.config.edge, localDir, { http: PORT.localHttp, https: PORT.spare }), localDir));

  const tls = rendered("local", { apps: APPS, domain: DOMAIN, edge: { ...TLS_EDGE, hstsIncludeSubDomains: true, hstsPreload: true } });
  const tlsDir = tempDir("edge-hardening-tls");
  tlsConf = renderNginx(withUpstreamFiles(await placed(tls, tls.config.edge, tlsDir, { http: PORT.tlsHttp, https: PORT.tlsHttps }, cert), tlsDir));

  // loadBalancedNginx's own input (TLS at the LB), placed on loopback; checked to say nothing else.
  const lb = rendered("production", exactApps(LB_APPS));
  const lbDir = tempDir("edge-hardening-lb");
  const production = loadBalancedNginx(lb.model, lb.config, `${LB}/32`);
  const lbInput = loadBalancedInput(lb.model, lb.config, `${LB}/32`);
  lbConf = renderNginx({ ...(await placed(lb, lbInput.edge, lbDir, { http: PORT.lbHttp, https: PORT.spare })), redirectHttpsPort: lbInput.redirectHttpsPort, trustedProxy: lbInput.trustedProxy });
  assert.deepEqual(diffBeyondPlacement(production, lbConf, PLACEMENT), [], "the lb config under test is production's but for placement");

  await Promise.all([
    startNginx({ config: localConf, ports: [PORT.localHttp], dir: localDir, label: "edge-hardening-local" }),
    startNginx({ config: tlsConf, ports: [PORT.tlsHttp, PORT.tlsHttps], dir: tlsDir, label: "edge-hardening-tls" }),
    startNginx({ config: lbConf, ports: [PORT.lbHttp], dir: lbDir, label: "edge-hardening-lb" }),
  ]);
}, { timeout: 60_000 });

const PLACEMENT = [
  /^\s*(listen|pid|access_log|error_log|client_body_temp_path|proxy_temp_path|fastcgi_temp_path|uwsgi_temp_path|scgi_temp_path|alias|root) /,
  /^\s*server \S+:\d+;$/,
];

/** Requests the upstream saw while `fn` ran. */
async function reaching(fn: () => Promise<unknown>): Promise<typeof echo.seen> {
  const start = echo.seen.length;
  await fn();
  return echo.seen.slice(start);
}

const tlsGet = (req: Partial<EdgeRequest> & { path: string }): Promise<EdgeResponse> => rawRequest({ port: PORT.tlsHttps, sni: DOMAIN, host: DOMAIN, ...req });

describe("item 1: a foreign Host over HTTPS is closed, never answered, never forwarded", () => {
  test("HTTP/1.1 with our SNI and a foreign, IP-literal or missing Host: connection closed, nothing reaches the app", async () => {
    const seen = await reaching(async () => {
      for (const host of ["attacker.example", "127.0.0.1", `127.0.0.1:${PORT.tlsHttps}`, "[::1]", undefined]) {
        const r = await tlsGet({ path: "/", host });
        assert.equal(r.closed, true, `Host ${String(host)}: got ${r.status} ${JSON.stringify(r.headers)}`);
      }
    });
    assert.deepEqual(seen, []);
    // Our own name is served and forwarded.
    const ok = await reaching(async () => assert.equal((await tlsGet({ path: "/" })).status, 200));
    assert.equal(ok.length, 1);
  });

  test("HTTP/2 with our SNI and a foreign :authority: no response, nothing reaches the app", async () => {
    const seen = await reaching(async () => {
      for (const authority of ["attacker.example", "127.0.0.1"]) {
        const r = await h2Request({ port: PORT.tlsHttps, sni: DOMAIN, authority, path: "/" });
        assert.equal(r.closed, true, `:authority ${authority}: got ${r.status}`);
      }
    });
    assert.deepEqual(seen, []);
    assert.equal((await h2Request({ port: PORT.tlsHttps, sni: DOMAIN, authority: DOMAIN, path: "/" })).status, 200);
  });
});

describe("item 2: the app sees the matched server name and the public port, never the client's Host", () => {
  const hostsSeen = (seen: typeof echo.seen): string[][] => seen.map((s) => [...(s.headers.host ?? []), ...(s.headers["x-forwarded-host"] ?? [])]);

  test("TLS: Host with a port the client typed and odd case reaches the app as the name and the public HTTPS port", async () => {
    const port = stackConfig("local", { apps: APPS, domain: DOMAIN, edge: TLS_EDGE }).edge.httpsPort;
    const seen = await reaching(async () => {
      assert.equal((await tlsGet({ path: "/", host: "DjangoStack.TEST:9999" })).status, 200);
      assert.equal((await tlsGet({ path: "/", host: `${DOMAIN}:${PORT.tlsHttps}`, headers: [["X-Forwarded-Host", "evil.example"]] })).status, 200);
    });
    assert.deepEqual(hostsSeen(seen), [[`${DOMAIN}:${port}`, `${DOMAIN}:${port}`], [`${DOMAIN}:${port}`, `${DOMAIN}:${port}`]]);
  });

  test("TLS: an absolute-form request line naming another host is closed (nginx takes the host from it)", async () => {
    const seen = await reaching(async () => assert.equal((await tlsGet({ path: "https://evil.example/" })).closed, true));
    assert.deepEqual(seen, []);
  });

  test("local (no domain): the app sees the address the client used with the published port, not the port the client typed", async () => {
    const published = stackConfig("local", { apps: APPS }).edge.httpPort;
    const seen = await reaching(async () => assert.equal((await rawRequest({ port: PORT.localHttp, path: "/", host: "127.0.0.1:9999" })).status, 200));
    assert.deepEqual(hostsSeen(seen), [[`127.0.0.1:${published}`, `127.0.0.1:${published}`]]);
  });

  test("behind the load balancer: the matched name without a port (the LB listens on 80 and 443)", async () => {
    const seen = await reaching(async () => assert.equal((await rawRequest({ port: PORT.lbHttp, from: LB, path: "/", host: "Shop.Example.com:8080" })).status, 200));
    assert.deepEqual(hostsSeen(seen), [["shop.example.com", "shop.example.com"]]);
  });
});

describe("item 4: forwarding headers are taken only from the trusted proxy, and set or cleared otherwise", () => {
  const SPOOFED: [string, string][] = [
    ["Forwarded", "for=203.0.113.66;proto=https;host=evil.example"],
    ["X-Forwarded-Ssl", "on"],
    ["X-Forwarded-Port", "443"],
    ["X-Forwarded-Scheme", "https"],
    ["X-Forwarded-Protocol", "https"],
    ["True-Client-IP", "203.0.113.66"],
    ["X-Client-IP", "203.0.113.66"],
    ["X-Original-URL", "/admin/"],
    ["CF-Connecting-IP", "203.0.113.66"],
  ];
  const spoofedSeen = (s: (typeof echo.seen)[number]): string[] => SPOOFED.map(([k]) => k.toLowerCase()).filter((k) => k !== "x-forwarded-port" && s.headers[k] !== undefined);

  test("no spoofable header reaches the app from a client, in the local, TLS and load-balanced variants", async () => {
    const seen = await reaching(async () => {
      // One after the other: the app sees them in this order.
      assert.equal((await rawRequest({ port: PORT.localHttp, host: "127.0.0.1", path: "/", headers: SPOOFED })).status, 200);
      assert.equal((await tlsGet({ path: "/", headers: SPOOFED })).status, 200);
      assert.equal((await rawRequest({ port: PORT.lbHttp, from: "127.0.0.1", host: "shop.example.com", path: "/", headers: SPOOFED })).status, 200);
      assert.equal((await rawRequest({ port: PORT.lbHttp, from: LB, host: "shop.example.com", path: "/", headers: SPOOFED })).status, 200);
    });
    assert.equal(seen.length, 4);
    for (const s of seen) assert.deepEqual(spoofedSeen(s), [], JSON.stringify(s.headers));
    // X-Forwarded-Port is set to the public port, never the client's.
    const localPort = String(stackConfig("local", { apps: APPS }).edge.httpPort);
    assert.deepEqual(seen.map((s) => s.headers["x-forwarded-port"]), [[localPort], ["8443"], ["80"], ["80"]]);
  });

  test("behind the LB: a peer other than the LB cannot claim HTTPS or another client address", async () => {
    const xfp: [string, string][] = [["X-Forwarded-Proto", "https"], ["X-Forwarded-For", "203.0.113.66"]];
    const seen = await reaching(async () => {
      assert.equal((await rawRequest({ port: PORT.lbHttp, from: "127.0.0.1", host: "shop.example.com", path: "/", headers: xfp })).status, 200);
      assert.equal((await rawRequest({ port: PORT.lbHttp, from: LB, host: "shop.example.com", path: "/", headers: xfp })).status, 200);
    });
    const view = seen.map((s) => ({ proto: s.headers["x-forwarded-proto"], port: s.headers["x-forwarded-port"], for: s.headers["x-forwarded-for"], realIp: s.headers["x-real-ip"] }));
    assert.deepEqual(view, [
      { proto: ["http"], port: ["80"], for: ["127.0.0.1"], realIp: ["127.0.0.1"] },
      { proto: ["https"], port: ["443"], for: ["203.0.113.66"], realIp: ["203.0.113.66"] },
    ]);
  });
});

describe("item 5: HSTS on every HTTPS response, also behind the load balancer, with includeSubDomains and preload as options", () => {
  const TOO_BIG: [string, string] = ["Content-Length", String(64 * 1024 * 1024)];
  const hsts = (r: EdgeResponse): string[] => r.headers["strict-transport-security"] ?? [];

  test("behind the LB, HTTPS requests get HSTS on proxied, static, nginx's 404 and 413; HTTP and untrusted peers do not", async () => {
    const fromLb = (p: string, proto: string, extra: [string, string][] = []): Promise<EdgeResponse> =>
      rawRequest({ port: PORT.lbHttp, from: LB, host: "shop.example.com", path: p, headers: [["X-Forwarded-Proto", proto], ...extra] });
    const want = `max-age=${stackConfig("production", exactApps(LB_APPS)).edge.hstsSeconds}`;
    const responses = [await fromLb("/", "https"), await fromLb("/static/app.css", "https"), await fromLb("/static/missing.css", "https"), await fromLb("/", "https", [TOO_BIG])];
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 404, 413]);
    for (const r of responses) assert.deepEqual(hsts(r), [want], `status ${r.status}`);
    assert.deepEqual(hsts(await fromLb("/", "http")), []);
    const spoofed = await rawRequest({ port: PORT.lbHttp, from: "127.0.0.1", host: "shop.example.com", path: "/", headers: [["X-Forwarded-Proto", "https"]] });
    assert.equal(spoofed.status, 200);
    assert.deepEqual(hsts(spoofed), []);
  });

  test("TLS with edge.hstsIncludeSubDomains and edge.hstsPreload: the header carries both, on every kind of response", async () => {
    const responses = [await tlsGet({ path: "/" }), await tlsGet({ path: "/static/app.css" }), await tlsGet({ path: "/media/photo.png" }), await tlsGet({ path: "/static/nope.css" }), await tlsGet({ path: "/", headers: [TOO_BIG] })];
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 404, 413]);
    for (const r of responses) assert.deepEqual(hsts(r), ["max-age=31536000; includeSubDomains; preload"], `status ${r.status}`);
  });
});

describe("item 6: uploaded active documents cannot run, submit or render inline", () => {
  test("HTML, XHTML, SVG and XML uploads: attachment, CSP default-src 'none'; sandbox, nosniff (TLS, media on a volume)", async () => {
    for (const f of ACTIVE_UPLOADS) {
      const r = await tlsGet({ path: `/media/${f}` });
      assert.equal(r.status, 200, f);
      assert.deepEqual(r.headers["content-disposition"], ["attachment"], f);
      assert.deepEqual(r.headers["content-security-policy"], ["default-src 'none'; sandbox"], f);
      assert.deepEqual(r.headers["x-content-type-options"], ["nosniff"], f);
    }
  });

  test("load-balanced (kubernetes: media on Spaces, issue 13 item 4): nothing under /media/ is served from a directory; the path is the app's like any other", async () => {
    const paths = [...ACTIVE_UPLOADS, "photo.png"].map((f) => `/media/${f}`);
    const seen = await reaching(async () => {
      for (const p of paths) {
        const r = await rawRequest({ port: PORT.lbHttp, from: LB, host: "shop.example.com", path: p });
        assert.equal(r.status, 200, p);
        assert.doesNotMatch(r.body, /not really a png|<form/, `${p}: a file of the media directory was served`);
        assert.equal(r.headers["content-disposition"], undefined, p);
      }
    });
    assert.deepEqual(seen.map((s) => s.url), paths, "each request reached the app");
  });

  test("an image upload stays inline, still under the sandboxing CSP", async () => {
    const r = await tlsGet({ path: "/media/photo.png" });
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers["content-type"], ["image/png"]);
    assert.equal(r.headers["content-disposition"], undefined);
    assert.deepEqual(r.headers["content-security-policy"], ["default-src 'none'; sandbox"]);
  });
});

describe("item 7: dot files and dot directories are denied whatever location matches", () => {
  test("/static/ and /media/ dot segments (hashed-looking or not, %2e-encoded too) get 403 and never their content", async () => {
    const paths = DOT_FILES.flatMap((f) => [`/static/${f}`, `/media/${f}`]).concat(["/static/%2eenv.0a1b2c3d.txt", "/static/css/../.env", "/.env", "/.git/config"]);
    const seen = await reaching(async () => {
      for (const p of paths) {
        for (const r of [await rawRequest({ port: PORT.localHttp, host: "127.0.0.1", path: p }), await tlsGet({ path: p })]) {
          assert.equal(r.status, 403, `${p}: ${r.status} ${r.body}`);
          assert.doesNotMatch(r.body, /leaked/, p);
        }
      }
    });
    assert.deepEqual(seen, [], "a dot path was proxied to the app");
    // The ACME path stays reachable over HTTP (404: no such token) and ordinary files are served.
    assert.equal((await rawRequest({ port: PORT.localHttp, host: "127.0.0.1", path: "/.well-known/acme-challenge/none" })).status, 404);
    assert.equal((await tlsGet({ path: "/static/app.css" })).status, 200);
  });
});

describe("item 8: only a WebSocket upgrade reaches the app", () => {
  const upgradeTo = (p: string, token: string): Promise<EdgeResponse> =>
    rawRequest({ port: PORT.localHttp, host: "127.0.0.1", path: p, headers: [["Upgrade", token], ["Connection", "Upgrade, close"], ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="], ["Sec-WebSocket-Version", "13"], ["HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"]] });

  test("h2c and other tokens, on a WebSocket path or elsewhere, reach the app as a plain request without Upgrade", async () => {
    const seen = await reaching(async () => {
      for (const [p, token] of [["/ws/chat/", "h2c"], ["/ws/chat/", "websocket, h2c"], ["/ws/chat/", "TLS/1.2"], ["/", "h2c"], ["/", "websocket"]]) {
        assert.equal((await upgradeTo(p, token)).status, 200, `${p} ${token}`);
      }
    });
    assert.equal(seen.length, 5);
    for (const s of seen) assert.deepEqual([s.upgrade, s.headers.upgrade, s.headers.connection], [false, undefined, undefined], JSON.stringify(s.headers));
    // A websocket upgrade on the WebSocket path still switches (101), the app seeing Upgrade: websocket.
    const ws = await reaching(async () => assert.equal((await upgradeTo("/ws/chat/", "websocket")).status, 101));
    assert.deepEqual(ws.map((s) => [s.upgrade, s.headers.upgrade, s.headers.connection]), [[true, ["websocket"], ["upgrade"]]]);
  });
});
