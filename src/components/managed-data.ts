/**
 * DigitalOcean's managed PostgreSQL and Valkey, for the targets that use them (Kubernetes by default,
 * a Droplet on request: seed 002's phase 3 moves the database off the server). The clusters join the
 * stack's VPC, and their firewall admits only the trusted sources the target passes (the DOKS
 * cluster, or the Droplet). Created under the caller's component, with the names it always had, so
 * moving this code changed no URN.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { AppConfig, StackConfig } from "../config/types";
import * as names from "../model/names";
import { poolSize } from "../model/managed";
import { databaseUrl } from "../model/urls";
import { DataEndpoints } from "./env";

/** DigitalOcean's managed cache engine (Redis is no longer offered) and its current major version. */
export const VALKEY_ENGINE = "valkey";
export const VALKEY_VERSION = "8";
/**
 * PgBouncer in session mode: a server connection belongs to one client connection for its lifetime,
 * so Django's server-side cursors (QuerySet.iterator()), advisory locks and SET work unchanged.
 * Transaction mode would need DISABLE_SERVER_SIDE_CURSORS in every app's settings.
 */
export const POOL_MODE = "session";

export interface PoolSpec {
  dbName: string;
  user: string;
  mode: string;
  size: number;
}

/**
 * Pool name (the database name clients put in the DSN): every field of a pool forces its replacement,
 * so the name carries a hash of them. A changed pool gets a new name, is created next to the old one,
 * the apps move to it, and only then is the old one deleted.
 */
export function poolName(spec: PoolSpec): string {
  const hash = createHash("sha256").update(JSON.stringify([spec.dbName, spec.user, spec.mode, spec.size])).digest("hex").slice(0, 8);
  return `${spec.dbName}_pool_${hash}`;
}

export interface ManagedClusterArgs {
  config: StackConfig;
  vpcId: pulumi.Input<string>;
  /** Who may connect (DatabaseFirewall rules): the DOKS cluster, or the Droplet. */
  trustedSources: digitalocean.types.input.DatabaseFirewallRule[];
  maintenanceWindows?: digitalocean.types.input.DatabaseClusterMaintenanceWindow[];
}

export interface ManagedPostgres {
  cluster: digitalocean.DatabaseCluster;
  /** Each app role's password, as DigitalOcean generated it. */
  passwords: Record<string, pulumi.Output<string>>;
  /** Each app's DATABASE_URL through its connection pool (secret). */
  databaseUrls: Record<string, pulumi.Output<string>>;
  endpoint: DataEndpoints["postgres"];
  /** The port of the pools (what app processes connect to). */
  poolPort: pulumi.Output<number>;
  /** What the grants must wait for: the firewall and every database, user and pool. */
  grantDeps: pulumi.Resource[];
  /** The pools: what an app waits for before it connects. */
  pools: pulumi.Resource[];
}

function firewall(parent: pulumi.Resource, name: string, cluster: digitalocean.DatabaseCluster, args: ManagedClusterArgs): digitalocean.DatabaseFirewall {
  // Only the trusted sources may connect; nothing on the public internet.
  return new digitalocean.DatabaseFirewall(`${name}-firewall`, { clusterId: cluster.id, rules: args.trustedSources }, { parent });
}

const clusterTags = (config: StackConfig): string[] => ["djangostack", `djangostack-${config.stack}`];

/** The PostgreSQL cluster, and per app a database, a user and a session pool (one at a time). */
export function managedPostgres(parent: pulumi.Resource, name: string, apps: AppConfig[], args: ManagedClusterArgs): ManagedPostgres {
  const { config } = args;
  const pg = config.data.postgres;
  const cluster = new digitalocean.DatabaseCluster(
    `${name}-postgres`,
    {
      name: `${config.project}-${config.stack}-pg`,
      engine: "pg",
      version: pg.version,
      size: pg.managedSize,
      nodeCount: pg.managedNodes,
      region: config.region,
      privateNetworkUuid: args.vpcId,
      maintenanceWindows: args.maintenanceWindows,
      tags: clusterTags(config),
    },
    // The stack's data: a `pulumi destroy` or a replacing change must be deliberate.
    { parent, protect: true },
  );
  const result: ManagedPostgres = {
    cluster,
    passwords: {},
    databaseUrls: {},
    endpoint: { host: cluster.privateHost, port: cluster.port, sslmode: "require" },
    poolPort: cluster.port,
    grantDeps: [firewall(parent, `${name}-postgres`, cluster, args)],
    pools: [],
  };
  const size = poolSize(pg.managedSize, apps.length);
  // One at a time: the DigitalOcean API fails parallel database and user creates on one cluster
  // (terraform-provider-digitalocean #360, #493; the provider serializes only users).
  let previous: pulumi.Resource[] = [];
  for (const app of apps) {
    // Protected, not retained: removing an app must stop the update and ask (a retained database
    // would leave state silently, and adding the app back would fail on the name DigitalOcean still
    // holds). The user owns every table its migrations created, so it goes only with the data.
    const kept = { parent, protect: true };
    const db = new digitalocean.DatabaseDb(`${name}-${app.name}-db`, { clusterId: cluster.id, name: names.database(app.name) }, { ...kept, dependsOn: previous });
    const user = new digitalocean.DatabaseUser(`${name}-${app.name}-db-user`, { clusterId: cluster.id, name: names.role(app.name) }, { ...kept, dependsOn: [db] });
    const spec: PoolSpec = { dbName: names.database(app.name), user: names.role(app.name), mode: POOL_MODE, size };
    const pool = new digitalocean.DatabaseConnectionPool(
      `${name}-${app.name}-pool`,
      { clusterId: cluster.id, name: poolName(spec), dbName: db.name, user: user.name, mode: spec.mode, size: spec.size },
      // Create-first (the bridge would delete first, as the name is set here): the new name allows it.
      { parent, deleteBeforeReplace: false, dependsOn: [user] },
    );
    previous = [pool];
    result.passwords[app.name] = pulumi.secret(user.password);
    result.databaseUrls[app.name] = pulumi.secret(
      pulumi.all([user.password, pool.privateHost, pool.port]).apply(([password, host, port]) => databaseUrl({ user: spec.user, password, host, port, database: poolName(spec), sslmode: "require" })),
    );
    result.poolPort = pool.port;
    result.grantDeps.push(db, user, pool);
    result.pools.push(pool);
  }
  return result;
}

export interface ManagedValkey {
  cluster: digitalocean.DatabaseCluster;
  password: pulumi.Output<string>;
  endpoint: DataEndpoints["redis"];
  /** The eviction settings and the firewall: what an app waits for. */
  ready: pulumi.Resource[];
}

/** The Valkey cluster (TLS only) with the stack's eviction policy. */
export function managedValkey(parent: pulumi.Resource, name: string, args: ManagedClusterArgs): ManagedValkey {
  const { config } = args;
  const cluster = new digitalocean.DatabaseCluster(
    `${name}-valkey`,
    {
      name: `${config.project}-${config.stack}-valkey`,
      engine: VALKEY_ENGINE,
      version: VALKEY_VERSION,
      size: config.data.redis.managedSize,
      nodeCount: 1,
      region: config.region,
      privateNetworkUuid: args.vpcId,
      maintenanceWindows: args.maintenanceWindows,
      tags: clusterTags(config),
    },
    // Protected like Postgres: deleting it would drop sessions and results and change every app's REDIS_URL.
    { parent, protect: true },
  );
  const settings = new digitalocean.DatabaseValkeyConfig(`${name}-valkey-config`, { clusterId: cluster.id, valkeyMaxmemoryPolicy: config.data.redis.evictionPolicy, ssl: true }, { parent });
  return {
    cluster,
    password: pulumi.secret(cluster.password),
    endpoint: { host: cluster.privateHost, port: cluster.port, tls: true, user: cluster.user },
    ready: [settings, firewall(parent, `${name}-valkey`, cluster, args)],
  };
}
