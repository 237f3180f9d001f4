import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { StackConfig } from "../../../config/types";
import { Process, SecretEnvSource, WorkloadModel } from "../../../model/types";
import { BACKUP_PROCESS, backupSettingsInput } from "../../../model/backup";
import { BACKUP_SCRIPT, renderBackupSettings } from "../../../render/backup";
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
  /** The CronJob waits for the data tier (PostgreSQL and its init). */
  dependsOn: pulumi.Resource[];
}

/** Finished Jobs kept for their logs: a week of daily runs that succeeded, and the last failures. */
export const BACKUP_HISTORY = { successful: 3, failed: 3 } as const;

/**
 * The scheduled backup on Kubernetes: one CronJob (`backup`) whose pod runs the backup script once
 * per schedule, hardened like every pod (non-root 999, read-only root, no capabilities, seccomp,
 * no service account token), never two runs at once (`Forbid`), the script and its settings from a
 * ConfigMap, the superuser's password and the bucket key from a Secret. Its network policy lets it
 * reach PostgreSQL and the public internet on 443 (Spaces), nothing else.
 */
export class KubernetesBackup extends pulumi.ComponentResource {
  readonly cronJob: k8s.batch.v1.CronJob;

  constructor(name: string, args: KubernetesBackupArgs, opts_?: pulumi.ComponentResourceOptions) {
    super("djangostack:ops:KubernetesBackup", name, {}, opts_);
    const { config, model, ctx } = args;
    const process = model.processes.find((p) => p.role === "backup");
    if (!process?.schedule) throw new Error("djangostack: the model has no scheduled backup process");
    const labels = labelsOf(ctx, process);
    const settings = renderBackupSettings(backupSettingsInput(config));
    recordArtifact("backup/backup.py", BACKUP_SCRIPT);
    recordArtifact("backup/backup.json", settings);
    const files = configMap(ctx, "backup-files", { "backup.py": BACKUP_SCRIPT, "backup.json": settings }, this, labels);
    const env = configMap(ctx, names.kube.processEnv(process.name), process.env, this, labels);
    const secrets = secret(ctx, "backup-secrets", Object.fromEntries(Object.entries(process.secretEnv).map(([k, s]) => [k, args.resolve(s)])), this, labels);
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
    this.cronJob = new k8s.batch.v1.CronJob(
      `${ctx.name}-${BACKUP_PROCESS}`,
      {
        metadata: { name: BACKUP_PROCESS, namespace: ctx.namespace, labels },
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
    networkPolicy(ctx, "backup-egress", { matchLabels: selectorLabels(process, ctx.stack) }, { egress: backupEgress(model) }, this);
    this.registerOutputs({ cronJob: this.cronJob.metadata.name });
  }
}

/** PostgreSQL's port on its pods, and HTTPS to public addresses (Spaces); not the VPC, the cluster or the metadata service. */
export function backupEgress(model: WorkloadModel): EgressRule[] {
  const postgres = model.processes.find((p: Process) => p.role === "postgres");
  return [
    ...(postgres ? [{ to: [{ podSelector: roleSelector(["postgres"]) }], ports: [{ protocol: "TCP", port: 5432 }] }] : []),
    { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_RANGES } }], ports: [{ protocol: "TCP", port: 443 }] },
  ];
}
