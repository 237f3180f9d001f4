import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { isWireSecret, unwrapSecrets } from "../../src/offline/secret";

/** The five seed systems, each as an example stack file evaluated by the real program offline. */
const evaluate = (file: string): Promise<Evaluation> => evaluateStack({ stack: file, stackFile: `examples/${file}.yaml` });

function containers(ev: Evaluation): Map<string, RecordedResource> {
  const byProcess = new Map<string, RecordedResource>();
  for (const r of ev.engine.resources.filter((x) => x.type === "docker:index/container:Container")) {
    const label = (r.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "djangostack.process");
    if (label) byProcess.set(label.value, r);
  }
  return byProcess;
}

function artifact(ev: Evaluation, path: string): string {
  const found = ev.artifacts.find((a) => a.path === path);
  assert.ok(found, `no artifact ${path}`);
  return found.content;
}

describe("seed systems render from one stack file each", () => {
  it("000/001 Kore monolith on local Docker: Postgres 15, gunicorn 3 workers / 60 s, one worker and one beat", async () => {
    const ev = await evaluate("seed-000-kore-monolith");
    const c = containers(ev);
    for (const p of ["postgres", "redis", "rabbitmq", "kore-migrate", "kore-web", "kore-worker-default", "kore-beat", "nginx"]) assert.ok(c.has(p), `missing ${p}`);
    const pulled = ev.engine.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name);
    assert.ok(pulled.includes("postgres:15-bookworm"), String(pulled));
    const gunicorn = artifact(ev, "gunicorn/kore.gunicorn.conf.py");
    assert.match(gunicorn, /^workers = _workers\(3, \d+\)$/m, "3 workers as configured, capped by the container");
    assert.match(gunicorn, /timeout = 60\b/);
    // The seed's own names and its HEALTHCHECK timings.
    const web = c.get("kore-web");
    const env = unwrapSecrets(web?.inputs.envs) as string[];
    for (const name of ["SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"]) assert.ok(env.some((e) => e.startsWith(`${name}=`)), `no ${name}`);
    for (const pair of ["POSTGRES_DB=kore_db", "POSTGRES_USER=kore_user", "RABBITMQ_VHOST=/kore", "RABBITMQ_USER=kore_broker"]) assert.ok(env.includes(pair), `no ${pair}`);
    assert.ok(!env.some((e) => e.startsWith("DJANGO_SECRET_KEY=")), "the sample app's names are not set for this app");
    const hc = (web?.inputs.healthcheck ?? {}) as { interval?: string; timeout?: string; retries?: number; startPeriod?: string };
    assert.deepEqual([hc.interval, hc.timeout, hc.retries, hc.startPeriod], ["30s", "10s", 3, "40s"]);
    // Seed 001's paths: static collected at build in /app/staticfiles (the release copies it), uploads in /app/media.
    assert.match((c.get("kore-migrate")?.inputs.command as string[])[2], /'\/app\/staticfiles' '\/srv\/djangostack-static'/);
    assert.ok(env.includes("DJANGO_MEDIA_ROOT=/app/media"));
    assert.ok((web?.inputs.volumes as { containerPath: string }[]).some((v) => v.containerPath === "/app/media"));
  });

  it("002 ticket tracking on a Droplet: five services with a database and vhost each, two pools, a frontend and WebSockets", async () => {
    const ev = await evaluate("seed-002-ticket-tracking");
    const services = ["auth", "ticket", "workflow", "messaging", "notification"];
    const sql = artifact(ev, "postgres/init.sql");
    for (const s of services) assert.ok(sql.includes(`${s}_db`), `no database for ${s}`);
    const definitions = JSON.parse(artifact(ev, "rabbitmq/definitions.json")) as { vhosts: { name: string }[]; users: { name: string }[] };
    assert.deepEqual(definitions.vhosts.map((v) => v.name).sort(), services.map((s) => `/${s}`).sort());
    assert.ok(!definitions.users.some((u) => u.name === "guest"));
    const c = containers(ev);
    assert.ok(c.has("workflow-worker-default") && c.has("notification-worker-mail") && c.has("frontend"));
    assert.equal([...c.keys()].filter((p) => p.endsWith("-beat")).length, 1);
    assert.ok((c.get("notification-worker-mail")?.inputs.command as string[]).includes("gevent"));
    const nginx = artifact(ev, "nginx/nginx.conf");
    assert.match(nginx, /location \^?~? ?\/api\/auth\/ \{[^}]*proxy_pass http:\/\/auth-web/s);
    assert.match(nginx, /location [^{]*\/ws\/ \{[^}]*Upgrade \$djs_upgrade/s);
    assert.match(nginx, /server_name tickets\.example\.com/);
    // Workflow enqueues notification's tasks; messaging serves its WebSockets under daphne.
    const workflowEnv = unwrapSecrets(c.get("workflow-web")?.inputs.envs) as string[];
    assert.ok(workflowEnv.some((e) => /^CELERY_BROKER_URL_NOTIFICATION=amqp:\/\/workflow_broker:[^@]+@[^/]+\/%2Fnotification$/.test(e)), workflowEnv.filter((e) => e.startsWith("CELERY")).map((e) => e.replace(/:[^:@]+@/, ":***@")).join(" "));
    assert.equal((c.get("messaging-web")?.inputs.command as string[])[0], "daphne");
  });

  it("003 e-commerce on Kubernetes with in-cluster PostgreSQL and Redis StatefulSets, Celery on Redis (no RabbitMQ) and a 3..10 HPA", async () => {
    const ev = await evaluate("seed-003-ecommerce-k8s");
    const kinds = (kind: string) => ev.engine.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.kind === kind);
    const sets = kinds("StatefulSet").map((s) => (s.inputs.metadata as { name?: string }).name ?? s.name);
    for (const service of ["postgres", "redis"]) assert.ok(sets.some((n) => n.includes(service)), `no ${service} StatefulSet in ${sets.join(", ")}`);
    assert.ok(!sets.some((n) => n.includes("rabbitmq")), "the seed's broker is Redis: no RabbitMQ");
    assert.ok(!ev.engine.resources.some((r) => r.type === "digitalocean:index/databaseCluster:DatabaseCluster"), "no managed database in container mode");
    const hpa = kinds("HorizontalPodAutoscaler")[0]?.inputs.spec as { minReplicas: number; maxReplicas: number } | undefined;
    assert.deepEqual([hpa?.minReplicas, hpa?.maxReplicas], [3, 10]);
  });

  it("004 admin2 on a Droplet: eventlet pool, Celery on Redis (no RabbitMQ) and the external ClickHouse password only as a secret", async () => {
    const ev = await evaluate("seed-004-admin2-production");
    const c = containers(ev);
    assert.ok(![...c.keys()].some((n) => n.includes("rabbitmq")), [...c.keys()].join(", "));
    const workerEnv = unwrapSecrets(c.get("admin2-worker-default")?.inputs.envs) as string[];
    assert.ok(workerEnv.some((e) => /^CELERY_BROKER_URL=redis:\/\/.*\/15$/.test(e)), "the broker is the queues' own Redis database");
    assert.ok((c.get("admin2-worker-default")?.inputs.command as string[]).join(" ").includes("--pool eventlet"));
    const web = c.get("admin2-web");
    // The seed's volumes: /app/static (collected there at release) and /app/media.
    assert.ok((c.get("admin2-migrate")?.inputs.volumes as { containerPath: string }[]).some((v) => v.containerPath === "/app/static"));
    assert.ok((web?.inputs.volumes as { containerPath: string }[]).some((v) => v.containerPath === "/app/media"));
    assert.ok(web && isWireSecret(web.inputs.envs));
    const env = unwrapSecrets(web.inputs.envs) as string[];
    assert.ok(env.includes("CLICKHOUSE_HOST=clickhouse.example.net"));
    assert.ok(env.some((e) => e.startsWith("CLICKHOUSE_PASSWORD=offline-placeholder-")), "the secret config value reaches the app");
  });
});
