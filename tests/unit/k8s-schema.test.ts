/**
 * Every Kubernetes object the production stack registers, validated offline against the upstream
 * OpenAPI schemas (kubernetes-models). Secrets are masked keeping their shape (each key of a secret
 * map becomes "[secret]"), so a Secret's stringData is still checked as a map of strings.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import YAML from "yaml";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { kubernetesManifests } from "../../src/offline/manifests";
import { isWireSecret } from "../../src/offline/secret";
import { exampleDir } from "../helpers/examples";
import { crdModel } from "../helpers/crd-schema";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Validatable;
const as = (c: unknown): ModelClass => c as ModelClass;

/** apiVersion/kind -> the kubernetes-models class. A kind missing here fails the test (no silent skip). */
const MODELS: Record<string, () => Promise<ModelClass>> = {
  "v1/Namespace": async () => as((await import("kubernetes-models/v1/Namespace")).Namespace),
  "v1/ConfigMap": async () => as((await import("kubernetes-models/v1/ConfigMap")).ConfigMap),
  "v1/Secret": async () => as((await import("kubernetes-models/v1/Secret")).Secret),
  "v1/Service": async () => as((await import("kubernetes-models/v1/Service")).Service),
  "apps/v1/Deployment": async () => as((await import("kubernetes-models/apps/v1/Deployment")).Deployment),
  "apps/v1/StatefulSet": async () => as((await import("kubernetes-models/apps/v1/StatefulSet")).StatefulSet),
  "batch/v1/Job": async () => as((await import("kubernetes-models/batch/v1/Job")).Job),
  "batch/v1/CronJob": async () => as((await import("kubernetes-models/batch/v1/CronJob")).CronJob),
  "autoscaling/v2/HorizontalPodAutoscaler": async () => as((await import("kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler")).HorizontalPodAutoscaler),
  "policy/v1/PodDisruptionBudget": async () => as((await import("kubernetes-models/policy/v1/PodDisruptionBudget")).PodDisruptionBudget),
  "networking.k8s.io/v1/NetworkPolicy": async () => as((await import("kubernetes-models/networking.k8s.io/v1/NetworkPolicy")).NetworkPolicy),
  "storage.k8s.io/v1/StorageClass": async () => as((await import("kubernetes-models/storage.k8s.io/v1/StorageClass")).StorageClass),
  // The Prometheus operator's CRDs have no kubernetes-models class: their openAPIV3Schema, read from the
  // operator's own CRD manifests (tests/unit/fixtures/prometheus-operator), validates them instead.
  "monitoring.coreos.com/v1/PodMonitor": async () => crdModel("podmonitors"),
  "monitoring.coreos.com/v1/PrometheusRule": async () => crdModel("prometheusrules"),
};

async function validate(obj: Record<string, unknown>): Promise<void> {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const load = MODELS[key];
  if (!load) throw new Error(`no kubernetes-models class mapped for ${key}`);
  const Model = await load();
  new Model(obj).validate();
}

/** Mask secrets but keep their shape: a secret map keeps its keys, each value "[secret]". */
function maskKeepingShape(value: unknown): unknown {
  if (isWireSecret(value)) {
    const inner = value.value;
    return typeof inner === "object" && inner !== null && !Array.isArray(inner) ? Object.fromEntries(Object.keys(inner).map((k) => [k, "[secret]"])) : "[secret]";
  }
  if (Array.isArray(value)) return value.map(maskKeepingShape);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskKeepingShape(v)]));
  return value;
}

/** The objects as written to artifacts/kubernetes (same filter), masked, through a YAML round trip. */
function objectsOf(e: Evaluation): Record<string, unknown>[] {
  return e.engine.resources
    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm") && typeof r.inputs.kind === "string")
    .map((r) => YAML.parse(YAML.stringify(maskKeepingShape(r.inputs))) as Record<string, unknown>);
}

async function validateAll(e: Evaluation): Promise<string[]> {
  const failures: string[] = [];
  for (const obj of objectsOf(e)) {
    const name = `${String(obj.kind)} ${String((obj.metadata as { name?: string } | undefined)?.name ?? "(generated name)")}`;
    try {
      await validate(obj);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  return failures;
}

describe("production Kubernetes objects against the upstream OpenAPI schemas (kubernetes-models)", () => {
  let managed: Evaluation;
  let inCluster: Evaluation;
  let withJobs: Evaluation;
  before(async () => {
    managed = await evaluateStack({ stack: "production" });
    withJobs = await evaluateStack({ stack: "production", projectDir: exampleDir("ecommerce") });
    inCluster = await evaluateStack({
      stack: "production",
      extraConfig: { "djangostack:data": { postgres: { mode: "container" }, redis: { mode: "container" } }, "djangostack:monitoring": { prometheusOperator: true, labels: { release: "kube-prometheus-stack" } } },
    });
  });

  it("writes one manifest per Kubernetes object, each under a unique path", () => {
    for (const e of [managed, inCluster]) {
      const manifests = kubernetesManifests(e.engine.resources);
      assert.equal(manifests.length, objectsOf(e).length);
      assert.equal(new Set(manifests.map((m) => m.path)).size, manifests.length, "no two objects share a manifest path");
    }
  });

  it("validates every object of the managed-data stack", async () => {
    const kinds = new Set(objectsOf(managed).map((o) => String(o.kind)));
    for (const k of ["Namespace", "ConfigMap", "Secret", "Service", "Deployment", "StatefulSet", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "StorageClass"]) assert.ok(kinds.has(k), `the stack has a ${k}`);
    assert.deepEqual(await validateAll(managed), []);
  });

  it("validates every object of the in-cluster-data stack (PostgreSQL and Redis StatefulSets, init Job, exporters, the operator's PodMonitors and PrometheusRule)", async () => {
    assert.ok(objectsOf(inCluster).some((o) => o.kind === "StatefulSet" && (o.metadata as { name: string }).name === "postgres"));
    const kinds = objectsOf(inCluster).map((o) => String(o.kind));
    assert.ok(kinds.includes("PodMonitor") && kinds.includes("PrometheusRule"), "the operator's objects are there to validate");
    assert.deepEqual(await validateAll(inCluster), []);
  });

  it("validates every object of the e-commerce example (a CronJob per scheduled job)", async () => {
    assert.ok(objectsOf(withJobs).some((o) => o.kind === "CronJob"), "the example has a CronJob");
    assert.deepEqual(await validateAll(withJobs), []);
  });

  it("is not a rubber stamp: a wrong type, a missing required field and an unmapped kind all fail", async () => {
    const deployment = objectsOf(managed).find((o) => o.kind === "Deployment" && (o.metadata as { name: string }).name === "web-web") as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "http";
    await assert.rejects(validate(broken as unknown as Record<string, unknown>), /containerPort must be integer/);
    const hpa = structuredClone(objectsOf(managed).find((o) => o.kind === "HorizontalPodAutoscaler")) as { spec: Record<string, unknown> };
    delete hpa.spec.maxReplicas;
    await assert.rejects(validate(hpa as unknown as Record<string, unknown>), /maxReplicas/);
    await assert.rejects(validate({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "x" } }), /no kubernetes-models class mapped for networking\.k8s\.io\/v1\/Ingress/);
    const monitor = structuredClone(objectsOf(inCluster).find((o) => o.kind === "PodMonitor")) as { spec: { podMetricsEndpoints: Record<string, unknown>[] } };
    monitor.spec.podMetricsEndpoints[0].interval = 30;
    await assert.rejects(validate(monitor as unknown as Record<string, unknown>), /interval/);
    const rule = structuredClone(objectsOf(inCluster).find((o) => o.kind === "PrometheusRule")) as { spec: { groups: Record<string, unknown>[] } };
    delete rule.spec.groups[0].name;
    await assert.rejects(validate(rule as unknown as Record<string, unknown>), /name/);
  });
});
