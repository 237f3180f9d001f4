/**
 * Issue 10 item 9: the second Django project of the integration tests (tests/integration/chatapp.ts),
 * unlike the sample app in every point of the app contract, renders on all three targets under the
 * offline engine with what it asks for, and nothing it does not use.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { evaluateTargets } from "../helpers/targets";
import { unwrapSecrets } from "../../src/offline/secret";
import { chatApp } from "../integration/chatapp";
import { exactApps } from "../helpers/stack-apps";

const extraConfig = exactApps([chatApp("daphne")]);
const of = (e: Evaluation, type: string): RecordedResource[] => e.engine.resources.filter((r) => r.type === type);
const named = (e: Evaluation, type: string, suffix: string): RecordedResource | undefined => of(e, type).find((r) => r.name.endsWith(suffix));
const CONTAINER = "docker:index/container:Container";
type Pod = { securityContext: { runAsUser?: number }; containers: { command: string[]; ports?: { containerPort: number }[]; readinessProbe?: { httpGet?: { path: string; port: number } } }[] };
const podOf = (r: RecordedResource | undefined): Pod => (r?.inputs.spec as { template: { spec: Pod } }).template.spec;

describe("the chat project on every target (offline engine)", () => {
  let local: Evaluation;
  let staging: Evaluation;
  let production: Evaluation;
  before(async () => {
    ({ local, staging, production } = await evaluateTargets(extraConfig));
  });

  for (const stack of ["local", "staging"] as const) {
    it(`${stack}: daphne on 9000 as 1000:1000, its worker, scheduler and volume-ownership one-off, Redis but no RabbitMQ or Postgres`, () => {
      const e = stack === "local" ? local : staging;
      const web = named(e, CONTAINER, "-chat-web");
      assert.deepEqual(web?.inputs.command, ["daphne", "--bind", "0.0.0.0", "--port", "9000", "--proxy-headers", "chat.asgi:application"]);
      assert.equal(web?.inputs.user, "1000:1000");
      const envs = (unwrapSecrets(web?.inputs.envs) as string[]).map((x) => x.split("=")[0]);
      for (const name of ["SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL", "CELERY_BROKER_URL"]) assert.ok(envs.includes(name), `${name} missing: ${envs.join(", ")}`);
      for (const name of ["DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_RESULT_BACKEND"]) assert.ok(!envs.includes(name), `${name} set`);
      assert.match(JSON.stringify(web?.inputs.healthcheck), /127\.0\.0\.1:9000\/healthz\//);
      for (const p of ["-chat-worker-default", "-chat-scheduler", "-chat-chown", "-chat-migrate", "-redis"]) assert.ok(named(e, CONTAINER, p), `no ${p} container`);
      for (const p of ["-rabbitmq", "-postgres"]) assert.equal(named(e, CONTAINER, p), undefined, `${p} deployed for an app that uses none`);
      const release = named(e, CONTAINER, "-chat-migrate")?.inputs.command as string[];
      assert.match(release[2], /^'python' '-c' 'import shutil.*' '\/code\/static' '\/srv\/djangostack-static' && 'python' 'manage.py' 'chat_release'$/);
    });
  }

  it("production: daphne pods as 1000:1000 probed on /healthz/:9000, a worker Deployment, a CronJob for the job, no RabbitMQ", () => {
    const web = podOf(named(production, "kubernetes:apps/v1:Deployment", "-chat-web"));
    assert.equal(web.securityContext.runAsUser, 1000);
    assert.deepEqual(web.containers[0].readinessProbe?.httpGet && [web.containers[0].readinessProbe.httpGet.path, web.containers[0].readinessProbe.httpGet.port], ["/healthz/", 9000]);
    assert.ok(named(production, "kubernetes:apps/v1:Deployment", "-chat-worker-default"));
    const cron = named(production, "kubernetes:batch/v1:CronJob", "-chat-job-tick");
    assert.equal((cron?.inputs.spec as { schedule: string }).schedule, "* * * * *");
    assert.equal(of(production, "kubernetes:apps/v1:StatefulSet").some((r) => r.name.endsWith("rabbitmq")), false);
    assert.equal(of(production, CONTAINER).length, 0);
  });
});
