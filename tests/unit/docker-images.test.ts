import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluateStack, Evaluation } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";

const CONTAINER = "docker:index/container:Container";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

function container(ev: Evaluation, process: string): RecordedResource {
  const found = ev.engine.resources.find((r) => r.type === CONTAINER && ((unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[]).some((l) => l.label === "djangostack.process" && l.value === process));
  assert.ok(found, `no container for ${process}`);
  return found;
}
const pulls = (ev: Evaluation) => ev.engine.resources.filter((r) => r.type === REMOTE_IMAGE).map((r) => String(r.inputs.name));

describe("which images the Docker realizer pulls", () => {
  it("runs a locally built image from the engine that built it, with no pull, even on a remote docker.host", async () => {
    for (const docker of [{}, { host: "ssh://deploy@203.0.113.10" }]) {
      const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:docker": docker } });
      assert.ok(!pulls(ev).some((n) => n.startsWith("djangostack-local-")), `${JSON.stringify(docker)}: a loaded image is pulled from a registry: ${pulls(ev).join(", ")}`);
      assert.equal(container(ev, "web-web").inputs.image, "djangostack-local-web:local");
    }
  });

  it("pulls a prebuilt app image on the local engine too (the provider's container create never pulls)", async () => {
    const image = "ghcr.io/acme/kore@sha256:" + "a".repeat(64);
    const ev = await evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": [{ name: "web", image }] } });
    assert.ok(pulls(ev).includes(image), `not pulled: ${pulls(ev).join(", ")}`);
    assert.notEqual(container(ev, "web-web").inputs.image, image, "the container runs the pulled image's ID");
  });
});
