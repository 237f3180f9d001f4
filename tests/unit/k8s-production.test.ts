import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { containsSecret, isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { OFFLINE_LOAD_BALANCER_IP } from "../../src/offline/fakes-kubernetes";
import { buildModel } from "../../src/model/build";
import { parseConfig } from "../../src/config/schema";
import { readStackFiles } from "../../src/offline/stackfiles";
import { REPO_ROOT } from "../../src/offline/render";
import { Raw } from "../../src/config/checker";
import { loadBalancedNginx } from "../../src/components/targets/kubernetes/edge";

type Obj = Record<string, unknown>;
type Container = { name: string; image: string; command?: string[]; env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; envFrom?: { configMapRef?: { name: string } }[]; securityContext: Obj; resources: { requests: Obj; limits: Obj }; livenessProbe?: Obj; readinessProbe?: Obj; startupProbe?: Obj; volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[]; lifecycle?: Obj };
type PodSpec = { containers: Container[]; initContainers?: Container[]; securityContext: Obj; automountServiceAccountToken?: boolean; terminationGracePeriodSeconds: number; nodeSelector?: Obj; imagePullSecrets?: { name: string }[]; volumes?: (Obj & { name: string })[] };

const K = {
  ns: "kubernetes:core/v1:Namespace",
  cm: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  svc: "kubernetes:core/v1:Service",
  deploy: "kubernetes:apps/v1:Deployment",
  sts: "kubernetes:apps/v1:StatefulSet",
  job: "kubernetes:batch/v1:Job",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  provider: "pulumi:providers:kubernetes",
};
const DO = {
  vpc: "digitalocean:index/vpc:Vpc",
  cluster: "digitalocean:index/kubernetesCluster:KubernetesCluster",
  pool: "digitalocean:index/kubernetesNodePool:KubernetesNodePool",
  db: "digitalocean:index/databaseCluster:DatabaseCluster",
  dbDb: "digitalocean:index/databaseDb:DatabaseDb",
  dbUser: "digitalocean:index/databaseUser:DatabaseUser",
  dbPool: "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool",
  firewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
  valkeyConfig: "digitalocean:index/databaseValkeyConfig:DatabaseValkeyConfig",
  cert: "digitalocean:index/certificate:Certificate",
  dns: "digitalocean:index/dnsRecord:DnsRecord",
  registry: "digitalocean:index/containerRegistry:ContainerRegistry",
};
const APP_IMAGE = /^registry\.digitalocean\.com\/djangostack\/production-web:production@sha256:[0-9a-f]{64}$/;
const LB = "service.beta.kubernetes.io/do-loadbalancer-";

const ofType = (e: Evaluation, type: string) => e.engine.resources.filter((r) => r.type === type);
function one(e: Evaluation, type: string, pred: (r: RecordedResource) => boolean = () => true): RecordedResource {
  const found = ofType(e, type).filter(pred);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0];
}
const meta = (r: RecordedResource) => (r.inputs.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const named = (e: Evaluation, type: string, name: string) => one(e, type, (r) => meta(r).name === name);
const spec = (r: RecordedResource) => r.inputs.spec as Obj;
const podOf = (r: RecordedResource): PodSpec => ((spec(r).template as Obj).spec as PodSpec);
const workloads = (e: Evaluation) => [...ofType(e, K.deploy), ...ofType(e, K.sts), ...ofType(e, K.job)];
const allContainers = (p: PodSpec) => [...(p.initContainers ?? []), ...p.containers];
/** Auto-named objects: resource name `production-<x>`; the fake provider names them `production-<x>-<8 hex>`. */
const byResource = (e: Evaluation, type: string, resourceName: string) => one(e, type, (r) => r.name === resourceName);
/** A pod volume by name, typed as the test expects it to be. */
function volumeOf<T>(pod: PodSpec, name: string | undefined): T {
  const v = pod.volumes?.find((x) => x.name === name);
  assert.ok(v, `no volume ${name}`);
  return v as unknown as T;
}
function secretData(e: Evaluation, k8sName: string): Record<string, string> {
  const s = one(e, K.secret, (r) => k8sName.startsWith(`${r.name}-`));
  assert.ok(isWireSecret(s.inputs.stringData), `Secret ${s.name}: stringData reaches the engine as a secret`);
  return unwrapSecrets(s.inputs.stringData) as Record<string, string>;
}
function configData(e: Evaluation, k8sName: string): Record<string, string> {
  return one(e, K.cm, (r) => k8sName.startsWith(`${r.name}-`)).inputs.data as Record<string, string>;
}
const mainOf = (r: RecordedResource) => podOf(r).containers[0];
/** Env of a container as the pod sees it: ConfigMaps (envFrom) then Secret keys. */
function envOf(e: Evaluation, c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) Object.assign(env, configData(e, String(from.configMapRef?.name)));
  for (const v of c.env ?? []) {
    const ref = v.valueFrom?.secretKeyRef;
    if (ref) env[v.name] = secretData(e, ref.name)[ref.key];
  }
  return env;
}

/** The production stack's validated config, decoded from Pulumi.production.yaml as the CLI hands it over. */
function productionConfig() {
  const raw = Object.fromEntries(
    Object.entries(readStackFiles(REPO_ROOT, "production").config)
      .filter(([k]) => k.startsWith("djangostack:"))
      .map(([k, v]) => [k.slice("djangostack:".length), /^[[{]/.test(v) ? JSON.parse(v) : v]),
  ) as Raw;
  return parseConfig(raw, { project: "djangostack", stack: "production" });
}

async function evaluate(extra?: Record<string, unknown>): Promise<Evaluation> {
  return evaluateStack({ stack: "production", extraConfig: extra });
}

describe("production stack (kubernetes target, managed data) under the offline engine", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluate();
  });

  describe("1. cluster", () => {
    it("puts the DOKS cluster in the VPC by id, on the newest version of the configured prefix, auto-upgrading with surge in the window", () => {
      const vpc = one(ev, DO.vpc);
      const cluster = one(ev, DO.cluster);
      assert.equal(cluster.inputs.vpcUuid, `${vpc.name}-id`, "vpc.id, not the URN");
      assert.equal(cluster.inputs.version, "1.33.5-do.0", "latest of the fake 1.33.x list");
      assert.equal(cluster.inputs.autoUpgrade, true);
      assert.equal(cluster.inputs.surgeUpgrade, true);
      assert.equal(cluster.inputs.ha, true);
      assert.deepEqual(cluster.inputs.maintenancePolicy, { day: "sunday", startTime: "03:00" });
      assert.equal(cluster.inputs.registryIntegration, true);
      assert.equal(cluster.inputs.region, "fra1");
    });

    it("records protect on the cluster's resource options (captured by the engine's stack transformation)", () => {
      assert.equal(one(ev, DO.cluster).options.protect, true);
    });

    it("keeps the default pool small and fixed, and runs workloads on a separate autoscaling pool", () => {
      const cluster = one(ev, DO.cluster);
      const system = cluster.inputs.nodePool as Obj;
      assert.equal(system.autoScale, false);
      assert.equal(system.nodeCount, 2);
      assert.deepEqual(system.labels, { "djangostack.io/pool": "system" });
      const pool = one(ev, DO.pool);
      assert.equal(pool.inputs.clusterId, `${cluster.name}-id`);
      assert.equal(pool.inputs.autoScale, true);
      assert.equal(pool.inputs.minNodes, 2);
      assert.equal(pool.inputs.maxNodes, 6);
      assert.equal(pool.inputs.size, "s-4vcpu-8gb");
      assert.deepEqual(pool.inputs.labels, { "djangostack.io/pool": "workload" });
      assert.deepEqual(pool.options.ignoreChanges, ["nodeCount"], "the cluster autoscaler owns the count");
      for (const w of workloads(ev)) assert.deepEqual(podOf(w).nodeSelector, { "djangostack.io/pool": "workload" }, `${w.name} runs on the workload pool`);
    });

    it("uses the existing DOCR registry (create: false) and pushes images pinned by digest", () => {
      assert.equal(ofType(ev, DO.registry).length, 0);
      for (const d of ofType(ev, K.deploy).filter((r) => meta(r).labels?.["djangostack.io/app"] === "web")) assert.match(mainOf(d).image, APP_IMAGE);
    });
  });

  describe("2. kubernetes provider", () => {
    it("uses a doctl exec-plugin kubeconfig (secret, no token) with clusterIdentifier = cluster id and server-side apply", () => {
      const provider = one(ev, K.provider);
      const cluster = one(ev, DO.cluster);
      assert.ok(isWireSecret(provider.inputs.kubeconfig), "kubeconfig is secret");
      const kubeconfig = String(unwrapSecrets(provider.inputs.kubeconfig));
      const doc = YAML.parse(kubeconfig) as { users: { user: { exec: { command: string; args: string[] } } }[]; clusters: { cluster: { server: string } }[] };
      assert.equal(doc.users[0].user.exec.command, "doctl");
      assert.ok(doc.users[0].user.exec.args.includes(`${cluster.name}-id`), "the exec plugin names the cluster id");
      assert.match(doc.clusters[0].cluster.server, /^https:\/\/.+\.k8s\.ondigitalocean\.com$/);
      assert.ok(!/dop_v1_|token:/.test(kubeconfig), "the 7-day token from kubeConfigs never reaches the provider");
      assert.equal(unwrapSecrets(provider.inputs.clusterIdentifier), `${cluster.name}-id`);
      assert.equal(String(unwrapSecrets(provider.inputs.enableServerSideApply)), "true");
    });

    it("places every Kubernetes object through that provider", () => {
      const provider = one(ev, K.provider);
      const objects = ev.engine.resources.filter((r) => r.type.startsWith("kubernetes:"));
      assert.ok(objects.length > 30);
      for (const r of objects) assert.equal(r.options.provider, provider.name, `${r.type} ${r.name}`);
    });
  });

  describe("3. data tier (managed)", () => {
    it("creates managed PostgreSQL on the private network, protected, with a database, user and session pool per app", () => {
      const vpc = one(ev, DO.vpc);
      const pg = one(ev, DO.db, (r) => r.inputs.engine === "pg");
      assert.equal(pg.inputs.privateNetworkUuid, `${vpc.name}-id`);
      assert.equal(pg.inputs.version, "16");
      assert.equal(pg.inputs.nodeCount, 2);
      assert.equal(pg.options.protect, true);
      assert.equal(one(ev, DO.dbDb).inputs.name, "web_db");
      assert.equal(one(ev, DO.dbUser).inputs.name, "web_user");
      const pool = one(ev, DO.dbPool);
      assert.deepEqual({ mode: pool.inputs.mode, dbName: pool.inputs.dbName, user: pool.inputs.user }, { mode: "session", dbName: "web_db", user: "web_user" });
      assert.match(String(pool.inputs.name), /^web_db_pool_[0-9a-f]{8}$/, "named by a hash of its replace-forcing fields");
    });

    it("creates managed Valkey (DigitalOcean's cache engine) with TLS and the configured eviction policy", () => {
      const valkey = one(ev, DO.db, (r) => r.inputs.engine === "valkey");
      assert.equal(valkey.inputs.privateNetworkUuid, `${one(ev, DO.vpc).name}-id`);
      const settings = one(ev, DO.valkeyConfig);
      assert.equal(settings.inputs.clusterId, `${valkey.name}-id`);
      assert.equal(settings.inputs.ssl, true);
      assert.equal(settings.inputs.valkeyMaxmemoryPolicy, "allkeys-lru");
    });

    it("lets only the DOKS cluster through both database firewalls", () => {
      const cluster = one(ev, DO.cluster);
      const firewalls = ofType(ev, DO.firewall);
      assert.equal(firewalls.length, 2);
      for (const fw of firewalls) assert.deepEqual(fw.inputs.rules, [{ type: "k8s", value: `${cluster.name}-id` }]);
      assert.deepEqual(firewalls.map((f) => f.inputs.clusterId).sort(), ofType(ev, DO.db).map((d) => `${d.name}-id`).sort());
    });

    it("wires DATABASE_URL through the pool with the DigitalOcean user's password and TLS; REDIS_URL to Valkey over TLS", () => {
      const web = named(ev, K.deploy, "web-web");
      const env = envOf(ev, mainOf(web));
      const userPassword = String(unwrapSecrets((one(ev, DO.dbUser).inputs as Obj).password ?? "")) || undefined;
      assert.equal(userPassword, undefined, "the password is a provider output, not an input");
      const db = new URL(env.DATABASE_URL);
      assert.equal(db.protocol, "postgres:");
      assert.equal(db.username, "web_user");
      assert.match(db.password, /^offline[0-9a-f]{24}$/, "the DatabaseUser's generated password (fake), not a RandomPassword");
      assert.match(db.hostname, /^private-pool-/);
      assert.equal(db.port, "25061");
      assert.equal(db.pathname, `/${String(one(ev, DO.dbPool).inputs.name)}`);
      assert.equal(db.searchParams.get("sslmode"), "require");
      const redis = new URL(env.REDIS_URL);
      assert.equal(redis.protocol, "rediss:");
      assert.equal(redis.username, "default");
      assert.match(redis.hostname, /^private-djangostack-production-valkey/);
      assert.equal(env.DJANGO_DB_CONN_MAX_AGE, "0", "behind a session pool Django does not pin connections");
      assert.equal(new URL(env.CELERY_BROKER_URL).hostname, "rabbitmq");
    });

    it("grants the DigitalOcean-created role its database in a Job that runs before any migration", () => {
      const grants = named(ev, K.job, "postgres-grants");
      for (const dep of [one(ev, DO.dbDb), one(ev, DO.dbUser), one(ev, DO.dbPool)]) assert.ok(grants.options.dependsOn.includes(dep.name), `grants wait for ${dep.name}`);
      const sqlVolume = volumeOf<{ configMap: { name: string } }>(podOf(grants), "grants");
      assert.match(configData(ev, sqlVolume.configMap.name)["grants.sql"], /GRANT USAGE, CREATE ON SCHEMA public TO "web_user";/);
      assert.equal(envOf(ev, mainOf(grants)).PGSSLMODE, "require");
      const migrate = one(ev, K.job, (r) => /^web-migrate-/.test(String(meta(r).name)));
      assert.ok(migrate.options.dependsOn.includes(grants.name));
    });
  });

  describe("3b. RabbitMQ", () => {
    it("runs the official image as a StatefulSet with a headless Service, PDB, PVC and diagnostics probes", () => {
      const sts = named(ev, K.sts, "rabbitmq");
      const c = mainOf(sts);
      assert.match(c.image, /^rabbitmq:3\.13-alpine@sha256:[0-9a-f]{64}$/);
      assert.deepEqual((c.livenessProbe as { exec: { command: string[] } }).exec.command, ["rabbitmq-diagnostics", "-q", "ping"]);
      const svc = named(ev, K.svc, "rabbitmq");
      assert.equal(spec(svc).clusterIP, "None");
      assert.equal(spec(sts).serviceName, "rabbitmq");
      const claims = spec(sts).volumeClaimTemplates as { spec: { storageClassName: string; resources: { requests: { storage: string } } } }[];
      assert.equal(claims[0].spec.resources.requests.storage, "10Gi");
      assert.equal(claims[0].spec.storageClassName, "shop-retain");
      assert.equal(named(ev, "kubernetes:storage.k8s.io/v1:StorageClass", "shop-retain").inputs.reclaimPolicy, "Retain");
      named(ev, K.pdb, "rabbitmq");
      assert.deepEqual(sts.options.ignoreChanges, ["spec.volumeClaimTemplates"], "a volumeSize change never replaces the StatefulSet");
    });

    it("loads per-app vhost/user definitions (no guest) from a Secret and the rendered config (watermark, disk limit) from a ConfigMap", () => {
      const pod = podOf(named(ev, K.sts, "rabbitmq"));
      const projected = volumeOf<{ projected: { sources: { configMap?: { name: string }; secret?: { name: string } }[] } }>(pod, "rabbitmq-config");
      const cmName = String(projected.projected.sources.find((s) => s.configMap)?.configMap?.name);
      const secretName = String(projected.projected.sources.find((s) => s.secret)?.secret?.name);
      const conf = configData(ev, cmName)["10-djangostack.conf"];
      assert.match(conf, /vm_memory_high_watermark\.relative = 0\.6/);
      assert.match(conf, new RegExp(`disk_free_limit\\.absolute = ${2048 * 1024 * 1024}`));
      const defs = JSON.parse(secretData(ev, secretName)["definitions.json"]) as { users: { name: string }[]; permissions: { user: string; vhost: string }[] };
      assert.ok(!defs.users.some((u) => u.name === "guest"));
      assert.ok(defs.permissions.some((p) => p.user === "web_broker" && p.vhost === "/web"));
      const cookieInit = pod.initContainers?.find((c) => c.name === "erlang-cookie");
      assert.ok(cookieInit?.command?.join(" ").includes("chmod 0400"), "the Erlang cookie from its Secret lands owner-only");
    });
  });

  describe("4. app tier", () => {
    it("runs gunicorn with the rendered config from a ConfigMap, behind a Service named like the nginx upstream", () => {
      const web = named(ev, K.deploy, "web-web");
      const c = mainOf(web);
      assert.deepEqual(c.command, ["gunicorn", "--config", "/etc/djangostack/gunicorn.conf.py", "config.wsgi:application"]);
      const mount = c.volumeMounts?.find((m) => m.mountPath === "/etc/djangostack");
      const volume = volumeOf<{ configMap: { name: string } }>(podOf(web), mount?.name);
      assert.match(configData(ev, volume.configMap.name)["gunicorn.conf.py"], /bind = \["0\.0\.0\.0:8000"\]/);
      const svc = named(ev, K.svc, "web-web");
      assert.deepEqual((spec(svc).ports as Obj[]).map((p) => p.port), [8000]);
      assert.deepEqual(spec(svc).selector, (spec(web).selector as { matchLabels: Obj }).matchLabels);
    });

    it("autoscales web with an autoscaling/v2 HPA (no replica count in the Deployment), rolls with maxUnavailable 0, has a PDB", () => {
      const web = named(ev, K.deploy, "web-web");
      assert.equal(spec(web).replicas, undefined, "the HPA owns replicas");
      assert.deepEqual(spec(web).strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      const hpa = named(ev, K.hpa, "web-web");
      assert.equal(spec(hpa).minReplicas, 3);
      assert.equal(spec(hpa).maxReplicas, 10);
      assert.deepEqual(spec(hpa).scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "web-web" });
      assert.deepEqual((spec(hpa).metrics as Obj[])[0], { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } });
      assert.equal(spec(named(ev, K.pdb, "web-web")).maxUnavailable, 1);
      assert.ok(ofType(ev, "kubernetes:helm.sh/v3:Release").some((r) => r.inputs.chart === "metrics-server"), "metrics-server feeds the HPA");
    });

    it("gives each Celery pool its own Deployment with grace >= task time limit and heartbeat/ready-file probes", () => {
      const limits: Record<string, number> = { "web-worker-default": 300, "web-worker-emails": 120 };
      for (const [name, limit] of Object.entries(limits)) {
        const w = named(ev, K.deploy, name);
        assert.ok(podOf(w).terminationGracePeriodSeconds >= limit, `${name} grace ${podOf(w).terminationGracePeriodSeconds} >= ${limit}`);
        assert.equal(podOf(w).terminationGracePeriodSeconds, limit + 30);
        const c = mainOf(w);
        const probes = JSON.stringify([c.livenessProbe, c.readinessProbe, c.startupProbe]);
        assert.match(probes, /worker\.heartbeat/);
        assert.match(probes, /worker\.ready/);
        assert.ok(!/inspect/.test(probes), "never celery inspect ping");
      }
      assert.equal(spec(named(ev, K.deploy, "web-worker-default")).replicas, 2);
    });

    it("runs beat as exactly one replica with the Recreate strategy", () => {
      const beat = named(ev, K.deploy, "web-beat");
      assert.equal(spec(beat).replicas, 1);
      assert.deepEqual(spec(beat).strategy, { type: "Recreate" });
      assert.ok(!ofType(ev, K.hpa).some((h) => meta(h).name === "web-beat"));
    });

    it("names the migration Job by the image digest and rolls web, workers and beat only after it", () => {
      const web = named(ev, K.deploy, "web-web");
      const digest = /@sha256:([0-9a-f]{64})$/.exec(mainOf(web).image)?.[1] ?? "";
      const job = named(ev, K.job, `web-migrate-${digest.slice(0, 10)}`);
      assert.equal(mainOf(job).image, mainOf(web).image, "migrations run the new image");
      assert.match(String(mainOf(job).command?.join(" ")), /manage\.py migrate --noinput/);
      assert.equal((spec(job).template as { spec: { restartPolicy: string } }).spec.restartPolicy, "Never");
      assert.equal(spec(job).ttlSecondsAfterFinished, undefined, "a deleted Job would be re-created (and re-run) by Pulumi");
      assert.equal(job.options.deleteBeforeReplace, true);
      for (const name of ["web-web", "web-worker-default", "web-worker-emails", "web-beat"]) assert.ok(named(ev, K.deploy, name).options.dependsOn.includes(job.name), `${name} depends on ${job.name}`);
      const gate = podOf(web).initContainers?.find((c) => c.name === "migrations-applied");
      assert.deepEqual(gate?.command, ["python", "manage.py", "migrate", "--check"]);
    });

    it("keeps plain config in ConfigMaps and every credential in a Secret, referenced per key (no env literal)", () => {
      const secretKeys = ["DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_SECRET_KEY"];
      for (const w of workloads(ev)) {
        for (const c of allContainers(podOf(w))) {
          for (const v of c.env ?? []) assert.ok(v.valueFrom?.secretKeyRef && v.value === undefined, `${w.name}/${c.name}: ${v.name} is a secretKeyRef`);
        }
      }
      for (const cm of ofType(ev, K.cm)) {
        const data = cm.inputs.data as Record<string, string>;
        assert.ok(!containsSecret(data), `ConfigMap ${cm.name} holds no secret`);
        for (const k of secretKeys) assert.ok(!(k in data), `ConfigMap ${cm.name} has no ${k}`);
        for (const v of Object.values(data)) assert.ok(!/offline[0-9a-f]{20}/.test(v), `ConfigMap ${cm.name} holds no generated password`);
      }
      const env = envOf(ev, mainOf(named(ev, K.deploy, "web-web")));
      for (const k of secretKeys) assert.ok(env[k], `web has ${k}`);
      assert.equal(env.DJANGO_ALLOWED_HOSTS.split(",")[0], "shop.example.com");
    });
  });

  describe("5. hardening", () => {
    it("hardens every pod and container: non-root, seccomp, no escalation, no capabilities, no token, memory limit = request", () => {
      const model = buildModel(productionConfig());
      for (const w of workloads(ev)) {
        const pod = podOf(w);
        assert.equal(pod.automountServiceAccountToken, false, `${w.name}: no service account token`);
        assert.equal(pod.securityContext.runAsNonRoot, true, w.name);
        assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" }, w.name);
        for (const c of allContainers(pod)) {
          const sc = c.securityContext as { allowPrivilegeEscalation: boolean; capabilities: { drop: string[] }; readOnlyRootFilesystem: boolean; runAsNonRoot: boolean };
          assert.equal(sc.allowPrivilegeEscalation, false, `${w.name}/${c.name}`);
          assert.deepEqual(sc.capabilities.drop, ["ALL"], `${w.name}/${c.name}`);
          assert.equal(sc.runAsNonRoot, true);
          assert.ok(c.resources.requests.cpu, `${w.name}/${c.name} requests CPU`);
          assert.equal(c.resources.limits.memory, c.resources.requests.memory, `${w.name}/${c.name} memory limit = request`);
          const process = model.processes.find((p) => p.name === (meta(w).labels ?? {})["app.kubernetes.io/name"]);
          const expectReadOnly = c.name === pod.containers[0].name && process ? process.readOnlyRootFs : true;
          assert.equal(sc.readOnlyRootFilesystem, expectReadOnly, `${w.name}/${c.name} read-only root as the model says`);
        }
      }
      const web = podOf(named(ev, K.deploy, "web-web"));
      assert.equal(web.securityContext.runAsUser, 10001);
      assert.equal(web.securityContext.fsGroup, 10001);
      const tmp = volumeOf<{ emptyDir: { medium: string } }>(web, "tmp");
      assert.equal(tmp.emptyDir.medium, "Memory", "gunicorn's scratch dir is memory-backed");
      const rabbit = podOf(named(ev, K.sts, "rabbitmq"));
      assert.equal(rabbit.containers[0].securityContext.readOnlyRootFilesystem, true, "RabbitMQ writes only its volume and /tmp");
      assert.ok(rabbit.containers[0].volumeMounts?.some((m) => m.mountPath === "/tmp"), "RabbitMQ gets a writable /tmp");
    });

    it("pins app images by digest and public images by their version tag plus the registry's digest; pods with DOCR images pull with a namespace Secret", () => {
      for (const w of workloads(ev)) {
        for (const c of allContainers(podOf(w))) {
          if (c.image.startsWith("registry.digitalocean.com/")) assert.match(c.image, APP_IMAGE);
          else assert.match(c.image, /^[a-z0-9./-]+:[0-9][0-9a-z.-]*@sha256:[0-9a-f]{64}$/, `${w.name}/${c.name}: ${c.image} has a version tag and a digest`);
        }
        if (allContainers(podOf(w)).some((c) => c.image.startsWith("registry.digitalocean.com/"))) {
          assert.match(String(podOf(w).imagePullSecrets?.[0]?.name ?? ""), /^production-namespace-registry-pull-/, `${w.name} pulls with the registry Secret`);
        }
      }
      const pull = byResource(ev, K.secret, "production-namespace-registry-pull");
      assert.equal(pull.inputs.type, "kubernetes.io/dockerconfigjson");
      assert.ok(isWireSecret(pull.inputs.stringData));
    });
  });

  describe("6. network", () => {
    it("labels the namespace for Pod Security Admission 'restricted'", () => {
      const ns = one(ev, K.ns);
      assert.equal(meta(ns).name, "shop");
      assert.equal(meta(ns).labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("denies all ingress and egress by default, then allows DNS to kube-system", () => {
      const deny = named(ev, K.netpol, "default-deny");
      assert.deepEqual(spec(deny), { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] });
      const dns = spec(named(ev, K.netpol, "allow-dns")) as { podSelector: Obj; egress: { to: Obj[]; ports: Obj[] }[] };
      assert.deepEqual(dns.podSelector, {});
      assert.deepEqual(dns.egress[0].to, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }]);
      assert.deepEqual(dns.egress[0].ports, [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }]);
    });

    it("lets only the load balancer's path (the VPC range) reach nginx on 8080, nginx reach web only, and web accept only nginx", () => {
      const edge = spec(named(ev, K.netpol, "edge")) as { ingress: { from?: unknown; ports: Obj[] }[]; egress: { to: Obj[]; ports: Obj[] }[] };
      // No pod selector and no open rule: a pod in the cluster cannot reach nginx and pose as the LB.
      assert.deepEqual(edge.ingress, [{ from: [{ ipBlock: { cidr: "10.110.0.0/20" } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
      assert.deepEqual(edge.egress[0].ports, [{ protocol: "TCP", port: 8000 }]);
      const web = spec(named(ev, K.netpol, "web-web-ingress")) as { ingress: { from: { podSelector: Obj }[]; ports: Obj[] }[]; podSelector: Obj };
      assert.deepEqual(web.ingress[0].from, [{ podSelector: { matchExpressions: [{ key: "djangostack.io/role", operator: "In", values: ["edge"] }] } }]);
      assert.deepEqual(web.ingress[0].ports, [{ protocol: "TCP", port: 8000 }]);
    });

    it("lets app pods reach the managed databases' ports in the VPC, RabbitMQ in-cluster, and the internet but not private ranges or metadata", () => {
      const data = spec(named(ev, K.netpol, "apps-to-data")) as { egress: { to: { ipBlock?: { cidr: string }; podSelector?: Obj }[]; ports: { port: number }[] }[]; podSelector: Obj };
      const vpcRange = "10.110.0.0/20";
      assert.ok(data.egress.some((r) => r.to[0].ipBlock?.cidr === vpcRange && r.ports[0].port === 25060), "PostgreSQL");
      assert.ok(data.egress.some((r) => r.to[0].ipBlock?.cidr === vpcRange && r.ports[0].port === 25061), "pool and Valkey");
      assert.ok(data.egress.some((r) => JSON.stringify(r.to[0].podSelector) === JSON.stringify({ matchLabels: { "djangostack.io/role": "rabbitmq" } }) && r.ports[0].port === 5672));
      const internet = spec(named(ev, K.netpol, "apps-to-internet")) as { egress: { to: { ipBlock: { cidr: string; except: string[] } }[] }[] };
      const block = internet.egress[0].to[0].ipBlock;
      assert.equal(block.cidr, "0.0.0.0/0");
      for (const r of ["10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"]) assert.ok(block.except.includes(r), r);
      const rabbit = spec(named(ev, K.netpol, "rabbitmq-ingress")) as { ingress: { from: { podSelector: { matchExpressions: { values: string[] }[] } }[] }[] };
      assert.deepEqual(rabbit.ingress[0].from[0].podSelector.matchExpressions[0].values, ["web", "worker", "beat", "migrate", "job"]);
    });
  });

  describe("7. edge", () => {
    it("fronts nginx with a DigitalOcean Load Balancer: managed certificate by name, TLS on 443, HTTP redirected, client IP preserved", () => {
      const cert = one(ev, DO.cert);
      assert.equal(cert.inputs.type, "lets_encrypt");
      assert.deepEqual(cert.inputs.domains, ["shop.example.com", "api.shop.example.com"]);
      const lb = one(ev, K.svc, (r) => spec(r).type === "LoadBalancer");
      const a = meta(lb).annotations ?? {};
      assert.equal(a[`${LB}certificate-name`], cert.inputs.name, "by name: renewals change the certificate's id, not its name");
      assert.equal(a[`${LB}certificate-id`], undefined);
      assert.equal(a[`${LB}protocol`], "http");
      assert.equal(a[`${LB}tls-ports`], "443");
      assert.equal(a[`${LB}redirect-http-to-https`], "true");
      assert.equal(a[`${LB}size-unit`], "1");
      assert.equal(spec(lb).externalTrafficPolicy, "Local");
      assert.deepEqual((spec(lb).ports as Obj[]).map((p) => [p.port, p.targetPort]), [[80, "http"], [443, "http"]]);
      assert.deepEqual(spec(lb).selector, (spec(named(ev, K.deploy, "nginx")).selector as { matchLabels: Obj }).matchLabels);
    });

    it("runs the staging nginx.conf (rendered without TLS, adapted to the LB) in a hardened 2-replica Deployment with a PDB", () => {
      const nginx = named(ev, K.deploy, "nginx");
      assert.equal(spec(nginx).replicas, 2);
      named(ev, K.pdb, "nginx");
      const mount = mainOf(nginx).volumeMounts?.find((m) => m.mountPath === "/etc/nginx/nginx.conf");
      assert.equal(mount?.subPath, "nginx.conf");
      const volume = volumeOf<{ configMap: { name: string } }>(podOf(nginx), mount?.name);
      const conf = configData(ev, volume.configMap.name)["nginx.conf"];
      const config = productionConfig();
      const expected = loadBalancedNginx(buildModel(config), config, "10.110.0.0/20");
      assert.equal(conf, expected);
      assert.match(conf, /upstream web-web \{\n\s+server web-web:8000;/);
      assert.ok(nginx.options.dependsOn.includes(named(ev, K.deploy, "web-web").name), "nginx rolls after web");
    });

    it("serves /static/ from the app image's collected files, copied by an init container running the same digest", () => {
      const nginx = podOf(named(ev, K.deploy, "nginx"));
      const init = nginx.initContainers?.find((c) => c.name === "static-web");
      assert.ok(init);
      assert.equal(init.image, mainOf(named(ev, K.deploy, "web-web")).image);
      assert.deepEqual(init.command?.slice(-2), ["/app/staticfiles", "/srv/static/web"]);
      assert.ok(nginx.containers[0].volumeMounts?.some((m) => m.name === "static-web" && m.mountPath === "/srv/static/web" && m.readOnly === true));
      assert.deepEqual(nginx.volumes?.find((v) => v.name === "static-web"), { name: "static-web", emptyDir: { sizeLimit: "1024Mi" } });
    });

    it("points an A record per host at the load balancer's address", () => {
      const records = ofType(ev, DO.dns).map((r) => r.inputs);
      assert.deepEqual(records.map((r) => [r.domain, r.name, r.type, r.value]).sort(), [
        ["shop.example.com", "@", "A", OFFLINE_LOAD_BALANCER_IP],
        ["shop.example.com", "api", "A", OFFLINE_LOAD_BALANCER_IP],
      ]);
    });
  });

  describe("8. outputs", () => {
    it("exports the v1 contract plus clusterName, clusterId, namespace, secret kubeconfig, loadBalancerIp and the managed hosts", async () => {
      const out = (await resolveOutputs(ev.exports)) as Obj;
      const cluster = one(ev, DO.cluster);
      assert.equal(out.outputsVersion, "v1");
      assert.equal(out.target, "kubernetes");
      assert.equal(out.url, "https://shop.example.com");
      assert.equal(out.healthUrl, "https://shop.example.com/api/v1/health/");
      assert.equal(out.clusterName, "djangostack-production");
      assert.equal(out.clusterId, `${cluster.name}-id`);
      assert.equal(out.namespace, "shop");
      assert.equal(out.loadBalancerIp, OFFLINE_LOAD_BALANCER_IP);
      assert.equal(out.kubeconfig, "[secret]");
      assert.ok(await pulumi.isSecret(ev.exports.kubeconfig as pulumi.Output<string>));
      const hosts = out.databaseHosts as string[];
      assert.equal(hosts.length, 2);
      for (const h of hosts) assert.match(h, /^private-djangostack-production-(pg|valkey)-/);
      assert.match(String((out.images as Obj).web), APP_IMAGE);
      const web = (out.apps as Record<string, Obj>).web;
      assert.equal(web.databaseUrl, "[secret]");
      const revealed = (await resolveOutputs(ev.exports, "[secret]", true)) as { apps: Record<string, { databaseUrl: string }> };
      assert.match(revealed.apps.web.databaseUrl, /@private-pool-[0-9a-f]+\.k\.db\.ondigitalocean\.com:25061\/web_db_pool_[0-9a-f]{8}\?sslmode=require$/);
    });
  });
});

describe("production stack with in-cluster PostgreSQL and Redis, and a registry to create", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluate({
      "djangostack:data": { postgres: { mode: "container", volumeSize: 20 }, redis: { mode: "container" }, rabbitmq: { version: "3.13" } },
      "djangostack:kubernetes": {
        versionPrefix: "1.33.",
        namespace: "shop",
        registry: { name: "acme", create: true, tier: "basic" },
        workloadPool: { size: "s-4vcpu-8gb", minNodes: 2, maxNodes: 4 },
      },
    });
  });

  it("creates no managed database and runs PostgreSQL and Redis as StatefulSets with retained volumes, PDBs and probes", () => {
    assert.equal(ofType(ev, DO.db).length, 0);
    assert.equal(ofType(ev, DO.firewall).length, 0);
    const pg = named(ev, K.sts, "postgres");
    assert.match(mainOf(pg).image, /^postgres:16-bookworm@sha256:[0-9a-f]{64}$/);
    const claim = (spec(pg).volumeClaimTemplates as { metadata: { name: string }; spec: { resources: { requests: { storage: string } }; storageClassName: string } }[])[0];
    assert.deepEqual([claim.metadata.name, claim.spec.resources.requests.storage, claim.spec.storageClassName], ["postgres-data", "20Gi", "shop-retain"]);
    assert.deepEqual((mainOf(pg).readinessProbe as { exec: { command: string[] } }).exec.command.slice(0, 1), ["pg_isready"]);
    assert.equal(pg.options.deleteBeforeReplace, true);
    const redis = named(ev, K.sts, "redis");
    assert.match(mainOf(redis).image, /^redis:7-bookworm@sha256:[0-9a-f]{64}$/);
    const conf = volumeOf<{ configMap: { name: string } }>(podOf(redis), "redis-config");
    assert.match(configData(ev, conf.configMap.name)["redis.conf"], /maxmemory-policy allkeys-lru/);
    for (const name of ["postgres", "redis"]) {
      named(ev, K.pdb, name);
      assert.equal(spec(named(ev, K.svc, name)).clusterIP, "None");
    }
  });

  it("runs the staging init SQL in a postgres-init Job with the generated passwords, before the migration", () => {
    const init = named(ev, K.job, "postgres-init");
    const sql = volumeOf<{ configMap: { name: string } }>(podOf(init), "postgres-init");
    assert.match(configData(ev, sql.configMap.name)["init.sql"], /CREATE ROLE %I LOGIN/);
    const env = envOf(ev, mainOf(init));
    assert.match(env.DB_PASSWORD_WEB, /^offline[0-9a-f]+$/, "the generated app password");
    const dbUrl = new URL(envOf(ev, mainOf(named(ev, K.deploy, "web-web"))).DATABASE_URL);
    assert.equal(decodeURIComponent(dbUrl.password), env.DB_PASSWORD_WEB, "the app connects with the password the init Job set");
    assert.equal(dbUrl.hostname, "postgres");
    assert.equal(dbUrl.pathname, "/web_db");
    // Its own pod: over TCP to the Service, logging in with the server's bootstrap password (it never rotates).
    assert.equal(env.PGHOST, "postgres");
    assert.equal(env.PGPASSWORD, envOf(ev, mainOf(named(ev, K.sts, "postgres"))).POSTGRES_PASSWORD);
    assert.equal(env.POSTGRES_SUPERUSER_PASSWORD, undefined, "the in-cluster init leaves the superuser's password alone");
    assert.doesNotMatch(configData(ev, sql.configMap.name)["init.sql"], /ALTER ROLE "postgres"/);
    const socket = volumeOf<{ emptyDir: { medium: string } }>(podOf(named(ev, K.sts, "postgres")), "postgres-socket");
    assert.equal(socket.emptyDir.medium, "Memory", "the server's socket dir is writable on its read-only root");
    const migrate = one(ev, K.job, (r) => /^web-migrate-/.test(String(meta(r).name)));
    assert.ok(migrate.options.dependsOn.includes(init.name));
    assert.equal(envOf(ev, mainOf(named(ev, K.deploy, "web-web"))).DJANGO_DB_CONN_MAX_AGE, undefined, "no pool: the app's own default");
  });

  it("lets only app pods (and the init Job and the backup) reach PostgreSQL, and app pods reach Redis", () => {
    const pg = spec(named(ev, K.netpol, "postgres-ingress")) as { ingress: { from: { podSelector: { matchExpressions: { values: string[] }[] } }[]; ports: { port: number }[] }[] };
    assert.deepEqual(pg.ingress[0].from[0].podSelector.matchExpressions[0].values, ["web", "worker", "beat", "migrate", "job", "dbinit", "backup"]);
    assert.deepEqual(pg.ingress[0].ports.map((p) => p.port), [5432]);
    const egress = spec(named(ev, K.netpol, "apps-to-data")) as { egress: { ports: { port: number }[] }[] };
    assert.deepEqual(egress.egress.map((r) => r.ports[0].port).sort(), [5432, 5672, 6379]);
  });

  it("creates the registry before the cluster that integrates it, and exports no managed database host", async () => {
    const registry = one(ev, DO.registry);
    assert.equal(registry.inputs.name, "acme");
    assert.ok(one(ev, DO.cluster).options.dependsOn.includes(registry.name));
    const out = (await resolveOutputs(ev.exports)) as Obj;
    assert.deepEqual(out.databaseHosts, []);
    assert.match(String((out.images as Obj).web), /^registry\.digitalocean\.com\/acme\/production-web:production@sha256:/);
  });
});
