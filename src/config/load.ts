import * as pulumi from "@pulumi/pulumi";
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

/** Every `djangostack:*` value of the running stack, decoded. */
export function readRawConfig(): Raw {
  const raw: Raw = {};
  const prefix = `${NAMESPACE}:`;
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decodeConfigValue(value);
  }
  return raw;
}

function secretString(value: unknown): pulumi.Output<string> | undefined {
  return typeof value === "string" && value !== "" ? pulumi.secret(value) : undefined;
}

function secretMap(value: unknown): Record<string, pulumi.Output<string>> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === "string").map(([k, v]) => [k, pulumi.secret(v as string)]));
}

/** User-supplied credentials, wrapped as secrets the moment they are read. */
export function readSuppliedSecrets(raw: Raw): SuppliedSecrets {
  const secretEnvRaw = typeof raw.secretEnv === "object" && raw.secretEnv !== null ? (raw.secretEnv as Record<string, unknown>) : {};
  return {
    secretKey: secretString(raw.secretKey),
    postgresPassword: secretString(raw.postgresPassword),
    redisPassword: secretString(raw.redisPassword),
    rabbitmqAdminPassword: secretString(raw.rabbitmqAdminPassword),
    databasePasswords: secretMap(raw.databasePasswords),
    brokerPasswords: secretMap(raw.brokerPasswords),
    secretEnv: Object.fromEntries(Object.entries(secretEnvRaw).map(([app, vars]) => [app, secretMap(vars)])),
  };
}

export interface LoadedConfig {
  config: StackConfig;
  supplied: SuppliedSecrets;
}

/** The only place that reads Pulumi config. Throws ConfigError before any resource exists. */
export function loadConfig(): LoadedConfig {
  const raw = readRawConfig();
  const config = parseConfig(raw, { project: pulumi.getProject(), stack: pulumi.getStack() });
  return { config, supplied: readSuppliedSecrets(raw) };
}
