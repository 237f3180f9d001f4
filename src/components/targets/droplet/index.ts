import * as pulumi from "@pulumi/pulumi";
import { appConnections, connectionsWith, serviceEndpoints } from "../../env";
import { ImagesTier } from "../../images";
import { DockerCli } from "../docker/cli";
import { registryAuthOf } from "../docker";
import { DockerRealizer } from "../docker/realizer";
import { letsEncryptEdge, tlsSettingsFor } from "../docker/tls";
import { Deployer } from "../types";
import { DropletEgressRoute } from "./egress";
import { DropletHost } from "./host";
import { DropletData } from "./data";
import { DropletSignals } from "./signals";

export { DropletHost } from "./host";
export { activationScript } from "../docker/tls";

/**
 * The `droplet` target: the `local` stack's Docker realizer, unchanged, driving the engine of one
 * hardened Droplet over SSH, with images from the DigitalOcean Container Registry pinned by digest
 * and Let's Encrypt TLS when a domain is set.
 */
export const deployDroplet: Deployer = ({ name, config, model, credentials }) => {
  const droplet = config.droplet;
  if (!droplet) throw new Error('djangostack: target "droplet" needs the djangostack:droplet settings');
  const host = new DropletHost(`${name}-host`, { config, serverNames: model.serverNames, registryAuth: registryAuthOf(credentials) });
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

  const egress = new DropletEgressRoute(`${name}-egress`, {
    mode: droplet.egress,
    reservedIp: host.address,
    dropletIp: host.dropletIp,
    dropletId: host.droplet.id,
    deployUser: droplet.deployUser,
    bootstrap: host.bootstrap,
  });
  // Before any container: nginx bind-mounts the status directory the install creates for the deploy user.
  const signals = new DropletSignals(`${name}-signals`, { config, routing: model.routing, address: host.address, bootstrap: host.bootstrap, dropletId: host.droplet.id });
  const wait = [host.bootstrap, signals.statusInstall];
  const cli: DockerCli = { kind: "ssh", host: host.address, user: droplet.deployUser };
  const managed = config.data.postgres.mode === "managed" || config.data.redis.mode === "managed";
  const data = managed ? new DropletData(`${name}-data`, { config, credentials, vpcId: host.vpc.id, dropletId: host.droplet.id, cli, bootstrap: host.bootstrap }) : undefined;
  const letsEncrypt = tls ? letsEncryptEdge(name, { config, settings: tls, cli, dependsOn: wait }) : undefined;
  const realizer = new DockerRealizer(`${name}-docker`, {
    config,
    model,
    credentials,
    images,
    provider: host.dockerProvider,
    cli,
    dependsOn: wait,
    publishIp: "0.0.0.0",
    publicAddress: host.address,
    beforeEdge: letsEncrypt?.beforeEdge,
    managed: data?.hooks,
  });

  let tlsNote = "none: plain HTTP";
  if (tls && letsEncrypt?.activate(realizer)) {
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
    connections: data ? connectionsWith(config.apps, data.hooks.resolve) : appConnections(config.apps, credentials, serviceEndpoints()),
    egress: egress.info,
    extra: {
      dropletIp: host.dropletIp,
      reservedIp: host.address,
      sshCommand: host.sshCommand,
      registry: host.registry.endpoint,
      dns: host.dns,
      tls: tlsNote,
      monitoring: `${signals.summary}; ${host.monitoring}`,
      databaseHosts: pulumi.all(data?.databaseHosts ?? []),
    },
  };
};
