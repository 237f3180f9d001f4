import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CheckedResource, rules, stackRules } from "../../policy/rules";

const rule = (name: string) => {
  const found = rules.find((r) => r.name === name);
  assert.ok(found, name);
  return found;
};
const stackRule = (name: string) => {
  const found = stackRules.find((r) => r.name === name);
  assert.ok(found, name);
  return found;
};
const k8s = (type: string, props: Record<string, unknown>, stack?: string): CheckedResource => ({ type: `kubernetes:${type}`, props, opts: {}, stack });
const labels = { "app.kubernetes.io/name": "shop-web", "djangostack.io/role": "web" };
const container = (extra: Record<string, unknown> = {}) => ({ name: "web", image: "registry.digitalocean.com/a/web:1@sha256:ab", readinessProbe: { httpGet: { path: "/readyz/", port: 8000 } }, ...extra });
const deployment = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}, containers = [container()]) =>
  k8s("apps/v1:Deployment", { metadata: { name: "shop-web", namespace: "shop", labels, ...meta }, spec: { template: { metadata: { labels }, spec: { containers } }, ...spec } });
const docker = (props: Record<string, unknown>, opts: CheckedResource["opts"] = {}): CheckedResource => ({ type: "docker:index/container:Container", props, opts });

describe("long-running-probed", () => {
  it("flags a Deployment container without a readinessProbe and passes one with it", () => {
    assert.deepEqual(rule("long-running-probed").check(deployment({ replicas: 1 })), []);
    assert.match(rule("long-running-probed").check(deployment({ replicas: 1 }, {}, [container({ readinessProbe: undefined })]))[0], /shop-web\/web has no readinessProbe/);
  });
  it("flags a long-running Docker container without a healthcheck; one-offs need none", () => {
    const web = { name: "x-web", restart: "unless-stopped", labels: [{ label: "djangostack.role", value: "web" }] };
    assert.equal(rule("long-running-probed").check(docker(web)).length, 1);
    assert.deepEqual(rule("long-running-probed").check(docker({ ...web, healthcheck: { tests: ["CMD", "true"] } })), []);
    assert.deepEqual(rule("long-running-probed").check(docker({ ...web, restart: "no", labels: [{ label: "djangostack.role", value: "migrate" }] })), []);
  });
});

describe("beat-singleton", () => {
  const beat = (spec: Record<string, unknown>) => deployment(spec, { name: "shop-beat", labels: { ...labels, "djangostack.io/role": "beat" } });
  it("passes one Recreate replica and flags two rolling ones", () => {
    assert.deepEqual(rule("beat-singleton").check(beat({ replicas: 1, strategy: { type: "Recreate" } })), []);
    assert.deepEqual(rule("beat-singleton").check(beat({ replicas: 2, strategy: { type: "RollingUpdate" } })), [
      "shop-beat: replicas is 2; beat must run exactly 1",
      "shop-beat: strategy is RollingUpdate; use Recreate so old and new beat never overlap",
    ]);
  });
});

describe("only-edge-exposed", () => {
  const svc = (type: string, role: string) => k8s("core/v1:Service", { metadata: { name: `${role}-svc`, labels: { "djangostack.io/role": role } }, spec: { type } });
  it("lets the edge be a LoadBalancer and nothing else", () => {
    assert.deepEqual(rule("only-edge-exposed").check(svc("LoadBalancer", "edge")), []);
    assert.deepEqual(rule("only-edge-exposed").check(svc("ClusterIP", "postgres")), []);
    assert.match(rule("only-edge-exposed").check(svc("NodePort", "rabbitmq"))[0], /rabbitmq-svc is NodePort/);
  });
});

describe("production-images-pinned", () => {
  const public_ = () => deployment({}, {}, [container({ image: "nginxinc/nginx-unprivileged:1.28-alpine" })]);
  it("flags a public image by tag in production only", () => {
    assert.equal(rule("production-images-pinned").check({ ...public_(), stack: "production" }).length, 1);
    assert.deepEqual(rule("production-images-pinned").check({ ...public_(), stack: "staging" }), []);
    assert.deepEqual(rule("production-images-pinned").check({ ...deployment({}), stack: "production" }), []);
  });
});

describe("data-retained", () => {
  const volume = (name: string, opts: CheckedResource["opts"]): CheckedResource => ({ type: "docker:index/volume:Volume", props: { name }, opts });
  it("flags a data volume deleted with the stack, passes a retained one and scratch volumes", () => {
    assert.equal(rule("data-retained").check(volume("djangostack-local-postgres-data", { retainOnDelete: false })).length, 1);
    assert.deepEqual(rule("data-retained").check(volume("djangostack-local-postgres-data", { retainOnDelete: true })), []);
    assert.deepEqual(rule("data-retained").check(volume("djangostack-local-static-web", { retainOnDelete: false })), []);
  });
  it("cannot see retainOnDelete inside CrossGuard, so an unknown value is not a violation", () => {
    assert.deepEqual(rule("data-retained").check(volume("djangostack-local-media-web", {})), []);
  });
  it("flags a Spaces bucket (media, backups) deleted with the stack, passes a protected or retained one", () => {
    const bucket = (opts: CheckedResource["opts"]): CheckedResource => ({ type: "digitalocean:index/spacesBucket:SpacesBucket", props: { name: "djangostack-production-web-media" }, opts });
    assert.match(rule("data-retained").check(bucket({ protect: false, retainOnDelete: false })).join("\n"), /bucket djangostack-production-web-media holds uploads or backups/);
    assert.deepEqual(rule("data-retained").check(bucket({ protect: true, retainOnDelete: false })), []);
    assert.deepEqual(rule("data-retained").check(bucket({ retainOnDelete: true })), []);
  });
});

describe("replicated-has-pdb", () => {
  const pdb = k8s("policy/v1:PodDisruptionBudget", { metadata: { name: "shop-web", namespace: "shop" }, spec: { maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "shop-web" } } } });
  const hpa = k8s("autoscaling/v2:HorizontalPodAutoscaler", { metadata: { namespace: "shop" }, spec: { scaleTargetRef: { name: "shop-web" } } });
  it("flags an autoscaled Deployment without a PDB and passes it with one", () => {
    assert.equal(stackRule("replicated-has-pdb").checkStack([deployment({}), hpa]).length, 1);
    assert.deepEqual(stackRule("replicated-has-pdb").checkStack([deployment({}), hpa, pdb]), []);
    assert.deepEqual(stackRule("replicated-has-pdb").checkStack([deployment({ replicas: 1 })]), []);
    assert.equal(stackRule("replicated-has-pdb").checkStack([deployment({ replicas: 3 })]).length, 1);
  });
});

describe("network-default-deny", () => {
  const policy = (spec: Record<string, unknown>) => k8s("networking.k8s.io/v1:NetworkPolicy", { metadata: { name: "default-deny", namespace: "shop" }, spec });
  it("needs an empty-selector policy denying both directions in each workload namespace", () => {
    assert.deepEqual(stackRule("network-default-deny").checkStack([deployment({}), policy({ podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] })]), []);
    assert.equal(stackRule("network-default-deny").checkStack([deployment({}), policy({ podSelector: {}, policyTypes: ["Ingress"] })]).length, 1);
    assert.equal(stackRule("network-default-deny").checkStack([deployment({}), policy({ podSelector: {}, policyTypes: ["Ingress", "Egress"], egress: [{}] })]).length, 1);
  });
});

describe("pvc-storage-retained", () => {
  const set = k8s("apps/v1:StatefulSet", { metadata: { name: "rabbitmq", namespace: "shop" }, spec: { volumeClaimTemplates: [{ spec: { storageClassName: "shop-retain" } }] } });
  const cls = (reclaimPolicy: string) => k8s("storage.k8s.io/v1:StorageClass", { metadata: { name: "shop-retain" }, reclaimPolicy });
  it("passes a Retain class and flags a Delete one", () => {
    assert.deepEqual(stackRule("pvc-storage-retained").checkStack([set, cls("Retain")]), []);
    assert.match(stackRule("pvc-storage-retained").checkStack([set, cls("Delete")])[0], /reclaimPolicy is Delete/);
  });
});

describe("production-tls-hsts", () => {
  const conf = (text: string, stack = "production") => k8s("core/v1:ConfigMap", { metadata: { name: "nginx-config" }, data: { "nginx.conf": text } }, stack);
  const lb = k8s("core/v1:Service", { metadata: { annotations: { "service.beta.kubernetes.io/do-loadbalancer-certificate-name": "c", "service.beta.kubernetes.io/do-loadbalancer-redirect-http-to-https": "true" } }, spec: { type: "LoadBalancer" } }, "production");
  const hsts = 'add_header Strict-Transport-Security "max-age=31536000" always;';
  it("passes LB TLS with HSTS and flags a plain edge without HSTS", () => {
    assert.deepEqual(stackRule("production-tls-hsts").checkStack([lb, conf(hsts)]), []);
    assert.equal(stackRule("production-tls-hsts").checkStack([conf("listen 8080;")]).length, 2);
    assert.deepEqual(stackRule("production-tls-hsts").checkStack([conf("listen 8080;", "staging")]), []);
  });
});

describe("production-backups", () => {
  const postgres = k8s("apps/v1:StatefulSet", { metadata: { name: "postgres" }, spec: { template: { spec: { containers: [{ image: "postgres:16-bookworm@sha256:ab" }] } } } }, "production");
  const managed: CheckedResource = { type: "digitalocean:index/databaseCluster:DatabaseCluster", props: { engine: "pg" }, opts: { protect: true }, stack: "production" };
  it("flags in-cluster production Postgres and a Droplet without backups; managed PostgreSQL passes", () => {
    assert.equal(stackRule("production-backups").checkStack([postgres]).length, 1);
    assert.deepEqual(stackRule("production-backups").checkStack([postgres, managed]), []);
    assert.equal(stackRule("production-backups").checkStack([{ type: "digitalocean:index/droplet:Droplet", props: { name: "d" }, opts: {}, stack: "prod" }]).length, 1);
    assert.deepEqual(stackRule("production-backups").checkStack([{ ...postgres, stack: "staging" }]), []);
  });

  it("accepts the scheduled logical backup: a backup CronJob that never overlaps, or the backup container on a Droplet", () => {
    const cron = (spec: Record<string, unknown>) => k8s("batch/v1:CronJob", { metadata: { name: "backup", labels: { "djangostack.io/role": "backup" } }, spec }, "production");
    assert.deepEqual(stackRule("production-backups").checkStack([postgres, cron({ schedule: "0 3 * * *", concurrencyPolicy: "Forbid" })]), []);
    assert.equal(stackRule("production-backups").checkStack([postgres, cron({ schedule: "0 3 * * *", concurrencyPolicy: "Allow" })]).length, 1, "overlapping dumps do not count");
    const job = k8s("batch/v1:CronJob", { metadata: { name: "web-job-report", labels: { "djangostack.io/role": "job" } }, spec: { schedule: "@daily", concurrencyPolicy: "Forbid" } }, "production");
    assert.equal(stackRule("production-backups").checkStack([postgres, job]).length, 1, "an app's job is not a backup");
    const droplet: CheckedResource = { type: "digitalocean:index/droplet:Droplet", props: { name: "d" }, opts: {}, stack: "prod" };
    const container = (role: string): CheckedResource => ({ type: "docker:index/container:Container", props: { labels: [{ label: "djangostack.role", value: role }] }, opts: {}, stack: "prod" });
    assert.deepEqual(stackRule("production-backups").checkStack([droplet, container("backup")]), []);
    assert.equal(stackRule("production-backups").checkStack([droplet, container("scheduler")]).length, 1);
    assert.match(stackRule("production-backups").checkStack([droplet])[0], /djangostack:backups\.enabled true .* or droplet\.backups true/);
  });
});

describe("pods-hardened reads a CronJob's pod in its job template", () => {
  const cronJob = (securityContext: Record<string, unknown>) =>
    k8s("batch/v1:CronJob", {
      metadata: { name: "shop-job-clear", namespace: "shop" },
      spec: { schedule: "@daily", jobTemplate: { spec: { template: { spec: { securityContext: { runAsNonRoot: true }, containers: [{ name: "job", securityContext, resources: { limits: { memory: "256Mi" } } }] } } } } },
    });
  it("passes a hardened job pod and flags a writable, privileged one", () => {
    assert.deepEqual(rule("pods-hardened").check(cronJob({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true })), []);
    assert.deepEqual(rule("pods-hardened").check(cronJob({})), ["job: allowPrivilegeEscalation is not false", "job: capabilities do not drop ALL", "job: root filesystem is writable"]);
  });
});
