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
  opts: { protect?: boolean };
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

const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"];
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
