/**
 * The exporters as plain data (pure, no Pulumi): one process per service the stack runs whose metrics
 * a Prometheus cannot read directly, and the endpoints of those that serve their own (the apps' web
 * processes, RabbitMQ's built-in plugin). None publishes a port: they are scraped from inside the
 * stack's network (the Docker networks, or on Kubernetes from `monitoring.namespace`).
 */
import { StackConfig } from "../config/types";
import { usesDeployedRabbitmq, usesDeployedRedis } from "../config/contract";
import * as names from "./names";
import { MetricsEndpoint, Process, SecretEnvSource } from "./types";

/**
 * Upstream images, tags pinned here and by digest at deploy where the stack pins public images
 * (src/components/pinning.ts). celery-exporter: its chart's default tag is the appVersion (0.12.0,
 * danihodovic/celery-exporter charts/celery-exporter/Chart.yaml and values.yaml).
 */
export const EXPORTER_IMAGES = {
  nginx: "nginx/nginx-prometheus-exporter:1.4.2",
  postgres: "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
  redis: "oliver006/redis_exporter:v1.74.0",
  celery: "danihodovic/celery-exporter:0.12.0",
} as const;

/** Each exporter's default listen port (the images' own defaults), and RabbitMQ's plugin port. */
export const METRICS_PORTS = { nginx: 9113, postgres: 9187, redis: 9121, celery: 9808, rabbitmq: 15692 } as const;

/** nginx's stub_status: a listener of its own that is never published nor routed (src/render/nginx.ts). */
export const NGINX_STATUS = { port: 8081, path: "/stub_status" } as const;

export const EXPORTER_NAMES = {
  nginx: "nginx-exporter",
  postgres: "postgres-exporter",
  redis: "redis-exporter",
  celery: (app: string): string => `${app}-celery-exporter`,
} as const;

/** The Go exporters hold a scrape's worth of samples (tens of MiB at most); they fit beside a default Droplet's stack. */
const EXPORTER_RESOURCES = { cpuMillis: 50, memoryMiB: 32 };
/** celery-exporter is a Python process with Celery and its event state. */
const CELERY_EXPORTER_RESOURCES = { cpuMillis: 100, memoryMiB: 128 };

/**
 * Probed on their metrics port (Kubernetes). Docker runs no check for them: their images (scratch,
 * distroless) hold no client to run one; a dead exporter is restarted and a hung one shows in Prometheus as `up == 0`.
 */
const probe = (port: number): Process["health"] => {
  const http = { kind: "http" as const, path: "/metrics", port };
  return { liveness: http, readiness: http, timing: { intervalSeconds: 30, timeoutSeconds: 10, failureThreshold: 3, startPeriodSeconds: 10 } };
};

const metrics = (port: number): MetricsEndpoint => ({ port, path: "/metrics" });

function exporter(name: string, image: string, port: number, extra: Partial<Process>): Process {
  return {
    name,
    role: "exporter",
    image: { kind: "public", ref: image },
    command: [],
    env: {},
    secretEnv: {},
    ports: [],
    resources: EXPORTER_RESOURCES,
    replicas: 1,
    singleton: false,
    stopGraceSeconds: 10,
    volumes: [],
    claims: {},
    readOnlyRootFs: true,
    dependsOn: [],
    health: probe(port),
    metrics: metrics(port),
    // Every exporter image's own user is unprivileged; one uid for all keeps Kubernetes' runAsNonRoot satisfiable.
    user: "65534:65534",
    ...extra,
  };
}

/** RabbitMQ's rabbitmq_prometheus plugin (enabled in the official image) serves its own metrics. */
export function rabbitmqMetrics(config: StackConfig): MetricsEndpoint | undefined {
  return config.monitoring.enabled ? metrics(METRICS_PORTS.rabbitmq) : undefined;
}

/** The stub_status listener nginx renders for its exporter, when there is one. */
export function nginxStatusListener(config: StackConfig): typeof NGINX_STATUS | undefined {
  return config.monitoring.exporters ? NGINX_STATUS : undefined;
}

/**
 * The exporters of the services this stack deploys. Managed PostgreSQL and Valkey (DigitalOcean's
 * own metrics) and external services get none. Credentials come as secret env, never as arguments.
 */
export function exporterProcesses(config: StackConfig, processes: readonly Process[]): Process[] {
  if (!config.monitoring.exporters) return [];
  const has = (role: Process["role"]) => processes.some((p) => p.role === role);
  const result: Process[] = [];
  // On Kubernetes a sidecar in each nginx pod reads the pod's own loopback; on Docker the status
  // listener is reached on the edge network, where only nginx, web and the frontend live.
  const statusHost = config.target === "kubernetes" ? "127.0.0.1" : names.EDGE;
  result.push(
    exporter(EXPORTER_NAMES.nginx, EXPORTER_IMAGES.nginx, METRICS_PORTS.nginx, {
      args: [`--nginx.scrape-uri=http://${statusHost}:${NGINX_STATUS.port}${NGINX_STATUS.path}`],
      sidecarOf: names.EDGE,
    }),
  );
  if (has("postgres")) {
    // The superuser sees every database's statistics. On Kubernetes it keeps its bootstrap password
    // (the init Job logs in over TCP with it, docs/operations.md); on Docker the init sets the rotating one.
    const password: SecretEnvSource = config.target === "kubernetes" ? { kind: "postgresBootstrapPassword" } : { kind: "postgresSuperuserPassword" };
    result.push(
      exporter(EXPORTER_NAMES.postgres, EXPORTER_IMAGES.postgres, METRICS_PORTS.postgres, {
        // DATA_SOURCE_URI/USER/PASS: read by postgres_exporter 0.11 (Debian 12) through 0.17 (cmd/postgres_exporter/datasource.go).
        env: { DATA_SOURCE_URI: `${names.POSTGRES}:5432/postgres?sslmode=disable`, DATA_SOURCE_USER: names.SUPERUSER.role },
        secretEnv: { DATA_SOURCE_PASS: password },
        dependsOn: ["postgres"],
      }),
    );
  }
  if (has("redis")) {
    result.push(
      exporter(EXPORTER_NAMES.redis, EXPORTER_IMAGES.redis, METRICS_PORTS.redis, {
        // REDIS_ADDR and REDIS_PASSWORD are the defaults of its --redis.addr/--redis.password flags (main.go getEnv).
        env: { REDIS_ADDR: `redis://${names.REDIS}:6379` },
        secretEnv: { REDIS_PASSWORD: { kind: "redisPassword" } },
        dependsOn: ["redis"],
      }),
    );
  }
  for (const app of config.apps) {
    if (!app.broker || app.workers.length === 0) continue;
    // The broker must be a server the stack runs here: managed Valkey (a Redis broker on Kubernetes) has
    // no pod the exporter's NetworkPolicy could name, and an external broker is not ours to read.
    const rabbitmq = usesDeployedRabbitmq(app);
    if (!(rabbitmq ? has("rabbitmq") : app.brokerKind === "redis" && usesDeployedRedis(app) && has("redis"))) continue;
    const queues = [...new Set(app.workers.flatMap((w) => w.queues))];
    result.push(
      exporter(EXPORTER_NAMES.celery(app.name), EXPORTER_IMAGES.celery, METRICS_PORTS.celery, {
        // The app's own broker user on its vhost (or its Redis database): the exporter sees exactly its queues.
        // CE_BROKER_URL: the image's cli.py reads every option from CE_* (click auto_envvar_prefix="CE").
        secretEnv: { CE_BROKER_URL: { kind: rabbitmq ? "brokerUrl" : "redisBrokerUrl", app: app.name } },
        // --queues: reported from the start, before any worker has said it consumes them.
        args: ["--queues", queues.join(",")],
        resources: CELERY_EXPORTER_RESOURCES,
        // Python and Celery may write temp files; the root stays read-only.
        volumes: [{ volume: "tmp", kind: "scratch", mountPath: "/tmp", readOnly: false, memory: true }],
        dependsOn: [rabbitmq ? "rabbitmq" : "redis"],
      }),
    );
  }
  return result;
}
