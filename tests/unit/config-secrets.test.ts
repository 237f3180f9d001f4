import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { evaluateStack, Evaluation } from "../../src/offline/render";
import { containsSecret, isWireSecret, maskSecrets, unwrapSecrets } from "../../src/offline/secret";
import { stackObject } from "../helpers/replacement";

const id = { project: "djangostack", stack: "test" };
const SECRET = "hunter2-do-not-print";

function problems(raw: Raw, secretKeys: string[]): string[] {
  try {
    parseConfig(raw, id, secretKeys);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

// [title, raw config, keys Pulumi marks secret, key the message names, what it says is allowed]
const bad: [string, Raw, string[], string, string][] = [
  ["a bad env name under a secret apps key", { apps: [{ env: { "api-token": SECRET } }] }, ["apps"], "djangostack:apps[0].env.api-token", "UPPER_SNAKE_CASE"],
  ["a reserved env name under a secret apps key", { apps: [{ env: { DATABASE_URL: SECRET } }] }, ["apps"], "djangostack:apps[0].env.DATABASE_URL", "set by djangostack"],
  ["an env value of the wrong type under a secret apps key", { apps: [{ env: { TOKEN: { nested: SECRET } } }] }, ["apps"], "djangostack:apps[0].env.TOKEN", "expected a string"],
  ["a bad image under a secret apps key", { apps: [{ image: `Registry/${SECRET}` }] }, ["apps"], "djangostack:apps[0].image", "an image reference"],
  ["a bad route under a secret apps key", { apps: [{ routes: [`/${SECRET}`] }] }, ["apps"], "djangostack:apps[0].routes[0]", 'ends with "/"'],
  ["a secure env equal to a secretEnv name", { apps: [{ env: { TOKEN: SECRET } }], secretEnv: { web: { TOKEN: SECRET } } }, ["apps", "secretEnv"], "djangostack:secretEnv.web.TOKEN", "already set"],
  ["a bad name under secretEnv (always secret)", { secretEnv: { web: { "bad-name": SECRET } } }, [], "djangostack:secretEnv.web.bad-name", "UPPER_SNAKE_CASE"],
  ["a non-string secretEnv value", { secretEnv: { web: { TOKEN: [SECRET] } } }, [], "djangostack:secretEnv.web.TOKEN", "expected a string"],
  ["a short supplied password", { postgresPassword: SECRET.slice(0, 8) }, [], "djangostack:postgresPassword", "at least 16"],
  ["a bad edge value under a secret edge key", { edge: { clientMaxBody: SECRET } }, ["edge"], "djangostack:edge.clientMaxBody", "an integer from 1"],
  ["a bad docker host set as a secret", { docker: { host: `http://${SECRET}` } }, ["docker"], "djangostack:docker.host", "a Docker host such as"],
  ["a misspelt secret key", { secretkey: SECRET }, ["secretkey"], "djangostack:secretkey", "unknown key"],
];

describe("secrets: no message ever prints a value that arrived under a secret key", () => {
  for (const [title, raw, secretKeys, key, allowed] of bad) {
    it(title, () => {
      const found = problems(raw, secretKeys);
      for (const p of found) assert.ok(!p.includes(SECRET) && !p.includes(SECRET.slice(0, 8)), `a message prints the secret: ${p}`);
      const match = found.find((p) => p.startsWith(`${key}:`));
      assert.ok(match, `no problem names ${key}; got:\n${found.join("\n")}`);
      assert.ok(match.includes(allowed), `message for ${key} lacks "${allowed}": ${match}`);
    });
  }

  it("still prints values of keys that are not secret", () => {
    const [p] = problems({ apps: [{ replicas: "many" }] }, []);
    assert.match(p, /apps\[0\]\.replicas: got "many"/);
  });
});

describe("secrets: env under a secret apps key becomes secret env", () => {
  it("moves every env entry of a secret apps key to secretEnvKeys, so the model gives it as a secret source", () => {
    const config = parseConfig({ apps: [{ env: { API_TOKEN: SECRET, FEATURE: "on" } }] }, id, ["apps"]);
    // Pulumi marks the whole key secret, never which leaf was `secure:`: every env value counts as secret.
    assert.deepEqual(config.apps[0].env, {});
    assert.deepEqual(config.apps[0].secretEnvKeys.sort(), ["API_TOKEN", "FEATURE"]);
    const web = buildModel(config).processes.find((p) => p.name === "web-web");
    assert.deepEqual(web?.secretEnv.API_TOKEN, { kind: "userSecret", app: "web", key: "API_TOKEN" });
    assert.ok(!("API_TOKEN" in (web?.env ?? {})));
  });

  it("keeps env plain when the apps key is not secret", () => {
    const config = parseConfig({ apps: [{ env: { FEATURE: "on" } }] }, id);
    assert.deepEqual(config.apps[0].env, { FEATURE: "on" });
    assert.deepEqual(config.apps[0].secretEnvKeys, []);
  });
});

// stackfiles.ts names each placeholder after its path, "_" included among the replaced characters.
const placeholder = "offline-placeholder-djangostack-apps-0-env-API-TOKEN";

function assertNowherePlain(ev: Evaluation, value: string): void {
  const masked = JSON.stringify(ev.engine.resources.map((r) => maskSecrets(r.inputs)));
  assert.ok(!masked.includes(value), "the value appears in a resource input outside a secret");
  for (const a of ev.artifacts) assert.ok(!a.content.includes(value), `artifact ${a.path} holds the value`);
}

describe("secrets: `pulumi config set --secret --path 'djangostack:apps[0].env.API_TOKEN'` stays secret all the way", () => {
  it("on Docker: a secret env entry of every app process, masked in the render", async () => {
    const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": [{ name: "web", env: { API_TOKEN: { secure: "v1:AAAA" }, FEATURE: "on" } }] } });
    const web = ev.engine.resources.find((r) => r.type === "docker:index/container:Container" && (r.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "djangostack.process" && l.value === "web-web"));
    assert.ok(web && isWireSecret(web.inputs.envs), "the web container's env is secret");
    const envs = unwrapSecrets(web.inputs.envs) as string[];
    assert.ok(envs.includes(`API_TOKEN=${placeholder}`), "the app still receives the value");
    assertNowherePlain(ev, placeholder);
  });

  it("on Kubernetes: in the app's Secret, never in a ConfigMap", async () => {
    // Production changes Pulumi.yaml's app in its overlay: `--path 'djangostack:overlay.apps.web.env.API_TOKEN'`.
    const overlay = stackObject("production", "overlay") as { apps: { web: { env?: Raw } } };
    overlay.apps.web.env = { ...overlay.apps.web.env, API_TOKEN: { secure: "v1:AAAA" } };
    const ev = await evaluateStack({ stack: "production", extraConfig: { "djangostack:overlay": overlay } });
    for (const cm of ev.engine.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap")) {
      const data = (cm.inputs.data ?? {}) as Record<string, unknown>;
      assert.ok(!("API_TOKEN" in data), `ConfigMap ${cm.name} has no API_TOKEN`);
    }
    const secret = ev.engine.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name.endsWith("web-secrets"));
    assert.ok(secret, "the app's Secret exists");
    const stringData = secret.inputs.stringData as Record<string, unknown>;
    const overlaid = "offline-placeholder-djangostack-overlay-apps-web-env-API-TOKEN";
    assert.equal((unwrapSecrets(stringData) as Record<string, string>).API_TOKEN, overlaid);
    assert.ok(containsSecret(stringData.API_TOKEN) || isWireSecret(stringData), "API_TOKEN is a secret value of the app's Secret");
    assertNowherePlain(ev, overlaid);
  });

  it("a bad value next to the secure leaf is refused by the render without printing the secret", async () => {
    await assert.rejects(
      evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": [{ name: "web", replicas: "many", env: { API_TOKEN: { secure: "v1:AAAA" } } }] } }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /djangostack:apps\[0\]\.replicas: got \[secret\]; expected an integer from 1 to 100/);
        assert.ok(!error.message.includes("offline-placeholder"));
        return true;
      },
    );
  });
});

describe("a `secure:` external URL in the stack file renders offline (its shape is judged by pulumi up)", () => {
  it("the app gets the placeholder as a secret DATABASE_URL, and every part it reads of it", async () => {
    const ev = await evaluateStack({
      stack: "local",
      extraConfig: {
        "djangostack:apps": [{ name: "web", envNames: { databaseHost: "DB_HOST", databasePassword: "DB_PASSWORD" } }],
        "djangostack:external": { web: { database: { secure: "v1:AAAA" } } },
      },
    });
    const web = ev.engine.resources.find((r) => r.type === "docker:index/container:Container" && (r.inputs.labels as { label: string; value: string }[]).some((l) => l.label === "djangostack.process" && l.value === "web-web"));
    assert.ok(web && isWireSecret(web.inputs.envs), "the env is secret");
    const envs = unwrapSecrets(web.inputs.envs) as string[];
    const stand = "offline-placeholder-djangostack-external-web-database";
    for (const name of ["DATABASE_URL", "DB_HOST", "DB_PASSWORD"]) assert.ok(envs.includes(`${name}=${stand}`), `${name}: ${envs.filter((e) => e.startsWith(name)).join(", ")}`);
    assert.ok(!ev.engine.resources.some((r) => r.type === "docker:index/container:Container" && String(r.inputs.name).endsWith("-postgres")), "no Postgres container for an external database");
  });

  it("a plain external URL of the wrong scheme is still refused", async () => {
    await assert.rejects(evaluateStack({ stack: "local", extraConfig: { "djangostack:external": { web: { database: "mysql://u:p@h/db" } } } }), /external\.web\.database: got \[secret\]; expected a URL of scheme postgres:\/\//);
  });
});
