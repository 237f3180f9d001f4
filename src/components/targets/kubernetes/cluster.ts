import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as k8s from "@pulumi/kubernetes";
import { KubernetesConfig, StackConfig } from "../../../config/types";
import { ImageRegistry } from "../../images";
import { registryCredentials } from "../../registry-credentials";
import { execKubeconfig } from "./kubeconfig";

/** Node label every workload pod selects: nothing of ours lands on the small system pool. */
export const POOL_LABEL = "djangostack.io/pool";
export const WORKLOAD_POOL = "workload";
export const SYSTEM_POOL = "system";
export const DOCR_SERVER = "registry.digitalocean.com";

/** metrics-server feeds the HPAs; DOKS does not install it. Chart pinned, from the upstream repository. */
export const METRICS_SERVER_CHART = { chart: "metrics-server", version: "3.12.2", repo: "https://kubernetes-sigs.github.io/metrics-server/" } as const;

export interface ClusterArgs {
  config: StackConfig;
  kubernetes: KubernetesConfig;
}

/** Pulls `user:password` out of a Docker config JSON (what DOCR hands out for push and pull). */
export function dockerAuth(dockerConfigJson: string, server: string): { username: string; password: string } {
  const parsed = JSON.parse(dockerConfigJson) as { auths?: Record<string, { auth?: string }> };
  const auth = parsed.auths?.[server]?.auth;
  if (!auth) throw new Error(`djangostack: the registry credentials hold no auth for ${server}`);
  const decoded = Buffer.from(auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new Error(`djangostack: malformed registry auth for ${server}`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The cluster tier (`djangostack:kubernetes:Cluster`): VPC, DOKS control plane with a small system
 * pool (protected: resizing the default pool would replace the cluster), a separate autoscaling
 * workload pool, the DOCR registry and its credentials, the Kubernetes provider, and metrics-server.
 */
export class KubernetesCluster extends pulumi.ComponentResource {
  readonly vpc: digitalocean.Vpc;
  readonly cluster: digitalocean.KubernetesCluster;
  readonly workloadPool: digitalocean.KubernetesNodePool;
  readonly provider: k8s.Provider;
  /** Exec-plugin kubeconfig (no credential inside), marked secret all the same. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly version: pulumi.Output<string>;
  /** Push credentials for the Images tier. */
  readonly registry: ImageRegistry;
  /** Read-only Docker config JSON for the namespace's imagePullSecret. */
  readonly pullSecretJson: pulumi.Output<string>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:kubernetes:Cluster", name, {}, opts);
    const { config, kubernetes: kc } = args;
    const base = `${config.project}-${config.stack}`;
    const tags = ["djangostack", `djangostack-${config.stack}`];

    this.vpc = new digitalocean.Vpc(`${name}-vpc`, { name: `${base}-vpc`, region: config.region, description: `djangostack ${config.stack}: cluster and managed databases` }, { parent: this });

    // The prefix resolves to the newest patch DigitalOcean offers today: it only seeds a new cluster.
    const requested =
      kc.version !== undefined
        ? pulumi.output(kc.version)
        : digitalocean.getKubernetesVersionsOutput({ versionPrefix: kc.versionPrefix }, { parent: this }).latestVersion.apply((v) => {
            if (!v) throw new Error(`djangostack: no DOKS version matches kubernetes.versionPrefix "${kc.versionPrefix}"; run \`doctl kubernetes options versions\``);
            return v;
          });

    let registryName: pulumi.Output<string>;
    let registryDeps: pulumi.Resource[] = [];
    if (kc.registry.create) {
      // One registry per account, shared by every stack: never deleted with this one.
      const registry = new digitalocean.ContainerRegistry(
        `${name}-registry`,
        { name: kc.registry.name, subscriptionTierSlug: kc.registry.tier, region: config.region },
        { parent: this, retainOnDelete: true },
      );
      registryName = registry.name;
      registryDeps = [registry];
    } else {
      registryName = digitalocean.getContainerRegistryOutput({ name: kc.registry.name }, { parent: this }).name;
    }

    this.cluster = new digitalocean.KubernetesCluster(
      `${name}-cluster`,
      {
        name: base,
        region: config.region,
        version: requested,
        vpcUuid: this.vpc.id,
        ha: kc.ha,
        // A pinned version is the user's to raise; DigitalOcean's patch upgrades would leave the pin
        // below the running version, which the provider treats as a downgrade (a replacement).
        autoUpgrade: kc.version === undefined,
        surgeUpgrade: true,
        maintenancePolicy: { day: kc.maintenance.day, startTime: kc.maintenance.startTime },
        registryIntegration: true,
        // The default pool is part of the cluster resource: it stays small and fixed, and only DOKS
        // system pods run on it. Workloads select the separate pool below.
        nodePool: { name: `${base}-system`, size: kc.systemPool.size, nodeCount: kc.systemPool.count, autoScale: false, labels: { [POOL_LABEL]: SYSTEM_POOL }, tags },
        tags,
      },
      // Protected: a replacing change (region, VPC, default pool size...) must fail, not destroy the cluster.
      // Without a pinned version the one in state stays: the provider reads back what DigitalOcean
      // upgraded to, and a prefix resolving lower (a forced minor upgrade) would be a replacement.
      { parent: this, protect: true, dependsOn: registryDeps, ignoreChanges: kc.version === undefined ? ["version"] : [] },
    );
    this.version = this.cluster.version;

    this.workloadPool = new digitalocean.KubernetesNodePool(
      `${name}-workload`,
      {
        clusterId: this.cluster.id,
        // Named after its size, the only replace-forcing field that changes: a resize creates the new
        // pool under a new name next to the old one, which goes only once the new nodes run.
        name: `${base}-workload-${kc.workloadPool.size}`,
        size: kc.workloadPool.size,
        autoScale: true,
        minNodes: kc.workloadPool.minNodes,
        maxNodes: kc.workloadPool.maxNodes,
        labels: { [POOL_LABEL]: WORKLOAD_POOL },
        tags,
      },
      // The cluster autoscaler owns the node count inside [min, max]. The bridge would replace a
      // pool whose name the program sets delete-first, removing every node the pods run on.
      { parent: this, ignoreChanges: ["nodeCount"], deleteBeforeReplace: false },
    );

    const ca = this.cluster.kubeConfigs.apply((configs) => configs[0]?.clusterCaCertificate ?? "");
    this.kubeconfig = pulumi.secret(
      pulumi.all([this.cluster.name, this.cluster.id, this.cluster.endpoint, ca]).apply(([clusterName, clusterId, endpoint, caCertificate]) =>
        execKubeconfig({ clusterName, clusterId, endpoint, caCertificate }),
      ),
    );
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        // Only a new cluster replaces the provider (and everything under it); a kubeconfig change is an update.
        clusterIdentifier: this.cluster.id,
        enableServerSideApply: true,
      },
      { parent: this, dependsOn: [this.workloadPool] },
    );

    const pushCredentials = registryCredentials(`${name}-registry-push`, registryName, true, this);
    const push = pushCredentials.dockerCredentials.apply((json) => dockerAuth(json, DOCR_SERVER));
    this.registry = {
      server: DOCR_SERVER,
      repositoryPrefix: pulumi.interpolate`${DOCR_SERVER}/${registryName}`,
      username: pulumi.secret(push.apply((a) => a.username)),
      password: pulumi.secret(push.apply((a) => a.password)),
    };
    const pullCredentials = registryCredentials(`${name}-registry-pull`, registryName, false, this);
    this.pullSecretJson = pulumi.secret(pullCredentials.dockerCredentials);

    new k8s.helm.v3.Release(
      `${name}-metrics-server`,
      {
        name: "metrics-server",
        chart: METRICS_SERVER_CHART.chart,
        version: METRICS_SERVER_CHART.version,
        repositoryOpts: { repo: METRICS_SERVER_CHART.repo },
        namespace: "kube-system",
        atomic: true,
      },
      { parent: this, provider: this.provider },
    );

    this.registerOutputs({ clusterId: this.cluster.id, clusterName: this.cluster.name, version: this.version });
  }
}
