import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Evaluation, REPO_ROOT, evaluateStack } from "../../src/offline/render";
import { Change, ComparedResource, IMPACT_EXIT, compareRenders, formatChanges, impactExitCode } from "../../src/offline/impact";
import { unwrapSecrets } from "../../src/offline/secret";
import { stackObject } from "../helpers/replacement";
import { exactApps, stackApps } from "../helpers/stack-apps";

const resourcesOf = (e: Evaluation): ComparedResource[] => e.engine.resources.map((r) => ({ type: r.type, name: r.name, inputs: unwrapSecrets(r.inputs) as Record<string, unknown>, options: r.options }));
const impact = async (stack: string, base: Evaluation, extra: Record<string, unknown>): Promise<Change[]> => compareRenders(resourcesOf(base), resourcesOf(await evaluateStack({ stack, extraConfig: extra })));
const find = (changes: Change[], op: Change["op"], type: string, name: RegExp) => changes.find((c) => c.op === op && c.type === type && name.test(c.name));
const CONTAINER = "docker:index/container:Container";

describe("change impact of known config changes (the providers' replace rules, the engine's order)", () => {
  let local: Evaluation;
  let staging: Evaluation;
  let production: Evaluation;
  before(async () => {
    [local, staging, production] = [await evaluateStack({ stack: "local" }), await evaluateStack({ stack: "staging" }), await evaluateStack({ stack: "production" })];
  });

  it("the same config twice: no change at all", async () => {
    assert.deepEqual(await impact("local", local, {}), []);
  });

  it("a Postgres major bump replaces the server container delete-first and keeps its data volume", async () => {
    const changes = await impact("local", local, { "djangostack:data": { postgres: { version: "17" } } });
    const server = find(changes, "replace", CONTAINER, /-postgres$/);
    assert.ok(server, formatChanges(changes).join("\n"));
    assert.ok(server.fields.includes("image") && server.note === "delete-first", JSON.stringify(server));
    assert.ok(!changes.some((c) => c.type === "docker:index/volume:Volume"), "the data volume is untouched");
    assert.ok(!changes.some((c) => c.risk === "data"));
  });

  it("a rotation replaces the passwords create-first and the containers that read them; no data at risk", async () => {
    const changes = await impact("local", local, { "djangostack:secrets": { rotation: 1 } });
    assert.ok(changes.filter((c) => c.type === "random:index/randomPassword:RandomPassword").every((c) => c.op === "replace" && c.note === "create-first"));
    assert.ok(find(changes, "replace", CONTAINER, /-web-web$/));
    assert.notEqual(impactExitCode(changes), IMPACT_EXIT.data);
  });

  it("an app removed: its containers go, its media volume is kept (retainOnDelete), nothing holding data is deleted", async () => {
    const two = await evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": [...stackApps("local"), { name: "api", routes: ["/api/"] }] } });
    const changes = compareRenders(resourcesOf(two), resourcesOf(local));
    assert.ok(find(changes, "delete", CONTAINER, /-api-web$/));
    const media = find(changes, "delete", "docker:index/volume:Volume", /media-api/);
    assert.equal(media?.note, "kept: retainOnDelete leaves it in the cloud");
    assert.ok(!changes.some((c) => c.risk === "data"), formatChanges(changes).join("\n"));
  });

  it("a workload node size change replaces the pool create-first: no outage", async () => {
    const changes = await impact("production", production, { "djangostack:kubernetes": { ...stackObject("production", "kubernetes"), workloadPool: { size: "s-8vcpu-16gb", minNodes: 2, maxNodes: 6 } } });
    const pool = find(changes, "replace", "digitalocean:index/kubernetesNodePool:KubernetesNodePool", /workload/);
    assert.deepEqual([pool?.fields, pool?.note, pool?.risk], [["size"], "create-first", undefined]);
  });

  it("a system pool size change would replace the protected cluster: flagged as data at risk, refused", async () => {
    const changes = await impact("production", production, { "djangostack:kubernetes": { ...stackObject("production", "kubernetes"), systemPool: { size: "s-4vcpu-8gb", count: 2 } } });
    const cluster = find(changes, "replace", "digitalocean:index/kubernetesCluster:KubernetesCluster", /cluster/);
    assert.deepEqual([cluster?.fields, cluster?.note, cluster?.risk], [["nodePool.size"], "refused: the resource is protected", "data"]);
    assert.equal(impactExitCode(changes), IMPACT_EXIT.data);
  });

  it("a domain change on the Droplet replaces the edge delete-first: the site goes down", async () => {
    const changes = await impact("staging", staging, { "djangostack:domain": "new.example.com", ...exactApps(stackApps("staging").map((a) => ({ ...a, hosts: ["api.new.example.com"] }))) });
    const edge = find(changes, "replace", CONTAINER, /-nginx$/);
    assert.deepEqual([edge?.note, edge?.risk], ["delete-first", "outage"], formatChanges(changes).join("\n"));
    assert.ok(!find(changes, "replace", "digitalocean:index/droplet:Droplet", /./), "cloud-init is a one-time bootstrap: the Droplet stays");
    assert.equal(impactExitCode(changes), IMPACT_EXIT.outage);
  });

  it("an app release on Kubernetes updates the Deployments in place and runs a new migration Job", async () => {
    const apps = stackApps("production").map((a) => ({ ...a, build: undefined, image: "registry.digitalocean.com/djangostack/shop:2.0" }));
    const base = await evaluateStack({ stack: "production", extraConfig: exactApps(apps.map((a) => ({ ...a, image: "registry.digitalocean.com/djangostack/shop:1.0" }))) });
    const changes = compareRenders(resourcesOf(base), resourcesOf(await evaluateStack({ stack: "production", extraConfig: exactApps(apps) })));
    assert.ok(find(changes, "update", "kubernetes:apps/v1:Deployment", /web-web/), formatChanges(changes).join("\n"));
    assert.ok(find(changes, "create", "kubernetes:batch/v1:Job", /migrate/) || find(changes, "replace", "kubernetes:batch/v1:Job", /migrate/));
    assert.ok(!changes.some((c) => c.risk !== undefined), formatChanges(changes).join("\n"));
  });

  it("a region change replaces the Droplet (delete-first: the bridge auto-names `name`, and the program sets it) and every volume on its disk, and the reserved IP: the CLI prints it and exits 3", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "djs-compare-"));
    const moved = path.join(dir, "Pulumi.staging.yaml");
    fs.writeFileSync(moved, fs.readFileSync(path.join(REPO_ROOT, "Pulumi.staging.yaml"), "utf8").replace("djangostack:region: fra1", "djangostack:region: ams3"));
    const render = (args: string[]) => execFileSync(process.execPath, ["--import", "tsx", "scripts/render.ts", "--stack", "staging", ...args], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    render(["--out", path.join(dir, "before")]);
    let code = 0;
    let out = "";
    try {
      render(["--out", path.join(dir, "after"), "--file", moved, "--compare", path.join(dir, "before")]);
    } catch (error) {
      ({ status: code, stdout: out } = error as { status: number; stdout: string });
    }
    assert.equal(code, IMPACT_EXIT.data);
    assert.match(out, /\+- replace digitalocean:index\/droplet:Droplet \S+ \[region\] \(delete-first\) {2}!! DATA AT RISK: the replacement starts empty/);
    assert.match(out, /\+- replace digitalocean:index\/reservedIp:ReservedIp \S+ \[region\] \(create-first\) {2}!! SITE DOWN/);
  });
});
