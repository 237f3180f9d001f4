/**
 * Issue 11 item 9 on a real nginx: edge.rateLimit.connectionsPerClient caps what one client address
 * holds open at once (limit_conn per $binary_remote_addr); one more answers 429 like the request
 * limits, other clients are not affected, and a freed slot serves again. The app is an echo upstream
 * that holds /slow/ requests until released. The local stack's rendering, upstreams in include files.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stackConfig } from "./fixtures";
import { EchoUpstream, EdgeResponse, rawRequest, startEcho } from "./harness/echo";
import { freePorts, useHarness, waitFor } from "./harness/process";
import { startPlacedEdge } from "./stackup";

useHarness();

const LIMIT = 3;
let echo: EchoUpstream;
let port: number;

before(async () => {
  const [upstream] = await freePorts(1);
  echo = await startEcho(upstream);
  // A generous request rate, so only the connection limit can answer 429 here.
  const config = stackConfig("local", { edge: { rateLimit: { connectionsPerClient: LIMIT, generalPerSecond: 1000, generalBurst: 1000 } } });
  const edge = await startPlacedEdge(config, () => `127.0.0.1:${upstream}`, "edge-connlimit");
  port = edge.http;
  assert.match(edge.conf, new RegExp(`limit_conn djs_conn ${LIMIT};`));
}, { timeout: 60_000 });

const get = (urlPath: string, from = "127.0.0.1"): Promise<EdgeResponse> => rawRequest({ port, path: urlPath, host: "localhost:8080", from, timeoutMs: 15_000 });

describe("connections per client (issue 11 item 9)", () => {
  test(`${LIMIT} held requests fill one address's slots: the next answers 429, another address still gets through, a freed slot serves again`, async () => {
    const held = Array.from({ length: LIMIT }, (_, i) => get(`/slow/${i}`));
    await waitFor("the held requests at the app", async () => echo.held() === LIMIT, { timeoutMs: 10_000, intervalMs: 50 });
    const refused = await get("/fast/");
    assert.equal(refused.status, 429, "one more connection from the same address");
    const other = await get("/fast/", "127.0.0.2");
    assert.equal(other.status, 200, "a different client address is not limited by this one");
    echo.releaseAll();
    for (const r of await Promise.all(held)) assert.equal(r.status, 200);
    assert.equal((await get("/fast/")).status, 200, "freed slots serve again");
  });
});
