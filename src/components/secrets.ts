import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AppConfig, ExternalService } from "../config/types";
import { usesDeployedRabbitmq } from "../config/contract";
import type { SpacesKeyPair } from "./spaces";

function missing(key: string): never {
  throw new Error(`djangostack: the config names ${key} but no value reached the program`);
}

/** Credentials a user supplied with `pulumi config set --secret`; each replaces its generated twin. */
export interface SuppliedSecrets {
  secretKey?: pulumi.Output<string>;
  postgresPassword?: pulumi.Output<string>;
  redisPassword?: pulumi.Output<string>;
  rabbitmqAdminPassword?: pulumi.Output<string>;
  databasePasswords: Record<string, pulumi.Output<string>>;
  brokerPasswords: Record<string, pulumi.Output<string>>;
  secretEnv: Record<string, Record<string, pulumi.Output<string>>>;
  /** `djangostack:external`: app -> service -> URL. */
  external: Record<string, Partial<Record<ExternalService, pulumi.Output<string>>>>;
  /** `djangostack:registryCredentials`: registry host -> pull credentials. */
  registries: Record<string, RegistryLogin>;
  /** `djangostack:backupCredentials`, both parts secret. */
  backup?: SpacesKeyPair;
  /** `djangostack:mediaCredentials`: app -> its media bucket's key pair, both parts secret. */
  media: Record<string, SpacesKeyPair>;
}

/** A login to a container registry; both parts secret. */
export interface RegistryLogin {
  username: pulumi.Output<string>;
  password: pulumi.Output<string>;
}

export interface SecretsArgs {
  apps: AppConfig[];
  /** Bumping it regenerates every generated credential. */
  rotation: number;
  /** The backup exports the broker's live definitions: its RabbitMQ user needs a password. */
  rabbitmqBackup: boolean;
  supplied: SuppliedSecrets;
}

/** Every credential of the stack, each a secret Output. */
export interface Credentials {
  djangoSecretKeys: Record<string, pulumi.Output<string>>;
  postgresSuperuser: pulumi.Output<string>;
  /** Only initdb's first superuser password: never rotated, replaced by `postgresSuperuser` at the first init. */
  postgresBootstrap: pulumi.Output<string>;
  databasePasswords: Record<string, pulumi.Output<string>>;
  brokerPasswords: Record<string, pulumi.Output<string>>;
  rabbitmqAdmin: pulumi.Output<string>;
  /** The backup's RabbitMQ user, when the backup exports the broker's definitions. */
  rabbitmqBackup?: pulumi.Output<string>;
  redisPassword: pulumi.Output<string>;
  userSecrets: Record<string, Record<string, pulumi.Output<string>>>;
  external: Record<string, Partial<Record<ExternalService, pulumi.Output<string>>>>;
  /** Pull credentials of private registries, by host. */
  registries: Record<string, RegistryLogin>;
  /** The backup bucket's key pair (the Backups tier's), when backups run. */
  backup?: SpacesKeyPair;
  /** Each media bucket's key pair (the Media tier's), by app. */
  media?: Record<string, SpacesKeyPair>;
}

export const DJANGO_SECRET_KEY_LENGTH = 64;
export const PASSWORD_LENGTH = 32;

/**
 * The Secrets tier: one RandomPassword per credential unless the user supplied it. Passwords are
 * alphanumeric (`special: false`) because they travel inside URLs; the Django key may use specials.
 */
export class SecretsTier extends pulumi.ComponentResource {
  readonly credentials: Credentials;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:secrets:Secrets", name, {}, opts);
    const keepers = { rotation: String(args.rotation) };
    const generate = (suffix: string, supplied: pulumi.Output<string> | undefined, length = PASSWORD_LENGTH, special = false, rotates = true) =>
      supplied
        ? pulumi.secret(supplied)
        : pulumi.secret(
            new random.RandomPassword(`${name}-${suffix}`, {
              length,
              special,
              // Characters that survive shell quoting, env files and Django settings unharmed.
              overrideSpecial: special ? "!#%*+-=^_~" : undefined,
              minNumeric: 2,
              minUpper: 2,
              minLower: 2,
              keepers: rotates ? keepers : undefined,
            }, { parent: this }).result,
          );
    const perApp = (filter: (a: AppConfig) => boolean, suffix: string, supplied: Record<string, pulumi.Output<string>>, length?: number, special?: boolean) =>
      Object.fromEntries(args.apps.filter(filter).map((a) => [a.name, generate(`${a.name}-${suffix}`, supplied[a.name], length, special)]));
    this.credentials = {
      djangoSecretKeys: perApp(() => true, "django-secret-key", args.supplied.secretKey ? Object.fromEntries(args.apps.map((a) => [a.name, args.supplied.secretKey as pulumi.Output<string>])) : {}, DJANGO_SECRET_KEY_LENGTH, true),
      postgresSuperuser: generate("postgres-superuser", args.supplied.postgresPassword),
      postgresBootstrap: generate("postgres-bootstrap", undefined, PASSWORD_LENGTH, false, false),
      databasePasswords: perApp((a) => a.database, "db-password", args.supplied.databasePasswords),
      brokerPasswords: perApp(usesDeployedRabbitmq, "broker-password", args.supplied.brokerPasswords),
      rabbitmqAdmin: generate("rabbitmq-admin", args.supplied.rabbitmqAdminPassword),
      ...(args.rabbitmqBackup ? { rabbitmqBackup: generate("rabbitmq-backup", undefined) } : {}),
      redisPassword: generate("redis-password", args.supplied.redisPassword),
      userSecrets: Object.fromEntries(
        args.apps.map((a) => [a.name, Object.fromEntries(a.secretEnvKeys.map((k) => [k, pulumi.secret(args.supplied.secretEnv[a.name][k])]))]),
      ),
      external: Object.fromEntries(
        args.apps.map((a) => [a.name, Object.fromEntries(a.external.map((s) => [s, pulumi.secret(args.supplied.external[a.name]?.[s] ?? missing(`external.${a.name}.${s}`))]))]),
      ),
      registries: args.supplied.registries,
    };
    this.registerOutputs({});
  }
}
