import * as pulumi from "@pulumi/pulumi";
import { PATHS } from "../../../model/build";
import * as names from "../../../model/names";
import { appConnections, serviceEndpoints } from "../../env";
import { ImagesTier } from "../../images";
import { DockerCli, dockerScript } from "../docker/cli";
import { DockerRealizer } from "../docker/realizer";
import { Deployer } from "../types";
import { DropletHost } from "./host";
import { PLACEHOLDER_MARKER, TlsBootstrap, TlsSettings, tlsSettingsFor } from "./tls";

export { DropletHost } from "./host";

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

/**
 * The `droplet` target: the `local` stack's Docker realizer, unchanged, driving the engine of one
 * hardened Droplet over SSH, with images from the DigitalOcean Container Registry pinned by digest
 * and Let's Encrypt TLS when a domain is set.
 */
export const deployDroplet: Deployer = ({ name, config, model, credentials }) => {
  const host = new DropletHost(`${name}-host`, { config, serverNames: model.serverNames });
  const images = new ImagesTier(`${name}-images`, {
    config,
    registry: { server: host.registry.server, repositoryPrefix: host.registry.endpoint, username: host.registry.push.username, password: host.registry.push.password },
  });
  for (const app of config.apps) {
    if (app.source.kind === "image" && !app.source.image.includes("@sha256:")) {
      pulumi.log.warn(`djangostack: app "${app.name}" runs image "${app.source.image}" by tag; pin it by digest (name@sha256:...) so a release is an explicit change.`);
    }
  }

  const tls = tlsSettingsFor(config, model.serverNames);
  if (!config.domain) {
    pulumi.log.warn(
      `djangostack: stack ${config.stack} has no domain, so there is no TLS: nginx serves plain HTTP on the Droplet's reserved IP. ` +
        "Set djangostack:domain and edge.tls.email to get a Let's Encrypt certificate.",
    );
  } else if (config.edge.tls.mode === "none") {
    pulumi.log.warn(`djangostack: edge.tls.mode is "none": ${config.domain} is served over plain HTTP.`);
  }

  const wait = [host.bootstrap];
  const cli: DockerCli = { kind: "ssh", host: host.address, user: config.droplet?.deployUser ?? "deploy" };
  // Filled by the realizer's hook, which runs inside its constructor.
  const hooked: { tls?: TlsBootstrap } = {};
  const realizer = new DockerRealizer(`${name}-docker`, {
    config,
    model,
    credentials,
    images,
    provider: host.dockerProvider,
    cli,
    dependsOn: wait,
    publishIp: "0.0.0.0",
    beforeEdge: tls
      ? (hook) => {
          const bootstrap = new TlsBootstrap(`${name}-tls`, { config, settings: tls, hook, dependsOn: wait }, { parent: hook.parent });
          hooked.tls = bootstrap;
          return [bootstrap.placeholderRun, bootstrap.certbot];
        }
      : undefined,
  });

  let tlsNote = "none: plain HTTP";
  if (tls && hooked.tls) {
    const nginx = realizer.containers[names.EDGE];
    const certbot = hooked.tls.certbot;
    dockerScript(
      `${name}-tls-activate`,
      cli,
      { script: pulumi.all([certbot.name, nginx.name]).apply(([c, n]) => activationScript(tls, c, n)), triggers: [certbot.id, nginx.id], timeout: "10m" },
      { parent: realizer, dependsOn: [nginx, certbot] },
    );
    tlsNote = `letsencrypt${tls.staging ? " (staging CA)" : ""}: ${tls.names.join(", ")}`;
  } else if (config.edge.tls.mode === "files") {
    tlsNote = "files: the certificate and key at the configured paths on the Droplet";
  }

  const scheme = config.domain && config.edge.tls.mode !== "none" ? "https" : "http";
  const url = config.domain ? pulumi.output(`${scheme}://${config.domain}`) : pulumi.interpolate`http://${host.address}`;
  return {
    url,
    healthUrl: pulumi.interpolate`${url}${config.apps[0].healthPath}`,
    images: images.refs,
    connections: appConnections(config.apps, credentials, serviceEndpoints()),
    extra: {
      dropletIp: host.dropletIp,
      reservedIp: host.address,
      sshCommand: host.sshCommand,
      registry: host.registry.endpoint,
      dns: host.dns,
      tls: tlsNote,
      monitoring: host.monitoring,
    },
  };
};
