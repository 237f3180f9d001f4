import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { isWireSecret, maskSecrets, unwrapSecrets } from "../../src/offline/secret";

const passwords = (resources: RecordedResource[]) => resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword");

function containerEnv(resources: RecordedResource[], process: string): Record<string, string> {
  const c = resources.find((r) => r.type === "docker:index/container:Container" && (r.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "djangostack.process" && l.value === process));
  assert.ok(c, `no container ${process}`);
  assert.ok(isWireSecret(c.inputs.envs), `${process} env is not secret`);
  return Object.fromEntries((unwrapSecrets(c.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

describe("secrets tier", () => {
  it("generates every credential: 32 alphanumerics for URL-borne passwords, 64 characters for SECRET_KEY", async () => {
    const ev = await evaluateStack({ stack: "local" });
    const byName = Object.fromEntries(passwords(ev.engine.resources).map((p) => [p.name.replace("local-secrets-", ""), p.inputs]));
    assert.deepEqual(Object.keys(byName).sort(), ["postgres-bootstrap", "postgres-superuser", "rabbitmq-admin", "redis-password", "web-broker-password", "web-db-password", "web-django-secret-key"]);
    for (const [name, inputs] of Object.entries(byName)) {
      if (name.endsWith("django-secret-key")) {
        assert.equal(inputs.length, 64);
        assert.equal(inputs.special, true);
      } else {
        assert.equal(inputs.length, 32, name);
        assert.equal(inputs.special, false, name);
      }
      // initdb's bootstrap password never rotates: a new value would only replace the Postgres container.
      assert.deepEqual(inputs.keepers, name === "postgres-bootstrap" ? undefined : { rotation: "0" }, name);
    }
    const broker = new URL(containerEnv(ev.engine.resources, "web-worker-default").CELERY_BROKER_URL);
    assert.equal(broker.username, "web_broker", "no guest: each app has its own broker user");
    assert.equal(decodeURIComponent(broker.pathname.slice(1)), "/web");
  });

  it("regenerates every generated credential when the rotation knob changes", async () => {
    const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:secrets": { rotation: 3 } } });
    for (const p of passwords(ev.engine.resources).filter((x) => !x.name.endsWith("postgres-bootstrap"))) assert.deepEqual(p.inputs.keepers, { rotation: "3" }, p.name);
  });

  it("uses a credential supplied with `pulumi config set --secret` instead of generating it, and keeps it secret", async () => {
    const ev = await evaluateStack({
      stack: "local",
      extraConfig: { "djangostack:postgresPassword": { secure: "AAABAx" } },
    });
    const names = passwords(ev.engine.resources).map((p) => p.name);
    assert.ok(!names.includes("local-secrets-postgres-superuser"), "a supplied superuser password is not generated");
    // The init sets it on the server; the container itself only ever gets the bootstrap password.
    assert.equal(containerEnv(ev.engine.resources, "postgres-init").POSTGRES_SUPERUSER_PASSWORD, "offline-placeholder-djangostack-postgresPassword");
    assert.notEqual(containerEnv(ev.engine.resources, "postgres").POSTGRES_PASSWORD, "offline-placeholder-djangostack-postgresPassword");
  });

  it("passes an app's secretEnv through to its processes as secrets only", async () => {
    const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:secretEnv": { web: { CLICKHOUSE_PASSWORD: "s3cr3t-value" } } } });
    assert.equal(containerEnv(ev.engine.resources, "web-web").CLICKHOUSE_PASSWORD, "s3cr3t-value");
    const masked = JSON.stringify(ev.engine.resources.map((r) => maskSecrets(r.inputs)));
    assert.ok(!masked.includes("s3cr3t-value"), "the value appears outside a secret");
  });
});
