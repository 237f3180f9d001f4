import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluateStack, Evaluation } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";
import { goDurationString, goParseDuration, nanoInt64ToDecimalString, parseCpus, readBack, UPDATE_IGNORES } from "../helpers/docker-readback";
import { exactApps } from "../helpers/stack-apps";

const CONTAINER = "docker:index/container:Container";
const processOf = (c: RecordedResource) => ((unwrapSecrets(c.inputs.labels) ?? []) as { label: string; value: string }[]).find((l) => l.label === "djangostack.process")?.value;

describe("the provider's read-back model (ported from kreuzwerker v4.5.0)", () => {
  it("reproduces the documented quirks", () => {
    assert.equal(nanoInt64ToDecimalString(parseCpus("1")), "1.0");
    assert.equal(nanoInt64ToDecimalString(parseCpus("0.5")), "0.5");
    assert.equal(nanoInt64ToDecimalString(parseCpus("0.25")), "0.25");
    assert.equal(nanoInt64ToDecimalString(parseCpus("0.05")), "0.1", "a small value rounds");
    assert.equal(goDurationString(goParseDuration("60s")), "1m0s");
    assert.equal(goDurationString(goParseDuration("90s")), "1m30s");
    assert.equal(goDurationString(goParseDuration("10s")), "10s");
    assert.equal(goDurationString(goParseDuration("3600s")), "1h0m0s");
  });
});

for (const stack of ["local", "staging"]) {
  describe(`${stack}: container inputs survive the provider's read-back`, () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateStack({ stack, extraConfig: exactApps([{ name: "web", resources: { cpu: "1" }, workers: [{ name: "default", resources: { cpu: "2" } }] }]) });
    });

    it("every field Read overwrites is already in the engine's form: no diff, no replacement on the next up", () => {
      const containers = ev.engine.resources.filter((r) => r.type === CONTAINER);
      assert.ok(containers.length > 5);
      for (const c of containers) {
        const inputs = unwrapSecrets(c.inputs) as Record<string, unknown>;
        for (const [field, stored] of Object.entries(readBack(inputs))) assert.deepEqual(inputs[field], stored, `${processOf(c)}.${field}: sent ${JSON.stringify(inputs[field])}, read back ${JSON.stringify(stored)}`);
      }
    });

    it("a change the provider's Update would drop replaces the container instead", () => {
      for (const c of ev.engine.resources.filter((r) => r.type === CONTAINER)) {
        const set = UPDATE_IGNORES.filter((f) => c.inputs[f] !== undefined);
        for (const f of set) assert.ok(c.options.replaceOnChanges?.includes(f), `${processOf(c)}: ${f} changes would be saved and never applied`);
      }
    });

    it("limits CPU exactly: every millicore value is representable", () => {
      const web = ev.engine.resources.find((r) => r.type === CONTAINER && processOf(r) === "web-web");
      assert.ok(web);
      assert.equal(Number(web.inputs.cpuQuota) / Number(web.inputs.cpuPeriod), 1, "1 CPU for web");
      const worker = ev.engine.resources.find((r) => r.type === CONTAINER && processOf(r) === "web-worker-default");
      assert.equal(Number(worker?.inputs.cpuQuota) / Number(worker?.inputs.cpuPeriod), 2);
    });
  });
}
