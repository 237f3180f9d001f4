import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { recordArtifact } from "../../../artifacts";
import { StackConfig } from "../../../config/types";
import * as names from "../../../model/names";
import { Health, Process, Probe, SecretEnvSource, WorkloadModel } from "../../../model/types";
import { Credentials } from "../../secrets";
import { DataEndpoints, secretEnvFor, serviceEndpoints } from "../../env";
import { DIGEST_LABEL, ImagesTier } from "../../images";
import { pinnedImage, pinsPublicImages } from "../../pinning";
import { renderCutoverScript } from "../../../render/cutover";
import { renderOneOffScript } from "../../../render/oneoff";
import { renderLivenessWatchdog } from "../../../render/watchdog";
import { HOST_STATUS } from "../../../render/host-status";
import { PATHS } from "../../../model/build";
import { DockerCli, dockerScript, logsCommandFor } from "./cli";
import { configFilesFor } from "./configfiles";
import { cpuLimit, dockerDuration, REPLACE_ON_CHANGES } from "./engine-form";

export interface EdgeHookContext {
  parent: pulumi.Resource;
  provider?: docker.Provider;
  /** The edge network (nginx, web, the frontend): what TLS containers join. */
  network: docker.Network;
  /** Docker volumes by model volume name (e.g. "certs", "acme"). */
  volumes: Record<string, docker.Volume>;
  /** Runs a created, never-started one-off container to completion; what follows it depends on the result. */
  runOnce: (name: string, process: string, container: docker.Container, parent: pulumi.Resource) => pulumi.Resource;
}

export interface DockerRealizerArgs {
  config: StackConfig;
  model: WorkloadModel;
  credentials: Credentials;
  images: ImagesTier;
  /** Absent: the local engine's default socket. */
  provider?: docker.Provider;
  /** Where the deploy's `docker` scripts (one-offs) run against the same engine. */
  cli: DockerCli;
  /** Every Docker resource waits for these (e.g. the Droplet's cloud-init). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Host address nginx publishes on; 127.0.0.1 keeps a local stack off the LAN. */
  publishIp?: string;
  /** The address clients reach the stack at, put where the model wrote names.PUBLIC_ADDRESS (the Droplet's reserved IP). */
  publicAddress?: pulumi.Input<string>;
  /** Runs after the network and volumes exist; nginx waits for what it returns (e.g. TLS bootstrap). */
  beforeEdge?: (ctx: EdgeHookContext) => pulumi.Resource[];
  /** Managed data services (a Droplet's): their connection strings, extra app env, and what apps wait for. */
  managed?: ManagedDataHooks;
}

export interface ManagedDataHooks {
  resolve: (source: SecretEnvSource) => pulumi.Output<string>;
  appEnv: Record<string, string>;
  ready: pulumi.Resource[];
}

/** Docker healthcheck `test` for a model probe. App images have python, the nginx image has wget. */
export function healthcheckTest(probe: Probe, role: Process["role"]): string[] {
  switch (probe.kind) {
    case "exec":
      return ["CMD", ...probe.command];
    case "tcp":
      // nginx's alpine image has busybox nc; a Python app image has python, not necessarily nc.
      if (role === "edge" || role === "frontend") return ["CMD-SHELL", `nc -z 127.0.0.1 ${probe.port}`];
      return ["CMD", "python", "-c", `import socket; socket.create_connection(('127.0.0.1', ${probe.port}), 5).close()`];
    case "http": {
      const url = `http://127.0.0.1:${probe.port}${probe.path}`;
      if (role === "edge" || role === "frontend") return ["CMD", "wget", "-q", "-O", "/dev/null", "--header", `Host: ${probe.host ?? "localhost"}`, url];
      const script = `import sys,urllib.request as u; r=u.urlopen(u.Request('${url}', headers={'Host': '${probe.host ?? "localhost"}'}), timeout=5); sys.exit(0 if r.status < 400 else 1)`;
      return ["CMD", "python", "-c", script];
    }
  }
}

/** Roles whose hung process the healthcheck restarts; data services recover on their own and must not be killed mid-recovery. */
const WATCHED_ROLES: readonly Process["role"][] = ["web", "worker", "beat", "scheduler", "backup", "frontend", "edge"];
const watched = (p: Process): boolean => WATCHED_ROLES.includes(p.role);

function healthcheck(process: Process, health: Health): docker.types.input.ContainerHealthcheck {
  // Docker has one check and its restart policy ignores the result: the status is readiness (what the
  // deploy waits for), and the watchdog stops a process whose liveness keeps failing so it restarts.
  const t = health.timing;
  const liveness = health.liveness && healthcheckTest(health.liveness, process.role);
  const readiness = health.readiness && healthcheckTest(health.readiness, process.role);
  // Without a readiness probe the status is liveness; without liveness nothing is restarted.
  const status = readiness ?? liveness;
  if (!status) throw new Error(`djangostack: process ${process.name} has health without probes`);
  return {
    tests: watched(process) && liveness ? renderLivenessWatchdog(liveness, status, t) : status,
    interval: dockerDuration(t.intervalSeconds),
    timeout: dockerDuration(t.timeoutSeconds),
    retries: t.failureThreshold,
    startPeriod: dockerDuration(t.startPeriodSeconds),
    startInterval: dockerDuration(2),
  };
}

/** With `edge.tls.mode: files`, the operator's certificate and key are bind-mounted at the same paths. */
function operatorTlsFiles(config: StackConfig): docker.types.input.ContainerVolume[] {
  const { mode, certificatePath, keyPath } = config.edge.tls;
  if (mode !== "files" || !certificatePath || !keyPath) return [];
  return [certificatePath, keyPath].map((file) => ({ hostPath: file, containerPath: file, readOnly: true }));
}

/** On the Droplet, the host's container-status directory (src/render/host-status.ts), read-only. */
function hostStatusMount(config: StackConfig): docker.types.input.ContainerVolume[] {
  return config.target === "droplet" ? [{ hostPath: HOST_STATUS.hostDir, containerPath: HOST_STATUS.containerDir, readOnly: true }] : [];
}

/** Long-lived containers are replaced create-before-delete, health-gated by `wait`. */
const WAIT_TIMEOUT_SECONDS = 300;

/** The tier a process belongs to, and the component type that groups its containers. */
const TIERS = {
  data: { type: "djangostack:data:Docker", roles: ["postgres", "redis", "rabbitmq", "dbinit", "backup"] },
  app: { type: "djangostack:app:Docker", roles: ["chown", "migrate", "web", "worker", "beat", "scheduler", "frontend"] },
  edge: { type: "djangostack:edge:Docker", roles: ["edge"] },
  monitoring: { type: "djangostack:monitoring:Docker", roles: ["exporter"] },
} as const;
type TierName = keyof typeof TIERS;

function tierOf(role: Process["role"]): TierName {
  return (Object.keys(TIERS) as TierName[]).find((t) => (TIERS[t].roles as readonly string[]).includes(role)) ?? "app";
}

/** Groups one tier's containers under the realizer (data services, app processes, the edge). */
class DockerTier extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.registerOutputs({});
  }
}

/**
 * The Docker realizer: a data network and an edge network, named volumes, and a container per process of the
 * model — data services, the one-off init and migrations, web, workers, beat, frontend and nginx.
 */
export class DockerRealizer extends pulumi.ComponentResource {
  /** Data services and the processes that use them; nginx is not on it, so it cannot reach Postgres. */
  readonly network: docker.Network;
  /** nginx and what it routes to (web, the frontend), plus the TLS containers. */
  readonly edgeNetwork: docker.Network;
  readonly volumes: Record<string, docker.Volume> = {};
  /** nginx's upstream files (derived: the next cutover rewrites them), mounted read-only in nginx. */
  readonly upstreams: docker.Volume;
  readonly containers: Record<string, docker.Container> = {};

  private readonly args: DockerRealizerArgs;
  private readonly endpoints: DataEndpoints = serviceEndpoints();
  private readonly childOpts: pulumi.CustomResourceOptions;
  private readonly tiers: Record<TierName, DockerTier>;

  constructor(name: string, args: DockerRealizerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:docker:Realizer", name, {}, opts);
    this.args = args;
    this.childOpts = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
    this.tiers = {
      data: new DockerTier(TIERS.data.type, `${name}-data`, { parent: this }),
      app: new DockerTier(TIERS.app.type, `${name}-app`, { parent: this }),
      edge: new DockerTier(TIERS.edge.type, `${name}-edge`, { parent: this }),
      monitoring: new DockerTier(TIERS.monitoring.type, `${name}-monitoring`, { parent: this }),
    };
    const { config, model } = args;
    const prefix = `djangostack-${config.stack}`;

    const networkLabels = [{ label: "djangostack.stack", value: config.stack }];
    this.network = new docker.Network(`${name}-network`, { name: `${prefix}-net`, driver: "bridge", labels: networkLabels }, this.childOpts);
    this.edgeNetwork = new docker.Network(`${name}-edge-network`, { name: `${prefix}-edge`, driver: "bridge", labels: networkLabels }, this.childOpts);
    for (const v of model.volumes) {
      // Data and uploads outlive the stack and the app: `pulumi destroy`, or removing an app from
      // config, leaves the volume behind on purpose (`docker volume rm` drops it deliberately).
      this.volumes[v.name] = new docker.Volume(
        `${name}-volume-${v.name}`,
        { name: `${prefix}-${v.name}`, labels: [{ label: "djangostack.kind", value: v.kind }] },
        { ...this.childOpts, retainOnDelete: v.kind === "data" || v.kind === "media" },
      );
    }

    this.upstreams = new docker.Volume(`${name}-volume-nginx-upstreams`, { name: `${prefix}-nginx-upstreams`, labels: [{ label: "djangostack.kind", value: "derived" }] }, this.childOpts);

    const byName = new Map(model.processes.map((p) => [p.name, p]));
    const created = new Map<string, pulumi.Resource[]>();
    const roleOrder: Process["role"][] = ["postgres", "redis", "rabbitmq", "dbinit", "chown", "migrate", "web", "worker", "beat", "scheduler", "backup", "frontend"];
    for (const role of roleOrder) {
      for (const p of model.processes.filter((x) => x.role === role)) {
        const containers = this.realize(name, p, this.dependenciesOf(p, model, created, byName));
        // What a one-off must precede waits for its run, not for its container's creation.
        created.set(p.name, p.runOnceBefore ? [this.runOnce(`${name}-${p.name}`, p.name, containers[0], this.tiers[tierOf(p.role)])] : containers);
      }
    }
    const edge = model.processes.find((p) => p.role === "edge");
    if (edge) {
      const runOnce = this.runOnce.bind(this);
      const hooked = args.beforeEdge?.({ parent: this.tiers.edge, provider: args.provider, network: this.edgeNetwork, volumes: this.volumes, runOnce }) ?? [];
      const cutovers = this.cutovers(name, edge, created);
      created.set(edge.name, this.realize(name, edge, [...cutovers, ...hooked]));
    }
    // The exporters, once what they read is up; they publish nothing (a Prometheus on the stack's networks scrapes them).
    for (const p of model.processes.filter((x) => x.role === "exporter")) {
      const reads = p.sidecarOf ? (created.get(p.sidecarOf) ?? []) : [];
      this.realize(name, p, [...this.dependenciesOf(p, model, created, byName), ...reads]);
    }
    this.registerOutputs({ network: this.network.name, edgeNetwork: this.edgeNetwork.name });
  }

  /** The data services a process needs, and anything it must run after. */
  private dependenciesOf(p: Process, model: WorkloadModel, created: Map<string, pulumi.Resource[]>, byName: Map<string, Process>): pulumi.Resource[] {
    const deps: pulumi.Resource[] = [];
    for (const role of p.dependsOn) for (const dp of model.processes.filter((x) => x.role === role)) deps.push(...(created.get(dp.name) ?? []));
    // Managed clusters stand in for the data containers: an app's processes wait for their databases, pools and grants.
    if (p.app) deps.push(...(this.args.managed?.ready ?? []));
    for (const [oneOff, containers] of created) if (byName.get(oneOff)?.runOnceBefore?.includes(p.name)) deps.push(...containers);
    // Kamal's order: a release's web must be healthy before its workers, beat and scheduler roll.
    if ((p.role === "worker" || p.role === "beat" || p.role === "scheduler") && p.app) deps.push(...(created.get(names.web(p.app)) ?? []));
    return deps;
  }

  /**
   * Runs a one-off container (created with `start: false`) with the docker CLI. kreuzwerker records an
   * attached container's non-zero exit as `exit_code` without failing the create, so it would never run
   * again; a failed Command leaves no state and the next `up` retries it. Nothing reads its logs.
   */
  private runOnce(name: string, process: string, container: docker.Container, parent: pulumi.Resource): pulumi.Resource {
    const script = pulumi
      .all([container.name, logsCommandFor(this.args.cli, container.name)])
      .apply(([containerName, logsCommand]) => renderOneOffScript({ process, container: containerName, logsCommand }));
    return dockerScript(`${name}-run`, this.args.cli, { script, triggers: [container.id] }, { parent, dependsOn: [container] });
  }

  /**
   * One cutover per upstream (each app's web, the frontend): once its new containers are healthy, the
   * upstream file names them and nginx reloads. Docker's DNS publishes an alias when a container
   * starts, so nginx never routes by alias. A failed cutover leaves the old file, and the old release serving.
   */
  private cutovers(name: string, edge: Process, created: Map<string, pulumi.Resource[]>): pulumi.Resource[] {
    const { config, model, cli } = this.args;
    const edgeImage = this.imageFor(name, edge).image;
    const nginxContainer = `djangostack-${config.stack}-${edge.name}`;
    const upstreams = [...model.routing.map((r) => ({ upstream: r.upstream, port: r.port })), ...(model.frontend ? [model.frontend] : [])];
    const probed = (upstream: string): boolean => model.processes.find((p) => p.name === upstream)?.health !== undefined;
    return upstreams.map(({ upstream, port }) => {
      const gate = probed(upstream) ? "healthy" : "running";
      const containers = (created.get(upstream) ?? []) as docker.Container[];
      if (containers.length === 0) throw new Error(`djangostack: upstream ${upstream} has no containers`);
      const script = pulumi
        .all([pulumi.all(containers.map((c) => c.name)), this.upstreams.name, edgeImage])
        .apply(([names, volume, image]) => renderCutoverScript({ upstream, containers: names, port, volume, nginxContainer, image, upstreamOptions: { resolve: true }, gate }));
      return dockerScript(`${name}-${upstream}-cutover`, cli, { script, triggers: containers.map((c) => c.id), timeout: "5m" }, { parent: this.tiers.edge, dependsOn: [...containers, this.upstreams] });
    });
  }

  /** nginx reaches web and the frontend on the edge network only; everything else stays on the data network. */
  private networksOf(p: Process): docker.types.input.ContainerNetworksAdvanced[] {
    const data = { name: this.network.name, aliases: [p.name] };
    const edge = { name: this.edgeNetwork.name, aliases: [p.name] };
    // nginx's exporter reads its stub_status listener on the edge network.
    if (p.role === "edge" || p.role === "frontend" || p.sidecarOf === names.EDGE) return [edge];
    if (p.role === "web") return [data, edge];
    return [data];
  }

  private readonly pulled = new Map<string, pulumi.Output<string>>();

  /** Pulls an image once per reference (RemoteImage) and returns the exact image ID containers run. */
  private pull(name: string, key: string, ref: pulumi.Input<string>): pulumi.Output<string> {
    const known = this.pulled.get(key);
    if (known) return known;
    const imageId = new docker.RemoteImage(`${name}-image-${key}`, { name: ref, keepLocally: true }, this.childOpts).imageId;
    this.pulled.set(key, imageId);
    return imageId;
  }

  private imageFor(name: string, p: Process): { image: pulumi.Input<string>; digest?: pulumi.Input<string> } {
    const { images } = this.args;
    if (p.image.kind === "public") {
      const ref = pinsPublicImages(this.args.config) ? pinnedImage(p.image.ref, this) : p.image.ref;
      return { image: this.pull(name, p.image.ref.replace(/[^a-z0-9.-]/gi, "-"), ref) };
    }
    if (p.image.kind === "backup") {
      const built = images.backup;
      if (!built) throw new Error(`djangostack: ${p.name} runs the backup image, which the Images tier did not build`);
      return { image: built.loaded ? built.ref : this.pull(name, p.image.kind, built.ref), digest: built.digest };
    }
    const key = p.image.kind === "app" ? p.image.app : "frontend";
    const ref = images.refs[key];
    // Loaded images are already in the engine that built them; pushed and prebuilt ones are pulled (by digest when pinned).
    return { image: images.loaded[key] ? ref : this.pull(name, key, ref), digest: images.digests[key] };
  }

  private realize(name: string, p: Process, dependsOn: pulumi.Resource[]): docker.Container[] {
    const { config, model, credentials } = this.args;
    const { image, digest } = this.imageFor(name, p);
    const managed = this.args.managed;
    const secretEnv = managed ? Object.fromEntries(Object.entries(p.secretEnv).map(([k, source]) => [k, managed.resolve(source)])) : secretEnvFor(p, config.apps, credentials, this.endpoints);
    const plainEnv = p.app && managed ? { ...p.env, ...managed.appEnv } : p.env;
    // Plain values stay readable in a preview; each credential-bearing entry is its own secret.
    const envs: pulumi.Input<string>[] = [
      ...Object.entries(plainEnv).map(([k, v]) => (v.includes(names.PUBLIC_ADDRESS) && this.args.publicAddress !== undefined ? pulumi.output(this.args.publicAddress).apply((a) => `${k}=${v.split(names.PUBLIC_ADDRESS).join(a)}`) : `${k}=${v}`)),
      ...Object.entries(secretEnv).map(([k, v]) => pulumi.secret(pulumi.interpolate`${k}=${v}`)),
    ];
    const files = configFilesFor(p, config, model, credentials);
    for (const f of files) recordArtifact(f.artifact, f.artifactContent);
    const oneOff = p.runOnceBefore !== undefined;
    // Exporters: no client in their images to run a check with (src/model/monitoring.ts).
    const health = p.role === "exporter" ? undefined : p.health;
    const tmpfs = Object.fromEntries(p.volumes.filter((v) => v.kind === "scratch").map((v) => [v.mountPath, "rw,nosuid,nodev,size=256m"]));
    const logOpts = { "max-size": `${config.docker.logMaxSizeMiB}m`, "max-file": String(config.docker.logMaxFiles) };
    const tlsLetsEncrypt = p.role === "edge" && config.edge.tls.mode === "letsencrypt";
    const labels: docker.types.input.ContainerLabel[] = [
      { label: "djangostack.stack", value: config.stack },
      { label: "djangostack.process", value: p.name },
      { label: "djangostack.role", value: p.role },
      ...(digest ? [{ label: DIGEST_LABEL, value: digest }] : []),
    ];
    // Singletons, one-offs and nginx (it owns the host ports) are replaced delete-first under a stable name;
    // web and workers are auto-named so the new container starts healthy beside the old one.
    const fixedName = p.singleton || oneOff || p.role === "edge";
    const count = fixedName ? 1 : Math.max(1, p.replicas);
    const containers: docker.Container[] = [];
    for (let i = 0; i < count; i++) {
      const suffix = count > 1 ? `${p.name}-${i + 1}` : p.name;
      const ports =
        p.role === "edge"
          ? p.ports.map((port) => ({
              internal: port.port,
              external: port.name === "https" ? config.edge.httpsPort : config.edge.httpPort,
              ip: this.args.publishIp ?? "127.0.0.1",
            }))
          : [];
      containers.push(
        new docker.Container(
          `${name}-${suffix}`,
          {
            name: fixedName ? `djangostack-${config.stack}-${p.name}` : undefined,
            image,
            command: tlsLetsEncrypt ? ["sh", "-c", 'while :; do sleep 6h & wait $!; nginx -s reload; done & exec nginx -g "daemon off;"'] : (p.args ?? (p.command.length > 0 ? p.command : undefined)),
            envs,
            labels,
            networksAdvanced: this.networksOf(p),
            ports,
            volumes: [
              ...p.volumes
                .filter((v) => v.kind !== "scratch" && v.kind !== "config")
                .map((v) => ({ volumeName: this.volumes[v.volume].name, containerPath: v.mountPath, readOnly: v.readOnly })),
              ...(p.role === "edge" ? [...operatorTlsFiles(config), ...hostStatusMount(config), { volumeName: this.upstreams.name, containerPath: PATHS.nginxUpstreams, readOnly: true }] : []),
            ],
            tmpfs,
            uploads: files.map((f) => ({ file: f.path, content: f.content })),
            user: p.user,
            hostname: p.hostname,
            sysctls: p.sysctls,
            // Docker refuses to copy files into a read-only root filesystem (uploads happen before start),
            // so a process that receives rendered config keeps a writable root here; Kubernetes mounts
            // the same files from ConfigMaps and keeps every root read-only.
            readOnly: p.readOnlyRootFs && files.length === 0,
            securityOpts: ["no-new-privileges:true"],
            // Every process runs as a non-root user (the frontend image must too, as on Kubernetes): no capability is
            // needed, but for the volume-ownership one-off, root with CHOWN and DAC_READ_SEARCH only.
            capabilities: { drops: ["ALL"], ...(p.capabilities ? { adds: [...p.capabilities] } : {}) },
            memory: p.resources.memoryMiB,
            ...cpuLimit(p.resources.cpuMillis),
            healthcheck: health && !oneOff ? healthcheck(p, health) : undefined,
            restart: oneOff ? "no" : "unless-stopped",
            // docker-init (tini) as PID 1: the watchdog's signals reach the app, and its exit ends the container.
            init: p.health && !oneOff && watched(p) ? true : undefined,
            logDriver: "json-file",
            logOpts,
            stopTimeout: p.stopGraceSeconds,
            destroyGraceSeconds: p.stopGraceSeconds,
            // One-offs are only created here and run by `runOnce`; long-lived ones must report healthy first.
            start: oneOff ? false : undefined,
            mustRun: oneOff ? false : true,
            wait: !oneOff && health ? true : undefined,
            waitTimeout: !oneOff && health ? WAIT_TIMEOUT_SECONDS : undefined,
          },
          { ...this.childOpts, parent: this.tiers[tierOf(p.role)], dependsOn: [...(this.args.dependsOn ?? []), ...dependsOn], deleteBeforeReplace: fixedName, replaceOnChanges: REPLACE_ON_CHANGES },
        ),
      );
    }
    this.containers[p.name] = containers[0];
    return containers;
  }
}
