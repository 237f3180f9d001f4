/**
 * Issue 11 item 11 on a real nginx: how long the edge waits for an app follows the app server's own
 * timeout (apps[].gunicorn.timeout plus a margin, so gunicorn gives up first), a path can set its own
 * (apps[].edge.paths[].timeout), and a path can take larger uploads than edge.clientMaxBody
 * (apps[].edge.paths[].clientMaxBody). The app is an echo upstream that never answers /slow/.
 * Variants: local (plain HTTP), TLS from files, and the Kubernetes target's load-balanced rendering.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EchoUpstream, EdgeRequest, EdgeResponse, rawRequest } from "./harness/echo";
import { useHarness } from "./harness/process";
import { VARIANT_DOMAIN as DOMAIN, startEdgeVariants } from "./stackup";
import { exactApps } from "../helpers/stack-apps";

useHarness();

const LB = "127.0.0.2";
const APP = {
  name: "web",
  build: "./app",
  routes: ["/"],
  gunicorn: { timeout: 1 },
  edge: { paths: [{ path: "/slow/quick/", timeout: 1 }, { path: "/upload/", clientMaxBody: 3 }] },
};
const ONE_AND_A_HALF_MIB = "x".repeat(1536 * 1024);

let echo: EchoUpstream;
let port: { local: number; tls: number; lb: number };

before(async () => {
  const config = { ...exactApps([APP]), edge: { clientMaxBody: 1 } };
  ({ echo, ...port } = await startEdgeVariants("edge-timeouts", `${LB}/32`, { local: config, tls: config, production: config }));
}, { timeout: 60_000 });

const variants: [string, (req: Omit<EdgeRequest, "port">) => Promise<EdgeResponse>][] = [
  ["local", (req) => rawRequest({ ...req, port: port.local, host: "localhost" })],
  ["TLS", (req) => rawRequest({ ...req, port: port.tls, sni: DOMAIN, host: DOMAIN })],
  ["load-balanced", (req) => rawRequest({ ...req, port: port.lb, from: LB, host: "shop.example.com" })],
];

async function timed(fn: () => Promise<EdgeResponse>): Promise<{ status: number; seconds: number }> {
  const start = Date.now();
  const r = await fn();
  return { status: r.status, seconds: (Date.now() - start) / 1000 };
}

describe("proxy timeouts and upload sizes per app and path (issue 11 item 11)", () => {
  for (const [name, send] of variants) {
    test(`${name}: the app's wait is its gunicorn timeout + 5 s (1 s -> 504 after ~6 s, not 120 s); a path's own timeout of 1 s answers 504 after ~1 s`, async () => {
      const [app, quick] = await Promise.all([timed(() => send({ path: "/slow/a", timeoutMs: 30_000 })), timed(() => send({ path: "/slow/quick/b", timeoutMs: 30_000 }))]);
      assert.equal(app.status, 504);
      assert.ok(app.seconds >= 5.5 && app.seconds < 15, `app timeout after ${app.seconds} s`);
      assert.equal(quick.status, 504);
      assert.ok(quick.seconds >= 0.9 && quick.seconds < 4, `path timeout after ${quick.seconds} s`);
      echo.releaseAll();
    });

    test(`${name}: 1.5 MiB reaches the app under /upload/ (3 MiB there) and is refused with 413 elsewhere (edge.clientMaxBody 1 MiB)`, async () => {
      const before = echo.seen.length;
      assert.equal((await send({ path: "/upload/photo", method: "POST", body: ONE_AND_A_HALF_MIB })).status, 200);
      assert.equal((await send({ path: "/other/", method: "POST", body: ONE_AND_A_HALF_MIB })).status, 413);
      assert.deepEqual(echo.seen.slice(before).map((s) => [s.method, s.url, s.headers["content-length"]]), [["POST", "/upload/photo", [String(ONE_AND_A_HALF_MIB.length)]]]);
    });
  }
});
