import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { recordArtifact } from "../../../artifacts";
import { StackConfig } from "../../../config/types";
import { EDGE_PORTS, PATHS } from "../../../model/build";
import * as names from "../../../model/names";
import { DockerCli, dockerScript } from "./cli";
import { pinnedImage, pinsPublicImages } from "../../pinning";
import type { DockerRealizer, EdgeHookContext } from "./realizer";

/*
 * Let's Encrypt on a Docker host with a public edge: the Droplet, or target docker with
 * docker.publish "public" (a server the user runs). Both targets wire it through `letsEncryptEdge`.
 */

/** Pinned: a certbot upgrade is a reviewed change, not a side effect of a redeploy. */
export const CERTBOT_IMAGE = "certbot/certbot:v5.3.0";
/** nginx-unprivileged runs as this uid and must read the private key. */
export const NGINX_UID = 101;
/** Marks a self-signed stand-in so the certbot loop knows it may delete the live/ folder. */
export const PLACEHOLDER_MARKER = ".djangostack-placeholder";
const RETRY_SECONDS = 1800;
const RENEW_SECONDS = 12 * 3600;

export interface TlsSettings {
  /** The certificate name; nginx.conf reads live/<domain>/fullchain.pem and privkey.pem. */
  domain: string;
  /** Every name on the certificate: the domain first, then the app hosts. */
  names: string[];
  email: string;
  /** Let's Encrypt staging CA (untrusted certificates, generous rate limits). */
  staging: boolean;
}

export function tlsSettingsFor(config: StackConfig, serverNames: string[]): TlsSettings | undefined {
  const tls = config.edge.tls;
  if (tls.mode !== "letsencrypt" || !config.domain) return undefined;
  if (!tls.email) throw new Error("djangostack: edge.tls.email is required for Let's Encrypt");
  return { domain: config.domain, names: serverNames, email: tls.email, staging: tls.staging };
}

const SH_SAFE = /^[A-Za-z0-9@._+-]+$/;
function checkSafe(settings: TlsSettings): void {
  for (const v of [settings.domain, settings.email, ...settings.names]) {
    if (!SH_SAFE.test(v)) throw new Error(`djangostack: "${v}" cannot be used in the certbot script`);
  }
}

function common(settings: TlsSettings): string {
  return `set -eu
DOMAIN=${settings.domain}
LIVE=${PATHS.certs}/live/$DOMAIN
log() { echo "djangostack-tls: $*"; }
placeholder() {
  mkdir -p "$LIVE"
  openssl req -x509 -nodes -newkey rsa:2048 -days 30 -subj "/CN=$DOMAIN" -keyout "$LIVE/privkey.pem" -out "$LIVE/fullchain.pem" 2>/dev/null
  touch "$LIVE/${PLACEHOLDER_MARKER}"
  log "self-signed placeholder written to $LIVE"
}
`;
}

/** One-off, before nginx: a self-signed stand-in when no certificate exists yet, so nginx can start. */
export function placeholderScript(settings: TlsSettings): string {
  checkSafe(settings);
  return `${common(settings)}
if [ -f "$LIVE/fullchain.pem" ] && [ -f "$LIVE/privkey.pem" ]; then
  log "a certificate for $DOMAIN is present; nothing to do"
else
  placeholder
fi
mkdir -p ${PATHS.acmeWebroot}/.well-known/acme-challenge
# certbot runs as nginx's uid (${NGINX_UID}): it owns both volumes, and nginx reads the key it writes.
chown -R ${NGINX_UID}:${NGINX_UID} ${PATHS.certs} ${PATHS.acmeWebroot}
`;
}

/**
 * Long-running: waits until nginx serves the ACME path, replaces the placeholder with a Let's Encrypt
 * certificate (HTTP-01 through nginx's webroot), then renews every 12 h. A failed first issuance
 * (DNS not pointing here yet) restores the placeholder and retries every 30 min, within Let's Encrypt's
 * failed-validation limit. Changing the names or the CA re-issues on the next start of this container.
 */
export function certbotScript(settings: TlsSettings): string {
  checkSafe(settings);
  const want = settings.staging ? "staging" : "production";
  const domains = settings.names.map((n) => `-d ${n}`).join(" ");
  const probe = `${PATHS.acmeWebroot}/.well-known/acme-challenge/djangostack-probe`;
  return `${common(settings)}
RENEWAL=${PATHS.certs}/renewal/$DOMAIN.conf
issue() {
  certbot certonly --webroot -w ${PATHS.acmeWebroot} --cert-name "$DOMAIN" ${domains} \\
    --email ${settings.email} --agree-tos --no-eff-email --non-interactive \\
    --keep-until-expiring --expand${settings.staging ? " --test-cert" : ""} "$@"
}

mkdir -p "$(dirname ${probe})"
echo ok > ${probe}
until wget -q -O /dev/null --header "Host: $DOMAIN" http://${names.EDGE}:${EDGE_PORTS.http}/.well-known/acme-challenge/djangostack-probe; do
  log "waiting for nginx to serve /.well-known/acme-challenge/"
  sleep 5
done
rm -f ${probe}

FORCE=""
if [ -f "$RENEWAL" ]; then
  if grep -q acme-staging "$RENEWAL"; then CURRENT=staging; else CURRENT=production; fi
  if [ "$CURRENT" != "${want}" ]; then
    log "switching from the $CURRENT CA to ${want}"
    FORCE="--force-renewal --break-my-certs"
  fi
fi

while :; do
  # certbot refuses to write into a live/ folder it did not create: drop the placeholder first.
  if [ -f "$LIVE/${PLACEHOLDER_MARKER}" ]; then rm -rf "$LIVE"; fi
  # shellcheck disable=SC2086
  if issue $FORCE; then break; fi
  log "issuance failed (does DNS for ${settings.names.join(", ")} point at this host?); retrying in ${RETRY_SECONDS / 60} min"
  if [ ! -f "$LIVE/fullchain.pem" ]; then placeholder; fi
  sleep ${RETRY_SECONDS}
done
log "certificate for ${settings.names.join(", ")} in place; nginx picks it up at its next reload"

while :; do
  sleep ${RENEW_SECONDS}
  certbot renew --webroot -w ${PATHS.acmeWebroot} --non-interactive || log "renewal failed; retrying in 12 h"
done
`;
}

export interface TlsBootstrapArgs {
  config: StackConfig;
  settings: TlsSettings;
  hook: EdgeHookContext;
  /** Every container waits for these (the Droplet's cloud-init; nothing on a server the user runs). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Container names (fixed): the activation step reloads nginx once the first certificate is issued. */
export const tlsContainerName = (stack: string, role: "certbot" | "tls-placeholder"): string => `djangostack-${stack}-${role}`;

/**
 * TLS bootstrap on the Docker host, handed to the realizer's `beforeEdge` hook: nginx waits for both
 * containers. They share the `certs` and `acme` volumes nginx mounts read-only.
 */
export class TlsBootstrap extends pulumi.ComponentResource {
  readonly placeholder: docker.Container;
  /** The placeholder's run: nginx and certbot wait for it. */
  readonly placeholderRun: pulumi.Resource;
  readonly certbot: docker.Container;

  constructor(name: string, args: TlsBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    // The type token predates the docker target's use: changing it would re-create a Droplet stack's TLS containers.
    super("djangostack:droplet:Tls", name, {}, opts);
    const { config, settings, hook } = args;
    const certs = hook.volumes[names.volume.certs];
    const acme = hook.volumes[names.volume.acme];
    if (!certs || !acme) throw new Error("djangostack: the realizer created no certs/acme volumes; is edge.tls.mode letsencrypt?");
    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider: hook.provider, dependsOn: args.dependsOn };
    const ref = pinsPublicImages(config) ? pinnedImage(CERTBOT_IMAGE, this) : CERTBOT_IMAGE;
    const image = new docker.RemoteImage(`${name}-certbot-image`, { name: ref, keepLocally: true }, childOpts).imageId;
    const placeholder = placeholderScript(settings);
    const certbot = certbotScript(settings);
    recordArtifact("tls/placeholder.sh", placeholder);
    recordArtifact("tls/certbot.sh", certbot);
    const common = {
      image,
      entrypoints: ["/bin/sh", "-c"],
      volumes: [
        { volumeName: certs.name, containerPath: PATHS.certs },
        { volumeName: acme.name, containerPath: PATHS.acmeWebroot },
      ],
      // certbot writes only its config, work and log dirs; the root filesystem stays read-only.
      readOnly: true,
      tmpfs: { "/var/lib/letsencrypt": "rw,nosuid,nodev,size=16m", "/var/log/letsencrypt": "rw,nosuid,nodev,size=16m", "/tmp": "rw,nosuid,nodev,size=16m" },
      securityOpts: ["no-new-privileges:true"],
      memory: 256,
      cpus: "0.25",
      logDriver: "json-file",
      logOpts: { "max-size": `${config.docker.logMaxSizeMiB}m`, "max-file": String(config.docker.logMaxFiles) },
    };
    const labels = (role: string) => [
      { label: "djangostack.stack", value: config.stack },
      { label: "djangostack.process", value: role },
      { label: "djangostack.role", value: "tls" },
    ];
    this.placeholder = new docker.Container(
      `${name}-placeholder`,
      {
        ...common,
        name: tlsContainerName(config.stack, "tls-placeholder"),
        command: [placeholder],
        labels: labels("tls-placeholder"),
        // The one root step, offline and short: enough to create the key and hand both volumes to nginx's uid.
        networkMode: "none",
        capabilities: { drops: ["ALL"], adds: ["CHOWN", "DAC_OVERRIDE", "FOWNER"] },
        restart: "no",
        start: false,
        mustRun: false,
      },
      { ...childOpts, deleteBeforeReplace: true },
    );
    // A failed placeholder stops the rollout here (and is retried by the next up) rather than letting nginx crash-loop on a missing key.
    this.placeholderRun = hook.runOnce(`${name}-placeholder`, "tls-placeholder", this.placeholder, this);
    this.certbot = new docker.Container(
      `${name}-certbot`,
      {
        ...common,
        name: tlsContainerName(config.stack, "certbot"),
        command: [certbot],
        labels: labels("certbot"),
        // Long-running and talking to the internet: nginx's uid, no capabilities.
        user: `${NGINX_UID}:${NGINX_UID}`,
        capabilities: { drops: ["ALL"] },
        networksAdvanced: [{ name: hook.network.name, aliases: ["certbot"] }],
        restart: "unless-stopped",
        stopTimeout: 10,
      },
      { ...childOpts, dependsOn: [...args.dependsOn, this.placeholderRun], deleteBeforeReplace: true },
    );
    this.registerOutputs({ certbot: this.certbot.name });
  }
}

/**
 * Reloads nginx once the first Let's Encrypt certificate replaced the placeholder, so the site does not
 * serve the self-signed stand-in until nginx's periodic reload. Waits up to 5 minutes, never fails the
 * deploy (issuance may wait on DNS); prints "issued" or "pending".
 */
export function activationScript(settings: TlsSettings, certbotContainer: string, nginxContainer: string): string {
  const live = `${PATHS.certs}/live/${settings.domain}`;
  return [
    "for i in $(seq 1 30); do",
    `  if docker exec ${certbotContainer} test -f ${PATHS.certs}/renewal/${settings.domain}.conf && ! docker exec ${certbotContainer} test -f ${live}/${PLACEHOLDER_MARKER}; then`,
    `    docker exec ${nginxContainer} nginx -s reload && echo issued && exit 0`,
    "  fi",
    "  sleep 10",
    "done",
    `echo "pending: no certificate yet for ${settings.names.join(", ")}; see docker logs ${certbotContainer}. nginx serves the placeholder until its next reload (every 6 h) after issuance."`,
  ].join("\n");
}

export interface LetsEncryptEdgeArgs {
  config: StackConfig;
  settings: TlsSettings;
  /** Where the activation's `docker exec` runs against the same engine as the containers. */
  cli: DockerCli;
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The two halves of Let's Encrypt on a Docker host: before nginx (the realizer's hook) and after it. */
export interface LetsEncryptEdge {
  /** Pass as the realizer's `beforeEdge`: the placeholder and certbot, which nginx waits for. */
  beforeEdge: (hook: EdgeHookContext) => pulumi.Resource[];
  /** Call with the realizer once built: the reload after the first issuance. False when there was no edge. */
  activate: (realizer: DockerRealizer) => boolean;
}

export function letsEncryptEdge(name: string, args: LetsEncryptEdgeArgs): LetsEncryptEdge {
  // Filled by the hook, which runs inside the realizer's constructor.
  let bootstrap: TlsBootstrap | undefined;
  return {
    beforeEdge: (hook) => {
      bootstrap = new TlsBootstrap(`${name}-tls`, { config: args.config, settings: args.settings, hook, dependsOn: args.dependsOn }, { parent: hook.parent });
      return [bootstrap.placeholderRun, bootstrap.certbot];
    },
    activate: (realizer) => {
      const nginx = realizer.containers[names.EDGE];
      if (!bootstrap || !nginx) return false;
      const certbot = bootstrap.certbot;
      dockerScript(
        `${name}-tls-activate`,
        args.cli,
        { script: pulumi.all([certbot.name, nginx.name]).apply(([c, n]) => activationScript(args.settings, c, n)), triggers: [certbot.id, nginx.id], timeout: "10m" },
        { parent: realizer, dependsOn: [nginx, certbot] },
      );
      return true;
    },
  };
}
