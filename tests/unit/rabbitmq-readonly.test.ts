/**
 * Issue 8 item 15: RabbitMQ on a read-only root (production StatefulSet). Every file the node writes,
 * at the place rabbit_env/rabbit_prelaunch_logging put it for the pod's environment, must lie on a
 * writable mount. Defaults from rabbitmq/rabbitmq-server: RABBITMQ_LOG_BASE /var/log/rabbitmq
 * (SYS_PREFIX empty in the image); the upgrade log `<log base>/<node>_upgrade.log` unless
 * RABBITMQ_UPGRADE_LOG (written by 3.10 and 3.11, removed in 3.12); ERL_CRASH_DUMP
 * `<log base>/erl_crash.dump` unless set; the main log `<log base>/<node>.log` unless file output is
 * off; the Erlang cookie in $HOME; Mnesia in `<RABBITMQ_MNESIA_BASE or $HOME/mnesia>/<node>`.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { RecordedResource } from "../../src/offline/engine";

/** The official image's ENV that matters here (docker-library/rabbitmq Dockerfile: HOME=$RABBITMQ_DATA_DIR). */
const IMAGE_ENV = { HOME: "/var/lib/rabbitmq" };
const LOG_BASE = "/var/log/rabbitmq";

type Mount = { name: string; mountPath: string; readOnly?: boolean };
type Container = { envFrom?: { configMapRef: { name: string } }[]; volumeMounts: Mount[]; securityContext: { readOnlyRootFilesystem?: boolean } };

const configMapData = (ev: Evaluation, k8sName: string): Record<string, string> => {
  const cm = ev.engine.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && k8sName.startsWith(`${r.name}-`));
  assert.ok(cm, `no ConfigMap ${k8sName}`);
  return cm.inputs.data as Record<string, string>;
};

describe("RabbitMQ writes only to its volumes on the read-only root (production StatefulSet)", () => {
  let ev: Evaluation;
  let sts: RecordedResource;
  let container: Container;
  let env: Record<string, string>;
  let conf: string;

  before(async () => {
    ev = await evaluateStack({ stack: "production" });
    const found = ev.engine.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && (r.inputs.metadata as { name: string }).name === "rabbitmq");
    assert.ok(found);
    sts = found;
    const pod = (sts.inputs.spec as { template: { spec: { containers: Container[]; volumes: { name: string; projected?: { sources: { configMap?: { name: string } }[] } }[] } } }).template.spec;
    container = pod.containers[0];
    env = { ...IMAGE_ENV };
    for (const from of container.envFrom ?? []) Object.assign(env, configMapData(ev, from.configMapRef.name));
    const projected = pod.volumes.find((v) => v.projected)?.projected?.sources.find((s) => s.configMap)?.configMap?.name;
    assert.ok(projected, "the rendered rabbitmq.conf comes from a ConfigMap");
    conf = Object.values(configMapData(ev, projected)).join("\n");
  });

  it("runs on a read-only root", () => {
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  });

  it("sends its main log to the console only", () => {
    assert.match(conf, /^log\.file = false$/m);
    assert.match(conf, /^log\.console = true$/m);
    assert.equal(env.RABBITMQ_LOGS ?? "-", "-", "RABBITMQ_LOGS would override the config with a file");
  });

  it("puts the cookie, Mnesia, the crash dump and the (pre-3.12) upgrade log on writable mounts or stdout", () => {
    const node = env.RABBITMQ_NODENAME;
    assert.ok(node, "the node name is fixed");
    const logBase = env.RABBITMQ_LOG_BASE ?? LOG_BASE;
    const writes: Record<string, string> = {
      "Erlang cookie": `${env.HOME}/.erlang.cookie`,
      Mnesia: `${env.RABBITMQ_MNESIA_BASE ?? `${env.HOME}/mnesia`}/${node}`,
      "crash dump": env.ERL_CRASH_DUMP ?? `${logBase}/erl_crash.dump`,
      "upgrade log": env.RABBITMQ_UPGRADE_LOG ?? `${logBase}/${node}_upgrade.log`,
    };
    const writable = container.volumeMounts.filter((m) => !m.readOnly).map((m) => m.mountPath);
    for (const [what, file] of Object.entries(writes)) {
      if (file === "-") continue;
      const on = writable.find((dir) => !path.relative(dir, file).startsWith(".."));
      assert.ok(on, `${what} ${file} is on the read-only root (writable: ${writable.join(", ")})`);
    }
  });
});
