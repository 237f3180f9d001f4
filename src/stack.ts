import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config/types";
import { buildModel } from "./model/build";
import { buildOutputs } from "./outputs";
import { SecretsTier, SuppliedSecrets } from "./components/secrets";
import { deployerFor } from "./components/targets";

/** Builds the whole stack for a validated config and returns the outputs to export. */
export function createStack(config: StackConfig, supplied: SuppliedSecrets): Record<string, pulumi.Input<unknown>> {
  const model = buildModel(config);
  const name = config.stack;
  const secrets = new SecretsTier(`${name}-secrets`, { apps: config.apps, rotation: config.secrets.rotation, supplied });
  const result = deployerFor(config.target)({ name, config, model, credentials: secrets.credentials });
  return buildOutputs(config, result);
}
