import type { FakeInvoke, FakeOutputs } from "./fakes";
import { fakeDigest, fakeHex as hex, inputString as str } from "./fake-values";
import { wireSecret } from "./secret";

/**
 * Fake provider outputs for the kubernetes target's resource types (the DigitalOcean VPC, registry and
 * DNS fakes live in fakes-droplet.ts and serve both targets). Addresses come from documentation and
 * private ranges; passwords, tokens and URIs come back secret-wrapped, as the real engine marks them.
 */
export const OFFLINE_LOAD_BALANCER_IP = "203.0.113.50";
/** What DOKS offers, newest first (getKubernetesVersions filters by prefix). */
export const OFFLINE_DOKS_VERSIONS = ["1.34.1-do.0", "1.33.5-do.0", "1.33.2-do.1", "1.32.9-do.2"];

const uuid = (seed: string): string => {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const record = (value: unknown): Record<string, unknown> => (typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {});

/** Managed database ports: PostgreSQL 25060, its PgBouncer pools and Valkey 25061. */
const DB_PORTS: Record<string, number> = { pg: 25060, valkey: 25061, redis: 25061 };
const DB_USERS: Record<string, string> = { pg: "doadmin", valkey: "default", redis: "default" };

/** Kubernetes names what has no metadata.name: `<resource name>-<8 chars>`. */
function autoNamed(inputs: Record<string, unknown>, name: string): Record<string, unknown> {
  const metadata = record(inputs.metadata);
  return { metadata: { ...metadata, name: str(metadata.name, `${name}-${hex(`k8s:${name}`, 8)}`), uid: uuid(`uid:${name}`) } };
}

export const kubernetesFakes: Record<string, FakeOutputs> = {
  "digitalocean:index/kubernetesCluster:KubernetesCluster": (inputs, name) => {
    const id = uuid(`doks:${name}`);
    const endpoint = `https://${id}.k8s.ondigitalocean.com`;
    const ca = Buffer.from(`-----BEGIN CERTIFICATE-----\nOFFLINE${hex(`ca:${name}`, 40)}\n-----END CERTIFICATE-----\n`).toString("base64");
    const token = `dop_v1_offline${hex(`token:${name}`, 40)}`;
    const rawConfig = `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ${ca}\n    server: ${endpoint}\n  name: do-${str(inputs.name, name)}\nusers:\n- name: do-${str(inputs.name, name)}-admin\n  user:\n    token: ${token}\n`;
    return {
      clusterUrn: `do:kubernetes:${id}`,
      endpoint,
      ipv4Address: "",
      clusterSubnet: "10.244.0.0/16",
      serviceSubnet: "10.245.0.0/16",
      status: "running",
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
      // The real engine marks kube_configs secret: the token in it expires after 7 days.
      kubeConfigs: [{ rawConfig: wireSecret(rawConfig), token: wireSecret(token), clusterCaCertificate: ca, host: endpoint, expiresAt: "2026-01-08T00:00:00Z", clientCertificate: "", clientKey: "" }],
      nodePool: { ...record(inputs.nodePool), id: uuid(`pool:${name}`), actualNodeCount: Number(record(inputs.nodePool).nodeCount ?? 1), nodes: [] },
    };
  },
  "digitalocean:index/kubernetesNodePool:KubernetesNodePool": (inputs) => ({ actualNodeCount: Number(inputs.minNodes ?? inputs.nodeCount ?? 1), nodes: [] }),
  "digitalocean:index/databaseCluster:DatabaseCluster": (inputs, name) => {
    const engine = str(inputs.engine, "pg");
    const port = DB_PORTS[engine] ?? 25060;
    const user = DB_USERS[engine] ?? "doadmin";
    const clusterName = str(inputs.name, name);
    const host = `${clusterName}-do-user-0000000-0.k.db.ondigitalocean.com`;
    const privateHost = `private-${host}`;
    const password = `offline${hex(`db-password:${name}`, 24)}`;
    const scheme = engine === "pg" ? "postgresql" : "rediss";
    const database = engine === "pg" ? "defaultdb" : "";
    const uri = (h: string) => `${scheme}://${user}:${password}@${h}:${port}${database ? `/${database}?sslmode=require` : ""}`;
    return {
      clusterUrn: `do:dbaas:${uuid(`db:${name}`)}`,
      host,
      privateHost,
      port,
      user,
      database,
      password: wireSecret(password),
      uri: wireSecret(uri(host)),
      privateUri: wireSecret(uri(privateHost)),
      privateNetworkUuid: str(inputs.privateNetworkUuid, ""),
      metricsEndpoints: [],
    };
  },
  "digitalocean:index/databaseUser:DatabaseUser": (_inputs, name) => ({ password: wireSecret(`offline${hex(`db-user:${name}`, 24)}`), role: "normal", accessCert: "", accessKey: "" }),
  "digitalocean:index/databaseDb:DatabaseDb": () => ({}),
  "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": (inputs, name) => {
    const host = `pool-${hex(`pool:${name}`, 8)}.k.db.ondigitalocean.com`;
    const password = `offline${hex(`pool-password:${name}`, 24)}`;
    const user = str(inputs.user, "doadmin");
    const db = str(inputs.name, name);
    const uri = (h: string) => `postgresql://${user}:${password}@${h}:25061/${db}?sslmode=require`;
    return { host, privateHost: `private-${host}`, port: 25061, user, password: wireSecret(password), uri: wireSecret(uri(host)), privateUri: wireSecret(uri(`private-${host}`)) };
  },
  "digitalocean:index/databaseFirewall:DatabaseFirewall": (inputs) => ({ rules: Array.isArray(inputs.rules) ? inputs.rules.map((r, i) => ({ ...record(r), uuid: uuid(`fw:${i}`), createdAt: "2026-01-01T00:00:00Z" })) : [] }),
  "digitalocean:index/databaseValkeyConfig:DatabaseValkeyConfig": () => ({}),
  "digitalocean:index/certificate:Certificate": (inputs, name) => ({
    uuid: uuid(`cert:${name}`),
    state: "verified",
    notAfter: "2026-04-01T00:00:00Z",
    sha1Fingerprint: hex(`sha1:${name}`, 40),
    name: str(inputs.name, name),
  }),
  // The ConfigMaps and Secrets are named by Pulumi (auto-naming), like the real provider does.
  "kubernetes:core/v1:ConfigMap": autoNamed,
  "kubernetes:core/v1:Secret": autoNamed,
  "kubernetes:core/v1:Service": (inputs, name) => {
    const spec = record(inputs.spec);
    const out: Record<string, unknown> = { spec: { ...spec, clusterIP: spec.clusterIP ?? `10.245.${parseInt(hex(`svc:${name}`, 2), 16)}.${parseInt(hex(`svc2:${name}`, 2), 16)}` } };
    // Pulumi waits for a LoadBalancer Service until DigitalOcean assigned the address.
    if (spec.type === "LoadBalancer") out.status = { loadBalancer: { ingress: [{ ip: OFFLINE_LOAD_BALANCER_IP }] } };
    return out;
  },
};

export const kubernetesInvokes: Record<string, FakeInvoke> = {
  // The registry's digest for a tag (docker.getRegistryImage): one stable fake digest per reference.
  "docker:index/getRegistryImage:getRegistryImage": (args) => {
    const name = str(args.name, "image");
    return { id: name, name, sha256Digest: fakeDigest(`registry:${name}`), insecureSkipVerify: false };
  },
  "digitalocean:index/getKubernetesVersions:getKubernetesVersions": (args) => {
    const prefix = str(args.versionPrefix, "");
    const validVersions = OFFLINE_DOKS_VERSIONS.filter((v) => v.startsWith(prefix));
    return { id: prefix || "versions", versionPrefix: prefix, validVersions, latestVersion: validVersions[0] ?? "" };
  },
};
