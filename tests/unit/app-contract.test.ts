/**
 * The app contract (src/config/contract.ts): probe kinds and timings, the env names an app reads, and
 * external services replacing deployed ones; from config through the model to Docker and Kubernetes.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { Process } from "../../src/model/types";
import { probesFor } from "../../src/components/targets/kubernetes/workload";
import { healthcheckTest } from "../../src/components/targets/docker/realizer";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { containsSecret, unwrapSecrets } from "../../src/offline/secret";
import { BadInput, id, problems, refuses } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const model = (raw: Raw) => buildModel(parseConfig(raw, id));
const proc = (raw: Raw, name: string): Process => {
  const p = model(raw).processes.find((x) => x.name === name);
  assert.ok(p, `no process ${name}`);
  return p;
};
const app = (extra: Raw): Raw => ({ apps: [{ name: "kore", ...extra }] });

/** The probes as plain data (the realizer builds them from plain values, never Outputs). */
interface KubeProbe {
  httpGet?: unknown;
  tcpSocket?: unknown;
  exec?: unknown;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
type KubeProbes = Partial<Record<"livenessProbe" | "readinessProbe" | "startupProbe", KubeProbe>>;
const kube = (health: Process["health"]): KubeProbes => probesFor(health) as KubeProbes;

describe("apps[].health: probe kinds and timings", () => {
  it("defaults to today's probes: http healthPath / readyPath, 15s interval, 10s timeout, 4 retries, 60s start", () => {
    const web = proc({}, "web-web");
    assert.deepEqual(web.health, {
      liveness: { kind: "http", path: "/api/v1/health/", port: 8000, host: "localhost" },
      readiness: { kind: "http", path: "/readyz/", port: 8000, host: "localhost" },
      timing: { intervalSeconds: 15, timeoutSeconds: 10, failureThreshold: 4, startPeriodSeconds: 60 },
    });
  });

  it("takes Kore's Dockerfile HEALTHCHECK as config: one path for both, 30s/10s/3 retries/40s", () => {
    const web = proc(app({ healthPath: "/api/v1/health/", readyPath: "/api/v1/health/", health: { interval: 30, timeout: 10, retries: 3, startPeriod: 40 } }), "kore-web");
    assert.deepEqual(web.health?.timing, { intervalSeconds: 30, timeoutSeconds: 10, failureThreshold: 3, startPeriodSeconds: 40 });
    const k8s = kube(web.health);
    assert.deepEqual(k8s.livenessProbe, { httpGet: { path: "/api/v1/health/", port: 8000, scheme: "HTTP", httpHeaders: [{ name: "Host", value: "localhost" }] }, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 });
    assert.equal(k8s.startupProbe?.failureThreshold, Math.ceil(40 / 30) + 3, "the start period holds liveness off on Kubernetes too");
    assert.equal(k8s.readinessProbe?.periodSeconds, 30);
  });

  it("tcp and exec probes reach Docker's health check and Kubernetes as the same check", () => {
    const web = proc(app({ health: { liveness: "tcp", readiness: "exec", readinessCommand: ["python", "manage.py", "check", "--deploy"] } }), "kore-web");
    assert.deepEqual(web.health?.liveness, { kind: "tcp", port: 8000 });
    assert.deepEqual(web.health?.readiness, { kind: "exec", command: ["python", "manage.py", "check", "--deploy"] });
    const k8s = kube(web.health);
    assert.deepEqual(k8s.livenessProbe?.tcpSocket, { port: 8000 });
    assert.deepEqual(k8s.readinessProbe?.exec, { command: ["python", "manage.py", "check", "--deploy"] });
    assert.ok(web.health?.liveness && web.health.readiness);
    // An app image has python but not necessarily nc.
    assert.deepEqual(healthcheckTest(web.health.liveness, "web").slice(0, 2), ["CMD", "python"]);
    assert.deepEqual(healthcheckTest(web.health.readiness, "web"), ["CMD", "python", "manage.py", "check", "--deploy"]);
  });

  it('"none" drops that probe; both "none" leave the web process unprobed on every target', () => {
    const live = proc(app({ health: { readiness: "none" } }), "kore-web");
    assert.equal(live.health?.readiness, undefined);
    const k8s = kube(live.health);
    assert.equal(k8s.readinessProbe, undefined);
    assert.ok(k8s.livenessProbe && k8s.startupProbe);
    const ready = kube(proc(app({ health: { liveness: "none" } }), "kore-web").health);
    assert.equal(ready.livenessProbe, undefined);
    assert.equal(ready.startupProbe, undefined, "no liveness to hold off");
    assert.ok(ready.readinessProbe);
    assert.equal(proc(app({ health: { liveness: "none", readiness: "none" } }), "kore-web").health, undefined);
  });

  const bad: BadInput[] = [
    ["an unknown probe kind", app({ health: { liveness: "grpc" } }), "djangostack:apps[0].health.liveness", '"http", "tcp", "exec", "none"'],
    ["a command for an http probe", app({ health: { livenessCommand: ["true"] } }), "djangostack:apps[0].health.livenessCommand", 'only used when apps[0].health.liveness is "exec"'],
    ["a timeout longer than the interval", app({ health: { interval: 5, timeout: 10 } }), "djangostack:apps[0].health.timeout", "must not exceed apps[0].health.interval (5)"],
    ["zero retries", app({ health: { retries: 0 } }), "djangostack:apps[0].health.retries", "from 1 to 100"],
    ["an unknown health key", app({ health: { period: 5 } }), "djangostack:apps[0].health.period", "allowed keys of apps[0].health are"],
  ];
  refuses(bad);
  refuses([["exec without a command", app({ health: { readiness: "exec" } }), "djangostack:apps[0].health.readinessCommand", 'required when apps[0].health.readiness is "exec"']], { valueShown: false });
});

describe("apps[].envNames: the names the app's settings read", () => {
  const envOf = (raw: Raw, name = "kore-web") => {
    const p = proc(raw, name);
    return { plain: p.env, secret: p.secretEnv };
  };

  it("keeps today's names by default (the sample app's)", () => {
    const { plain, secret } = envOf({}, "web-web");
    assert.ok("DJANGO_ALLOWED_HOSTS" in plain);
    assert.deepEqual(Object.keys(secret).sort(), ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL", "DJANGO_SECRET_KEY", "REDIS_URL"]);
    assert.ok(!("DJANGO_DEBUG" in plain) && !("DEBUG" in plain), "no debug variable: the sample app defaults to off");
  });

  it("twelve-factor: SECRET_KEY, ALLOWED_HOSTS, DEBUG=False and the URL family (seed 003)", () => {
    const { plain, secret } = envOf(app({ envNames: { preset: "twelve-factor" } }));
    assert.equal(plain.DEBUG, "False");
    assert.match(plain.ALLOWED_HOSTS, /kore-web/);
    assert.ok(!("DJANGO_ALLOWED_HOSTS" in plain));
    assert.deepEqual(Object.keys(secret).sort(), ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"]);
  });

  it("cookiecutter-django: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DJANGO_DEBUG; results on the broker URL", () => {
    const { plain, secret } = envOf(app({ envNames: { preset: "cookiecutter-django" } }));
    assert.equal(plain.DJANGO_DEBUG, "False");
    assert.deepEqual(Object.keys(secret).sort(), ["CELERY_BROKER_URL", "DATABASE_URL", "DJANGO_SECRET_KEY", "REDIS_URL"]);
  });

  it('renames one setting at a time, and "" leaves a setting the app does not read unset', () => {
    const { secret } = envOf(app({ envNames: { cacheUrl: "CACHE_URL", resultBackend: "" } }));
    assert.deepEqual(secret.CACHE_URL, { kind: "redisUrl", app: "kore" });
    assert.ok(!("REDIS_URL" in secret) && !("CELERY_RESULT_BACKEND" in secret));
  });

  it("frees a default name the app no longer reads for its own env, and guards the new one", () => {
    const config = parseConfig(app({ envNames: { cacheUrl: "CACHE_URL" }, env: { REDIS_URL: "redis://analytics:6379/0" } }), id);
    assert.equal(config.apps[0].env.REDIS_URL, "redis://analytics:6379/0");
    const found = problems(app({ envNames: { cacheUrl: "CACHE_URL" }, env: { CACHE_URL: "locmem://" } }));
    assert.ok(found.some((p) => p.startsWith("djangostack:apps[0].env.CACHE_URL:") && p.includes("set by djangostack")), found.join("\n"));
  });

  refuses([
    ["an unknown preset", app({ envNames: { preset: "heroku" } }), "djangostack:apps[0].envNames.preset", '"djangostack", "twelve-factor", "cookiecutter-django"'],
    ["two settings under one name", app({ envNames: { cacheUrl: "DATABASE_URL" } }), "djangostack:apps[0].envNames.cacheUrl", "already the name of apps[0].envNames.databaseUrl"],
    ["a name djangostack sets for another purpose", app({ envNames: { debug: "DJANGO_STATIC_ROOT" } }), "djangostack:apps[0].envNames.debug", "djangostack already sets DJANGO_STATIC_ROOT"],
    ["an empty secret key name", app({ envNames: { secretKey: "" } }), "djangostack:apps[0].envNames.secretKey", "an UPPER_SNAKE_CASE env name"],
    ["a lowercase name", app({ envNames: { databaseUrl: "database_url" } }), "djangostack:apps[0].envNames.databaseUrl", "UPPER_SNAKE_CASE"],
    ["an unknown role", app({ envNames: { sentryDsn: "SENTRY_DSN" } }), "djangostack:apps[0].envNames.sentryDsn", "allowed keys of apps[0].envNames are"],
  ]);
});

describe("djangostack:external: an existing service instead of a deployed one", () => {
  const URLS = { database: "postgres://kore:pw-of-kore@db.example.net:5432/kore", cache: "rediss://default:pw-of-cache@cache.example.net:6380/0", broker: "amqps://kore:pw-of-mq@mq.example.net/kore", resultBackend: "rediss://default:pw-of-cache@cache.example.net:6380/1" };
  const processes = (raw: Raw) => model(raw).processes.map((p) => p.name);

  it("an external database: no Postgres, no init, DATABASE_URL from the secret, no Postgres claim", () => {
    const raw = { ...app({}), external: { kore: { database: URLS.database } } };
    const names = processes(raw);
    assert.ok(!names.includes("postgres") && !names.includes("postgres-init"), names.join(", "));
    const web = proc(raw, "kore-web");
    assert.deepEqual(web.secretEnv.DATABASE_URL, { kind: "external", app: "kore", service: "database" });
    assert.equal(web.claims.postgres, undefined);
    assert.ok(!web.dependsOn.includes("postgres"));
  });

  it("external cache and results: no Redis; an external broker: no RabbitMQ", () => {
    const raw = { ...app({}), external: { kore: URLS } };
    const names = processes(raw);
    for (const service of ["postgres", "redis", "rabbitmq"]) assert.ok(!names.includes(service), `${service} deployed: ${names.join(", ")}`);
    const worker = proc(raw, "kore-worker-default");
    assert.deepEqual(worker.dependsOn, []);
    assert.deepEqual(Object.values(worker.secretEnv).map((s) => s.kind).sort(), ["djangoSecretKey", "external", "external", "external", "external"]);
  });

  it("keeps a deployed service while any app still uses it", () => {
    const raw = { apps: [{ name: "kore" }, { name: "admin2", routes: ["/admin2/"] }], external: { kore: { broker: URLS.broker, database: URLS.database } } };
    const names = processes(raw);
    assert.ok(names.includes("rabbitmq") && names.includes("postgres"), names.join(", "));
    assert.equal(proc(raw, "kore-web").claims.rabbitmq, undefined, "kore has no vhost on the deployed broker");
    assert.ok(proc(raw, "admin2-web").claims.rabbitmq);
  });

  it("never shows a URL in a message", () => {
    const found = problems({ ...app({}), external: { kore: { database: "mysql://kore:pw-of-kore@db/kore" } } });
    const message = found.find((p) => p.startsWith("djangostack:external.kore.database:"));
    assert.ok(message, found.join("\n"));
    assert.ok(!message.includes("pw-of-kore") && !message.includes("mysql"), message);
  });

  refuses(
    [
      ["a database URL of another engine", { ...app({}), external: { kore: { database: "mysql://x@db/kore" } } }, "djangostack:external.kore.database", "postgres://, postgresql://"],
      ["an unknown service", { ...app({}), external: { kore: { search: "http://es:9200" } } }, "djangostack:external.kore.search", "allowed: database, cache, broker, resultBackend"],
      ["an unknown app", { ...app({}), external: { shop: { database: URLS.database } } }, "djangostack:external.shop", "no such app; apps are kore"],
      ["an external database for an app without one", { ...app({ database: false }), external: { kore: { database: URLS.database } } }, "djangostack:external.kore.database", "has database: false"],
      ["an external broker without Celery", { ...app({ broker: false }), external: { kore: { broker: URLS.broker } } }, "djangostack:external.kore.broker", "has broker: false"],
      ["a result backend the app reads no variable for", { ...app({ envNames: { preset: "cookiecutter-django" } }), external: { kore: { resultBackend: URLS.resultBackend } } }, "djangostack:external.kore.resultBackend", "envNames.resultBackend"],
    ],
    { valueShown: false },
  );
});

describe("apps[].port, user, build.args", () => {
  it("accepts any port and a non-root uid:gid for every process of the app", () => {
    const m = model(app({ port: 80, user: "1000:1000" }));
    // All but the one-off that hands the volumes to that uid (root with CHOWN and DAC_READ_SEARCH only).
    for (const p of m.processes.filter((x) => x.app === "kore" && x.role !== "chown")) assert.equal(p.user, "1000:1000", p.name);
    assert.deepEqual(m.processes.filter((x) => x.user === "0:0").map((x) => [x.name, x.capabilities]), [["kore-chown", ["CHOWN", "DAC_READ_SEARCH"]]]);
    const web = m.processes.find((p) => p.name === "kore-web");
    assert.deepEqual(web?.ports, [{ name: "http", port: 80 }]);
    assert.deepEqual(web?.health?.liveness, { kind: "http", path: "/api/v1/health/", port: 80, host: "localhost" });
    assert.equal(model({}).processes.find((p) => p.name === "web-web")?.sysctls, undefined, "8000 needs no sysctl");
  });

  refuses([
    ["root", app({ user: "0:0" }), "djangostack:apps[0].user", '"uid:gid" with a non-zero uid'],
    ["a user name", app({ user: "django" }), "djangostack:apps[0].user", '"uid:gid"'],
    ["port 0", app({ port: 0 }), "djangostack:apps[0].port", "from 1 to 65535"],
    ["a bad build arg name", app({ build: { args: { "PY-VERSION": "3" } } }), "djangostack:apps[0].build.args.PY-VERSION", "build arg names"],
  ]);
  refuses([["a credential as a build arg", app({ build: { args: { PIP_INDEX_TOKEN: "t0ken" } } }), "djangostack:apps[0].build.args.PIP_INDEX_TOKEN", "readable in the image history"]], { valueShown: false });
});

describe("the contract under the offline engine (Docker and Kubernetes)", () => {
  const extraConfig = {
    ...exactApps([{ name: "kore", envNames: { preset: "cookiecutter-django" }, health: { liveness: "none", readiness: "none" }, port: 80, user: "1000:1000", build: { context: "./app", args: { PYTHON_VERSION: "3.12" } } }]),
    "djangostack:external": { kore: { database: "postgres://kore:pw-of-kore@db.example.net:5432/kore" } },
  };
  let local: Evaluation;
  let production: Evaluation;
  before(async () => {
    local = await evaluateStack({ stack: "local", extraConfig });
    production = await evaluateStack({ stack: "production", extraConfig });
  });

  it("Docker: no Postgres container, the web container gets the external URL under DATABASE_URL as a secret", () => {
    const containers = local.engine.resources.filter((r) => r.type === "docker:index/container:Container");
    const process = (c: (typeof containers)[number]) => ((unwrapSecrets(c.inputs.labels) ?? []) as { label: string; value: string }[]).find((l) => l.label === "djangostack.process")?.value;
    assert.ok(!containers.some((c) => process(c) === "postgres"));
    const web = containers.find((c) => process(c) === "kore-web");
    assert.ok(web);
    const envs = unwrapSecrets(web.inputs.envs) as string[];
    assert.ok(envs.includes("DATABASE_URL=postgres://kore:pw-of-kore@db.example.net:5432/kore"));
    assert.ok(envs.some((e) => e.startsWith("DJANGO_SECRET_KEY=")) && envs.some((e) => e.startsWith("DJANGO_DEBUG=False")));
    const raw = web.inputs.envs;
    const plain = Array.isArray(raw) ? raw.filter((e): e is string => typeof e === "string") : [];
    assert.ok(containsSecret(raw) && !plain.some((e) => e.startsWith("DATABASE_URL=")), "the URL only travels as a secret");
  });

  it('Docker, probes "none": no health check and no health wait; the cutover waits for running containers instead', () => {
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && JSON.stringify(unwrapSecrets(r.inputs.labels)).includes('"kore-web"'));
    assert.ok(web);
    assert.equal(web.inputs.healthcheck, undefined);
    assert.equal(web.inputs.wait, undefined);
    const cutover = local.engine.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-kore-web-cutover"));
    assert.match(JSON.stringify(unwrapSecrets(cutover?.inputs)), /The app has no probe: each new container must at least be running/);
  });

  it("Docker: the app's uid:gid, port 80 bound unprivileged by sysctl, build args to the image build", () => {
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && JSON.stringify(unwrapSecrets(r.inputs.labels)).includes('"kore-web"'));
    assert.equal(web?.inputs.user, "1000:1000");
    assert.deepEqual(web?.inputs.sysctls, { "net.ipv4.ip_unprivileged_port_start": "80" });
    const image = local.engine.resources.find((r) => r.type === "docker-build:index:Image");
    assert.deepEqual(image?.inputs.buildArgs, { PYTHON_VERSION: "3.12" });
  });

  it("Kubernetes: the pod runs as the app's uid:gid and may bind port 80", () => {
    const deployment = production.engine.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.includes("kore-web"));
    const pod = (unwrapSecrets(deployment?.inputs) as { spec: { template: { spec: { securityContext: Record<string, unknown> } } } }).spec.template.spec;
    assert.equal(pod.securityContext.runAsUser, 1000);
    assert.deepEqual(pod.securityContext.sysctls, [{ name: "net.ipv4.ip_unprivileged_port_start", value: "80" }]);
  });

  it("Kubernetes: no managed Postgres cluster, the app Secret carries the external URL", () => {
    assert.ok(!production.engine.resources.some((r) => r.type === "digitalocean:index/databaseCluster:DatabaseCluster" && String(r.name).includes("postgres")));
    const secrets = production.engine.resources.filter((r) => r.type === "kubernetes:core/v1:Secret" && r.name.includes("kore-secrets"));
    assert.ok(secrets.length > 0);
    assert.match(JSON.stringify(unwrapSecrets(secrets[0].inputs)), /postgres:\/\/kore:pw-of-kore@db\.example\.net/);
  });
});
