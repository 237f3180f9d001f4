/**
 * Issue 11 item 12 (in part) on a real nginx: internal paths denied at the edge (edge.denyPaths,
 * /metrics by default), an IP allowlist on an app's path (apps[].edge.paths[].allow) that also
 * holds in the login location inside it and keys on the real client behind the load balancer, and
 * an app's own response headers (apps[].edge.headers, e.g. a Content-Security-Policy) next to the
 * edge's security headers. Variants: local, TLS from files, the Kubernetes load-balanced rendering.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EchoUpstream, EdgeRequest, EdgeResponse, rawRequest } from "./harness/echo";
import { useHarness } from "./harness/process";
import { VARIANT_DOMAIN as DOMAIN, startEdgeVariants } from "./stackup";
import { exactApps } from "../helpers/stack-apps";

useHarness();

const LB = "127.0.0.2";
const OFFICE = "127.0.0.3";
const CSP = "default-src 'self'; frame-ancestors 'none'";
const APPS = [
  {
    name: "web",
    build: "./app",
    routes: ["/"],
    edge: { paths: [{ path: "/admin/", allow: [`${OFFICE}/32`, "203.0.113.0/24"] }], headers: { "Content-Security-Policy": CSP } },
  },
];
let echo: EchoUpstream;
let port: { local: number; tls: number; lb: number };

before(async () => {
  ({ echo, ...port } = await startEdgeVariants("edge-paths", `${LB}/32`, { local: { apps: APPS }, tls: { apps: APPS }, production: exactApps(APPS) }));
}, { timeout: 60_000 });

/** Each variant, sending as the client at `client` (behind the LB: X-Forwarded-For from the LB). */
const variants: [string, (p: string, client?: string) => EdgeRequest][] = [
  ["local", (p, client = "127.0.0.1") => ({ port: port.local, path: p, host: "localhost", from: client })],
  ["TLS", (p, client = "127.0.0.1") => ({ port: port.tls, path: p, sni: DOMAIN, host: DOMAIN, from: client })],
  ["load-balanced", (p, client = "198.51.100.7") => ({ port: port.lb, path: p, host: "shop.example.com", from: LB, headers: [["X-Forwarded-For", client]] })],
];

async function reaching(req: EdgeRequest): Promise<{ r: EdgeResponse; forwarded: number }> {
  const start = echo.seen.length;
  const r = await rawRequest(req);
  return { r, forwarded: echo.seen.length - start };
}

describe("paths and headers per app (issue 11 item 12, in part)", () => {
  for (const [name, req] of variants) {
    test(`${name}: /metrics and everything under /metrics/ answer 404 by default and never reach the app; /metrics-dashboard/ does`, async () => {
      for (const p of ["/metrics", "/metrics/", "/metrics/django", "/metrics?format=json"]) {
        const { r, forwarded } = await reaching(req(p));
        assert.deepEqual([r.status, forwarded], [404, 0], p);
      }
      const { r, forwarded } = await reaching(req("/metrics-dashboard/"));
      assert.deepEqual([r.status, forwarded], [200, 1]);
    });

    test(`${name}: /admin/ and the rate-limited /admin/login/ inside it are 403 from outside the allowlist and served to it`, async () => {
      const inside = name === "load-balanced" ? "203.0.113.9" : OFFICE;
      for (const p of ["/admin/", "/admin/login/"]) {
        const refused = await reaching(req(p));
        assert.deepEqual([refused.r.status, refused.forwarded], [403, 0], `${p} from outside`);
        const served = await reaching(req(p, inside));
        assert.deepEqual([served.r.status, served.forwarded], [200, 1], `${p} from ${inside}`);
      }
    });

    test(`${name}: the app's Content-Security-Policy comes with the edge's security headers, on its pages and on the edge's own 403`, async () => {
      for (const p of ["/", "/admin/"]) {
        const { r } = await reaching(req(p));
        assert.deepEqual(r.headers["content-security-policy"], [CSP], p);
        assert.deepEqual([r.headers["x-frame-options"], r.headers["x-content-type-options"]], [["DENY"], ["nosniff"]], p);
      }
    });
  }

  test("TLS: HSTS stays on the app's locations that add their own header", async () => {
    const r = await rawRequest(variants[1][1]("/"));
    assert.equal(r.headers["strict-transport-security"]?.length, 1);
  });
});
