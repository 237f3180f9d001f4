/**
 * Issue 11 item 13 on a real nginx: edge.trustedProxies, a CDN in front of the edge. Only a peer in
 * its ranges may say who the client is (realip: set_real_ip_from, real_ip_header, recursive), so the
 * app's X-Real-IP / X-Forwarded-For and the rate limits are the real client's, and anyone else's
 * header is ignored. Loopback stands in: 127.0.0.3 is the CDN, 127.0.0.2 the Kubernetes load
 * balancer, 127.0.0.1 anybody. Variants: local (CF-Connecting-IP), TLS, and CDN -> LB -> nginx.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EchoUpstream, EdgeRequest, SeenRequest, rawRequest } from "./harness/echo";
import { useHarness } from "./harness/process";
import { VARIANT_DOMAIN as DOMAIN, startEdgeVariants } from "./stackup";
import { exactApps } from "../helpers/stack-apps";

useHarness();

const CDN = "127.0.0.3";
const LB = "127.0.0.2";
const APPS = [{ name: "web", build: "./app", routes: ["/"] }];
/** One request a minute per client on /api/, so a shared bucket shows at the second request. */
const RATE_LIMIT = { zones: [{ name: "api", rate: "1r/m", burst: 0, paths: ["/api/"] }] };
const CDN_IN_FRONT = { cidrs: [`${CDN}/32`], header: "CF-Connecting-IP" };

let echo: EchoUpstream;
let port: { local: number; tls: number; lb: number };

before(async () => {
  ({ echo, ...port } = await startEdgeVariants("edge-proxies", `${LB}/32`, {
    local: { apps: APPS, edge: { trustedProxies: CDN_IN_FRONT, rateLimit: RATE_LIMIT } },
    tls: { apps: APPS, edge: { trustedProxies: CDN_IN_FRONT } },
    production: { ...exactApps(APPS), edge: { trustedProxies: { cidrs: [`${CDN}/32`] }, rateLimit: RATE_LIMIT } },
  }));
}, { timeout: 60_000 });

async function seen(req: EdgeRequest): Promise<{ status: number; app?: SeenRequest }> {
  const start = echo.seen.length;
  const r = await rawRequest(req);
  return { status: r.status, app: echo.seen[start] };
}

const clientSeen = (s: SeenRequest | undefined): string[][] => [s?.headers["x-real-ip"] ?? [], s?.headers["x-forwarded-for"] ?? []];
const local = (from: string, client: string, p = "/"): EdgeRequest => ({ port: port.local, path: p, host: "localhost", from, headers: [["CF-Connecting-IP", client]] });

describe("trusted proxies in front of the edge (issue 11 item 13)", () => {
  test("local: the CDN's CF-Connecting-IP becomes the client address the app sees; the header itself is not passed on", async () => {
    const r = await seen(local(CDN, "203.0.113.5"));
    assert.equal(r.status, 200);
    assert.deepEqual(clientSeen(r.app), [["203.0.113.5"], ["203.0.113.5"]]);
    assert.equal(r.app?.headers["cf-connecting-ip"], undefined);
  });

  test("local: a peer outside the CDN's ranges cannot set it", async () => {
    const r = await seen(local("127.0.0.1", "203.0.113.5"));
    assert.deepEqual(clientSeen(r.app), [["127.0.0.1"], ["127.0.0.1"]]);
  });

  test("local: rate limits key on the real client: two clients through the CDN have a bucket each", async () => {
    assert.equal((await rawRequest(local(CDN, "198.51.100.1", "/api/a"))).status, 200);
    assert.equal((await rawRequest(local(CDN, "198.51.100.1", "/api/b"))).status, 429, "the same client's second request in the minute");
    assert.equal((await rawRequest(local(CDN, "198.51.100.2", "/api/c"))).status, 200, "another client behind the same CDN address");
  });

  test("TLS: the same from the CDN's range over HTTPS, and not from elsewhere", async () => {
    const tls = (from: string): EdgeRequest => ({ port: port.tls, path: "/", sni: DOMAIN, host: DOMAIN, from, headers: [["CF-Connecting-IP", "203.0.113.6"]] });
    assert.deepEqual(clientSeen((await seen(tls(CDN))).app), [["203.0.113.6"], ["203.0.113.6"]]);
    assert.deepEqual(clientSeen((await seen(tls("127.0.0.1"))).app), [["127.0.0.1"], ["127.0.0.1"]]);
  });

  test("CDN -> load balancer -> nginx: X-Forwarded-For is walked back past the LB and the CDN to the client; an address written by anyone else is not skipped", async () => {
    const viaLb = (xff: string, p = "/"): EdgeRequest => ({ port: port.lb, path: p, host: "shop.example.com", from: LB, headers: [["X-Forwarded-For", xff]] });
    // The client claims 192.0.2.1; the CDN appends the real client, the LB appends the CDN.
    assert.deepEqual(clientSeen((await seen(viaLb(`192.0.2.1, 203.0.113.7, ${CDN}`))).app), [["203.0.113.7"], ["203.0.113.7"]]);
    // Straight to the LB, not through the CDN: the LB appends the sender's own address, which is not trusted.
    assert.deepEqual(clientSeen((await seen(viaLb("203.0.113.7, 198.51.100.9"))).app), [["198.51.100.9"], ["198.51.100.9"]]);
    assert.equal((await rawRequest(viaLb(`203.0.113.8, ${CDN}`, "/api/a"))).status, 200);
    assert.equal((await rawRequest(viaLb(`203.0.113.8, ${CDN}`, "/api/b"))).status, 429);
    assert.equal((await rawRequest(viaLb(`203.0.113.9, ${CDN}`, "/api/c"))).status, 200);
  });
});
