/**
 * `djangostack:monitoring` and `apps[].metrics`: defaults, the per-app endpoint, and the operator's
 * objects refused on targets without a cluster, each bad input naming the key and what is allowed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { BadInput, droplet, id, refuses } from "./config-helpers";

const onK8s = (extra: Raw = {}): Raw => ({ target: "kubernetes", domain: "example.com", ...extra });

describe("monitoring config: defaults", () => {
  it("serves each app's metrics at /metrics on its own port and runs the exporters; the operator is off", () => {
    const config = parseConfig({ apps: [{ port: 8100 }] }, id);
    assert.deepEqual(config.monitoring, { enabled: true, exporters: true, prometheusOperator: false, namespace: "monitoring", labels: {} });
    assert.deepEqual(config.apps[0].metrics, { path: "/metrics", port: 8100 });
  });

  it("takes an app's own path and port, and an app may serve none", () => {
    const config = parseConfig({ apps: [{ name: "a", routes: ["/a/"], metrics: { path: "/internal/prom", port: 9100 } }, { name: "b", routes: ["/"], metrics: { enabled: false } }] }, id);
    assert.deepEqual(config.apps[0].metrics, { path: "/internal/prom", port: 9100 });
    assert.equal(config.apps[1].metrics, undefined);
  });

  it("monitoring.enabled false turns off every endpoint and the exporters", () => {
    const config = parseConfig({ monitoring: { enabled: false } }, id);
    assert.equal(config.apps[0].metrics, undefined);
    assert.equal(config.monitoring.exporters, false);
  });

  it("the operator's objects on Kubernetes, with the labels its selectors want and another Prometheus namespace", () => {
    const m = parseConfig(onK8s({ monitoring: { prometheusOperator: true, namespace: "observability", labels: { release: "kube-prometheus-stack" } } }), id).monitoring;
    assert.deepEqual(m, { enabled: true, exporters: true, prometheusOperator: true, namespace: "observability", labels: { release: "kube-prometheus-stack" } });
  });
});

describe("monitoring config: refused", () => {
  const cases: BadInput[] = [
    ["the operator on target docker", { monitoring: { prometheusOperator: true } }, "djangostack:monitoring.prometheusOperator", 'only on target "kubernetes"'],
    ["the operator on a Droplet", { target: "droplet", droplet, monitoring: { prometheusOperator: true } }, "djangostack:monitoring.prometheusOperator", 'only on target "kubernetes"'],
    ["the operator with monitoring off", onK8s({ monitoring: { enabled: false, prometheusOperator: true } }), "djangostack:monitoring.prometheusOperator", "needs monitoring.enabled"],
    ["a namespace that is no DNS label", onK8s({ monitoring: { namespace: "Monitoring_NS" } }), "djangostack:monitoring.namespace", "Kubernetes namespace name"],
    ["a label value with a space", onK8s({ monitoring: { labels: { release: "kube prometheus" } } }), "djangostack:monitoring.labels.release", "Kubernetes label value"],
    ["a metrics path with a trailing slash", { apps: [{ metrics: { path: "/metrics/" } }] }, "djangostack:apps[0].metrics.path", '"/metrics"'],
    ["a metrics port out of range", { apps: [{ metrics: { port: 70000 } }] }, "djangostack:apps[0].metrics.port", "65535"],
    ["a metrics path over the app's routes", { apps: [{ routes: ["/api/"], metrics: { path: "/api" } }] }, "djangostack:apps[0].routes[0]", 'lies under apps[0].metrics.path ("/api")'],
    ["a health path on the metrics path", { apps: [{ healthPath: "/metrics/health/" }], edge: { denyPaths: [] } }, "djangostack:apps[0].healthPath", "metrics are never public"],
    ["an unknown monitoring key", { monitoring: { grafana: true } }, "djangostack:monitoring.grafana", "prometheusOperator"],
  ];
  refuses(cases);
});
