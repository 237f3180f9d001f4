/**
 * Issue 16 item 4 (seed 004): an external ClickHouse, read with read-only credentials, given as the
 * secret `djangostack:external.<app>.clickhouse` URL. The app gets the URL and/or its parts under the
 * env names it reads, all as secret env; no plain env holds the password.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { connectionPart } from "../../src/model/urls";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { isWireSecret, maskSecrets, unwrapSecrets } from "../../src/offline/secret";
import { id, refuses } from "./config-helpers";

const PARTS = { clickhouseHost: "CLICKHOUSE_HOST", clickhousePort: "CLICKHOUSE_PORT", clickhouseDatabase: "CLICKHOUSE_DATABASE", clickhouseUser: "CLICKHOUSE_USER", clickhousePassword: "CLICKHOUSE_PASSWORD" };
const URL_OF = "clickhouses://readonly:r%40d-only@ch.example.net/analytics";
const admin2 = (extra: Raw = {}): Raw => ({ name: "admin2", build: "./app", routes: ["/"], broker: "redis", ...extra });
const withExternal = (app: Raw, external: unknown): Raw => ({ apps: [app], external });

describe("connectionPart of a ClickHouse URL", () => {
  it("gives the default ports of the native (9000, TLS 9440) and HTTP (8123, TLS 8443) interfaces", () => {
    assert.deepEqual(
      ["clickhouse://u:p@h/db", "clickhouses://u:p@h/db", "http://u:p@h/db", "https://u:p@h/db"].map((u) => connectionPart(u, "port")),
      ["9000", "9440", "8123", "8443"],
    );
    assert.deepEqual(["host", "name", "user", "password"].map((p) => connectionPart(URL_OF, p as "host")), ["ch.example.net", "analytics", "readonly", "r@d-only"]);
  });
});

describe("external.<app>.clickhouse in config", () => {
  it("gives every Django and Celery process of the app the parts it names, as secret env from the URL", () => {
    const m = buildModel(parseConfig(withExternal(admin2({ envNames: PARTS, workers: [{ name: "default", queues: ["celery"] }], beat: true }), { admin2: { clickhouse: URL_OF } }), id));
    const processes = m.processes.filter((p) => p.app === "admin2" && ["web", "worker", "beat"].includes(p.role));
    assert.ok(processes.length >= 3, `web, worker and beat: ${processes.map((p) => p.name).join(", ")}`);
    for (const p of processes) {
      assert.deepEqual(p.secretEnv.CLICKHOUSE_PASSWORD, { kind: "component", app: "admin2", service: "clickhouse", part: "password" }, p.name);
      assert.deepEqual(p.secretEnv.CLICKHOUSE_HOST, { kind: "component", app: "admin2", service: "clickhouse", part: "host" }, p.name);
      assert.equal(p.env.CLICKHOUSE_PASSWORD, undefined, `${p.name}: no plain copy`);
    }
  });

  it("gives the whole URL under envNames.clickhouseUrl", () => {
    const m = buildModel(parseConfig(withExternal(admin2({ envNames: { clickhouseUrl: "CLICKHOUSE_URL" } }), { admin2: { clickhouse: URL_OF } }), id));
    const web = m.processes.find((p) => p.name === "admin2-web");
    assert.deepEqual(web?.secretEnv.CLICKHOUSE_URL, { kind: "external", app: "admin2", service: "clickhouse" });
  });

  it("sets nothing for ClickHouse on an app without one", () => {
    const m = buildModel(parseConfig({ apps: [admin2()] }, id));
    const web = m.processes.find((p) => p.name === "admin2-web");
    assert.deepEqual(Object.keys(web?.secretEnv ?? {}).filter((k) => k.startsWith("CLICKHOUSE")), []);
  });

  refuses([
    ["a URL of another scheme", withExternal(admin2({ envNames: PARTS }), { admin2: { clickhouse: "postgres://u:p@h/db" } }), "djangostack:external.admin2.clickhouse", "clickhouse://, clickhouses://, http://, https://"],
    ["a ClickHouse the app reads under no name", withExternal(admin2(), { admin2: { clickhouse: URL_OF } }), "djangostack:external.admin2.clickhouse", "envNames.clickhouseUrl or the clickhouse parts"],
    ["a ClickHouse part without an external ClickHouse", { apps: [admin2({ envNames: { clickhouseHost: "CLICKHOUSE_HOST" } })] }, "djangostack:apps[0].envNames.clickhouseHost", "no ClickHouse"],
  ]);
});

describe("an external ClickHouse under the offline engine", () => {
  let local: Evaluation;
  before(async () => {
    local = await evaluateStack({
      stack: "local",
      extraConfig: { "djangostack:apps": [admin2({ envNames: PARTS })], "djangostack:external": { admin2: { clickhouse: URL_OF } } },
    });
  });

  it("the web container's secret env holds each part, decoded, and the plain env none", () => {
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-admin2-web"));
    assert.ok(web && isWireSecret(web.inputs.envs), "the env is secret as a whole");
    const env = Object.fromEntries((unwrapSecrets(web.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    assert.deepEqual([env.CLICKHOUSE_HOST, env.CLICKHOUSE_PORT, env.CLICKHOUSE_DATABASE, env.CLICKHOUSE_USER, env.CLICKHOUSE_PASSWORD], ["ch.example.net", "9440", "analytics", "readonly", "r@d-only"]);
    const rendered = JSON.stringify(local.engine.resources.map((r) => maskSecrets(r.inputs)));
    assert.ok(!rendered.includes("r@d-only") && !rendered.includes("r%40d-only"), "resources.json masks the password");
    const artifacts = JSON.stringify(local.artifacts);
    assert.ok(!artifacts.includes("r@d-only") && !artifacts.includes("r%40d-only"), "no artifact holds the password");
  });
});
