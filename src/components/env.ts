import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "../config/types";
import { serviceSources } from "../model/build";
import * as names from "../model/names";
import { Process, SecretEnvSource } from "../model/types";
import { amqpUrl, connectionPart, databaseUrl, redisUrl } from "../model/urls";
import { Credentials } from "./secrets";

/** Where each data service answers, as seen from the app processes of one target. */
export interface DataEndpoints {
  postgres: { host: pulumi.Input<string>; port: pulumi.Input<number>; sslmode?: "require" };
  redis: { host: pulumi.Input<string>; port: pulumi.Input<number>; tls: boolean; user?: pulumi.Input<string> };
  rabbitmq: { host: pulumi.Input<string>; port: pulumi.Input<number> };
}

/** Endpoints of the data containers on a private Docker network or as in-cluster Services. */
export function serviceEndpoints(): DataEndpoints {
  return {
    postgres: { host: names.POSTGRES, port: 5432 },
    redis: { host: names.REDIS, port: 6379, tls: false },
    rabbitmq: { host: names.RABBITMQ, port: 5672 },
  };
}

/** Resolves one secret env source to a secret Output; a missing credential is a programming error. */
export function resolveSecret(source: SecretEnvSource, apps: AppConfig[], creds: Credentials, endpoints: DataEndpoints): pulumi.Output<string> {
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`djangostack: no credential for ${what}`);
    return value;
  };
  const app = (name: string) => must(apps.find((a) => a.name === name), `app ${name}`);
  let value: pulumi.Output<string>;
  switch (source.kind) {
    case "databaseUrl": {
      const e = endpoints.postgres;
      value = pulumi.all([must(creds.databasePasswords[source.app], `database password of ${source.app}`), e.host, e.port]).apply(([password, host, port]) =>
        databaseUrl({ user: names.role(source.app), password, host, port, database: names.database(source.app), sslmode: e.sslmode }),
      );
      break;
    }
    case "redisUrl":
    case "resultBackend": {
      const e = endpoints.redis;
      value = pulumi.all([creds.redisPassword, e.host, e.port, e.user]).apply(([password, host, port, user]) =>
        redisUrl({ password, host, port, db: app(source.app).redisDb, tls: e.tls, user }),
      );
      break;
    }
    case "redisBrokerUrl": {
      const e = endpoints.redis;
      const db = must(app(source.app).brokerRedisDb, `Redis broker database of ${source.app}`);
      value = pulumi.all([creds.redisPassword, e.host, e.port, e.user]).apply(([password, host, port, user]) => redisUrl({ password, host, port, db, tls: e.tls, user }));
      break;
    }
    case "brokerUrl": {
      const e = endpoints.rabbitmq;
      value = pulumi.all([must(creds.brokerPasswords[source.app], `broker password of ${source.app}`), e.host, e.port]).apply(([password, host, port]) =>
        amqpUrl({ user: names.brokerUser(source.app), password, host, port, vhost: names.vhost(source.vhostOf ?? source.app) }),
      );
      break;
    }
    case "djangoSecretKey":
      value = must(creds.djangoSecretKeys[source.app], `Django secret key of ${source.app}`);
      break;
    case "postgresSuperuserPassword":
      value = creds.postgresSuperuser;
      break;
    case "postgresBootstrapPassword":
      value = creds.postgresBootstrap;
      break;
    case "databasePassword":
      value = must(creds.databasePasswords[source.app], `database password of ${source.app}`);
      break;
    case "redisPassword":
      value = creds.redisPassword;
      break;
    case "rabbitmqAdminPassword":
      value = creds.rabbitmqAdmin;
      break;
    case "rabbitmqBackupPassword":
      value = must(creds.rabbitmqBackup, "the backup's RabbitMQ password (backups on, RabbitMQ deployed)");
      break;
    case "userSecret":
      value = must(creds.userSecrets[source.app]?.[source.key], `secretEnv.${source.app}.${source.key}`);
      break;
    case "external":
      value = must(creds.external[source.app]?.[source.service], `external.${source.app}.${source.service}`);
      break;
    case "component": {
      // The part is read from the very URL the app would get (deployed or external), so both always agree.
      const whole = must(serviceSources(app(source.app))[source.service], `${source.service} of ${source.app}`);
      value = resolveSecret(whole, apps, creds, endpoints).apply((url) => connectionPart(url, source.part));
      break;
    }
    case "backupCredential":
      value = must(creds.backup, "the backup bucket (djangostack:backups)")[source.part];
      break;
    case "mediaCredential":
      value = must(creds.media?.[source.app], `the media bucket of ${source.app} (apps[].media.storage "spaces")`)[source.part];
      break;
  }
  return pulumi.secret(value);
}

/** The secret env of a process: name -> secret Output. */
export function secretEnvFor(process: Process, apps: AppConfig[], creds: Credentials, endpoints: DataEndpoints): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(Object.entries(process.secretEnv).map(([key, source]) => [key, resolveSecret(source, apps, creds, endpoints)]));
}

/**
 * Per-app connection strings (secret), for the outputs contract: what the app itself uses (an external
 * URL or the deployed service). `resolve` turns a source into its secret value on the target.
 */
export function connectionsWith(apps: AppConfig[], resolve: (source: SecretEnvSource) => pulumi.Output<string>): Record<string, { databaseUrl?: pulumi.Output<string>; brokerUrl?: pulumi.Output<string>; redisUrl: pulumi.Output<string> }> {
  return Object.fromEntries(
    apps.map((a) => {
      const sources = serviceSources(a);
      const of = (s: SecretEnvSource | undefined) => s && resolve(s);
      // The contract always names a Redis URL: the app's cache, or its database on the stack's Redis.
      return [a.name, { databaseUrl: of(sources.database), brokerUrl: of(sources.broker), redisUrl: resolve(sources.cache ?? { kind: "redisUrl", app: a.name }) }];
    }),
  );
}

/** `connectionsWith` on a Docker target, whose endpoints are the data containers. */
export function appConnections(apps: AppConfig[], creds: Credentials, endpoints: DataEndpoints): ReturnType<typeof connectionsWith> {
  return connectionsWith(apps, (s) => resolveSecret(s, apps, creds, endpoints));
}
