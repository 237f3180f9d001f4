/**
 * Issue 11 item 12 (the rest) on a real nginx: CORS answered at the edge for an API path
 * (apps[].edge.paths[].cors: the preflight answered with 204 by nginx, the listed origin echoed on
 * the app's answers, an unlisted one given nothing, an app that answers CORS itself left alone),
 * the frontend's own host names (frontend.hosts) and the hosts that redirect to the domain
 * (edge.redirectHosts: www to the apex). Variants: plain HTTP with a domain, TLS from files, the
 * Kubernetes load-balanced rendering.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EchoUpstream, EdgeRequest, EdgeResponse, OWN_CORS_ORIGIN, rawRequest, startFreeEcho } from "./harness/echo";
import { useHarness } from "./harness/process";
import { stackConfig } from "./fixtures";
import { VARIANT_DOMAIN as DOMAIN, nginxCert, startPlacedEdge } from "./stackup";
import { exactApps } from "../helpers/stack-apps";

useHarness();

const LB = "127.0.0.2";
const SPA = `https://app.${DOMAIN}`;
const APP_HOST = `app.${DOMAIN}`;
const WWW = `www.${DOMAIN}`;
const APPS = [
  {
    name: "web",
    build: "./app",
    routes: ["/"],
    edge: { paths: [{ path: "/api/", cors: { origins: [SPA], credentials: true, exposeHeaders: ["X-Request-ID"], maxAge: 120 } }], headers: { "Content-Security-Policy": "default-src 'self'" } },
  },
];
const EXTRA = { ...exactApps(APPS), domain: DOMAIN, frontend: { image: "ghcr.io/acme/spa:1.0", route: "/app/", hosts: [APP_HOST] }, edge: { redirectHosts: [WWW] } };
const TLS_FILES = { mode: "files", certificatePath: "/etc/ssl/djangostack/fullchain.pem", keyPath: "/etc/ssl/djangostack/privkey.pem" };

let app: EchoUpstream;
let spa: EchoUpstream;
let port: { http: number; tlsHttp: number; https: number; lb: number };

before(async () => {
  [app, spa] = [await startFreeEcho(), await startFreeEcho()];
  const at = (upstream: string): string => (upstream === "frontend" ? spa.address : app.address);
  const cert = await nginxCert("edge-cors-certs", DOMAIN, [APP_HOST, WWW]);
  const http = await startPlacedEdge(stackConfig("local", EXTRA), at, "edge-cors-http");
  const tls = await startPlacedEdge(stackConfig("local", { ...EXTRA, edge: { ...EXTRA.edge, tls: TLS_FILES } }), at, "edge-cors-tls", { tls: cert });
  const lb = await startPlacedEdge(stackConfig("production", EXTRA), at, "edge-cors-lb", { loadBalancer: `${LB}/32` });
  port = { http: http.http, tlsHttp: tls.http, https: tls.https, lb: lb.http };
}, { timeout: 60_000 });

type Variant = [string, (p: string, opts?: { host?: string; method?: string; headers?: [string, string][] }) => EdgeRequest];
const variants: Variant[] = [
  ["HTTP", (p, o = {}) => ({ port: port.http, path: p, host: o.host ?? DOMAIN, method: o.method, headers: o.headers })],
  ["TLS", (p, o = {}) => ({ port: port.https, path: p, sni: o.host ?? DOMAIN, host: o.host ?? DOMAIN, method: o.method, headers: o.headers })],
  ["load-balanced", (p, o = {}) => ({ port: port.lb, path: p, host: o.host ?? DOMAIN, from: LB, method: o.method, headers: [["X-Forwarded-For", "198.51.100.7"], ["X-Forwarded-Proto", "https"], ...(o.headers ?? [])] })],
];

async function reaching(upstream: EchoUpstream, req: EdgeRequest): Promise<{ r: EdgeResponse; forwarded: number }> {
  const start = upstream.seen.length;
  const r = await rawRequest(req);
  return { r, forwarded: upstream.seen.length - start };
}

const PREFLIGHT: [string, string][] = [["Origin", SPA], ["Access-Control-Request-Method", "PATCH"], ["Access-Control-Request-Headers", "authorization"]];

describe("CORS, the frontend's hosts and redirecting hosts at the edge (issue 11 item 12, the rest)", () => {
  for (const [name, req] of variants) {
    test(`${name}: a preflight from the listed origin is answered by nginx with 204 and the policy, never reaching the app`, async () => {
      const { r, forwarded } = await reaching(app, req("/api/items/", { method: "OPTIONS", headers: PREFLIGHT }));
      assert.deepEqual([r.status, forwarded], [204, 0]);
      assert.deepEqual(r.headers["access-control-allow-origin"], [SPA]);
      assert.deepEqual(r.headers["access-control-allow-credentials"], ["true"]);
      assert.deepEqual(r.headers["access-control-allow-methods"], ["GET, HEAD, POST, PUT, PATCH, DELETE"]);
      assert.deepEqual(r.headers["access-control-allow-headers"], ["Accept, Authorization, Content-Type, X-CSRFToken, X-Requested-With"]);
      assert.deepEqual(r.headers["access-control-max-age"], ["120"]);
      assert.deepEqual(r.headers["x-content-type-options"], ["nosniff"], "the security headers stay on the preflight");
    });

    test(`${name}: the app's answer to the listed origin carries the origin, credentials, exposed headers and Vary; no preflight headers`, async () => {
      const { r, forwarded } = await reaching(app, req("/api/items/", { headers: [["Origin", SPA]] }));
      assert.deepEqual([r.status, forwarded], [200, 1]);
      assert.deepEqual(r.headers["access-control-allow-origin"], [SPA]);
      assert.deepEqual(r.headers["access-control-allow-credentials"], ["true"]);
      assert.deepEqual(r.headers["access-control-expose-headers"], ["X-Request-ID"]);
      assert.ok(r.headers.vary?.some((v) => v.split(/,\s*/).includes("Origin")), JSON.stringify(r.headers.vary));
      assert.equal(r.headers["access-control-allow-methods"], undefined);
      assert.deepEqual(r.headers["content-security-policy"], ["default-src 'self'"], "the app's own edge headers stay");
    });

    test(`${name}: an unlisted origin gets no CORS headers, and its preflight goes to the app; outside /api/ nothing is added`, async () => {
      const other = await reaching(app, req("/api/items/", { method: "OPTIONS", headers: [["Origin", "https://evil.example"], ["Access-Control-Request-Method", "DELETE"]] }));
      assert.deepEqual([other.r.status, other.forwarded], [200, 1]);
      assert.equal(other.r.headers["access-control-allow-origin"], undefined);
      const outside = await reaching(app, req("/account/", { headers: [["Origin", SPA]] }));
      assert.deepEqual([outside.r.status, outside.forwarded, outside.r.headers["access-control-allow-origin"]], [200, 1, undefined]);
    });

    test(`${name}: an app that answers CORS itself keeps its own header, once`, async () => {
      const { r } = await reaching(app, req("/api/own-cors/", { headers: [["Origin", SPA]] }));
      assert.deepEqual(r.headers["access-control-allow-origin"], [OWN_CORS_ORIGIN]);
      assert.equal(r.headers["access-control-allow-credentials"], undefined);
    });

    test(`${name}: the frontend's host is served entirely by the frontend`, async () => {
      for (const p of ["/", "/api/items/", "/app/"]) {
        const before = app.seen.length;
        const { r, forwarded } = await reaching(spa, req(p, { host: APP_HOST }));
        assert.deepEqual([r.status, forwarded, app.seen.length - before], [200, 1, 0], p);
        // With the public port where it is not the scheme's default, as every upstream gets it.
        assert.equal(spa.seen[spa.seen.length - 1].headers.host?.[0].split(":")[0], APP_HOST);
      }
    });

    test(`${name}: www answers 301 to the same path and query on the domain, reaching nobody`, async () => {
      const start = app.seen.length + spa.seen.length;
      const r = await rawRequest(req("/shop/cart/?item=7", { host: WWW }));
      const scheme = name === "HTTP" ? "http" : "https";
      const authority = name === "TLS" ? `${DOMAIN}:${port.https}` : name === "HTTP" ? `${DOMAIN}:8080` : DOMAIN;
      assert.deepEqual([r.status, r.headers.location], [301, [`${scheme}://${authority}/shop/cart/?item=7`]]);
      assert.equal(app.seen.length + spa.seen.length, start);
    });
  }

  test("TLS: plain HTTP on www goes to the HTTPS domain in one hop; Let's Encrypt's challenge path stays on it", async () => {
    const r = await rawRequest({ port: port.tlsHttp, path: "/x?y=1", host: WWW });
    assert.deepEqual([r.status, r.headers.location], [301, [`https://${DOMAIN}:${port.https}/x?y=1`]]);
    const acme = await rawRequest({ port: port.tlsHttp, path: "/.well-known/acme-challenge/missing", host: WWW });
    assert.equal(acme.status, 404, "served from the webroot, not redirected");
  });

  test("load-balanced: a request that reached the LB as plain HTTP is redirected to http (the LB redirects it on)", async () => {
    const r = await rawRequest({ port: port.lb, path: "/", host: WWW, from: LB, headers: [["X-Forwarded-For", "198.51.100.7"], ["X-Forwarded-Proto", "http"]] });
    assert.deepEqual(r.headers.location, [`http://${DOMAIN}/`]);
  });
});
