import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { Evaluation, REPO_ROOT, evaluateStack } from "../../src/offline/render";
import { RecordedResource, resolveOutputs } from "../../src/offline/engine";
import { isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { Raw } from "../../src/config/checker";
import { EXAMPLES, Example, exampleDir, exampleStacks } from "../helpers/examples";
import { capacityReport } from "../../src/config/capacity";
import { usesDeployedRabbitmq } from "../../src/config/contract";
import { RABBITMQ_ADMIN } from "../../src/model/names";
import { zoneId } from "../../src/render/nginx";
import { effectiveRaw, leaves, stackDifferences } from "../helpers/overlay";

const projectDir = exampleDir;
const stacksOf = exampleStacks;

function leavesOf(raw: Raw): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) leaves(v, k, out);
  return out;
}

/** Each stack evaluated once by the real program offline (one evaluation at a time: the engine's mocks are the process's). */
const evaluations = new Map<string, Evaluation>();
async function evaluate(example: Example, stack: string): Promise<Evaluation> {
  const key = `${example}/${stack}`;
  const known = evaluations.get(key);
  if (known) return known;
  const ev = await evaluateStack({ stack, projectDir: projectDir(example) });
  evaluations.set(key, ev);
  return ev;
}

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

/** The server block for `domain` in a rendered nginx.conf (the HTTPS one; `_` is a local stack's sole HTTP server), as its top-level locations (modifier, path, body). */
function serverLocations(nginx: string, domain: string): { modifier: string; path: string; body: string }[] {
  const lines = nginx.split("\n");
  const listen = domain === "_" ? "listen 8080 default_server;" : "listen 8443 ssl;";
  const start = lines.findIndex((l, i) => l.trim() === listen && lines.slice(i + 1, i + 3).some((n) => n.trim() === `server_name ${domain};`));
  assert.ok(start >= 0, `no server for ${domain}`);
  const out: { modifier: string; path: string; body: string }[] = [];
  for (let i = start; i < lines.length && lines[i] !== "    }"; i++) {
    const m = /^ {8}location (?:(=|\^~|~\*?) )?(\S+) \{$/.exec(lines[i]);
    if (!m) continue;
    const body: string[] = [];
    for (i++; lines[i] !== "        }"; i++) body.push(lines[i]);
    out.push({ modifier: m[1] ?? "", path: m[2], body: body.join("\n") });
  }
  return out;
}

/** The location nginx picks for `uri` among the server's top-level ones (exact, then the longest prefix; no regex locations there). */
function routeOf(nginx: string, domain: string, uri: string): { path: string; upstream: string | undefined; zone: string | undefined; body: string } {
  const locations = serverLocations(nginx, domain);
  const exact = locations.find((l) => l.modifier === "=" && l.path === uri);
  const prefix = locations.filter((l) => (l.modifier === "" || l.modifier === "^~") && uri.startsWith(l.path)).sort((a, b) => b.path.length - a.path.length)[0];
  const chosen = exact ?? prefix;
  assert.ok(chosen, `no location for ${uri}`);
  return {
    path: chosen.path,
    upstream: /proxy_pass http:\/\/([A-Za-z0-9_-]+)/.exec(chosen.body)?.[1],
    zone: /limit_req zone=(\S+)/.exec(chosen.body)?.[1],
    body: chosen.body,
  };
}

/** `limit_req_zone` rates by zone name. */
function zoneRates(nginx: string): Map<string, string> {
  return new Map([...nginx.matchAll(/limit_req_zone \S+ zone=([^:]+):\S+ rate=(\S+);/g)].map((m) => [m[1], m[2]]));
}

describe("each example is a Pulumi project whose stacks all evaluate", () => {
  for (const example of EXAMPLES) {
    it(`examples/${example}: Pulumi.yaml runs this repository's program and defines the apps; staging and production are stacks`, () => {
      const project = YAML.parse(fs.readFileSync(path.join(projectDir(example), "Pulumi.yaml"), "utf8")) as { name: string; main: string; runtime: unknown; config: Record<string, { default?: unknown }> };
      const repo = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { runtime: unknown };
      assert.equal(project.name, "djangostack");
      assert.deepEqual(project.runtime, repo.runtime);
      assert.equal(path.resolve(projectDir(example), project.main), REPO_ROOT);
      assert.ok(Array.isArray(project.config["djangostack:apps"].default), "the apps are project config defaults");
      for (const stack of ["staging", "production"]) assert.ok(stacksOf(example).includes(stack), `no Pulumi.${stack}.yaml`);
    });
    for (const stack of stacksOf(example)) {
      it(`examples/${example} stack ${stack} evaluates`, async () => {
        const ev = await evaluate(example, stack);
        assert.ok(ev.engine.resources.length > 10);
        assert.equal(ev.project, "djangostack");
      });
    }
  }
});

describe("each example's stacks differ from its shared definition exactly where their stack files say", () => {
  for (const example of EXAMPLES) {
    for (const stack of stacksOf(example)) {
      it(`examples/${example}/Pulumi.${stack}.yaml leaves djangostack:apps to Pulumi.yaml and changes only what it writes`, () => {
        const { differing, said, files } = stackDifferences(projectDir(example), stack);
        assert.equal(path.basename(files.origins["djangostack:apps"]), "Pulumi.yaml", `Pulumi.${stack}.yaml writes its own djangostack:apps`);
        assert.ok(differing.length > 0, "a stack that changes nothing");
        for (const key of differing) assert.ok(said.has(key), `${key} differs but Pulumi.${stack}.yaml does not set it`);
        for (const key of said) assert.ok(differing.includes(key), `${key} is set by Pulumi.${stack}.yaml to the shared value: leave it out`);
      });
    }
  }

  it("staging and production of each example differ, and only where one of their stack files writes", () => {
    for (const example of EXAMPLES) {
      const [staging, production] = ["staging", "production"].map((stack) => stackDifferences(projectDir(example), stack));
      const [a, b] = [staging, production].map((d) => leavesOf(effectiveRaw(d.files)));
      const differing = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
      assert.ok(differing.length > 0, `${example}: staging and production deploy the same`);
      for (const key of differing) assert.ok(staging.said.has(key) || production.said.has(key), `${example}: ${key} differs between staging and production but neither stack file sets it`);
    }
  });
});

describe("seed systems: the settings the seeds name", () => {
  it("000/001 Kore monolith on local Docker: Postgres 15, gunicorn 3 workers / 60 s, one worker and one beat", async () => {
    const ev = await evaluate("kore", "local");
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
    const ev = await evaluate("ticket-tracking", "production");
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
    // Workflow enqueues notification's tasks.
    const workflowEnv = unwrapSecrets(c.get("workflow-web")?.inputs.envs) as string[];
    assert.ok(workflowEnv.some((e) => /^CELERY_BROKER_URL_NOTIFICATION=amqp:\/\/workflow_broker:[^@]+@[^/]+\/%2Fnotification$/.test(e)), workflowEnv.filter((e) => e.startsWith("CELERY")).map((e) => e.replace(/:[^:@]+@/, ":***@")).join(" "));
    // Calls between services (apps[].calls): each caller's processes get the callee's web inside the stack.
    const workerEnv = unwrapSecrets(c.get("workflow-worker-default")?.inputs.envs) as string[];
    for (const env of [workflowEnv, workerEnv]) assert.ok(env.includes("AUTH_SERVICE_URL=http://auth-web:8000") && env.includes("TICKET_SERVICE_URL=http://ticket-web:8000"));
    assert.ok(!(unwrapSecrets(c.get("auth-web")?.inputs.envs) as string[]).some((e) => e.includes("_SERVICE_URL=")), "auth calls no one");
  });

  it("002 the seed's values in the render: PostgreSQL 15, RabbitMQ 3.13, API 10 r/s and auth 5 r/s, the admin on the auth service, WebSockets on an ASGI gunicorn, every service's health", async () => {
    const ev = await evaluate("ticket-tracking", "production");
    const pulled = ev.engine.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => String(r.inputs.name));
    // "PostgreSQL 15 with persistent volume", "RabbitMQ 3.13 for message queuing"
    assert.ok(pulled.some((n) => /^postgres:15-bookworm(@sha256:[0-9a-f]{64})?$/.test(n)), `postgres image: ${pulled.filter((n) => n.startsWith("postgres")).join(", ")}`);
    assert.ok(!pulled.some((n) => /^postgres:(?!15-)/.test(n)), "no other PostgreSQL major");
    assert.ok(pulled.some((n) => /^rabbitmq:3\.13-/.test(n)), pulled.join(", "));
    const domain = "tickets.example.com";
    const nginx = artifact(ev, "nginx/nginx.conf");
    const rates = zoneRates(nginx);
    // "API endpoints limited to 10 req/s", "Auth endpoints limited to 5 req/s": per second, never per minute.
    assert.match(nginx, /limit_req_zone \$binary_remote_addr zone=djs_zone_api:10m rate=10r\/s;/);
    assert.match(nginx, /limit_req_zone \$binary_remote_addr zone=djs_zone_auth:10m rate=5r\/s;/);
    for (const uri of ["/api/auth/", "/api/auth/login/", "/api/auth/token/", "/admin/", "/admin/login/"]) {
      const r = routeOf(nginx, domain, uri);
      assert.equal(r.upstream, "auth-web", `${uri} goes to ${r.upstream} (location ${r.path})`);
      assert.equal(r.zone && rates.get(r.zone), "5r/s", `${uri} is limited by ${r.zone} at ${r.zone && rates.get(r.zone)}, the seed's auth limit is 5 r/s`);
    }
    for (const [uri, upstream] of [["/api/tickets/1/", "ticket-web"], ["/api/workflow/", "workflow-web"], ["/api/messages/", "messaging-web"], ["/api/notifications/", "notification-web"]]) {
      const r = routeOf(nginx, domain, uri);
      assert.equal(r.upstream, upstream, `${uri} -> ${r.upstream}`);
      assert.equal(r.zone && rates.get(r.zone), "10r/s", `${uri} at ${r.zone && rates.get(r.zone)}`);
    }
    // "WebSocket support for real-time messaging" on "Gunicorn for Python services": /ws/ is upgraded and
    // proxied to the messaging service, whose gunicorn runs uvicorn's (ASGI) worker class.
    const ws = routeOf(nginx, domain, "/ws/chat/");
    assert.equal(ws.upstream, "messaging-web");
    assert.match(ws.body, /proxy_set_header Upgrade \$djs_upgrade;/);
    const c = containers(ev);
    assert.equal((c.get("messaging-web")?.inputs.command as string[])[0], "gunicorn", (c.get("messaging-web")?.inputs.command as string[]).join(" "));
    assert.match(artifact(ev, "gunicorn/messaging.gunicorn.conf.py"), /^worker_class = "uvicorn\.workers\.UvicornWorker"$/m);
    assert.deepEqual(ev.config.apps.filter((a) => a.websocketPaths.length > 0).map((a) => [a.name, a.server]), [["messaging", "gunicorn-uvicorn"]]);
    // "Health checks for all services": each service's own liveness and readiness reach that service.
    for (const s of ["auth", "ticket", "workflow", "messaging", "notification"]) {
      const app = ev.config.apps.find((a) => a.name === s);
      assert.ok(app, s);
      for (const [kind, p] of [["health", app.healthPath], ["ready", app.readyPath]]) {
        const r = routeOf(nginx, domain, `/_djangostack/${s}/${kind}/`);
        assert.ok(r.body.includes(`proxy_pass http://${s}-web${p};`), `/_djangostack/${s}/${kind}/ -> ${r.body.match(/proxy_pass \S+/)?.[0]}`);
      }
    }
  });

  it("003 e-commerce on Kubernetes with in-cluster PostgreSQL and Redis StatefulSets, Celery on Redis (no RabbitMQ) and a 3..10 HPA", async () => {
    const ev = await evaluate("ecommerce", "production");
    const kinds = (kind: string) => ev.engine.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.kind === kind);
    const sets = kinds("StatefulSet").map((s) => (s.inputs.metadata as { name?: string }).name ?? s.name);
    for (const service of ["postgres", "redis"]) assert.ok(sets.some((n) => n.includes(service)), `no ${service} StatefulSet in ${sets.join(", ")}`);
    assert.ok(!sets.some((n) => n.includes("rabbitmq")), "the seed's broker is Redis: no RabbitMQ");
    assert.ok(!ev.engine.resources.some((r) => r.type === "digitalocean:index/databaseCluster:DatabaseCluster"), "no managed database in container mode");
    const hpa = kinds("HorizontalPodAutoscaler")[0]?.inputs.spec as { minReplicas: number; maxReplicas: number } | undefined;
    assert.deepEqual([hpa?.minReplicas, hpa?.maxReplicas], [3, 10]);
  });

  it("004 admin2 on a Droplet: eventlet pool, Celery on Redis (no RabbitMQ) and the external ClickHouse password only as a secret", async () => {
    const ev = await evaluate("admin2", "production");
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
    // seed 004's ClickHouse: one secret URL (external.admin2.clickhouse), read in the parts its settings
    // name, by the web process and the worker alike; offline each part shows the secret's placeholder.
    for (const process of ["admin2-web", "admin2-worker-default"]) {
      const env = unwrapSecrets(c.get(process)?.inputs.envs) as string[];
      for (const part of ["HOST", "PORT", "DATABASE", "USER", "PASSWORD"]) {
        assert.ok(env.some((e) => e.startsWith(`CLICKHOUSE_${part}=offline-placeholder-`)), `${process}: CLICKHOUSE_${part} from the secret URL`);
      }
    }
    assert.deepEqual(ev.config.apps[0].external, ["clickhouse"]);
    // The address the ClickHouse side allow-lists: the reserved IP, which a new Droplet keeps.
    const { egress, reservedIp } = (await resolveOutputs(ev.exports)) as { egress: { address: string; stable: boolean }; reservedIp: string };
    assert.deepEqual([egress.address, egress.stable], [reservedIp, true]);
  });

  it("000/001 Kore production: the seed's server as a Droplet with public TLS from Let's Encrypt; staging the same on Let's Encrypt's staging CA", async () => {
    const ev = await evaluate("kore", "production");
    assert.equal(ev.config.target, "droplet");
    assert.ok(ev.engine.resources.some((r) => r.type === "digitalocean:index/droplet:Droplet"));
    const nginx = artifact(ev, "nginx/nginx.conf");
    assert.match(nginx, /server_name kore\.example\.com/);
    assert.match(nginx, /listen 8443 ssl;/, "TLS (nginx runs unprivileged; the host publishes 443 to 8443)");
    assert.ok(containers(ev).has("certbot"), [...containers(ev).keys()].join(", "));
    const ports = containers(ev).get("nginx")?.inputs.ports as { external: number; internal: number; ip: string }[];
    assert.ok(ports.some((p) => p.external === 443 && p.internal === 8443 && p.ip === "0.0.0.0"), JSON.stringify(ports));
    assert.deepEqual([ev.config.edge.tls.mode, ev.config.edge.tls.staging], ["letsencrypt", false]);
    const staging = await evaluate("kore", "staging");
    assert.deepEqual([staging.config.domain, staging.config.edge.tls.staging], ["staging.kore.example.com", true]);
    const gunicorn = artifact(ev, "gunicorn/kore.gunicorn.conf.py");
    assert.match(gunicorn, /^workers = _workers\(3, \d+\)$/m, "the seed's 3 workers in production too");
  });

  it("000/001 Kore on every stack: the seed's nginx 1.27, PostgreSQL 15, Redis 7, RabbitMQ 3, gunicorn 3 workers / 60 s on :8000, its HEALTHCHECK and readiness on /api/v1/health/, its env", async () => {
    for (const stack of ["local", "staging", "production"]) {
      const ev = await evaluate("kore", stack);
      const pulled = ev.engine.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => String(r.inputs.name));
      const tags = (repo: string) => pulled.filter((n) => n.startsWith(`${repo}:`)).map((n) => n.slice(repo.length + 1).replace(/@sha256:[0-9a-f]{64}$/, ""));
      // seed 000: "nginx:1.27-alpine", "postgres:15-alpine", "redis:7-alpine", "rabbitmq:3-management".
      assert.deepEqual(tags("nginxinc/nginx-unprivileged"), ["1.27-alpine"], `${stack}: ${pulled.join(", ")}`);
      assert.deepEqual([...new Set(tags("postgres"))], ["15-bookworm"], `${stack}: ${pulled.join(", ")}`);
      assert.deepEqual(tags("redis"), ["7-bookworm"], `${stack}: ${pulled.join(", ")}`);
      assert.ok(tags("rabbitmq").every((t) => t.startsWith("3.")) && tags("rabbitmq").length === 1, `${stack}: ${pulled.join(", ")}`);
      // seed 001: "--bind 0.0.0.0:8000 --workers 3 --timeout 60".
      const gunicorn = artifact(ev, "gunicorn/kore.gunicorn.conf.py");
      assert.match(gunicorn, /^workers = _workers\(3, \d+\)$/m);
      assert.match(gunicorn, /^timeout = 60$/m);
      assert.match(gunicorn, /^bind = \["0\.0\.0\.0:8000"\]$/m);
      const web = containers(ev).get("kore-web");
      // seed 001: "HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 CMD curl -f
      // http://localhost:8000/api/v1/health/", and its readinessProbe on the same path: no /readyz/.
      const hc = (web?.inputs.healthcheck ?? {}) as { interval?: string; timeout?: string; retries?: number; startPeriod?: string; tests?: string[] };
      assert.deepEqual([hc.interval, hc.timeout, hc.retries, hc.startPeriod], ["30s", "10s", 3, "40s"], stack);
      const probe = (hc.tests ?? []).join(" ");
      assert.ok(probe.includes("http://127.0.0.1:8000/api/v1/health/"), `${stack}: the health check asks /api/v1/health/`);
      assert.ok(!probe.includes("/readyz/"), `${stack}: the health check asks /readyz/, which the seed's app does not serve`);
      const ready = routeOf(artifact(ev, "nginx/nginx.conf"), stack === "local" ? "_" : (ev.config.domain ?? ""), "/_djangostack/kore/ready/");
      assert.match(ready.body, /proxy_pass http:\/\/kore-web\/api\/v1\/health\/;/, `${stack}: ${ready.body.match(/proxy_pass \S+/)?.[0]}`);
      // seed 000's .envs/.production/.django and .postgres.
      const env = unwrapSecrets(web?.inputs.envs) as string[];
      for (const pair of ["EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST=smtp.gmail.com", "EMAIL_PORT=587", "LOG_LEVEL=info", "DATABASE_POOL_SIZE=10", "DATABASE_MAX_OVERFLOW=20", "RABBITMQ_VHOST=/kore"]) assert.ok(env.includes(pair), `${stack}: no ${pair}`);
    }
  });

  it("002 staging: the same five services on a second Droplet, a smaller mail pool", async () => {
    const ev = await evaluate("ticket-tracking", "staging");
    const c = containers(ev);
    for (const s of ["auth", "ticket", "workflow", "messaging", "notification"]) assert.ok(c.has(`${s}-web`), `no ${s}`);
    const command = (c.get("notification-worker-mail")?.inputs.command as string[]).join(" ");
    assert.match(command, /--concurrency[ =]2\b/, command);
    assert.match(artifact(ev, "nginx/nginx.conf"), /server_name staging\.tickets\.example\.com/);
  });

  it("003 on every stack: PostgreSQL 15 and Redis 7 StatefulSets, no RabbitMQ at all, /healthz/ and /readyz/ probes; production's HPA at 70 % CPU", async () => {
    for (const stack of ["staging", "production"]) {
      const ev = await evaluate("ecommerce", stack);
      const k8s = ev.engine.resources.filter((r) => r.type.startsWith("kubernetes:"));
      const podSpec = (r: RecordedResource) => (((r.inputs.spec ?? {}) as { template?: { spec?: { containers?: { name: string; image: string; livenessProbe?: { httpGet?: { path: string; port: number } }; readinessProbe?: { httpGet?: { path: string; port: number } } }[] } } }).template?.spec?.containers ?? []);
      const images = k8s.flatMap((r) => podSpec(r).map((c) => c.image));
      const sets = k8s.filter((r) => r.inputs.kind === "StatefulSet");
      const setImage = (service: string) => sets.filter((r) => ((r.inputs.metadata as { name?: string }).name ?? "").includes(service)).flatMap((r) => podSpec(r).map((c) => c.image));
      // seed 003: "PostgreSQL 15 Alpine", "Redis 7 Alpine", each a StatefulSet.
      assert.ok(setImage("postgres").some((i) => /^postgres:15-/.test(i)) && setImage("postgres").every((i) => !/^postgres:(?!15-)/.test(i)), `${stack}: ${setImage("postgres").join(", ")}`);
      assert.ok(setImage("redis").some((i) => /^redis:7-/.test(i)), `${stack}: ${setImage("redis").join(", ")}`);
      // The seed's broker is Redis ("CELERY_BROKER_URL ... Redis URL"): no RabbitMQ workload, image, service or definitions.
      assert.deepEqual(images.filter((i) => /rabbitmq/i.test(i)), [], stack);
      assert.deepEqual(k8s.filter((r) => /rabbitmq/i.test((r.inputs.metadata as { name?: string } | undefined)?.name ?? "")).map((r) => `${String(r.inputs.kind)}/${r.name}`), [], stack);
      assert.ok(!ev.artifacts.some((a) => a.path.startsWith("rabbitmq/")), `${stack}: ${ev.artifacts.map((a) => a.path).join(", ")}`);
      assert.deepEqual(ev.config.apps.map((a) => [a.name, a.broker, a.brokerKind]), [["ecommerce", true, "redis"]]);
      // seed 003: "Liveness: /healthz/", "Readiness: /readyz/".
      const web = k8s.filter((r) => r.inputs.kind === "Deployment" && (r.inputs.metadata as { name: string }).name === "ecommerce-web").flatMap(podSpec).find((c) => c.name === "web");
      assert.deepEqual([web?.livenessProbe?.httpGet?.path, web?.readinessProbe?.httpGet?.path, web?.livenessProbe?.httpGet?.port], ["/healthz/", "/readyz/", 8000], stack);
    }
    // seed 003: "minReplicas: 3", "maxReplicas: 10", "targetCPUUtilization: 70%".
    const hpa = (await evaluate("ecommerce", "production")).engine.resources.find((r) => r.type.startsWith("kubernetes:") && r.inputs.kind === "HorizontalPodAutoscaler");
    const metrics = (hpa?.inputs.spec as { metrics?: { resource?: { name: string; target: { averageUtilization: number } } }[] } | undefined)?.metrics ?? [];
    assert.deepEqual(metrics.map((m) => [m.resource?.name, m.resource?.target.averageUtilization]), [["cpu", 70]]);
  });

  it("003 staging: one web pod without the HPA, one worker pod", async () => {
    const ev = await evaluate("ecommerce", "staging");
    const kinds = (kind: string) => ev.engine.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.kind === kind);
    assert.equal(kinds("HorizontalPodAutoscaler").length, 0);
    const replicas = Object.fromEntries(kinds("Deployment").map((d) => [(d.inputs.metadata as { name: string }).name, (d.inputs.spec as { replicas?: number }).replicas]));
    assert.equal(replicas["ecommerce-web"], 1, JSON.stringify(replicas));
    assert.equal(replicas["ecommerce-worker-default"], 1, JSON.stringify(replicas));
  });

  it("004 staging and production: the environment's name, the pool's size and each its own ClickHouse (a read-only user's URL)", async () => {
    // seed 004: "Eventlet pool for production", "Standard pool for staging" (Celery's prefork).
    for (const [stack, environment, pool, concurrency] of [["staging", "staging", "prefork", 2], ["production", "production", "eventlet", 50]] as const) {
      const c = containers(await evaluate("admin2", stack));
      const env = unwrapSecrets(c.get("admin2-web")?.inputs.envs) as string[];
      assert.ok(env.includes(`DJANGO_ENVIRONMENT=${environment}`), `${stack}: ${env.filter((e) => e.startsWith("DJANGO_")).join(" ")}`);
      assert.ok(env.some((e) => e.startsWith("CLICKHOUSE_PASSWORD=offline-placeholder-")));
      const command = (c.get("admin2-worker-default")?.inputs.command as string[]).join(" ");
      assert.match(command, new RegExp(`--concurrency[ =]${concurrency}\\b`), command);
      assert.match(command, new RegExp(`--pool[ =]${pool}\\b`), `${stack}: ${command}`);
    }
  });

  it("004 on every stack: Redis is Celery's broker and result backend, no RabbitMQ container, image or definitions", async () => {
    for (const stack of ["staging", "production"]) {
      const ev = await evaluate("admin2", stack);
      const c = containers(ev);
      // seed 004: "Redis (Celery broker/result backend)".
      assert.deepEqual([...c.keys()].filter((n) => /rabbitmq/i.test(n)), [], stack);
      const pulled = ev.engine.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => String(r.inputs.name));
      assert.deepEqual(pulled.filter((n) => /rabbitmq/i.test(n)), [], stack);
      assert.ok(!ev.engine.resources.some((r) => r.type === "docker:index/container:Container" && /rabbitmq/i.test(String(r.inputs.image ?? ""))), stack);
      assert.ok(!ev.artifacts.some((a) => a.path.startsWith("rabbitmq/")), `${stack}: ${ev.artifacts.map((a) => a.path).join(", ")}`);
      for (const process of ["admin2-web", "admin2-worker-default", "admin2-beat"]) {
        const env = unwrapSecrets(c.get(process)?.inputs.envs) as string[];
        assert.ok(env.some((e) => /^CELERY_BROKER_URL=redis:\/\/[^/]+\/\d+$/.test(e)), `${stack} ${process}: the broker is Redis`);
        assert.ok(env.some((e) => /^CELERY_RESULT_BACKEND=redis:\/\/[^/]+\/\d+$/.test(e)), `${stack} ${process}: the result backend is Redis`);
      }
    }
  });
});

/** The realized form of each rendered object on either target: containers or Kubernetes objects. */
function kubeObjects(ev: Evaluation, kind: string): RecordedResource[] {
  return ev.engine.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`));
}
const metaName = (r: RecordedResource): string => String((r.inputs.metadata as { name?: string } | undefined)?.name ?? "");

/** A process's command as the target runs it: the container's, or the first container of its Deployment. */
function commandOf(ev: Evaluation, process: string): string[] | undefined {
  if (ev.config.target !== "kubernetes") return containers(ev).get(process)?.inputs.command as string[] | undefined;
  const d = kubeObjects(ev, "Deployment").find((r) => metaName(r) === process);
  const pod = (d?.inputs.spec as { template: { spec: { containers: { command?: string[]; args?: string[] }[] } } } | undefined)?.template.spec;
  return pod && [...(pod.containers[0].command ?? []), ...(pod.containers[0].args ?? [])];
}

/** A rendered file, from the artifacts (Docker targets) or the ConfigMap that carries it (Kubernetes). */
function renderedFile(ev: Evaluation, artifactPath: string, key: string): string | undefined {
  const a = ev.artifacts.find((x) => x.path === artifactPath);
  if (a) return a.content;
  const map = kubeObjects(ev, "ConfigMap").find((r) => (r.inputs.data as Record<string, unknown> | undefined)?.[key] !== undefined);
  return map ? String((map.inputs.data as Record<string, unknown>)[key]) : undefined;
}

describe("every stack of every example, against its own config (issue 16 item 6)", () => {
  for (const example of EXAMPLES) {
    for (const stack of stacksOf(example)) {
      it(`${example}/${stack}: capacity, databases, vhosts, queues, routes, limits and network policies all follow the config`, async () => {
        const ev = await evaluate(example, stack);
        const { config } = ev;
        // Capacity: the guardrails pass (a fail would have refused the config; a warning is allowed).
        assert.deepEqual(capacityReport(config).filter((c) => c.verdict === "fail"), []);

        // A database and a role per app with one, and no others.
        const dbApps = config.apps.filter((a) => a.database).map((a) => a.name);
        if (config.data.postgres.mode === "container" && dbApps.length > 0) {
          const sql = renderedFile(ev, "postgres/init.sql", "init.sql");
          assert.ok(sql, "the init SQL is rendered");
          const created = [...sql.matchAll(/CREATE DATABASE %I OWNER %I', '([a-z0-9_]+)', '([a-z0-9_]+)'/g)].map((m) => `${m[1]}:${m[2]}`);
          assert.deepEqual(created.sort(), dbApps.map((a) => `${a}_db:${a}_user`).sort());
        } else if (config.data.postgres.mode === "managed") {
          const dbs = ev.engine.resources.filter((r) => r.type === "digitalocean:index/databaseDb:DatabaseDb").map((r) => String(r.inputs.name));
          assert.deepEqual(dbs.sort(), dbApps.map((a) => `${a}_db`).sort());
        }

        // A vhost and a user per app on RabbitMQ, each user granted its own vhost and its brokerAccess only.
        const rabbitApps = config.apps.filter(usesDeployedRabbitmq);
        const definitions = renderedFile(ev, "rabbitmq/definitions.json", "definitions.json");
        if (rabbitApps.length === 0) assert.equal(definitions, undefined, "no RabbitMQ without an app on it");
        else {
          assert.ok(definitions);
          const d = JSON.parse(definitions) as { vhosts: { name: string }[]; permissions: { user: string; vhost: string }[] };
          assert.deepEqual(d.vhosts.map((v) => v.name).sort(), rabbitApps.map((a) => `/${a.name}`).sort());
          const granted = d.permissions.map((p) => `${p.user}@${p.vhost}`).sort();
          // The admin (the management user the retire script and operators use) reaches every vhost.
          const expected = [...rabbitApps.flatMap((a) => [a.name, ...a.brokerAccess].map((v) => `${a.name}_broker@/${v}`)), ...rabbitApps.map((a) => `${RABBITMQ_ADMIN}@/${a.name}`)];
          assert.deepEqual(granted, expected.sort());
        }

        // Every worker pool consumes exactly its queues with its pool and concurrency.
        for (const app of config.apps) {
          for (const pool of app.workers) {
            const command = commandOf(ev, `${app.name}-worker-${pool.name}`);
            assert.ok(command, `${app.name}-worker-${pool.name} runs`);
            const at = (flag: string) => command[command.indexOf(flag) + 1];
            assert.deepEqual([at("--queues"), at("--pool"), at("--concurrency")], [pool.queues.join(","), pool.pool, String(pool.concurrency)], `${app.name}/${pool.name}`);
          }
        }

        // Every route reaches its own app's web; every rate zone has its rate and covers its paths.
        const nginx = renderedFile(ev, "nginx/nginx.conf", "nginx.conf");
        assert.ok(nginx, "nginx.conf is rendered");
        for (const app of config.apps) {
          for (const route of app.routes) {
            const location = new RegExp(`location (?:\\^~ )?${route.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} \\{[^}]*proxy_pass http://${app.name}-web[;/]`);
            assert.match(nginx, location, `${app.name} ${route}`);
          }
        }
        const rates = zoneRates(nginx);
        for (const zone of config.edge.rateLimit.zones) {
          assert.equal(rates.get(zoneId(zone.name)), `${zone.rate}r/${zone.per}`, zone.name);
          for (const p of zone.paths) {
            const body = new RegExp(`location (?:\\^~ )?${p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} \\{([^}]*)\\}`).exec(nginx)?.[1] ?? "";
            assert.match(body, new RegExp(`limit_req zone=${zoneId(zone.name)}${zone.burst > 0 ? ` burst=${zone.burst} nodelay` : ""};`), `${zone.name} on ${p}`);
          }
        }

        // Kubernetes: each web admits only the edge, each call is let through, the data only app pods.
        if (config.target === "kubernetes") {
          const policies = new Set(kubeObjects(ev, "NetworkPolicy").map(metaName));
          for (const name of ["default-deny", "allow-dns", "edge", "apps-to-data", "apps-to-internet"]) assert.ok(policies.has(name), name);
          for (const app of config.apps) {
            assert.ok(policies.has(`${app.name}-web-ingress`), `${app.name}-web-ingress`);
            if (app.calls.length > 0) assert.ok(policies.has(`${app.name}-calls`), `${app.name}-calls`);
          }
          for (const svc of ["postgres", "redis", "rabbitmq"]) {
            if (kubeObjects(ev, "StatefulSet").some((s) => metaName(s) === svc)) assert.ok(policies.has(`${svc}-ingress`), `${svc}-ingress`);
          }
        }
      });
    }
  }
});
