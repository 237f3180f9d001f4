/**
 * `apps[].jobs`: cron-like jobs per app (a session cleanup, a nightly report), apart from Celery
 * beat: each runs a command with the app's image and env on a UTC schedule.
 */
import { Checker, checkUnique } from "./checker";
import { parseCommand } from "./commands";
import { CRON_HINT, parseCron } from "./cron";
import { parseResources } from "./quantities";
import { JOB_CONCURRENCY, ScheduledJob } from "./types";

const JOB_KEYS = ["name", "schedule", "command", "concurrency", "timeLimit", "resources"] as const;
/** Same shape as app and pool names: `<app>-job-<job>` stays a DNS label within a CronJob's 52 characters. */
const JOB_NAME = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
const JOB_RESOURCES = { cpuMillis: 250, memoryMiB: 256 };
export const MAX_JOBS = 20;

function parseJob(c: Checker, path: string, value: unknown, index: number): ScheduledJob {
  const raw = c.object(path, value, JOB_KEYS);
  const scheduleText = c.string(`${path}.schedule`, raw.schedule, "", /^[^\n]*$/, CRON_HINT);
  if (raw.schedule === undefined) c.fail(`${path}.schedule`, raw.schedule, `a job needs a schedule: ${CRON_HINT}`);
  const parsed = parseCron(scheduleText);
  if ("problem" in parsed && raw.schedule !== undefined) c.fail(`${path}.schedule`, scheduleText, parsed.problem);
  if (raw.command === undefined) c.fail(`${path}.command`, raw.command, "a job needs a command, e.g. [python, manage.py, clearsessions]");
  return {
    name: c.string(`${path}.name`, raw.name, `job${index + 1}`, JOB_NAME, "a lowercase name of 1-20 letters, digits and inner hyphens, starting with a letter"),
    schedule: "problem" in parsed ? { expression: scheduleText, minutes: [], hours: [], days: [], months: [], weekdays: [], anyDay: false, anyWeekday: false } : parsed,
    command: raw.command === undefined ? [] : parseCommand(c, `${path}.command`, raw.command, "[python, manage.py, clearsessions]"),
    concurrency: c.oneOf(`${path}.concurrency`, raw.concurrency, JOB_CONCURRENCY, "forbid"),
    timeLimitSeconds: c.int(`${path}.timeLimit`, raw.timeLimit, 3600, { min: 1, max: 86400 }),
    resources: parseResources(c, `${path}.resources`, raw.resources, JOB_RESOURCES),
  };
}

export function parseJobs(c: Checker, path: string, value: unknown): ScheduledJob[] {
  const items = c.list(path, value, []);
  if (items.length > MAX_JOBS) c.fail(path, `${items.length} jobs`, `at most ${MAX_JOBS} scheduled jobs per app`);
  const jobs = items.map((item, i) => parseJob(c, `${path}[${i}]`, item, i));
  checkUnique(c, jobs, (j) => [j.name], (i) => `${path}[${i}].name`, "job names must be unique within an app");
  return jobs;
}
