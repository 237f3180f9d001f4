/**
 * Issue 3 item 1: through nginx. Two edges rendered by renderNginx(nginxInputFor(model, ...)) for
 * the `local` stack: as it is (no domain, plain HTTP) and with a domain and edge.tls.mode "files"
 * pointing at a self-signed certificate made here. Behind them: the sample app under gunicorn
 * with the rendered gunicorn.conf.py (one per variant, each with its own env), PostgreSQL, Redis
 * and RabbitMQ with their rendered configs.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Credentials, Stack, generateCredentials, loadStack } from "./fixtures";
import { GunicornServer } from "./harness/django";
import { HttpResponse, request } from "./harness/http";
import { chownR, sleep, tempDir, useHarness } from "./harness/process";
import { nginxUser } from "./harness/nginx";
import { selfSignedCert } from "./harness/secrets";
import { AppDirs, DataTier, Edge, appDirs, releaseApp, startDataTier, startEdge, startStackRedis, startWeb } from "./stackup";

useHarness();

const APP = "web";
const DOMAIN = "djangostack.test";

let local: Stack;
let tlsStack: Stack;
let creds: Credentials;
let data: DataTier;
let dirs: AppDirs;
let web: GunicornServer;
let webTls: GunicornServer;
let edge: Edge;
let edgeTls: Edge;
let hashedCss: string;

before(async () => {
  local = await loadStack("local");
  creds = generateCredentials(local.config);
  const certDir = tempDir("certs");
  const cert = await selfSignedCert(certDir, DOMAIN);
  chownR(certDir, nginxUser());
  // Config names where the operator keeps the files (config refuses /tmp); nginx here reads the test's copies.
  tlsStack = await loadStack("local", { domain: DOMAIN, edge: { tls: { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" } } });
  data = await startDataTier(local, creds);
  dirs = appDirs();
  await releaseApp(local, creds, data, dirs, APP);
  [web, webTls] = await Promise.all([startWeb(local, creds, data, dirs, APP), startWeb(tlsStack, creds, data, dirs, APP)]);
  [edge, edgeTls] = await Promise.all([startEdge(local, { "web-web": web.port }, dirs), startEdge(tlsStack, { "web-web": webTls.port }, dirs, cert)]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dirs.staticRoot, APP, "staticfiles.json"), "utf8")) as { paths: Record<string, string> };
  hashedCss = manifest.paths["admin/css/base.css"];
  assert.match(hashedCss, /^admin\/css\/base\.[0-9a-f]{12}\.css$/);
}, { timeout: 180_000 });

const get = (e: Edge, p: string, extra: Partial<Parameters<typeof request>[0]> = {}): Promise<HttpResponse> => request({ port: e.http, path: p, host: "localhost", ...extra });
const getTls = (p: string, extra: Partial<Parameters<typeof request>[0]> = {}): Promise<HttpResponse> => request({ port: edgeTls.https, path: p, host: DOMAIN, tls: true, ...extra });

function once(res: HttpResponse, name: string): string {
  const values = res.raw[name] ?? [];
  assert.equal(values.length, 1, `${name} must appear exactly once, got ${JSON.stringify(values)}`);
  return values[0];
}

describe("edge for the local stack (no domain, plain HTTP)", () => {
  test("Django refuses a Host the stack is not reached at (ALLOWED_HOSTS lists loopback, never *; issue 11 item 3)", async () => {
    // "/" is an ordinary Django view (health views may skip host validation).
    assert.equal((await get(edge, "/", { host: "localhost" })).status, 200);
    const foreign = await get(edge, "/", { host: "attacker.example" });
    assert.equal(foreign.status, 400, "a foreign Host reached a view: ALLOWED_HOSTS accepts it");
  });

  test("/api/v1/health/ answers 200 through nginx", async () => {
    const r = await get(edge, "/api/v1/health/", { host: "127.0.0.1" });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { status: "ok" });
  });

  test("/readyz/ answers 200 with PostgreSQL, Redis and RabbitMQ up", async () => {
    const r = await get(edge, "/readyz/");
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text) as { checks: Record<string, { ok: boolean }> };
    for (const check of ["database", "cache", "broker"]) assert.equal(body.checks[check]?.ok, true, `${check}: ${r.text}`);
  });

  test("/readyz/ answers 503 naming the cache while Redis is down, and 200 again once it is back", async () => {
    const port = data.redis!.port;
    await data.redis!.stop();
    const down = await get(edge, "/readyz/");
    assert.equal(down.status, 503, down.text);
    assert.deepEqual((JSON.parse(down.text) as { failing: string[] }).failing, ["cache"]);
    data.redis = await startStackRedis(local, creds, port);
    const up = await get(edge, "/readyz/");
    assert.equal(up.status, 200, up.text);
  });

  test("text responses are gzip-compressed when the client accepts gzip", async () => {
    const css = await get(edge, `/static/${hashedCss}`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(css.status, 200);
    assert.equal(css.headers["content-encoding"], "gzip");
    assert.match(String(css.headers["content-type"]), /^text\/css/);
    assert.deepEqual(zlib.gunzipSync(css.body), fs.readFileSync(path.join(dirs.staticRoot, APP, hashedCss)));
    // A proxied HTML page from Django too (the admin login form; small JSON bodies stay under gzip_min_length).
    const html = await get(edge, "/admin/login/", { headers: { "accept-encoding": "gzip" } });
    assert.equal(html.status, 200);
    assert.equal(html.headers["content-encoding"], "gzip", "proxied text/html not compressed");
    assert.match(zlib.gunzipSync(html.body).toString("utf8"), /<form[^>]+id="login-form"/);
    const plain = await get(edge, `/static/${hashedCss}`);
    assert.equal(plain.headers["content-encoding"], undefined, "compressed for a client that did not ask");
  });

  test("a hashed static file is served by nginx (not Django) with immutable caching", async () => {
    const url = `/static/${hashedCss}`;
    const r = await get(edge, url);
    assert.equal(r.status, 200);
    assert.match(String(r.headers["cache-control"]), /\bimmutable\b/);
    assert.match(String(r.headers["cache-control"]), /max-age=31536000/);
    assert.deepEqual(r.body, fs.readFileSync(path.join(dirs.staticRoot, APP, hashedCss)));
    // Django does not serve it: straight to gunicorn, the same URL is a 404.
    const direct = await request({ port: web.port, path: url, host: "localhost" });
    assert.equal(direct.status, 404);
    // An unhashed name is cached briefly, never as immutable.
    const unhashed = await get(edge, `/static/admin/css/base.css`);
    assert.equal(unhashed.status, 200);
    assert.doesNotMatch(String(unhashed.headers["cache-control"]), /immutable/);
  });

  test("a body over edge.clientMaxBody gets 413 from nginx; a small one reaches the app", async () => {
    const limit = local.config.edge.clientMaxBodyMiB;
    const big = await request({ port: edge.http, path: "/api/v1/tasks/add/", host: "localhost", method: "POST", headers: { "content-type": "application/octet-stream" }, body: Buffer.alloc((limit + 1) * 1024 * 1024, 97) });
    assert.equal(big.status, 413);
    const small = await request({ port: edge.http, path: "/api/v1/tasks/add/", host: "localhost", method: "POST", headers: { "content-type": "application/json" }, body: "[]" });
    assert.equal(small.status, 400, small.text);
  });

  test("a burst on the login path gets 429 while other paths still answer 200", async () => {
    const { strictBurst, strictPaths } = local.config.edge.rateLimit;
    assert.ok(strictPaths.includes("/admin/login/"));
    const conf = fs.readFileSync(edge.nginx.configFile, "utf8");
    const loginBlock = /location \/admin\/login\/ \{[^}]*\}/.exec(conf)?.[0] ?? "(no location /admin/login/)";
    const burst = await Promise.all(Array.from({ length: strictBurst + 8 }, () => get(edge, "/admin/login/")));
    const codes = burst.map((r) => r.status);
    assert.ok(codes.includes(429), `no 429 in ${codes}; rendered: ${loginBlock}`);
    assert.ok(codes.filter((c) => c === 200).length >= 1, `login page never answered 200: ${codes}`);
    assert.ok(codes.filter((c) => c === 200).length <= strictBurst + 1, `more than burst+1 passed: ${codes}`);
    assert.deepEqual([...new Set(codes)].sort(), [200, 429]);
    const others = await Promise.all([get(edge, "/"), get(edge, "/api/v1/health/"), get(edge, `/static/${hashedCss}`)]);
    assert.deepEqual(others.map((r) => r.status), [200, 200, 200]);
    const still = await get(edge, "/admin/login/");
    assert.equal(still.status, 429);
  });
});

describe("edge for the same stack with a domain and TLS from files", () => {
  test("HTTPS answers /api/v1/health/ and /readyz/ with the self-signed certificate", async () => {
    const health = await getTls("/api/v1/health/");
    assert.equal(health.status, 200);
    const ready = await getTls("/readyz/");
    assert.equal(ready.status, 200, ready.text);
  });

  test("an unknown Host gets no response at all (444), on HTTP; an unknown SNI name is refused", async () => {
    await assert.rejects(get(edgeTls, "/", { host: "attacker.example" }), /socket hang up|ECONNRESET/);
    await assert.rejects(get(edgeTls, "/api/v1/health/", { host: "attacker.example" }), /socket hang up|ECONNRESET/);
    await assert.rejects(request({ port: edgeTls.https, path: "/", host: "attacker.example", tls: true }), /alert|handshake|ECONNRESET|socket hang up/i);
    // The known name still works on both ports.
    assert.equal((await get(edgeTls, "/x", { host: DOMAIN })).status, 301);
  });

  test("HTTP redirects to HTTPS (301, same host, path and query)", async () => {
    const r = await get(edgeTls, "/api/v1/tasks/add/?x=1&y=2", { host: DOMAIN });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `https://${DOMAIN}:${edgeTls.https}/api/v1/tasks/add/?x=1&y=2`);
    const health = await get(edgeTls, "/api/v1/health/", { host: DOMAIN });
    assert.equal(health.status, 301);
  });

  test("except the ACME challenge path, served over HTTP from the webroot", async () => {
    const token = "tok-" + Date.now().toString(36);
    const file = path.join(edgeTls.acmeWebroot, ".well-known", "acme-challenge", token);
    fs.writeFileSync(file, `${token}.thumbprint`);
    fs.chmodSync(file, 0o644);
    const r = await get(edgeTls, `/.well-known/acme-challenge/${token}`, { host: DOMAIN });
    assert.equal(r.status, 200);
    assert.equal(r.text, `${token}.thumbprint`);
    const missing = await get(edgeTls, "/.well-known/acme-challenge/nope", { host: DOMAIN });
    assert.equal(missing.status, 404);
  });

  test("security headers (HSTS, X-Frame-Options, nosniff, Referrer-Policy) are present, once each", async () => {
    for (const p of ["/api/v1/health/", "/", `/static/${hashedCss}`]) {
      const r = await getTls(p);
      assert.equal(r.status, 200, p);
      assert.equal(once(r, "strict-transport-security"), `max-age=${tlsStack.config.edge.hstsSeconds}`, p);
      assert.equal(once(r, "x-frame-options"), "DENY", p);
      assert.equal(once(r, "x-content-type-options"), "nosniff", p);
      assert.ok(once(r, "referrer-policy").length > 0, p);
    }
  });

  test("Django sees the request as HTTPS: the session cookie is Secure", async () => {
    const r = await getTls("/api/v1/session/");
    assert.equal(r.status, 200, r.text);
    const cookie = (r.raw["set-cookie"] ?? []).find((c) => c.startsWith("sessionid="));
    assert.ok(cookie, `no session cookie: ${JSON.stringify(r.raw["set-cookie"])}`);
    assert.match(cookie, /;\s*Secure/i);
  });
});

describe("dependency outage seen through the edge", () => {
  test("/readyz/ answers 503 naming the broker while RabbitMQ is down; /api/v1/health/ stays 200", async () => {
    await data.rabbitmq!.stop();
    const r = await get(edge, "/readyz/");
    assert.equal(r.status, 503, r.text);
    assert.deepEqual((JSON.parse(r.text) as { failing: string[] }).failing, ["broker"]);
    assert.equal((await get(edge, "/api/v1/health/")).status, 200);
    await sleep(0);
  });
});
