/**
 * An app removed from config: the rabbitmq process's own command (a one-time pass once the node is
 * up, then the image's start) deletes the broker users of apps no longer in config, on Debian's
 * RabbitMQ with the rendered definitions of a two-app stack; the removed app's vhost and queued
 * messages stay, the remaining app is untouched.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as names from "../../src/model/names";
import { Credentials, Stack, generateCredentials, loadStack, process, renderedFile } from "./fixtures";
import { RabbitServer, amqpLogin, amqpQueue } from "./harness/rabbitmq";
import { systemUser, tempDir, useHarness, waitFor } from "./harness/process";
import { startStackRabbitmq } from "./stackup";

useHarness();

let both: Stack;
let creds: Credentials;
let rabbit: RabbitServer;

before(async () => {
  both = await loadStack("local", { apps: [{ name: "web" }, { name: "shop", routes: ["/shop/"] }] });
  creds = generateCredentials(both.config);
  rabbit = await startStackRabbitmq(both, creds, { exact: false });
}, { timeout: 120_000 });

after(async () => {
  await rabbit?.stop();
});

/**
 * Runs a stack's rabbitmq command against the running node until its one-time pass reports:
 * `rabbitmqctl` reaches the node by name, and the image's entrypoint stands in as a process that
 * outlives the pass (as rabbitmq-server does). Returns what the pass printed.
 */
async function runRabbitmqCommand(stack: Stack): Promise<string> {
  const bin = tempDir("rabbitmq-bin");
  fs.writeFileSync(path.join(bin, "rabbitmqctl"), `#!/bin/sh\nexec /usr/lib/rabbitmq/bin/rabbitmqctl -n ${rabbit.node} "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "docker-entrypoint.sh"), `#!/bin/sh\n[ "$1" = rabbitmq-server ] || exit 9\nexec sleep 120\n`, { mode: 0o755 });
  const command = process(stack.model, names.RABBITMQ).command;
  assert.deepEqual(command.slice(0, 2), ["sh", "-c"]);
  assert.match(command[2], /\nexec docker-entrypoint\.sh rabbitmq-server$/, "the image's own start comes last");
  const user = systemUser("rabbitmq", "rabbitmq-server");
  const log = path.join(tempDir("rabbitmq-cmd"), "out.log");
  const out = fs.openSync(log, "w");
  const child = spawn(command[0], command.slice(1), { env: { ...rabbit.ctlEnv, PATH: `${bin}:/usr/bin:/bin` }, cwd: rabbit.dir, uid: user.uid, gid: user.gid, stdio: ["ignore", out, out] });
  try {
    await waitFor("the broker-user pass", async () => fs.readFileSync(log, "utf8").includes("broker users checked"), { timeoutMs: 90_000, intervalMs: 250 });
    assert.equal(child.exitCode, null, "the image's start (the stand-in) is still running: the pass ran beside it");
    return fs.readFileSync(log, "utf8");
  } finally {
    child.kill("SIGKILL");
    fs.closeSync(out);
  }
}

describe("RabbitMQ: broker users of removed apps", () => {
  test("with every app in config, the pass deletes nothing", async () => {
    const out = await runRabbitmqCommand(both);
    assert.doesNotMatch(out, /deleted broker user/);
    for (const app of ["web", "shop"]) assert.ok((await amqpLogin(rabbit.port, names.brokerUser(app), creds.broker[app], names.vhost(app))).ok, app);
  });

  test("apps[].brokerAccess: the granted app's user opens a channel on the other vhost; taking the grant back clears it (issue 10 item 6)", async () => {
    const granted = await loadStack("local", { apps: [{ name: "web" }, { name: "shop", routes: ["/shop/"], brokerAccess: ["web"] }] });
    const shopOnWeb = () => amqpLogin(rabbit.port, names.brokerUser("shop"), creds.broker.shop, names.vhost("web"));
    assert.equal((await shopOnWeb()).ok, false, "no access before the grant");
    // What a boot with the granted stack's definitions imports.
    const defs = await renderedFile(granted, names.RABBITMQ, creds, "/definitions.json");
    const file = path.join(tempDir("rabbitmq-defs"), "definitions.json");
    fs.writeFileSync(file, defs.text);
    fs.chmodSync(path.dirname(file), 0o755);
    fs.chmodSync(file, 0o644);
    await rabbit.ctl(["import_definitions", file]);
    assert.equal((await shopOnWeb()).ok, true, "the grant lets shop's user reach web's vhost");
    // The grant's own pass keeps it; without the grant the pass clears it (an import never removes one).
    assert.doesNotMatch(await runRabbitmqCommand(granted), /cleared/);
    assert.equal((await shopOnWeb()).ok, true);
    const out = await runRabbitmqCommand(both);
    assert.match(out, /cleared shop_broker's permission on \/web: no longer granted in config/);
    const after = await shopOnWeb();
    assert.equal(after.ok, false, "a revoked grant still works");
    assert.ok((await amqpLogin(rabbit.port, names.brokerUser("shop"), creds.broker.shop, names.vhost("shop"))).ok, "its own vhost is untouched");
  });

  test("removing an app deletes its broker user; its vhost and queued messages stay, the other app is untouched", async () => {
    const shop = { user: names.brokerUser("shop"), password: creds.broker.shop, vhost: names.vhost("shop") };
    await amqpQueue(rabbit.port, shop, "kept", { publish: ["order-1"] });
    const webOnly = await loadStack("local", { apps: [{ name: "web" }] });
    const out = await runRabbitmqCommand(webOnly);
    assert.match(out, new RegExp(`deleted broker user ${shop.user}: its app is no longer in config`));
    const login = await amqpLogin(rabbit.port, shop.user, shop.password, shop.vhost);
    assert.equal(login.ok, false, "the removed app's broker user still logs in");
    assert.match(login.error, /ACCESS_REFUSED|403/);
    assert.ok((await amqpLogin(rabbit.port, names.brokerUser("web"), creds.broker.web, names.vhost("web"))).ok, "the remaining app lost its broker login");
    const users = (await rabbit.ctl(["-s", "list_users"])).stdout;
    assert.doesNotMatch(users, new RegExp(`^${shop.user}\\t`, "m"));
    assert.match(users, new RegExp(`^${names.RABBITMQ_ADMIN}\\t\\[administrator\\]`, "m"), "the admin (not ours to retire) stays");
    const queues = (await rabbit.ctl(["-s", "list_queues", "-p", shop.vhost, "name", "messages"])).stdout;
    assert.match(queues, /^kept\t1$/m, "the removed app's queued message is kept");
  });
});
