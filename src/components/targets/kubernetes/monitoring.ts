import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { StackConfig } from "../../../config/types";
import * as names from "../../../model/names";
import { Process, WorkloadModel } from "../../../model/types";
import { EXPORTER_IMAGES } from "../../../model/monitoring";
import { alertGroups, grafanaDashboard } from "../../../render/prometheus";
import { pinnedPublicImage } from "../../pinning";
import { KubeContext, configMap, deployment, labelsOf, networkPolicy, opts, secret } from "./objects";
import { LABELS, metricsPortName, selectorLabels } from "./workload";
import { SecretResolver } from "./app";

export interface MonitoringArgs {
  config: StackConfig;
  model: WorkloadModel;
  ctx: KubeContext;
  resolve: SecretResolver;
  /** The data services the exporters read: they start once those exist. */
  dataReady: pulumi.Resource[];
  /** The backup CronJobs' names (the failed-backup alert watches their Jobs). */
  backupCronJobs: string[];
}

/** monitoring.coreos.com/v1: the Prometheus operator's API (prometheus-operator pkg/apis/monitoring/v1). */
export const MONITORING_API = "monitoring.coreos.com/v1";
/** The label kube-prometheus-stack's Grafana sidecar looks for on dashboard ConfigMaps (its `sidecar.dashboards.label`). */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;
export const SCRAPE_INTERVAL = "30s";

/** A process Prometheus scrapes, and the pods it is scraped in (an exporter sidecar's are its host's). */
export interface ScrapeTarget {
  process: Process;
  pods: Process;
  port: string;
}

/** What the stack serves metrics from: the apps' web pods, RabbitMQ, the exporters (a sidecar in its host's pods). */
export function scrapeTargets(model: WorkloadModel): ScrapeTarget[] {
  return model.processes.flatMap((p): ScrapeTarget[] => {
    const port = metricsPortName(p);
    if (!port || !p.metrics) return [];
    const host = p.sidecarOf ? model.processes.find((x) => x.name === p.sidecarOf) : p;
    if (!host) throw new Error(`djangostack: ${p.name} is a sidecar of ${p.sidecarOf ?? "?"}, which the model does not have`);
    return [{ process: p, pods: host, port }];
  });
}

/**
 * The monitoring tier (`djangostack:kubernetes:Monitoring`): the exporters that are not sidecars as
 * hardened Deployments, the NetworkPolicies that admit Prometheus (pods of `monitoring.namespace`) to
 * each metrics port and nothing else, each exporter's way to the one service it reads; and with
 * `monitoring.prometheusOperator`, a PodMonitor per scrape target, the PrometheusRule and the Grafana
 * dashboard ConfigMap.
 */
export class KubernetesMonitoring extends pulumi.ComponentResource {
  readonly podMonitors: k8s.apiextensions.CustomResource[] = [];
  readonly rule?: k8s.apiextensions.CustomResource;
  readonly dashboard?: k8s.core.v1.ConfigMap;
  private readonly ctx: KubeContext;

  constructor(name: string, args: MonitoringArgs, opts_?: pulumi.ComponentResourceOptions) {
    super("djangostack:kubernetes:Monitoring", name, {}, opts_);
    const { config, model, ctx } = args;
    this.ctx = ctx;
    const monitoring = config.monitoring;
    for (const p of model.processes.filter((x) => x.role === "exporter" && !x.sidecarOf)) this.exporter(p, args);
    const fromPrometheus = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": monitoring.namespace } } };
    const targets = scrapeTargets(model);
    for (const t of targets) {
      networkPolicy(
        ctx,
        `${t.process.name}-scrape`,
        { matchLabels: selectorLabels(t.pods, ctx.stack) },
        { ingress: [{ from: [fromPrometheus], ports: [{ protocol: "TCP", port: t.process.metrics?.port ?? 0 }] }] },
        this,
      );
    }
    if (monitoring.prometheusOperator) {
      const labels = { [LABELS.partOf]: ctx.project, [LABELS.instance]: ctx.stack, [LABELS.managedBy]: "pulumi", ...monitoring.labels };
      for (const t of targets) this.podMonitors.push(this.podMonitor(t, labels));
      const namespace = config.kubernetes?.namespace;
      if (!namespace) throw new Error('djangostack: target "kubernetes" needs the djangostack:kubernetes settings');
      const celery = model.processes.some((p) => p.image.kind === "public" && p.image.ref === EXPORTER_IMAGES.celery);
      const groups = alertGroups({ namespace, stack: config.stack, backupCronJobs: args.backupCronJobs, celery });
      this.rule = new k8s.apiextensions.CustomResource(
        `${ctx.name}-prometheus-rules`,
        { apiVersion: MONITORING_API, kind: "PrometheusRule", metadata: { name: `djangostack-${ctx.stack}`, namespace: ctx.namespace, labels }, spec: { groups } },
        opts(ctx, this),
      );
      // In Prometheus's namespace: kube-prometheus-stack's Grafana sidecar watches its own namespace by default.
      this.dashboard = new k8s.core.v1.ConfigMap(
        `${ctx.name}-grafana-dashboard`,
        {
          metadata: { name: `djangostack-${ctx.stack}-dashboard`, namespace: monitoring.namespace, labels: { ...labels, ...GRAFANA_DASHBOARD_LABEL } },
          data: { [`djangostack-${ctx.stack}.json`]: grafanaDashboard(namespace, config.stack) },
        },
        opts(ctx, this),
      );
    }
    this.registerOutputs({});
  }

  /** One exporter: its env, its Deployment (one replica, replaced before the new one starts), its way to the service it reads. */
  private exporter(p: Process, args: MonitoringArgs): void {
    const { ctx, model } = args;
    const labels = labelsOf(ctx, p);
    const configMaps = Object.keys(p.env).length > 0 ? [configMap(ctx, names.kube.processEnv(p.name), p.env, this, labels).metadata.name] : [];
    const secretName =
      Object.keys(p.secretEnv).length > 0 ? secret(ctx, names.kube.processEnv(p.name), Object.fromEntries(Object.entries(p.secretEnv).map(([k, s]) => [k, args.resolve(s)])), this, labels).metadata.name : undefined;
    deployment(ctx, p, this, {
      pod: { process: p, image: pinnedPublicImage(p, this), configMaps, secretName, volumes: { sources: {}, memoryScratchMiB: 16 } },
      replicas: 1,
      strategy: "recreate",
      dependsOn: args.dataReady,
    });
    for (const role of p.dependsOn) {
      const service = model.processes.find((x) => x.role === role);
      if (!service) throw new Error(`djangostack: exporter ${p.name} reads ${role}, which the model does not run`);
      const ports = service.ports.map((port) => ({ protocol: "TCP", port: port.port }));
      networkPolicy(ctx, `${p.name}-egress`, { matchLabels: selectorLabels(p, ctx.stack) }, { egress: [{ to: [{ podSelector: { matchLabels: selectorLabels(service, ctx.stack) } }], ports }] }, this);
      networkPolicy(ctx, `${service.name}-from-${p.name}`, { matchLabels: selectorLabels(service, ctx.stack) }, { ingress: [{ from: [{ podSelector: { matchLabels: selectorLabels(p, ctx.stack) } }], ports }] }, this);
    }
  }

  /**
   * A PodMonitor (podMetricsEndpoints: port name, path, interval, relabelings; prometheus-operator
   * pkg/apis/monitoring/v1/podmonitor_types.go). The `app` label on every series names the app, which
   * the alerts group by.
   */
  private podMonitor(t: ScrapeTarget, labels: Record<string, string>): k8s.apiextensions.CustomResource {
    const { ctx } = this;
    return new k8s.apiextensions.CustomResource(
      `${ctx.name}-${t.process.name}-podmonitor`,
      {
        apiVersion: MONITORING_API,
        kind: "PodMonitor",
        metadata: { name: t.process.name, namespace: ctx.namespace, labels },
        spec: {
          selector: { matchLabels: selectorLabels(t.pods, ctx.stack) },
          podMetricsEndpoints: [
            {
              port: t.port,
              path: t.process.metrics?.path ?? "/metrics",
              interval: SCRAPE_INTERVAL,
              relabelings: [
                { sourceLabels: [`__meta_kubernetes_pod_label_${LABELS.app.replace(/[./-]/g, "_")}`], targetLabel: "app" },
                { targetLabel: "djangostack_process", replacement: t.process.name },
              ],
            },
          ],
        },
      },
      opts(ctx, this),
    );
  }
}
