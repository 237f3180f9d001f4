import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { effectiveConfig } from "../../src/config/load";

const ID = { project: "djangostack", stack: "t" };

/** The shared definition most cases overlay: two apps, one with two pools. */
const BASE: Raw = {
  apps: [
    { name: "web", build: "./app", routes: ["/"], hosts: ["a.example.com"], env: { LOG: "info", MODE: "shared" }, workers: [{ name: "default", queues: ["celery"] }, { name: "mail", queues: ["mail"] }] },
    { name: "api", routes: ["/api/"] },
  ],
  data: { postgres: { version: "16", resources: { cpu: "500m", memory: "1Gi" } } },
};

const effective = (overlay: unknown, base: Raw = BASE): Raw => effectiveConfig({ ...base, overlay }, []).raw;

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  return assert.fail("expected a ConfigError");
}

describe("overlay: maps merge deeply, named lists match by name, other lists replace", () => {
  it("merges maps key by key and null takes a key out", () => {
    const out = effective({ data: { postgres: { resources: { memory: "512Mi" }, version: null } } });
    assert.deepEqual(out.data, { postgres: { resources: { cpu: "500m", memory: "512Mi" } } });
  });

  it("changes an app by name, env merged, and replaces its lists (hosts, routes, queues)", () => {
    const apps = effective({ apps: { web: { hosts: ["b.example.com"], env: { MODE: "staging" }, workers: { mail: { queues: ["mail", "bulk"] } } } } }).apps as Raw[];
    assert.deepEqual(apps.map((a) => a.name), ["web", "api"]);
    assert.deepEqual(apps[0].hosts, ["b.example.com"]);
    assert.deepEqual(apps[0].routes, ["/"]);
    assert.deepEqual(apps[0].env, { LOG: "info", MODE: "staging" });
    assert.deepEqual(apps[0].workers, [{ name: "default", queues: ["celery"] }, { name: "mail", queues: ["mail", "bulk"] }]);
  });

  it("adds and removes apps and pools only when asked, added ones after the shared ones", () => {
    const apps = effective({
      apps: { api: { $patch: "remove" }, blog: { $patch: "add", routes: ["/blog/"] }, web: { workers: { default: { $patch: "remove" }, bulk: { $patch: "add", queues: ["bulk"] } } } },
    }).apps as Raw[];
    assert.deepEqual(apps.map((a) => a.name), ["web", "blog"]);
    assert.deepEqual(apps[1], { name: "blog", routes: ["/blog/"] });
    assert.deepEqual((apps[0].workers as Raw[]).map((w) => w.name), ["mail", "bulk"]);
  });

  it("leaves the shared definition alone without an overlay, and drops the overlay key", () => {
    assert.deepEqual(effectiveConfig(BASE, []).raw, BASE);
    assert.ok(!("overlay" in effective({ data: {} })));
  });

  it("runs validation and guardrails on the effective config", () => {
    const config = parseConfig({ ...BASE, target: "kubernetes", domain: "example.com", overlay: { apps: { web: { replicas: 3, workers: { mail: { replicas: 2 } } } }, data: { postgres: { managedSize: "db-s-4vcpu-8gb" } } } }, ID);
    assert.equal(config.apps[0].replicas, 3);
    assert.equal(config.apps[0].workers[1].replicas, 2);
    // An app the overlay adds meets the shared ones in the cross-app checks (here: two apps on one path).
    const [clash] = problems(() => parseConfig({ ...BASE, overlay: { apps: { blog: { $patch: "add", routes: ["/api/"] } } } }, ID));
    assert.match(clash, /\/api\//);
  });
});

describe("overlay: mistakes are errors that name the key and what is known", () => {
  const cases: [string, unknown, RegExp][] = [
    ["an unknown app", { apps: { wbe: { replicas: 2 } } }, /^djangostack:overlay\.apps\.wbe: got \{"replicas":2\}; no app "wbe" to change; known apps are web, api \(\$patch: add adds one\)$/],
    ["removing an unknown app", { apps: { blog: { $patch: "remove" } } }, /^djangostack:overlay\.apps\.blog: .*no app "blog" to remove; known apps are web, api$/],
    ["an unknown pool", { apps: { web: { workers: { emails: { concurrency: 2 } } } } }, /^djangostack:overlay\.apps\.web\.workers\.emails: .*no worker pool "emails" to change; known worker pools are default, mail/],
    ["adding an app that exists", { apps: { api: { $patch: "add" } } }, /^djangostack:overlay\.apps\.api\.\$patch: .*already has a app "api"/],
    ["renaming an app", { apps: { web: { name: "site" } } }, /^djangostack:overlay\.apps\.web\.name: got "site"; an overlay cannot rename/],
    ["an unknown $patch", { apps: { web: { $patch: "delete" } } }, /^djangostack:overlay\.apps\.web\.\$patch: got "delete"; allowed values are add, remove$/],
    ["apps as a list", { apps: [{ name: "web" }] }, /^djangostack:overlay\.apps: .*expected a map of app name to overlay/],
    ["an app set to null", { apps: { web: null } }, /^djangostack:overlay\.apps\.web: got null; .*write \{\$patch: remove\}/],
    ["a scalar key", { target: "droplet" }, /^djangostack:overlay\.target: .*set djangostack:target in the stack file directly$/],
    ["an unknown key", { dta: {} }, /^djangostack:overlay\.dta: got \{\}; unknown key; an overlay changes apps, .*data/],
  ];
  for (const [title, overlay, message] of cases) {
    it(title, () => {
      const found = problems(() => parseConfig({ ...BASE, overlay }, ID));
      assert.equal(found.length, 1, found.join("\n"));
      assert.match(found[0], message);
    });
  }

  it("names pools of an app without written workers as none", () => {
    const [message] = problems(() => parseConfig({ apps: [{ name: "web" }], overlay: { apps: { web: { workers: { default: { concurrency: 2 } } } } } }, ID));
    assert.match(message, /apps\[0\]\.workers names no worker pool/);
  });

  it("names an invalid overlay value by the overlay key the user wrote", () => {
    const found = problems(() => parseConfig({ ...BASE, overlay: { apps: { web: { replicas: 0 } } } }, ID));
    assert.deepEqual(found, ["djangostack:overlay.apps.web.replicas: got 0; expected an integer from 1 to 100"]);
  });

  it("names a shared value by its written index when an overlay removed an app before it", () => {
    const base = { apps: [{ name: "web" }, { name: "api", routes: ["api/"] }] };
    const found = problems(() => parseConfig({ ...base, overlay: { apps: { web: { $patch: "remove" } } } }, ID));
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /^djangostack:apps\[1\]\.routes\[0\]: got "api\/"/);
  });

  it("names a value of an added pool by the overlay key", () => {
    const found = problems(() => parseConfig({ ...BASE, overlay: { apps: { web: { workers: { bulk: { $patch: "add", concurrency: -1 } } } } } }, ID));
    assert.match(found.join("\n"), /djangostack:overlay\.apps\.web\.workers\.bulk\.concurrency: got -1/);
  });

  it("shows no value of a secret overlay, and makes the keys it changes secret", () => {
    const secret = { apps: { wbe: { env: { TOKEN: "s3cr3t" } } } };
    const [message] = problems(() => parseConfig({ ...BASE, overlay: secret }, ID, ["overlay"]));
    assert.ok(!message.includes("s3cr3t"), message);
    assert.deepEqual(effectiveConfig({ ...BASE, overlay: { apps: { web: { env: { TOKEN: "x" } } } } }, ["overlay"]).secretKeys, ["apps"]);
    const config = parseConfig({ ...BASE, overlay: { apps: { web: { env: { TOKEN: "x" } } } } }, ID, ["overlay"]);
    assert.ok(config.apps[0].secretEnvKeys.includes("TOKEN"), "env from a secret overlay is secret env");
  });
});
