/**
 * Signals of the Droplet stack that reach a human: a DigitalOcean Uptime check on each app's public
 * health URL and one on the host's container status (src/render/host-status.ts), each with alerts to
 * the stack's alert destination. The host's CPU, memory, disk and load alerts are the DropletHost's.
 *
 * Provider facts (terraform-provider-digitalocean, digitalocean/uptime/resource_uptime_check.go and
 * resource_uptime_alert.go): a check's `type` is ping, http or https; `regions` is read back from the
 * API into state, so it is set explicitly (an unset list would show a diff on every refresh); every
 * check field updates in place. An alert's `type` is latency, down, down_global or ssl_expiry,
 * `comparison` greater_than or less_than, `period` one of 2m 3m 5m 10m 15m 30m 1h; its `check_id` is
 * updated in place although the API addresses an alert by its check, so a new check must bring a new
 * alert (replaceOnChanges below).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as random from "@pulumi/random";
import { StackConfig } from "../../../config/types";
import { appHealthPaths } from "../../../model/names";
import { AppRouting } from "../../../model/types";
import { recordArtifact } from "../../../artifacts";
import { HOST_STATUS, renderHostStatusInstall, renderHostStatusScript } from "../../../render/host-status";

/** Every region DigitalOcean probes from (docs/resources/uptime_check.md). */
export const UPTIME_REGIONS = ["us_east", "us_west", "eu_west", "se_asia"] as const;

export interface UptimeAlertSpec {
  key: string;
  type: "down" | "latency" | "ssl_expiry";
  comparison?: "greater_than" | "less_than";
  threshold?: number;
  period: "2m" | "3m" | "5m" | "10m" | "15m" | "30m" | "1h";
  what: string;
}

/**
 * The alerts of an app's health check: down for 2 minutes, slow for 5, and with TLS a certificate
 * within 14 days of expiry (certbot renews at 30 days left, so this means renewal has been failing).
 */
export function healthAlertSpecs(tls: boolean): UptimeAlertSpec[] {
  return [
    { key: "down", type: "down", period: "2m", what: "down for 2 minutes" },
    { key: "latency", type: "latency", comparison: "greater_than", threshold: 2000, period: "5m", what: "slower than 2000 ms for 5 minutes" },
    ...(tls ? [{ key: "ssl", type: "ssl_expiry" as const, comparison: "less_than" as const, threshold: 14, period: "10m" as const, what: "TLS certificate expires within 14 days" }] : []),
  ];
}

/** The container-status check alerts on down only; 5 minutes lets a deploy's replacements settle. */
export const CONTAINER_ALERT: UptimeAlertSpec = { key: "down", type: "down", period: "5m", what: "a container unhealthy, restarting, stopped or crash-looping for 5 minutes" };

export const usesTls = (config: StackConfig): boolean => config.domain !== undefined && config.edge.tls.mode !== "none";

/** `scheme://host[:port]` the public reaches nginx at (the port only when not the scheme's default). */
export function publicOrigin(config: StackConfig, host: string): string {
  const tls = usesTls(config);
  const port = tls ? config.edge.httpsPort : config.edge.httpPort;
  return `${tls ? "https" : "http"}://${host}${port === (tls ? 443 : 80) ? "" : `:${port}`}`;
}

/**
 * Each app nginx routes, with the host its health path is public on (its own first host, else the
 * domain; undefined: the Droplet's address) and that path: `/_djangostack/<app>/health/`, which nginx
 * passes to the app's healthPath (docs/edge.md).
 */
export function healthTargets(config: StackConfig, routing: readonly AppRouting[]): { app: string; host?: string; path: string }[] {
  return routing.filter((r) => r.routes.length > 0 || r.hosts.length > 0).map((r) => ({ app: r.app, host: r.hosts[0] ?? config.domain, path: appHealthPaths(r.app).health }));
}

/** Where alerts go: the emails of droplet.alertEmails (none: no alert is created). */
export function alertNotifications(config: StackConfig): { emails: string[] }[] {
  const emails = config.droplet?.alertEmails ?? [];
  return emails.length > 0 ? [{ emails: [...emails] }] : [];
}

export interface DropletSignalsArgs {
  config: StackConfig;
  routing: readonly AppRouting[];
  /** The Reserved IP: the checks' host without a domain, and the SSH host of the status install. */
  address: pulumi.Output<string>;
  /** The host bootstrap (cloud-init done): the install runs after it, and again on a new Droplet. */
  bootstrap: command.remote.Command;
  dropletId: pulumi.Input<string>;
}

export class DropletSignals extends pulumi.ComponentResource {
  readonly checks: digitalocean.UptimeCheck[] = [];
  readonly alerts: digitalocean.UptimeAlert[] = [];
  /** Installs the container-status timer on the host; nginx and the containers start after it. */
  readonly statusInstall: command.remote.Command;
  /** What is watched and where alerts go, for the `monitoring` output. */
  readonly summary: string;

  constructor(name: string, args: DropletSignalsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:droplet:Signals", name, {}, opts);
    const { config } = args;
    const dr = config.droplet;
    if (!dr) throw new Error('djangostack: DropletSignals needs the "droplet" config section (target "droplet")');
    const prefix = `djangostack-${config.stack}`;
    const tls = usesTls(config);
    const notifications = alertNotifications(config);
    const origin = (host: string | undefined): pulumi.Output<string> => (host ? pulumi.output(publicOrigin(config, host)) : args.address.apply((ip) => publicOrigin(config, ip)));

    const check = (key: string, target: pulumi.Input<string>, specs: UptimeAlertSpec[]): void => {
      const uptime = new digitalocean.UptimeCheck(
        `${name}-${key}`,
        { name: `${prefix}-${key}`, target, type: tls ? "https" : "http", regions: [...UPTIME_REGIONS], enabled: true },
        { parent: this },
      );
      this.checks.push(uptime);
      if (notifications.length === 0) return;
      for (const s of specs) {
        this.alerts.push(
          new digitalocean.UptimeAlert(
            `${name}-${key}-${s.key}`,
            { name: `${prefix}-${key}-${s.key}`, checkId: uptime.id, type: s.type, comparison: s.comparison, threshold: s.threshold, period: s.period, notifications },
            { parent: this, replaceOnChanges: ["checkId"], deleteBeforeReplace: true },
          ),
        );
      }
    };

    const targets = healthTargets(config, args.routing);
    for (const t of targets) check(`${t.app}-health`, pulumi.interpolate`${origin(t.host)}${t.path}`, healthAlertSpecs(tls));

    recordArtifact("host/container-status.sh", renderHostStatusScript(config.stack));
    // The status URL's last segment is the token: secret in state, masked in the render.
    const token = new random.RandomPassword(`${name}-status-token`, { length: 40, special: false }, { parent: this });
    const secretToken = pulumi.secret(token.result);
    this.statusInstall = new command.remote.Command(
      `${name}-status-install`,
      {
        connection: { host: args.address, user: dr.deployUser, dialErrorLimit: 30, perDialTimeout: 15 },
        // The script (with the token) goes on stdin: never on a command line the host's ps shows.
        create: "sudo sh -s",
        update: "sudo sh -s",
        stdin: pulumi.secret(secretToken.apply((t) => renderHostStatusInstall(config.stack, dr.deployUser, t))),
        triggers: [args.dropletId],
      },
      { parent: this, dependsOn: [args.bootstrap] },
    );
    check("containers", pulumi.secret(pulumi.interpolate`${origin(config.domain)}${HOST_STATUS.urlPrefix}${secretToken}`), [CONTAINER_ALERT]);

    const watched = [
      ...targets.map((t) => `${t.app} health at ${t.host ? publicOrigin(config, t.host) : "the reserved IP"}${t.path}`),
      `container health (a host timer every ${HOST_STATUS.intervalSeconds}s; URL secret)`,
    ].join(", ");
    this.summary =
      notifications.length > 0
        ? `uptime checks from ${UPTIME_REGIONS.join(", ")}: ${watched}; alerts to ${dr.alertEmails.join(", ")}: apps ${healthAlertSpecs(tls).map((s) => s.what).join(", ")}; containers ${CONTAINER_ALERT.what}`
        : `uptime checks from ${UPTIME_REGIONS.join(", ")}: ${watched}; NO ALERTS: droplet.alertEmails is empty, so nobody is told when they fail`;
    this.registerOutputs({ checks: this.checks.map((c) => c.id) });
  }
}
