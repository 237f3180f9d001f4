/**
 * Issue 10 item 1 on a real nginx: two apps that both keep Django's default health path reach their
 * own health and readiness views through the edge at /_djangostack/<app>/health/ and /ready/, each
 * passed to that app as its own paths. The apps are two echo upstreams recording what they receive.
 * The rendering is the local stack's (upstreams in include files, as the Docker cutover writes them).
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stackConfig } from "./fixtures";
import { EchoUpstream, rawRequest, startEcho } from "./harness/echo";
import { freePorts, useHarness } from "./harness/process";
import { startPlacedEdge } from "./stackup";

useHarness();

const APPS = [
  { name: "web", build: "./app", routes: ["/"] },
  { name: "shop", build: "./app", routes: ["/shop/"], readyPath: "/shop/ready/" },
];

const echoes: Record<string, EchoUpstream> = {};
let port: number;

before(async () => {
  const [web, shop] = await freePorts(2);
  echoes.web = await startEcho(web);
  echoes.shop = await startEcho(shop);
  const config = stackConfig("local", { apps: APPS });
  const appOf = (upstream: string): string => {
    const app = APPS.find((a) => upstream.startsWith(`${a.name}-`))?.name;
    assert.ok(app, `upstream ${upstream} belongs to no app`);
    return app;
  };
  ({ http: port } = await startPlacedEdge(config, (upstream) => `127.0.0.1:${echoes[appOf(upstream)].port}`, "edge-app-health"));
}, { timeout: 60_000 });

/** The request each app received while one request went through the edge. */
async function received(urlPath: string): Promise<{ status: number; web: string[]; shop: string[] }> {
  const start = { web: echoes.web.seen.length, shop: echoes.shop.seen.length };
  const r = await rawRequest({ port, path: urlPath, host: "localhost:8080" });
  return { status: r.status, web: echoes.web.seen.slice(start.web).map((s) => s.url), shop: echoes.shop.seen.slice(start.shop).map((s) => s.url) };
}

describe("each app's own health through the edge (issue 10 item 1)", () => {
  test("the shared default health path reaches one app only: the reason for the per-app paths", async () => {
    const r = await received("/api/v1/health/");
    assert.equal(r.status, 200);
    assert.equal(r.web.length + r.shop.length, 1);
  });

  test("/_djangostack/<app>/health/ reaches that app as its health path", async () => {
    assert.deepEqual(await received("/_djangostack/web/health/"), { status: 200, web: ["/api/v1/health/"], shop: [] });
    assert.deepEqual(await received("/_djangostack/shop/health/"), { status: 200, web: [], shop: ["/api/v1/health/"] });
  });

  test("/_djangostack/<app>/ready/ reaches that app as its own readiness path", async () => {
    assert.deepEqual(await received("/_djangostack/web/ready/"), { status: 200, web: ["/readyz/"], shop: [] });
    assert.deepEqual(await received("/_djangostack/shop/ready/"), { status: 200, web: [], shop: ["/shop/ready/"] });
  });

  test("an unknown app or another path under the tree is a 404 from nginx, not passed to any app", async () => {
    for (const p of ["/_djangostack/nope/health/", "/_djangostack/web/health/x", "/_djangostack/"]) {
      assert.deepEqual(await received(p), { status: 404, web: [], shop: [] }, p);
    }
  });
});
