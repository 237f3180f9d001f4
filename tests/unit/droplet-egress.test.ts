/**
 * Issue 16 item 4: the address an external service (seed 004's ClickHouse) must allow-list. On the
 * Droplet outbound traffic leaves from the reserved IP (`droplet.egress: reserved-ip`, the default)
 * through a route a timer keeps (src/render/egress.ts, run for real in tests/integration/egress.test.ts),
 * installed over SSH; the `egress` output says which address that is, on every target.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { resolveOutputs } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";
import { OFFLINE_RESERVED_IP } from "../../src/offline/fakes-droplet";
import { fakeOutputs } from "../../src/offline/fakes";
import { egressInstallCommand, egressRemoveCommand, renderEgressScript } from "../../src/render/egress";
import { refuses } from "./config-helpers";
import { stackObject } from "../helpers/replacement";

const COMMAND = "command:remote:Command";
const routeOf = (e: Evaluation) => e.engine.resources.filter((r) => r.type === COMMAND && r.name.endsWith("-egress-route"));
const egressOf = async (e: Evaluation) => ((await resolveOutputs(e.exports)) as { egress: { address: string | null; stable: boolean; note: string } }).egress;

describe("droplet.egress", () => {
  let reserved: Evaluation;
  let own: Evaluation;
  before(async () => {
    reserved = await evaluateStack({ stack: "staging" });
    own = await evaluateStack({ stack: "staging", extraConfig: { "djangostack:droplet": { ...stackObject("staging", "droplet"), egress: "droplet-ip" } } });
  });

  it("reserved-ip (the default): installs the route keeper over SSH on the reserved IP, after cloud-init", () => {
    const [route] = routeOf(reserved);
    assert.ok(route, "one egress route command");
    const connection = unwrapSecrets(route.inputs.connection) as Record<string, unknown>;
    assert.deepEqual([connection.host, connection.user], [OFFLINE_RESERVED_IP, "deploy"]);
    assert.equal(route.inputs.create, egressInstallCommand());
    assert.ok(String(route.inputs.create).includes(Buffer.from(renderEgressScript()).toString("base64")), "the script is what the install writes");
    assert.equal(route.inputs.delete, egressRemoveCommand(), "removing it (egress: droplet-ip, destroy) restores the public route");
    assert.ok(route.options.dependsOn.includes("staging-host-cloud-init-wait"));
  });

  it("runs again on a new Droplet, removing the old one's first (its delete reaches the new host over the same reserved IP)", () => {
    const [route] = routeOf(reserved);
    const droplet = reserved.engine.resources.find((r) => r.type === "digitalocean:index/droplet:Droplet");
    assert.ok(droplet);
    // pulumi-command remote/command.go: `triggers` is replaceOnChanges; the replacement deletes first.
    assert.deepEqual(route.inputs.triggers, [String(fakeOutputs[droplet.type](droplet.inputs, droplet.name).id)]);
    assert.equal(route.options.deleteBeforeReplace, true);
  });

  it("exports the reserved IP as the stable egress address", async () => {
    const egress = await egressOf(reserved);
    assert.deepEqual([egress.address, egress.stable], [OFFLINE_RESERVED_IP, true]);
    assert.match(egress.note, /allow-list/);
  });

  it("droplet-ip: no route keeper, and the Droplet's own (unstable) address exported", async () => {
    assert.deepEqual(routeOf(own), []);
    const egress = await egressOf(own);
    const outputs = (await resolveOutputs(own.exports)) as { dropletIp: string };
    assert.deepEqual([egress.address, egress.stable], [outputs.dropletIp, false]);
    assert.match(egress.note, /changes when the Droplet is replaced/);
  });

  refuses([["an unknown egress", { target: "droplet", droplet: { sshKeys: ["k"], adminCidrs: ["203.0.113.0/24"], egress: "nat-gateway" } }, "djangostack:droplet.egress", '"reserved-ip", "droplet-ip"']]);
});

describe("egress on the other targets", () => {
  it("local and production export no single address, and say why", async () => {
    for (const stack of ["local", "production"]) {
      const egress = await egressOf(await evaluateStack({ stack }));
      assert.deepEqual([egress.address, egress.stable], [null, false], stack);
      assert.ok(egress.note.length > 20, stack);
    }
  });
});
