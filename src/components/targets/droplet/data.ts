import * as pulumi from "@pulumi/pulumi";
import { AppConfig, StackConfig } from "../../../config/types";
import { usesDeployedRedis } from "../../../config/contract";
import * as names from "../../../model/names";
import { SecretEnvSource } from "../../../model/types";
import { renderManagedGrants } from "../../../render/managed-grants";
import { shellQuote } from "../../../render/oneoff";
import { DataEndpoints, resolveSecret, serviceEndpoints } from "../../env";
import { ManagedClusterArgs, managedPostgres, managedValkey } from "../../managed-data";
import { pinnedImage } from "../../pinning";
import { Credentials } from "../../secrets";
import { DockerCli, dockerScript } from "../docker/cli";
import { ManagedDataHooks } from "../docker/realizer";

export interface DropletDataArgs {
  config: StackConfig;
  credentials: Credentials;
  vpcId: pulumi.Input<string>;
  dropletId: pulumi.Input<string>;
  /** The Droplet's docker CLI over SSH: the grants run in a one-off psql container there. */
  cli: DockerCli;
  /** The host is ready (cloud-init done). */
  bootstrap: pulumi.Resource;
}

/**
 * `data.postgres.mode` / `data.redis.mode` "managed" on a Droplet (seed 002's phase 3: the database
 * moves off the server): the clusters in the Droplet's VPC, their firewall trusting only this Droplet,
 * and the grants run from the Droplet, the one machine the firewall lets in.
 */
export class DropletData extends pulumi.ComponentResource {
  readonly hooks: ManagedDataHooks;
  /** Private hosts of the managed clusters (PostgreSQL, then Valkey). */
  readonly databaseHosts: pulumi.Output<string>[] = [];

  constructor(name: string, args: DropletDataArgs, opts?: pulumi.ComponentResourceOptions) {
    super("djangostack:droplet:Data", name, {}, opts);
    const { config } = args;
    // By id, not by the stack's tag: a tag is an account-wide label any Droplet can be given.
    const managedArgs: ManagedClusterArgs = { config, vpcId: args.vpcId, trustedSources: [{ type: "droplet", value: args.dropletId }] };
    let creds = args.credentials;
    let endpoints: DataEndpoints = serviceEndpoints();
    const databaseUrls: Record<string, pulumi.Output<string>> = {};
    const ready: pulumi.Resource[] = [];
    const appEnv: Record<string, string> = {};

    const databaseApps = config.apps.filter((a) => a.database);
    if (config.data.postgres.mode === "managed" && databaseApps.length > 0) {
      const pg = managedPostgres(this, name, databaseApps, managedArgs);
      creds = { ...creds, databasePasswords: { ...creds.databasePasswords, ...pg.passwords } };
      endpoints = { ...endpoints, postgres: pg.endpoint };
      Object.assign(databaseUrls, pg.databaseUrls);
      this.databaseHosts.push(pg.cluster.privateHost);
      // A session pool in front: Django must not pin a server connection per thread (see the Kubernetes data tier).
      appEnv.DJANGO_DB_CONN_MAX_AGE = "0";
      ready.push(...pg.pools, this.grants(name, args, pg.cluster, databaseApps, pg.grantDeps));
    }
    if (config.data.redis.mode === "managed" && config.apps.some(usesDeployedRedis)) {
      const valkey = managedValkey(this, name, managedArgs);
      creds = { ...creds, redisPassword: valkey.password };
      endpoints = { ...endpoints, redis: valkey.endpoint };
      this.databaseHosts.push(valkey.cluster.privateHost);
      ready.push(...valkey.ready);
    }
    const resolve = (source: SecretEnvSource): pulumi.Output<string> =>
      source.kind === "databaseUrl" && databaseUrls[source.app] ? databaseUrls[source.app] : resolveSecret(source, config.apps, creds, endpoints);
    this.hooks = { resolve, appEnv, ready };
    this.registerOutputs({ databaseHosts: this.databaseHosts });
  }

  /**
   * psql in a one-off container on the Droplet, as the cluster's admin: the SQL and the password reach
   * it on standard input (a secret input of the Command), never in an argument or an env file. Runs
   * again when the grants or the cluster change.
   */
  private grants(name: string, args: DropletDataArgs, cluster: ReturnType<typeof managedPostgres>["cluster"], apps: AppConfig[], deps: pulumi.Resource[]): pulumi.Resource {
    const sql = renderManagedGrants(apps.map((a) => ({ database: names.database(a.name), role: names.role(a.name) })));
    const image = pinnedImage(`postgres:${args.config.data.postgres.version}-bookworm`, this);
    const script = pulumi.all([image, cluster.privateHost, cluster.port, cluster.user]).apply(([ref, host, port, user]) =>
      [
        "set -eu",
        // The first line of stdin is the password; psql reads the SQL from the rest.
        `docker run --rm -i -e PGHOST=${shellQuote(host)} -e PGPORT=${port} -e PGUSER=${shellQuote(user)} -e PGDATABASE=defaultdb -e PGSSLMODE=require -e PGCONNECT_TIMEOUT=10 ${shellQuote(ref)} ` +
          `sh -c 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -v ON_ERROR_STOP=1 -q'`,
      ].join("\n"),
    );
    const stdin = pulumi.secret(pulumi.interpolate`${cluster.password}\n${sql}`);
    return dockerScript(`${name}-postgres-grants`, args.cli, { script, triggers: [cluster.id, sql], stdin, timeout: "10m" }, { parent: this, dependsOn: [args.bootstrap, ...deps] });
  }
}
