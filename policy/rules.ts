/**
 * The guardrails as pure functions of one resource (type, inputs, options), or of the whole stack where
 * a rule must follow a reference between resources, so they run both inside the CrossGuard pack
 * (`pulumi preview --policy-pack policy`) and in unit tests over the offline render. CIDR and credential
 * semantics come from the same modules config validation uses, so the pack and the schema agree.
 */
import { judgeAdminCidrs } from "../src/config/cidr";
import { hasUrlPassword, isCredentialName } from "../src/config/env-rules";

export interface CheckedResource {
  type: string;
  props: Record<string, unknown>;
  opts: { protect?: boolean; retainOnDelete?: boolean };
  /** The stack's name (from the URN in the pack); the production rules apply to stacks named prod*. */
  stack?: string;
}

export interface Rule {
  name: string;
  description: string;
  check(resource: CheckedResource): string[];
}

/** A rule over every resource of the stack at once (CrossGuard's validateStack). */
export interface StackRule {
  name: string;
  description: string;
  checkStack(resources: readonly CheckedResource[]): string[];
}

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
/** A ConfigMap key that is an env name (envFrom turns it into one); file keys (nginx.conf) have dots. */
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

/** A credential by its name (config's rule) or by its value (a URL with a password in it). */
function looksLikeCredential(name: string, value: unknown): boolean {
  return isCredentialName(name) || (typeof value === "string" && hasUrlPassword(value));
}

/** Env literals are judged more strictly: any *_URL may embed a password the render cannot see. */
const credentialLiteral = (name: string, value: unknown): boolean => looksLikeCredential(name, value) || /(_URL|CREDENTIALS?)$/.test(name);

/** What the internet may reach on a Cloud Firewall: the web ports and ICMP. Everything else is an admin port. */
function publicWeb(rule: Obj): boolean {
  const protocol = String(rule.protocol);
  const ports = String(rule.portRange);
  return protocol === "icmp" || (protocol === "tcp" && (ports === "80" || ports === "443")) || (protocol === "udp" && ports === "443");
}

const cidrViolations = (what: string, sources: unknown[]): string[] =>
  judgeAdminCidrs(sources.map(String)).problems.map((p) => `${what} from ${p.value}: ${p.problem}`);

function envConfigMapEntries(props: Obj): [string, unknown][] {
  return Object.entries(obj(props.data)).filter(([key]) => ENV_KEY.test(key));
}

/** The pod spec of a workload; a CronJob's sits in its job template. */
function podSpec(props: Obj): Obj {
  const spec = obj(props.spec);
  const workload = spec.jobTemplate === undefined ? spec : obj(obj(spec.jobTemplate).spec);
  return obj(obj(workload.template).spec);
}

function containersOf(pod: Obj): Obj[] {
  return [...list(pod.initContainers), ...list(pod.containers)].map(obj);
}

export const rules: Rule[] = [
  {
    name: "data-services-private",
    description: "Only the nginx edge container publishes a host port; databases, caches and brokers never do.",
    check: ({ type, props }) => {
      if (type !== "docker:index/container:Container") return [];
      const role = list(props.labels).map(obj).find((l) => l.label === "djangostack.role")?.value;
      const ports = list(props.ports);
      return role !== "edge" && ports.length > 0 ? [`container with role ${String(role)} publishes ${ports.length} port(s)`] : [];
    },
  },
  {
    name: "ssh-restricted",
    description:
      "A Cloud Firewall opens only HTTP/HTTPS and ICMP to the internet; SSH and every other port, and a database firewall's addresses, admit admin networks only, judged on the parsed ranges (no /0 in disguise, IPv4 /8 and IPv6 /32 at the widest, no set of ranges covering more).",
    check: ({ type, props }) => {
      if (type === "digitalocean:index/firewall:Firewall") {
        return list(props.inboundRules)
          .map(obj)
          .filter((r) => !publicWeb(r))
          .flatMap((r) => cidrViolations(`${String(r.protocol)} ${String(r.portRange ?? "all")}`, list(r.sourceAddresses)));
      }
      if (type === "digitalocean:index/databaseFirewall:DatabaseFirewall") {
        const addresses = list(props.rules).map(obj).filter((r) => r.type === "ip_addr").map((r) => r.value);
        return addresses.length > 0 ? cidrViolations("database", addresses) : [];
      }
      return [];
    },
  },
  {
    name: "pods-hardened",
    description: "Every pod runs as non-root; every container drops ALL capabilities, forbids privilege escalation, has a read-only root and a memory limit.",
    check: ({ type, props }) => {
      if (!WORKLOADS.includes(type)) return [];
      const pod = podSpec(props);
      const problems: string[] = [];
      if (obj(pod.securityContext).runAsNonRoot !== true) problems.push("pod securityContext.runAsNonRoot is not true");
      for (const c of containersOf(pod)) {
        const sc = obj(c.securityContext);
        const name = String(c.name);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${name}: allowPrivilegeEscalation is not false`);
        if (!list(obj(sc.capabilities).drop).includes("ALL")) problems.push(`${name}: capabilities do not drop ALL`);
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${name}: root filesystem is writable`);
        if (!obj(obj(c.resources).limits).memory) problems.push(`${name}: no memory limit`);
      }
      return problems;
    },
  },
  {
    name: "no-plaintext-credentials",
    description: "Kubernetes containers receive credentials from Secrets (valueFrom secretKeyRef), never as env literals or from a ConfigMap.",
    check: ({ type, props }) => {
      if (type === CONFIG_MAP) {
        return envConfigMapEntries(props)
          .filter(([key, value]) => looksLikeCredential(key, value))
          .map(([key]) => `env key ${key} looks like a credential; a ConfigMap is unencrypted and readable by every pod of the namespace: use a Secret`);
      }
      if (!WORKLOADS.includes(type)) return [];
      return containersOf(podSpec(props)).flatMap((c) =>
        list(c.env)
          .map(obj)
          .filter((e) => e.value !== undefined && credentialLiteral(String(e.name), e.value))
          .map((e) => `${String(c.name)}: ${String(e.name)} is a plain env literal`),
      );
    },
  },
  {
    name: "app-images-pinned",
    description: "Images from the DigitalOcean registry run by digest, so a release is exactly what was built.",
    check: ({ type, props }) => {
      const images =
        type === "docker:index/remoteImage:RemoteImage"
          ? [String(props.name)]
          : WORKLOADS.includes(type)
            ? containersOf(podSpec(props)).map((c) => String(c.image))
            : [];
      return images.filter((i) => i.startsWith("registry.digitalocean.com/") && !i.includes("@sha256:")).map((i) => `${i} is not pinned by digest`);
    },
  },
  {
    name: "stateful-cloud-resources-protected",
    description: "The DOKS cluster and managed database clusters are protected from accidental deletion.",
    check: ({ type, opts }) =>
      ["digitalocean:index/kubernetesCluster:KubernetesCluster", "digitalocean:index/databaseCluster:DatabaseCluster"].includes(type) && opts.protect !== true
        ? [`${type} is not protected`]
        : [],
  },
];

const metadata = (props: Obj) => obj(props.metadata);

export const stackRules: StackRule[] = [
  {
    name: "no-credentials-through-configmaps",
    description: "No container takes a credential from a ConfigMap, through envFrom or a configMapKeyRef: what the program really deploys, followed across resources.",
    checkStack: (resources) => {
      const maps = new Map<string, Obj>();
      for (const r of resources) {
        if (r.type !== CONFIG_MAP) continue;
        const m = metadata(r.props);
        if (typeof m.name === "string") maps.set(`${String(m.namespace ?? "")}/${m.name}`, r.props);
      }
      const find = (namespace: unknown, name: unknown) => maps.get(`${String(namespace ?? "")}/${String(name)}`);
      return resources
        .filter((r) => WORKLOADS.includes(r.type))
        .flatMap((r) => {
          const ns = metadata(r.props).namespace;
          const owner = `${String(metadata(r.props).name ?? r.type)}`;
          return containersOf(podSpec(r.props)).flatMap((c) => {
            const where = `${owner}/${String(c.name)}`;
            const viaEnvFrom = list(c.envFrom)
              .map((e) => obj(obj(e).configMapRef).name)
              .filter((name) => name !== undefined)
              .flatMap((name) => {
                const map = find(ns, name);
                return map ? envConfigMapEntries(map).filter(([key, value]) => looksLikeCredential(key, value)).map(([key]) => `${where}: envFrom ConfigMap ${String(name)} carries the credential ${key}`) : [];
              });
            const viaKeyRef = list(c.env)
              .map(obj)
              .flatMap((e) => {
                const ref = obj(obj(e.valueFrom).configMapKeyRef);
                if (ref.name === undefined) return [];
                const value = obj(find(ns, ref.name)?.data)[String(ref.key)];
                return looksLikeCredential(String(e.name), value) ? [`${where}: ${String(e.name)} comes from ConfigMap ${String(ref.name)} key ${String(ref.key)}`] : [];
              });
            return [...viaEnvFrom, ...viaKeyRef];
          });
        });
    },
  },
];

/** A stack is held to the production rules when its name says so (production, prod, prod-eu...). */
export const isProduction = (stack: string | undefined): boolean => stack !== undefined && /^prod/.test(stack);

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
const CONTAINER = "docker:index/container:Container";
const ROLE_LABEL = "djangostack.io/role";
/** The model's long-running roles: the processes that serve or work until stopped (one-offs and the TLS renew loop are not among them). */
const LONG_RUNNING = ["web", "worker", "beat", "scheduler", "backup", "frontend", "edge", "postgres", "redis", "rabbitmq"];

const dockerRole = (props: Obj): string | undefined => {
  const value = list(props.labels).map(obj).find((l) => l.label === "djangostack.role")?.value;
  return typeof value === "string" ? value : undefined;
};
const labelsOf = (props: Obj): Obj => obj(metadata(props).labels);
const whereOf = (r: CheckedResource): string => `${String(metadata(r.props).name ?? r.props.name ?? r.type)}`;

/** A workload's image references, on either target. */
function imagesOf(r: CheckedResource): string[] {
  if (r.type === "docker:index/remoteImage:RemoteImage") return [String(r.props.name)];
  if (WORKLOADS.includes(r.type)) return containersOf(podSpec(r.props)).map((c) => String(c.image));
  return [];
}

/** Every nginx configuration text the stack ships: ConfigMap data and files uploaded into containers. */
function nginxConfigs(resources: readonly CheckedResource[]): string[] {
  return resources.flatMap((r) => {
    if (r.type === CONFIG_MAP) return Object.entries(obj(r.props.data)).filter(([k]) => k.endsWith(".conf")).map(([, v]) => String(v));
    if (r.type === CONTAINER) return list(r.props.uploads).map(obj).filter((u) => String(u.file).includes("nginx")).map((u) => String(u.content));
    return [];
  });
}

/** matchLabels of a selector are all among the pod template's labels. */
const selects = (selector: Obj, labels: Obj): boolean => {
  const wanted = Object.entries(obj(selector.matchLabels));
  return wanted.length > 0 && wanted.every(([k, v]) => labels[k] === v);
};

/** Data a stack cannot recreate: Postgres, Redis and RabbitMQ data and the uploaded media. */
const DATA_VOLUME = /-(postgres|redis|rabbitmq)-data$|-media-/;

rules.push(
  {
    name: "long-running-probed",
    description: "Every long-running workload has a health check (Docker) or a readiness probe (Kubernetes), so traffic and restarts follow its health.",
    check: ({ type, props }) => {
      if (type === CONTAINER) {
        const role = dockerRole(props);
        return role && LONG_RUNNING.includes(role) && props.restart !== "no" && props.healthcheck === undefined ? [`container ${String(props.name ?? role)} (role ${role}) has no healthcheck: give its process a health probe in the model`] : [];
      }
      if (type !== DEPLOYMENT && type !== STATEFUL_SET) return [];
      return list(podSpec(props).containers)
        .map(obj)
        .filter((c) => c.readinessProbe === undefined)
        .map((c) => `${String(metadata(props).name)}/${String(c.name)} has no readinessProbe: add one so the Service only routes to ready pods`);
    },
  },
  {
    name: "beat-singleton",
    description: "Celery beat runs as exactly one pod, replaced with Recreate, so no schedule ever fires twice.",
    check: ({ type, props }) => {
      if (type !== DEPLOYMENT || labelsOf(props)[ROLE_LABEL] !== "beat") return [];
      const spec = obj(props.spec);
      const problems: string[] = [];
      if (spec.replicas !== 1) problems.push(`${String(metadata(props).name)}: replicas is ${String(spec.replicas)}; beat must run exactly 1`);
      if (obj(spec.strategy).type !== "Recreate") problems.push(`${String(metadata(props).name)}: strategy is ${String(obj(spec.strategy).type ?? "RollingUpdate")}; use Recreate so old and new beat never overlap`);
      return problems;
    },
  },
  {
    name: "only-edge-exposed",
    description: "No Kubernetes Service of type LoadBalancer or NodePort except the edge's.",
    check: ({ type, props }) => {
      if (type !== "kubernetes:core/v1:Service") return [];
      const kind = String(obj(props.spec).type ?? "ClusterIP");
      return (kind === "LoadBalancer" || kind === "NodePort") && labelsOf(props)[ROLE_LABEL] !== "edge" ? [`Service ${String(metadata(props).name)} is ${kind}: only the edge is exposed; make it ClusterIP`] : [];
    },
  },
  {
    name: "production-images-pinned",
    description: "In production every image, public ones included, runs by digest: what was reviewed is what runs.",
    check: (r) => (isProduction(r.stack) ? imagesOf(r).filter((i) => !i.includes("@sha256:")).map((i) => `${whereOf(r)}: ${i} is not pinned by digest`) : []),
  },
  {
    name: "data-retained",
    description: "Volumes that hold data (Postgres, Redis, RabbitMQ, media), PVCs and Spaces buckets (media, backups) are protected or retained on delete.",
    check: ({ type, props, opts }) => {
      // CrossGuard's PolicyResourceOptions carries no retainOnDelete (@pulumi/policy 1.21): undefined there
      // means "not visible", so only a known false (the offline render, the tests) counts as not retained.
      const kept = opts.protect === true || opts.retainOnDelete !== false;
      if (type === "docker:index/volume:Volume" && DATA_VOLUME.test(String(props.name)) && !kept) return [`volume ${String(props.name)} holds data and would be deleted with the stack: set retainOnDelete (or protect)`];
      if ((type === "kubernetes:core/v1:PersistentVolumeClaim" || type === "digitalocean:index/volume:Volume") && !kept) return [`${type} ${whereOf({ type, props, opts })} is neither protected nor retained on delete`];
      if (type === "digitalocean:index/spacesBucket:SpacesBucket" && !kept) return [`bucket ${String(props.name)} holds uploads or backups and would be deleted with the stack: set protect and retainOnDelete`];
      return [];
    },
  },
);

stackRules.push(
  {
    name: "replicated-has-pdb",
    description: "A Deployment that runs more than one pod (or is autoscaled) has a PodDisruptionBudget, so node drains keep it serving.",
    checkStack: (resources) => {
      const scaled = new Set(resources.filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").map((r) => `${String(metadata(r.props).namespace)}/${String(obj(obj(r.props.spec).scaleTargetRef).name)}`));
      const pdbs = resources.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget");
      return resources
        .filter((r) => r.type === DEPLOYMENT)
        .filter((r) => Number(obj(r.props.spec).replicas ?? 1) > 1 || scaled.has(`${String(metadata(r.props).namespace)}/${String(metadata(r.props).name)}`))
        .filter((r) => {
          const labels = obj(obj(obj(r.props.spec).template).metadata).labels;
          return !pdbs.some((p) => metadata(p.props).namespace === metadata(r.props).namespace && selects(obj(obj(p.props.spec).selector), obj(labels)));
        })
        .map((r) => `Deployment ${String(metadata(r.props).name)} runs several pods and no PodDisruptionBudget selects them: add one (maxUnavailable: 1)`);
    },
  },
  {
    name: "network-default-deny",
    description: "Every namespace with workloads has a NetworkPolicy denying all ingress and egress by default; traffic is then allowed per flow.",
    checkStack: (resources) => {
      const namespaces = new Set(resources.filter((r) => WORKLOADS.includes(r.type)).map((r) => String(metadata(r.props).namespace)));
      const denied = new Set(
        resources
          .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
          .filter((r) => {
            const spec = obj(r.props.spec);
            const types = list(spec.policyTypes);
            return Object.keys(obj(spec.podSelector)).length === 0 && types.includes("Ingress") && types.includes("Egress") && list(spec.ingress).length === 0 && list(spec.egress).length === 0;
          })
          .map((r) => String(metadata(r.props).namespace)),
      );
      return [...namespaces].filter((ns) => !denied.has(ns)).map((ns) => `namespace ${ns} has no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)`);
    },
  },
  {
    name: "pvc-storage-retained",
    description: "StatefulSet volume claims use a StorageClass with reclaimPolicy Retain, so deleting a claim never deletes the disk.",
    checkStack: (resources) => {
      const classes = new Map(resources.filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass").map((r) => [String(metadata(r.props).name), String(r.props.reclaimPolicy ?? "Delete")]));
      return resources
        .filter((r) => r.type === STATEFUL_SET)
        .flatMap((r) => list(obj(r.props.spec).volumeClaimTemplates).map((t) => [r, String(obj(obj(t).spec).storageClassName ?? "(default)")] as const))
        .filter(([, cls]) => classes.get(cls) !== "Retain")
        .map(([r, cls]) => `StatefulSet ${String(metadata(r.props).name)} claims storage of class ${cls}, whose reclaimPolicy is ${classes.get(cls) ?? "the cluster default (Delete on DOKS)"}: use a Retain class`);
    },
  },
  {
    name: "production-tls-hsts",
    description: "A production stack terminates TLS (the load balancer's certificate or nginx's) and sends HSTS.",
    checkStack: (resources) => {
      if (!resources.some((r) => isProduction(r.stack))) return [];
      const annotations = resources.filter((r) => r.type === "kubernetes:core/v1:Service").map((r) => obj(metadata(r.props).annotations));
      const lbTls = annotations.some((a) => (a["service.beta.kubernetes.io/do-loadbalancer-certificate-name"] ?? a["service.beta.kubernetes.io/do-loadbalancer-certificate-id"]) !== undefined && a["service.beta.kubernetes.io/do-loadbalancer-redirect-http-to-https"] === "true");
      const confs = nginxConfigs(resources);
      const problems: string[] = [];
      if (!lbTls && !confs.some((c) => /\bssl_certificate\b/.test(c))) problems.push("no TLS: neither a load balancer certificate with HTTP->HTTPS redirect nor an nginx ssl_certificate; set djangostack:edge.tls.mode");
      if (!confs.some((c) => /Strict-Transport-Security/.test(c) && /max-age=[1-9]/.test(c))) problems.push("no HSTS header with a positive max-age in the edge's nginx.conf; set djangostack:edge.hstsSeconds > 0");
      return problems;
    },
  },
  {
    name: "production-backups",
    description:
      "A production stack's PostgreSQL is backed up: managed PostgreSQL (daily backups, point-in-time recovery), the scheduled logical backup (a backup CronJob that never overlaps, or the backup container on a Droplet), or Droplet backups.",
    checkStack: (resources) => {
      if (!resources.some((r) => isProduction(r.stack))) return [];
      const managed = resources.some((r) => r.type === "digitalocean:index/databaseCluster:DatabaseCluster" && r.props.engine === "pg");
      // djangostack:backups: a scheduled dump to Spaces counts as a backup (docs/backups.md).
      const cronBackup = resources.some((r) => r.type === "kubernetes:batch/v1:CronJob" && labelsOf(r.props)[ROLE_LABEL] === "backup" && obj(r.props.spec).concurrencyPolicy === "Forbid" && typeof obj(r.props.spec).schedule === "string");
      const containerBackup = resources.some((r) => r.type === CONTAINER && dockerRole(r.props) === "backup");
      const inCluster = resources.filter((r) => r.type === STATEFUL_SET && containersOf(podSpec(r.props)).some((c) => /(^|\/)postgres:/.test(String(c.image))));
      const droplets = resources.filter((r) => r.type === "digitalocean:index/droplet:Droplet" && r.props.backups !== true);
      return [
        ...(managed || cronBackup ? [] : inCluster.map((r) => `StatefulSet ${String(metadata(r.props).name)} keeps production data in-cluster without backups: set djangostack:backups.enabled true (a scheduled dump to Spaces) or use data.postgres.mode "managed"`)),
        ...(containerBackup ? [] : droplets.map((r) => `Droplet ${String(r.props.name)} holds production data without backups: set djangostack:backups.enabled true (a scheduled dump to Spaces) or droplet.backups true`)),
      ];
    },
  },
);
