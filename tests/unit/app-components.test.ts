/**
 * Issue 10 item 3: settings that build their database or broker URL from parts (seed 000 reads
 * POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and RABBITMQ_USER, RABBITMQ_PASSWORD, RABBITMQ_VHOST)
 * get each part under the name they read, taken from the same URL the app would get.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { amqpUrl, connectionPart, databaseUrl } from "../../src/model/urls";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { isWireSecret, unwrapSecrets } from "../../src/offline/secret";
import { id, refuses } from "./config-helpers";

const KORE_NAMES = {
  databaseHost: "POSTGRES_HOST", databasePort: "POSTGRES_PORT", databaseName: "POSTGRES_DB", databaseUser: "POSTGRES_USER", databasePassword: "POSTGRES_PASSWORD",
  brokerHost: "RABBITMQ_HOST", brokerPort: "RABBITMQ_PORT", brokerVhost: "RABBITMQ_VHOST", brokerUser: "RABBITMQ_USER", brokerPassword: "RABBITMQ_PASSWORD",
};
const apps = (...list: Raw[]): Raw => ({ apps: list });

describe("connectionPart", () => {
  it("decodes each part of the URLs the program builds, whatever the password holds", () => {
    const pg = databaseUrl({ user: "web_user", password: "p@ss:/w?rd#%", host: "postgres", port: 5432, database: "web_db", sslmode: "require" });
    assert.deepEqual(["host", "port", "name", "user", "password"].map((p) => connectionPart(pg, p as "host")), ["postgres", "5432", "web_db", "web_user", "p@ss:/w?rd#%"]);
    const mq = amqpUrl({ user: "web_broker", password: "x y", host: "rabbitmq", port: 5672, vhost: "/web" });
    assert.deepEqual([connectionPart(mq, "name"), connectionPart(mq, "password")], ["/web", "x y"]);
  });

  it("gives the scheme's default port when an external URL has none, and an IPv6 host without brackets", () => {
    assert.equal(connectionPart("postgresql://u:p@db.example.net/app", "port"), "5432");
    assert.equal(connectionPart("amqps://u:p@mq.example.net/%2Fshop", "port"), "5671");
    assert.equal(connectionPart("postgres://u:p@[2001:db8::5]:6432/app", "host"), "2001:db8::5");
  });
});

describe("apps[].envNames connection parts", () => {
  it("sets each named part as secret env from the app's own database and broker", () => {
    const m = buildModel(parseConfig(apps({ name: "kore", envNames: { preset: "twelve-factor", ...KORE_NAMES } }), id));
    const web = m.processes.find((p) => p.name === "kore-web");
    assert.deepEqual(web?.secretEnv.POSTGRES_DB, { kind: "component", app: "kore", service: "database", part: "name" });
    assert.deepEqual(web?.secretEnv.RABBITMQ_VHOST, { kind: "component", app: "kore", service: "broker", part: "name" });
    assert.ok(web?.secretEnv.DATABASE_URL, "the URL stays beside the parts");
  });

  refuses([
    ["a database part without a database", apps({ name: "a", database: false, envNames: { databaseUser: "POSTGRES_USER" } }), "djangostack:apps[0].envNames.databaseUser", "has no database"],
    ["a broker part on a Redis broker", apps({ name: "a", broker: "redis", envNames: { brokerVhost: "RABBITMQ_VHOST" } }), "djangostack:apps[0].envNames.brokerVhost", "no RabbitMQ broker"],
    ["a part under a name another setting has", apps({ name: "a", envNames: { databaseUser: "DATABASE_URL" } }), "djangostack:apps[0].envNames.databaseUser", "already the name of"],
  ]);
});

describe("connection parts under the offline engine", () => {
  let local: Evaluation;
  before(async () => {
    local = await evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": [{ name: "kore", build: "./app", routes: ["/"], envNames: { preset: "twelve-factor", ...KORE_NAMES } }] } });
  });

  it("the web container gets the parts of its own URLs, in its secret env", () => {
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-kore-web"));
    assert.ok(web && isWireSecret(web.inputs.envs));
    const env = Object.fromEntries((unwrapSecrets(web.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    assert.deepEqual([env.POSTGRES_HOST, env.POSTGRES_PORT, env.POSTGRES_DB, env.POSTGRES_USER], ["postgres", "5432", "kore_db", "kore_user"]);
    assert.deepEqual([env.RABBITMQ_HOST, env.RABBITMQ_PORT, env.RABBITMQ_VHOST, env.RABBITMQ_USER], ["rabbitmq", "5672", "/kore", "kore_broker"]);
    assert.equal(env.POSTGRES_PASSWORD, connectionPart(env.DATABASE_URL, "password"));
    assert.equal(env.RABBITMQ_PASSWORD, connectionPart(env.CELERY_BROKER_URL, "password"));
  });
});
