/**
 * Issue 11 item 10 on a real nginx: edge.rateLimit.zones, request limits per second or per minute
 * over the paths each zone covers. A zone covers every location at or under its paths (an app's
 * route inside it too); the most specific zone replaces the general limit. Keyed on the client
 * address: each address has its own bucket, also behind the load balancer (X-Forwarded-For).
 * Requests of one burst go out at once, so the test does not depend on how fast the machine is.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stackConfig } from "./fixtures";
import { EchoUpstream, startFreeEcho, EdgeResponse, rawRequest } from "./harness/echo";
import { useHarness } from "./harness/process";
import { startPlacedEdge } from "./stackup";
import { exactApps } from "../helpers/stack-apps";

useHarness();

const LB = "127.0.0.2";
/** One app at "/", the auth service at /api/auth/, the ticket service at /api/tickets/ (seed 002's shape). */
const APPS = [
  { name: "web", build: "./app", routes: ["/"] },
  { name: "auth", build: "./app", routes: ["/api/auth/"] },
  { name: "ticket", build: "./app", routes: ["/api/tickets/"] },
];
const RATE_LIMIT = {
  generalPerSecond: 1000,
  generalBurst: 1000,
  zones: [
    { name: "api", rate: "1r/s", burst: 2, paths: ["/api/"] },
    { name: "auth", rate: "1r/m", burst: 1, paths: ["/api/auth/"] },
  ],
};

let echo: EchoUpstream;
let local: number;
let lb: number;

before(async () => {
  echo = await startFreeEcho();
  const at = (): string => echo.address;
  const localEdge = await startPlacedEdge(stackConfig("local", { apps: APPS, edge: { rateLimit: RATE_LIMIT } }), at, "edge-zones-local");
  local = localEdge.http;
  const prod = stackConfig("production", { ...exactApps(APPS), edge: { rateLimit: RATE_LIMIT } });
  lb = (await startPlacedEdge(prod, at, "edge-zones-lb", { loadBalancer: `${LB}/32` })).http;
}, { timeout: 60_000 });

const statuses = (rs: EdgeResponse[]): number[] => rs.map((r) => r.status).sort();
/** `n` requests sent together from one client address. */
const burst = (port: number, paths: string[], opts: { from?: string; headers?: [string, string][]; host?: string } = {}): Promise<EdgeResponse[]> =>
  Promise.all(paths.map((p) => rawRequest({ port, path: p, host: opts.host ?? "localhost", from: opts.from, headers: opts.headers })));

describe("rate-limit zones (issue 11 item 10)", () => {
  test("a per-second zone over /api/ limits the routes inside it (rate 1 + burst 2 of 4 pass); the general limit still serves /", async () => {
    const seen = echo.seen.length;
    assert.deepEqual(statuses(await burst(local, ["/api/tickets/1", "/api/tickets/2", "/api/tickets/3", "/api/other/"])), [200, 200, 200, 429]);
    assert.equal(echo.seen.length - seen, 3, "the refused request never reached the app");
    assert.equal((await rawRequest({ port: local, path: "/", host: "localhost" })).status, 200);
  });

  test("the more specific per-minute zone replaces /api/'s for /api/auth/: 1 + burst 1 pass, then 429 while /api/ is spent", async () => {
    assert.deepEqual(statuses(await burst(local, ["/api/auth/a", "/api/auth/b", "/api/auth/c"], { from: "127.0.0.3" })), [200, 200, 429]);
    // Per minute: a second later the zone still refuses (a per-second zone would have a slot again).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await rawRequest({ port: local, path: "/api/auth/d", host: "localhost", from: "127.0.0.3" })).status, 429);
  });

  test("each client address has its own bucket", async () => {
    assert.deepEqual(statuses(await burst(local, ["/api/x/", "/api/y/", "/api/z/"], { from: "127.0.0.4" })), [200, 200, 200]);
  });

  test("behind the load balancer the zone keys on X-Forwarded-For: two clients through one LB do not share a bucket", async () => {
    const via = (client: string): { from: string; headers: [string, string][]; host: string } => ({ from: LB, headers: [["X-Forwarded-For", client]], host: "shop.example.com" });
    assert.deepEqual(statuses(await burst(lb, ["/api/a/", "/api/b/", "/api/c/", "/api/d/"], via("203.0.113.10"))), [200, 200, 200, 429]);
    assert.deepEqual(statuses(await burst(lb, ["/api/a/", "/api/b/", "/api/c/"], via("203.0.113.11"))), [200, 200, 200]);
  });
});
