import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "../config/types";
import * as names from "../model/names";
import { Process, SecretEnvSource } from "../model/types";
import { amqpUrl, databaseUrl, redisUrl } from "../model/urls";
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
    case "brokerUrl": {
      const e = endpoints.rabbitmq;
      value = pulumi.all([must(creds.brokerPasswords[source.app], `broker password of ${source.app}`), e.host, e.port]).apply(([password, host, port]) =>
        amqpUrl({ user: names.brokerUser(source.app), password, host, port, vhost: names.vhost(source.app) }),
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
    case "userSecret":
      value = must(creds.userSecrets[source.app]?.[source.key], `secretEnv.${source.app}.${source.key}`);
      break;
  }
  return pulumi.secret(value);
}

/** The secret env of a process: name -> secret Output. */
export function secretEnvFor(process: Process, apps: AppConfig[], creds: Credentials, endpoints: DataEndpoints): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(Object.entries(process.secretEnv).map(([key, source]) => [key, resolveSecret(source, apps, creds, endpoints)]));
}

/** Per-app connection strings (secret), for the outputs contract. */
export function appConnections(apps: AppConfig[], creds: Credentials, endpoints: DataEndpoints): Record<string, { databaseUrl?: pulumi.Output<string>; brokerUrl?: pulumi.Output<string>; redisUrl: pulumi.Output<string> }> {
  return Object.fromEntries(
    apps.map((a) => [
      a.name,
      {
        databaseUrl: a.database ? resolveSecret({ kind: "databaseUrl", app: a.name }, apps, creds, endpoints) : undefined,
        brokerUrl: a.broker ? resolveSecret({ kind: "brokerUrl", app: a.name }, apps, creds, endpoints) : undefined,
        redisUrl: resolveSecret({ kind: "redisUrl", app: a.name }, apps, creds, endpoints),
      },
    ]),
  );
}
