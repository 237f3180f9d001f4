import type { FakeInvoke, FakeOutputs } from "./fakes";
import { fakeHex as hex, inputString as str } from "./fake-values";
import { wireSecret } from "./secret";

/**
 * Fake provider outputs for the droplet target's resource types. Addresses come from the
 * documentation ranges (RFC 5737 TEST-NET-3, 203.0.113.0/24); tokens are obviously fake.
 */
export const OFFLINE_DROPLET_IP = "203.0.113.10";
export const OFFLINE_RESERVED_IP = "203.0.113.20";
export const OFFLINE_REGISTRY_SERVER = "registry.digitalocean.com";
const OFFLINE_DOCKER_VERSION = "28.5.1";

const numericId = (seed: string): number => 100000 + (parseInt(hex(seed, 8), 16) % 900000);

/** What DOCR's docker-credentials endpoint returns: a Docker config JSON (secret). */
function dockerCredentials(registry: string, write: boolean): string {
  const token = `offline-${write ? "rw" : "ro"}-${hex(`docr:${registry}:${write}`, 24)}`;
  return JSON.stringify({ auths: { [OFFLINE_REGISTRY_SERVER]: { auth: Buffer.from(`${token}:${token}`).toString("base64") } } });
}

function registry(name: string, region: string): Record<string, unknown> {
  return { name, endpoint: `${OFFLINE_REGISTRY_SERVER}/${name}`, serverUrl: OFFLINE_REGISTRY_SERVER, region, subscriptionTierSlug: "basic", storageUsageBytes: 0, createdAt: "2026-01-01T00:00:00Z" };
}

export const dropletFakes: Record<string, FakeOutputs> = {
  "digitalocean:index/vpc:Vpc": (inputs, name) => ({ urn: `do:vpc:${hex(`vpc:${name}`, 8)}`, ipRange: "10.110.0.0/20", default: false, region: str(inputs.region, "nyc3") }),
  "digitalocean:index/tag:Tag": (inputs, name) => ({ name: str(inputs.name, name), dropletsCount: 1, totalResourceCount: 1 }),
  "digitalocean:index/droplet:Droplet": (_inputs, name) => ({
    id: String(numericId(`droplet:${name}`)),
    ipv4Address: OFFLINE_DROPLET_IP,
    ipv4AddressPrivate: "10.110.0.2",
    ipv6Address: "",
    status: "active",
    locked: false,
    dropletUrn: `do:droplet:${numericId(`droplet:${name}`)}`,
    createdAt: "2026-01-01T00:00:00Z",
    disk: 80,
    memory: 4096,
    vcpus: 2,
  }),
  "digitalocean:index/reservedIp:ReservedIp": (_inputs, name) => ({ ipAddress: OFFLINE_RESERVED_IP, reservedIpUrn: `do:reservedip:${OFFLINE_RESERVED_IP}`, urn: name }),
  "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": () => ({}),
  // The Spaces API returns the secret once, on create; the real engine keeps it secret (sensitive in the schema).
  "digitalocean:index/spacesKey:SpacesKey": (inputs, name) => ({ accessKey: `DO00OFFLINE${hex(`spaces-key:${name}`, 12).toUpperCase()}`, secretKey: wireSecret(`offline-${hex(`spaces-secret:${name}`, 32)}`), name: str(inputs.name, name), createdAt: "2026-01-01T00:00:00Z" }),
  "digitalocean:index/spacesBucket:SpacesBucket": (inputs, name) => {
    const bucket = str(inputs.name, name);
    const region = str(inputs.region, "nyc3");
    return { bucketDomainName: `${bucket}.${region}.digitaloceanspaces.com`, endpoint: `${region}.digitaloceanspaces.com`, urn: `do:space:${bucket}` };
  },
  // The Spaces CDN answers at <bucket>.<region>.cdn.digitaloceanspaces.com for a bucket origin.
  "digitalocean:index/cdn:Cdn": (inputs) => ({ endpoint: str(inputs.origin, "offline.nyc3.digitaloceanspaces.com").replace(/\.digitaloceanspaces\.com$/, ".cdn.digitaloceanspaces.com"), createdAt: "2026-01-01T00:00:00Z" }),
  "digitalocean:index/firewall:Firewall": () => ({ status: "succeeded", createdAt: "2026-01-01T00:00:00Z", pendingChanges: [] }),
  "digitalocean:index/dnsRecord:DnsRecord": (inputs) => {
    const domain = str(inputs.domain, "example.com");
    const record = str(inputs.name, "@");
    return { fqdn: record === "@" ? domain : `${record}.${domain}` };
  },
  "digitalocean:index/monitorAlert:MonitorAlert": (_inputs, name) => ({ uuid: `${hex(`alert:${name}`, 8)}-0000-4000-8000-${hex(`alert2:${name}`, 12)}` }),
  "digitalocean:index/containerRegistry:ContainerRegistry": (inputs, name) => registry(str(inputs.name, name), str(inputs.region, "nyc3")),
  // The real engine marks dockerCredentials secret; returning it wrapped keeps the render faithful.
  // Valid expiry_seconds from the (fixed) offline issue time; the provider's default is about 50 years.
  "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": (inputs) => {
    const expirySeconds = Number(inputs.expirySeconds ?? 1576800000);
    return {
      dockerCredentials: wireSecret(dockerCredentials(str(inputs.registryName, "registry"), inputs.write === true)),
      credentialExpirationTime: new Date(Date.UTC(2026, 0, 1) + expirySeconds * 1000).toISOString().replace(/\.000Z$/, "Z"),
      expirySeconds,
    };
  },
  // `cloud-init status --wait` then `docker version`; the TLS activation prints "issued" or "pending".
  "command:remote:Command": (inputs) => ({ stdout: String(inputs.create ?? "").includes("nginx -s reload") ? "issued" : OFFLINE_DOCKER_VERSION, stderr: "" }),
};

export const dropletInvokes: Record<string, FakeInvoke> = {
  "digitalocean:index/getContainerRegistry:getContainerRegistry": (args) => ({ id: str(args.name, "registry"), ...registry(str(args.name, "registry"), "nyc3") }),
  "digitalocean:index/getSshKey:getSshKey": (args) => {
    const name = str(args.name, "key");
    const fingerprint = hex(`ssh:${name}`, 32).replace(/(..)(?!$)/g, "$1:");
    return { id: numericId(`ssh:${name}`), name, fingerprint, publicKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${hex(`pub:${name}`, 43)} ${name}` };
  },
  // The account's zones: the registrable part (last two labels) of every name asked about.
  "digitalocean:index/getDomains:getDomains": (args) => {
    const filters = (Array.isArray(args.filters) ? args.filters : []) as { key?: string; values?: string[] }[];
    const names = filters.filter((f) => f.key === "name").flatMap((f) => f.values ?? []);
    const zones = [...new Set(names.filter((n) => n.split(".").length === 2))];
    return { id: "domains", domains: zones.map((n) => ({ name: n, ttl: 1800, urn: `do:domain:${n}` })) };
  },
  "digitalocean:index/getDomain:getDomain": (args) => ({ id: str(args.name, "example.com"), name: str(args.name, "example.com"), ttl: 1800, urn: `do:domain:${str(args.name, "example.com")}`, zoneFile: "" }),
};
