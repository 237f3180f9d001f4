import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { appConnections, serviceEndpoints } from "../../env";
import { ImagesTier } from "../../images";
import { Deployer } from "../types";
import { DockerRealizer } from "./realizer";

/** The `docker` target: images built into the local engine, the whole stack on one private network. */
export const deployLocal: Deployer = ({ name, config, model, credentials }) => {
  const provider = config.docker.host ? new docker.Provider(`${name}-docker`, { host: config.docker.host }) : undefined;
  const images = new ImagesTier(`${name}-images`, { config });
  new DockerRealizer(`${name}-docker`, { config, model, credentials, images, provider, cli: { kind: "local", host: config.docker.host }, publishIp: "127.0.0.1" });
  const tls = config.edge.tls.mode !== "none";
  const host = config.domain ?? "127.0.0.1";
  const url = tls ? `https://${host}${config.edge.httpsPort === 443 ? "" : `:${config.edge.httpsPort}`}` : `http://${host}${config.edge.httpPort === 80 ? "" : `:${config.edge.httpPort}`}`;
  return {
    url: pulumi.output(url),
    healthUrl: pulumi.output(`${url}${config.apps[0].healthPath}`),
    images: images.refs,
    connections: appConnections(config.apps, credentials, serviceEndpoints()),
    extra: {},
  };
};
