/**
 * The scheduled backup on Kubernetes (issue 13 item 1), under the offline engine: seed 003 runs
 * PostgreSQL in the cluster, so it gets a `backup` CronJob (Forbid, bounded history, hardened pod),
 * the script and settings in a ConfigMap, the credentials in a Secret, and a network policy; every
 * object validated against the upstream OpenAPI schemas (kubernetes-models), as k8s-schema.test.ts does.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import YAML from "yaml";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { containsSecret, isWireSecret, maskSecretsKeepingShape, unwrapSecrets } from "../../src/offline/secret";
import { BACKUP_ENV, BACKUP_SCRIPT, backupCommand } from "../../src/render/backup";
import { BACKUP_FILES, BACKUP_PATHS } from "../../src/model/backup";
import { exampleDir } from "../helpers/examples";

type Obj = Record<string, unknown>;
interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Obj) => Validatable;
const as = (c: unknown): ModelClass => c as ModelClass;
const o = (v: unknown): Obj => v as Obj;
const SEED_003 = { stack: "production", projectDir: exampleDir("ecommerce") };

const kube = (e: Evaluation, kind: string): RecordedResource[] => e.engine.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.kind === kind);
const named = (e: Evaluation, kind: string, name: string): RecordedResource | undefined => kube(e, kind).find((r) => o(r.inputs.metadata).name === name);
const schemaForm = (r: RecordedResource): Obj => YAML.parse(YAML.stringify(maskSecretsKeepingShape(r.inputs))) as Obj;

describe("backup CronJob: in-cluster PostgreSQL (seed 003)", () => {
  let ev: Evaluation;
  let cron: RecordedResource;
  let pod: Obj;
  let container: Obj;
  before(async () => {
    ev = await evaluateStack(SEED_003);
    const found = named(ev, "CronJob", "backup");
    assert.ok(found, "no backup CronJob");
    cron = found;
    pod = o(o(o(o(o(cron.inputs.spec).jobTemplate).spec).template).spec);
    container = o((pod.containers as unknown[])[0]);
  });

  it("runs the backup on the schedule in UTC, never two at once, with bounded history and no retry", () => {
    const spec = o(cron.inputs.spec);
    assert.equal(spec.schedule, "0 3 * * *");
    assert.equal(spec.timeZone, "Etc/UTC");
    assert.equal(spec.concurrencyPolicy, "Forbid");
    assert.equal(spec.successfulJobsHistoryLimit, 3);
    assert.equal(spec.failedJobsHistoryLimit, 3);
    const job = o(o(spec.jobTemplate).spec);
    assert.equal(job.backoffLimit, 0);
    assert.equal(job.activeDeadlineSeconds, 6 * 3600);
    assert.equal(pod.restartPolicy, "Never");
    assert.deepEqual(container.command, backupCommand(BACKUP_FILES.script, BACKUP_FILES.settings, "backup"));
  });

  it("is hardened like every pod: non-root 999, read-only root, no capabilities, seccomp, no token, workload pool", () => {
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(o(pod.securityContext).seccompProfile, { type: "RuntimeDefault" });
    assert.equal(o(pod.securityContext).runAsNonRoot, true);
    const sc = o(container.securityContext);
    assert.deepEqual([sc.runAsUser, sc.runAsGroup, sc.readOnlyRootFilesystem, sc.allowPrivilegeEscalation, sc.privileged], [999, 999, true, false, false]);
    assert.deepEqual(o(sc.capabilities).drop, ["ALL"]);
    assert.ok(o(pod.nodeSelector), "placed on the workload pool");
    assert.ok(Array.isArray(pod.imagePullSecrets), "pulls the backup image from DOCR with the namespace's pull secret");
    assert.match(String(unwrapSecrets(container.image)), /^registry\.digitalocean\.com\/.*\/production-backup:15@sha256:/);
  });

  it("mounts the script and settings from a ConfigMap, dumps to a disk emptyDir the size of the data volume", () => {
    const volumes = pod.volumes as Obj[];
    const config = volumes.find((v) => v.name === "backup-config");
    assert.ok(config && o(config.configMap).name, "the ConfigMap volume");
    const spool = volumes.find((v) => v.name === "backup-spool");
    assert.deepEqual(spool?.emptyDir, { sizeLimit: `${20 * 1024}Mi` });
    const mounts = container.volumeMounts as Obj[];
    assert.ok(mounts.some((m) => m.mountPath === "/etc/djangostack/backup" && m.readOnly === true));
    assert.ok(mounts.some((m) => m.mountPath === BACKUP_PATHS.spool));
    const files = kube(ev, "ConfigMap").find((c) => o(c.inputs.data)["backup.py"] !== undefined);
    assert.ok(files);
    assert.equal(o(files.inputs.data)["backup.py"], BACKUP_SCRIPT);
    const settings = JSON.parse(String(o(files.inputs.data)["backup.json"])) as { databases: unknown[]; media: unknown[]; maintenanceDatabase: string };
    assert.deepEqual(settings.media, [], "media are per-pod emptyDirs on Kubernetes: nothing to archive");
    assert.equal(settings.maintenanceDatabase, "postgres");
    assert.ok(settings.databases.length > 0);
    assert.ok(!containsSecret(files.inputs), "no secret in the ConfigMap");
  });

  it("takes the password and the bucket key from a Secret, key by key; the bucket and server from a ConfigMap", () => {
    const env = container.env as { name: string; valueFrom: { secretKeyRef: { key: string } } }[];
    assert.deepEqual(env.map((e) => e.name).sort(), [BACKUP_ENV.accessKeyId, BACKUP_ENV.secretAccessKey, "PGPASSWORD"].sort());
    const secret = kube(ev, "Secret").find((s) => typeof s.inputs.stringData === "object" && s.inputs.stringData !== null && (isWireSecret(s.inputs.stringData) ? PGPASSWORD_IN(unwrapSecrets(s.inputs.stringData)) : PGPASSWORD_IN(s.inputs.stringData)));
    assert.ok(secret, "the backup Secret");
    assert.ok(containsSecret(secret.inputs.stringData), "its values are secret");
    const plain = kube(ev, "ConfigMap").find((c) => o(c.inputs.data)[BACKUP_ENV.bucket] !== undefined);
    assert.ok(plain);
    assert.equal(o(plain.inputs.data)[BACKUP_ENV.bucket], "djangostack-production-backups");
    assert.equal(o(plain.inputs.data).PGHOST, "postgres");
    assert.ok(!containsSecret(plain.inputs));
  });

  it("lets the backup reach PostgreSQL and HTTPS on public addresses, and PostgreSQL admit it", () => {
    const egress = named(ev, "NetworkPolicy", "backup-egress");
    assert.ok(egress);
    const rules = o(egress.inputs.spec).egress as Obj[];
    assert.deepEqual(rules.map((r) => (r.ports as Obj[]).map((p) => p.port)), [[5432], [443]]);
    const pgIngress = named(ev, "NetworkPolicy", "postgres-ingress");
    assert.ok(pgIngress);
    assert.match(JSON.stringify(pgIngress.inputs.spec), /"backup"/);
  });

  it("validates against the Kubernetes OpenAPI schemas", async () => {
    // Loaded as k8s-schema.test.ts loads them (the package exports its classes to import() only).
    const CronJob = as((await import("kubernetes-models/batch/v1/CronJob")).CronJob);
    const ConfigMap = as((await import("kubernetes-models/v1/ConfigMap")).ConfigMap);
    const Secret = as((await import("kubernetes-models/v1/Secret")).Secret);
    const NetworkPolicy = as((await import("kubernetes-models/networking.k8s.io/v1/NetworkPolicy")).NetworkPolicy);
    new CronJob(schemaForm(cron)).validate();
    const ofBackup = (kind: string) => kube(ev, kind).filter((c) => o(o(c.inputs.metadata).labels)["djangostack.io/role"] === "backup");
    assert.equal(ofBackup("ConfigMap").length, 2, "the files and the plain env");
    assert.equal(ofBackup("Secret").length, 1);
    for (const r of ofBackup("ConfigMap")) new ConfigMap(schemaForm(r)).validate();
    for (const r of ofBackup("Secret")) new Secret(schemaForm(r)).validate();
    const policy = named(ev, "NetworkPolicy", "backup-egress");
    assert.ok(policy);
    new NetworkPolicy(schemaForm(policy)).validate();
  });
});

function PGPASSWORD_IN(data: unknown): boolean {
  return typeof data === "object" && data !== null && "PGPASSWORD" in data && BACKUP_ENV.secretAccessKey in data;
}

describe("backup CronJob: managed PostgreSQL (production)", () => {
  it("has none by default: DigitalOcean keeps its own backups", async () => {
    const ev = await evaluateStack({ stack: "production" });
    assert.equal(kube(ev, "CronJob").filter((c) => String(o(c.inputs.metadata).name).startsWith("backup")).length, 0);
  });

  it("enabled explicitly: one CronJob per database, logging in as the app's role over TLS to the cluster's private host", async () => {
    const ev = await evaluateStack({ stack: "production", extraConfig: { "djangostack:backups": { enabled: true } } });
    const cron = named(ev, "CronJob", "backup-web");
    assert.ok(cron, "no backup-web CronJob");
    assert.equal(named(ev, "CronJob", "backup"), undefined);
    assert.equal(o(cron.inputs.spec).concurrencyPolicy, "Forbid");
    const plain = kube(ev, "ConfigMap").find((c) => o(c.inputs.data).PGUSER === "web_user");
    assert.ok(plain, "the plain env");
    const data = o(unwrapSecrets(plain.inputs.data));
    assert.deepEqual([data.PGDATABASE, data.PGSSLMODE], ["web_db", "require"]);
    assert.notEqual(data.PGHOST, "postgres", "the managed cluster's private host");
    assert.ok(String(data.PGHOST).length > 0);
    const files = kube(ev, "ConfigMap").find((c) => o(c.inputs.data)["backup.json"] !== undefined);
    assert.ok(files);
    const settings = JSON.parse(String(o(files.inputs.data)["backup.json"])) as { databases: unknown[]; maintenanceDatabase: string };
    assert.deepEqual(settings.databases, [{ name: "web_db", role: "web_user" }]);
    assert.equal(settings.maintenanceDatabase, "defaultdb");
    const egress = named(ev, "NetworkPolicy", "backup-web-egress");
    assert.ok(egress);
    const rules = o(egress.inputs.spec).egress as Obj[];
    assert.ok(o((rules[0].to as Obj[])[0]).ipBlock, "the managed cluster in the VPC");
    // backup-web, the first database's process, also exports the broker's definitions.
    assert.deepEqual([o((rules[1].to as Obj[])[0]).podSelector, (rules[1].ports as Obj[]).map((p) => p.port)], [{ matchExpressions: [{ key: "djangostack.io/role", operator: "In", values: ["rabbitmq"] }] }, [15672]]);
    assert.deepEqual((rules[2].ports as Obj[]).map((p) => p.port), [443]);
    const CronJob = as((await import("kubernetes-models/batch/v1/CronJob")).CronJob);
    new CronJob(schemaForm(cron)).validate();
    // The broker admits the apps on AMQP only, and the backup alone on the management API.
    const mqIngress = named(ev, "NetworkPolicy", "rabbitmq-ingress");
    assert.ok(mqIngress);
    const ingress = o(mqIngress.inputs.spec).ingress as Obj[];
    const values = (r: Obj) => (o((r.from as Obj[])[0]).podSelector as { matchExpressions: { values: string[] }[] }).matchExpressions[0].values;
    assert.deepEqual(ingress.map((r) => (r.ports as Obj[]).map((p) => p.port)), [[5672], [15672]]);
    assert.ok(!values(ingress[0]).includes("backup"));
    assert.deepEqual(values(ingress[1]), ["backup"]);
    const mqService = kube(ev, "Service").find((r) => o(r.inputs.metadata).name === "rabbitmq");
    assert.deepEqual((o(mqService?.inputs.spec).ports as Obj[]).map((p) => p.port), [5672, 15672]);
    assert.equal(named(ev, "NetworkPolicy", "backup-shop-egress") === undefined || !JSON.stringify(named(ev, "NetworkPolicy", "backup-shop-egress")?.inputs.spec).includes("15672"), true, "only the first database's process exports the definitions");
    const out = (await resolveOutputs(ev.exports)) as { backups: { enabled: boolean; note: string } };
    assert.equal(out.backups.enabled, true);
    assert.match(out.backups.note, /^CronJob backup-web dumps web_db .*managed PostgreSQL also keeps DigitalOcean's daily backups/);
  });
});
