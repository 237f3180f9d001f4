/**
 * The scheduled backup container on the Docker targets (issue 13 item 1), under the offline engine:
 * staging (droplet: on by default) and local (target docker: when enabled). One container from the
 * backup image runs the Docker scheduler with a one-job table whose command is the backup script; it
 * sits on the data network with the superuser's password and the bucket key as secret env only.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { isWireSecret, maskSecrets, unwrapSecrets } from "../../src/offline/secret";
import { BACKUP_ENV, backupCommand } from "../../src/render/backup";
import { BACKUP_FILES, BACKUP_PATHS, backsUpBrokerDefinitions, backupJob, backupProcesses, backupSettingsInput, renderBackupDockerfile } from "../../src/model/backup";
import { RABBITMQ_BACKUP_USER } from "../../src/model/names";
import { renderRabbitmqConf } from "../../src/render/rabbitmq";
import { managementPort } from "../../src/components/rendered";
import { parseConfig } from "../../src/config/schema";
import { id, onDroplet } from "./config-helpers";
import { buildModel } from "../../src/model/build";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker-build:index:Image";

const labelsOf = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries(((unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
const containers = (e: Evaluation, process: string): RecordedResource[] => e.engine.resources.filter((r) => r.type === CONTAINER && labelsOf(r)["djangostack.process"] === process);
const envOf = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries((unwrapSecrets(r.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const uploadsOf = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries(((r.inputs.uploads ?? []) as { file: string; content: string }[]).map((u) => [u.file, String(unwrapSecrets(u.content))]));

function checkBackupContainer(ev: Evaluation, stack: string, region: string): void {
  const found = containers(ev, "backup");
  assert.equal(found.length, 1, "exactly one backup container (a replacement would run the backup twice)");
  const c = found[0];
  assert.equal(c.inputs.name, `djangostack-${stack}-backup`);
  assert.equal(c.inputs.user, "999:999");
  assert.equal(c.inputs.restart, "unless-stopped");
  assert.deepEqual(c.options.deleteBeforeReplace, true, "a fixed name, replaced delete-first");
  assert.deepEqual((c.inputs.capabilities as { drops: string[] }).drops, ["ALL"]);
  assert.deepEqual(c.inputs.securityOpts, ["no-new-privileges:true"]);
  assert.ok(c.inputs.healthcheck, "the scheduler's heartbeat is checked");

  // The data network only: it reaches postgres, nginx never reaches it.
  const networks = (c.inputs.networksAdvanced as { name: string }[]).map((n) => n.name);
  assert.deepEqual(networks, [`djangostack-${stack}-net`]);

  // Plain env: where the bucket and the server are; secret env: the password and the key.
  const env = envOf(c);
  assert.equal(env[BACKUP_ENV.endpoint], `https://${region}.digitaloceanspaces.com`);
  assert.equal(env[BACKUP_ENV.region], region);
  assert.equal(env[BACKUP_ENV.bucket], `djangostack-${stack}-backups`);
  assert.deepEqual([env.PGHOST, env.PGPORT, env.PGUSER], ["postgres", "5432", "postgres"]);
  assert.equal(env.TMPDIR, BACKUP_PATHS.spool);
  for (const secret of ["PGPASSWORD", BACKUP_ENV.accessKeyId, BACKUP_ENV.secretAccessKey]) assert.ok((env[secret] ?? "").length > 0, `${secret} is set`);
  assert.ok(isWireSecret(c.inputs.envs), "the env reaches the provider as a secret");

  // The secret values are nowhere else in the stack's inputs.
  const everything = JSON.stringify(ev.engine.resources.map((r) => maskSecrets(r.inputs)));
  for (const secret of ["PGPASSWORD", BACKUP_ENV.secretAccessKey]) assert.ok(!everything.includes(env[secret]), `${secret}'s value appears outside a secret`);

  // The uploads: the script, its settings, the scheduler and the one-job table; no secret in any.
  const uploads = uploadsOf(c);
  assert.deepEqual(Object.keys(uploads).sort(), Object.values(BACKUP_FILES).sort());
  assert.ok(!isWireSecret(c.inputs.uploads), "the uploaded files hold no secret");
  const settings = JSON.parse(uploads[BACKUP_FILES.settings]) as { stack: string; databases: unknown[]; media: unknown[]; maintenanceDatabase: string };
  assert.equal(settings.stack, stack);
  assert.deepEqual(settings.databases, [{ name: "web_db", role: "web_user" }]);
  assert.deepEqual(settings.media, [{ name: "web", path: `${BACKUP_PATHS.mediaRoot}/web` }]);
  assert.equal(settings.maintenanceDatabase, "postgres");
  const jobs = JSON.parse(uploads[BACKUP_FILES.jobs]) as { jobs: { name: string; command: string[]; concurrency: string; schedule: { expression: string; minutes: number[]; hours: number[] } }[] };
  assert.equal(jobs.jobs.length, 1);
  assert.deepEqual(jobs.jobs[0].command, backupCommand(BACKUP_FILES.script, BACKUP_FILES.settings, "backup"));
  assert.equal(jobs.jobs[0].concurrency, "forbid");
  assert.deepEqual([jobs.jobs[0].schedule.expression, jobs.jobs[0].schedule.minutes, jobs.jobs[0].schedule.hours], ["0 3 * * *", [0], [3]]);
  assert.deepEqual(c.inputs.command, ["python3", "-I", BACKUP_FILES.scheduler, BACKUP_FILES.jobs, "--heartbeat", BACKUP_PATHS.heartbeat, "--status", BACKUP_PATHS.status]);

  // The app's media, read-only.
  const volumes = (c.inputs.volumes ?? []) as { volumeName: string; containerPath: string; readOnly?: boolean }[];
  assert.deepEqual(volumes, [{ volumeName: `djangostack-${stack}-media-web`, containerPath: `${BACKUP_PATHS.mediaRoot}/web`, readOnly: true }]);

  // Started after postgres.
  const postgres = containers(ev, "postgres")[0];
  assert.ok(c.options.dependsOn.includes(postgres.name), "waits for postgres");

  // The image: built from the server's major with python3 added, never pushed as an app image.
  const image = ev.engine.resources.filter((r) => r.type === IMAGE && (r.inputs.dockerfile as { inline?: string } | undefined)?.inline !== undefined);
  assert.equal(image.length, 1);
  assert.equal((image[0].inputs.dockerfile as { inline: string }).inline, renderBackupDockerfile(ev.config.data.postgres.version));
  assert.match(renderBackupDockerfile("16"), /^FROM postgres:16-bookworm\n[\s\S]*apt-get install -y --no-install-recommends python3[\s\S]*\nUSER 999:999\n$/);
}

describe("backup container: staging (droplet)", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateStack({ stack: "staging" });
  });
  it("runs the backup on its schedule, on the data network, with secrets only as secrets", () => {
    checkBackupContainer(ev, "staging", "fra1");
  });
  it("pulls the pushed backup image by its reference, pinned like the apps'", () => {
    const c = containers(ev, "backup")[0];
    const pulls = ev.engine.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage" && r.name.endsWith("-image-backup"));
    assert.equal(pulls.length, 1);
    assert.match(String(unwrapSecrets(pulls[0].inputs.name)), /^registry\.digitalocean\.com\/djangostack\/staging-backup:16@sha256:[0-9a-f]{64}$/);
    assert.ok(labelsOf(c)["djangostack.image-digest"], "the digest label replaces the container on a rebuild");
  });
  it("leaves the images output to the apps", async () => {
    const outputs = (await resolveOutputs(ev.exports)) as { images: Record<string, string> };
    assert.deepEqual(Object.keys(outputs.images), ["web"]);
  });
});

describe("backup container: local (target docker)", () => {
  it("is absent by default", async () => {
    const ev = await evaluateStack({ stack: "local" });
    assert.equal(containers(ev, "backup").length, 0);
  });
  it("runs when backups are enabled, from an image loaded into the engine", async () => {
    const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:backups": { enabled: true } } });
    checkBackupContainer(ev, "local", ev.config.backups.bucket.region);
    assert.equal(unwrapSecrets(containers(ev, "backup")[0].inputs.image), "djangostack-local-backup:16");
  });
});

describe("backup process in the model", () => {
  it("keeps the password and the keys in secret env, never in env", async () => {
    const ev = await evaluateStack({ stack: "staging" });
    const p = buildModel(ev.config).processes.find((x) => x.role === "backup");
    assert.ok(p);
    assert.deepEqual(Object.keys(p.secretEnv).sort(), ["BACKUP_RABBITMQ_PASSWORD", "BACKUP_S3_ACCESS_KEY_ID", "BACKUP_S3_SECRET_ACCESS_KEY", "PGPASSWORD"]);
    assert.deepEqual(p.secretEnv.BACKUP_RABBITMQ_PASSWORD, { kind: "rabbitmqBackupPassword" });
    assert.equal(p.env.BACKUP_RABBITMQ_USER, RABBITMQ_BACKUP_USER);
    for (const k of Object.keys(p.secretEnv)) assert.ok(!(k in p.env));
  });
});

describe("the broker's live definitions in the backup (issue 13 item 1)", () => {
  it("staging: the backup reads the management API as its own RabbitMQ user, which the definitions make administrator with no vhost permission", async () => {
    const ev = await evaluateStack({ stack: "staging" });
    const settings = JSON.parse(ev.artifacts.find((a) => a.path.endsWith("backup/backup.json"))?.content ?? "{}") as { rabbitmqApi: string | null };
    assert.equal(settings.rabbitmqApi, "http://rabbitmq:15672");
    const defs = JSON.parse(ev.artifacts.find((a) => a.path === "rabbitmq/definitions.json")?.content ?? "{}") as { users: { name: string; tags: string[]; password_hash: string }[]; permissions: { user: string }[] };
    const user = defs.users.find((u) => u.name === RABBITMQ_BACKUP_USER);
    assert.deepEqual(user?.tags, ["administrator"]);
    assert.ok(!defs.permissions.some((p) => p.user === RABBITMQ_BACKUP_USER), "no vhost permission: it cannot publish or consume");
    const conf = ev.artifacts.find((a) => a.path === "rabbitmq/rabbitmq.conf")?.content ?? "";
    assert.match(conf, /^management\.tcp\.port = 15672$/m);
    assert.match(conf, /^management\.disable_stats = true$/m);
    const mq = containers(ev, "rabbitmq")[0];
    assert.equal(envOf(mq).RABBITMQ_ENABLED_PLUGINS, "rabbitmq_prometheus,rabbitmq_management");
    assert.ok(!mq.inputs.ports || (mq.inputs.ports as unknown[]).length === 0, "the management API is never published");
    // The password: generated, secret, and the same in the backup's env and (hashed) in the definitions.
    const backup = containers(ev, "backup")[0];
    assert.ok(isWireSecret(backup.inputs.envs), "the env, password included, reaches the provider as a secret");
    assert.equal(envOf(backup).BACKUP_RABBITMQ_USER, RABBITMQ_BACKUP_USER);
    const generated = ev.engine.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.endsWith("-rabbitmq-backup"));
    assert.equal(generated.length, 1);
  });

  it("off without backups or without a deployed RabbitMQ: no management listener, no backup user", async () => {
    const off = parseConfig(onDroplet({}, { backups: { enabled: false } }), id);
    assert.equal(backsUpBrokerDefinitions(off), false);
    assert.equal(renderRabbitmqConf(off.data.rabbitmq, managementPort(off)).includes("management.tcp.port"), false);
    const mq = buildModel(off).processes.find((p) => p.name === "rabbitmq");
    assert.deepEqual([mq?.env.RABBITMQ_ENABLED_PLUGINS, mq?.ports.map((p) => p.name)], [undefined, ["amqp"]]);
    const redisBroker = parseConfig(onDroplet({}, { backups: { enabled: true }, apps: [{ broker: "redis" }] }), id);
    assert.equal(backsUpBrokerDefinitions(redisBroker), false);
    assert.equal(backupSettingsInput(redisBroker).rabbitmqApi, undefined);
  });
});

describe("an existing bucket has no lifecycle rule of ours: the scheduled run prunes it", () => {
  it("runs backup --prune on the Droplet and the cluster when bucket.create is false, plain backup otherwise", () => {
    const on = (bucket: Record<string, unknown>, target: Record<string, unknown>) => parseConfig({ ...target, backups: { enabled: true, bucket } }, id);
    for (const target of [onDroplet(), { target: "kubernetes", domain: "example.com" }]) {
      const existing = on({ name: "acme-dumps", create: false }, target);
      assert.deepEqual(backupJob(existing).command, backupCommand(BACKUP_FILES.script, BACKUP_FILES.settings, "backup", "--prune"));
      const created = on({}, target);
      assert.deepEqual(backupJob(created).command, backupCommand(BACKUP_FILES.script, BACKUP_FILES.settings, "backup"));
      // The Kubernetes CronJob runs the command itself; the Docker container runs it from the job table.
      const process = backupProcesses(existing)[0];
      if (existing.target === "kubernetes") assert.deepEqual(process.command, backupJob(existing).command);
    }
  });
});
