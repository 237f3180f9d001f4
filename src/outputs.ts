import * as pulumi from "@pulumi/pulumi";
import { StackConfig, Target } from "./config/types";
import * as names from "./model/names";
import { TargetResult } from "./components/targets/types";

export const OUTPUTS_VERSION = "v1";

/** Per-app facts other teams may rely on. Connection strings are secret outputs. */
export interface AppOutputV1 {
  database?: { name: string; user: string };
  broker?: { vhost: string; user: string };
  redisDb: number;
  routes: string[];
  hosts: string[];
  databaseUrl?: string;
  brokerUrl?: string;
  redisUrl: string;
}

/** The v1 outputs contract, as a consumer reads it back from a StackReference. */
export interface StackOutputsV1 {
  outputsVersion: "v1";
  target: Target;
  url: string;
  healthUrl: string;
  images: Record<string, string>;
  apps: Record<string, AppOutputV1>;
  [extra: string]: unknown;
}

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
    images: result.images,
    apps,
    ...result.extra,
  };
}

/** Checks another stack's raw outputs against the v1 contract this reader understands. */
export function asStackOutputsV1(stackName: string, raw: Record<string, unknown>): StackOutputsV1 {
  if (raw.outputsVersion !== OUTPUTS_VERSION) {
    throw new Error(`djangostack: stack ${stackName} exports outputs ${String(raw.outputsVersion)}; this reader understands ${OUTPUTS_VERSION}`);
  }
  for (const key of ["target", "url", "healthUrl", "images", "apps"] as const) {
    if (raw[key] === undefined) throw new Error(`djangostack: stack ${stackName} lacks the v1 output ${key}`);
  }
  return raw as StackOutputsV1;
}

/**
 * Typed reader for consumers: `readStackOutputs("org/djangostack/production")` gives the v1 contract.
 * Secret members (connection strings, kubeconfig) stay secret in the returned Output.
 */
export function readStackOutputs(stackName: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<StackOutputsV1> {
  const ref = new pulumi.StackReference(stackName, { name: stackName }, opts);
  return ref.outputs.apply((raw) => asStackOutputsV1(stackName, raw));
}
