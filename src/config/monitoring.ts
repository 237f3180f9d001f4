/**
 * `djangostack:monitoring` and `apps[].metrics`: the Prometheus metrics of the apps (their web
 * process's endpoint) and of the services the stack runs (exporters), and on Kubernetes the
 * Prometheus operator's objects. Read once here; every other module gets `MonitoringConfig`.
 */
import { Checker, Raw } from "./checker";
import { AppConfig, AppMetrics, MonitoringConfig, Target } from "./types";

export const MONITORING_KEYS = ["enabled", "exporters", "prometheusOperator", "namespace", "labels"] as const;
export const APP_METRICS_KEYS = ["enabled", "path", "port"] as const;
export const DEFAULT_METRICS_PATH = "/metrics";
export const DEFAULT_MONITORING_NAMESPACE = "monitoring";

/** The edge denies it as an exact path and a tree (src/render/nginx.ts), so no trailing slash. */
const METRICS_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
const NAMESPACE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A label key (optional DNS prefix, then a name) and value, as Kubernetes accepts them. */
const LABEL_KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/** `apps[<i>].metrics`: on by default at /metrics on the app's own port. */
export function parseAppMetrics(c: Checker, path: string, value: unknown, appPort: number): AppMetrics | undefined {
  const raw = c.object(path, value, APP_METRICS_KEYS);
  const enabled = c.bool(`${path}.enabled`, raw.enabled, true);
  const metrics: AppMetrics = {
    path: c.string(`${path}.path`, raw.path, DEFAULT_METRICS_PATH, METRICS_PATH, 'a URL path such as "/metrics" (segments of letters, digits and . _ ~ -, no trailing slash)'),
    port: c.int(`${path}.port`, raw.port, appPort, { min: 1, max: 65535 }),
  };
  return enabled ? metrics : undefined;
}

/**
 * Reads `monitoring` after the apps: with monitoring off no app serves metrics. The operator's objects
 * exist only on Kubernetes; asking for them on another target is refused rather than ignored.
 */
export function parseMonitoring(c: Checker, value: unknown, target: Target, apps: AppConfig[]): MonitoringConfig {
  const raw: Raw = c.object("monitoring", value, MONITORING_KEYS);
  const enabled = c.bool("monitoring.enabled", raw.enabled, true);
  const prometheusOperator = c.bool("monitoring.prometheusOperator", raw.prometheusOperator, false);
  if (prometheusOperator && target !== "kubernetes") {
    c.fail("monitoring.prometheusOperator", true, `only on target "kubernetes" (target is "${target}"): PodMonitors and PrometheusRules are objects of a cluster's Prometheus operator; scrape the exporters from a Prometheus on the stack's network instead (docs/monitoring.md)`);
  }
  if (prometheusOperator && !enabled) c.fail("monitoring.prometheusOperator", true, "needs monitoring.enabled: true (there is nothing to scrape)");
  const labels = c.stringMap("monitoring.labels", raw.labels, LABEL_KEY, "Kubernetes label keys such as release");
  for (const [k, v] of Object.entries(labels)) if (!LABEL_VALUE.test(v)) c.fail(`monitoring.labels.${k}`, v, "a Kubernetes label value: up to 63 letters, digits and . _ -, starting and ending with a letter or digit");
  if (!enabled) for (const app of apps) delete app.metrics;
  return {
    enabled,
    exporters: c.bool("monitoring.exporters", raw.exporters, enabled) && enabled,
    prometheusOperator,
    namespace: c.string("monitoring.namespace", raw.namespace, DEFAULT_MONITORING_NAMESPACE, NAMESPACE_NAME, "a Kubernetes namespace name: lowercase letters, digits and inner hyphens"),
    labels,
  };
}
