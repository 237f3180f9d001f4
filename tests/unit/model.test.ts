import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { Process, WorkloadModel } from "../../src/model/types";
import { amqpUrl, databaseUrl, redisUrl } from "../../src/model/urls";

const id = { project: "djangostack", stack: "test" };

function process(model: WorkloadModel, name: string): Process {
  const found = model.processes.find((p) => p.name === name);
  assert.ok(found, `no process ${name}; have ${model.processes.map((p) => p.name).join(", ")}`);
  return found;
}

// Seed 002: five Django services, two with Celery pools, one Postgres with a database each.
const microservices = parseConfig(
  {
    apps: [
      { name: "auth", routes: ["/api/auth/"], workers: [], beat: false },
      { name: "ticket", routes: ["/api/tickets/"], workers: [], beat: false },
      { name: "workflow", routes: ["/api/workflow/"], workers: [{ name: "default", queues: ["workflow"], timeLimit: 600 }] },
      { name: "messaging", routes: ["/api/messages/"], websocketPaths: ["/ws/"], workers: [], beat: false },
      { name: "notification", routes: ["/api/notifications/"], workers: [{ name: "mail", queues: ["email", "sms"], concurrency: 8, pool: "gevent" }], beat: false },
    ],
    frontend: { image: "ghcr.io/acme/frontend:1.0", route: "/" },
  },
  id,
);

describe("workload model", () => {
  const model = buildModel(parseConfig({}, id));

  it("describes the default stack once: data services, init, migrate, web, worker, beat, nginx", () => {
    assert.deepEqual(
      model.processes.map((p) => p.name),
      ["postgres", "postgres-init", "redis", "rabbitmq", "web-migrate", "web-web", "web-worker-default", "web-beat", "nginx", "nginx-exporter", "postgres-exporter", "redis-exporter", "web-celery-exporter"],
    );
  });

  it("orders one-off work: database init before migrations, migrations before every app process", () => {
    assert.deepEqual(process(model, "postgres-init").runOnceBefore, ["web-migrate"]);
    assert.deepEqual(process(model, "web-migrate").runOnceBefore, ["web-web", "web-worker-default", "web-beat"]);
  });

  it("runs beat as exactly one singleton and gives workers a grace beyond their time limit", () => {
    assert.equal(model.processes.filter((p) => p.role === "beat").length, 1);
    assert.equal(process(model, "web-beat").singleton, true);
    const worker = process(model, "web-worker-default");
    assert.ok(worker.stopGraceSeconds >= 300, `grace ${worker.stopGraceSeconds}`);
    assert.ok(worker.command.includes("--time-limit"));
  });

  it("probes Celery through heartbeat and ready files, never `celery inspect ping`", () => {
    for (const p of model.processes.filter((x) => x.role === "worker" || x.role === "beat")) {
      const commands = [p.health?.liveness, p.health?.readiness].map((probe) => (probe?.kind === "exec" ? probe.command.join(" ") : ""));
      assert.ok(commands.every((c) => c !== "" && !c.includes("inspect")), `${p.name}: ${commands.join(" | ")}`);
    }
  });

  it("gives app processes credentials only as secret env sources, and data services none of the app's", () => {
    const web = process(model, "web-web");
    assert.deepEqual(Object.keys(web.secretEnv).sort(), ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL", "DJANGO_SECRET_KEY", "REDIS_URL"]);
    for (const p of model.processes) for (const value of Object.values(p.env)) assert.ok(!/password|secret/i.test(value), `${p.name} has a plain secret-looking value ${value}`);
  });

  it("lists each public host once, the domain first, for nginx, DNS and certificates alike", () => {
    // A host equal to the domain is refused by config (it would drop the default servers), so the hosts here are other names.
    const withHosts = buildModel(parseConfig({ domain: "example.com", apps: [{ name: "web", hosts: ["api.example.com", "www.example.com"] }] }, id));
    assert.deepEqual(withHosts.serverNames, ["example.com", "api.example.com", "www.example.com"]);
    assert.deepEqual(model.serverNames, [], "no domain: any host on the IP");
  });

  it("keeps health checks valid behind ALLOWED_HOSTS and without an SSL redirect", () => {
    const env = process(model, "web-web").env;
    assert.ok(env.DJANGO_ALLOWED_HOSTS.split(",").includes("localhost"));
    assert.equal(env.DJANGO_SECURE_SSL_REDIRECT, "false");
  });

  it("claims one database, role, vhost and broker user per app (seed 002)", () => {
    const big = buildModel(microservices);
    const claims = big.processes.filter((p) => p.role === "web").map((p) => p.claims);
    assert.equal(new Set(claims.map((c) => c.postgres?.database)).size, 5);
    assert.equal(new Set(claims.map((c) => c.rabbitmq?.vhost)).size, 5);
    assert.equal(big.processes.filter((p) => p.role === "worker").length, 2);
    assert.equal(big.processes.filter((p) => p.role === "postgres").length, 1);
    assert.deepEqual(big.frontend, { upstream: "frontend", port: 8080, route: "/", hosts: [] });
    assert.ok(big.processes.some((p) => p.name === "notification-worker-mail" && p.command.includes("gevent")));
  });
});

describe("connection URLs", () => {
  it("URL-encodes user-supplied credentials and vhosts", () => {
    assert.equal(databaseUrl({ user: "web_user", password: "p@ss/w:rd", host: "postgres", port: 5432, database: "web_db" }), "postgres://web_user:p%40ss%2Fw%3Ard@postgres:5432/web_db");
    assert.equal(amqpUrl({ user: "web_broker", password: "x", host: "rabbitmq", port: 5672, vhost: "/web" }), "amqp://web_broker:x@rabbitmq:5672/%2Fweb");
    assert.equal(redisUrl({ password: "x", host: "redis", port: 6379, db: 2, tls: false }), "redis://:x@redis:6379/2");
    assert.ok(redisUrl({ password: "x", host: "h", port: 25061, db: 0, tls: true, user: "default" }).startsWith("rediss://default:x@h:25061/0"));
  });
});
