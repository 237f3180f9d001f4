import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { recordArtifact } from "../../../artifacts";
import { AppConfig, KubernetesConfig, StackConfig } from "../../../config/types";
import { usesDeployedRabbitmq, usesDeployedRedis } from "../../../config/contract";
import { rabbitmqNodeName } from "../../../model/build";
import * as names from "../../../model/names";
import { Process, WorkloadModel } from "../../../model/types";
import { rabbitmqMetrics } from "../../../model/monitoring";
import { DEFAULT_DEFINITIONS_PATH, renderRabbitmqConf } from "../../../render/rabbitmq";
import { renderRedisConf } from "../../../render/redis";
import { DataEndpoints, secretEnvFor, serviceEndpoints } from "../../env";
import { managementPort, postgresInitSql, rabbitmqDefinitions } from "../../rendered";
import { Credentials } from "../../secrets";
import { EgressRule, IngressRule, KubeContext, configMap, labelsOf, networkPolicy, opts, pdb, roleSelector, secret, service } from "./objects";
import { pinnedPublicImage } from "../../pinning";
import { ManagedClusterArgs, managedPostgres, managedValkey } from "../../managed-data";
import { renderManagedGrants } from "../../../render/managed-grants";
import { LABELS, PodOptions, VolumeSource, mainContainer, podTemplate, selectorLabels } from "./workload";

type Input<T> = pulumi.Input<T>;

/**
 * On a one-off Job: a Job that failed is replaced (run again) by the next `up`. pulumi-kubernetes reads
 * the live Job in Diff and replaces it unless it completed; without this the next `up` only waits for
 * the same failed Job again.
 */
export const RERUN_IF_FAILED = { "pulumi.com/replaceUnready": "true" } as const;

/** Roles of the processes that talk to the data services. */
export const APP_ROLES: Process["role"][] = ["web", "worker", "beat", "migrate", "job"];


export interface DataArgs {
  config: StackConfig;
  kubernetes: KubernetesConfig;
  model: WorkloadModel;
  credentials: Credentials;
  ctx: KubeContext;
  vpc: digitalocean.Vpc;
  cluster: digitalocean.KubernetesCluster;
}

/**
 * The data tier (`djangostack:kubernetes:Data`): PostgreSQL and Redis as DigitalOcean managed
 * clusters (PostgreSQL and Valkey, private network, firewalled to the cluster) or as in-cluster
 * StatefulSets; RabbitMQ always as a StatefulSet from the official image.
 */
export class DataTier extends pulumi.ComponentResource {
  readonly endpoints: DataEndpoints;
  /** The stack's credentials with the managed services' passwords in place of the generated ones. */
  readonly credentials: Credentials;
  /** Per-app DATABASE_URL through the managed connection pool (replaces the model's default). */
  readonly databaseUrls: Record<string, pulumi.Output<string>> = {};
  /** Hosts of the managed database clusters (private network); empty when everything runs in-cluster. */
  readonly databaseHosts: pulumi.Output<string>[] = [];
  /** Everything an app must wait for: data services ready, databases created and granted. */
  readonly ready: pulumi.Resource[] = [];
  /** Egress the app pods need to reach the data services. */
  readonly appEgress: EgressRule[] = [];
  /** Env the realizer adds to app processes (only when a managed pool sits in front of PostgreSQL). */
  readonly appEnv: Record<string, string> = {};

  private readonly ctx: KubeContext;
  private readonly args: DataArgs;

  constructor(name: string, args: DataArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:kubernetes:Data", name, {}, opts);
    this.ctx = args.ctx;
    this.args = args;
    const { config } = args;
    const local = serviceEndpoints();
    let creds: Credentials = { ...args.credentials };
    let postgres: DataEndpoints["postgres"] = local.postgres;
    let redis: DataEndpoints["redis"] = local.redis;

    const databaseApps = config.apps.filter((a) => a.database);
    if (databaseApps.length > 0) {
      if (config.data.postgres.mode === "managed") {
        const managed = this.managedPostgres(name, databaseApps);
        creds = { ...creds, databasePasswords: { ...creds.databasePasswords, ...managed.passwords } };
        postgres = managed.endpoint;
      } else {
        this.inClusterPostgres(creds);
      }
    }
    // Each service exists only while an app uses it: external URLs replace it.
    if (config.apps.some(usesDeployedRedis)) {
      if (config.data.redis.mode === "managed") {
        const managed = this.managedValkey(name);
        creds = { ...creds, redisPassword: managed.password };
        redis = managed.endpoint;
      } else {
        this.inClusterRedis(creds);
      }
    }
    if (config.apps.some(usesDeployedRabbitmq)) this.rabbitmq(name, creds);

    this.credentials = creds;
    this.endpoints = { postgres, redis, rabbitmq: local.rabbitmq };
    networkPolicy(this.ctx, "apps-to-data", roleSelector(APP_ROLES), { egress: this.appEgress }, this);
    this.registerOutputs({ databaseHosts: this.databaseHosts });
  }

  private get model(): WorkloadModel {
    return this.args.model;
  }

  private process(name: string): Process {
    const p = this.model.processes.find((x) => x.name === name);
    if (!p) throw new Error(`djangostack: the workload model has no process ${name}`);
    return p;
  }

  /** The managed clusters in the cluster's VPC, reachable from the DOKS cluster (its nodes and pods) only. */
  private managedArgs(): ManagedClusterArgs {
    const m = this.args.kubernetes.maintenance;
    return {
      config: this.args.config,
      vpcId: this.args.vpc.id,
      trustedSources: [{ type: "k8s", value: this.args.cluster.id }],
      maintenanceWindows: m.day === "any" ? undefined : [{ day: m.day, hour: m.startTime }],
    };
  }

  private vpcEgress(port: Input<number>): EgressRule {
    return { to: [{ ipBlock: { cidr: this.args.vpc.ipRange } }], ports: [{ protocol: "TCP", port }] };
  }

  private managedPostgres(name: string, apps: AppConfig[]): { passwords: Record<string, pulumi.Output<string>>; endpoint: DataEndpoints["postgres"] } {
    const managed = managedPostgres(this, name, apps, this.managedArgs());
    this.databaseHosts.push(managed.cluster.privateHost);
    Object.assign(this.databaseUrls, managed.databaseUrls);
    this.ready.push(...managed.pools);
    // With a pool in front, each request borrows a server connection and gives it back: Django
    // must not pin one per thread, or the pool's waiting room fills up with idle sessions.
    this.appEnv.DJANGO_DB_CONN_MAX_AGE = "0";
    this.appEgress.push(this.vpcEgress(managed.cluster.port), this.vpcEgress(managed.poolPort));
    this.ready.push(this.grantsJob(managed.cluster, apps, managed.grantDeps));
    return { passwords: managed.passwords, endpoint: managed.endpoint };
  }

  /** A one-off Job (postgres image, psql as the admin user) applying the grants; reruns whenever they change. */
  private grantsJob(cluster: digitalocean.DatabaseCluster, apps: AppConfig[], deps: pulumi.Resource[]): k8s.batch.v1.Job {
    const { config } = this.args;
    const sql = renderManagedGrants(apps.map((a) => ({ database: names.database(a.name), role: names.role(a.name) })));
    const process: Process = {
      name: "postgres-grants",
      role: "dbinit",
      image: { kind: "public", ref: `postgres:${config.data.postgres.version}-bookworm` },
      command: ["psql", "-v", "ON_ERROR_STOP=1", "-f", "/etc/djangostack/grants/grants.sql"],
      env: { PGDATABASE: "defaultdb", PGSSLMODE: "require", PGCONNECT_TIMEOUT: "10" },
      // The admin password is not one of the model's credentials; the Secret below carries it.
      secretEnv: { PGPASSWORD: { kind: "postgresSuperuserPassword" } },
      ports: [],
      resources: { cpuMillis: 100, memoryMiB: 64 },
      replicas: 1,
      singleton: true,
      stopGraceSeconds: 10,
      volumes: [
        { volume: "grants", kind: "config", mountPath: "/etc/djangostack/grants", readOnly: true },
        { volume: "tmp", kind: "scratch", mountPath: "/tmp", readOnly: false, memory: true },
      ],
      claims: {},
      user: "999:999",
      readOnlyRootFs: true,
      dependsOn: [],
    };
    const labels = labelsOf(this.ctx, process);
    const sqlMap = configMap(this.ctx, names.kube.configMaps.postgresGrantsSql, { "grants.sql": sql }, this, labels);
    const connection = configMap(this.ctx, names.kube.configMaps.postgresGrantsEnv, { ...process.env, PGHOST: cluster.privateHost, PGPORT: cluster.port.apply(String), PGUSER: cluster.user }, this, labels);
    const admin = secret(this.ctx, names.kube.secrets.postgresGrants, { PGPASSWORD: pulumi.secret(cluster.password) }, this, labels);
    networkPolicy(this.ctx, "postgres-grants", { matchLabels: selectorLabels(process, this.ctx.stack) }, { egress: [this.vpcEgress(cluster.port)] }, this);
    return this.job(process, {
      image: pinnedPublicImage(process, this),
      configMaps: [connection.metadata.name],
      secretName: admin.metadata.name,
      volumes: { sources: { grants: { volume: { configMap: { name: sqlMap.metadata.name } } } }, memoryScratchMiB: 16 },
    }, deps);
  }

  private managedValkey(name: string): { password: pulumi.Output<string>; endpoint: DataEndpoints["redis"] } {
    const managed = managedValkey(this, name, this.managedArgs());
    this.databaseHosts.push(managed.cluster.privateHost);
    this.ready.push(...managed.ready);
    this.appEgress.push(this.vpcEgress(managed.cluster.port));
    return { password: managed.password, endpoint: managed.endpoint };
  }

  /** ConfigMap of a process's plain env (when it has any) and Secret of its secret env. */
  private envObjects(process: Process, creds: Credentials, extra: Record<string, Input<string>> = {}): { configMaps: Input<string>[]; secretName?: Input<string> } {
    const labels = labelsOf(this.ctx, process);
    const plain = { ...process.env, ...extra };
    const configMaps = Object.keys(plain).length > 0 ? [configMap(this.ctx, names.kube.processEnv(process.name), plain, this, labels).metadata.name] : [];
    const values = secretEnvFor(process, this.args.config.apps, creds, serviceEndpoints());
    const secretName = Object.keys(values).length > 0 ? secret(this.ctx, names.kube.processEnv(process.name), values, this, labels).metadata.name : undefined;
    return { configMaps, secretName };
  }

  private statefulSet(process: Process, pod: Omit<PodOptions, "labels">, claims: { name: string; sizeGiB: number }[]): k8s.apps.v1.StatefulSet {
    const ctx = this.ctx;
    const labels = labelsOf(ctx, process);
    const svc = service(ctx, process, this, { headless: true });
    pdb(ctx, process, this);
    return new k8s.apps.v1.StatefulSet(
      `${ctx.name}-${process.name}`,
      {
        metadata: { name: process.name, namespace: ctx.namespace, labels },
        spec: {
          serviceName: svc.metadata.name,
          replicas: 1,
          selector: { matchLabels: selectorLabels(process, ctx.stack) },
          updateStrategy: { type: "RollingUpdate" },
          podManagementPolicy: "OrderedReady",
          // Deleting the StatefulSet keeps the claims (and the Retain class keeps the disks).
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          template: podTemplate({ ...pod, labels }),
          volumeClaimTemplates: claims.map((c) => ({
            metadata: { name: c.name, labels },
            spec: { accessModes: ["ReadWriteOnce"], storageClassName: ctx.storageClass, resources: { requests: { storage: `${c.sizeGiB}Gi` } } },
          })),
        },
      },
      // The name is fixed (it is the DNS name apps use), so a replacing change deletes first.
      // Claim templates are immutable and an existing claim is never resized through them: a new
      // volumeSize is applied by expanding the PVC (see docs/kubernetes.md, "Data tier"), not by replacing the set.
      opts(ctx, this, { deleteBeforeReplace: true, ignoreChanges: ["spec.volumeClaimTemplates"] }),
    );
  }

  private job(process: Process, pod: Omit<PodOptions, "labels" | "process">, deps: pulumi.Resource[]): k8s.batch.v1.Job {
    const ctx = this.ctx;
    const labels = labelsOf(ctx, process);
    return new k8s.batch.v1.Job(
      `${ctx.name}-${process.name}`,
      {
        metadata: { name: process.name, namespace: ctx.namespace, labels, annotations: RERUN_IF_FAILED },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 600,
          template: podTemplate({ ...pod, process, labels, restartPolicy: "Never", probes: false }),
        },
      },
      // Its pod template names the content-addressed ConfigMap and Secret: any change replaces the
      // Job (same name, so delete first) and it runs again. Never ttlSecondsAfterFinished: Pulumi would
      // see the finished Job gone and run it again on the next deploy.
      opts(ctx, this, { deleteBeforeReplace: true, dependsOn: deps }),
    );
  }

  private inClusterPostgres(creds: Credentials): void {
    const { config } = this.args;
    const pg = this.process(names.POSTGRES);
    const env = this.envObjects(pg, creds);
    const set = this.statefulSet(
      pg,
      { process: pg, image: pinnedPublicImage(pg, this), ...env, volumes: { sources: {}, claims: new Set([names.volume.postgres]), memoryScratchMiB: 64 } },
      [{ name: names.volume.postgres, sizeGiB: config.data.postgres.volumeSizeGiB }],
    );
    // The init Job is its own pod and cannot share the server's socket: it logs in over TCP with the
    // bootstrap password, which never rotates, so the superuser keeps it and app roles still rotate.
    const modelInit = this.process(names.POSTGRES_INIT);
    const roleSecrets = Object.entries(modelInit.secretEnv).filter(([key]) => key !== names.SUPERUSER.passwordEnv);
    const init: Process = {
      ...modelInit,
      env: { ...modelInit.env, PGHOST: names.POSTGRES },
      secretEnv: { ...Object.fromEntries(roleSecrets), PGPASSWORD: { kind: "postgresBootstrapPassword" } },
      volumes: modelInit.volumes.filter((v) => v.kind !== "socket"),
    };
    const sql = postgresInitSql(config.apps, false);
    const sqlMap = configMap(this.ctx, names.kube.configMaps.postgresInitSql, { "init.sql": sql }, this, labelsOf(this.ctx, init));
    const initEnv = this.envObjects(init, creds);
    this.ready.push(
      set,
      this.job(init, { image: pinnedPublicImage(init, this), ...initEnv, volumes: { sources: { "postgres-init": { volume: { configMap: { name: sqlMap.metadata.name } } } }, memoryScratchMiB: 16 } }, [set]),
    );
    // The scheduled backup (src/components/targets/kubernetes/backup.ts) dumps every database.
    const backup = this.model.processes.some((p) => p.role === "backup");
    this.ingressFromApps(pg, [...APP_ROLES, "dbinit", ...(backup ? (["backup"] as const) : [])]);
    networkPolicy(this.ctx, "dbinit-to-postgres", roleSelector(["dbinit"]), { egress: [toRole("postgres", 5432)] }, this);
    this.appEgress.push(toRole("postgres", 5432));
  }

  private inClusterRedis(creds: Credentials): void {
    const { config } = this.args;
    const rd = this.process(names.REDIS);
    const conf = configMap(this.ctx, names.kube.configMaps.redisConfig, { "redis.conf": renderRedisConf(config.data.redis) }, this, labelsOf(this.ctx, rd));
    const env = this.envObjects(rd, creds);
    const set = this.statefulSet(
      rd,
      {
        process: rd,
        image: pinnedPublicImage(rd, this),
        ...env,
        volumes: { sources: { "redis-config": { volume: { configMap: { name: conf.metadata.name } } } }, claims: new Set([names.volume.redis]), memoryScratchMiB: 16 },
      },
      [{ name: names.volume.redis, sizeGiB: config.data.redis.volumeSizeGiB }],
    );
    this.ready.push(set);
    this.ingressFromApps(rd, APP_ROLES);
    this.appEgress.push(toRole("redis", 6379));
  }

  private rabbitmq(name: string, creds: Credentials): void {
    const { config } = this.args;
    const modelMq = this.process(names.RABBITMQ);
    // The StatefulSet controller names its one pod, and that pod's hostname, <set name>-0 whatever the
    // template says; the node is named after that host: the name its data directory has always had,
    // and one the pod's /etc/hosts resolves (the headless Service lists no pod before it is ready).
    const podHost = `${modelMq.name}-0`;
    const mq: Process = { ...modelMq, env: { ...modelMq.env, RABBITMQ_NODENAME: rabbitmqNodeName(podHost) } };
    const labels = labelsOf(this.ctx, mq);
    const conf = renderRabbitmqConf(config.data.rabbitmq, { definitionsPath: DEFAULT_DEFINITIONS_PATH, ...managementPort(config), metricsPort: rabbitmqMetrics(config)?.port });
    const confMap = configMap(this.ctx, names.kube.configMaps.rabbitmqConfig, { "10-djangostack.conf": conf }, this, labels);
    const definitions = rabbitmqDefinitions(config.apps, creds);
    // Secrets are written masked: the definitions (password hashes) are recorded with placeholders.
    recordArtifact("rabbitmq/definitions.json", definitions.masked);
    const definitionsSecret = secret(this.ctx, names.kube.secrets.rabbitmqDefinitions, { "definitions.json": definitions.content }, this, labels);
    const cookie = new random.RandomPassword(`${name}-rabbitmq-erlang-cookie`, { length: 32, special: false, keepers: { rotation: String(config.secrets.rotation) } }, { parent: this });
    const cookieSecret = secret(this.ctx, names.kube.secrets.rabbitmqErlangCookie, { ".erlang.cookie": pulumi.secret(cookie.result) }, this, labels);
    const configDir = mq.volumes.find((v) => v.volume === "rabbitmq-config");
    if (!configDir || `${configDir.mountPath}/definitions.json` !== DEFAULT_DEFINITIONS_PATH) throw new Error("djangostack: rabbitmq config volume must hold the definitions file");
    const sources: Record<string, VolumeSource> = {
      // One directory from two objects: the config from a ConfigMap, the definitions from a Secret.
      "rabbitmq-config": {
        volume: {
          projected: {
            defaultMode: 0o440,
            sources: [{ configMap: { name: confMap.metadata.name } }, { secret: { name: definitionsSecret.metadata.name } }],
          },
        },
      },
    };
    const dataDir = mq.volumes.find((v) => v.kind === "data");
    if (!dataDir) throw new Error("djangostack: rabbitmq needs a data volume");
    const env = this.envObjects(mq, creds);
    const image = pinnedPublicImage(mq, this);
    // The Erlang cookie must be readable by its owner only; a Secret mount cannot guarantee that,
    // so an init container copies it onto the data volume with mode 0400.
    const cookieInit = mainContainer(
      {
        process: { ...mq, command: ["sh", "-c", `rm -f ${dataDir.mountPath}/.erlang.cookie && cp /run/erlang-cookie/.erlang.cookie ${dataDir.mountPath}/.erlang.cookie && chmod 0400 ${dataDir.mountPath}/.erlang.cookie`], secretEnv: {}, health: undefined, readOnlyRootFs: true, resources: { cpuMillis: 50, memoryMiB: 32 } },
        image,
        labels: {},
        configMaps: [],
        volumes: { sources: {}, memoryScratchMiB: 16 },
        probes: false,
        ports: [],
      },
      [
        { name: dataDir.volume, mountPath: dataDir.mountPath },
        { name: "erlang-cookie", mountPath: "/run/erlang-cookie", readOnly: true },
      ],
    );
    const set = this.statefulSet(
      mq,
      {
        process: mq,
        image,
        ...env,
        volumes: { sources, claims: new Set([dataDir.volume]), memoryScratchMiB: 16 },
        initContainers: [{ ...cookieInit, name: "erlang-cookie" }],
        extraVolumes: [{ name: "erlang-cookie", secret: { secretName: cookieSecret.metadata.name, defaultMode: 0o400 } }],
      },
      [{ name: dataDir.volume, sizeGiB: config.data.rabbitmq.volumeSizeGiB }],
    );
    this.ready.push(set);
    // The apps reach AMQP only; the management API (there when the backup exports the definitions) only the backup.
    this.ingressFromApps(mq, APP_ROLES, ["amqp"], mq.ports.some((p) => p.name === "management") ? [{ from: [{ podSelector: roleSelector(["backup"]) }], ports: [{ protocol: "TCP", port: names.RABBITMQ_MANAGEMENT_PORT }] }] : []);
    this.appEgress.push(toRole("rabbitmq", 5672));
  }

  private ingressFromApps(process: Process, roles: Process["role"][], portNames?: string[], more: IngressRule[] = []): void {
    const ports = process.ports.filter((p) => !portNames || portNames.includes(p.name));
    networkPolicy(
      this.ctx,
      `${process.name}-ingress`,
      { matchLabels: selectorLabels(process, this.ctx.stack) },
      { ingress: [{ from: [{ podSelector: roleSelector(roles) }], ports: ports.map((p) => ({ protocol: "TCP", port: p.port })) }, ...more] },
      this,
    );
  }
}

function toRole(role: Process["role"], port: number): EgressRule {
  return { to: [{ podSelector: { matchLabels: { [LABELS.role]: role } } }], ports: [{ protocol: "TCP", port }] };
}
