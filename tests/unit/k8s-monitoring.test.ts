/**
 * Monitoring on Kubernetes under the offline engine (mocks): the exporters hardened like every pod
 * and pinned, nginx's exporter a sidecar of each nginx pod, NetworkPolicies that admit Prometheus to
 * the metrics ports and nothing else, and with monitoring.prometheusOperator the PodMonitors,
 * PrometheusRule and Grafana dashboard ConfigMap (their shape against the operator's CRDs is
 * tests/unit/k8s-schema.test.ts; the rules under promtool, tests/unit/prometheus-rules.test.ts).
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { containsSecret } from "../../src/offline/secret";
import { GRAFANA_DASHBOARD_LABEL, MONITORING_API } from "../../src/components/targets/kubernetes/monitoring";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";

type Obj = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  securityContext: Obj;
  livenessProbe?: { httpGet?: { port: number; path: string } };
}
interface Rule {
  from?: { namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: Obj; ipBlock?: Obj }[];
  ports?: { port: number }[];
}

const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
const meta = (r: RecordedResource) => (r.inputs.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string> };
const named = (e: Evaluation, type: string, name: string): RecordedResource => {
  const found = ofType(e, type).filter((r) => meta(r).name === name);
  assert.equal(found.length, 1, `one ${type} ${name}, found ${found.length}`);
  return found[0];
};
const spec = (r: RecordedResource) => r.inputs.spec as Obj;
const containers = (r: RecordedResource) => ((spec(r).template as Obj).spec as { containers: Container[] }).containers;
const DEPLOY = "kubernetes:apps/v1:Deployment";
const NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const PODMON = `kubernetes:${MONITORING_API}:PodMonitor`;
const RULE = `kubernetes:${MONITORING_API}:PrometheusRule`;
const CM = "kubernetes:core/v1:ConfigMap";

/** Every ingress rule of the stack that admits pods of another namespace, as [policy, ports]. */
function fromNamespaces(e: Evaluation): [string, string, number[]][] {
  return ofType(e, NETPOL).flatMap((p) =>
    ((spec(p).ingress ?? []) as Rule[]).flatMap((rule) =>
      (rule.from ?? []).filter((f) => f.namespaceSelector).map((f): [string, string, number[]] => [meta(p).name ?? "", f.namespaceSelector?.matchLabels["kubernetes.io/metadata.name"] ?? "", (rule.ports ?? []).map((x) => x.port)]),
    ),
  );
}

describe("monitoring on Kubernetes (operator off: the default)", () => {
  let e: Evaluation;
  before(async () => {
    e = await evaluateStack({ stack: "production" });
  });

  it("admits monitoring.namespace to each metrics port and to nothing else", () => {
    assert.deepEqual(fromNamespaces(e).sort(), [
      ["nginx-exporter-scrape", "monitoring", [9113]],
      ["rabbitmq-scrape", "monitoring", [15692]],
      ["web-celery-exporter-scrape", "monitoring", [9808]],
      ["web-web-scrape", "monitoring", [8000]],
    ]);
  });

  it("runs nginx's exporter beside nginx in each pod, reading stub_status on the pod's loopback", () => {
    const [nginx, sidecar, ...more] = containers(named(e, DEPLOY, "nginx"));
    assert.equal(nginx.name, "nginx");
    assert.deepEqual(more, []);
    assert.equal(sidecar.name, "nginx-exporter");
    assert.deepEqual(sidecar.args, ["--nginx.scrape-uri=http://127.0.0.1:8081/stub_status"]);
    assert.deepEqual(sidecar.ports?.map((p) => [p.name, p.containerPort]), [["metrics", 9113]]);
    assert.deepEqual(nginx.ports?.map((p) => p.containerPort), [8080], "the status port is declared nowhere: the Service and the load balancer never see it");
  });

  it("runs the Celery exporter hardened like every pod, pinned, with its broker URL from a Secret only", () => {
    const d = named(e, DEPLOY, "web-celery-exporter");
    const [c] = containers(d);
    assert.match(c.image, /^danihodovic\/celery-exporter:0\.12\.0@sha256:[0-9a-f]{64}$/);
    assert.deepEqual(c.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(c.env?.map((v) => [v.name, v.valueFrom?.secretKeyRef?.key]), [["CE_BROKER_URL", "CE_BROKER_URL"]]);
    assert.deepEqual(c.args, ["--queues", "celery,emails"], "every pool's queue, reported before a worker says it consumes them");
    assert.equal(c.livenessProbe?.httpGet?.port, 9808);
    assert.equal(((spec(d).template as Obj).spec as Obj).automountServiceAccountToken, false);
    const egress = named(e, NETPOL, "web-celery-exporter-egress");
    assert.deepEqual((spec(egress).egress as Rule[]).map((r) => r.ports?.map((p) => p.port)), [[5672]], "the exporter reaches the broker's AMQP port only");
  });

  it("serves the app's metrics on its own port and RabbitMQ's on the plugin's", () => {
    const [web] = containers(named(e, DEPLOY, "web-web"));
    assert.deepEqual(web.ports?.map((p) => [p.name, p.containerPort]), [["http", 8000]]);
    const rabbit = containers(named(e, "kubernetes:apps/v1:StatefulSet", "rabbitmq"))[0];
    assert.ok(rabbit.ports?.some((p) => p.name === "metrics" && p.containerPort === 15692));
    const rabbitConf = ofType(e, CM).find((c) => Object.keys((c.inputs.data ?? {}) as Obj).includes("10-djangostack.conf"));
    assert.match(String((rabbitConf?.inputs.data as Obj)["10-djangostack.conf"]), /^prometheus\.tcp\.port = 15692$/m);
    assert.deepEqual(ofType(e, PODMON), [], "no operator objects without monitoring.prometheusOperator");
    assert.deepEqual(ofType(e, RULE), []);
  });
});

describe("monitoring on Kubernetes with the Prometheus operator and in-cluster data", () => {
  let e: Evaluation;
  before(async () => {
    e = await evaluateStack({
      stack: "production",
      extraConfig: {
        "djangostack:data": { postgres: { mode: "container" }, redis: { mode: "container" } },
        "djangostack:monitoring": { prometheusOperator: true, namespace: "observability", labels: { release: "kube-prometheus-stack" } },
      },
    });
  });

  it("has a PodMonitor per scrape target, labelled for the operator's selector, naming the app on every series", () => {
    const monitors = ofType(e, PODMON).map((m) => {
      const s = spec(m) as { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string; relabelings: Obj[] }[] };
      return [meta(m).name, s.selector.matchLabels["app.kubernetes.io/name"], s.podMetricsEndpoints[0].port, s.podMetricsEndpoints[0].path];
    });
    assert.deepEqual(monitors.sort(), [
      ["nginx-exporter", "nginx", "metrics", "/metrics"],
      ["postgres-exporter", "postgres-exporter", "metrics", "/metrics"],
      ["rabbitmq", "rabbitmq", "metrics", "/metrics"],
      ["redis-exporter", "redis-exporter", "metrics", "/metrics"],
      ["web-celery-exporter", "web-celery-exporter", "metrics", "/metrics"],
      ["web-web", "web-web", "http", "/metrics"],
    ]);
    for (const m of ofType(e, PODMON)) {
      assert.equal(meta(m).labels?.release, "kube-prometheus-stack");
      assert.equal(meta(m).namespace, "shop");
      const endpoint = (spec(m).podMetricsEndpoints as { relabelings: { sourceLabels?: string[]; targetLabel: string }[] }[])[0];
      assert.deepEqual(endpoint.relabelings[0], { sourceLabels: ["__meta_kubernetes_pod_label_djangostack_io_app"], targetLabel: "app" });
    }
    assert.deepEqual(fromNamespaces(e).map(([, ns]) => ns).filter((ns) => ns !== "observability"), [], "the NetworkPolicies admit the configured namespace");
  });

  it("gives the PostgreSQL and Redis exporters their passwords from Secrets, and a way to their server only", () => {
    for (const [name, secretKey, port] of [["postgres-exporter", "DATA_SOURCE_PASS", 5432], ["redis-exporter", "REDIS_PASSWORD", 6379]] as const) {
      const [c] = containers(named(e, DEPLOY, name));
      assert.deepEqual(c.env?.map((v) => v.name), [secretKey]);
      assert.ok(!(c.args ?? []).some((a) => /pass/i.test(a)), "no credential in argv");
      const into = named(e, NETPOL, `${name.replace("-exporter", "")}-from-${name}`);
      assert.deepEqual((spec(into).ingress as Rule[])[0].ports?.map((p) => p.port), [port]);
      const secret = ofType(e, "kubernetes:core/v1:Secret").find((s) => meta(s).name === undefined && s.name.endsWith(`${name}-env`));
      assert.ok(secret && containsSecret(secret.inputs.stringData), `${name}'s password is a secret`);
    }
  });

  it("has the PrometheusRule in the stack's namespace and the dashboard where Grafana's sidecar looks", () => {
    const [rule] = ofType(e, RULE);
    assert.equal(meta(rule).namespace, "shop");
    const groups = (spec(rule) as { groups: { rules: { alert: string }[] }[] }).groups;
    assert.ok(groups[0].rules.some((r) => r.alert === "DjangostackBackupFailed"), "in-cluster PostgreSQL has the backup CronJob, so its alert");
    const dashboard = ofType(e, CM).find((c) => meta(c).labels?.grafana_dashboard === GRAFANA_DASHBOARD_LABEL.grafana_dashboard);
    assert.ok(dashboard);
    assert.equal(meta(dashboard).namespace, "observability");
    const json = JSON.parse(String(Object.values(dashboard.inputs.data as Obj)[0])) as { panels: { title: string; targets: { expr: string }[] }[] };
    assert.ok(json.panels.length >= 6);
    for (const p of json.panels) for (const t of p.targets) assert.match(t.expr, /namespace="shop"/, p.title);
  });
});

describe("monitoring off", () => {
  it("runs no exporter, opens nothing to another namespace, and gives the web process no metrics env", async () => {
    const e = await evaluateStack({ stack: "production", extraConfig: { "djangostack:monitoring": { enabled: false } } });
    assert.deepEqual(ofType(e, DEPLOY).filter((d) => meta(d).labels?.["djangostack.io/role"] === "exporter"), []);
    assert.deepEqual(fromNamespaces(e), []);
    assert.equal(containers(named(e, DEPLOY, "nginx")).length, 1);
    const env = ofType(e, CM).flatMap((c) => Object.keys((c.inputs.data ?? {}) as Obj));
    assert.ok(!env.includes("DJANGO_METRICS_PATH") && !env.includes("PROMETHEUS_MULTIPROC_DIR"));
  });
});

describe("the exporters in the model", () => {
  const exporters = (raw: Raw) => buildModel(parseConfig(raw, { project: "djangostack", stack: "test" })).processes.filter((p) => p.role === "exporter");
  const k8s = { target: "kubernetes", domain: "example.com" };

  it("reads a Celery broker only where the stack runs it: RabbitMQ, or the Redis container, not managed Valkey", () => {
    assert.deepEqual(exporters({ ...k8s, apps: [{ broker: "redis" }] }).map((p) => p.name), ["nginx-exporter"]);
    const inCluster = exporters({ ...k8s, apps: [{ broker: "redis" }], data: { redis: { mode: "container" } } });
    assert.deepEqual(inCluster.map((p) => [p.name, p.dependsOn]), [["nginx-exporter", []], ["redis-exporter", ["redis"]], ["web-celery-exporter", ["redis"]]]);
    assert.deepEqual(Object.values(inCluster[2].secretEnv), [{ kind: "redisBrokerUrl", app: "web" }]);
    assert.deepEqual(exporters({ ...k8s, monitoring: { exporters: false } }), []);
  });
});
