/**
 * Issue 10 item 3 on real servers: an app whose settings build their connections from parts (seed
 * 000's POSTGRES_* and RABBITMQ_*) gets parts that really log in: psql on PostgreSQL 15 and an AMQP
 * channel on RabbitMQ, with the values from the web process's own env.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as names from "../../src/model/names";
import { Credentials, Stack, generateCredentials, loadStack } from "./fixtures";
import { amqpLogin } from "./harness/rabbitmq";
import { run, useHarness } from "./harness/process";
import { DataTier, appDirs, appEnv, startDataTier } from "./stackup";

useHarness();

const APP = "kore";
const envNames = {
  preset: "twelve-factor",
  databaseHost: "POSTGRES_HOST", databasePort: "POSTGRES_PORT", databaseName: "POSTGRES_DB", databaseUser: "POSTGRES_USER", databasePassword: "POSTGRES_PASSWORD",
  brokerHost: "RABBITMQ_HOST", brokerPort: "RABBITMQ_PORT", brokerVhost: "RABBITMQ_VHOST", brokerUser: "RABBITMQ_USER", brokerPassword: "RABBITMQ_PASSWORD",
};

let stack: Stack;
let creds: Credentials;
let data: DataTier;
let env: Record<string, string>;

before(async () => {
  stack = await loadStack("local", { apps: [{ name: APP, routes: ["/"], envNames }] });
  creds = generateCredentials(stack.config);
  data = await startDataTier(stack, creds, { redis: false });
  env = appEnv(stack, names.web(APP), creds, data, appDirs(), APP);
}, { timeout: 120_000 });

describe("connection parts (issue 10 item 3)", () => {
  test("psql with POSTGRES_HOST, _PORT, _USER, _PASSWORD and _DB reaches the app's own database", async () => {
    const r = await run("/usr/bin/psql", ["-X", "-tAc", "SELECT current_user || '@' || current_database()"], {
      env: { PATH: "/usr/bin:/bin", PGHOST: env.POSTGRES_HOST, PGPORT: env.POSTGRES_PORT, PGUSER: env.POSTGRES_USER, PGPASSWORD: env.POSTGRES_PASSWORD, PGDATABASE: env.POSTGRES_DB },
      check: false,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${names.role(APP)}@${names.database(APP)}`);
  });

  test("RABBITMQ_USER, _PASSWORD and _VHOST open a channel on the app's own vhost", async () => {
    assert.equal(Number(env.RABBITMQ_PORT), data.rabbitmq!.port);
    const r = await amqpLogin(Number(env.RABBITMQ_PORT), env.RABBITMQ_USER, env.RABBITMQ_PASSWORD, env.RABBITMQ_VHOST);
    assert.ok(r.ok, r.error);
    assert.equal(env.RABBITMQ_VHOST, names.vhost(APP));
  });
});
