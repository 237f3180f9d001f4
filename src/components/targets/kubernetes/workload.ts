/**
 * Pure translation of one model Process into Kubernetes pod pieces: security contexts, probes,
 * resources, env references and volumes. No Pulumi resources are created here.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Resources } from "../../../config/types";
import { Health, Probe, Process, VolumeMount } from "../../../model/types";
import { POOL_LABEL, WORKLOAD_POOL } from "./cluster";

type Input<T> = pulumi.Input<T>;
export type Container = k8s.types.input.core.v1.Container;
export type Volume = k8s.types.input.core.v1.Volume;
export type PodSpec = k8s.types.input.core.v1.PodSpec;
export type PodTemplate = k8s.types.input.core.v1.PodTemplateSpec;
type K8sProbe = k8s.types.input.core.v1.Probe;
type K8sMount = k8s.types.input.core.v1.VolumeMount;

/** The sample app's Dockerfile (and every app image djangostack builds) runs as this uid:gid. */
export const APP_USER = "10001:10001";
/** Seconds a web or edge pod keeps serving after it is taken out of its Service, before SIGTERM. */
export const PRE_STOP_SECONDS = 5;

export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  component: "app.kubernetes.io/component",
  partOf: "app.kubernetes.io/part-of",
  managedBy: "app.kubernetes.io/managed-by",
  app: "djangostack.io/app",
  role: "djangostack.io/role",
} as const;

/** Selector labels of a process: stable for the life of the Deployment/StatefulSet (selectors are immutable). */
export function selectorLabels(process: Process, stack: string): Record<string, string> {
  return { [LABELS.name]: process.name, [LABELS.instance]: stack };
}

export function processLabels(process: Process, project: string, stack: string): Record<string, string> {
  return {
    ...selectorLabels(process, stack),
    [LABELS.component]: process.role,
    [LABELS.partOf]: project,
    [LABELS.managedBy]: "pulumi",
    [LABELS.role]: process.role,
    ...(process.app ? { [LABELS.app]: process.app } : {}),
  };
}

export function parseUser(user: string): { uid: number; gid: number } {
  const m = /^(\d+):(\d+)$/.exec(user);
  if (!m) throw new Error(`djangostack: process user must be "uid:gid", got "${user}"`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** App images run as APP_USER; the frontend image's own (numeric, non-root) USER is kept. */
export function userOf(process: Process): { uid: number; gid: number } | undefined {
  if (process.user) return parseUser(process.user);
  return process.image.kind === "app" ? parseUser(APP_USER) : undefined;
}

export function podSecurityContext(process: Process): k8s.types.input.core.v1.PodSecurityContext {
  const user = userOf(process);
  return {
    runAsNonRoot: true,
    ...(user ? { runAsUser: user.uid, runAsGroup: user.gid, fsGroup: user.gid, fsGroupChangePolicy: "OnRootMismatch" } : {}),
    seccompProfile: { type: "RuntimeDefault" },
    // ip_unprivileged_port_start is one of Kubernetes' safe (namespaced) sysctls since 1.22.
    ...(process.sysctls ? { sysctls: Object.entries(process.sysctls).map(([name, value]) => ({ name, value })) } : {}),
  };
}

export function containerSecurityContext(process: Process): k8s.types.input.core.v1.SecurityContext {
  const user = userOf(process);
  return {
    runAsNonRoot: true,
    ...(user ? { runAsUser: user.uid, runAsGroup: user.gid } : {}),
    readOnlyRootFilesystem: process.readOnlyRootFs,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Memory request = limit (no overcommit, predictable OOM); CPU is requested, not capped (no throttling). */
export function resourcesFor(r: Resources): k8s.types.input.core.v1.ResourceRequirements {
  return {
    requests: { cpu: `${r.cpuMillis}m`, memory: `${r.memoryMiB}Mi` },
    limits: { memory: `${r.memoryMiB}Mi` },
  };
}

function handler(p: Probe): Pick<K8sProbe, "httpGet" | "exec" | "tcpSocket"> {
  switch (p.kind) {
    case "http":
      // The model's `host` is the Host header the app expects (ALLOWED_HOSTS), not an address:
      // kubelet's httpGet.host would send the probe to that address instead of the pod.
      return { httpGet: { path: p.path, port: p.port, scheme: "HTTP", ...(p.host ? { httpHeaders: [{ name: "Host", value: p.host }] } : {}) } };
    case "exec":
      return { exec: { command: p.command } };
    case "tcp":
      return { tcpSocket: { port: p.port } };
  }
}

/**
 * Liveness and readiness as the model says; Docker's start period becomes a startup probe (the same
 * check as liveness), so a slow first start is never killed and liveness stays strict afterwards.
 */
export function probesFor(health: Health | undefined): Pick<Container, "livenessProbe" | "readinessProbe" | "startupProbe"> {
  if (!health) return {};
  const t = health.timing;
  const common = { periodSeconds: t.intervalSeconds, timeoutSeconds: t.timeoutSeconds, failureThreshold: t.failureThreshold };
  const { liveness, readiness } = health;
  // The startup probe only holds liveness off during the start period; without liveness nothing needs holding.
  return {
    ...(liveness
      ? {
          startupProbe: { ...handler(liveness), periodSeconds: t.intervalSeconds, timeoutSeconds: t.timeoutSeconds, failureThreshold: Math.ceil(t.startPeriodSeconds / t.intervalSeconds) + t.failureThreshold },
          livenessProbe: { ...handler(liveness), ...common },
        }
      : {}),
    ...(readiness ? { readinessProbe: { ...handler(readiness), ...common, successThreshold: 1 } } : {}),
  };
}

/** Where a model volume comes from on Kubernetes, when it is not an emptyDir. */
export interface VolumeSource {
  volume: Omit<Volume, "name">;
  /** Mount one key as a single file at this path (instead of the model's directory). */
  file?: { key: string; mountPath: string };
}

export interface VolumeOptions {
  /** Config volumes (ConfigMaps, Secrets, projected) by model volume name. */
  sources: Record<string, VolumeSource>;
  /** Data volumes provided by the StatefulSet's volumeClaimTemplates (same names). */
  claims?: Set<string>;
  /** Size of the memory-backed scratch dirs; it counts against the container's memory limit. */
  memoryScratchMiB: number;
}

export const DISK_SCRATCH_MIB = 1024;

/**
 * Volumes and mounts for a process. Scratch dirs are emptyDirs (in memory where the model says so);
 * static dirs are per-pod emptyDirs filled from the image. No media dir: block storage cannot be
 * shared between pods on different nodes and an emptyDir dies with its pod, so uploads go to a Spaces
 * bucket (config refuses apps[].media.storage "volume" on kubernetes; docs/media.md).
 */
export function volumesFor(process: Process, opts: VolumeOptions): { volumes: Volume[]; mounts: K8sMount[] } {
  const volumes: Volume[] = [];
  const mounts: K8sMount[] = [];
  const add = (v: VolumeMount, volume: Omit<Volume, "name"> | undefined, mount?: Partial<K8sMount>) => {
    if (volume && !volumes.some((x) => x.name === v.volume)) volumes.push({ name: v.volume, ...volume });
    mounts.push({ name: v.volume, mountPath: v.mountPath, readOnly: v.readOnly, ...mount });
  };
  for (const v of process.volumes) {
    switch (v.kind) {
      case "scratch":
        add(v, { emptyDir: v.memory ? { medium: "Memory", sizeLimit: `${opts.memoryScratchMiB}Mi` } : { sizeLimit: `${v.sizeMiB ?? DISK_SCRATCH_MIB}Mi` } });
        break;
      case "socket":
        // Shared only within the pod: the server's socket directory on a read-only root.
        add(v, { emptyDir: { medium: "Memory", sizeLimit: "1Mi" } });
        break;
      case "static":
        add(v, { emptyDir: { sizeLimit: `${DISK_SCRATCH_MIB}Mi` } });
        break;
      case "media":
        throw new Error(`djangostack: ${process.name} mounts media volume ${v.volume}, which Kubernetes cannot keep; its media belong in a bucket`);
      case "data":
        if (!opts.claims?.has(v.volume)) throw new Error(`djangostack: ${process.name} needs data volume ${v.volume} but no claim provides it`);
        add(v, undefined);
        break;
      case "config": {
        const source = opts.sources[v.volume];
        if (!source) throw new Error(`djangostack: no Kubernetes source for config volume ${v.volume} of ${process.name}`);
        add(v, source.volume, source.file ? { mountPath: source.file.mountPath, subPath: source.file.key, readOnly: true } : { readOnly: true });
        break;
      }
      case "certs":
      case "acme":
        // TLS terminates at the DigitalOcean Load Balancer: nginx has no certificate to read.
        break;
    }
  }
  return { volumes, mounts };
}

/** Plain env from ConfigMaps (envFrom), secret env one key at a time from the process's Secret. */
export function envFor(process: Process, configMaps: Input<string>[], secretName: Input<string> | undefined): Pick<Container, "env" | "envFrom"> {
  const keys = Object.keys(process.secretEnv).sort();
  if (keys.length > 0 && !secretName) throw new Error(`djangostack: ${process.name} has secret env but no Secret`);
  return {
    envFrom: configMaps.map((name) => ({ configMapRef: { name } })),
    env: keys.map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secretName as Input<string>, key } } })),
  };
}

export interface PodOptions {
  process: Process;
  image: Input<string>;
  labels: Record<string, string>;
  configMaps: Input<string>[];
  secretName?: Input<string>;
  volumes: VolumeOptions;
  pullSecret?: Input<string>;
  initContainers?: Container[];
  extraVolumes?: Volume[];
  restartPolicy?: "Always" | "Never" | "OnFailure";
  /** Seconds to wait in preStop (web, edge) so endpoints drop the pod before it stops accepting. */
  preStopSeconds?: number;
  /** Spread replicas across workload nodes. */
  spread?: boolean;
  /** Drop the model's probes (one-off Jobs). */
  probes?: boolean;
  /** Container ports to expose (defaults to the model's, and its metrics port). */
  ports?: { name: string; port: number }[];
  /** Containers beside the main one in the pod (an exporter that reads the process over loopback). */
  sidecars?: Container[];
}

/** The container port name of a metrics endpoint apart from the process's own ports. */
export const METRICS_PORT_NAME = "metrics";

/**
 * The named port a process's metrics are scraped on: one of its ports when the endpoint shares it
 * (a Django app's /metrics on its http port), else `metrics`.
 */
export function metricsPortName(process: Process): string | undefined {
  if (!process.metrics) return undefined;
  return process.ports.find((p) => p.port === process.metrics?.port)?.name ?? METRICS_PORT_NAME;
}

/** The model's ports, plus the metrics port when it is a port of its own. */
function containerPorts(process: Process): { name: string; port: number }[] {
  const name = metricsPortName(process);
  const own = process.metrics && name === METRICS_PORT_NAME ? [{ name, port: process.metrics.port }] : [];
  return [...process.ports, ...own];
}

/** The main container of a process, hardened. */
export function mainContainer(o: PodOptions, mounts: K8sMount[]): Container {
  const p = o.process;
  return {
    name: p.role === "edge" ? "nginx" : p.role,
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    ...(p.command.length > 0 ? { command: p.command } : {}),
    ...(p.args ? { args: p.args } : {}),
    ...envFor(p, o.configMaps, o.secretName),
    ports: (o.ports ?? containerPorts(p)).map((port) => ({ name: port.name, containerPort: port.port, protocol: "TCP" })),
    resources: resourcesFor(p.resources),
    securityContext: containerSecurityContext(p),
    volumeMounts: mounts,
    ...(o.probes === false ? {} : probesFor(p.health)),
    ...(o.preStopSeconds ? { lifecycle: { preStop: { sleep: { seconds: o.preStopSeconds } } } } : {}),
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

/** A pod template for a process: hardened pod, workload-pool placement, no service account token. */
export function podTemplate(o: PodOptions): PodTemplate {
  const p = o.process;
  const { volumes, mounts } = volumesFor(p, o.volumes);
  const grace = p.stopGraceSeconds + (o.preStopSeconds ?? 0);
  return {
    metadata: { labels: o.labels },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurityContext(p),
      nodeSelector: { [POOL_LABEL]: WORKLOAD_POOL },
      ...(o.pullSecret ? { imagePullSecrets: [{ name: o.pullSecret }] } : {}),
      restartPolicy: o.restartPolicy ?? "Always",
      terminationGracePeriodSeconds: grace,
      ...(o.spread
        ? {
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selectorOf(o.labels) } },
            ],
          }
        : {}),
      ...(o.initContainers && o.initContainers.length > 0 ? { initContainers: o.initContainers } : {}),
      containers: [mainContainer(o, mounts), ...(o.sidecars ?? [])],
      volumes: [...volumes, ...(o.extraVolumes ?? [])],
    },
  };
}

function selectorOf(labels: Record<string, string>): Record<string, string> {
  return { [LABELS.name]: labels[LABELS.name], [LABELS.instance]: labels[LABELS.instance] };
}
