import * as pulumi from "@pulumi/pulumi";
import { isConfigSecret } from "@pulumi/pulumi/runtime/config";
import { Raw } from "./checker";
import { NAMESPACE, parseConfig } from "./schema";
import { StackConfig } from "./types";
import { SuppliedSecrets } from "../components/secrets";

/** Pulumi keeps structured config as JSON text; plain strings stay strings. */
export function decodeConfigValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

/** Every `djangostack:*` value of the running stack, decoded, and the keys Pulumi marks secret. */
export function readRawConfig(): { raw: Raw; secretKeys: string[] } {
  const raw: Raw = {};
  const secretKeys: string[] = [];
  const prefix = `${NAMESPACE}:`;
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    raw[key.slice(prefix.length)] = decodeConfigValue(value);
    if (isConfigSecret(key)) secretKeys.push(key.slice(prefix.length));
  }
  return { raw, secretKeys };
}

function secretString(value: unknown): pulumi.Output<string> | undefined {
  return typeof value === "string" && value !== "" ? pulumi.secret(value) : undefined;
}

function secretMap(value: unknown): Record<string, pulumi.Output<string>> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === "string").map(([k, v]) => [k, pulumi.secret(v as string)]));
}

/** The env values of apps whose env `parseConfig` moved to secret env (they arrived under a secret key). */
function movedSecretEnv(raw: Raw, config: StackConfig): Record<string, Record<string, pulumi.Output<string>>> {
  const rawApps = Array.isArray(raw.apps) ? (raw.apps as unknown[]) : [];
  return Object.fromEntries(
    config.apps.map((app, i) => {
      const item = rawApps[i];
      const env = typeof item === "object" && item !== null && "env" in item && typeof item.env === "object" && item.env !== null ? (item.env as Record<string, unknown>) : {};
      const moved = app.secretEnvKeys.filter((k) => k in env);
      return [app.name, Object.fromEntries(moved.map((k) => [k, pulumi.secret(String(env[k]))]))];
    }),
  );
}

/** User-supplied credentials, wrapped as secrets the moment they are read. */
export function readSuppliedSecrets(raw: Raw, config: StackConfig): SuppliedSecrets {
  const secretEnvRaw = typeof raw.secretEnv === "object" && raw.secretEnv !== null ? (raw.secretEnv as Record<string, unknown>) : {};
  const fromEnv = movedSecretEnv(raw, config);
  return {
    secretKey: secretString(raw.secretKey),
    postgresPassword: secretString(raw.postgresPassword),
    redisPassword: secretString(raw.redisPassword),
    rabbitmqAdminPassword: secretString(raw.rabbitmqAdminPassword),
    databasePasswords: secretMap(raw.databasePasswords),
    brokerPasswords: secretMap(raw.brokerPasswords),
    secretEnv: Object.fromEntries(config.apps.map((a) => [a.name, { ...fromEnv[a.name], ...secretMap(secretEnvRaw[a.name]) }])),
  };
}

export interface LoadedConfig {
  config: StackConfig;
  supplied: SuppliedSecrets;
}

/** The only place that reads Pulumi config. Throws ConfigError before any resource exists. */
export function loadConfig(): LoadedConfig {
  const { raw, secretKeys } = readRawConfig();
  const config = parseConfig(raw, { project: pulumi.getProject(), stack: pulumi.getStack() }, secretKeys);
  return { config, supplied: readSuppliedSecrets(raw, config) };
}
