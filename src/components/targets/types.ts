import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { WorkloadModel } from "../../model/types";
import { Credentials } from "../secrets";
import { EgressOutputV1 } from "../../../packages/outputs/src/index";

export interface TargetContext {
  /** Root name for every top-level component of the stack. */
  name: string;
  config: StackConfig;
  model: WorkloadModel;
  credentials: Credentials;
}

/** Secret connection strings of one app, as its processes receive them. */
export interface AppConnections {
  databaseUrl?: pulumi.Output<string>;
  brokerUrl?: pulumi.Output<string>;
  redisUrl: pulumi.Output<string>;
}

/** What every target hands to the outputs contract. */
export interface TargetResult {
  url: pulumi.Output<string>;
  healthUrl: pulumi.Output<string>;
  /** App name (and "frontend") -> the exact image reference containers run (digest-pinned where a registry is used). */
  images: Record<string, pulumi.Output<string>>;
  connections: Record<string, AppConnections>;
  /** Where outbound traffic comes from (the `egress` output). */
  egress: pulumi.Input<EgressOutputV1>;
  /** Target-specific outputs (dropletIp, clusterName...). Secrets among them must already be secret Outputs. */
  extra: Record<string, pulumi.Input<unknown>>;
}

export type Deployer = (ctx: TargetContext) => TargetResult;
