import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../../config/types";
import { PATHS } from "../../../model/build";
import { Process, WorkloadModel } from "../../../model/types";
import { rabbitmqMetrics } from "../../../model/monitoring";
import { renderGunicornConf } from "../../../render/gunicorn";
import { hostStatusNginx } from "../../../render/host-status";
import { nginxInputFor, renderNginx } from "../../../render/nginx";
import { DEFAULT_DEFINITIONS_PATH, renderRabbitmqConf } from "../../../render/rabbitmq";
import { renderRedisConf } from "../../../render/redis";
import { SCHEDULER_SCRIPT, renderSchedulerJobs } from "../../../render/scheduler";
import { managementPort, postgresInitSql, rabbitmqDefinitions } from "../../rendered";
import { BACKUP_SCRIPT, renderBackupSettings } from "../../../render/backup";
import { BACKUP_FILES, backupJob, backupSettingsInput } from "../../../model/backup";
import { Credentials } from "../../secrets";

/** A file placed into a container; `artifact` is its path under the render's artifacts/ (secret-free text). */
export interface ConfigFile {
  path: string;
  content: pulumi.Input<string>;
  artifact: string;
  artifactContent: string;
}

/** Docker's embedded DNS: nginx re-resolves upstream names so a replaced web container is found. */
export const DOCKER_RESOLVER = "127.0.0.11";

/** The rendered files each process needs, keyed by the model's config volume names. */
export function configFilesFor(process: Process, config: StackConfig, model: WorkloadModel, creds: Credentials): ConfigFile[] {
  const files: ConfigFile[] = [];
  for (const volume of process.volumes.filter((v) => v.kind === "config")) {
    switch (volume.volume) {
      case "gunicorn-config": {
        const app = config.apps.find((a) => a.name === process.app);
        if (!app) throw new Error(`djangostack: ${process.name} mounts gunicorn config without an app`);
        const text = renderGunicornConf(app, config.logFormat);
        files.push({ path: PATHS.gunicornConfig, content: text, artifact: `gunicorn/${app.name}.gunicorn.conf.py`, artifactContent: text });
        break;
      }
      case "scheduler-config": {
        const app = config.apps.find((a) => a.name === process.app);
        if (!app) throw new Error(`djangostack: ${process.name} mounts scheduler config without an app`);
        const jobs = renderSchedulerJobs(app.jobs);
        files.push({ path: `${PATHS.schedulerDir}/jobs.json`, content: jobs, artifact: `scheduler/${app.name}.jobs.json`, artifactContent: jobs });
        files.push({ path: `${PATHS.schedulerDir}/scheduler.py`, content: SCHEDULER_SCRIPT, artifact: "scheduler/scheduler.py", artifactContent: SCHEDULER_SCRIPT });
        break;
      }
      case "backup-config": {
        // The scheduler with a one-job table: the backup, on the backups schedule, never two at once.
        const settings = renderBackupSettings(backupSettingsInput(config));
        const jobs = renderSchedulerJobs([backupJob(config)]);
        files.push({ path: BACKUP_FILES.script, content: BACKUP_SCRIPT, artifact: "backup/backup.py", artifactContent: BACKUP_SCRIPT });
        files.push({ path: BACKUP_FILES.settings, content: settings, artifact: "backup/backup.json", artifactContent: settings });
        files.push({ path: BACKUP_FILES.scheduler, content: SCHEDULER_SCRIPT, artifact: "backup/scheduler.py", artifactContent: SCHEDULER_SCRIPT });
        files.push({ path: BACKUP_FILES.jobs, content: jobs, artifact: "backup/jobs.json", artifactContent: jobs });
        break;
      }
      case "postgres-init": {
        // The Docker init logs in over the trusted socket, so it may set the superuser's password too.
        const text = postgresInitSql(config.apps, true);
        files.push({ path: `${PATHS.postgresInit}/init.sql`, content: text, artifact: "postgres/init.sql", artifactContent: text });
        break;
      }
      case "redis-config": {
        const text = renderRedisConf(config.data.redis);
        files.push({ path: `${PATHS.redisConfigDir}/redis.conf`, content: text, artifact: "redis/redis.conf", artifactContent: text });
        break;
      }
      case "rabbitmq-config": {
        const conf = renderRabbitmqConf(config.data.rabbitmq, { definitionsPath: DEFAULT_DEFINITIONS_PATH, ...managementPort(config), metricsPort: rabbitmqMetrics(config)?.port });
        files.push({ path: `${PATHS.rabbitmqConfigDir}/conf.d/10-djangostack.conf`, content: conf, artifact: "rabbitmq/rabbitmq.conf", artifactContent: conf });
        const definitions = rabbitmqDefinitions(config.apps, creds);
        files.push({ path: DEFAULT_DEFINITIONS_PATH, content: definitions.content, artifact: "rabbitmq/definitions.json", artifactContent: definitions.masked });
        break;
      }
      case "nginx-config": {
        // Upstreams come from files only the cutover writes: nginx never routes to a container not yet healthy.
        // On the Droplet nginx also serves the host's container status (src/render/host-status.ts).
        const text = renderNginx({ ...nginxInputFor(model, config.edge, config.domain), resolver: DOCKER_RESOLVER, upstreamsDir: PATHS.nginxUpstreams, ...hostStatusNginx(config.target) });
        files.push({ path: PATHS.nginxConf, content: text, artifact: "nginx/nginx.conf", artifactContent: text });
        break;
      }
      default:
        throw new Error(`djangostack: no renderer for config volume ${volume.volume} of ${process.name}`);
    }
  }
  return files;
}
