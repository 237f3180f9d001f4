/**
 * Issue 11 item 9 on a real nginx: edge.rateLimit.connectionsPerClient caps what one client address
 * holds open at once (limit_conn per $binary_remote_addr); one more answers 429 like the request
 * limits, other clients are not affected, and a freed slot serves again. The app is an echo upstream
 * that holds /slow/ requests until released. The local stack's rendering, upstreams in include files.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildModel } from "../../src/model/build";
import { nginxInputFor, renderNginx, renderUpstreamBlock } from "../../src/render/nginx";
import { stackConfig } from "./fixtures";
import { EchoUpstream, EdgeResponse, rawRequest, startEcho } from "./harness/echo";
import { nginxUser, startNginx } from "./harness/nginx";
import { chownR, freePorts, tempDir, useHarness, waitFor } from "./harness/process";
import { nginxVersion } from "./stackup";

useHarness();

const LIMIT = 3;
let echo: EchoUpstream;
let port: number;

before(async () => {
  const [http, upstream] = await freePorts(2);
  port = http;
  echo = await startEcho(upstream);
  // A generous request rate, so only the connection limit can answer 429 here.
  const config = stackConfig("local", { edge: { rateLimit: { connectionsPerClient: LIMIT, generalPerSecond: 1000, generalBurst: 1000 } } });
  const base = nginxInputFor(buildModel(config), config.edge, config.domain);
  const dir = tempDir("edge-connlimit");
  const upstreamsDir = path.join(dir, "upstreams");
  fs.mkdirSync(upstreamsDir, { recursive: true });
  fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
  const addresses = Object.fromEntries(Object.keys(base.addresses).map((u) => [u, `127.0.0.1:${upstream}`]));
  for (const [name, address] of Object.entries(addresses)) fs.writeFileSync(path.join(upstreamsDir, `${name}.conf`), renderUpstreamBlock(name, [address], { resolve: false }));
  const conf = renderNginx({
    ...base,
    nginxVersion: await nginxVersion(),
    addresses,
    upstreamsDir,
    listen: { http, https: http + 1, address: "127.0.0.1" },
    paths: { ...base.paths, staticRoot: dir, mediaRoot: dir, acmeWebroot: path.join(dir, "acme"), pidFile: path.join(dir, "nginx.pid"), tempDir: path.join(dir, "tmp"), accessLog: "off", errorLog: "stderr" },
  });
  assert.match(conf, new RegExp(`limit_conn djs_conn ${LIMIT};`));
  chownR(dir, nginxUser());
  await startNginx({ config: conf, ports: [http], dir, label: "edge-connlimit" });
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
