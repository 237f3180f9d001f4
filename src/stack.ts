import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config/types";
import { buildModel } from "./model/build";
import { buildOutputs } from "./outputs";
import { SecretsTier, SuppliedSecrets } from "./components/secrets";
import { deployerFor } from "./components/targets";
import { BackupsTier } from "./components/backups";
import { MediaTier, spacesApps } from "./components/media";
import { backsUpBrokerDefinitions } from "./model/backup";

/** Builds the whole stack for a validated config and returns the outputs to export. */
export function createStack(config: StackConfig, supplied: SuppliedSecrets): Record<string, pulumi.Input<unknown>> {
  const model = buildModel(config);
  const name = config.stack;
  const secrets = new SecretsTier(`${name}-secrets`, { apps: config.apps, rotation: config.secrets.rotation, rabbitmqBackup: backsUpBrokerDefinitions(config), supplied });
  // The bucket and its key exist whenever backups are on; the target runs the process that uses them.
  const backups = config.backups.enabled ? new BackupsTier(`${name}-backups`, { config, supplied: supplied.backup }) : undefined;
  // Each app on Spaces gets its bucket and a key limited to it; its processes read the key as secret env.
  const media = spacesApps(config).length > 0 ? new MediaTier(`${name}-media`, { config, supplied: supplied.media }) : undefined;
  const credentials = { ...secrets.credentials, ...(backups ? { backup: backups.credentials } : {}), ...(media ? { media: media.credentials } : {}) };
  const result = deployerFor(config.target)({ name, config, model, credentials });
  return buildOutputs(config, result);
}
