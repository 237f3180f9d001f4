import * as pulumi from "@pulumi/pulumi";
import { SECRET_PLACEHOLDER } from "../../../artifacts";
import { StackConfig } from "../../../config/types";
import { PATHS } from "../../../model/build";
import * as names from "../../../model/names";
import { Process, WorkloadModel } from "../../../model/types";
import { renderGunicornConf } from "../../../render/gunicorn";
import { nginxInputFor, renderNginx } from "../../../render/nginx";
import { renderPostgresInit } from "../../../render/postgres";
import { renderRabbitmqConf, renderRabbitmqDefinitions } from "../../../render/rabbitmq";
import { renderRedisConf } from "../../../render/redis";
import { Credentials } from "../../secrets";

/** A file placed into a container; `artifact` is its path under the render's artifacts/ (secret-free text). */
export interface ConfigFile {
  path: string;
  content: pulumi.Input<string>;
  artifact: string;
  artifactContent: string;
}

/** Admin user of the RabbitMQ definitions: operators only, never used by apps. */
export const RABBITMQ_ADMIN = "djangostack-admin";

function rabbitmqDefinitionsFor(config: StackConfig, passwords: (app: string) => string, admin: string): string {
  return renderRabbitmqDefinitions({
    apps: config.apps.filter((a) => a.broker).map((a) => ({ vhost: names.vhost(a.name), user: names.brokerUser(a.name), password: passwords(a.name) })),
    admin: { user: RABBITMQ_ADMIN, password: admin },
  });
}

/** Docker's embedded DNS: nginx re-resolves upstream names so a replaced web container is found. */
export const DOCKER_RESOLVER = "127.0.0.11";

/** The rendered files each process needs, keyed by the model's config volume names. */
export function configFilesFor(process: Process, config: StackConfig, model: WorkloadModel, creds: Credentials): ConfigFile[] {
  const files: ConfigFile[] = [];
  for (const volume of process.volumes.filter((v) => v.kind === "config")) {
    switch (volume.volume) {
      case "gunicorn-config": {
        const app = config.apps.find((a) => a.name === process.app);
        if (!app) throw new Error(`djangostack: ${process.name} mounts gunicorn config without an app`);
        const text = renderGunicornConf(app);
        files.push({ path: PATHS.gunicornConfig, content: text, artifact: `gunicorn/${app.name}.gunicorn.conf.py`, artifactContent: text });
        break;
      }
      case "postgres-init": {
        const text = renderPostgresInit(
          config.apps.filter((a) => a.database).map((a) => ({ database: names.database(a.name), role: names.role(a.name), passwordVar: names.dbPasswordVar(a.name) })),
        );
        files.push({ path: `${PATHS.postgresInit}/init.sql`, content: text, artifact: "postgres/init.sql", artifactContent: text });
        break;
      }
      case "redis-config": {
        const text = renderRedisConf(config.data.redis);
        files.push({ path: `${PATHS.redisConfigDir}/redis.conf`, content: text, artifact: "redis/redis.conf", artifactContent: text });
        break;
      }
      case "rabbitmq-config": {
        const definitionsPath = `${PATHS.rabbitmqConfigDir}/conf.d/definitions.json`;
        const conf = renderRabbitmqConf(config.data.rabbitmq, { definitionsPath });
        files.push({ path: `${PATHS.rabbitmqConfigDir}/conf.d/10-djangostack.conf`, content: conf, artifact: "rabbitmq/rabbitmq.conf", artifactContent: conf });
        const brokerApps = Object.keys(creds.brokerPasswords);
        const definitions = pulumi
          .all([pulumi.all(brokerApps.map((a) => creds.brokerPasswords[a])), creds.rabbitmqAdmin])
          .apply(([passwords, admin]) => rabbitmqDefinitionsFor(config, (app) => passwords[brokerApps.indexOf(app)], admin));
        files.push({
          path: definitionsPath,
          content: pulumi.secret(definitions),
          artifact: "rabbitmq/definitions.json",
          artifactContent: rabbitmqDefinitionsFor(config, () => SECRET_PLACEHOLDER, SECRET_PLACEHOLDER),
        });
        break;
      }
      case "nginx-config": {
        const text = renderNginx({ ...nginxInputFor(model, config.edge, config.domain), resolver: DOCKER_RESOLVER });
        files.push({ path: PATHS.nginxConf, content: text, artifact: "nginx/nginx.conf", artifactContent: text });
        break;
      }
      default:
        throw new Error(`djangostack: no renderer for config volume ${volume.volume} of ${process.name}`);
    }
  }
  return files;
}
