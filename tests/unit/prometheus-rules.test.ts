/**
 * The PrometheusRule the production stack registers (monitoring.prometheusOperator), run through
 * Debian's promtool (prometheus 2.42): `promtool check rules` on its groups, and `promtool test rules`
 * proving each alert fires on series that should trigger it and stays silent on series that should
 * not (a healthy app beside the failing one, a finished Job's pod, another CronJob's failed Job).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { evaluateStack } from "../../src/offline/render";
import { RuleGroup } from "../../src/render/prometheus";
import { requireBinary } from "../helpers/executables";
import { withTempFile } from "../helpers/tempfile";

const PROMTOOL = requireBinary("/usr/bin/promtool", "prometheus");
const NS = "shop";

let groups: RuleGroup[];

before(async () => {
  // In-cluster PostgreSQL: the backup CronJob exists, so the backup alert is rendered too.
  const e = await evaluateStack({ stack: "production", extraConfig: { "djangostack:data": { postgres: { mode: "container" } }, "djangostack:monitoring": { prometheusOperator: true } } });
  const rule = e.engine.resources.find((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
  assert.ok(rule, "the stack registers a PrometheusRule");
  groups = (rule.inputs.spec as { groups: RuleGroup[] }).groups;
});

function promtool(args: string[], files: Record<string, string>): { status: number | null; out: string } {
  return withTempFile("djs-promtool-", "rules.yaml", YAML.stringify({ groups }), (rules, dir) => {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const r = spawnSync(PROMTOOL, [...args.map((a) => a.replace("{rules}", rules).replace("{dir}", dir))], { encoding: "utf8", cwd: dir });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  });
}

const stackLabels = { djangostack_stack: "production" };

/** One promtool unit test: series, then the alerts expected at a time (every label; annotations as rendered). */
interface AlertCase {
  name: string;
  series: [string, string][];
  at: string;
  alert: string;
  expect: { labels: Record<string, string>; annotations: Record<string, string> }[];
}

const bucketSeries = (app: string, counts: Record<string, number>, minutes: number): [string, string][] =>
  Object.entries(counts).map(([le, perMinute]) => [`django_http_request_duration_seconds_bucket{namespace="${NS}", app="${app}", view="v", method="GET", le="${le}"}`, `0+${perMinute}x${minutes}`]);

const CASES: AlertCase[] = [
  {
    name: "5xx over 5 % for web, 1 % for api",
    series: [
      [`django_http_requests_total{namespace="${NS}", app="web", view="v", method="GET", status="500"}`, "0+6x20"],
      [`django_http_requests_total{namespace="${NS}", app="web", view="v", method="GET", status="200"}`, "0+54x20"],
      [`django_http_requests_total{namespace="${NS}", app="api", view="v", method="GET", status="500"}`, "0+1x20"],
      [`django_http_requests_total{namespace="${NS}", app="api", view="v", method="GET", status="200"}`, "0+99x20"],
    ],
    at: "15m",
    alert: "DjangostackHighErrorRate",
    expect: [
      {
        labels: { severity: "critical", namespace: NS, app: "web", ...stackLabels },
        annotations: { summary: "web: more than 5 % of requests fail", description: `web in ${NS} answered 10% of its requests with a 5xx over the last 5 minutes.` },
      },
    ],
  },
  {
    name: "p95 past 2 s for web, under it for api",
    series: [...bucketSeries("web", { "0.5": 10, "2": 50, "2.5": 60, "+Inf": 100 }, 30), ...bucketSeries("api", { "0.5": 98, "2": 100, "2.5": 100, "+Inf": 100 }, 30)],
    at: "20m",
    alert: "DjangostackHighLatency",
    expect: [{ labels: { severity: "warning", namespace: NS, app: "web", ...stackLabels }, annotations: { summary: "web: p95 latency over 2 s", description: `95 % of web's requests in ${NS} took up to 2.5s.` } }],
  },
  {
    name: "a running pod not ready; a finished Job's pod is not one",
    series: [
      [`kube_pod_status_ready{namespace="${NS}", pod="web-web-1", condition="false"}`, "1x20"],
      [`kube_pod_status_phase{namespace="${NS}", pod="web-web-1", phase="Running"}`, "1x20"],
      [`kube_pod_status_ready{namespace="${NS}", pod="web-migrate-abc", condition="false"}`, "1x20"],
      [`kube_pod_status_phase{namespace="${NS}", pod="web-migrate-abc", phase="Running"}`, "0x20"],
      [`kube_pod_status_phase{namespace="${NS}", pod="web-migrate-abc", phase="Succeeded"}`, "1x20"],
    ],
    at: "15m",
    alert: "DjangostackPodNotReady",
    expect: [{ labels: { severity: "warning", namespace: NS, pod: "web-web-1", ...stackLabels }, annotations: { summary: "web-web-1 is not ready", description: `Pod web-web-1 in ${NS} has not been ready for 10 minutes.` } }],
  },
  {
    name: "database connection errors in web, none in api",
    series: [
      [`django_db_connection_errors_total{namespace="${NS}", app="web"}`, "0+1x20"],
      [`django_db_connection_errors_total{namespace="${NS}", app="api"}`, "0x20"],
    ],
    at: "12m",
    alert: "DjangostackDatabaseConnectionErrors",
    expect: [{ labels: { severity: "critical", namespace: NS, app: "web", ...stackLabels }, annotations: { summary: "web cannot reach its database", description: `web in ${NS} counted 5 database connection errors in 5 minutes.` } }],
  },
  {
    name: "a container at 95 % of its memory limit; another at 50 %",
    series: [
      [`container_memory_working_set_bytes{namespace="${NS}", pod="web-web-1", container="web", id="/a"}`, "950x20"],
      [`kube_pod_container_resource_limits{namespace="${NS}", pod="web-web-1", container="web", resource="memory", unit="byte"}`, "1000x20"],
      [`container_memory_working_set_bytes{namespace="${NS}", pod="web-worker-1", container="worker", id="/b"}`, "500x20"],
      [`kube_pod_container_resource_limits{namespace="${NS}", pod="web-worker-1", container="worker", resource="memory", unit="byte"}`, "1000x20"],
    ],
    at: "15m",
    alert: "DjangostackMemoryNearLimit",
    expect: [
      {
        labels: { severity: "warning", namespace: NS, pod: "web-web-1", container: "web", ...stackLabels },
        annotations: { summary: "web-web-1/web uses over 90 % of its memory limit", description: `web in web-web-1 (${NS}) is at 95% of its memory limit; past it the kernel kills it.` },
      },
    ],
  },
  {
    name: "a Celery queue backing up; another nearly empty",
    series: [
      [`celery_queue_length{namespace="${NS}", queue_name="celery"}`, "500x20"],
      [`celery_queue_length{namespace="${NS}", queue_name="emails"}`, "3x20"],
    ],
    at: "15m",
    alert: "DjangostackCeleryQueueBacklog",
    expect: [
      {
        labels: { severity: "warning", namespace: NS, queue_name: "celery", ...stackLabels },
        annotations: { summary: "Celery queue celery is backing up", description: `500 messages wait in celery (${NS}) for 10 minutes: too few workers, or they are stuck.` },
      },
    ],
  },
  {
    name: "a failed Job of the backup CronJob; another CronJob's failed Job and a succeeded backup are not",
    series: [
      [`kube_job_status_failed{namespace="${NS}", job_name="backup-29012345", reason="BackoffLimitExceeded"}`, "1x10"],
      [`kube_job_owner{namespace="${NS}", job_name="backup-29012345", owner_kind="CronJob", owner_name="backup", owner_is_controller="true"}`, "1x10"],
      [`kube_job_status_failed{namespace="${NS}", job_name="backup-29011000"}`, "0x10"],
      [`kube_job_owner{namespace="${NS}", job_name="backup-29011000", owner_kind="CronJob", owner_name="backup", owner_is_controller="true"}`, "1x10"],
      [`kube_job_status_failed{namespace="${NS}", job_name="web-job-report-29012345", reason="DeadlineExceeded"}`, "1x10"],
      [`kube_job_owner{namespace="${NS}", job_name="web-job-report-29012345", owner_kind="CronJob", owner_name="web-job-report", owner_is_controller="true"}`, "1x10"],
    ],
    at: "5m",
    alert: "DjangostackBackupFailed",
    expect: [
      {
        labels: { severity: "critical", namespace: NS, owner_name: "backup", job_name: "backup-29012345", ...stackLabels },
        annotations: {
          summary: "Scheduled backup backup failed",
          description: `Job backup-29012345 of CronJob backup in ${NS} failed: kubectl logs job/backup-29012345 -n ${NS} (docs/backups.md).`,
        },
      },
    ],
  },
];

function unitTests(cases: AlertCase[]): string {
  return YAML.stringify({
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: cases.map((c) => ({
      name: c.name,
      interval: "1m",
      input_series: c.series.map(([series, values]) => ({ series, values })),
      alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: c.expect.map((e) => ({ exp_labels: e.labels, exp_annotations: e.annotations })) }],
    })),
  });
}

describe("the PrometheusRule under promtool (Debian prometheus 2.42)", () => {
  it("passes promtool check rules", () => {
    const r = promtool(["check", "rules", "{rules}"], {});
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS: 7 rules found/);
  });

  it("has one alert per seed 003 item and the failed backup, each with a severity", () => {
    assert.deepEqual(
      groups.flatMap((g) => g.rules.map((r) => r.alert)),
      ["DjangostackHighErrorRate", "DjangostackHighLatency", "DjangostackPodNotReady", "DjangostackDatabaseConnectionErrors", "DjangostackMemoryNearLimit", "DjangostackCeleryQueueBacklog", "DjangostackBackupFailed"],
    );
    for (const r of groups.flatMap((g) => g.rules)) assert.match(r.labels.severity, /^(warning|critical)$/, r.alert);
    for (const r of groups.flatMap((g) => g.rules)) assert.match(r.expr, new RegExp(`namespace="${NS}"`), `${r.alert} reads the stack's namespace only`);
  });

  it("passes promtool test rules: every alert fires on its failing series and only there", () => {
    const r = promtool(["test", "rules", "{dir}/tests.yaml"], { "tests.yaml": unitTests(CASES) });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it("is not a rubber stamp: an alert expected where its series are healthy fails promtool", () => {
    const healthy = { ...CASES[0], series: CASES[0].series.filter(([s]) => s.includes('app="api"')) };
    const r = promtool(["test", "rules", "{dir}/tests.yaml"], { "tests.yaml": unitTests([healthy]) });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /FAILED/);
  });
});
