/**
 * The scheduled backup as plain data: the process that runs src/render/backup.ts's script on the
 * schedule, its settings, the bucket's lifecycle rule and the `backups` output. Pure: no Pulumi.
 *
 * Docker targets: one long-lived container from the backup image (the official postgres image of the
 * server's major, plus Debian's python3) runs the Docker scheduler (src/render/scheduler.ts) with a
 * one-job table whose command is the backup. Kubernetes: a CronJob (role "backup" with a schedule).
 */
import { ScheduledJob, StackConfig } from "../config/types";
import { usesDeployedRabbitmq } from "../config/contract";
import { BACKUP_ENV, BackupSettingsInput, backupCommand } from "../render/backup";
import { SCHEDULER_STOP_GRACE_SECONDS } from "../render/scheduler";
import * as names from "./names";
import { mediaMounts, spacesEndpoint } from "./media";
import { Health, Process, SecretEnvSource, VolumeMount } from "./types";

export const BACKUP_PROCESS = "backup";

/** In-container paths of the backup process. */
export const BACKUP_PATHS = {
  /** The script, its settings and (Docker) the scheduler and its one-job table, read-only. */
  dir: "/etc/djangostack/backup",
  heartbeat: "/tmp/djangostack-backup.heartbeat",
  /** The scheduler's record of the backup runs (src/render/scheduler.ts --status): what readiness reads. */
  status: "/tmp/djangostack-backup.status",
  /** Each app's media volume, read-only, as `<mediaRoot>/<app>`. */
  mediaRoot: "/srv/backup-media",
  /** Where dumps are written before upload: disk, not memory (the container's layer on Docker, an emptyDir on Kubernetes). */
  spool: "/var/tmp/djangostack-backup",
} as const;

export const BACKUP_FILES = {
  script: `${BACKUP_PATHS.dir}/backup.py`,
  settings: `${BACKUP_PATHS.dir}/backup.json`,
  scheduler: `${BACKUP_PATHS.dir}/scheduler.py`,
  jobs: `${BACKUP_PATHS.dir}/jobs.json`,
} as const;

/** The postgres image's own user (uid 999), which the backup image keeps. */
export const BACKUP_USER = "999:999";

/** A run past this is stopped and counts as failed (a CronJob's activeDeadlineSeconds, the scheduler's time limit). */
export const BACKUP_TIME_LIMIT_SECONDS = 6 * 3600;

/** pg_dump streams to disk and the script streams uploads from disk: memory stays small whatever the dump size. */
const BACKUP_RESOURCES = { cpuMillis: 250, memoryMiB: 128 };

/**
 * The backup exports the broker's live definitions (users, vhosts, permissions, queues, policies)
 * when the stack runs RabbitMQ itself and a backup process runs.
 */
export function backsUpBrokerDefinitions(config: StackConfig): boolean {
  return config.backups.enabled && config.backups.databases.length > 0 && config.apps.some(usesDeployedRabbitmq);
}

/** The management API the backup reads the definitions from: the broker's service name, inside the stack's network. */
export const RABBITMQ_API = `http://${names.RABBITMQ}:${names.RABBITMQ_MANAGEMENT_PORT}`;


/** The bucket's one lifecycle rule: everything under `<stack>/` expires after `retentionDays`. */
export function backupLifecycleRules(config: StackConfig): { id: string; enabled: boolean; prefix: string; expiration: { days: number }; abortIncompleteMultipartUploadDays: number }[] {
  return [{ id: `djangostack-${config.stack}-retention`, enabled: true, prefix: `${config.stack}/`, expiration: { days: config.backups.retentionDays }, abortIncompleteMultipartUploadDays: 1 }];
}

/** The backup image: the server's own pg_dump/pg_restore/psql, and Python 3 for the script and the scheduler. */
export function renderBackupDockerfile(postgresMajor: string): string {
  return [
    `FROM postgres:${postgresMajor}-bookworm`,
    "RUN apt-get update \\",
    " && apt-get install -y --no-install-recommends python3 \\",
    " && rm -rf /var/lib/apt/lists/* \\",
    ` && mkdir -p ${BACKUP_PATHS.spool} && chown ${BACKUP_USER} ${BACKUP_PATHS.spool} && chmod 0700 ${BACKUP_PATHS.spool}`,
    `USER ${BACKUP_USER}`,
    "",
  ].join("\n");
}

/**
 * The settings file of one backup process: every deployed app database (or, with managed PostgreSQL,
 * the one app's whose role it logs in as), and media on the Docker targets: those on a volume. A
 * bucket (media.storage "spaces") is the store itself and is not copied.
 */
export function backupSettingsInput(config: StackConfig, apps: readonly string[] = config.backups.databases): BackupSettingsInput {
  const docker = config.target !== "kubernetes";
  return {
    stack: config.stack,
    databases: apps.map((app) => ({ name: names.database(app), role: names.role(app) })),
    media: docker ? config.apps.filter((a) => a.media.storage === "volume").map((a) => ({ name: a.name, path: `${BACKUP_PATHS.mediaRoot}/${a.name}` })) : [],
    ...(exportsDefinitions(config, apps) ? { rabbitmqApi: RABBITMQ_API } : {}),
    addressing: "virtual",
    retentionDays: config.backups.retentionDays,
    maintenanceDatabase: config.backups.managedPostgres ? "defaultdb" : "postgres",
  };
}

/**
 * The scheduled run's arguments: the bucket the stack created expires old backups by its lifecycle
 * rule; an existing one (bucket.create false) may have none, so the run prunes it to retentionDays.
 */
export function backupArgs(config: StackConfig): string[] {
  return config.backups.bucket.create ? ["backup"] : ["backup", "--prune"];
}

/** The one job of the Docker scheduler's table: the backup, never two at once. */
export function backupJob(config: StackConfig): ScheduledJob {
  return {
    name: BACKUP_PROCESS,
    schedule: config.backups.schedule,
    command: backupCommand(BACKUP_FILES.script, BACKUP_FILES.settings, ...backupArgs(config)),
    concurrency: "forbid",
    timeLimitSeconds: BACKUP_TIME_LIMIT_SECONDS,
    resources: BACKUP_RESOURCES,
  };
}

/** One backup process exports the definitions: the only one, or (one per managed database) the first. */
function exportsDefinitions(config: StackConfig, apps: readonly string[]): boolean {
  return backsUpBrokerDefinitions(config) && apps.includes(config.backups.databases[0]);
}

/** Plain env of the backup process: where the bucket is and where the server is. No secret. */
export function backupEnv(config: StackConfig, broker = backsUpBrokerDefinitions(config)): Record<string, string> {
  const { bucket } = config.backups;
  return {
    [BACKUP_ENV.endpoint]: spacesEndpoint(bucket.region),
    [BACKUP_ENV.region]: bucket.region,
    [BACKUP_ENV.bucket]: bucket.name,
    PGHOST: names.POSTGRES,
    PGPORT: "5432",
    PGUSER: names.SUPERUSER.role,
    PGDATABASE: "postgres",
    PGCONNECT_TIMEOUT: "10",
    TMPDIR: BACKUP_PATHS.spool,
    ...(broker ? { [BACKUP_ENV.rabbitmqUser]: names.RABBITMQ_BACKUP_USER } : {}),
  };
}

/**
 * Secret env of the backup process: the superuser's password and the bucket key, never in plain env.
 * On Kubernetes the superuser keeps the bootstrap password (the init Job logs in over TCP with it and
 * does not change it, src/components/targets/kubernetes/data.ts); on Docker the init sets the rotating one.
 */
export function backupSecretEnv(config: StackConfig, broker = backsUpBrokerDefinitions(config)): Record<string, SecretEnvSource> {
  return {
    PGPASSWORD: { kind: config.target === "kubernetes" ? "postgresBootstrapPassword" : "postgresSuperuserPassword" },
    [BACKUP_ENV.accessKeyId]: { kind: "backupCredential", part: "accessKeyId" },
    [BACKUP_ENV.secretAccessKey]: { kind: "backupCredential", part: "secretAccessKey" },
    ...(broker ? { [BACKUP_ENV.rabbitmqPassword]: { kind: "rabbitmqBackupPassword" as const } } : {}),
  };
}

/** The image has python3 (not `python`): the heartbeat check the scheduler's probe makes, with it. */
function heartbeatProbe(maxAgeSeconds: number): string[] {
  return ["python3", "-c", `import os,sys,time; sys.exit(0 if time.time() - os.path.getmtime('${BACKUP_PATHS.heartbeat}') < ${maxAgeSeconds} else 1)`];
}

const HEALTH: Health["timing"] = { intervalSeconds: 30, timeoutSeconds: 10, failureThreshold: 4, startPeriodSeconds: 60 };

/** The database a managed-PostgreSQL backup process dumps: `backup-<app>` dumps `<app>_db` as `<app>_user`. */
export const backupProcessName = (app: string): string => `${BACKUP_PROCESS}-${app}`;

/**
 * The backup processes of a stack with backups on: one for the PostgreSQL the stack runs in a
 * container (as the superuser, every database); with managed PostgreSQL (Kubernetes, enabled
 * explicitly) one per database, each logging in as the app's own role, which owns every object its
 * migrations made (DigitalOcean's admin user is no superuser). The realizer sets PGHOST and PGPORT
 * of a managed cluster, which only it knows.
 */
export function backupProcesses(config: StackConfig): Process[] {
  const b = config.backups;
  if (!b.enabled || b.databases.length === 0) return [];
  const docker = config.target !== "kubernetes";
  const common = {
    name: BACKUP_PROCESS,
    role: "backup" as const,
    image: { kind: "backup" } as const,
    env: backupEnv(config),
    secretEnv: backupSecretEnv(config),
    ports: [],
    resources: BACKUP_RESOURCES,
    replicas: 1,
    claims: {},
    user: BACKUP_USER,
    readOnlyRootFs: true,
    dependsOn: ["postgres" as const],
  };
  const config_: VolumeMount = { volume: "backup-config", kind: "config", mountPath: BACKUP_PATHS.dir, readOnly: true };
  if (!docker) {
    const cronJob = (): Omit<Process, "name" | "env" | "secretEnv"> => ({
      ...common,
      command: backupCommand(BACKUP_FILES.script, BACKUP_FILES.settings, ...backupArgs(config)),
      singleton: true,
      stopGraceSeconds: 30,
      schedule: { cron: b.schedule.expression, concurrency: "forbid", timeLimitSeconds: BACKUP_TIME_LIMIT_SECONDS },
      // Room for the largest dump: no bigger than the data volume (or the managed cluster's disk share) it comes from.
      volumes: [config_, { volume: "backup-spool", kind: "scratch", mountPath: BACKUP_PATHS.spool, readOnly: false, sizeMiB: config.data.postgres.volumeSizeGiB * 1024 }, { volume: "tmp", kind: "scratch", mountPath: "/tmp", readOnly: false, memory: true }],
    });
    if (b.managedPostgres) {
      return b.databases.map((app) => {
        // The broker's credentials only where its definitions are exported.
        const broker = exportsDefinitions(config, [app]);
        const { PGHOST: _host, PGPORT: _port, ...env } = backupEnv(config, broker);
        void _host;
        void _port;
        return {
          ...cronJob(),
          // No `app`: the app tiers own the processes with one; this one belongs to the backup.
          name: backupProcessName(app),
          env: { ...env, PGUSER: names.role(app), PGDATABASE: names.database(app), PGSSLMODE: "require" },
          secretEnv: { ...backupSecretEnv(config, broker), PGPASSWORD: { kind: "databasePassword", app } },
          dependsOn: [],
        };
      });
    }
    return [
      {
        ...cronJob(),
        name: BACKUP_PROCESS,
        env: common.env,
        secretEnv: common.secretEnv,
      },
    ];
  }
  return [
    {
      ...common,
      command: ["python3", "-I", BACKUP_FILES.scheduler, BACKUP_FILES.jobs, "--heartbeat", BACKUP_PATHS.heartbeat, "--status", BACKUP_PATHS.status],
      // Liveness restarts a stuck scheduler. Readiness (what Docker reports as the container's health)
      // fails while the last scheduled backup failed or a due one has not succeeded: the Droplet's
      // container-status check turns that into an alert. A restart would forget the failure, so
      // readiness never feeds the restart.
      health: { liveness: { kind: "exec", command: heartbeatProbe(120) }, readiness: { kind: "exec", command: ["python3", "-I", BACKUP_FILES.scheduler, "--probe", BACKUP_PATHS.status] }, timing: HEALTH },
      // Exactly one, or a replacement would run the backup twice.
      singleton: true,
      stopGraceSeconds: SCHEDULER_STOP_GRACE_SECONDS + 5,
      // Media read-only: the backup archives uploads, it never changes them. Dumps go to the container's disk.
      volumes: [config_, ...config.apps.flatMap((a) => mediaMounts(a, `${BACKUP_PATHS.mediaRoot}/${a.name}`, true))],
    },
  ];
}

/** The `backups` stack output: what runs, where the dumps go, or why nothing does. */
export function backupsOutput(config: StackConfig): { enabled: boolean; note: string; bucket?: string; region?: string; schedule?: string; retentionDays?: number } {
  const b = config.backups;
  if (!b.enabled) {
    const note = b.managedPostgres
      ? "managed PostgreSQL: DigitalOcean keeps daily backups with point-in-time recovery; set djangostack:backups.enabled true to add a logical dump"
      : "off: djangostack:backups.enabled is false";
    return { enabled: false, note };
  }
  const runner =
    config.target !== "kubernetes"
      ? `container djangostack-${config.stack}-${BACKUP_PROCESS}`
      : b.managedPostgres
        ? `CronJob${b.databases.length > 1 ? "s" : ""} ${b.databases.map(backupProcessName).join(", ")}`
        : `CronJob ${BACKUP_PROCESS}`;
  const managed = b.managedPostgres ? "; managed PostgreSQL also keeps DigitalOcean's daily backups with point-in-time recovery" : "";
  return {
    enabled: true,
    note: `${runner} dumps ${b.databases.map((a) => names.database(a)).join(", ")} to s3://${b.bucket.name}/${config.stack}/ (${b.bucket.region}) on "${b.schedule.expression}" UTC, kept ${b.retentionDays} days${managed}`,
    bucket: b.bucket.name,
    region: b.bucket.region,
    schedule: b.schedule.expression,
    retentionDays: b.retentionDays,
  };
}
