import * as pulumi from "@pulumi/pulumi";
import { StackConfig, Target } from "./config/types";
import * as names from "./model/names";
import { TargetResult } from "./components/targets/types";
import { CostLineV1, OUTPUTS_VERSION, Target as ContractTarget } from "../packages/outputs/src/index";
import { buildModel } from "./model/build";
import { estimateCost } from "./model/cost";
import { withOverrides } from "./config/prices";
import { backupsOutput } from "./model/backup";

// The contract and the consumers' reader live in packages/outputs (published as @djangostack/outputs,
// or copied as one file), so this program and its consumers share one definition.
export {
  OUTPUTS_VERSION,
  OUTPUTS_CONTRACT,
  DjangostackStackReference,
  asStackOutputsV1,
  checkVersion,
  pickApp,
  pickOutput,
  readStackOutputs,
  requiredKeys,
} from "../packages/outputs/src/index";
export type {
  AppOutputV1,
  BackupsOutputV1,
  CommonOutputsV1,
  ContractEntry,
  CostLineV1,
  DockerOutputsV1,
  DropletOutputsV1,
  KubernetesOutputsV1,
  OutputKey,
  OutputType,
  StackOutputsV1,
} from "../packages/outputs/src/index";

// The config's targets and the contract's must be the same set: a new target needs a contract entry.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const targetsAgree: Same<Target, ContractTarget> = true;
void targetsAgree;

/** Builds the exported outputs from a target's result; the secret ones stay secret Outputs. */
export function buildOutputs(config: StackConfig, result: TargetResult): Record<string, pulumi.Input<unknown>> {
  const apps = Object.fromEntries(
    config.apps.map((a) => {
      const conn = result.connections[a.name];
      return [
        a.name,
        {
          database: a.database ? { name: names.database(a.name), user: names.role(a.name) } : undefined,
          broker: a.broker ? { vhost: names.vhost(a.name), user: names.brokerUser(a.name) } : undefined,
          redisDb: a.redisDb,
          routes: a.routes,
          hosts: a.hosts,
          databaseUrl: conn?.databaseUrl && pulumi.secret(conn.databaseUrl),
          brokerUrl: conn?.brokerUrl && pulumi.secret(conn.brokerUrl),
          redisUrl: conn && pulumi.secret(conn.redisUrl),
        },
      ];
    }),
  );
  return {
    outputsVersion: OUTPUTS_VERSION,
    target: config.target,
    url: result.url,
    healthUrl: result.healthUrl,
    appHealthUrls: pulumi.output(result.url).apply((url) => Object.fromEntries(config.apps.map((a) => [a.name, `${url}${names.appHealthPaths(a.name).health}`]))),
    images: result.images,
    apps,
    ...costOutputs(config),
    backups: backupsOutput(config),
    egress: result.egress,
    ...result.extra,
  };
}

/** The cost estimate as the two contract outputs. */
export function costOutputs(config: StackConfig): { estimatedMonthlyCostUsd: { min: number; max: number }; estimatedMonthlyCostBreakdown: CostLineV1[] } {
  const estimate = estimateCost(config, buildModel(config), withOverrides(config.prices));
  return { estimatedMonthlyCostUsd: { min: estimate.minUsd, max: estimate.maxUsd }, estimatedMonthlyCostBreakdown: estimate.lines };
}
