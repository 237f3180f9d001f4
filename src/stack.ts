import * as pulumi from "@pulumi/pulumi";
import { StackConfig, Target } from "./config/types";
import { buildModel } from "./model/build";
import { buildOutputs } from "./outputs";
import { SecretsTier, SuppliedSecrets } from "./components/secrets";
import { Deployer } from "./components/targets/types";
import { deployLocal } from "./components/targets/docker";
import { deployDroplet } from "./components/targets/droplet";
import { deployKubernetes } from "./components/targets/kubernetes";

const deployers: Record<Target, Deployer> = {
  docker: deployLocal,
  droplet: deployDroplet,
  kubernetes: deployKubernetes,
};

/** Builds the whole stack for a validated config and returns the outputs to export. */
export function createStack(config: StackConfig, supplied: SuppliedSecrets): Record<string, pulumi.Input<unknown>> {
  const model = buildModel(config);
  const name = config.stack;
  const secrets = new SecretsTier(`${name}-secrets`, { apps: config.apps, rotation: config.secrets.rotation, supplied });
  const result = deployers[config.target]({ name, config, model, credentials: secrets.credentials });
  return buildOutputs(config, result);
}
