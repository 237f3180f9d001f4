/**
 * The Prometheus alerting rules and the Grafana dashboard of a Kubernetes stack, as plain data (pure):
 * the PrometheusRule's spec and the dashboard's JSON. The alerts are seed 003's (error rate over 5 %,
 * p95 latency over 2 s, pods not ready, database connection errors, memory over 90 %, Celery queue
 * backlog) and a failed scheduled backup. `promtool check rules` and `promtool test rules` run on the
 * rendered groups in tests/unit/prometheus-rules.test.ts.
 *
 * Series they read: the apps' own (app/core/metrics.py: django_http_requests_total,
 * django_http_request_duration_seconds, django_db_connection_errors_total, each with the `app` label
 * the PodMonitor copies from the pod), celery-exporter's celery_queue_length{queue_name}, and what a
 * kube-prometheus-stack already scrapes: kube-state-metrics (kube_pod_status_ready,
 * kube_pod_status_phase, kube_pod_container_resource_limits, kube_job_status_failed, kube_job_owner)
 * and the kubelet's cAdvisor (container_memory_working_set_bytes).
 */

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export interface AlertInput {
  /** The stack's namespace: every expression reads that namespace only. */
  namespace: string;
  stack: string;
  /** The backup CronJobs (src/components/targets/kubernetes/backup.ts); none: no backup alert. */
  backupCronJobs: string[];
  /** A Celery exporter runs (an app with workers on a deployed broker). */
  celery: boolean;
}

/** Thresholds, from seed 003's list; the backlog is ours (a queue that grows for 10 minutes has too few workers). */
export const ALERT_THRESHOLDS = { errorRatio: 0.05, p95Seconds: 2, memoryRatio: 0.9, queueBacklog: 100 } as const;

const LABEL_VALUE = /^[A-Za-z0-9._-]+$/;

function quoted(value: string): string {
  if (!LABEL_VALUE.test(value)) throw new Error(`prometheus rules: ${JSON.stringify(value)} is not a plain label value`);
  return `"${value}"`;
}

/** The rule groups of the stack's PrometheusRule. */
export function alertGroups(input: AlertInput): RuleGroup[] {
  const ns = `namespace=${quoted(input.namespace)}`;
  const rule = (alert: string, expr: string, forDuration: string, severity: "warning" | "critical", summary: string, description: string): AlertRule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity, djangostack_stack: input.stack },
    annotations: { summary, description },
  });
  const t = ALERT_THRESHOLDS;
  const rules: AlertRule[] = [
    rule(
      "DjangostackHighErrorRate",
      `sum by (namespace, app) (rate(django_http_requests_total{${ns}, status=~"5.."}[5m])) / sum by (namespace, app) (rate(django_http_requests_total{${ns}}[5m])) > ${t.errorRatio}`,
      "5m",
      "critical",
      "{{ $labels.app }}: more than 5 % of requests fail",
      "{{ $labels.app }} in {{ $labels.namespace }} answered {{ $value | humanizePercentage }} of its requests with a 5xx over the last 5 minutes.",
    ),
    rule(
      "DjangostackHighLatency",
      `histogram_quantile(0.95, sum by (namespace, app, le) (rate(django_http_request_duration_seconds_bucket{${ns}}[5m]))) > ${t.p95Seconds}`,
      "10m",
      "warning",
      "{{ $labels.app }}: p95 latency over 2 s",
      "95 % of {{ $labels.app }}'s requests in {{ $labels.namespace }} took up to {{ $value | humanizeDuration }}.",
    ),
    // Running or Pending and not Ready; a Job's finished pod (Succeeded, Failed) is not a pod that should be.
    rule(
      "DjangostackPodNotReady",
      `max by (namespace, pod) (kube_pod_status_ready{${ns}, condition="false"} == 1) and on (namespace, pod) max by (namespace, pod) (kube_pod_status_phase{${ns}, phase=~"Running|Pending"} == 1)`,
      "10m",
      "warning",
      "{{ $labels.pod }} is not ready",
      "Pod {{ $labels.pod }} in {{ $labels.namespace }} has not been ready for 10 minutes.",
    ),
    rule(
      "DjangostackDatabaseConnectionErrors",
      `sum by (namespace, app) (increase(django_db_connection_errors_total{${ns}}[5m])) > 0`,
      "5m",
      "critical",
      "{{ $labels.app }} cannot reach its database",
      "{{ $labels.app }} in {{ $labels.namespace }} counted {{ $value }} database connection errors in 5 minutes.",
    ),
    rule(
      "DjangostackMemoryNearLimit",
      `max by (namespace, pod, container) (container_memory_working_set_bytes{${ns}, container!="", container!="POD"}) / max by (namespace, pod, container) (kube_pod_container_resource_limits{${ns}, resource="memory"}) > ${t.memoryRatio}`,
      "10m",
      "warning",
      "{{ $labels.pod }}/{{ $labels.container }} uses over 90 % of its memory limit",
      "{{ $labels.container }} in {{ $labels.pod }} ({{ $labels.namespace }}) is at {{ $value | humanizePercentage }} of its memory limit; past it the kernel kills it.",
    ),
  ];
  if (input.celery) {
    rules.push(
      rule(
        "DjangostackCeleryQueueBacklog",
        `max by (namespace, queue_name) (celery_queue_length{${ns}}) > ${t.queueBacklog}`,
        "10m",
        "warning",
        "Celery queue {{ $labels.queue_name }} is backing up",
        "{{ $value }} messages wait in {{ $labels.queue_name }} ({{ $labels.namespace }}) for 10 minutes: too few workers, or they are stuck.",
      ),
    );
  }
  if (input.backupCronJobs.length > 0) {
    for (const job of input.backupCronJobs) quoted(job);
    const owners = input.backupCronJobs.join("|");
    rules.push(
      // A Job the CronJob created (kube_job_owner, which names the CronJob) with a failed pod; backoffLimit 0,
      // so one failure fails the run. `reason` (kube-state-metrics 2.x) may split the failures: max merges them.
      // The failed Job is kept (failedJobsHistoryLimit), so the alert holds until the next run succeeds and replaces it.
      rule(
        "DjangostackBackupFailed",
        `max by (namespace, owner_name, job_name) ((kube_job_status_failed{${ns}} > 0) * on (namespace, job_name) group_left (owner_name) max by (namespace, job_name, owner_name) (kube_job_owner{${ns}, owner_kind="CronJob", owner_name=~"${owners}"}))`,
        "0m",
        "critical",
        "Scheduled backup {{ $labels.owner_name }} failed",
        "Job {{ $labels.job_name }} of CronJob {{ $labels.owner_name }} in {{ $labels.namespace }} failed: kubectl logs job/{{ $labels.job_name }} -n {{ $labels.namespace }} (docs/backups.md).",
      ),
    );
  }
  return [{ name: `djangostack-${input.stack}`, rules }];
}

interface Panel {
  title: string;
  unit: string;
  exprs: { expr: string; legend: string }[];
}

/** A Grafana dashboard (schema 39) of the stack's namespace, on a selectable Prometheus data source. */
export function grafanaDashboard(namespace: string, stack: string): string {
  const ns = `namespace=${quoted(namespace)}`;
  const panels: Panel[] = [
    { title: "Requests per second", unit: "reqps", exprs: [{ expr: `sum by (app, status) (rate(django_http_requests_total{${ns}}[5m]))`, legend: "{{app}} {{status}}" }] },
    {
      title: "5xx ratio",
      unit: "percentunit",
      exprs: [{ expr: `sum by (app) (rate(django_http_requests_total{${ns}, status=~"5.."}[5m])) / sum by (app) (rate(django_http_requests_total{${ns}}[5m]))`, legend: "{{app}}" }],
    },
    { title: "p95 latency", unit: "s", exprs: [{ expr: `histogram_quantile(0.95, sum by (app, le) (rate(django_http_request_duration_seconds_bucket{${ns}}[5m])))`, legend: "{{app}}" }] },
    { title: "Database connection errors", unit: "short", exprs: [{ expr: `sum by (app) (increase(django_db_connection_errors_total{${ns}}[5m]))`, legend: "{{app}}" }] },
    {
      title: "Memory of limit",
      unit: "percentunit",
      exprs: [
        {
          expr: `max by (pod, container) (container_memory_working_set_bytes{${ns}, container!="", container!="POD"}) / max by (pod, container) (kube_pod_container_resource_limits{${ns}, resource="memory"})`,
          legend: "{{pod}}/{{container}}",
        },
      ],
    },
    { title: "Celery queue length", unit: "short", exprs: [{ expr: `max by (queue_name) (celery_queue_length{${ns}})`, legend: "{{queue_name}}" }] },
    { title: "Pods not ready", unit: "short", exprs: [{ expr: `sum(kube_pod_status_ready{${ns}, condition="false"})`, legend: "not ready" }] },
    { title: "nginx connections", unit: "short", exprs: [{ expr: `sum by (pod) (nginx_connections_active{${ns}})`, legend: "{{pod}}" }] },
  ];
  const datasource = { type: "prometheus", uid: "${datasource}" };
  const dashboard = {
    uid: `djangostack-${stack}`.slice(0, 40),
    title: `djangostack ${stack}`,
    tags: ["djangostack"],
    timezone: "utc",
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus" }] },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      datasource,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.exprs.map((e, j) => ({ refId: String.fromCharCode(65 + j), datasource, expr: e.expr, legendFormat: e.legend })),
    })),
  };
  return JSON.stringify(dashboard, null, 2) + "\n";
}
