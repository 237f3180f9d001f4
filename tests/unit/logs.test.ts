/** Issue 13 item 7: djangostack:logFormat, its defaults per target, and what it gives the apps. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { id, onDroplet, refuses } from "./config-helpers";

const webEnv = (raw: Record<string, unknown>) => buildModel(parseConfig(raw, id)).processes.find((p) => p.role === "web")?.env;

describe("djangostack:logFormat (issue 13 item 7)", () => {
  it("is JSON where a collector reads the logs (Droplet, Kubernetes) and text on the local engine", () => {
    assert.equal(parseConfig({}, id).logFormat, "plain");
    assert.equal(parseConfig(onDroplet(), id).logFormat, "json");
    assert.equal(parseConfig({ target: "kubernetes", domain: "example.com" }, id).logFormat, "json");
  });

  it("reaches every app process as DJANGO_LOG_FORMAT, which plain env may not set", () => {
    assert.equal(webEnv({ logFormat: "json" })?.DJANGO_LOG_FORMAT, "json");
    const model = buildModel(parseConfig({ logFormat: "json" }, id));
    for (const p of model.processes.filter((x) => ["web", "worker", "beat", "migrate"].includes(x.role))) assert.equal(p.env.DJANGO_LOG_FORMAT, "json", p.name);
  });

  refuses([
    ["an unknown log format", { logFormat: "logfmt" }, "djangostack:logFormat", '"json", "plain"'],
    ["a log format in capitals", { logFormat: "JSON" }, "djangostack:logFormat", '"json", "plain"'],
    ["the log format as plain env", { apps: [{ name: "web", env: { DJANGO_LOG_FORMAT: "json" } }] }, "djangostack:apps[0].env.DJANGO_LOG_FORMAT", "set by djangostack from djangostack:logFormat"],
  ]);
});
