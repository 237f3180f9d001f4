import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AppConfig, JobConcurrency, StackConfig } from "../../../config/types";
import * as names from "../../../model/names";
import { Process, SecretEnvSource, WorkloadModel } from "../../../model/types";
import { renderGunicornConf } from "../../../render/gunicorn";
import { STARTING_DEADLINE_SECONDS } from "../../../render/scheduler";
import { EgressRule, KubeContext, configMap, deployment, labelsOf, networkPolicy, opts, pdb, roleSelector, secret, service } from "./objects";
import { APP_ROLES, RERUN_IF_FAILED } from "./data";
import { Container, LABELS, PRE_STOP_SECONDS, PodOptions, VolumeSource, mainContainer, podTemplate, selectorLabels, volumesFor } from "./workload";

type Input<T> = pulumi.Input<T>;

const CONCURRENCY_POLICY: Record<JobConcurrency, string> = { forbid: "Forbid", allow: "Allow", replace: "Replace" };

/** Private, link-local (cloud metadata) and carrier-grade NAT ranges app pods may not reach on their own. */
export const NON_PUBLIC_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"];

/** First 10 hex digits of an image digest; a named (not built) image is hashed by its reference. */
export function digestSuffix(digest: string, ref: string): string {
  const hex = digest.replace(/^sha256:/, "");
  return (/^[0-9a-f]{10,}$/.test(hex) ? hex : createHash("sha256").update(ref).digest("hex")).slice(0, 10);
}

/** Env every process of an app shares (same key, same value) and what each process adds or overrides. */
export function splitEnv(processes: Process[]): { shared: Record<string, string>; own: Record<string, Record<string, string>> } {
  const [first, ...rest] = processes;
  const shared: Record<string, string> = {};
  if (first) for (const [k, v] of Object.entries(first.env)) if (rest.every((p) => p.env[k] === v)) shared[k] = v;
  const own = Object.fromEntries(processes.map((p) => [p.name, Object.fromEntries(Object.entries(p.env).filter(([k]) => !(k in shared)))]));
  return { shared, own };
}

export type SecretResolver = (source: SecretEnvSource) => pulumi.Output<string>;

export interface AppTierArgs {
  config: StackConfig;
  model: WorkloadModel;
  ctx: KubeContext;
  images: Record<string, pulumi.Output<string>>;
  digests: Record<string, pulumi.Output<string>>;
  resolve: SecretResolver;
  /** Data services every app process waits for. */
  dataReady: pulumi.Resource[];
  /** Env added to every app process unless the app sets it itself (e.g. DJANGO_DB_CONN_MAX_AGE behind a pool). */
  extraEnv: Record<string, string>;
}

/**
 * The app tier (`djangostack:kubernetes:App`): per app its env ConfigMaps and Secret, gunicorn config,
 * the migration Job (named by image digest), web Deployment + Service + HPA + PDB, one Deployment per
 * Celery pool, beat (one replica, Recreate), a CronJob per scheduled job, and the frontend when configured.
 */
export class AppTier extends pulumi.ComponentResource {
  /** Web and frontend Deployments: the edge rolls after them. */
  readonly servers: k8s.apps.v1.Deployment[] = [];
  readonly migrations: Record<string, k8s.batch.v1.Job> = {};
  private readonly ctx: KubeContext;
  private readonly args: AppTierArgs;

  constructor(name: string, args: AppTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:kubernetes:App", name, {}, opts);
    this.ctx = args.ctx;
    this.args = args;
    for (const app of args.config.apps) this.app(app);
    const frontend = args.model.processes.find((p) => p.role === "frontend");
    if (frontend) {
      const image = args.images.frontend;
      if (!image) throw new Error("djangostack: the frontend has no image");
      this.servers.push(
        deployment(this.ctx, frontend, this, {
          pod: { process: frontend, image, configMaps: [], pullSecret: this.ctx.pullSecret, volumes: { sources: {}, memoryScratchMiB: 64 }, preStopSeconds: PRE_STOP_SECONDS, spread: true },
          replicas: frontend.replicas,
          strategy: "rolling",
        }),
      );
      service(this.ctx, frontend, this);
      pdb(this.ctx, frontend, this);
      this.ingressFromEdge(frontend);
    }
    // Apps call external APIs (mail, payments, storage): the public internet is allowed, the VPC,
    // the cluster and the cloud metadata service are not (the data services have their own allows).
    const internet: EgressRule = { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_RANGES } }] };
    networkPolicy(this.ctx, "apps-to-internet", roleSelector(APP_ROLES), { egress: [internet] }, this);
    this.callPolicies();
    this.registerOutputs({});
  }

  /**
   * `apps[].calls`: the callee's web pods admit its callers' pods on the web port, and the callers' pods
   * may reach them (egress elsewhere in the cluster is denied: see apps-to-internet). Nothing else.
   */
  private callPolicies(): void {
    const { config, model } = this.args;
    const web = (app: string): Process => {
      const found = model.processes.find((p) => p.role === "web" && p.app === app);
      if (!found) throw new Error(`djangostack: app ${app} is called but has no web process`);
      return found;
    };
    const podsOf = (apps: string[]) => ({ matchExpressions: [{ key: LABELS.app, operator: "In", values: apps }, { key: LABELS.role, operator: "In", values: APP_ROLES }] });
    const webPorts = (p: Process) => p.ports.map((port) => ({ protocol: "TCP", port: port.port }));
    for (const callee of config.apps) {
      const callers = config.apps.filter((a) => a.calls.includes(callee.name)).map((a) => a.name);
      if (callers.length === 0) continue;
      const target = web(callee.name);
      networkPolicy(this.ctx, `${target.name}-from-callers`, { matchLabels: selectorLabels(target, this.ctx.stack) }, { ingress: [{ from: [{ podSelector: podsOf(callers) }], ports: webPorts(target) }] }, this);
    }
    for (const caller of config.apps.filter((a) => a.calls.length > 0)) {
      const egress = config.apps.filter((a) => caller.calls.includes(a.name)).map((a) => web(a.name)).map((target) => ({ to: [{ podSelector: { matchLabels: selectorLabels(target, this.ctx.stack) } }], ports: webPorts(target) }));
      networkPolicy(this.ctx, `${caller.name}-calls`, podsOf([caller.name]), { egress }, this);
    }
  }

  private app(app: AppConfig): void {
    const { ctx } = this;
    const { model, config } = this.args;
    const processes = model.processes.filter((p) => p.app === app.name);
    const image = this.args.images[app.name];
    if (!image) throw new Error(`djangostack: no image for app ${app.name}`);
    const appLabels = { [LABELS.app]: app.name, [LABELS.instance]: ctx.stack };

    const extra = Object.fromEntries(Object.entries(this.args.extraEnv).filter(([k]) => !(k in app.env)));
    const { shared, own } = splitEnv(processes);
    const sharedMap = configMap(ctx, names.kube.appEnv(app.name), { ...shared, ...extra }, this, appLabels);
    const envMaps = Object.fromEntries(
      processes.map((p): [string, Input<string>[]] => [
        p.name,
        Object.keys(own[p.name]).length > 0 ? [sharedMap.metadata.name, configMap(ctx, names.kube.processEnv(p.name), own[p.name], this, labelsOf(ctx, p)).metadata.name] : [sharedMap.metadata.name],
      ]),
    );
    const configMapsOf = (p: Process): Input<string>[] => envMaps[p.name];

    const secretEnv: Record<string, SecretEnvSource> = {};
    for (const p of processes) {
      for (const [key, source] of Object.entries(p.secretEnv)) {
        if (secretEnv[key] && JSON.stringify(secretEnv[key]) !== JSON.stringify(source)) throw new Error(`djangostack: ${app.name} processes disagree on ${key}`);
        secretEnv[key] = source;
      }
    }
    const secrets = secret(ctx, names.kube.appSecrets(app.name), Object.fromEntries(Object.entries(secretEnv).map(([k, s]) => [k, this.args.resolve(s)])), this, appLabels);
    const gunicorn = configMap(ctx, names.kube.gunicorn(app.name), { "gunicorn.conf.py": renderGunicornConf(app, config.logFormat) }, this, appLabels);
    const sources: Record<string, VolumeSource> = { "gunicorn-config": { volume: { configMap: { name: gunicorn.metadata.name } } } };
    const memoryScratchMiB = Math.max(64, config.edge.clientMaxBodyMiB * 2);
    const podBase = { image, secretName: secrets.metadata.name, pullSecret: ctx.pullSecret, volumes: { sources, memoryScratchMiB } };

    const migrateProcess = processes.find((p) => p.role === "migrate");
    const rollAfter: pulumi.Resource[] = [...this.args.dataReady];
    if (migrateProcess) {
      const job = this.migrationJob(app, migrateProcess, { ...podBase, process: migrateProcess, configMaps: configMapsOf(migrateProcess) });
      this.migrations[app.name] = job;
      rollAfter.push(job);
    }
    // DefectDojo's gate: a pod (new replica, restart, scale-up) never serves a schema it does not know.
    const gate = (p: Process): Container[] => {
      if (!migrateProcess || !app.migrate || !app.database) return [];
      const check = { ...p, command: ["python", "manage.py", "migrate", "--check"], health: undefined };
      const { mounts } = volumesFor(check, { sources, memoryScratchMiB });
      return [{ ...mainContainer({ ...podBase, process: check, labels: {}, configMaps: configMapsOf(p), probes: false, ports: [] }, mounts), name: "migrations-applied" }];
    };

    for (const p of processes) {
      if (p.role === "migrate") continue;
      const pod = { ...podBase, process: p, configMaps: configMapsOf(p), initContainers: gate(p) };
      if (p.role === "web") {
        const d = deployment(ctx, p, this, {
          pod: { ...pod, preStopSeconds: PRE_STOP_SECONDS, spread: true },
          replicas: p.autoscale ? undefined : p.replicas,
          strategy: "rolling",
          dependsOn: rollAfter,
        });
        this.servers.push(d);
        service(ctx, p, this);
        pdb(ctx, p, this);
        if (p.autoscale) this.hpa(p, d, p.autoscale);
        this.ingressFromEdge(p);
      } else if (p.role === "worker") {
        deployment(ctx, p, this, { pod: { ...pod, spread: true }, replicas: p.replicas, strategy: "rolling", dependsOn: rollAfter });
        pdb(ctx, p, this);
      } else if (p.role === "beat") {
        // Exactly one scheduler, ever: the old pod is gone before the new one starts.
        deployment(ctx, p, this, { pod, replicas: 1, strategy: "recreate", dependsOn: rollAfter });
      } else if (p.role === "job") {
        this.cronJob(p, pod, rollAfter);
      } else {
        throw new Error(`djangostack: unexpected ${p.role} process ${p.name} in app ${app.name}`);
      }
    }
  }

  /**
   * `<app>-migrate-<digest>`: a new image is a new Job. Pulumi waits for it to complete before the
   * Deployments that depend on it roll; a failed migration fails the deploy and nothing rolls, and the
   * next deploy runs it again (replaceUnready), with the same image or a fixed one.
   */
  private migrationJob(app: AppConfig, process: Process, pod: Omit<PodOptions, "labels">): k8s.batch.v1.Job {
    const { ctx } = this;
    const labels = labelsOf(ctx, process);
    const digest = this.args.digests[app.name] ?? pulumi.output("");
    const jobName = pulumi.all([digest, this.args.images[app.name]]).apply(([d, ref]) => `${names.migrate(app.name)}-${digestSuffix(d, ref)}`);
    return new k8s.batch.v1.Job(
      `${ctx.name}-${process.name}`,
      {
        metadata: { name: jobName, namespace: ctx.namespace, labels, annotations: RERUN_IF_FAILED },
        spec: {
          backoffLimit: 1,
          activeDeadlineSeconds: 1800,
          template: podTemplate({ ...pod, labels, restartPolicy: "Never", probes: false }),
        },
      },
      // No ttlSecondsAfterFinished: Pulumi would find the finished Job deleted and run it again.
      // A config change with the same image keeps the name, so the replacement deletes first.
      opts(ctx, this, { deleteBeforeReplace: true, dependsOn: this.args.dataReady }),
    );
  }

  /**
   * A scheduled job: the schedule in UTC whatever the control plane's zone, a run past its time limit
   * fails (activeDeadlineSeconds), no retry within a run (cron's way: the next schedule is the retry),
   * a few finished Jobs kept for their logs. Updated in place: a CronJob's spec is mutable.
   */
  private cronJob(p: Process, pod: Omit<PodOptions, "labels">, dependsOn: pulumi.Resource[]): k8s.batch.v1.CronJob {
    const { ctx } = this;
    const schedule = p.schedule;
    if (!schedule) throw new Error(`djangostack: job ${p.name} has no schedule`);
    const labels = labelsOf(ctx, p);
    return new k8s.batch.v1.CronJob(
      `${ctx.name}-${p.name}`,
      {
        metadata: { name: p.name, namespace: ctx.namespace, labels },
        spec: {
          schedule: schedule.cron,
          timeZone: "Etc/UTC",
          concurrencyPolicy: CONCURRENCY_POLICY[schedule.concurrency],
          startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: {
              backoffLimit: 0,
              activeDeadlineSeconds: schedule.timeLimitSeconds,
              template: podTemplate({ ...pod, labels, restartPolicy: "Never", probes: false }),
            },
          },
        },
      },
      opts(ctx, this, { dependsOn }),
    );
  }

  private hpa(p: Process, target: k8s.apps.v1.Deployment, autoscale: NonNullable<Process["autoscale"]>): void {
    const { ctx } = this;
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${ctx.name}-${p.name}-hpa`,
      {
        metadata: { name: p.name, namespace: ctx.namespace, labels: labelsOf(ctx, p) },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target.metadata.name },
          minReplicas: autoscale.min,
          maxReplicas: autoscale.max,
          metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: autoscale.cpuPercent } } }],
          // Scale up fast, down slowly: a burst should not cost a cold start a minute later.
          behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } },
        },
      },
      opts(ctx, this),
    );
  }

  private ingressFromEdge(p: Process): void {
    networkPolicy(
      this.ctx,
      `${p.name}-ingress`,
      { matchLabels: selectorLabels(p, this.ctx.stack) },
      { ingress: [{ from: [{ podSelector: roleSelector(["edge"]) }], ports: p.ports.map((port) => ({ protocol: "TCP", port: port.port })) }] },
      this,
    );
  }
}
