import * as pulumi from "@pulumi/pulumi";
import { isConfigSecret } from "@pulumi/pulumi/runtime/config";
import { Raw } from "./checker";
import { EffectiveConfig, applyStackOverlay, overlayKeysOf } from "./overlay";
import { CONFIG_KEYS, NAMESPACE, parseConfig } from "./schema";
import { StackConfig } from "./types";
import { RegistryLogin, SuppliedSecrets } from "../components/secrets";

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

/** The `djangostack:*` values of a config map (`namespace:key` -> text, as the CLI hands it over), decoded. */
export function rawConfigOf(all: Record<string, string>, isSecret: (key: string) => boolean): { raw: Raw; secretKeys: string[] } {
  const raw: Raw = {};
  const secretKeys: string[] = [];
  const prefix = `${NAMESPACE}:`;
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(prefix)) continue;
    raw[key.slice(prefix.length)] = decodeConfigValue(value);
    if (isSecret(key)) secretKeys.push(key.slice(prefix.length));
  }
  return { raw, secretKeys };
}

/** Every `djangostack:*` value of the running stack, decoded, and the keys Pulumi marks secret. */
export function readRawConfig(): { raw: Raw; secretKeys: string[] } {
  return rawConfigOf(pulumi.runtime.allConfig(), isConfigSecret);
}

/** The effective `djangostack:*` values (the overlay applied), as `parseConfig` validates them. */
export function effectiveConfig(raw: Raw, secretKeys: readonly string[]): EffectiveConfig {
  return applyStackOverlay(raw, secretKeys, NAMESPACE, overlayKeysOf(CONFIG_KEYS));
}

function secretString(value: unknown): pulumi.Output<string> | undefined {
  return typeof value === "string" && value !== "" ? pulumi.secret(value) : undefined;
}

function secretMap(value: unknown): Record<string, pulumi.Output<string>> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === "string").map(([k, v]) => [k, pulumi.secret(v as string)]));
}

/** The logins of the hosts `parseConfig` accepted, each part a secret. */
function registryLogins(value: unknown, hosts: readonly string[]): Record<string, RegistryLogin> {
  const all = typeof value === "object" && value !== null ? (value as Record<string, { username: string; password: string }>) : {};
  return Object.fromEntries(hosts.map((h) => [h, { username: pulumi.secret(all[h].username), password: pulumi.secret(all[h].password) }]));
}

/** A Spaces key pair `parseConfig` accepted (`backupCredentials`, `mediaCredentials.<app>`): both parts secret. */
function spacesLogin(value: unknown): { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> } {
  const v = value as { accessKey: string; secretKey: string };
  return { accessKeyId: pulumi.secret(v.accessKey), secretAccessKey: pulumi.secret(v.secretKey) };
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

function sentryFor(app: StackConfig["apps"][number], dsn: unknown): Record<string, pulumi.Output<string>> {
  return typeof dsn === "string" && app.secretEnvKeys.includes("SENTRY_DSN") ? { SENTRY_DSN: pulumi.secret(dsn) } : {};
}

/** User-supplied credentials, wrapped as secrets the moment they are read. */
export function readSuppliedSecrets(raw: Raw, config: StackConfig): SuppliedSecrets {
  const secretEnvRaw = typeof raw.secretEnv === "object" && raw.secretEnv !== null ? (raw.secretEnv as Record<string, unknown>) : {};
  const fromEnv = movedSecretEnv(raw, config);
  const externalRaw = typeof raw.external === "object" && raw.external !== null ? (raw.external as Record<string, unknown>) : {};
  return {
    secretKey: secretString(raw.secretKey),
    postgresPassword: secretString(raw.postgresPassword),
    redisPassword: secretString(raw.redisPassword),
    rabbitmqAdminPassword: secretString(raw.rabbitmqAdminPassword),
    databasePasswords: secretMap(raw.databasePasswords),
    brokerPasswords: secretMap(raw.brokerPasswords),
    // The stack's Sentry DSN where parseConfig gave it to an app, under the app's own secret env.
    secretEnv: Object.fromEntries(config.apps.map((a) => [a.name, { ...sentryFor(a, raw.sentryDsn), ...fromEnv[a.name], ...secretMap(secretEnvRaw[a.name]) }])),
    external: Object.fromEntries(config.apps.map((a) => [a.name, secretMap(externalRaw[a.name])])),
    registries: registryLogins(raw.registryCredentials, config.registries),
    ...(config.backups.suppliedCredentials ? { backup: spacesLogin(raw.backupCredentials) } : {}),
    media: Object.fromEntries(config.apps.filter((a) => a.media.spaces?.suppliedCredentials).map((a) => [a.name, spacesLogin((raw.mediaCredentials as Record<string, unknown>)[a.name])])),
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
  // parseConfig applied the overlay itself; supplied secrets are read from the same effective values.
  return { config, supplied: readSuppliedSecrets(effectiveConfig(raw, secretKeys).raw, config) };
}
