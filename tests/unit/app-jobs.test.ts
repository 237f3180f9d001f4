/**
 * Issue 10 item 8: scheduled jobs per app (schedule, command, concurrency policy, time limit), apart
 * from Celery beat: a hardened CronJob each on Kubernetes, one scheduler container per app on Docker.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseCron } from "../../src/config/cron";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { id, refuses } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const apps = (...list: Raw[]): Raw => ({ apps: list });
const withJobs = (...jobs: Raw[]): Raw => apps({ name: "a", jobs });
const clear = { name: "clear", schedule: "17 3 * * *", command: ["python", "manage.py", "clearsessions"] };

describe("cron schedules (robfig/cron v3, as Kubernetes parses them)", () => {
  const sets = (e: string) => {
    const s = parseCron(e);
    assert.ok(!("problem" in s), `${e}: ${"problem" in s ? s.problem : ""}`);
    return s;
  };

  it("expands fields, ranges, steps, lists and names", () => {
    const s = sets("*/15 8-18/5 1,15 jan-mar mon-fri");
    assert.deepEqual([s.minutes, s.hours, s.days, s.months, s.weekdays], [[0, 15, 30, 45], [8, 13, 18], [1, 15], [1, 2, 3], [1, 2, 3, 4, 5]]);
    assert.deepEqual(sets("5/20 * * * *").minutes, [5, 25, 45], "n/step runs to the field's end");
  });

  it("marks a day field written * or ? as a star, and */n as none (robfig's starBit)", () => {
    assert.deepEqual([sets("0 0 * * 1").anyDay, sets("0 0 * * 1").anyWeekday], [true, false]);
    assert.deepEqual([sets("0 0 1 * ?").anyDay, sets("0 0 1 * ?").anyWeekday], [false, true]);
    assert.equal(sets("0 0 */2 * *").anyDay, false);
    assert.equal(sets("0 0 1 * 0").anyDay || sets("0 0 1 * 0").anyWeekday, false, "both restricted: either matches");
  });

  it("knows the descriptors", () => {
    assert.deepEqual([sets("@daily").minutes, sets("@daily").hours], [[0], [0]]);
    assert.deepEqual(sets("@weekly").weekdays, [0]);
    assert.equal(sets("@hourly").hours.length, 24);
    assert.equal(sets("@hourly").expression, "@hourly", "Kubernetes gets the expression as written");
  });

  for (const [bad, why] of [
    ["* * * *", "4 fields"],
    ["0 0 * * * *", "6 fields"],
    ["60 * * * *", "minute 60 is outside 0-59"],
    ["0 24 * * *", "hour 24"],
    ["0 0 0 * *", "day of month 0"],
    ["0 0 * 13 *", "month 13"],
    ["0 0 * * 7", "Sunday is 0"],
    ["*/0 * * * *", "at least 1"],
    ["5-1 * * * *", "runs backwards"],
    ["1-2-3 * * * *", "more than one -"],
    ["1,,2 * * * *", "empty item"],
    ["0 0 * * funday", "not a day of week"],
    ["@every 5m", "unknown descriptor"],
    ["TZ=Europe/Paris 0 3 * * *", "time zone"],
  ] as const) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      const s = parseCron(bad);
      assert.ok("problem" in s && s.problem.includes(why), JSON.stringify(s));
    });
  }
});

describe("apps[].jobs config", () => {
  it("defaults: forbid overlaps, an hour's limit, small resources; no jobs unless configured", () => {
    const [job] = parseConfig(withJobs(clear), id).apps[0].jobs;
    assert.deepEqual([job.name, job.concurrency, job.timeLimitSeconds, job.resources], ["clear", "forbid", 3600, { cpuMillis: 250, memoryMiB: 256 }]);
    assert.deepEqual(job.command, ["python", "manage.py", "clearsessions"]);
    assert.deepEqual(parseConfig(apps({ name: "a" }), id).apps[0].jobs, []);
  });

  refuses([
    ["a bad schedule", withJobs({ ...clear, schedule: "0 25 * * *" }), "djangostack:apps[0].jobs[0].schedule", "hour 25 is outside 0-23"],
    ["a command as a string", withJobs({ ...clear, command: "python manage.py clearsessions" }), "djangostack:apps[0].jobs[0].command", "list of arguments"],
    ["an empty command", withJobs({ ...clear, command: [] }), "djangostack:apps[0].jobs[0].command", "non-empty list"],
    ["an unknown policy", withJobs({ ...clear, concurrency: "queue" }), "djangostack:apps[0].jobs[0].concurrency", "forbid"],
    ["no time limit", withJobs({ ...clear, timeLimit: 0 }), "djangostack:apps[0].jobs[0].timeLimit", "1"],
    ["a name with capitals", withJobs({ ...clear, name: "Clear" }), "djangostack:apps[0].jobs[0].name", "lowercase name"],
    ["two jobs of one name", withJobs(clear, { ...clear, schedule: "@hourly" }), "djangostack:apps[0].jobs[1].name", "unique within an app"],
    ["an unknown key", withJobs({ ...clear, retries: 3 }), "djangostack:apps[0].jobs[0].retries", "allowed keys of apps[0].jobs[0] are name, schedule, command"],
    ["21 jobs", withJobs(...Array.from({ length: 21 }, (_, i) => ({ ...clear, name: `j${i}` }))), "djangostack:apps[0].jobs", "at most 20"],
    // Job "x-web" of app "a" derives a-job-x-web, the web process of an app named a-job-x.
    ["a job whose process name another app derives", apps({ name: "a", jobs: [{ ...clear, name: "x-web" }] }, { name: "a-job-x", routes: ["/x/"] }), "djangostack:apps[1].name", 'app "a" job "x-web") derives it too'],
  ]);
  refuses(
    [
      ["no schedule", withJobs({ name: "x", command: ["true"] }), "djangostack:apps[0].jobs[0].schedule", "a job needs a schedule"],
      ["no command", withJobs({ name: "x", schedule: "@daily" }), "djangostack:apps[0].jobs[0].command", "a job needs a command"],
    ],
    { valueShown: false },
  );
});

describe("jobs in the model", () => {
  const model = (target: Raw) => buildModel(parseConfig({ ...withJobs(clear, { name: "report", schedule: "*/10 * * * *", command: ["python", "manage.py", "report"], concurrency: "replace", timeLimit: 300, resources: { memory: "512Mi" } }), ...target }, id));

  it("Kubernetes: a job process each, with its schedule, the app's env and the new image", () => {
    const m = model({ target: "kubernetes", domain: "example.com" });
    const jobs = m.processes.filter((p) => p.role === "job");
    assert.deepEqual(jobs.map((p) => [p.name, p.schedule]), [
      ["a-job-clear", { cron: "17 3 * * *", concurrency: "forbid", timeLimitSeconds: 3600 }],
      ["a-job-report", { cron: "*/10 * * * *", concurrency: "replace", timeLimitSeconds: 300 }],
    ]);
    const web = m.processes.find((p) => p.name === "a-web");
    // The web process alone adds its metrics endpoint's env (apps[].metrics).
    const webOnly = ["DJANGO_METRICS_PATH", "PROMETHEUS_MULTIPROC_DIR"];
    assert.deepEqual(jobs[0].env, Object.fromEntries(Object.entries(web?.env ?? {}).filter(([k]) => !webOnly.includes(k))));
    assert.deepEqual(jobs[0].image, { kind: "app", app: "a" });
    assert.ok(m.processes.find((p) => p.name === "a-migrate")?.runOnceBefore?.includes("a-job-report"), "jobs take the new image only after the migration");
    assert.equal(m.processes.some((p) => p.role === "scheduler"), false);
  });

  it("Docker: one scheduler per app, a singleton with room for every job at once, probed by its heartbeat", () => {
    const m = model({});
    assert.equal(m.processes.some((p) => p.role === "job"), false);
    const s = m.processes.find((p) => p.role === "scheduler");
    assert.equal(s?.name, "a-scheduler");
    assert.equal(s?.singleton, true);
    assert.deepEqual(s?.resources, { cpuMillis: 250, memoryMiB: 256 + 512 + 64 });
    assert.deepEqual(s?.command.slice(0, 4), ["python", "-I", "/etc/djangostack/scheduler/scheduler.py", "/etc/djangostack/scheduler/jobs.json"]);
    assert.ok(s?.health?.liveness?.kind === "exec" && s.health.liveness.command.join(" ").includes("/tmp/djangostack-scheduler.heartbeat"));
    assert.ok(m.processes.find((p) => p.name === "a-migrate")?.runOnceBefore?.includes("a-scheduler"));
  });
});

describe("jobs on the targets (offline engine)", () => {
  const extraConfig = {
    ...exactApps([{ name: "shop", build: "./app", routes: ["/"], jobs: [clear, { name: "sweep", schedule: "@hourly", command: ["python", "manage.py", "sweep"], concurrency: "allow", timeLimit: 120 }] }]),
  };
  let local: Evaluation;
  let production: Evaluation;
  before(async () => {
    local = await evaluateStack({ stack: "local", extraConfig });
    production = await evaluateStack({ stack: "production", extraConfig });
  });

  it("Docker: the scheduler container gets the script and the expanded table, runs under tini, waits for the migration and the new web", () => {
    const container = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-scheduler"));
    assert.ok(container, "no scheduler container");
    const uploads = container.inputs.uploads as { file: string; content: string }[];
    const table = JSON.parse(uploads.find((u) => u.file === "/etc/djangostack/scheduler/jobs.json")?.content ?? "{}");
    assert.deepEqual(table.jobs.map((j: { name: string; schedule: { minutes: number[]; hours: number[] } }) => [j.name, j.schedule.minutes, j.schedule.hours.length]), [["clear", [17], 1], ["sweep", [0], 24]]);
    assert.ok(uploads.find((u) => u.file === "/etc/djangostack/scheduler/scheduler.py")?.content.includes("def matches("));
    assert.equal(container.inputs.init, true);
    assert.equal(container.inputs.restart, "unless-stopped");
    assert.equal(container.inputs.name, "djangostack-local-shop-scheduler", "a fixed name: replaced delete-first, never two at once");
    assert.equal(container.options.deleteBeforeReplace, true);
    const run = local.engine.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-shop-migrate-run"));
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-web"));
    assert.ok(run && web && container.options.dependsOn.includes(run.name) && container.options.dependsOn.includes(web.name), container.options.dependsOn.join(", "));
    const mounts = (container.inputs.volumes as { containerPath: string }[]).map((v) => v.containerPath);
    assert.deepEqual(mounts, ["/srv/media"]);
  });

  it("Kubernetes: a CronJob per job, UTC, its policy and deadline, no retry, bounded history, the hardened pod behind the migration gate", () => {
    const cron = production.engine.resources.filter((r) => r.type === "kubernetes:batch/v1:CronJob");
    assert.deepEqual(cron.map((r) => (r.inputs.metadata as { name: string }).name), ["shop-job-clear", "shop-job-sweep"]);
    type CronSpec = {
      schedule: string; timeZone: string; concurrencyPolicy: string; startingDeadlineSeconds: number; successfulJobsHistoryLimit: number; failedJobsHistoryLimit: number;
      jobTemplate: { spec: { backoffLimit: number; activeDeadlineSeconds: number; template: { spec: { restartPolicy: string; automountServiceAccountToken: boolean; securityContext: { runAsNonRoot: boolean }; initContainers?: { name: string }[]; containers: { command: string[]; readinessProbe?: unknown; securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } } }[] } } } };
    };
    const [a, b] = cron.map((r) => r.inputs.spec as CronSpec);
    assert.deepEqual([a.schedule, a.timeZone, a.concurrencyPolicy, a.startingDeadlineSeconds, a.successfulJobsHistoryLimit, a.failedJobsHistoryLimit], ["17 3 * * *", "Etc/UTC", "Forbid", 300, 3, 3]);
    assert.deepEqual([b.schedule, b.concurrencyPolicy, b.jobTemplate.spec.activeDeadlineSeconds], ["@hourly", "Allow", 120]);
    const job = a.jobTemplate.spec;
    assert.deepEqual([job.backoffLimit, job.activeDeadlineSeconds, job.template.spec.restartPolicy], [0, 3600, "Never"]);
    const pod = job.template.spec;
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const [main] = pod.containers;
    assert.deepEqual(main.command, ["python", "manage.py", "clearsessions"]);
    assert.equal(main.readinessProbe, undefined);
    assert.deepEqual([main.securityContext.readOnlyRootFilesystem, main.securityContext.allowPrivilegeEscalation, main.securityContext.capabilities.drop], [true, false, ["ALL"]]);
    assert.deepEqual(pod.initContainers?.map((c) => c.name), ["migrations-applied"]);
    const migration = production.engine.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.endsWith("-shop-migrate"));
    assert.ok(migration && cron[0].options.dependsOn.includes(migration.name));
  });

  it("Kubernetes: job pods may reach the data services and the internet like the app's other pods", () => {
    const policies = production.engine.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const selecting = policies.filter((r) => JSON.stringify((r.inputs.spec as { podSelector: unknown }).podSelector).includes('"job"')).map((r) => r.name);
    assert.ok(selecting.some((n) => n.endsWith("apps-to-data")) && selecting.some((n) => n.endsWith("apps-to-internet")), selecting.join(", "));
    const dataIngress = policies.filter((r) => /-(postgres|redis|rabbitmq)-ingress$/.test(r.name));
    assert.ok(dataIngress.length > 0, policies.map((r) => r.name).join(", "));
    for (const r of dataIngress) assert.ok(JSON.stringify(r.inputs.spec).includes('"job"'), `${r.name} does not admit job pods`);
  });
});
