/**
 * Scheduled jobs on Docker targets (issue 10 item 8): the rendered scheduler script with the rendered
 * job table of a local stack, run on Debian's Python 3 with the model's command line and the app's env
 * (paths moved under a temp dir). A test clock (--clock-start, --seconds-per-minute) runs schedule
 * minutes in fractions of a second; time limits and the stop grace stay in real seconds.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PATHS } from "../../src/model/build";
import { Stack, generateCredentials, loadStack, process as modelProcess, processEnv, renderedFile } from "./fixtures";
import { pythonEnv } from "./harness/django";
import { ServerProcess, run, spawnServer, tempDir, useHarness, waitFor } from "./harness/process";

useHarness();

interface Event {
  event: string;
  job?: string;
  at?: string;
  pid?: number;
  exit?: number;
  reason?: string;
}

/** A job's shell command: `sh -c SCRIPT` with the output dir in $OUT. */
const sh = (script: string): string[] => ["sh", "-c", script];

const JOBS = [
  { name: "at-three", schedule: "0 3 * * *", command: sh('echo "$DJANGO_SETTINGS_MODULE" >> "$OUT/at-three"') },
  { name: "even", schedule: "*/2 * * * *", command: sh('echo run >> "$OUT/even"') },
  { name: "weekday", schedule: "0 3 1 * mon", command: sh('echo run >> "$OUT/weekday"') },
  // Each run lasts about three test minutes: the next two minutes find it still going.
  { name: "forbid", schedule: "* * * * *", command: sh('echo "start $$" >> "$OUT/forbid"; sleep 1.8; echo "end $$" >> "$OUT/forbid"'), concurrency: "forbid" },
  { name: "allow", schedule: "* * * * *", command: sh('echo "start $$" >> "$OUT/allow"; sleep 1.8; echo "end $$" >> "$OUT/allow"'), concurrency: "allow" },
  { name: "replace", schedule: "* * * * *", command: sh('trap \'echo "replaced $$" >> "$OUT/replace"; exit 143\' TERM; echo "start $$" >> "$OUT/replace"; sleep 5 & wait'), concurrency: "replace" },
  { name: "overrun", schedule: "1 3 * * *", command: ["sleep", "30"], timeLimit: 1 },
  { name: "stubborn", schedule: "2 3 * * *", command: sh('trap "" TERM; echo "start $$" >> "$OUT/stubborn"; sleep 30'), timeLimit: 1 },
  { name: "missing", schedule: "3 3 * * *", command: ["/nonexistent/manage"] },
];

const SECONDS_PER_MINUTE = 0.6;

describe("the Docker scheduler on real Python (issue 10 item 8)", () => {
  let stack: Stack;
  let script: string;
  let table: string;
  let env: Record<string, string>;
  let command: string[];
  before(async () => {
    stack = await loadStack("local", { apps: [{ name: "shop", build: "./app", routes: ["/"], jobs: JOBS }] });
    const creds = generateCredentials(stack.config);
    script = (await renderedFile(stack, "shop-scheduler", creds, "/scheduler.py")).text;
    table = (await renderedFile(stack, "shop-scheduler", creds, "/jobs.json")).text;
    // No server listens there: these jobs only read their env, they never connect.
    const nowhere = { host: "127.0.0.1", port: 9 };
    env = processEnv(stack, "shop-scheduler", creds, { postgres: nowhere, redis: nowhere, rabbitmq: nowhere }, tempDir("scheduler-env"));
    command = modelProcess(stack.model, "shop-scheduler").command;
  });

  /** Starts the model's command with its files and heartbeat moved under a temp dir, clock at `start`. */
  function startScheduler(start: string, editTable: (t: { grace: number; startingDeadline: number; jobs: { name: string; timeLimit: number }[] }) => void = () => undefined, extraArgs: string[] = []): { proc: ServerProcess; out: string; heartbeat: string; events: () => Event[] } {
    const dir = tempDir("scheduler");
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const parsed = JSON.parse(table) as { grace: number; startingDeadline: number; jobs: { name: string; timeLimit: number }[] };
    editTable(parsed);
    fs.writeFileSync(path.join(dir, "jobs.json"), JSON.stringify(parsed));
    fs.writeFileSync(path.join(dir, "scheduler.py"), script);
    const heartbeat = path.join(dir, "heartbeat");
    const moved = command.map((a) => (a.startsWith(`${PATHS.schedulerDir}/`) ? path.join(dir, path.basename(a)) : a === PATHS.schedulerHeartbeat ? heartbeat : a));
    const [file, ...args] = moved;
    const log = path.join(dir, "scheduler.log");
    const proc = spawnServer("scheduler", file, [...args, ...extraArgs.map((a) => a.replace("{dir}", dir)), "--clock-start", start, "--seconds-per-minute", String(SECONDS_PER_MINUTE)], log, { env: pythonEnv({ ...env, OUT: out }, dir) });
    const events = (): Event[] =>
      fs
        .readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("djangostack-scheduler "))
        .map((l) => JSON.parse(l.slice("djangostack-scheduler ".length)) as Event);
    return { proc, out, heartbeat, events };
  }

  const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : []);
  const minutes = (duration: number): Promise<void> => new Promise((r) => setTimeout(r, duration * SECONDS_PER_MINUTE * 1000));

  let shared: ReturnType<typeof startScheduler>;
  before(async () => {
    // 02:58 to about 03:09: every schedule above gets its minutes, the long runs their overlaps.
    shared = startScheduler("2026-12-04T02:58");
    await waitFor("the scheduler to be ready", async () => shared.events().some((e) => e.event === "ready"), { alive: () => shared.proc.exitStatus() });
    await minutes(11);
  });
  after(async () => {
    await shared.proc.stop();
  });

  test("fires at the minutes its schedule names (UTC), once each, never at the minute it started in", () => {
    const started = (job: string) => shared.events().filter((e) => e.event === "started" && e.job === job).map((e) => e.at);
    assert.deepEqual(started("at-three"), ["2026-12-04T03:00Z"]);
    assert.deepEqual(started("even").slice(0, 5), ["2026-12-04T03:00Z", "2026-12-04T03:02Z", "2026-12-04T03:04Z", "2026-12-04T03:06Z", "2026-12-04T03:08Z"]);
    // 2026-12-04 is a Friday and not the 1st: with both day fields restricted, cron needs either.
    assert.deepEqual(started("weekday"), []);
  });

  test("each run gets the app's env", () => {
    assert.deepEqual(lines(path.join(shared.out, "at-three")), [env.DJANGO_SETTINGS_MODULE]);
  });

  test("forbid: a minute that finds the last run going is skipped; runs never overlap", () => {
    const events = shared.events().filter((e) => e.job === "forbid");
    assert.ok(events.some((e) => e.event === "skipped"), JSON.stringify(events));
    const log = lines(path.join(shared.out, "forbid"));
    for (let i = 0; i + 1 < log.length; i += 2) assert.deepEqual([log[i].split(" ")[0], log[i + 1].split(" ")[0], log[i].split(" ")[1]], ["start", "end", log[i + 1].split(" ")[1]], `overlap in ${log.join(" | ")}`);
    assert.ok(log.length >= 4, log.join(" | "));
  });

  test("allow: the next run starts while the last one is going", () => {
    const log = lines(path.join(shared.out, "allow"));
    assert.ok(log.length >= 4 && log[1].startsWith("start"), `no overlap: ${log.join(" | ")}`);
  });

  test("replace: the last run gets SIGTERM before the next one starts", () => {
    // The order in the scheduler's own log: when the stopped run's trap writes its line races the next run.
    const events = shared.events().filter((e) => e.job === "replace" && (e.event === "started" || e.event === "stopping"));
    assert.deepEqual(events.slice(0, 3).map((e) => e.event), ["started", "stopping", "started"], JSON.stringify(events));
    assert.equal(events[1].pid, events[0].pid, "the run stopped is the last one");
    const log = lines(path.join(shared.out, "replace"));
    assert.ok(log.includes(`replaced ${String(events[0].pid)}`), `the first run got no SIGTERM: ${log.join(" | ")}`);
    assert.ok(log.filter((l) => l.startsWith("replaced")).length >= 2, log.join(" | "));
    assert.ok(shared.events().some((e) => e.job === "replace" && e.event === "failed" && e.reason === "replaced by the next run"));
  });

  test("a run past its time limit is stopped and reported failed", () => {
    const overrun = shared.events().filter((e) => e.job === "overrun");
    assert.deepEqual(overrun.map((e) => e.event), ["started", "stopping", "failed"]);
    assert.equal(overrun[2].reason, "time limit of 1s");
    assert.equal(overrun[2].exit, -15, "SIGTERM ended it");
  });

  test("a command that cannot start is reported, and the scheduler goes on", () => {
    const missing = shared.events().filter((e) => e.job === "missing");
    assert.deepEqual(missing.map((e) => e.event), ["failed"]);
    assert.match(missing[0].reason ?? "", /could not start: .*No such file/);
    assert.equal(shared.proc.exitStatus(), undefined, "the scheduler still runs");
  });

  test("the heartbeat keeps the model's health probe passing; a stale one fails it", async () => {
    const probe = modelProcess(stack.model, "shop-scheduler").health?.liveness;
    assert.ok(probe?.kind === "exec");
    const [file, ...args] = probe.command.map((a) => a.split(PATHS.schedulerHeartbeat).join(shared.heartbeat));
    const env = pythonEnv({}, path.dirname(shared.heartbeat));
    assert.equal((await run(file, args, { env })).code, 0);
    const old = new Date(Date.now() - 120_000);
    const stale = path.join(path.dirname(shared.heartbeat), "stale");
    fs.writeFileSync(stale, "");
    fs.utimesSync(stale, old, old);
    assert.equal((await run(file, args.map((a) => a.split(shared.heartbeat).join(stale)), { env, check: false })).code, 1);
  });

  test("a run that ignores SIGTERM is killed after the grace", async () => {
    // The rendered grace is 10 s; 1 s here keeps the test short and takes the same path.
    const s = startScheduler("2026-12-04T03:01", (t) => (t.grace = 1));
    const stubborn = () => s.events().filter((e) => e.job === "stubborn");
    await waitFor("the stubborn run to end", async () => stubborn().some((e) => e.event === "failed"), { timeoutMs: 15_000, alive: () => s.proc.exitStatus() });
    const failed = stubborn().find((e) => e.event === "failed");
    assert.deepEqual([failed?.exit, failed?.reason], [-9, "time limit of 1s"]);
    await s.proc.stop();
  });

  test("SIGTERM to the scheduler (docker stop) stops the running jobs, then it exits 0", async () => {
    const s = startScheduler("2026-12-04T02:59");
    await waitFor("a replace run to start", async () => lines(path.join(s.out, "replace")).length > 0, { alive: () => s.proc.exitStatus() });
    process.kill(s.proc.pid, "SIGTERM");
    assert.equal(await s.proc.exited, "exited with code 0");
    const log = lines(path.join(s.out, "replace"));
    assert.ok(log.at(-1)?.startsWith("replaced"), `the job did not get SIGTERM: ${log.join(" | ")}`);
    assert.deepEqual(s.events().at(-1), { event: "stopped" });
  });

  test("a minute missed while the scheduler could not run is logged, and --status/--probe report the run that never came (issue 13 item 1)", async () => {
    // Deadline 60 s and at-three's limit 30 s (rendered: 300 s and the job's own) keep the test short.
    const s = startScheduler(
      "2026-12-04T02:58",
      (t) => {
        t.startingDeadline = 60;
        for (const j of t.jobs) if (j.name === "at-three") j.timeLimit = 30;
      },
      ["--status", "{dir}/status"],
    );
    const status = path.join(path.dirname(s.heartbeat), "status");
    const probe = () => run("python3", ["-I", path.join(path.dirname(s.heartbeat), "scheduler.py"), "--probe", status], { env: pythonEnv({}, path.dirname(s.heartbeat)), check: false });
    await waitFor("the scheduler to be ready", async () => s.events().some((e) => e.event === "ready"), { alive: () => s.proc.exitStatus() });
    // The host asleep, or the container paused: 03:00 passes while the scheduler cannot run.
    process.kill(s.proc.pid, "SIGSTOP");
    await minutes(4);
    process.kill(s.proc.pid, "SIGCONT");
    await waitFor("the missed run to be reported", async () => (await probe()).stdout.includes("at-three: the run due at 2026-12-04T03:00Z has not succeeded within 100s"), { alive: () => s.proc.exitStatus(), timeoutMs: 15_000 });
    assert.equal((await probe()).code, 1);
    const atThree = s.events().filter((e) => e.job === "at-three");
    assert.deepEqual(atThree.map((e) => [e.event, e.at]), [["missed", "2026-12-04T03:00Z"]], "never started late, logged missed");
    await s.proc.stop();
  });
});
