/**
 * Issue 8 item 15: RabbitMQ as the production StatefulSet runs it, on a read-only root. The pod comes
 * from the offline render's manifests (statefulset-rabbitmq.yaml and the ConfigMaps it names): its
 * env, its volume mounts, its erlang-cookie init container, its probes, run by Debian's RabbitMQ 3.10
 * in private namespaces (harness/pod.ts) with only the data volume, the scratch /tmp and the cookie
 * writable. Debian's paths match the image's (SYS_PREFIX empty: /var/lib/rabbitmq, /var/log/rabbitmq,
 * /etc/rabbitmq); the uid is Debian's rabbitmq user instead of the image's 100.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { RABBITMQ_ADMIN } from "../../src/components/rendered";
import * as names from "../../src/model/names";
import { renderRabbitmqDefinitions } from "../../src/render/rabbitmq";
import { Stack, diffBeyondPlacement, loadStack } from "./fixtures";
import { PodContainer, PodMount, PodServer, runPodContainer, startPodContainer } from "./harness/pod";
import { amqpQueue } from "./harness/rabbitmq";
import { User, chownR, requireBinary, systemUser, tempDir, useHarness, waitFor } from "./harness/process";
import { generatePassword } from "./harness/secrets";

useHarness();

/**
 * The official image's ENV (docker-library/rabbitmq Dockerfile: HOME=$RABBITMQ_DATA_DIR, LANG,
 * RUNNING_UNDER_SYSTEMD), with PATH pointing at Debian's RabbitMQ scripts instead of /opt/rabbitmq/sbin.
 */
const IMAGE_ENV = {
  PATH: "/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/var/lib/rabbitmq",
  RABBITMQ_DATA_DIR: "/var/lib/rabbitmq",
  LANG: "C.UTF-8",
  LANGUAGE: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  RUNNING_UNDER_SYSTEMD: "true",
};
const QUEUE = "celery";
const TASKS = ["task-1", "task-2"];

type Manifest = { data?: Record<string, string> };
type K8sContainer = {
  name: string;
  command?: string[];
  envFrom?: { configMapRef: { name: string } }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext: { readOnlyRootFilesystem?: boolean };
  livenessProbe?: { exec: { command: string[] } };
  readinessProbe?: { exec: { command: string[] } };
  startupProbe?: { exec: { command: string[] } };
};
type K8sVolume = { name: string; emptyDir?: object; secret?: { secretName: string }; projected?: { sources: { configMap?: { name: string }; secret?: { name: string } }[] } };
type StatefulSet = { metadata: { name: string }; spec: { serviceName: string; volumeClaimTemplates: { metadata: { name: string } }[]; template: { spec: { containers: K8sContainer[]; initContainers: K8sContainer[]; volumes: K8sVolume[] } } } };

let stack: Stack;
let sts: StatefulSet;
let main: K8sContainer;
let init: K8sContainer;
let user: User;
let dataDir: string;
let confd: string;
let cookieDir: string;
let adminPassword: string;
const brokerPasswords: Record<string, string> = {};

/**
 * A ConfigMap the pod names. Auto-named objects carry no name in the render: their file is
 * `configmap-<resource name>.yaml`, and the engine names the object `<resource name>-<8 hex>`.
 */
function configMap(name: string): Record<string, string> {
  const found = Object.entries(stack.artifacts).find(([file]) => {
    const m = /^kubernetes\/(?:[^/]+\/)?configmap-(.+)\.yaml$/.exec(file);
    return m !== null && new RegExp(`^${m[1]}-[0-9a-f]{8}$`).test(name);
  });
  const data = found && (YAML.parse(found[1]) as Manifest).data;
  assert.ok(data, `no ConfigMap ${name} in the render`);
  return data;
}

/** The container's env as the pod sees it: the image's, then its ConfigMaps (envFrom). */
function envOf(c: K8sContainer, drop: string[] = []): Record<string, string> {
  const env: Record<string, string> = { ...IMAGE_ENV };
  for (const from of c.envFrom ?? []) Object.assign(env, configMap(from.configMapRef.name));
  for (const key of drop) delete env[key];
  return env;
}

/** Host dirs for a container's mounts: the claim persists across starts, an emptyDir is new each time. */
function mountsOf(c: K8sContainer): PodMount[] {
  const volumes = sts.spec.template.spec.volumes;
  const claims = sts.spec.volumeClaimTemplates.map((t) => t.metadata.name);
  return c.volumeMounts.map((m) => {
    const v = volumes.find((x) => x.name === m.name);
    let hostPath: string;
    if (claims.includes(m.name)) hostPath = dataDir;
    else if (v?.projected) hostPath = confd;
    else if (v?.secret) hostPath = cookieDir;
    else if (v?.emptyDir) {
      hostPath = tempDir("rabbitmq-pod-emptydir");
      fs.chmodSync(hostPath, 0o1777);
    } else throw new Error(`no host source for volume ${m.name}`);
    return { hostPath, mountPath: m.mountPath, readOnly: m.readOnly === true };
  });
}

function container(c: K8sContainer, env: Record<string, string>, argv: string[]): PodContainer {
  const podName = `${sts.metadata.name}-0`;
  return { hostname: podName, hostNames: [`${podName}.${sts.spec.serviceName}.shop.svc.cluster.local`, podName], mounts: mountsOf(c), env, user, argv };
}

/** The erlang-cookie init container, then RabbitMQ (the image's CMD) until its readiness probe passes. */
async function startPod(label: string, env: Record<string, string> = envOf(main)): Promise<PodServer> {
  const initRun = await runPodContainer(container(init, envOf(init), init.command ?? []), `${label}-init`);
  assert.equal(initRun.code, 0, `init container ${init.name}: ${initRun.stderr}`);
  const logDir = tempDir(`${label}-log`);
  const pod = startPodContainer(container(main, env, ["rabbitmq-server"]), label, path.join(logDir, "rabbitmq.log"), {
    gracefulStop: async (exec) => {
      await exec(["rabbitmqctl", "stop"]);
    },
  });
  const probe = main.readinessProbe?.exec.command;
  assert.ok(probe, "the manifest has an exec readiness probe");
  await waitFor(`${label} readiness probe`, async () => (await pod.exec(probe, { timeoutMs: 20_000 })).code === 0, {
    timeoutMs: 120_000,
    intervalMs: 1000,
    alive: () => {
      const status = pod.server.exitStatus();
      return status && `RabbitMQ ${status}:\n${pod.server.tail(40)}`;
    },
  });
  return pod;
}

const brokerLogin = () => ({ user: names.brokerUser("web"), password: brokerPasswords.web, vhost: names.vhost("web") });
const inPod = (pod: PodServer) => (argv: string[]) => pod.exec(argv, { timeoutMs: 30_000 });

before(async () => {
  requireBinary("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server");
  user = systemUser("rabbitmq", "rabbitmq-server");
  stack = await loadStack("production");
  const stsText = Object.entries(stack.artifacts).find(([file]) => /\/statefulset-rabbitmq\.yaml$/.test(file))?.[1];
  assert.ok(stsText, "the render has the RabbitMQ StatefulSet");
  sts = YAML.parse(stsText) as StatefulSet;
  main = sts.spec.template.spec.containers[0];
  init = sts.spec.template.spec.initContainers[0];

  dataDir = tempDir("rabbitmq-pod-data");
  // The projected config volume: the rendered rabbitmq.conf from its ConfigMap and the definitions
  // (the Secret's content, with passwords generated here and checked against the render's masked copy).
  confd = tempDir("rabbitmq-pod-confd");
  const sources = sts.spec.template.spec.volumes.find((v) => v.projected)?.projected?.sources ?? [];
  for (const s of sources) if (s.configMap) for (const [file, text] of Object.entries(configMap(s.configMap.name))) fs.writeFileSync(path.join(confd, file), text);
  adminPassword = generatePassword();
  const brokerApps = stack.config.apps.filter((a) => a.broker).map((a) => a.name);
  for (const app of brokerApps) brokerPasswords[app] = generatePassword();
  const definitions = renderRabbitmqDefinitions({
    apps: brokerApps.map((a) => ({ vhost: names.vhost(a), user: names.brokerUser(a), password: brokerPasswords[a] })),
    admin: { user: RABBITMQ_ADMIN, password: adminPassword },
  });
  assert.deepEqual(diffBeyondPlacement(stack.artifacts["rabbitmq/definitions.json"], definitions, [/"password_hash":/]), []);
  fs.writeFileSync(path.join(confd, "definitions.json"), definitions);
  for (const f of fs.readdirSync(confd)) fs.chmodSync(path.join(confd, f), 0o440);
  cookieDir = tempDir("rabbitmq-pod-cookie");
  fs.writeFileSync(path.join(cookieDir, ".erlang.cookie"), crypto.randomBytes(24).toString("hex"), { mode: 0o400 });
  for (const dir of [dataDir, confd, cookieDir]) chownR(dir, user);
}, { timeout: 120_000 });

describe("RabbitMQ on a read-only root, as the production StatefulSet runs it", () => {
  test("the manifest sets a read-only root for RabbitMQ and its init container", () => {
    assert.equal(main.securityContext.readOnlyRootFilesystem, true);
    assert.equal(init.securityContext.readOnlyRootFilesystem, true);
  });

  test("boots, imports the definitions, passes its probes, and restarts on the same data with a durable queue's messages", async () => {
    const first = await startPod("rabbitmq-ro");
    const users = JSON.parse((await first.exec(["rabbitmqctl", "list_users", "--formatter", "json"])).stdout) as { user: string }[];
    assert.deepEqual(users.map((u) => u.user).sort(), [RABBITMQ_ADMIN, names.brokerUser("web")].sort());
    for (const probe of [main.livenessProbe, main.startupProbe]) {
      const r = await first.exec(probe?.exec.command ?? ["false"]);
      assert.equal(r.code, 0, `probe ${probe?.exec.command.join(" ")}: ${r.stderr}${r.stdout}`);
    }
    await amqpQueue(5672, brokerLogin(), QUEUE, { publish: TASKS }, inPod(first));
    await first.server.stop();
    const log = fs.readFileSync(first.server.logFile, "utf8");
    assert.doesNotMatch(log, /erofs|read-only file system/i, "something tried to write outside the volumes");
    assert.ok(fs.existsSync(path.join(dataDir, "mnesia", `rabbit@${sts.metadata.name}-0`)), "Mnesia lives on the data volume under the pod's node name");

    const again = await startPod("rabbitmq-ro-restart");
    assert.deepEqual(await amqpQueue(5672, brokerLogin(), QUEUE, "peek", inPod(again)), { exists: true, bodies: TASKS });
    // A crash dump goes to the data volume (ERL_CRASH_DUMP), where it outlives the crash.
    await again.exec(["rabbitmqctl", "eval", 'erlang:halt("djangostack crash dump test").']);
    await again.server.exited;
    const dump = path.join(dataDir, "erl_crash.dump");
    assert.ok(fs.existsSync(dump), `no crash dump on the data volume; log:\n${again.server.tail(10)}`);
    assert.match(fs.readFileSync(dump, "utf8").slice(0, 4096), /Slogan: djangostack crash dump test/);
    assert.doesNotMatch(fs.readFileSync(again.server.logFile, "utf8"), /erofs|read-only file system/i);
  });

  test("without RABBITMQ_UPGRADE_LOG (the env before issue 8), RabbitMQ 3.10 dies at boot writing its upgrade log to the read-only root", async () => {
    fs.rmSync(path.join(dataDir, "erl_crash.dump"), { force: true });
    const logDir = tempDir("rabbitmq-ro-old-log");
    const pod = startPodContainer(container(main, envOf(main, ["RABBITMQ_UPGRADE_LOG", "ERL_CRASH_DUMP"]), ["rabbitmq-server"]), "rabbitmq-ro-old", path.join(logDir, "rabbitmq.log"));
    let timer: NodeJS.Timeout | undefined;
    const status = await Promise.race([pod.server.exited, new Promise<string>((r) => (timer = setTimeout(() => r("still running"), 90_000)))]);
    clearTimeout(timer);
    await pod.server.stop();
    const log = fs.readFileSync(pod.server.logFile, "utf8");
    assert.notEqual(status, "still running", "booted although the upgrade log is on the read-only root");
    assert.match(log, new RegExp(`cannot_log_to_file,\\s*"/var/log/rabbitmq/rabbit@${sts.metadata.name}-0_upgrade\\.log",\\s*erofs`));
    // Its crash dump went to the default place, RABBITMQ_LOG_BASE, on the read-only root: lost.
    assert.match(log, /Crash dump is being written to: \/var\/log\/rabbitmq\/erl_crash\.dump/);
    assert.ok(!fs.existsSync(path.join(dataDir, "erl_crash.dump")));
  });
});
