import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as dockerBuild from "@pulumi/docker-build";
import { StackConfig } from "../../../config/types";
import { dockerHostAddress } from "../../../config/schema";
import { appConnections, serviceEndpoints } from "../../env";
import { ImagesTier } from "../../images";
import { Credentials } from "../../secrets";
import { Deployer } from "../types";
import { DockerCli } from "./cli";
import { DockerRealizer } from "./realizer";
import { letsEncryptEdge, tlsSettingsFor } from "./tls";

/** Where the stack answers: the domain, else the address nginx publishes on (the server's, when public). */
function stackUrl(config: StackConfig): string {
  const publicEdge = config.docker.publish === "public";
  const address = config.domain ?? (publicEdge ? dockerHostAddress(config.docker.host) : undefined);
  if (publicEdge && !address) {
    pulumi.log.warn(
      `djangostack: docker.publish is "public" but neither djangostack:domain nor an ssh:// docker.host names the server's public address; ` +
        "the url output says 127.0.0.1. Set djangostack:domain.",
    );
  }
  const host = address ?? "127.0.0.1";
  const { httpPort, httpsPort } = config.edge;
  return config.edge.tls.mode !== "none" ? `https://${host}${httpsPort === 443 ? "" : `:${httpsPort}`}` : `http://${host}${httpPort === 80 ? "" : `:${httpPort}`}`;
}

/** The private registries' logins as the docker provider takes them (pulls of the apps' named images). */
export function registryAuthOf(credentials: Credentials): docker.types.input.ProviderRegistryAuth[] {
  return Object.entries(credentials.registries).map(([address, l]) => ({ address, username: l.username, password: l.password }));
}

/**
 * The `docker` target: images built on and loaded into the engine at `docker.host` (the local one by
 * default), the whole stack on one private network, nginx on loopback or, on a server the user runs,
 * published on 0.0.0.0 with Let's Encrypt or the operator's certificate.
 */
export const deployLocal: Deployer = ({ name, config, model, credentials }) => {
  const { host, publish, platform } = config.docker;
  // An explicit provider only where it is needed (a remote engine, private registries' logins): moving a
  // stack's resources onto it later replaces none, as the new provider's DiffConfig reports no
  // replacement (pulumi-docker sets ForcesProviderReplace on no config key).
  const registryAuth = registryAuthOf(credentials);
  const provider = host || registryAuth.length > 0 ? new docker.Provider(`${name}-docker`, { host, registryAuth }) : undefined;
  // docker-build's own engine: without a host its provider builds and loads into DOCKER_HOST or the current
  // docker context, so a remote engine would never see the image it is then asked to run.
  const buildProvider = host ? new dockerBuild.Provider(`${name}-docker-build`, { host }) : undefined;
  const images = new ImagesTier(`${name}-images`, { config, provider: buildProvider, platform });
  const cli: DockerCli = { kind: "local", host };
  const settings = tlsSettingsFor(config, model.serverNames);
  const letsEncrypt = settings ? letsEncryptEdge(name, { config, settings, cli, dependsOn: [] }) : undefined;
  const realizer = new DockerRealizer(`${name}-docker`, {
    config,
    model,
    credentials,
    images,
    provider,
    cli,
    publishIp: publish === "public" ? "0.0.0.0" : "127.0.0.1",
    beforeEdge: letsEncrypt?.beforeEdge,
  });
  letsEncrypt?.activate(realizer);
  const url = stackUrl(config);
  return {
    url: pulumi.output(url),
    healthUrl: pulumi.output(`${url}${config.apps[0].healthPath}`),
    images: images.refs,
    connections: appConnections(config.apps, credentials, serviceEndpoints()),
    egress: { address: null, stable: false, note: `outbound traffic leaves from ${host ? "the Docker host (docker.host)" : "this machine"} with whatever address its network gives it; djangostack does not manage it` },
    extra: {},
  };
};
