/**
 * Issue 8 item 5: on Docker a hung process is restarted, by liveness, while the health status stays
 * readiness. The healthcheck is the one `renderLivenessWatchdog` renders from the probes the Docker
 * realizer's `healthcheckTest` gives an app (HTTP, python urllib), run as Docker would: inside a
 * container whose PID 1 is tini, every interval, by dash or busybox ash, with `unless-stopped`
 * starting the container again when PID 1 exits (harness/container.ts). The app is a small Python
 * HTTP server that can be told to hang: every request, or only liveness, never answers again.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { healthcheckTest } from "../../src/components/targets/docker/realizer";
import { ProbeTiming } from "../../src/model/types";
import { renderLivenessWatchdog } from "../../src/render/watchdog";
import { ContainerStart, EmulatedContainer, HealthCheck, HealthShell } from "./harness/container";
import { request } from "./harness/http";
import { PYTHON, portOpen, useHarness, waitFor } from "./harness/process";

useHarness();

/** /hang: every later request hangs (a deadlock); /hang-live: only /live; /unready: /ready answers 503. */
const APP = `
import http.server, signal, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
if "ignore-term" in mode: signal.signal(signal.SIGTERM, signal.SIG_IGN)
state = {"hang": "hang-at-start" in mode, "hang_live": False, "ready": True}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        p = self.path
        if p == "/hang": state["hang"] = True
        elif p == "/hang-live": state["hang_live"] = True
        elif p == "/unready": state["ready"] = False
        elif state["hang"] or (p == "/live" and state["hang_live"]):
            while True: time.sleep(3600)
        code = 503 if p == "/ready" and not state["ready"] else 200
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
s = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
s.daemon_threads = True
print("serving", port, mode or "normal", flush=True)
s.serve_forever()
`;

const THRESHOLD = 2;
/** Docker's timeout 4 s: the watchdog gives the probes 3 s (a loaded CI host needs the margin), so a hung probe costs 3 s. */
const TIMING: ProbeTiming = { intervalSeconds: 1, timeoutSeconds: 4, failureThreshold: THRESHOLD, startPeriodSeconds: 0 };

const containers: EmulatedContainer[] = [];

let nextPort = 18510;

async function container(label: string, shell: HealthShell, opts: { mode?: string; timing?: Partial<ProbeTiming> } = {}): Promise<{ c: EmulatedContainer; port: number }> {
  const port = nextPort++;
  assert.equal(await portOpen(port), false, `port ${port} (of 18500-18599, this file's) is in use`);
  const timing = { ...TIMING, ...opts.timing };
  const probe = (path: string) => healthcheckTest({ kind: "http", path, port, host: "localhost" }, "web");
  const [, script] = renderLivenessWatchdog(probe("/live"), probe("/ready"), timing);
  const c = new EmulatedContainer({ label, shell, argv: [PYTHON, "-c", APP, String(port), opts.mode ?? ""], test: ["CMD-SHELL", script], intervalSeconds: timing.intervalSeconds, timeoutSeconds: timing.timeoutSeconds });
  containers.push(c);
  c.start();
  return { c, port };
}

const control = async (port: number, path: string): Promise<void> => {
  const r = await request({ port, path, host: "localhost", timeoutMs: 2_000 });
  assert.equal(r.status, 200, `${path} answered`);
};

/** Waits for `n` checks of start `start`, then returns them. */
const checks = (c: EmulatedContainer, start: number, n: number, timeoutMs = 20_000): Promise<HealthCheck[]> =>
  waitFor(`${n} checks of start ${start}`, async () => c.checksOf(start).length >= n && c.checksOf(start), { timeoutMs, intervalMs: 50 });

const exited = (c: EmulatedContainer, start: number, timeoutMs = 25_000): Promise<ContainerStart> =>
  waitFor(`start ${start} to exit`, async () => c.starts[start]?.exitedAt !== undefined && c.starts[start], { timeoutMs, intervalMs: 50 });

/** Checks of `start` that began after `t` (ms since epoch). */
const since = (c: EmulatedContainer, start: number, t: number): HealthCheck[] => c.checksOf(start).filter((k) => c.starts[start].startedAt + k.at > t);

/** The watchdog's lines in a check's output (readiness output comes with them), the app's pid as <app>. */
const verdict = (k: HealthCheck): string =>
  k.output
    .split("\n")
    .filter((l) => /^(liveness|watchdog): /.test(l))
    .map((l) => l.replace(/children: [0-9]+$/, "children: <app>"))
    .join(" / ");

const summary = (ks: HealthCheck[]): string => ks.map((k) => `${k.code} ${verdict(k)}`).join(" | ");

/** No check may outlast Docker's timeout: then Docker, not the script, would decide its result. */
function withinTimeout(c: EmulatedContainer, timing: ProbeTiming = TIMING): void {
  const longest = Math.max(...c.checks.map((k) => k.durationMs));
  assert.ok(longest < timing.timeoutSeconds * 1000, `longest check ${longest} ms, Docker's timeout ${timing.timeoutSeconds} s`);
}

describe("Docker liveness watchdog (tini as PID 1, restart unless-stopped)", { concurrency: true }, () => {
  // Before the harness's file-level cleanup, which would only see each start's end and a restart follow.
  after(() => Promise.all(containers.map((c) => c.stop())));

  test("(a) a healthy app is never signalled", async () => {
    const { c } = await container("healthy", "dash");
    const ks = await checks(c, 0, 6);
    assert.deepEqual(ks.map((k) => [k.code, k.output]), ks.map(() => [0, "liveness: ok"]), summary(ks));
    assert.equal(c.starts.length, 1);
    assert.equal(c.starts[0].exit, undefined, "the container is still running");
    withinTimeout(c);
    console.log(`(a) ${ks.length} healthy checks, longest ${Math.max(...ks.map((k) => k.durationMs))} ms, no restart`);
  });

  for (const shell of ["dash", "busybox"] as const) {
    test(`(b) a hung app gets TERM after ${THRESHOLD} failed checks and the container starts again (${shell})`, async () => {
      const { c, port } = await container(`hang-${shell}`, shell);
      await checks(c, 0, 2);
      const hungAt = Date.now();
      await control(port, "/hang");
      const first = await exited(c, 0);
      const failed = since(c, 0, hungAt);
      assert.equal(first.exit, "143", `tini exits 128 + SIGTERM for its app; checks: ${summary(failed)}`);
      // One child of PID 1, the app: the checks leave no process of theirs behind to be signalled.
      assert.deepEqual(failed.map(verdict), ["liveness: failed (1/2)", "liveness: failed (2/2) / watchdog: sending TERM to pid 1 children: <app>"], summary(failed));
      assert.equal(failed[0].code, 1, "readiness hangs too: unhealthy");
      const again = await checks(c, 1, 1);
      assert.deepEqual([again[0].code, again[0].output], [0, "liveness: ok"], "the new start is a fresh app with a fresh count");
      withinTimeout(c);
      console.log(`(b ${shell}) hang -> TERM at failed check ${failed.length}, ${first.exitedAt! - hungAt} ms after the hang; restarted ${c.starts[1].startedAt - first.exitedAt!} ms later`);
    });
  }

  test("(c) an app that ignores TERM gets KILL at threshold + 2 (busybox)", async () => {
    const { c, port } = await container("ignore-term", "busybox", { mode: "ignore-term" });
    await checks(c, 0, 2);
    const hungAt = Date.now();
    await control(port, "/hang");
    const first = await exited(c, 0);
    const failed = since(c, 0, hungAt);
    assert.equal(first.exit, "137", `killed by SIGKILL; checks: ${summary(failed)}`);
    assert.deepEqual(failed.map(verdict), [
      "liveness: failed (1/2)",
      "liveness: failed (2/2) / watchdog: sending TERM to pid 1 children: <app>",
      "liveness: failed (3/2) / watchdog: sending TERM to pid 1 children: <app>",
      "liveness: failed (4/2) / watchdog: sending KILL to pid 1 children: <app>",
    ]);
    await checks(c, 1, 1);
    assert.equal(c.checksOf(1)[0].code, 0);
    withinTimeout(c);
    console.log(`(c) TERM at failed checks 2 and 3 ignored, KILL at ${failed.length}; ${first.exitedAt! - hungAt} ms from the hang to the exit`);
  });

  test("(d) failures in the start period are not counted, and a count from an earlier start is ignored (dash)", async () => {
    const startPeriod = 6;
    const { c } = await container("start-period", "dash", { mode: "hang-at-start", timing: { startPeriodSeconds: startPeriod } });
    await waitFor("PID 1", async () => c.starts[0].pid1 !== undefined, { intervalMs: 20 });
    // Another PID 1 start time, 99 failures after a success, cut off: it would mean KILL at once, start period or not.
    const stale = await c.exec(["/bin/sh", "-c", "echo '1 99 1 0' > /tmp/.djangostack-liveness"]);
    assert.equal(stale.code, 0, stale.stderr);
    assert.equal(c.checksOf(0).length, 0, "the stale file is in place before the first check");
    const first = await exited(c, 0, 30_000);
    const ks = c.checksOf(0);
    const uncounted = ks.filter((k) => verdict(k) === "liveness: failed (start period, not counted)");
    assert.ok(uncounted.length >= 2, summary(ks));
    assert.deepEqual(ks.slice(uncounted.length).map(verdict), ["liveness: failed (1/2)", "liveness: failed (2/2) / watchdog: sending TERM to pid 1 children: <app>"], summary(ks));
    assert.ok(uncounted.every((k) => k.at < (startPeriod + 1) * 1000), `uncounted only in the start period: ${ks.map((k) => k.at)}`);
    assert.equal(first.exit, "143", "TERM, not the KILL the stale count would have sent");
    assert.ok(first.exitedAt! - first.startedAt >= startPeriod * 1000, `exited ${first.exitedAt! - first.startedAt} ms after the start`);
    withinTimeout(c);
    console.log(`(d) ${uncounted.length} uncounted failures in the ${startPeriod} s start period, TERM at the 2nd counted one, ${first.exitedAt! - first.startedAt} ms after the start`);
  });

  test("(d) a liveness success ends the start period, as Docker's rule has it (busybox)", async () => {
    const startPeriod = 60;
    const { c, port } = await container("started", "busybox", { timing: { startPeriodSeconds: startPeriod } });
    await checks(c, 0, 1);
    const hungAt = Date.now();
    await control(port, "/hang");
    const first = await exited(c, 0);
    assert.equal(first.exit, "143");
    assert.deepEqual(since(c, 0, hungAt).map(verdict), ["liveness: failed (1/2)", "liveness: failed (2/2) / watchdog: sending TERM to pid 1 children: <app>"]);
    assert.ok(first.exitedAt! - first.startedAt < startPeriod * 1000);
    console.log(`(d') restarted ${first.exitedAt! - first.startedAt} ms after the start, inside a ${startPeriod} s start period`);
  });

  test("(e) the status is readiness: readiness failing with liveness passing is unhealthy and never signalled (dash)", async () => {
    const { c, port } = await container("unready", "dash");
    await checks(c, 0, 1);
    const at = Date.now();
    await control(port, "/unready");
    await waitFor("5 checks after /unready", async () => since(c, 0, at).length >= 5, { timeoutMs: 20_000, intervalMs: 50 });
    const ks = since(c, 0, at);
    assert.deepEqual(ks.map((k) => [k.code, verdict(k)]), ks.map(() => [1, "liveness: ok"]), summary(ks));
    assert.match(ks[0].output, /HTTP Error 503/, "readiness output stays in the health log");
    assert.equal(c.starts.length, 1);
    assert.equal(c.starts[0].exit, undefined);
    console.log(`(e) ${ks.length} unhealthy checks (exit 1) with liveness ok, no signal`);
  });

  test("(e) liveness failing with readiness passing stays healthy until the restart (busybox)", async () => {
    const { c, port } = await container("hang-live", "busybox", { timing: { failureThreshold: 3 } });
    await checks(c, 0, 1);
    const at = Date.now();
    await control(port, "/hang-live");
    const first = await exited(c, 0);
    const ks = since(c, 0, at);
    assert.deepEqual(ks.map(verdict), ["liveness: failed (1/3)", "liveness: failed (2/3)", "liveness: failed (3/3) / watchdog: sending TERM to pid 1 children: <app>"]);
    // The last check's status is lost with the container, as in Docker.
    assert.deepEqual(ks.slice(0, 2).map((k) => k.code), [0, 0], `healthy while liveness fails: ${summary(ks)}`);
    assert.equal(first.exit, "143");
    withinTimeout(c);
    console.log(`(e') ${ks.length - 1} healthy checks with liveness failing, then TERM; exit ${first.exit}`);
  });
});
