/**
 * The guardrails as pure functions of one resource (type, inputs, options), so they run both inside
 * the CrossGuard pack (`pulumi preview --policy-pack policy`) and in unit tests over the offline render.
 */

export interface CheckedResource {
  type: string;
  props: Record<string, unknown>;
  opts: { protect?: boolean };
}

export interface Rule {
  name: string;
  description: string;
  check(resource: CheckedResource): string[];
}

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const WORLD = ["0.0.0.0/0", "::/0"];
const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"];
/** Env names that carry credentials; on Kubernetes they must come from a Secret, never a literal. */
const CREDENTIAL_ENV = /(PASSWORD|SECRET|TOKEN|_URL|_DSN|CREDENTIALS?)$/;

function podSpec(props: Obj): Obj {
  return obj(obj(obj(props.spec).template).spec);
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
    description: "A Cloud Firewall never opens SSH to the whole internet.",
    check: ({ type, props }) => {
      if (type !== "digitalocean:index/firewall:Firewall") return [];
      return list(props.inboundRules)
        .map(obj)
        .filter((r) => String(r.portRange) === "22" && list(r.sourceAddresses).some((a) => WORLD.includes(String(a))))
        .map(() => "SSH (22) is open to 0.0.0.0/0 or ::/0");
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
    description: "Kubernetes containers receive credentials from Secrets (valueFrom), never as env literals.",
    check: ({ type, props }) => {
      if (!WORKLOADS.includes(type)) return [];
      return containersOf(podSpec(props)).flatMap((c) =>
        list(c.env)
          .map(obj)
          .filter((e) => CREDENTIAL_ENV.test(String(e.name)) && e.value !== undefined)
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
