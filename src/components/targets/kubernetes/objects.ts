/** Shared constructors for the namespaced Kubernetes objects every tier creates. */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Process } from "../../../model/types";
import { LABELS, PodOptions, podTemplate, processLabels, selectorLabels } from "./workload";

type Input<T> = pulumi.Input<T>;
export type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
export type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;

/** What every tier needs to place objects: the provider, the namespace and the stack identity. */
export interface KubeContext {
  /** Root of Pulumi resource names (the stack name). */
  name: string;
  project: string;
  stack: string;
  namespace: pulumi.Output<string>;
  provider: k8s.Provider;
  /** dockerconfigjson Secret for DOCR pulls. */
  pullSecret: pulumi.Output<string>;
  /** StorageClass for data volumes (Retain). */
  storageClass: pulumi.Output<string>;
}

export function opts(ctx: KubeContext, parent: pulumi.Resource, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { provider: ctx.provider, parent, ...extra };
}

export function labelsOf(ctx: KubeContext, process: Process): Record<string, string> {
  return processLabels(process, ctx.project, ctx.stack);
}

/**
 * A ConfigMap named by Pulumi (`<name>-<suffix>`): changed content replaces it under a new name,
 * which changes every pod template that references it, so pods roll onto the new config.
 */
export function configMap(ctx: KubeContext, name: string, data: Record<string, Input<string>>, parent: pulumi.Resource, labels: Record<string, string> = {}): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(`${ctx.name}-${name}`, { metadata: { namespace: ctx.namespace, labels: { [LABELS.partOf]: ctx.project, [LABELS.instance]: ctx.stack, ...labels } }, data }, opts(ctx, parent));
}

/** An Opaque Secret named by Pulumi; each value must already be a secret Output. */
export function secret(ctx: KubeContext, name: string, stringData: Record<string, Input<string>>, parent: pulumi.Resource, labels: Record<string, string> = {}): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    `${ctx.name}-${name}`,
    { metadata: { namespace: ctx.namespace, labels: { [LABELS.partOf]: ctx.project, [LABELS.instance]: ctx.stack, ...labels } }, type: "Opaque", stringData },
    opts(ctx, parent),
  );
}

export function networkPolicy(
  ctx: KubeContext,
  name: string,
  podSelector: k8s.types.input.meta.v1.LabelSelector,
  rules: { ingress?: IngressRule[]; egress?: EgressRule[] },
  parent: pulumi.Resource,
): k8s.networking.v1.NetworkPolicy {
  const policyTypes = [...(rules.ingress ? ["Ingress"] : []), ...(rules.egress ? ["Egress"] : [])];
  return new k8s.networking.v1.NetworkPolicy(
    `${ctx.name}-netpol-${name}`,
    { metadata: { name, namespace: ctx.namespace, labels: { [LABELS.partOf]: ctx.project, [LABELS.instance]: ctx.stack } }, spec: { podSelector, policyTypes, ...rules } },
    opts(ctx, parent),
  );
}

/** Selects the pods of the given roles. */
export function roleSelector(roles: Process["role"][]): k8s.types.input.meta.v1.LabelSelector {
  return { matchExpressions: [{ key: LABELS.role, operator: "In", values: roles }] };
}

export function pdb(ctx: KubeContext, process: Process, parent: pulumi.Resource): k8s.policy.v1.PodDisruptionBudget {
  // maxUnavailable 1: a drain (node upgrade, autoscaler) takes one pod at a time and never blocks
  // forever on a single-replica workload, as minAvailable 1 would.
  return new k8s.policy.v1.PodDisruptionBudget(
    `${ctx.name}-${process.name}-pdb`,
    { metadata: { name: process.name, namespace: ctx.namespace, labels: labelsOf(ctx, process) }, spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(process, ctx.stack) } } },
    opts(ctx, parent),
  );
}

export interface ServiceOptions {
  headless?: boolean;
  ports?: { name: string; port: number }[];
}

/** A ClusterIP Service named after the process: the model's host names (web-web, postgres...) resolve in the namespace. */
export function service(ctx: KubeContext, process: Process, parent: pulumi.Resource, o: ServiceOptions = {}): k8s.core.v1.Service {
  return new k8s.core.v1.Service(
    `${ctx.name}-${process.name}-svc`,
    {
      metadata: { name: process.name, namespace: ctx.namespace, labels: labelsOf(ctx, process) },
      spec: {
        type: "ClusterIP",
        ...(o.headless ? { clusterIP: "None", publishNotReadyAddresses: false } : {}),
        selector: selectorLabels(process, ctx.stack),
        ports: (o.ports ?? process.ports).map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
      },
    },
    opts(ctx, parent),
  );
}

export interface DeploymentOptions {
  pod: Omit<PodOptions, "labels">;
  /** Omitted when an HPA owns the replica count (server-side apply would otherwise fight it). */
  replicas?: number;
  strategy: "rolling" | "recreate";
  dependsOn?: pulumi.Resource[];
}

export function deployment(ctx: KubeContext, process: Process, parent: pulumi.Resource, o: DeploymentOptions): k8s.apps.v1.Deployment {
  const labels = labelsOf(ctx, process);
  return new k8s.apps.v1.Deployment(
    `${ctx.name}-${process.name}`,
    {
      metadata: { name: process.name, namespace: ctx.namespace, labels },
      spec: {
        ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selectorLabels(process, ctx.stack) },
        strategy: o.strategy === "recreate" ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: podTemplate({ ...o.pod, labels }),
      },
    },
    opts(ctx, parent, { dependsOn: o.dependsOn }),
  );
}
