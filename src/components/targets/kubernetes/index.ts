import * as pulumi from "@pulumi/pulumi";
import { connectionsWith, resolveSecret } from "../../env";
import { ImagesTier } from "../../images";
import { AppConnections, Deployer, TargetResult } from "../types";
import { AppTier, SecretResolver } from "./app";
import { KubernetesCluster } from "./cluster";
import { DataTier } from "./data";
import { EdgeTier } from "./edge";
import { KubernetesBackup } from "./backup";
import { KubernetesNamespace } from "./namespace";
import { KubernetesMonitoring } from "./monitoring";
import { Credentials } from "../../secrets";
import { Login, withLogins } from "../../../render/docker-config";

/**
 * Production on DigitalOcean Kubernetes: the workload model realized as hardened, autoscaled
 * cluster workloads behind a DigitalOcean Load Balancer, with managed PostgreSQL and Valkey by default.
 */
/** The private registries' logins as plain values inside an Output. */
function loginsOf(registries: Credentials["registries"]): pulumi.Output<Login>[] {
  return Object.entries(registries).map(([host, l]) => pulumi.all([l.username, l.password]).apply(([username, password]) => ({ host, username, password })));
}

export const deployKubernetes: Deployer = (target): TargetResult => {
  const { name, config, model, credentials } = target;
  const kc = config.kubernetes;
  if (!kc) throw new Error('djangostack: target "kubernetes" needs the djangostack:kubernetes settings');

  const cluster = new KubernetesCluster(`${name}-cluster`, { config, kubernetes: kc });
  const images = new ImagesTier(`${name}-images`, { config, registry: cluster.registry });
  const ns = new KubernetesNamespace(`${name}-namespace`, {
    project: config.project,
    stack: config.stack,
    namespace: kc.namespace,
    provider: cluster.provider,
    // DOCR's login and those of the private registries the apps' named images come from, in one Secret.
    pullSecretJson: pulumi.secret(pulumi.all([cluster.pullSecretJson, pulumi.all(loginsOf(credentials.registries))]).apply(([json, logins]) => withLogins(json, logins))),
  });
  const ctx = ns.context;

  const data = new DataTier(`${name}-data`, { config, kubernetes: kc, model, credentials, ctx, vpc: cluster.vpc, cluster: cluster.cluster });
  const resolve: SecretResolver = (source) =>
    source.kind === "databaseUrl" && data.databaseUrls[source.app] ? data.databaseUrls[source.app] : resolveSecret(source, config.apps, data.credentials, data.endpoints);

  // nginx sits behind a TLS-terminating load balancer and does not add HSTS itself on plain HTTP:
  // Django adds it to the HTTPS responses it sees through X-Forwarded-Proto.
  const tlsAtLoadBalancer = config.edge.tls.mode !== "none";
  const extraEnv = { ...data.appEnv, ...(tlsAtLoadBalancer ? { DJANGO_SECURE_HSTS_SECONDS: String(config.edge.hstsSeconds) } : {}) };
  const apps = new AppTier(`${name}-app`, { config, model, ctx, images: images.refs, digests: images.digests, resolve, dataReady: data.ready, extraEnv });
  const edge = new EdgeTier(`${name}-edge`, { config, kubernetes: kc, model, ctx, images: images.refs, vpcCidr: cluster.vpc.ipRange, upstreams: apps.servers });

  // The scheduled logical backup (the model has its processes only when backups are on).
  const backupCronJobs = model.processes.filter((p) => p.role === "backup").map((p) => p.name);
  if (backupCronJobs.length > 0) {
    if (!images.backup) throw new Error("djangostack: backups are on but the Images tier built no backup image");
    const managed = config.backups.managedPostgres ? { host: data.endpoints.postgres.host, port: data.endpoints.postgres.port, vpcCidr: cluster.vpc.ipRange } : undefined;
    new KubernetesBackup(`${name}-backup`, { config, model, ctx, image: images.backup.ref, resolve, dependsOn: data.ready, managed });
  }
  if (config.monitoring.enabled) new KubernetesMonitoring(`${name}-monitoring`, { config, model, ctx, resolve, dataReady: data.ready, backupCronJobs });

  const connections: Record<string, AppConnections> = connectionsWith(config.apps, resolve);
  const first = model.routing[0];
  const url = config.domain ? pulumi.output(`${tlsAtLoadBalancer ? "https" : "http"}://${config.domain}`) : pulumi.interpolate`http://${edge.loadBalancerIp}`;
  return {
    url,
    healthUrl: pulumi.interpolate`${url}${first ? first.healthPath : "/"}`,
    images: images.refs,
    connections,
    // DOKS masquerades pod traffic to the node's address; DigitalOcean's VPC NAT gateway, which would give
    // one address, is in private preview (provider docs of digitalocean.VpcNatGateway).
    egress: { address: null, stable: false, note: "outbound traffic leaves from the public IP of the node each pod runs on; nodes are replaced on upgrades, recycling and autoscaling, so no single address can be allow-listed (the node pool's IPs change with it)" },
    extra: {
      clusterName: cluster.cluster.name,
      clusterId: cluster.cluster.id,
      namespace: ctx.namespace,
      kubeconfig: cluster.kubeconfig,
      loadBalancerIp: edge.loadBalancerIp,
      databaseHosts: pulumi.all(data.databaseHosts),
    },
  };
};
