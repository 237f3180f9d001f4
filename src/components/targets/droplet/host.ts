import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as docker from "@pulumi/docker";
import { recordArtifact } from "../../../artifacts";
import { DropletConfig, EdgeConfig, StackConfig } from "../../../config/types";
import { renderCloudInit, waitForBootstrapCommand } from "../../../render/cloudinit";
import { machine, withOverrides } from "../../../config/prices";
import { NO_ALERT_DESTINATION } from "../../../config/capacity";
import { registryCredentials } from "../../registry-credentials";
import { alertNotifications } from "./signals";

/** journald's cap on the Droplet; Docker's own logs are capped separately by daemon.json. */
export const JOURNAL_MAX_USE = "500M";
/** DOCR's data centers (a registry in another region is refused by the API). */
const DOCR_REGIONS = ["nyc3", "sfo3", "ams3", "sgp1", "fra1", "blr1", "syd1", "tor1"];
const MD5_FINGERPRINT = /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i;
const KEY_ID = /^[0-9]+$/;

export interface DropletHostArgs {
  config: StackConfig;
  /** Host names nginx answers for (the domain first, then app hosts): each gets an A record when DNS is managed. */
  serverNames: string[];
  /** Logins of the private registries the apps' named images come from (beside DOCR's). */
  registryAuth: docker.types.input.ProviderRegistryAuth[];
}

export interface RegistryInfo {
  name: pulumi.Output<string>;
  /** "registry.digitalocean.com" */
  server: pulumi.Output<string>;
  /** "registry.digitalocean.com/<name>": images are pushed below it. */
  endpoint: pulumi.Output<string>;
  /** Push credentials (write), for the image build on the deploying machine. Secret. */
  push: { username: pulumi.Output<string>; password: pulumi.Output<string> };
  /** Docker config JSON with read-only credentials, handed to the Droplet's docker provider. Secret. */
  pullConfig: pulumi.Output<string>;
}

/** The domain and each parent with at least two labels: where its DNS zone may be. */
export function zoneCandidates(domain: string): string[] {
  const labels = domain.split(".");
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join("."));
}

/** The most specific zone holding `domain`, among the zones found in the account. */
export function pickZone(zones: string[], domain: string): string | undefined {
  return zones.filter((z) => domain === z || domain.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];
}

/** `{"auths": {"registry.digitalocean.com": {"auth": base64("user:password")}}}` -> user and password. */
export function parseDockerCredentials(json: string, server: string): { username: string; password: string } {
  const parsed = JSON.parse(json) as { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  const entry = parsed.auths?.[server] ?? Object.values(parsed.auths ?? {})[0];
  if (!entry) throw new Error(`djangostack: the registry credentials hold no entry for ${server}`);
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  const decoded = Buffer.from(entry.auth ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 1) throw new Error(`djangostack: the registry credentials for ${server} are not in user:password form`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A record name inside `zone` for `host`, or undefined when the host lies outside the zone. */
export function recordName(host: string, zone: string): string | undefined {
  if (host === zone) return "@";
  return host.endsWith(`.${zone}`) ? host.slice(0, -(zone.length + 1)) : undefined;
}

/** The tag every resource of this stack carries; the firewall and the alerts select the Droplet by it. */
export const stackTag = (config: StackConfig): string => `djangostack-${config.project}-${config.stack}`.toLowerCase().replace(/[^a-z0-9:_-]/g, "-");

/**
 * SSH from the admin networks, and exactly the ports nginx publishes on the host (edge.httpPort, and
 * edge.httpsPort with TLS: what the realizer maps), from anywhere. Nothing else comes in: the data
 * services publish no port.
 */
export const firewallRules = (droplet: DropletConfig, edge: Pick<EdgeConfig, "httpPort" | "httpsPort" | "tls">): { inbound: digitalocean.types.input.FirewallInboundRule[]; outbound: digitalocean.types.input.FirewallOutboundRule[] } => {
  const anywhere = ["0.0.0.0/0", "::/0"];
  const published = [edge.httpPort, ...(edge.tls.mode === "none" ? [] : [edge.httpsPort])];
  return {
    inbound: [
      { protocol: "tcp", portRange: "22", sourceAddresses: [...droplet.adminCidrs] },
      ...published.map((port) => ({ protocol: "tcp", portRange: String(port), sourceAddresses: anywhere })),
    ],
    outbound: [
      { protocol: "tcp", portRange: "1-65535", destinationAddresses: anywhere },
      { protocol: "udp", portRange: "1-65535", destinationAddresses: anywhere },
      { protocol: "icmp", destinationAddresses: anywhere },
    ],
  };
};

/**
 * DigitalOcean Monitoring alert policies for the Droplet. Types, comparisons and windows are the ones
 * terraform-provider-digitalocean accepts (digitalocean/monitoring/resource_monitor_alert.go: the
 * godo Droplet types; windows 5m, 10m, 30m, 1h). There is no swap metric among them: memory is the
 * signal. The load alert fires at twice the vCPUs (runnable work waiting for a core) for 10 minutes.
 */
export function hostAlerts(config: Pick<StackConfig, "droplet" | "prices">): { key: string; type: string; value: number; window: "5m" | "10m" | "30m" | "1h"; what: string }[] {
  const vcpus = config.droplet ? machine(withOverrides(config.prices), "droplets", config.droplet.size)?.vcpus : undefined;
  return [
    { key: "cpu", type: "v1/insights/droplet/cpu", value: 85, window: "10m", what: "CPU above 85% for 10 minutes" },
    { key: "memory", type: "v1/insights/droplet/memory_utilization_percent", value: 90, window: "10m", what: "memory above 90% for 10 minutes" },
    { key: "disk", type: "v1/insights/droplet/disk_utilization_percent", value: 85, window: "5m", what: "disk above 85%" },
    ...(vcpus ? [{ key: "load", type: "v1/insights/droplet/load_5", value: 2 * vcpus, window: "10m" as const, what: `5-minute load above ${2 * vcpus} (2 x ${vcpus} vCPU) for 10 minutes` }] : []),
  ];
}

/**
 * The staging host: VPC, Droplet bootstrapped by cloud-init, Reserved IP, Cloud Firewall, DNS records,
 * monitoring alerts and the Container Registry; then a wait for cloud-init over SSH, and the docker
 * provider that drives the Droplet's engine over SSH as the deploy user.
 */
export class DropletHost extends pulumi.ComponentResource {
  readonly vpc: digitalocean.Vpc;
  readonly tag: digitalocean.Tag;
  readonly droplet: digitalocean.Droplet;
  readonly reservedIp: digitalocean.ReservedIp;
  readonly firewall: digitalocean.Firewall;
  readonly dnsRecords: digitalocean.DnsRecord[] = [];
  readonly alerts: digitalocean.MonitorAlert[] = [];
  readonly registry: RegistryInfo;
  /** `cloud-init status --wait` over SSH: every Docker resource depends on it. */
  readonly bootstrap: command.remote.Command;
  readonly dockerProvider: docker.Provider;
  /** The address everything connects to: the Reserved IP (stable across Droplet replacement). */
  readonly address: pulumi.Output<string>;
  readonly dropletIp: pulumi.Output<string>;
  readonly sshCommand: pulumi.Output<string>;
  /** "managed: ...", "manual: ..." or "none: ...": the DNS records made, or the ones to create by hand. */
  readonly dns: pulumi.Output<string>;
  readonly monitoring: string;
  /** The rendered user data (stable: see renderCloudInit). */
  readonly userData: string;

  constructor(name: string, args: DropletHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:droplet:Host", name, {}, opts);
    const { config } = args;
    const dr = config.droplet;
    if (!dr) throw new Error('djangostack: DropletHost needs the "droplet" config section (target "droplet")');
    const prefix = `djangostack-${config.stack}`;
    const parent = { parent: this };

    this.userData = renderCloudInit({ deployUser: dr.deployUser, swapGiB: dr.swapGiB, docker: config.docker, journalMaxUse: JOURNAL_MAX_USE });
    recordArtifact("cloud-init/user-data.yaml", this.userData);

    this.vpc = new digitalocean.Vpc(`${name}-vpc`, { name: `${prefix}-vpc`, region: config.region, description: `djangostack ${config.stack}` }, parent);
    this.tag = new digitalocean.Tag(`${name}-tag`, { name: stackTag(config) }, parent);

    const sshKeys = dr.sshKeys.map((key) =>
      MD5_FINGERPRINT.test(key) || KEY_ID.test(key) ? pulumi.output(key) : digitalocean.getSshKeyOutput({ name: key }, parent).id.apply((id) => String(id)),
    );
    this.droplet = new digitalocean.Droplet(
      `${name}-droplet`,
      {
        name: prefix,
        image: dr.image,
        size: dr.size,
        region: config.region,
        vpcUuid: this.vpc.id,
        sshKeys,
        tags: [this.tag.name, ...dr.tags.filter((t) => t !== stackTag(config))],
        monitoring: true,
        ipv6: false,
        gracefulShutdown: true,
        userData: this.userData,
        // DigitalOcean's disk-image backups (droplet.backups); updated in place, never a replacement.
        backups: dr.backups !== "none",
        ...(dr.backups === "none" ? {} : { backupPolicy: { plan: dr.backups, ...(dr.backups === "weekly" ? { weekday: "SUN" } : {}), hour: 0 } }),
      },
      {
        parent: this,
        // DigitalOcean replaces a Droplet (and every Docker volume on its disk: the staging database)
        // when user_data or ssh_keys change. Both only matter at first boot — cloud-init is a one-time
        // bootstrap and the keys are copied to the deploy user then — so a change to either must never
        // replace the host silently. A changed bootstrap is reported below; `pulumi up --replace <urn>`
        // applies it deliberately.
        ignoreChanges: ["userData", "sshKeys"],
      },
    );
    // The provider stores sha1(user_data); flag a bootstrap the running Droplet never received.
    const rendered = this.userData;
    const renderedSha1 = createHash("sha1").update(rendered).digest("hex");
    this.droplet.userData.apply((applied) => {
      if (applied && applied !== rendered && applied !== renderedSha1) {
        pulumi.log.warn(
          "djangostack: the rendered cloud-init differs from the one this Droplet booted with. It is a one-time bootstrap and is not re-applied; " +
            "apply the change on the host, or rebuild the Droplet on purpose with `pulumi up --replace` on it (its Docker volumes, the staging data, go with it).",
          this.droplet,
        );
      }
      return applied;
    });

    this.reservedIp = new digitalocean.ReservedIp(`${name}-ip`, { region: config.region }, parent);
    const assignment = new digitalocean.ReservedIpAssignment(
      `${name}-ip-assignment`,
      { ipAddress: this.reservedIp.ipAddress, dropletId: this.droplet.id.apply((id) => Number(id)) },
      parent,
    );
    this.address = this.reservedIp.ipAddress;
    this.dropletIp = this.droplet.ipv4Address;

    const rules = firewallRules(dr, config.edge);
    // Selected by tag: a replacement Droplet is covered from its first second.
    this.firewall = new digitalocean.Firewall(`${name}-firewall`, { name: `${prefix}-firewall`, tags: [this.tag.name], inboundRules: rules.inbound, outboundRules: rules.outbound }, parent);

    // DNS: A records in the DigitalOcean zone holding the domain (looked up: "staging.example.com" may
    // live in the zone "example.com"), pointing at the Reserved IP. No zone: a note instead of records.
    const hosts = args.serverNames;
    if (config.domain && dr.dnsManaged) {
      const domain = config.domain;
      const zones = digitalocean.getDomains({ filters: [{ key: "name", values: zoneCandidates(domain) }] }, parent);
      this.dns = pulumi.output(
        zones.then((found) => {
          const zone = pickZone(found.domains.map((d) => d.name), domain);
          if (!zone) return `manual: no DigitalOcean DNS zone holds ${domain}; create A records for ${hosts.join(", ")} pointing at the reserved IP`;
          const outside: string[] = [];
          for (const host of hosts) {
            const record = recordName(host, zone);
            if (record === undefined) {
              outside.push(host);
              continue;
            }
            this.dnsRecords.push(
              new digitalocean.DnsRecord(`${name}-dns-${record === "@" ? "apex" : record.replace(/\./g, "-")}`, { domain: zone, type: "A", name: record, value: this.reservedIp.ipAddress, ttl: 300 }, parent),
            );
          }
          const managed = hosts.filter((h) => !outside.includes(h));
          return `managed: A records for ${managed.join(", ")} in the DigitalOcean zone ${zone}${outside.length > 0 ? `; create A records for ${outside.join(", ")} (outside the zone) by hand` : ""}`;
        }),
      );
    } else if (config.domain) {
      this.dns = pulumi.output(`manual: droplet.dnsManaged is false; create A records for ${hosts.join(", ")} pointing at the reserved IP`);
    } else {
      this.dns = pulumi.output("none: no domain; the stack answers on the reserved IP over plain HTTP");
    }

    const alerts = hostAlerts(config);
    const notifications = alertNotifications(config);
    for (const a of notifications.length > 0 ? alerts : []) {
      this.alerts.push(
        new digitalocean.MonitorAlert(
          `${name}-alert-${a.key}`,
          { alerts: notifications[0], compare: "GreaterThan", type: a.type, value: a.value, window: a.window, tags: [this.tag.name], enabled: true, description: `djangostack ${config.stack}: ${a.what}` },
          parent,
        ),
      );
    }
    this.monitoring =
      notifications.length > 0
        ? `host alerts to ${dr.alertEmails.join(", ")}: ${alerts.map((a) => a.what).join("; ")}`
        : "NO HOST ALERTS: droplet.alertEmails is empty (the monitoring agent still collects metrics)";
    if (notifications.length === 0) pulumi.log.warn(NO_ALERT_DESTINATION, this);

    this.registry = this.containerRegistry(name, dr, config);

    // Wait for cloud-init as the deploy user: that login only works once the bootstrap copied the keys,
    // and the dial is retried (≈15 min) while the Droplet boots. Runs again for a replacement Droplet.
    this.bootstrap = new command.remote.Command(
      `${name}-cloud-init-wait`,
      {
        connection: { host: this.address, user: dr.deployUser, dialErrorLimit: 180, perDialTimeout: 15 },
        create: waitForBootstrapCommand(),
        triggers: [this.droplet.id],
      },
      { parent: this, dependsOn: [assignment, this.firewall], customTimeouts: { create: "30m" } },
    );

    // The provider's address is read through the wait's output: it is only known once cloud-init is done.
    const host = pulumi.all([this.bootstrap.stdout, this.address]).apply(([, ip]) => `ssh://${dr.deployUser}@${ip}`);
    this.dockerProvider = new docker.Provider(
      `${name}-docker`,
      {
        host,
        sshOpts: ["-o", "StrictHostKeyChecking=accept-new", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=30", "-o", "ServerAliveCountMax=6"],
        registryAuth: [{ address: this.registry.server, configFileContent: this.registry.pullConfig }, ...args.registryAuth],
      },
      { parent: this, dependsOn: [this.bootstrap] },
    );
    this.sshCommand = pulumi.interpolate`ssh ${dr.deployUser}@${this.address}`;

    this.registerOutputs({ dropletIp: this.dropletIp, reservedIp: this.address, sshCommand: this.sshCommand, registry: this.registry.endpoint, dns: this.dns });
  }

  private containerRegistry(name: string, dr: DropletConfig, config: StackConfig): RegistryInfo {
    const parent = { parent: this };
    const registry = dr.registry.create
      ? new digitalocean.ContainerRegistry(
          `${name}-registry`,
          { name: dr.registry.name, subscriptionTierSlug: dr.registry.tier, region: DOCR_REGIONS.includes(config.region) ? config.region : undefined },
          // One registry per account, shared by every stack: never deleted with this one.
          { parent: this, retainOnDelete: true },
        )
      : digitalocean.getContainerRegistryOutput({ name: dr.registry.name }, parent);
    const credentials = (suffix: string, write: boolean) => registryCredentials(`${name}-registry-${suffix}`, registry.name, write, this).dockerCredentials;
    const pushConfig = credentials("push", true);
    const push = pulumi.all([pushConfig, registry.serverUrl]).apply(([json, server]) => parseDockerCredentials(json, server));
    return {
      name: registry.name,
      server: registry.serverUrl,
      endpoint: registry.endpoint,
      push: { username: pulumi.secret(push.username), password: pulumi.secret(push.password) },
      pullConfig: pulumi.secret(credentials("pull", false)),
    };
  }
}
