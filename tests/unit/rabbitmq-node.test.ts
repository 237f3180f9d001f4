/**
 * Issue 8 item 1: RabbitMQ keeps its data per node name (`$RABBITMQ_MNESIA_BASE/<node>`), and the
 * node name defaults to `rabbit@<hostname>`. On Docker the hostname is the container id unless set,
 * so it must be set; a StatefulSet pod is always `<set>-<ordinal>`, so its node follows that.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";
import { unwrapSecrets } from "../../src/offline/secret";

/** The image's defaults (docker-library/rabbitmq: HOME and RABBITMQ_DATA_DIR, SYS_PREFIX emptied). */
const MNESIA_BASE = "/var/lib/rabbitmq/mnesia";

function rabbitContainer(ev: Evaluation): RecordedResource {
  const found = ev.engine.resources.filter((r) => {
    const labels = (unwrapSecrets(r.inputs.labels) ?? []) as { label: string; value: string }[];
    return r.type === "docker:index/container:Container" && labels.some((l) => l.label === "djangostack.process" && l.value === "rabbitmq");
  });
  assert.equal(found.length, 1, `one rabbitmq container, got ${found.map((r) => r.name).join(", ")}`);
  return found[0];
}

function dockerEnv(r: RecordedResource): Record<string, string> {
  const envs = (unwrapSecrets(r.inputs.envs) ?? []) as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** Where the node keeps its schema and messages, as rabbit_env derives it (RABBITMQ_NODENAME, else rabbit@<short hostname>). */
function dataDir(env: Record<string, string>, hostname: string | undefined): string | undefined {
  const node = env.RABBITMQ_NODENAME ?? (hostname ? `rabbit@${hostname.split(".")[0]}` : undefined);
  return node && `${MNESIA_BASE}/${node}`;
}

describe("RabbitMQ node name on Docker (local stack)", () => {
  it("names the container's host and the node, so a replaced container reopens the same data directory", async () => {
    const before = rabbitContainer(await evaluateStack({ stack: "local" }));
    // A version bump replaces the container (image is ForceNew in the docker provider).
    const after = rabbitContainer(await evaluateStack({ stack: "local", extraConfig: { "djangostack:data": { rabbitmq: { version: "4.1" } } } }));
    assert.notEqual(before.inputs.image, after.inputs.image, "the second deploy replaces the container");
    for (const c of [before, after]) {
      const hostname = c.inputs.hostname as string | undefined;
      assert.ok(hostname, "without a hostname Docker uses the container id, new at every replacement");
      const env = dockerEnv(c);
      // The node name's host must be the container's own name, which /etc/hosts resolves inside it.
      assert.equal(env.RABBITMQ_NODENAME?.split("@")[1], hostname, `node ${env.RABBITMQ_NODENAME} is not on host ${hostname}`);
    }
    const dirs = [before, after].map((c) => dataDir(dockerEnv(c), c.inputs.hostname as string | undefined));
    assert.ok(dirs[0], "the data directory is known before the container exists");
    assert.equal(dirs[1], dirs[0], "the replaced node opens the directory the old one wrote");
  });
});

describe("RabbitMQ node name on Kubernetes (production stack)", () => {
  it("is rabbit@<pod hostname> (<set>-0): stable, resolvable from the pod's /etc/hosts, on the claim's mount", async () => {
    const ev = await evaluateStack({ stack: "production" });
    const sts = ev.engine.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && (r.inputs.metadata as { name?: string }).name === "rabbitmq");
    assert.ok(sts, "a rabbitmq StatefulSet");
    const spec = sts.inputs.spec as { replicas: number; volumeClaimTemplates: { metadata: { name: string } }[]; template: { spec: { containers: { envFrom?: { configMapRef: { name: string } }[]; volumeMounts: { name: string; mountPath: string }[] }[] } } };
    assert.equal(spec.replicas, 1);
    const c = spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const from of c.envFrom ?? []) {
      const cm = ev.engine.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && from.configMapRef.name.startsWith(`${r.name}-`));
      Object.assign(env, cm?.inputs.data as Record<string, string>);
    }
    // The StatefulSet controller names the pod and its hostname <set name>-<ordinal>, whatever the template says.
    const podHostname = `${(sts.inputs.metadata as { name: string }).name}-0`;
    assert.equal(env.RABBITMQ_NODENAME ?? `rabbit@${podHostname}`, `rabbit@${podHostname}`, "a node not named after the pod's host resolves only through the Service, which lists no unready pod");
    const claim = spec.volumeClaimTemplates[0].metadata.name;
    const mount = c.volumeMounts.find((m) => m.name === claim);
    assert.ok(mount && `${mount.mountPath}/mnesia` === MNESIA_BASE, `the node's Mnesia base ${MNESIA_BASE} is on the claim, got ${JSON.stringify(mount)}`);
  });
});
