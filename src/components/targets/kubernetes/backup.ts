import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { StackConfig } from "../../../config/types";
import { Process, SecretEnvSource, WorkloadModel } from "../../../model/types";
import { backupProcessName, backupSettingsInput } from "../../../model/backup";
import { BACKUP_ENV, BACKUP_SCRIPT, renderBackupSettings } from "../../../render/backup";
import { STARTING_DEADLINE_SECONDS } from "../../../render/scheduler";
import * as names from "../../../model/names";
import { recordArtifact } from "../../../artifacts";
import { EgressRule, KubeContext, configMap, labelsOf, networkPolicy, opts, roleSelector, secret } from "./objects";
import { NON_PUBLIC_RANGES } from "./app";
import { podTemplate, selectorLabels } from "./workload";

export interface KubernetesBackupArgs {
  config: StackConfig;
  model: WorkloadModel;
  ctx: KubeContext;
  /** The backup image (pushed to DOCR by the Images tier). */
  image: pulumi.Input<string>;
  resolve: (source: SecretEnvSource) => pulumi.Output<string>;
  /** The CronJobs wait for the data tier (PostgreSQL and its init, or the managed cluster's users). */
  dependsOn: pulumi.Resource[];
  /** Managed PostgreSQL: its private host and port, and the VPC range its pods reach it in. */
  managed?: { host: pulumi.Input<string>; port: pulumi.Input<number>; vpcCidr: pulumi.Input<string> };
}

/** Finished Jobs kept for their logs: the last successful runs and the last failures. */
export const BACKUP_HISTORY = { successful: 3, failed: 3 } as const;

/**
 * The scheduled backup on Kubernetes: a CronJob per backup process of the model (`backup` for the
 * in-cluster PostgreSQL, `backup-<app>` per database on managed PostgreSQL), each pod running the
 * backup script once per schedule, hardened like every pod (non-root 999, read-only root, no
 * capabilities, seccomp, no service account token), never two runs at once (`Forbid`), the script and
 * its settings from a ConfigMap, the database password and the bucket key from a Secret. Its network
 * policy lets it reach PostgreSQL and the public internet on 443 (Spaces), nothing else.
 */
export class KubernetesBackup extends pulumi.ComponentResource {
  readonly cronJobs: k8s.batch.v1.CronJob[] = [];

  constructor(name: string, args: KubernetesBackupArgs, opts_?: pulumi.ComponentResourceOptions) {
    super("djangostack:ops:KubernetesBackup", name, {}, opts_);
    const processes = args.model.processes.filter((p) => p.role === "backup");
    if (processes.length === 0) throw new Error("djangostack: the model has no backup process");
    for (const p of processes) this.cronJobs.push(this.backup(p, args));
    this.registerOutputs({ cronJobs: this.cronJobs.map((c) => c.metadata.name) });
  }

  private backup(process: Process, args: KubernetesBackupArgs): k8s.batch.v1.CronJob {
    const { config, ctx, managed } = args;
    if (!process.schedule) throw new Error(`djangostack: backup process ${process.name} has no schedule`);
    const labels = labelsOf(ctx, process);
    // backup-<app> dumps that app's database only, as its role.
    const apps = managed ? config.backups.databases.filter((app) => backupProcessName(app) === process.name) : config.backups.databases;
    const settings = renderBackupSettings(backupSettingsInput(config, apps));
    recordArtifact("backup/backup.py", BACKUP_SCRIPT);
    recordArtifact(`backup/${process.name}.json`, settings);
    const files = configMap(ctx, `${process.name}-files`, { "backup.py": BACKUP_SCRIPT, "backup.json": settings }, this, labels);
    const plain: Record<string, pulumi.Input<string>> = managed ? { ...process.env, PGHOST: managed.host, PGPORT: pulumi.output(managed.port).apply(String) } : process.env;
    const env = configMap(ctx, names.kube.processEnv(process.name), plain, this, labels);
    const secrets = secret(ctx, `${process.name}-secrets`, Object.fromEntries(Object.entries(process.secretEnv).map(([k, s]) => [k, args.resolve(s)])), this, labels);
    const pod = podTemplate({
      process,
      image: args.image,
      labels,
      configMaps: [env.metadata.name],
      secretName: secrets.metadata.name,
      pullSecret: ctx.pullSecret,
      volumes: { sources: { "backup-config": { volume: { configMap: { name: files.metadata.name, defaultMode: 0o444 } } } }, memoryScratchMiB: 16 },
      restartPolicy: "Never",
      probes: false,
    });
    const schedule = process.schedule;
    const cronJob = new k8s.batch.v1.CronJob(
      `${ctx.name}-${process.name}`,
      {
        metadata: { name: process.name, namespace: ctx.namespace, labels },
        spec: {
          schedule: schedule.cron,
          timeZone: "Etc/UTC",
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
          successfulJobsHistoryLimit: BACKUP_HISTORY.successful,
          failedJobsHistoryLimit: BACKUP_HISTORY.failed,
          jobTemplate: {
            metadata: { labels },
            // No retry within a run: a half-uploaded set is never complete (the manifest comes last), the next schedule is the retry.
            spec: { backoffLimit: 0, activeDeadlineSeconds: schedule.timeLimitSeconds, template: pod },
          },
        },
      },
      opts(ctx, this, { dependsOn: args.dependsOn }),
    );
    const broker = process.env[BACKUP_ENV.rabbitmqUser] !== undefined;
    networkPolicy(ctx, `${process.name}-egress`, { matchLabels: selectorLabels(process, ctx.stack) }, { egress: backupEgress(managed, broker) }, this);
    return cronJob;
  }
}

/**
 * PostgreSQL (its pods, or the managed cluster's port in the VPC), the broker's management API when
 * this process exports the definitions, and HTTPS to public addresses (Spaces); nothing else.
 */
export function backupEgress(managed?: KubernetesBackupArgs["managed"], broker = false): EgressRule[] {
  const postgres: EgressRule = managed
    ? { to: [{ ipBlock: { cidr: managed.vpcCidr } }], ports: [{ protocol: "TCP", port: managed.port }] }
    : { to: [{ podSelector: roleSelector(["postgres"]) }], ports: [{ protocol: "TCP", port: 5432 }] };
  const management: EgressRule[] = broker ? [{ to: [{ podSelector: roleSelector(["rabbitmq"]) }], ports: [{ protocol: "TCP", port: names.RABBITMQ_MANAGEMENT_PORT }] }] : [];
  return [postgres, ...management, { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_RANGES } }], ports: [{ protocol: "TCP", port: 443 }] }];
}
