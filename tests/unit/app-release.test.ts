/**
 * Issue 10 item 7: release commands run in the release one-off after the migration, gating the
 * rollout like the migration does, on every target.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { id, refuses } from "./config-helpers";
import { exactApps } from "../helpers/stack-apps";

const apps = (...list: Raw[]): Raw => ({ apps: list });
const model = (raw: Raw) => buildModel(parseConfig(raw, id));
const releaseOf = (raw: Raw) => model(raw).processes.find((p) => p.name === "a-migrate");

describe("apps[].release", () => {
  it("leaves the sample app's release as it was when unset", () => {
    assert.deepEqual(releaseOf(apps({ name: "a" }))?.command, ["sh", "-c", "python manage.py migrate --noinput && python manage.py collectstatic --noinput"]);
  });

  it("runs each command after the migration, its arguments quoted for sh", () => {
    const cmd = releaseOf(apps({ name: "a", release: [["python", "manage.py", "createsuperuser", "--noinput"], ["python", "-c", "print('x')"]] }))?.command;
    assert.deepEqual(cmd, ["sh", "-c", "python manage.py migrate --noinput && python manage.py collectstatic --noinput && 'python' 'manage.py' 'createsuperuser' '--noinput' && 'python' '-c' 'print('\\''x'\\'')'"]);
  });

  it("without migrate, the one-off runs the static step and the release commands, still after the database init and before the app rolls", () => {
    const m = model(apps({ name: "a", migrate: false, release: [["python", "manage.py", "loaddata", "initial"]] }));
    const one = m.processes.find((p) => p.name === "a-migrate");
    assert.deepEqual(one?.command, ["sh", "-c", "python manage.py collectstatic --noinput && 'python' 'manage.py' 'loaddata' 'initial'"]);
    assert.deepEqual(m.processes.find((p) => p.role === "dbinit")?.runOnceBefore, ["a-migrate"]);
    assert.ok(one?.runOnceBefore?.includes("a-web"));
  });

  it("on Docker the one-off always exists, to fill the static volume nginx serves; on Kubernetes only for migrate or commands", () => {
    assert.deepEqual(releaseOf(apps({ name: "a", migrate: false }))?.command, ["sh", "-c", "python manage.py collectstatic --noinput"]);
    const k8s = buildModel(parseConfig({ target: "kubernetes", domain: "example.com", ...apps({ name: "a", migrate: false }) }, id));
    assert.equal(k8s.processes.some((p) => p.role === "migrate"), false);
  });

  refuses([
    ["a command as a string", apps({ name: "a", release: ["python manage.py loaddata x"] }), "djangostack:apps[0].release[0]", "list of arguments"],
    ["an empty command", apps({ name: "a", release: [[]] }), "djangostack:apps[0].release[0]", "non-empty list of arguments"],
    ["a newline in an argument", apps({ name: "a", release: [["python", "-c", "a\nb"]] }), "djangostack:apps[0].release[0][2]", "list of arguments"],
    ["21 commands", apps({ name: "a", release: Array.from({ length: 21 }, () => ["true"]) }), "djangostack:apps[0].release", "at most 20"],
  ]);
});

describe("release commands on the targets (offline engine)", () => {
  const extraConfig = exactApps([{ name: "shop", build: "./app", routes: ["/"], migrate: false, release: [["python", "manage.py", "warm_cache"]] }]);
  let local: Evaluation;
  let production: Evaluation;
  before(async () => {
    local = await evaluateStack({ stack: "local", extraConfig });
    production = await evaluateStack({ stack: "production", extraConfig });
  });

  it("Docker: the one-off container carries the commands and the web container waits for its run", () => {
    const container = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-migrate"));
    assert.deepEqual(container?.inputs.command, ["sh", "-c", "python manage.py collectstatic --noinput && 'python' 'manage.py' 'warm_cache'"]);
    const run = local.engine.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-shop-migrate-run"));
    assert.ok(run, local.engine.resources.filter((r) => r.type === "command:local:Command").map((r) => r.name).join(", "));
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-web"));
    assert.ok(web?.options.dependsOn.includes(run.name), `web depends on ${web?.options.dependsOn.join(", ")}`);
  });

  it("Kubernetes: a Job runs the commands, the Deployments depend on it, and no migrations-applied gate without migrate", () => {
    const job = production.engine.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.endsWith("-shop-migrate"));
    const spec = job?.inputs.spec as { template: { spec: { containers: { command: string[] }[] } } } | undefined;
    assert.deepEqual(spec?.template.spec.containers[0].command, ["sh", "-c", "'python' 'manage.py' 'warm_cache'"]);
    const web = production.engine.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.endsWith("-shop-web"));
    assert.ok(web?.options.dependsOn.includes(job!.name));
    const init = (web?.inputs.spec as { template: { spec: { initContainers?: { name: string }[] } } }).template.spec.initContainers ?? [];
    assert.ok(!init.some((c) => c.name === "migrations-applied"));
  });
});
