import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as k8s from "@pulumi/kubernetes";
import { KubernetesConfig, StackConfig } from "../../../config/types";
import { EDGE_PORTS, PATHS } from "../../../model/build";
import * as names from "../../../model/names";
import { staticOnSpaces } from "../../../model/media";
import { Process, WorkloadModel } from "../../../model/types";
import { NginxInput, nginxInputFor, renderNginx } from "../../../render/nginx";
import { KubeContext, configMap, deployment, labelsOf, networkPolicy, opts, pdb, roleSelector } from "./objects";
import { pinnedPublicImage } from "../../pinning";
import { LB_SIZE_UNITS } from "../../../model/managed";
import { staticCopyCommand } from "../../../model/static";
import { Container, PRE_STOP_SECONDS, VolumeOptions, VolumeSource, mainContainer, selectorLabels, volumesFor } from "./workload";

export const LB_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-";
/**
 * Idle timeout of LB -> nginx connections, which backend keepalive reuses; nginx's own proxy_read_timeout
 * is 120 s. nginx is rendered to keep idle connections open longer than this (renderNginx, trustedProxy).
 */
export const LB_IDLE_TIMEOUT_SECONDS = 120;

/**
 * The staging nginx.conf, behind a TLS-terminating, HTTP-speaking load balancer: the peer is the LB,
 * so the client address comes from X-Forwarded-For (trusted only from the VPC range the LB connects
 * from) and the original scheme from X-Forwarded-Proto. Without this, every client would share one
 * rate-limit bucket and Django would see every request as plain HTTP. nginx itself never does TLS here.
 */
export function loadBalancedNginx(model: WorkloadModel, config: StackConfig, trustedCidr: string): string {
  return renderNginx(loadBalancedInput(model, config, trustedCidr));
}

/** What `loadBalancedNginx` renders, as input (tests move its addresses, ports and paths). */
export function loadBalancedInput(model: WorkloadModel, config: StackConfig, trustedCidr: string): NginxInput {
  const plainEdge = { ...config.edge, tls: { ...config.edge.tls, mode: "none" as const } };
  return { ...nginxInputFor(model, plainEdge, config.domain), trustedProxy: { cidrs: [trustedCidr], idleTimeoutSeconds: LB_IDLE_TIMEOUT_SECONDS, tls: config.edge.tls.mode !== "none" } };
}

/** DNS zone and record name for a host: inside the stack's domain, else its parent zone. */
export function dnsRecordFor(host: string, domain: string): { zone: string; name: string } {
  if (host === domain) return { zone: domain, name: "@" };
  if (host.endsWith(`.${domain}`)) return { zone: domain, name: host.slice(0, -(domain.length + 1)) };
  const dot = host.indexOf(".");
  return { zone: host.slice(dot + 1), name: host.slice(0, dot) };
}

export interface EdgeArgs {
  config: StackConfig;
  kubernetes: KubernetesConfig;
  model: WorkloadModel;
  ctx: KubeContext;
  images: Record<string, pulumi.Output<string>>;
  /** VPC range the load balancer reaches the nodes from. */
  vpcCidr: pulumi.Input<string>;
  /** The Deployments nginx proxies to: it rolls after them. */
  upstreams: pulumi.Resource[];
}

/**
 * The edge tier (`djangostack:kubernetes:Edge`): a DigitalOcean Load Balancer (Service type
 * LoadBalancer) with a DigitalOcean-managed Let's Encrypt certificate and HTTP -> HTTPS redirect, in
 * front of an nginx Deployment running the same rendered nginx.conf as staging; DNS records.
 */
export class EdgeTier extends pulumi.ComponentResource {
  readonly loadBalancerIp: pulumi.Output<string>;
  readonly service: k8s.core.v1.Service;
  readonly certificate?: digitalocean.Certificate;

  constructor(name: string, args: EdgeArgs, opts_?: pulumi.ComponentResourceOptions) {
    super("djangostack:kubernetes:Edge", name, {}, opts_);
    const { config, model, ctx } = args;
    const edge = model.processes.find((p) => p.role === "edge");
    if (!edge) throw new Error("djangostack: the workload model has no edge process");
    const tls = config.edge.tls.mode !== "none";
    const hosts = model.serverNames;
    const labels = labelsOf(ctx, edge);

    // TLS is the load balancer's: nginx is rendered without it and listens on plain HTTP only.
    const conf = pulumi.output(args.vpcCidr).apply((cidr) => loadBalancedNginx(model, config, cidr));
    const confMap = configMap(ctx, names.kube.configMaps.nginxConfig, { "nginx.conf": conf }, this, labels);
    const sources: Record<string, VolumeSource> = {
      "nginx-config": { volume: { configMap: { name: confMap.metadata.name } }, file: { key: "nginx.conf", mountPath: PATHS.nginxConf } },
    };
    const volumes = { sources, memoryScratchMiB: 64 };

    // Apps whose static files are in their bucket (apps[].static.storage "spaces") need no copy here.
    const staticInit = config.apps.filter((app) => !staticOnSpaces(app)).map((app): Container => {
      const image = args.images[app.name];
      if (!image) throw new Error(`djangostack: no image for app ${app.name}`);
      const target = `${PATHS.nginxStatic}/${app.name}`;
      const copy: Process = {
        ...edge,
        image: { kind: "app", app: app.name },
        // The app image's own collected (hashed) static files: same digest as the web pods it fronts.
        command: staticCopyCommand(app.source.kind === "build", app.static.root, target),
        env: {},
        secretEnv: {},
        health: undefined,
        readOnlyRootFs: true,
        resources: { cpuMillis: 100, memoryMiB: 128 },
        volumes: edge.volumes.filter((v) => v.volume === names.volume.static(app.name)).map((v) => ({ ...v, readOnly: false })),
      };
      const { mounts } = volumesFor(copy, volumes);
      return { ...mainContainer({ process: copy, image, labels: {}, configMaps: [], volumes, probes: false, ports: [] }, mounts), name: `static-${app.name}` };
    });

    const nginx = deployment(ctx, edge, this, {
      pod: {
        process: edge,
        image: pinnedPublicImage(edge, this),
        configMaps: [],
        pullSecret: ctx.pullSecret,
        volumes,
        initContainers: staticInit,
        preStopSeconds: PRE_STOP_SECONDS,
        spread: true,
        ports: [{ name: "http", port: EDGE_PORTS.http }],
        sidecars: this.sidecars(model, edge, volumes),
      },
      replicas: edge.replicas,
      strategy: "rolling",
      dependsOn: args.upstreams,
    });
    pdb(ctx, edge, this);

    const annotations: Record<string, pulumi.Input<string>> = {
      [`${LB_ANNOTATION}name`]: `${config.project}-${config.stack}`,
      [`${LB_ANNOTATION}protocol`]: "http",
      [`${LB_ANNOTATION}size-unit`]: String(LB_SIZE_UNITS[args.kubernetes.loadBalancerSize]),
      [`${LB_ANNOTATION}enable-backend-keepalive`]: "true",
      [`${LB_ANNOTATION}http-idle-timeout-seconds`]: String(LB_IDLE_TIMEOUT_SECONDS),
    };
    const ports = [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }];
    if (tls) {
      if (hosts.length === 0) throw new Error("djangostack: TLS at the load balancer needs djangostack:domain");
      // The name stays fixed while DigitalOcean renews the certificate (the ID changes at every
      // renewal, so the certificate-id annotation would go stale). New domains: new name, created first
      // (the bridge would delete first, and DigitalOcean refuses to delete a certificate the load
      // balancer still uses); the old one goes once the load balancer names the new one.
      const certName = `${config.project}-${config.stack}-${createHash("sha256").update(hosts.join(",")).digest("hex").slice(0, 8)}`;
      this.certificate = new digitalocean.Certificate(`${name}-certificate`, { name: certName, type: "lets_encrypt", domains: hosts }, { parent: this, deleteBeforeReplace: false });
      Object.assign(annotations, {
        [`${LB_ANNOTATION}certificate-name`]: this.certificate.name,
        [`${LB_ANNOTATION}tls-ports`]: "443",
        [`${LB_ANNOTATION}redirect-http-to-https`]: "true",
        // djangostack writes the A records itself (below) when it manages DNS.
        [`${LB_ANNOTATION}disable-lets-encrypt-dns-records`]: String(args.kubernetes.dnsManaged),
      });
      ports.push({ name: "https", port: 443, targetPort: "http", protocol: "TCP" });
    }
    this.service = new k8s.core.v1.Service(
      `${ctx.name}-${edge.name}-lb`,
      {
        metadata: { name: `${edge.name}-public`, namespace: ctx.namespace, labels, annotations },
        spec: {
          type: "LoadBalancer",
          // Local: the LB's own address reaches nginx (no SNAT), so only the VPC range is trusted for
          // X-Forwarded-For, and nodes without an nginx pod drop out of the LB before they are drained.
          externalTrafficPolicy: "Local",
          selector: selectorLabels(edge, ctx.stack),
          ports,
        },
      },
      opts(ctx, this, { dependsOn: [nginx] }),
    );
    this.loadBalancerIp = this.service.status.loadBalancer.ingress.apply((ingress) => ingress?.[0]?.ip ?? "");

    if (config.domain && args.kubernetes.dnsManaged) {
      for (const host of hosts) {
        const { zone, name: record } = dnsRecordFor(host, config.domain);
        new digitalocean.DnsRecord(`${name}-dns-${host}`, { domain: zone, name: record, type: "A", value: this.loadBalancerIp, ttl: 300 }, { parent: this });
      }
    }

    networkPolicy(
      ctx,
      "edge",
      { matchLabels: selectorLabels(edge, ctx.stack) },
      {
        // Only the load balancer's path: it connects from the VPC range (externalTrafficPolicy Local keeps
        // its address), the range nginx trusts for X-Forwarded-*. Pods have cluster addresses outside it,
        // so no pod can reach nginx and pose as the LB. Kubelet probes pass: "traffic to and from the node
        // where a Pod is running is always allowed" (Kubernetes, Network Policies).
        ingress: [{ from: [{ ipBlock: { cidr: args.vpcCidr } }], ports: [{ protocol: "TCP", port: EDGE_PORTS.http }] }],
        egress: [
          {
            to: [{ podSelector: roleSelector(["web", "frontend"]) }],
            ports: [...new Set([...model.routing.map((r) => r.port), ...(model.frontend ? [model.frontend.port] : [])])].map((port) => ({ protocol: "TCP", port })),
          },
        ],
      },
      this,
    );
    this.registerOutputs({ loadBalancerIp: this.loadBalancerIp });
  }

  /** nginx's exporter in each nginx pod: it reads stub_status on the pod's loopback, so each replica is counted. */
  private sidecars(model: WorkloadModel, edge: Process, volumes: VolumeOptions): Container[] {
    return model.processes
      .filter((p) => p.sidecarOf === edge.name)
      .map((p) => ({ ...mainContainer({ process: p, image: pinnedPublicImage(p, this), labels: {}, configMaps: [], volumes }, []), name: p.name }));
  }
}
