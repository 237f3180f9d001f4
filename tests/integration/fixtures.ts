/**
 * What the program produces for a stack, taken from its own code (never a hand-written copy):
 * the stack files read as the CLI would (readStackFiles), parseConfig, buildModel, the URL
 * builders and the renderers. Credentials are generated the way the Secrets tier does
 * (32 alphanumeric characters); endpoints and container paths are moved to loopback/temp dirs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { configFilesFor } from "../../src/components/targets/docker/configfiles";
import { Credentials as ProgramCredentials } from "../../src/components/secrets";
import { parseConfig } from "../../src/config/schema";
import { usesDeployedRabbitmq } from "../../src/config/contract";
import { ExternalService, StackConfig } from "../../src/config/types";
import { PATHS, buildModel, serviceSources } from "../../src/model/build";
import { backsUpBrokerDefinitions } from "../../src/model/backup";
import * as names from "../../src/model/names";
import { Process, SecretEnvSource, WorkloadModel } from "../../src/model/types";
import { amqpUrl, connectionPart, databaseUrl, redisUrl } from "../../src/model/urls";
import { renderStack } from "../../src/offline/render";
import { readStackFiles } from "../../src/offline/stackfiles";
import { decodeConfigValue } from "../../src/config/load";
import { tempDir } from "./harness/process";
import { generatePassword } from "./harness/secrets";

export const REPO_ROOT = path.resolve(__dirname, "../..");
const NAMESPACE = "djangostack:";

/**
 * The validated config of `Pulumi.<stack>.yaml` in `projectDir` (default the repository root; one of
 * examples/ for a seed system), plus `extra` keys as `pulumi config set` would add them.
 */
export function stackConfig(stack: string, extra: Record<string, unknown> = {}, projectDir = REPO_ROOT): StackConfig {
  const qualified = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.includes(":") ? k : `${NAMESPACE}${k}`, v]));
  const files = readStackFiles(projectDir, stack, qualified);
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(files.config)) if (key.startsWith(NAMESPACE)) raw[key.slice(NAMESPACE.length)] = decodeConfigValue(value);
  return parseConfig(raw, { project: files.project, stack });
}

export interface Stack {
  config: StackConfig;
  model: WorkloadModel;
  /** artifacts/ of the offline render (`npm run render`) of the same stack and extra config. */
  artifacts: Record<string, string>;
}

function readTree(root: string, dir = root): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, readTree(root, full));
    else out[path.relative(root, full)] = fs.readFileSync(full, "utf8");
  }
  return out;
}

/**
 * The stack as the program sees it (config, model) and as the offline render writes it: the real
 * index.ts evaluated under the offline engine with the same extra config, artifacts read back.
 * `projectDir` as for stackConfig (`npm run render -- --project <dir>`).
 */
export async function loadStack(stack: string, extra: Record<string, unknown> = {}, projectDir = REPO_ROOT): Promise<Stack> {
  const config = stackConfig(stack, extra, projectDir);
  const outDir = tempDir("render");
  const qualified = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.includes(":") ? k : `${NAMESPACE}${k}`, v]));
  const summary = await renderStack({ stack, projectDir, outDir, extraConfig: qualified });
  return { config, model: buildModel(config), artifacts: readTree(path.join(summary.dir, "artifacts")) };
}

export interface Credentials {
  postgresSuperuser: string;
  postgresBootstrap: string;
  redis: string;
  rabbitmqAdmin: string;
  /** The backup's RabbitMQ user (backups on, RabbitMQ deployed). */
  rabbitmqBackup: string;
  database: Record<string, string>;
  broker: Record<string, string>;
  secretKey: Record<string, string>;
  /** `djangostack:external` URLs the test points apps at (its own servers). */
  external?: Record<string, Partial<Record<ExternalService, string>>>;
  /** The key pair of each app's media bucket (the test's S3 server's). */
  media?: Record<string, { accessKeyId: string; secretAccessKey: string }>;
}

/** Fresh credentials for every app of the stack, as the Secrets tier generates them. */
export function generateCredentials(config: StackConfig): Credentials {
  const perApp = () => Object.fromEntries(config.apps.map((a) => [a.name, generatePassword()]));
  return {
    postgresSuperuser: generatePassword(),
    postgresBootstrap: generatePassword(),
    redis: generatePassword(),
    rabbitmqAdmin: generatePassword(),
    rabbitmqBackup: generatePassword(),
    database: perApp(),
    broker: perApp(),
    secretKey: Object.fromEntries(config.apps.map((a) => [a.name, generatePassword(50)])),
  };
}

/** Where the loopback servers of a test answer. */
export interface Endpoints {
  postgres?: { host: string; port: number };
  redis?: { host: string; port: number };
  rabbitmq?: { host: string; port: number };
}

export function process(model: WorkloadModel, name: string): Process {
  const p = model.processes.find((x) => x.name === name);
  if (!p) throw new Error(`the model has no process ${name}; it has ${model.processes.map((x) => x.name).join(", ")}`);
  return p;
}

/** The value of one secret env source, built with the program's own URL builders. */
export function secretValue(source: SecretEnvSource, stack: Stack, creds: Credentials, endpoints: Endpoints): string {
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`test fixture: no ${what} for ${JSON.stringify(source)}`);
    return v;
  };
  switch (source.kind) {
    case "databaseUrl": {
      const e = need(endpoints.postgres, "postgres endpoint");
      return databaseUrl({ user: names.role(source.app), password: creds.database[source.app], host: e.host, port: e.port, database: names.database(source.app) });
    }
    case "redisUrl":
    case "resultBackend": {
      const e = need(endpoints.redis, "redis endpoint");
      const app = need(stack.config.apps.find((a) => a.name === source.app), "app");
      return redisUrl({ password: creds.redis, host: e.host, port: e.port, db: app.redisDb, tls: false });
    }
    case "redisBrokerUrl": {
      const e = need(endpoints.redis, "redis endpoint");
      const app = need(stack.config.apps.find((a) => a.name === source.app), "app");
      return redisUrl({ password: creds.redis, host: e.host, port: e.port, db: need(app.brokerRedisDb, "brokerRedisDb"), tls: false });
    }
    case "brokerUrl": {
      const e = need(endpoints.rabbitmq, "rabbitmq endpoint");
      return amqpUrl({ user: names.brokerUser(source.app), password: creds.broker[source.app], host: e.host, port: e.port, vhost: names.vhost(source.vhostOf ?? source.app) });
    }
    case "djangoSecretKey":
      return creds.secretKey[source.app];
    case "postgresSuperuserPassword":
      return creds.postgresSuperuser;
    case "postgresBootstrapPassword":
      return creds.postgresBootstrap;
    case "databasePassword":
      return creds.database[source.app];
    case "redisPassword":
      return creds.redis;
    case "rabbitmqAdminPassword":
      return creds.rabbitmqAdmin;
    case "rabbitmqBackupPassword":
      return creds.rabbitmqBackup;
    case "userSecret":
      return generatePassword();
    case "external":
      return need(creds.external?.[source.app]?.[source.service], "external URL");
    case "component": {
      const app = need(stack.config.apps.find((a) => a.name === source.app), "app");
      return connectionPart(secretValue(need(serviceSources(app)[source.service], "service URL"), stack, creds, endpoints), source.part);
    }
    case "backupCredential":
      throw new Error("test fixture: the backup bucket's key is not one of the stack's generated credentials");
    case "mediaCredential":
      return need(creds.media?.[source.app]?.[source.part], "media bucket key");
  }
}

/**
 * The full environment of a model process (plain env + resolved secret env), with the container
 * paths it names (static root, media, Celery probe files) moved under `dir`.
 */
export function processEnv(stack: Stack, processName: string, creds: Credentials, endpoints: Endpoints, dir: string): Record<string, string> {
  const p = process(stack.model, processName);
  const moved: [string, string][] = [
    [PATHS.celeryState, path.join(dir, "celery")],
    [PATHS.imageStatic, path.join(dir, "staticfiles")],
    [PATHS.media, path.join(dir, "media")],
    [PATHS.metricsDir, path.join(dir, "metrics")],
  ];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(p.env)) {
    const hit = moved.find(([from]) => value === from || value.startsWith(`${from}/`));
    env[key] = hit ? hit[1] + value.slice(hit[0].length) : value;
  }
  for (const [key, source] of Object.entries(p.secretEnv)) env[key] = secretValue(source, stack, creds, endpoints);
  return env;
}

/** A model command with container paths moved under `dir` (e.g. beat's --schedule). */
export function processCommand(stack: Stack, processName: string, dir: string): string[] {
  return process(stack.model, processName).command.map((arg) => (arg.startsWith(`${PATHS.celeryState}/`) ? path.join(dir, "celery", arg.slice(PATHS.celeryState.length + 1)) : arg));
}

/** The test credentials as the Secrets tier hands them to the realizers: secret Outputs. */
export function programCredentials(config: StackConfig, creds: Credentials): ProgramCredentials {
  const secret = (v: string) => pulumi.secret(v);
  const map = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, secret(v)]));
  return {
    djangoSecretKeys: map(creds.secretKey),
    postgresSuperuser: secret(creds.postgresSuperuser),
    postgresBootstrap: secret(creds.postgresBootstrap),
    databasePasswords: map(Object.fromEntries(config.apps.filter((a) => a.database).map((a) => [a.name, creds.database[a.name]]))),
    brokerPasswords: map(Object.fromEntries(config.apps.filter(usesDeployedRabbitmq).map((a) => [a.name, creds.broker[a.name]]))),
    rabbitmqAdmin: secret(creds.rabbitmqAdmin),
    ...(backsUpBrokerDefinitions(config) ? { rabbitmqBackup: secret(creds.rabbitmqBackup) } : {}),
    redisPassword: secret(creds.redis),
    userSecrets: {},
    registries: {},
    external: Object.fromEntries(Object.entries(creds.external ?? {}).map(([app, urls]) => [app, map(Object.fromEntries(Object.entries(urls).filter((e): e is [string, string] => e[1] !== undefined)))])),
  };
}

function resolve(value: pulumi.Input<string>): Promise<string> {
  return new Promise((ok) => pulumi.output(value).apply((v) => {
    ok(v);
    return v;
  }));
}

export interface RenderedFile {
  /** Where the container gets it. */
  path: string;
  /** The text `pulumi up` writes, with this test's real credentials. */
  text: string;
  /** The same file in the offline render's artifacts/ (secrets as "[secret]"). */
  artifactPath: string;
  artifact: string;
}

/**
 * A config file the Docker realizer places into a process's container (configFilesFor), with real
 * credentials, paired with the offline render's artifact of it; the two must agree.
 */
export async function renderedFile(stack: Stack, processName: string, creds: Credentials, suffix: string): Promise<RenderedFile> {
  const files = configFilesFor(process(stack.model, processName), stack.config, stack.model, programCredentials(stack.config, creds));
  const hits = files.filter((f) => f.path.endsWith(suffix));
  if (hits.length !== 1) throw new Error(`${processName}: expected one rendered file ending in ${suffix}, got ${files.map((f) => f.path).join(", ") || "none"}`);
  const f = hits[0];
  const artifact = stack.artifacts[f.artifact];
  if (artifact === undefined) throw new Error(`the offline render of ${stack.config.stack} wrote no artifact ${f.artifact}; it wrote ${Object.keys(stack.artifacts).join(", ")}`);
  if (artifact !== f.artifactContent) throw new Error(`artifact ${f.artifact} of the offline render differs from what the realizer records for ${processName}`);
  return { path: f.path, text: await resolve(f.content), artifactPath: f.artifact, artifact };
}

/**
 * Lines of `actual` and `expected` that differ once lines matching `placement` (addresses, ports,
 * paths: what a test legitimately moves to loopback) and blank lines are dropped from both. Empty means the two
 * configs say the same thing.
 */
export function diffBeyondPlacement(expected: string, actual: string, placement: RegExp[]): string[] {
  const keep = (text: string) => text.split("\n").filter((l) => l.trim() !== "" && !placement.some((re) => re.test(l)));
  const a = keep(expected);
  const b = keep(actual);
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) out.push(`line ${i + 1}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`);
  return out.slice(0, 5);
}
