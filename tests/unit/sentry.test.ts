/** Issue 13 item 7: djangostack:sentryDsn, as config and under the offline engine. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { evaluateStack } from "../../src/offline/render";
import { containsSecret, unwrapSecrets } from "../../src/offline/secret";
import { id, refuses } from "./config-helpers";

const DSN = "https://0123456789abcdef0123456789abcdef@o12345.ingest.sentry.io/678";

describe("djangostack:sentryDsn (issue 13 item 7)", () => {
  it("gives every app SENTRY_DSN as secret env and SENTRY_ENVIRONMENT; an app with its own DSN keeps it", () => {
    const config = parseConfig({ sentryDsn: DSN, apps: [{ name: "web" }, { name: "api", routes: ["/api/"] }], secretEnv: { api: { SENTRY_DSN: DSN.replace("/678", "/679") } } }, id);
    const model = buildModel(config);
    for (const p of model.processes.filter((x) => ["web", "worker", "beat", "migrate"].includes(x.role))) {
      assert.ok("SENTRY_DSN" in p.secretEnv, p.name);
      assert.equal(p.env.SENTRY_ENVIRONMENT, "test", p.name);
    }
    assert.deepEqual(config.apps.map((a) => a.secretEnvKeys.filter((k) => k === "SENTRY_DSN").length), [1, 1]);
  });

  it("reaches the containers as a secret, with the value set as a secret in the stack", async () => {
    const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:sentryDsn": { secure: "v1:AAAA" } } });
    const web = ev.engine.resources.find((r) => r.type === "docker:index/container:Container" && (r.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "djangostack.process" && l.value === "web-web"));
    assert.ok(web && containsSecret(web.inputs.envs), "the env is secret");
    const envs = unwrapSecrets(web.inputs.envs) as string[];
    assert.ok(envs.includes("SENTRY_DSN=offline-placeholder-djangostack-sentryDsn"), envs.filter((e) => e.startsWith("SENTRY")).join(", "));
    assert.ok(envs.includes("SENTRY_ENVIRONMENT=local"));
  });

  refuses(
    [
      ["a DSN without its project id", { sentryDsn: "https://0123456789abcdef@o1.ingest.sentry.io/" }, "djangostack:sentryDsn", "expected a Sentry DSN"],
      ["a DSN without its key", { sentryDsn: "https://o1.ingest.sentry.io/5" }, "djangostack:sentryDsn", "expected a Sentry DSN"],
      ["a DSN as a number", { sentryDsn: 5 }, "djangostack:sentryDsn", "expected a Sentry DSN"],
    ],
    { valueShown: true },
  );

  it("never shows the DSN in the message", () => {
    try {
      parseConfig({ sentryDsn: "https://secretkey123@nowhere" }, id);
      assert.fail("expected a refusal");
    } catch (error) {
      assert.ok(!String(error).includes("secretkey123"), String(error));
    }
  });
});
