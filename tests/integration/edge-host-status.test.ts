/**
 * Issue 13 item 6 on a real nginx and a real sh: the Droplet's container-health chain. The host's
 * checker (src/render/host-status.ts, run by sh against a fake `docker` answering as the engine does)
 * keeps the status file in the directory the rendered nginx serves under /_djangostack/_host/: 200
 * while every container is fine, 404 (the Uptime check's "down") as soon as one is unhealthy, on the
 * domain and on an app's own host, with no listing and no way out of the directory.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_STATUS, renderHostStatusScript } from "../../src/render/host-status";
import { stackConfig } from "./fixtures";
import { EchoUpstream, rawRequest, startEcho } from "./harness/echo";
import { freePorts, run, tempDir, useHarness } from "./harness/process";
import { VARIANT_DOMAIN, startPlacedEdge } from "./stackup";

useHarness();

const TOKEN = "Q7".repeat(20);
const SHOP_HOST = `shop.${VARIANT_DOMAIN}`;
let port: number;
let echo: EchoUpstream;
let statusDir: string;
let checker: (containers: string[]) => Promise<number>;

before(async () => {
  const [upstream] = await freePorts(1);
  echo = await startEcho(upstream);
  const config = stackConfig("local", { domain: VARIANT_DOMAIN, edge: { tls: { mode: "none" } }, apps: [{ name: "web", build: "./app", routes: ["/"] }, { name: "shop", build: "./app", hosts: [SHOP_HOST] }] });
  const root = tempDir("host-status");
  fs.chmodSync(root, 0o755);
  statusDir = path.join(root, "status");
  fs.mkdirSync(statusDir, { mode: 0o755 });
  const paths = { hostDir: statusDir, tokenFile: path.join(root, "token"), restartsFile: path.join(root, "restarts") };
  fs.writeFileSync(paths.tokenFile, `${TOKEN}\n`);
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\ncase "$1" in\n  ps) cut -d' ' -f1 ${root}/containers ;;\n  inspect) cat ${root}/containers ;;\nesac\n`, { mode: 0o755 });
  const script = path.join(root, "container-status");
  fs.writeFileSync(script, renderHostStatusScript("local", paths), { mode: 0o755 });
  checker = async (containers) => {
    fs.writeFileSync(path.join(root, "containers"), containers.map((c) => `${c}\n`).join(""));
    return (await run("/bin/sh", [script], { env: { PATH: `${bin}:/usr/bin:/bin` }, check: false })).code;
  };
  ({ http: port } = await startPlacedEdge(config, () => `127.0.0.1:${echo.port}`, "edge-host-status", { hostStatusDir: statusDir }));
}, { timeout: 60_000 });

const get = async (urlPath: string, host = VARIANT_DOMAIN) => rawRequest({ port, path: urlPath, host });
const STATUS = `${HOST_STATUS.urlPrefix}${TOKEN}`;
const HEALTHY = ["c1 /djangostack-local-web-1 running unless-stopped healthy 0", "c2 /djangostack-local-backup running unless-stopped healthy 0", "c3 /djangostack-local-web-migrate exited no none 0"];

describe("the container-health chain: host checker -> status file -> nginx (issue 13 item 6)", () => {
  test("every container fine: 200 on the domain and on an app's own host, without reaching any app", async () => {
    assert.equal(await checker(HEALTHY), 0);
    const before = echo.seen.length;
    for (const host of [VARIANT_DOMAIN, SHOP_HOST]) {
      const r = await get(STATUS, host);
      assert.equal(r.status, 200, host);
      assert.match(r.body, /^ok \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    }
    assert.equal(echo.seen.length, before, "nginx answered from the file");
  });

  test("a container unhealthy (the backup after a failed run): 404 at once, 200 again once it recovers", async () => {
    assert.equal(await checker([...HEALTHY.slice(0, 1), HEALTHY[1].replace("healthy", "unhealthy"), HEALTHY[2]]), 1);
    assert.equal((await get(STATUS)).status, 404);
    assert.equal((await get(STATUS, SHOP_HOST)).status, 404);
    assert.equal(await checker(HEALTHY), 0);
    assert.equal((await get(STATUS)).status, 200);
  });

  test("no listing, no other token, no way out of the directory; the apps' health paths still reach the apps", async () => {
    assert.notEqual((await get(HOST_STATUS.urlPrefix)).status, 200);
    assert.equal((await get(`${HOST_STATUS.urlPrefix}${"x".repeat(40)}`)).status, 404);
    for (const p of [`${HOST_STATUS.urlPrefix}../status/${TOKEN}`, `${HOST_STATUS.urlPrefix}%2e%2e/status/${TOKEN}`, `${HOST_STATUS.urlPrefix}..%2fstatus%2f${TOKEN}`]) assert.notEqual((await get(p)).status, 200, p);
    const before = echo.seen.length;
    assert.equal((await get("/_djangostack/web/health/")).status, 200);
    assert.equal(echo.seen.length, before + 1);
  });
});
