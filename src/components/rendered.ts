import * as pulumi from "@pulumi/pulumi";
import { SECRET_PLACEHOLDER } from "../artifacts";
import { AppConfig, StackConfig } from "../config/types";
import { usesDeployedRabbitmq } from "../config/contract";
import * as names from "../model/names";
import { brokerGrants } from "../model/build";
import { backsUpBrokerDefinitions } from "../model/backup";
import { renderPostgresInit } from "../render/postgres";
import { renderRabbitmqDefinitions } from "../render/rabbitmq";
import { Credentials } from "./secrets";

/** Admin user of the RabbitMQ definitions (defined in model/names, where config checks it too). */
export const RABBITMQ_ADMIN = names.RABBITMQ_ADMIN;

/**
 * The idempotent init SQL for every app that has a database (passwords are read from the env).
 * `setSuperuser`: also set the superuser's password, where the init logs in over the trusted socket.
 */
export function postgresInitSql(apps: AppConfig[], setSuperuser: boolean): string {
  return renderPostgresInit({
    apps: apps
      .filter((a) => a.database)
      .map((a) => ({ database: names.database(a.name), role: names.role(a.name), passwordVar: names.dbPasswordVar(a.name), passwordEnv: names.dbPasswordEnv(a.name) })),
    superuser: setSuperuser ? names.SUPERUSER : undefined,
  });
}

/** A rendered file that embeds secrets: the real text as a secret, and the same text with placeholders for the record. */
export interface SecretFile {
  content: pulumi.Output<string>;
  masked: string;
}

/** rabbitmq.conf's management listener: only when the backup exports the live definitions. */
export function managementPort(config: StackConfig): { managementPort?: number } {
  return backsUpBrokerDefinitions(config) ? { managementPort: names.RABBITMQ_MANAGEMENT_PORT } : {};
}

/** RabbitMQ definitions (a vhost and user per broker app, the admin, the backup's) with the stack's credentials. */
export function rabbitmqDefinitions(apps: AppConfig[], creds: Credentials): SecretFile {
  const brokerApps = apps.filter(usesDeployedRabbitmq).map((a) => a.name);
  const render = (password: (app: string) => string, admin: string, backup: string | undefined) =>
    renderRabbitmqDefinitions({
      apps: brokerApps.map((a) => ({ vhost: names.vhost(a), user: names.brokerUser(a), password: password(a) })),
      admin: { user: RABBITMQ_ADMIN, password: admin },
      grants: brokerGrants(apps.filter(usesDeployedRabbitmq)),
      ...(backup === undefined ? {} : { backup: { user: names.RABBITMQ_BACKUP_USER, password: backup } }),
    });
  const content = pulumi
    .all([pulumi.all(brokerApps.map((a) => creds.brokerPasswords[a])), creds.rabbitmqAdmin, creds.rabbitmqBackup])
    .apply(([passwords, admin, backup]) => render((a) => passwords[brokerApps.indexOf(a)], admin, backup));
  return { content: pulumi.secret(content), masked: render(() => SECRET_PLACEHOLDER, SECRET_PLACEHOLDER, creds.rabbitmqBackup ? SECRET_PLACEHOLDER : undefined) };
}
