/**
 * The scheduled-jobs runner of the Docker targets: one container per app, from the app's image and
 * with its env, runs each job as its own process group at the minutes its cron schedule names (UTC),
 * with the job's time limit and concurrency policy, as a Kubernetes CronJob would. The schedule
 * arrives expanded into minute/hour/day sets (src/config/cron.ts), so the script parses no cron.
 * Standard library only: any Python 3.8+ an app image carries runs it.
 */
import { ScheduledJob } from "../config/types";

/** Seconds between SIGTERM and SIGKILL for a run that is stopped (time limit, replace, shutdown). */
export const SCHEDULER_STOP_GRACE_SECONDS = 10;

/**
 * A missed minute (the host slept, the container was restarting) still fires within this many
 * seconds, once; the CronJob's startingDeadlineSeconds is the same.
 */
export const STARTING_DEADLINE_SECONDS = 300;

/** The job table the script reads: each job's command, policy and expanded schedule. */
export function renderSchedulerJobs(jobs: readonly ScheduledJob[]): string {
  const table = {
    grace: SCHEDULER_STOP_GRACE_SECONDS,
    startingDeadline: STARTING_DEADLINE_SECONDS,
    jobs: jobs.map((j) => ({ name: j.name, command: j.command, concurrency: j.concurrency, timeLimit: j.timeLimitSeconds, schedule: j.schedule })),
  };
  return `${JSON.stringify(table, null, 2)}\n`;
}

export const SCHEDULER_SCRIPT = String.raw`"""djangostack scheduler: runs this app's scheduled jobs (see jobs.json) on their UTC schedules.

Each run is a process group of its own with the container's env; a run past its time limit gets
SIGTERM, then SIGKILL after the grace. concurrency: forbid skips a run while the last one is going,
replace stops the last one first, allow starts another. Log lines are JSON after "djangostack-scheduler".

--status FILE keeps each job's last due minute, last success and last failure in FILE, with the
problems a human must hear of: the last run failed, or a due run (missed, skipped, or still going)
has not succeeded within its time limit and the grace. --probe FILE (a health check) exits 1 while
there is one, or while FILE has not been rewritten for STATUS_MAX_AGE seconds.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

# The status is rewritten at least this often; a probe finding it older sees a stuck scheduler.
STATUS_EVERY = 30
STATUS_MAX_AGE = 120


def log(event, **fields):
    fields["event"] = event
    print("djangostack-scheduler " + json.dumps(fields, sort_keys=True), flush=True)


def matches(s, t):
    day = t.day in s["days"]
    weekday = t.isoweekday() % 7 in s["weekdays"]
    # robfig/cron (Kubernetes): either day field may match only when neither is a star.
    days = (day and weekday) if (s["anyDay"] or s["anyWeekday"]) else (day or weekday)
    return t.minute in s["minutes"] and t.hour in s["hours"] and t.month in s["months"] and days


class Clock:
    """UTC wall time; a test clock starts at a given minute and runs one minute per tick seconds."""

    def __init__(self, start, tick):
        self.real0 = time.monotonic()
        self.start = start
        self.tick = tick

    def now(self):
        if self.start is None:
            return datetime.now(timezone.utc)
        return self.start + timedelta(minutes=(time.monotonic() - self.real0) / self.tick)


def minute_text(t):
    return t.strftime("%Y-%m-%dT%H:%MZ")


class Run:
    def __init__(self, job, proc, now, minute):
        self.job = job
        self.minute = minute
        self.proc = proc
        self.began = now
        self.deadline = now + job["timeLimit"]
        self.kill_at = None
        self.reason = None

    def stop(self, reason, now, grace):
        if self.kill_at is not None:
            return
        self.reason = reason
        self.kill_at = now + grace
        signal_group(self.proc, signal.SIGTERM)
        log("stopping", job=self.job["name"], pid=self.proc.pid, reason=reason)


def signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class Scheduler:
    def __init__(self, table, clock, heartbeat, status=None):
        self.jobs = table["jobs"]
        self.grace = table["grace"]
        self.deadline = table["startingDeadline"]
        self.clock = clock
        self.heartbeat = heartbeat
        self.status = status
        self.runs = []
        self.shutting_down = False
        first = clock.now().replace(second=0, microsecond=0)
        self.next_minute = first + timedelta(minutes=1)
        # Per job: the last minute it was due, the due minute of its last success, its last failure.
        self.state = dict((j["name"], {"due": None, "lastSuccess": None, "lastFailure": None}) for j in self.jobs)
        self.status_text = None
        self.status_written = 0.0

    def failed(self, job, minute, reason):
        self.state[job["name"]]["lastFailure"] = {"due": minute_text(minute), "reason": reason}

    def start(self, job, minute, now):
        at = minute_text(minute)
        active = [r for r in self.runs if r.job is job]
        if active and job["concurrency"] == "forbid":
            log("skipped", job=job["name"], at=at, reason="the last run is still going", pid=active[0].proc.pid)
            return
        if job["concurrency"] == "replace":
            for r in active:
                r.stop("replaced by the next run", now, self.grace)
        try:
            proc = subprocess.Popen(job["command"], stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as error:
            log("failed", job=job["name"], at=at, reason="could not start: " + str(error))
            self.failed(job, minute, "could not start: " + str(error))
            return
        self.runs.append(Run(job, proc, now, minute))
        log("started", job=job["name"], at=at, pid=proc.pid)

    def reap(self, now):
        for r in list(self.runs):
            code = r.proc.poll()
            if code is None:
                if r.kill_at is None and now >= r.deadline:
                    r.stop("time limit of %ds" % r.job["timeLimit"], now, self.grace)
                elif r.kill_at is not None and now >= r.kill_at:
                    signal_group(r.proc, signal.SIGKILL)
                continue
            self.runs.remove(r)
            # A stopped run's other processes may still hold the group: end them with it.
            signal_group(r.proc, signal.SIGKILL)
            fields = dict(job=r.job["name"], pid=r.proc.pid, exit=code, seconds=round(now - r.began, 1))
            if r.reason:
                fields["reason"] = r.reason
            ok = code == 0 and not r.reason
            log("succeeded" if ok else "failed", **fields)
            state = self.state[r.job["name"]]
            if ok:
                state["lastSuccess"] = minute_text(r.minute)
                state["lastFailure"] = None
            elif not self.shutting_down:
                self.failed(r.job, r.minute, r.reason or "exit %d" % code)

    def due(self):
        """Each job due in a minute that has come (and is not older than the deadline), once."""
        now = self.clock.now()
        fired = {}
        while self.next_minute <= now:
            late = (now - self.next_minute).total_seconds() > self.deadline
            for j in self.jobs:
                if matches(j["schedule"], self.next_minute):
                    # A minute past the deadline is never run, but it was due: the status counts it.
                    self.state[j["name"]]["due"] = minute_text(self.next_minute)
                    if late:
                        log("missed", job=j["name"], at=minute_text(self.next_minute))
                    else:
                        fired.setdefault(j["name"], (j, self.next_minute))
            self.next_minute += timedelta(minutes=1)
        return list(fired.values())

    def problems(self):
        now = self.clock.now()
        found = []
        for j in self.jobs:
            s = self.state[j["name"]]
            if s["lastFailure"]:
                found.append("%s: the run due at %s failed (%s)" % (j["name"], s["lastFailure"]["due"], s["lastFailure"]["reason"]))
            elif s["due"] and (s["lastSuccess"] or "") < s["due"]:
                due = datetime.strptime(s["due"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=timezone.utc)
                allowed = j["timeLimit"] + self.grace + self.deadline
                if (now - due).total_seconds() > allowed:
                    found.append("%s: the run due at %s has not succeeded within %ds" % (j["name"], s["due"], allowed))
        return found

    def write_status(self):
        if not self.status:
            return
        text = json.dumps({"jobs": self.state, "problems": self.problems()}, sort_keys=True)
        if text == self.status_text and time.time() - self.status_written < STATUS_EVERY:
            return
        if text != self.status_text:
            log("status", problems=json.loads(text)["problems"])
        partial = self.status + ".partial"
        with open(partial, "w") as f:
            f.write(text)
        os.replace(partial, self.status)
        self.status_text = text
        self.status_written = time.time()

    def beat(self):
        if self.heartbeat:
            with open(self.heartbeat, "w") as f:
                f.write(str(time.time()))

    def loop(self):
        log("ready", jobs=[j["name"] for j in self.jobs])
        while not self.shutting_down:
            now = time.monotonic()
            for job, minute in self.due():
                self.start(job, minute, now)
            self.reap(now)
            self.beat()
            self.write_status()
            time.sleep(0.2)
        self.drain()

    def drain(self):
        now = time.monotonic()
        for r in self.runs:
            r.stop("the scheduler is stopping", now, self.grace)
        while self.runs:
            self.reap(time.monotonic())
            time.sleep(0.1)
        log("stopped")


def probe(path):
    """Exit status of the health check: 0 with a fresh status and no problem."""
    try:
        age = time.time() - os.path.getmtime(path)
        with open(path) as f:
            problems = json.load(f)["problems"]
    except (OSError, ValueError, KeyError) as error:
        print("no status: %s" % error)
        return 1
    if age > STATUS_MAX_AGE:
        print("the status is %ds old: the scheduler is stuck" % age)
        return 1
    for p in problems:
        print(p)
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("jobs", nargs="?")
    parser.add_argument("--heartbeat")
    parser.add_argument("--status", help="keep the jobs' results and problems in this file")
    parser.add_argument("--probe", metavar="STATUS", help="health check: exit 1 while STATUS names a problem or is stale")
    parser.add_argument("--clock-start", help="test clock: start at this UTC minute (YYYY-MM-DDTHH:MM)")
    parser.add_argument("--seconds-per-minute", type=float, default=1.0, help="test clock speed")
    args = parser.parse_args()
    if args.probe:
        return probe(args.probe)
    if not args.jobs:
        parser.error("the jobs table is required")
    with open(args.jobs) as f:
        table = json.load(f)
    start = None
    if args.clock_start:
        start = datetime.strptime(args.clock_start, "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.utc)
    scheduler = Scheduler(table, Clock(start, args.seconds_per_minute), args.heartbeat, args.status)

    def shutdown(signum, frame):
        scheduler.shutting_down = True

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    scheduler.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
`;
