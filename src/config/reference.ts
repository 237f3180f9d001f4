/**
 * The configuration reference: one row per key the parser (schema.ts and its helpers) accepts under
 * `djangostack:`. `npm run docs` writes docs/configuration.md from it, and
 * tests/unit/config-reference.test.ts fails when the page is stale or when a key the parser accepts
 * has no row here (or a row names a key the parser refuses). Allowed values come from the parser's own
 * constants wherever it has them, so they cannot drift either.
 */
import { OVERLAY_KEY } from "./overlay";
import { CRON_HINT } from "./cron";
import { DEFAULT_BACKUP_SCHEDULE, SPACES_REGIONS } from "./backups";
import { NO_KUBERNETES_REGIONS, REGIONS, DROPLET_IMAGES } from "./slugs";
import {
  APP_SERVERS,
  BROKER_KINDS,
  CLIENT_ADDRESS_HEADERS,
  CELERY_POOLS,
  DATA_MODES,
  DOCKER_PLATFORMS,
  DOCKER_PUBLISH,
  DROPLET_BACKUP_PLANS,
  DROPLET_EGRESS,
  ENV_PRESETS,
  EXTERNAL_SERVICES,
  GUNICORN_WORKER_CLASSES,
  JOB_CONCURRENCY,
  STATIC_COLLECT,
  STATIC_STORAGES,
  MEDIA_STORAGES,
  PROBE_KINDS,
  REDIS_EVICTION_POLICIES,
  TARGETS,
  TLS_MODES,
} from "./types";

/** Objects that appear under several keys, described once. */
export type ShapeName = "resources" | "build";

export interface KeyDoc {
  /** The path under `djangostack:`; `[]` marks a list entry (`apps[].port`), `<…>` a key of the user's choosing. */
  readonly key: string;
  readonly type: string;
  /** Markdown; absent when there is none. */
  readonly default?: string;
  /** The values the parser accepts, when it has a fixed list. */
  readonly allowed?: readonly string[];
  /** Markdown: what the key does and the rules the parser applies. */
  readonly meaning: string;
  /** The key is an object of this shape; its keys are described in SHAPES. */
  readonly shape?: ShapeName;
}

export interface SectionDoc {
  readonly title: string;
  readonly intro?: string;
  readonly keys: readonly KeyDoc[];
}

export const SHAPES: Readonly<Record<ShapeName, SectionDoc>> = {
  resources: {
    title: "`resources` (every `…resources` key)",
    intro: "CPU and memory of one container or pod: on Docker the container's limits, on Kubernetes the requests (memory limit = request, CPU not capped).",
    keys: [
      { key: "cpu", type: "string or number", meaning: 'millicores (`"250m"`) or cores (`"1.5"`, `2`)' },
      { key: "memory", type: "string", meaning: '`"512Mi"` or `"2Gi"`, from 16Mi to 256Gi' },
    ],
  },
  build: {
    title: "`build` (`apps[].build`, `frontend.build`)",
    intro: "A build context as a string (`build: ./app`), or an object:",
    keys: [
      { key: "context", type: "string", default: "`./app` (`./frontend` for the frontend)", meaning: "the directory Docker builds" },
      { key: "dockerfile", type: "string", default: "`Dockerfile`", meaning: "the Dockerfile, relative to the context" },
      { key: "target", type: "string", meaning: "a Dockerfile stage to build" },
      {
        key: "args",
        type: "map",
        meaning:
          "Docker build args (names of letters, digits and underscores; printable values). Credential-looking names or URLs with a password are refused: build args stay readable in the image history (`docker history`); pass those at run time with `secretEnv`",
      },
    ],
  },
};

const resources = (key: string, dflt: string): KeyDoc => ({ key, type: "object", default: dflt, shape: "resources", meaning: "CPU and memory, see [`resources`](#resources-every-resources-key)" });

const ENV_NAMES_MEANING =
  "the env names the app's settings read. `preset` first: `djangostack` (the names in [the app contract](app-contract.md); no debug variable), `twelve-factor` (`SECRET_KEY`, `ALLOWED_HOSTS`, `DEBUG`, `DATABASE_URL`, `REDIS_URL`, `CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`) or `cookiecutter-django` (`DJANGO_SECRET_KEY`, `DJANGO_ALLOWED_HOSTS`, `DJANGO_DEBUG`, `DATABASE_URL`, `REDIS_URL`, `CELERY_BROKER_URL`); then any role one by one, below. `\"\"` leaves a setting the app does not read unset (not `secretKey`, `allowedHosts`). Names are UPPER_SNAKE_CASE and must differ from each other and from the fixed names djangostack sets; `env` may use a default name the app no longer reads";

const envRole = (role: string, what: string): KeyDoc => ({ key: `apps[].envNames.${role}`, type: "string", default: "the preset's", meaning: what });
/** `<path>`, `.name`, `.region`, `.create` of a Spaces bucket (config/backups.ts parseSpacesBucket). */
const bucketKeys = (path: string, d: { what: string; defaultName: string; nameRule: string; created: string; existing: string }): KeyDoc[] => [
  { key: path, type: "object", meaning: d.what },
  { key: `${path}.name`, type: "string", default: d.defaultName, meaning: `bucket name: 3-63 lowercase letters, digits and inner hyphens, unique across Spaces${d.nameRule}` },
  { key: `${path}.region`, type: "string", default: "the stack's region, or the Spaces region of its city (`nyc1` → `nyc3`), else `nyc3`", allowed: SPACES_REGIONS, meaning: "the bucket's region: a Spaces region" },
  {
    key: `${path}.create`,
    type: "boolean",
    default: "`true`",
    meaning: `\`true\`: the stack creates the bucket ${d.created}. It needs the provider's Spaces keys (\`digitalocean:spacesAccessId\`/\`spacesSecretKey\` or \`SPACES_ACCESS_KEY_ID\`/\`SPACES_SECRET_ACCESS_KEY\`). \`false\`: an existing bucket by name${d.existing}`,
  },
];
const mediaRole = (role: string, what: string): KeyDoc =>
  envRole(role, `${what}. Set only for an app with \`media.storage\` "spaces" (naming it for another app is refused); presets: django-storages' own \`AWS_*\` names (\`djangostack\` adds \`DJANGO_MEDIA_STORAGE\`), \`DJANGO_AWS_*\` for \`cookiecutter-django\``);
const partRole = (role: string, what: string): KeyDoc =>
  envRole(role, `${what}, for settings that build their connections from parts: no preset sets it; read from the same URL the app would get (deployed or external) and handed over as secret env`);

export const REFERENCE: readonly SectionDoc[] = [
  {
    title: "Stack",
    keys: [
      { key: "target", type: "string", default: "`docker`", allowed: TARGETS, meaning: "`docker` (a Docker engine: the local one, or a server's), `droplet` (one Droplet running Docker), `kubernetes` (DigitalOcean Kubernetes)" },
      {
        key: "promoteFrom",
        type: "string",
        meaning:
          "`droplet` and `kubernetes`: a stack (`org/project/stack`, e.g. `acme/djangostack/staging`) whose `images` output this stack runs instead of building, so what ships is what was tested. Refused at deploy when that stack exports no djangostack outputs, images for another set of apps, or a built image not pinned by digest. Both stacks pull from the same DigitalOcean registry",
      },
      {
        key: "region",
        type: "string",
        default: "`nyc3`",
        allowed: REGIONS,
        meaning: `DigitalOcean region slug: one of the pinned \`@pulumi/digitalocean\` SDK's \`Region\` values plus \`atl1\`; target \`kubernetes\` refuses ${NO_KUBERNETES_REGIONS.map((r) => `\`${r}\``).join(", ")} (no DOKS there)`,
      },
      {
        key: "logFormat",
        type: "string",
        default: "`json` on `droplet` and `kubernetes`, `plain` on `docker`",
        allowed: ["json", "plain"],
        meaning:
          "how the apps' processes log: `json` renders gunicorn's access and error lines as one JSON object each (method, path, status, duration, the `X-Request-ID` nginx sets) and gives the apps `DJANGO_LOG_FORMAT=json` (the sample app then logs JSON records with the request id, in the web process and in the Celery tasks the request enqueued). nginx logs JSON either way",
      },
      { key: "domain", type: "string", meaning: "public domain (a lowercase fully qualified name); without it the stack serves plain HTTP on the IP / localhost" },
      { key: "apps", type: "list", default: "one app `web` built from `./app`", meaning: "the Django apps (1 to 16: each needs its own Redis database), see [Apps](#apps)" },
      {
        key: OVERLAY_KEY,
        type: "object",
        meaning:
          "a stack's changes to the values of `Pulumi.yaml`: maps merge deeply (`null` removes a key), `apps` and their `workers` are maps by name, `$patch: add`/`remove` adds or removes one, other lists replace; an unknown name is an error. See [overlays](configuration-overlays.md)",
      },
      { key: "frontend", type: "object", meaning: "a static frontend container behind nginx, see [Frontend](#frontend)" },
      { key: "data", type: "object", meaning: "PostgreSQL, Redis and RabbitMQ, see [Data services](#data-services)" },
      { key: "edge", type: "object", meaning: "nginx, TLS and the rate limits, see [Edge](#edge)" },
      { key: "docker", type: "object", meaning: "the Docker engine, see [Docker engine](#docker-engine)" },
      { key: "droplet", type: "object", meaning: "target `droplet` only, see [Droplet](#droplet)" },
      { key: "kubernetes", type: "object", meaning: "target `kubernetes` only, see [Kubernetes](#kubernetes)" },
      { key: "secrets", type: "object", meaning: "generated credentials, see [Secrets](#secrets)" },
      { key: "prices", type: "object", meaning: "price table overrides for the cost estimate, see [Prices](#prices)" },
    ],
  },
  {
    title: "Apps",
    intro: "Each entry of `apps`:",
    keys: [
      {
        key: "apps[].name",
        type: "string",
        default: "`web` (then `app2`…)",
        meaning:
          "lowercase name, 1–20 letters, digits and inner hyphens, starting with a letter; names its containers, database `<name>_db`, role `<name>_user`, vhost `/<name>`. Every derived name (`<name>-web`, `-migrate`, `-beat`, `-worker-<pool>`, the Kubernetes `<name>-env`/`-secrets`/`-gunicorn`, the image) must differ from every other app's, pool's, the frontend's and djangostack's own: `frontend` next to a frontend, `postgres`, `postgres-init`, `postgres-grants`, `redis`, `rabbitmq`, `nginx`, app `x-worker` beside app `x` with pool `web`… are refused, and so are `pg` and `pg-*` (PostgreSQL reserves `pg_` roles)",
      },
      { key: "apps[].build", type: "string or object", default: "`./app`", shape: "build", meaning: "what to build the app's image from, see [`build`](#build-appsbuild-frontendbuild); set `build` or `image`, not both" },
      { key: "apps[].image", type: "string", meaning: 'a prebuilt image reference such as `"registry.digitalocean.com/team/api:1.4"`' },
      {
        key: "apps[].routes",
        type: "list of paths",
        default: '`["/"]` for a sole app, else `["/<name>/"]`',
        meaning:
          "URL path prefixes nginx routes to this app (longest prefix wins, so nesting across apps is fine; each route belongs to one app). An app needs a route or a host. Paths (routes, `websocketPaths`, `healthPath`, `readyPath`, `frontend.route`, `edge.rateLimit.strictPaths`) start and end with `/`, have segments of letters, digits and `. _ ~ -`, and are refused when nginx would never match them as written (`.`/`..` segments, which nginx resolves first; `//` and `%`-escapes, which it merges and decodes), when a segment starts with `.` other than `.well-known` (the edge denies dot files), when they lie under `/static/`, `/media/` (the apps' files) or `/.well-known/acme-challenge/`, and when they differ from another owner's path only in letter case (nginx and Django match case-sensitively)",
      },
      { key: "apps[].hosts", type: "list of host names", default: "`[]`", meaning: "extra host names served entirely by this app; never the stack's `domain` (the domain is the main site, and the default servers that close unknown hosts need it); each host belongs to one app" },
      { key: "apps[].wsgi", type: "Python path", default: "`config.wsgi:application`", meaning: "the WSGI application" },
      { key: "apps[].asgi", type: "Python path", default: "`config.asgi:application`", meaning: "the ASGI application (servers other than `gunicorn`)" },
      { key: "apps[].settingsModule", type: "Python path", default: "`config.settings`", meaning: "`DJANGO_SETTINGS_MODULE`" },
      { key: "apps[].celeryApp", type: "Python path", default: "`config`", meaning: "the module holding the Celery app (`celery -A`)" },
      {
        key: "apps[].server",
        type: "string",
        default: "`gunicorn` (`gunicorn-uvicorn` when `websocketPaths` is set)",
        allowed: APP_SERVERS,
        meaning: "`gunicorn` (WSGI, see `gunicorn.workerClass`), or ASGI: `gunicorn-uvicorn` (uvicorn's worker class in the rendered config), `daphne`, `uvicorn`; `websocketPaths` with `gunicorn` is refused",
      },
      {
        key: "apps[].port",
        type: "integer",
        default: "`8000`",
        meaning: "the web server's port, any of 1–65535 (below 1024 the container gets `net.ipv4.ip_unprivileged_port_start`, on Kubernetes a safe pod sysctl; the user stays non-root)",
      },
      { key: "apps[].user", type: "string", default: "the image's user (Kubernetes: `10001:10001`)", meaning: '`"uid:gid"` (non-zero uid) every process of the app runs as. On the Docker targets a one-off `<app>-chown` (root with only CHOWN and DAC_READ_SEARCH) then hands the static and media volumes to it before each release; on Kubernetes the pod\'s fsGroup does' },
      { key: "apps[].database", type: "boolean", default: "`true`", meaning: "own Postgres database + role" },
      {
        key: "apps[].broker",
        type: "boolean or string",
        default: "`true`",
        allowed: ["true", "false", ...BROKER_KINDS],
        meaning: "Celery's broker: `true`/`rabbitmq` (own RabbitMQ vhost + user), `redis` (a Redis database of its own for the queues), `false` (no Celery: no workers, no beat). RabbitMQ is deployed only while some app uses it",
      },
      {
        key: "apps[].brokerAccess",
        type: "list of app names",
        default: "`[]`",
        meaning:
          "apps whose RabbitMQ vhost this app's broker user may also use (one service enqueues tasks another's workers run); the app gets each as `<its broker URL name>_<APP>`, e.g. `CELERY_BROKER_URL_NOTIFICATION` (secret). Both apps on the deployed RabbitMQ. Taking a grant back clears the permission at RabbitMQ's next start",
      },
      {
        key: "apps[].calls",
        type: "list of app names",
        default: "`[]`",
        meaning:
          "apps whose web this app calls inside the stack (service to service, not through the edge): every process of the app gets each one's internal URL as `<APP>_SERVICE_URL`, e.g. `AUTH_SERVICE_URL=http://auth-web:8000`. On Kubernetes NetworkPolicies admit exactly these calls and deny every other app-to-app connection; on the Docker targets the apps share the data network, so the URL works but the network does not isolate them (see [Kubernetes](kubernetes.md#network))",
      },
      { key: "apps[].migrate", type: "boolean", default: "`true`", meaning: "run migrations on release" },
      { key: "apps[].jobs", type: "list", default: "`[]`", meaning: "scheduled jobs, at most 20 (see [Scheduled jobs](#scheduled-jobs))" },
      {
        key: "apps[].release",
        type: "list of commands",
        default: "`[]`",
        meaning:
          "up to 20 commands (argument lists, no shell: `[[python, manage.py, createsuperuser, --noinput], [python, manage.py, loaddata, initial]]`) run in order after the migration, in the release one-off (`<app>-migrate`: a Docker one-off container, a Kubernetes Job) with the new image and the app's env; the first that fails stops the rest and the rollout, like a failed migration. With `migrate: false` the one-off runs only these",
      },
      { key: "apps[].redisDb", type: "integer", default: "the app's index", meaning: "its Redis database number for cache and results (0–15, unique)" },
      {
        key: "apps[].brokerRedisDb",
        type: "integer",
        default: "the highest number no app uses",
        meaning: "with `broker: redis`, the queues' Redis database (0–15), never a cache's (Django's `cache.clear()` flushes its whole database)",
      },
      { key: "apps[].workers", type: "list", default: "one pool `default`", meaning: "Celery worker pools, see [Worker pools](#worker-pools)" },
      { key: "apps[].beat", type: "boolean", default: "`true`", meaning: "one Celery beat (a singleton); needs at least one worker pool" },
      {
        key: "apps[].env",
        type: "map",
        default: "`{}`",
        meaning:
          "extra plain env (UPPER_SNAKE_CASE names; printable text and tabs; no NUL, newline or other control character). Refused: every name djangostack sets (`DJANGO_SETTINGS_MODULE`, `DJANGO_ALLOWED_HOSTS`, `CSRF_TRUSTED_ORIGINS`, `DJANGO_SECURE_COOKIES`, `DJANGO_SECURE_SSL_REDIRECT`, `DJANGO_SECURE_HSTS_SECONDS`, `DJANGO_STATIC_URL`/`_ROOT`, `DJANGO_MEDIA_URL`/`_ROOT`, `DJANGO_LOG_LEVEL`, the Celery probe files, `DJANGO_SECRET_KEY`, `DATABASE_URL`, `REDIS_URL`, `CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND`; the message names the setting that controls it), and on every target anything that looks like a credential (`*PASSWORD*`, `*PASSWD*`, `*SECRET*`, `*TOKEN*`, `*CREDENTIAL*`, `*_KEY`, `*_PASS`, `*_DSN`, or a URL with a password): plain env is unencrypted in the state, and a ConfigMap on Kubernetes. Put those in `secretEnv` (or set the `env` entry with `--secret`). A name may be in `env` or `secretEnv`, not both. A value set with `pulumi config set --secret --path 'djangostack:apps[0].env.X'` makes the whole `apps` key secret (Pulumi does not say which leaf), so then every app's `env` is handled as `secretEnv`: a Kubernetes Secret, a secret Docker env entry, masked in the render",
      },
      { key: "apps[].replicas", type: "integer", default: "`1`", meaning: "web replicas (1–100)" },
      { key: "apps[].autoscale", type: "object", meaning: "web autoscaling on Kubernetes (an HPA; no replica count in the Deployment then)" },
      { key: "apps[].autoscale.min", type: "integer", default: "`replicas`", meaning: "fewest web pods" },
      { key: "apps[].autoscale.max", type: "integer", default: "the larger of `replicas` and 3", meaning: "most web pods; at least `min`" },
      { key: "apps[].autoscale.cpuPercent", type: "integer", default: "`70`", meaning: "the HPA's CPU target (10–100)" },
      resources("apps[].resources", "500m / 512Mi"),
      { key: "apps[].gunicorn", type: "object", meaning: "the rendered `gunicorn.conf.py`, below" },
      { key: "apps[].gunicorn.workers", type: "integer", default: "`0` (= 2×CPU+1)", meaning: "gunicorn worker processes" },
      { key: "apps[].gunicorn.threads", type: "integer", default: "`1`", meaning: "threads per worker" },
      { key: "apps[].gunicorn.workerClass", type: "string", default: "`sync`", allowed: GUNICORN_WORKER_CLASSES, meaning: 'server `gunicorn` (WSGI) only; the ASGI servers run their own workers' },
      { key: "apps[].gunicorn.timeout", type: "integer", default: "`60`", meaning: "seconds" },
      { key: "apps[].gunicorn.gracefulTimeout", type: "integer", default: "`30`", meaning: "seconds a stopping worker finishes in-flight requests" },
      { key: "apps[].gunicorn.keepalive", type: "integer", default: "`5`", meaning: "seconds" },
      { key: "apps[].gunicorn.maxRequests", type: "integer", default: "`1000`", meaning: "requests before a worker is recycled" },
      { key: "apps[].gunicorn.maxRequestsJitter", type: "integer", default: "`100`", meaning: "random spread added to `maxRequests`" },
      {
        key: "apps[].static",
        type: "object",
        meaning:
          "the app's static files. The app gets `url` and `root` as `DJANGO_STATIC_URL` and `DJANGO_STATIC_ROOT` (and the media pair as `DJANGO_MEDIA_URL`, `DJANGO_MEDIA_ROOT`); settings that hardcode them work when the values agree",
      },
      {
        key: "apps[].static.url",
        type: "path",
        default: "`/static/` for a sole app; `/static/<app>/` when there are several or a frontend",
        meaning: "where nginx serves the files (the app's STATIC_URL): `/static/` or under it, no app's inside another's",
      },
      { key: "apps[].static.root", type: "directory", default: "`/app/staticfiles`", meaning: "STATIC_ROOT in the container: where the image collects, and where the release one-off's collectstatic writes into the static volume; not a system directory" },
      {
        key: "apps[].static.collect",
        type: "string",
        default: "`release` on the Docker targets, `build` on `kubernetes`",
        allowed: STATIC_COLLECT,
        meaning:
          "`release`: the release one-off runs `collectstatic` into the static volume (mounted at `static.root`). `build`: the image already holds the collected files at `static.root` (collectstatic in the Dockerfile) and the release copies them into the volume, keeping the previous release's hashed files for pages still cached. `kubernetes` takes only `build`: nginx's pods copy the files from the image",
      },
      {
        key: "apps[].static.storage",
        type: "string",
        default: "`edge`",
        allowed: STATIC_STORAGES,
        meaning:
          "`edge`: nginx serves the files (from the static volume, or on Kubernetes from the image). `spaces`: the app's media bucket holds them under `static/`, public-read with hashed names, behind a Spaces CDN the stack creates; the release runs `collectstatic` into the bucket on every target, the app gets `DJANGO_STATIC_STORAGE=s3` and `DJANGO_STATIC_URL=https://<bucket>.<region>.cdn.digitaloceanspaces.com/static/`, and the edge serves no `/static/` for it. Needs `media.storage: spaces`; `url` and `collect` are then djangostack's. See [media](media.md#static-files-on-the-spaces-cdn)",
      },
      { key: "apps[].media", type: "object", meaning: "the app's uploaded files" },
      {
        key: "apps[].media.url",
        type: "path",
        default: "`/media/` for a sole app; `/media/<app>/` when there are several or a frontend",
        meaning: "where nginx serves the files (the app's MEDIA_URL): `/media/` or under it, no app's inside another's",
      },
      { key: "apps[].media.root", type: "directory", default: "`/srv/media`", meaning: "MEDIA_ROOT, where the media volume is mounted (storage `volume`); not a system directory" },
      {
        key: "apps[].media.storage",
        type: "string",
        default: "`spaces` on `kubernetes`, `volume` elsewhere",
        allowed: MEDIA_STORAGES,
        meaning:
          "where uploads live, see [media](media.md). `volume`: a volume every process of the app mounts at `root`, served by nginx under `url` and archived by the backups (Docker targets only: on `kubernetes` it would be an emptyDir per pod, lost on every rollout, so it is refused there). `spaces`: a Spaces bucket of the app's own, written through django-storages' S3 backend with the bucket, endpoint and a key pair limited to the bucket under the media `envNames`; nginx serves nothing under `url` and the backups skip it (the bucket is the store). `none`: the app keeps no uploads (no volume, no bucket)",
      },
      ...bucketKeys("apps[].media.bucket", {
        what: "the app's media bucket (storage `spaces`)",
        defaultName: "`<project>-<stack>-<app>-media`",
        nameRule: "; not another app's or the backups bucket, and kept once uploads exist (Spaces cannot rename a bucket)",
        created: "(private, no listing), protected and retained on delete, so no config change, removed app or `pulumi destroy` deletes an upload",
        existing: "",
      }),
      {
        key: "apps[].media.private",
        type: "boolean",
        default: "`true`",
        meaning: "`true`: objects are private and the app hands out signed URLs (query-string auth) that expire after `expiry`. `false`: objects are uploaded public-read and their URLs are plain and permanent",
      },
      { key: "apps[].media.expiry", type: "integer", default: "`3600`", meaning: "seconds a signed URL stays valid (1 to 604800, SigV4's week); only with `private` true" },
      {
        key: "apps[].healthPath",
        type: "path",
        default: "`/api/v1/health/`",
        meaning:
          "liveness (touches nothing). nginx serves it and `readyPath` as exact locations without a rate limit (a path several apps share reaches the first app declaring it; every app's own is also at `/_djangostack/<app>/health/` and `/ready/`, under the general limit, and in the `appHealthUrls` output), so they may be shared by apps but may not equal any route, WebSocket path or login path (`edge.rateLimit.strictPaths`), nor lie inside a login path",
      },
      { key: "apps[].readyPath", type: "path", default: "`/readyz/`", meaning: "readiness (database, cache, broker); same rules as `healthPath`" },
      { key: "apps[].metrics", type: "object", meaning: "where the web process serves Prometheus metrics, scraped inside the stack's network and never through the edge (see [monitoring](monitoring.md))" },
      { key: "apps[].metrics.enabled", type: "boolean", default: "`true` (when `monitoring.enabled`)", meaning: "the app serves metrics; `false` for a project without an endpoint (nothing scrapes it)" },
      {
        key: "apps[].metrics.path",
        type: "path",
        default: "`/metrics`",
        meaning: "its URL path (no trailing slash). The edge answers it and everything under it 404 on every site, whatever `edge.denyPaths` says, so a route, WebSocket or health path under it is refused; the sample app serves it from a middleware before ALLOWED_HOSTS is checked, since a scrape's Host is the pod's address",
      },
      { key: "apps[].metrics.port", type: "integer", default: "the app's `port`", meaning: "the web container's port it is served on: another one when your project serves metrics from a listener of its own (the exporter-style `start_http_server`)" },
      {
        key: "apps[].health",
        type: "object",
        meaning:
          "the web process's probes on every target (Docker's health check and the cutover, Kubernetes' startup/liveness/readiness). Both kinds `none`: no health check, and the Docker cutover waits for running containers",
      },
      { key: "apps[].health.liveness", type: "string", default: "`http`", allowed: PROBE_KINDS, meaning: "`http` (`healthPath`), `tcp` (the app's port), `exec` (`livenessCommand`) or `none`" },
      { key: "apps[].health.readiness", type: "string", default: "`http`", allowed: PROBE_KINDS, meaning: "`http` (`readyPath`), `tcp`, `exec` (`readinessCommand`) or `none`" },
      { key: "apps[].health.livenessCommand", type: "list of strings", meaning: "with `liveness: exec` (required then, refused otherwise): the command as a list of arguments" },
      { key: "apps[].health.readinessCommand", type: "list of strings", meaning: "with `readiness: exec` (required then, refused otherwise): the command as a list of arguments" },
      { key: "apps[].health.interval", type: "integer", default: "`15`", meaning: "seconds between probes" },
      { key: "apps[].health.timeout", type: "integer", default: "`10`", meaning: "seconds; at most `interval`" },
      { key: "apps[].health.retries", type: "integer", default: "`4`", meaning: "failures before unhealthy" },
      { key: "apps[].health.startPeriod", type: "integer", default: "`60`", meaning: "seconds of grace for a first start" },
      { key: "apps[].envNames", type: "object", default: "`{preset: djangostack}`", meaning: ENV_NAMES_MEANING },
      { key: "apps[].envNames.preset", type: "string", default: "`djangostack`", allowed: ENV_PRESETS, meaning: "the set of names to start from" },
      envRole("secretKey", "Django's `SECRET_KEY` (cannot be `\"\"`)"),
      envRole("allowedHosts", "`ALLOWED_HOSTS` (cannot be `\"\"`)"),
      envRole("debug", "set to `False`"),
      envRole("databaseUrl", "the database URL"),
      envRole("cacheUrl", "the Redis URL"),
      envRole("brokerUrl", "Celery's broker URL"),
      envRole("resultBackend", "Celery's result backend URL"),
      partRole("databaseHost", "the database host"),
      partRole("databasePort", "the database port"),
      partRole("databaseName", "the database name"),
      partRole("databaseUser", "the database user"),
      partRole("databasePassword", "the database password"),
      partRole("brokerHost", "the broker host"),
      partRole("brokerPort", "the broker port"),
      partRole("brokerVhost", "the broker vhost"),
      partRole("brokerUser", "the broker user"),
      partRole("brokerPassword", "the broker password"),
      envRole("clickhouseUrl", "the URL of the app's external ClickHouse (`djangostack:external.<app>.clickhouse`); no preset sets it"),
      partRole("clickhouseHost", "the ClickHouse host"),
      partRole("clickhousePort", "the ClickHouse port (the scheme's default when the URL has none: 9000 native, 9440 `clickhouses`, 8123 `http`, 8443 `https`)"),
      partRole("clickhouseDatabase", "the ClickHouse database"),
      partRole("clickhouseUser", "the ClickHouse user"),
      partRole("clickhousePassword", "the ClickHouse password"),
      mediaRole("mediaStorage", "`s3`: the app stores uploads with django-storages' S3 backend (the sample app's switch)"),
      mediaRole("storageBucket", "the bucket's name (cannot be `\"\"` on Spaces)"),
      mediaRole("storageEndpoint", "`https://<region>.digitaloceanspaces.com` (cannot be `\"\"` on Spaces)"),
      mediaRole("storageRegion", "the bucket's region"),
      mediaRole("storageAccessKey", "the key pair's access key id, as secret env (cannot be `\"\"` on Spaces)"),
      mediaRole("storageSecretKey", "the key pair's secret, as secret env (cannot be `\"\"` on Spaces)"),
      mediaRole("storageDefaultAcl", "the ACL of uploaded objects: `private`, or `public-read` with `media.private` false"),
      mediaRole("storageQuerystringAuth", "`true` (signed URLs) with `media.private`, else `false`"),
      mediaRole("storageQuerystringExpire", "`media.expiry`, with `media.private`"),
      { key: "apps[].edge", type: "object", meaning: "the app's edge settings, see [edge.md](edge.md)" },
      { key: "apps[].edge.paths", type: "list", default: "`[]`", meaning: "per-path settings under a path the app answers; each setting comes from the most specific entry that sets it" },
      { key: "apps[].edge.paths[].path", type: "path", meaning: "required; the URL path prefix" },
      { key: "apps[].edge.paths[].timeout", type: "integer", default: "`gunicorn.timeout` + 5 (120 for daphne and uvicorn)", meaning: "seconds nginx waits for the app's answer (1–3600); a later answer is a 504" },
      { key: "apps[].edge.paths[].clientMaxBody", type: "integer", default: "`edge.clientMaxBody`", meaning: "largest request body in MiB (1–10240); a larger one is a 413 that never reaches the app" },
      { key: "apps[].edge.paths[].allow", type: "list of CIDRs", meaning: "only these networks may reach the path (403 for the rest), e.g. `/admin/` from the office; behind the Kubernetes load balancer the client is the one `X-Forwarded-For` names" },
      { key: "apps[].edge.paths[].cors", type: "object", meaning: "cross-origin calls from browsers on other origins (an SPA on `app.example.com` calling this API): nginx answers the preflight itself (204) and adds `Access-Control-Allow-Origin` for a listed `Origin`, unless the app answered CORS itself (django-cors-headers), see [edge.md](edge.md#cors)" },
      { key: "apps[].edge.paths[].cors.origins", type: "list of origins", meaning: 'required; `scheme://host[:port]` as browsers send it (`"https://app.example.com"`, no path), or `["*"]` alone for any origin (never with `credentials`)' },
      { key: "apps[].edge.paths[].cors.methods", type: "list", default: "`GET, HEAD, POST, PUT, PATCH, DELETE`", allowed: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], meaning: "methods a preflight allows" },
      { key: "apps[].edge.paths[].cors.headers", type: "list of header names", default: "`Accept, Authorization, Content-Type, X-CSRFToken, X-Requested-With`", meaning: "request headers a preflight allows" },
      { key: "apps[].edge.paths[].cors.exposeHeaders", type: "list of header names", default: "`[]`", meaning: "response headers the other origin's script may read (`Access-Control-Expose-Headers`)" },
      { key: "apps[].edge.paths[].cors.credentials", type: "boolean", default: "`false`", meaning: "cookies and `Authorization` may come along (`Access-Control-Allow-Credentials: true`); needs listed origins, and Django's `CSRF_TRUSTED_ORIGINS` for unsafe methods with cookies" },
      { key: "apps[].edge.paths[].cors.maxAge", type: "integer", default: "`600`", meaning: "seconds a browser may cache the preflight (0–86400; browsers cap it lower)" },
      { key: "apps[].edge.headers", type: "map", default: "`{}`", meaning: "response headers the edge adds in the app's locations unless the app sent them, e.g. `Content-Security-Policy`; the edge's own security headers and message headers are refused" },
      { key: "apps[].websocketPaths", type: "list of paths", default: "`[]`", meaning: "prefixes proxied with the WebSocket upgrade; one of the app's own routes, or a path no other app or the frontend routes. Needs an ASGI `server`" },
    ],
  },
  {
    title: "Worker pools",
    intro: "Each entry of `apps[].workers`:",
    keys: [
      { key: "apps[].workers[].name", type: "string", default: "`default` (then `pool2`…)", meaning: "the pool's name, as app names; unique within the app" },
      { key: "apps[].workers[].queues", type: "list of strings", default: '`["celery"]`', meaning: "queues it consumes (at least one)" },
      { key: "apps[].workers[].concurrency", type: "integer", default: "`2`", meaning: "worker processes or threads; refused with `autoscale`, which replaces it" },
      { key: "apps[].workers[].pool", type: "string", default: "`prefork`", allowed: CELERY_POOLS, meaning: "Celery's execution pool" },
      {
        key: "apps[].workers[].replicas",
        type: "integer",
        default: "`1`",
        meaning: "containers or pods; `0` only on `kubernetes` (the Docker targets run at least one container per pool) and never while `beat` is on and no other pool with replicas ≥ 1 consumes that pool's queues",
      },
      { key: "apps[].workers[].timeLimit", type: "integer", default: "`300`", meaning: "task time limit, seconds; the stop grace is this plus 30 s" },
      resources("apps[].workers[].resources", "500m / 512Mi"),
      { key: "apps[].workers[].prefetchMultiplier", type: "integer", default: "Celery's", meaning: "tasks each process reserves ahead" },
      { key: "apps[].workers[].maxTasksPerChild", type: "integer", default: "none", meaning: "`prefork` only: tasks before a child process is replaced" },
      { key: "apps[].workers[].autoscale", type: "object", meaning: "`prefork` only: Celery's autoscaler; the PostgreSQL connection check counts its `max`" },
      { key: "apps[].workers[].autoscale.min", type: "integer", default: "`1`", meaning: "fewest processes" },
      { key: "apps[].workers[].autoscale.max", type: "integer", default: "`4`", meaning: "most processes" },
    ],
  },
  {
    title: "Scheduled jobs",
    intro:
      "Each entry of `apps[].jobs`: a command run on a cron schedule with the app's image and env, apart from Celery beat. On Kubernetes a CronJob each (`<app>-job-<name>`, the pods hardened like the app's, behind the migrations-applied gate); on the Docker targets one scheduler container per app (`<app>-scheduler`) runs every job as its own process, with the same schedule, policy and time limit.",
    keys: [
      { key: "apps[].jobs[].name", type: "string", default: "`job1` (then `job2`…)", meaning: "the job's name, as app names; unique within the app" },
      {
        key: "apps[].jobs[].schedule",
        type: "string",
        meaning: `required; ${CRON_HINT}. Parsed as Kubernetes parses it (when both day fields are restricted, either matches). A minute missed by up to 300 s (a restart) still runs, once`,
      },
      { key: "apps[].jobs[].command", type: "list of strings", meaning: "required; the command as arguments, no shell: `[python, manage.py, clearsessions]`" },
      { key: "apps[].jobs[].concurrency", type: "string", default: "`forbid`", allowed: JOB_CONCURRENCY, meaning: "when the last run is still going: `forbid` skips this one, `replace` stops the last one (SIGTERM, SIGKILL after 10 s) and starts, `allow` runs both" },
      { key: "apps[].jobs[].timeLimit", type: "integer", default: "`3600`", meaning: "seconds (1–86400); a run still going is stopped and counts as failed. No retry: the next scheduled minute is the retry" },
      resources("apps[].jobs[].resources", "250m / 256Mi; on Docker the scheduler container's memory limit is the sum of its jobs' plus 64Mi"),
    ],
  },
  {
    title: "Frontend",
    intro:
      "A static frontend container behind nginx. The image runs as a non-root user on a read-only root and may write only `/tmp`, `/var/cache/nginx` and `/var/run` (e.g. `nginxinc/nginx-unprivileged`).",
    keys: [
      { key: "frontend.build", type: "string or object", default: "`./frontend`", shape: "build", meaning: "see [`build`](#build-appsbuild-frontendbuild); a frontend needs `build` or `image`" },
      { key: "frontend.image", type: "string", meaning: "a prebuilt image reference" },
      { key: "frontend.route", type: "path", default: "`/`", meaning: "the URL prefix nginx routes to it" },
      { key: "frontend.hosts", type: "list of host names", default: "`[]`", meaning: "host names served entirely by the frontend (`www.example.com` beside the API on the domain); need `domain`; on the certificate and in DNS like the app hosts; the apps trust them in `CSRF_TRUSTED_ORIGINS` but never receive them (not in `ALLOWED_HOSTS`)" },
      { key: "frontend.port", type: "integer", default: "`8080`", meaning: "the port it listens on (1024–65535)" },
      resources("frontend.resources", "100m / 64Mi"),
    ],
  },
  {
    title: "Data services",
    keys: [
      { key: "data.postgres", type: "object", meaning: "PostgreSQL" },
      { key: "data.postgres.mode", type: "string", default: "`container` (docker, droplet), `managed` (kubernetes)", allowed: DATA_MODES, meaning: "`managed`: DigitalOcean managed PostgreSQL in the stack's VPC, a database, user and session pool per app, firewalled to the DOKS cluster or to the Droplet (seed 002's phase 3 moves the database off the server: [staging on a Droplet](droplet.md#managed-postgresql-and-valkey)); not on target `docker`" },
      { key: "data.postgres.version", type: "string", default: '`"16"`', meaning: "major version, 13 to 17; a change of major is refused at start-up, see [PostgreSQL upgrades](postgres-upgrade.md)" },
      resources("data.postgres.resources", "500m / 1Gi"),
      { key: "data.postgres.volumeSize", type: "integer", default: "`10`", meaning: "GiB (Kubernetes volumes; Docker volumes are not sized)" },
      { key: "data.postgres.managedSize", type: "string", default: "`db-s-1vcpu-2gb`", meaning: "managed cluster size slug" },
      { key: "data.postgres.managedNodes", type: "integer", default: "`1`", meaning: "managed cluster nodes (1–3)" },
      { key: "data.postgres.maxConnections", type: "integer", default: "`200`", meaning: "`max_connections` of a container Postgres; the capacity check counts every process's connections against it" },
      { key: "data.redis", type: "object", meaning: "Redis; managed means DigitalOcean's Valkey" },
      { key: "data.redis.mode", type: "string", default: "as postgres", allowed: DATA_MODES, meaning: "`managed`: DigitalOcean managed Valkey (TLS), firewalled like PostgreSQL; not on target `docker`" },
      { key: "data.redis.version", type: "string", default: '`"7"`', meaning: "6, 7 or 8 (`6.2` etc.); the container only (Valkey is version 8)" },
      resources("data.redis.resources", "250m / 256Mi"),
      { key: "data.redis.volumeSize", type: "integer", default: "`2`", meaning: "GiB" },
      { key: "data.redis.maxMemory", type: "integer", default: "75 % of the container memory", meaning: "MiB, below the container memory (room for AOF rewrites)" },
      { key: "data.redis.evictionPolicy", type: "string", default: "`allkeys-lru`", allowed: REDIS_EVICTION_POLICIES, meaning: "managed Valkey accepts all but the LFU policies" },
      { key: "data.redis.managedSize", type: "string", default: "`db-s-1vcpu-1gb`", meaning: "managed Valkey size slug" },
      { key: "data.rabbitmq", type: "object", meaning: "RabbitMQ (always a container or StatefulSet)" },
      { key: "data.rabbitmq.version", type: "string", default: '`"3.13"`', meaning: "image version such as 3.13 or 4.1" },
      resources("data.rabbitmq.resources", "500m / 512Mi"),
      { key: "data.rabbitmq.volumeSize", type: "integer", default: "`5`", meaning: "GiB" },
      { key: "data.rabbitmq.memoryHighWatermark", type: "number", default: "`0.6`", meaning: "share of memory before publishers are blocked (0.1–0.9)" },
      { key: "data.rabbitmq.diskFreeLimit", type: "integer", default: "`1024`", meaning: "MiB of free disk below which publishers are blocked" },
    ],
  },
  {
    title: "Edge",
    intro: "nginx in front of every app.",
    keys: [
      {
        key: "edge.nginxVersion",
        type: "string",
        default: '`"1.28"`',
        meaning: "`MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, 1.27.3 or later: the Docker targets' upstreams use `server … resolve`; `1.27` means the newest 1.27.x",
      },
      {
        key: "edge.httpPort",
        type: "integer",
        default: "8080 on a loopback `docker` edge, 80 else",
        meaning: "on a Droplet the Cloud Firewall opens exactly the ports nginx publishes: `httpPort`, and `httpsPort` with TLS. Let's Encrypt on a Droplet or a public `docker` edge needs 80 (HTTP-01 connects there)",
      },
      { key: "edge.httpsPort", type: "integer", default: "8443 on a loopback `docker` edge, 443 else", meaning: "must differ from `httpPort`" },
      { key: "edge.tls", type: "object", meaning: "how nginx gets a certificate" },
      {
        key: "edge.tls.mode",
        type: "string",
        default: "`none`; `letsencrypt` with a domain on a droplet, a public `docker` edge or kubernetes",
        allowed: TLS_MODES,
        meaning:
          "TLS needs `domain`. On target `docker`, `letsencrypt` needs `docker.publish: public`. On `kubernetes` the DigitalOcean Load Balancer terminates TLS with a managed certificate: `files` is refused there",
      },
      { key: "edge.tls.email", type: "string", meaning: "the Let's Encrypt account; required with `letsencrypt` except on `kubernetes`" },
      { key: "edge.tls.staging", type: "boolean", default: "`false`", meaning: "use Let's Encrypt's staging CA (`--test-cert`); not used on `kubernetes`" },
      {
        key: "edge.tls.certificatePath",
        type: "host path",
        meaning:
          "mode `files`: host paths bind-mounted read-only into nginx, so their shape is checked strictly (the program cannot stat the host): absolute and normalised (no `//`, `.`, `..`, trailing `/`), segments of letters, digits and `. _ @ + = -` not starting with `.`, below `/etc/ssl/`, `/etc/pki/`, `/etc/letsencrypt/`, `/srv/`, `/opt/` or `/home/<user>/`, the certificate ending in `.pem`/`.crt`/`.cer`. Sockets, devices, `/proc`, `/sys`, `/run`, `/var/lib/docker`, the rest of `/etc` and dot-directories (`~/.ssh`) are refused by construction. Make sure the files exist before `pulumi up`: Docker creates a missing bind source as a directory",
      },
      { key: "edge.tls.keyPath", type: "host path", meaning: "mode `files`: the key, same rules as `certificatePath`, ending in `.pem`/`.key`, a different file from the certificate" },
      { key: "edge.clientMaxBody", type: "integer", default: "`10`", meaning: "MiB, the largest request body" },
      { key: "edge.hstsSeconds", type: "integer", default: "`31536000`", meaning: "HSTS max-age with TLS (on Kubernetes the apps send it: `DJANGO_SECURE_HSTS_SECONDS`)" },
      { key: "edge.hstsIncludeSubDomains", type: "boolean", default: "`false`", meaning: "add `includeSubDomains` to HSTS" },
      { key: "edge.hstsPreload", type: "boolean", default: "`false`", meaning: "add `preload`; needs `hstsIncludeSubDomains` and `hstsSeconds` ≥ 31536000 (the preload list's rules)" },
      { key: "edge.rateLimit", type: "object", meaning: "nginx `limit_req`/`limit_conn`; over a limit nginx answers 429" },
      { key: "edge.rateLimit.generalPerSecond", type: "integer", default: "`20`", meaning: "requests per second per client address" },
      { key: "edge.rateLimit.generalBurst", type: "integer", default: "`40`", meaning: "burst above it" },
      { key: "edge.rateLimit.strictPerMinute", type: "integer", default: "`10`", meaning: "requests per minute per client on the login paths" },
      { key: "edge.rateLimit.strictBurst", type: "integer", default: "`5`", meaning: "burst above it" },
      { key: "edge.rateLimit.strictPaths", type: "list of paths", default: "`[/admin/login/, /accounts/login/, /api/auth/login/]`", meaning: "the login paths under the strict limit" },
      {
        key: "edge.rateLimit.connectionsPerClient",
        type: "integer",
        default: "`100`",
        meaning: "open connections one client address may hold, HTTP/2 streams counted; one more answers 429; 0 turns it off",
      },
      { key: "edge.rateLimit.zones", type: "list", default: "`[]`", meaning: "rate limits of your own per route (e.g. an API at 10 r/s, auth at 5 r/s); a zone covers every location at or under its paths, and the most specific zone or login path covering a location replaces the general limit. See [edge.md](edge.md)" },
      { key: "edge.rateLimit.zones[].name", type: "string", meaning: "required; names the nginx zone (1–20 lowercase letters, digits and hyphens), unique" },
      { key: "edge.rateLimit.zones[].rate", type: "string", meaning: 'required; `"10r/s"` per second or `"30r/m"` per minute, per client address' },
      { key: "edge.rateLimit.zones[].burst", type: "integer", default: "twice a per-second rate, half a per-minute one", meaning: "requests queued above the rate before 429" },
      { key: "edge.rateLimit.zones[].paths", type: "list of paths", meaning: "required; the path prefixes the zone covers, judged like login paths" },
      { key: "edge.trustedProxies", type: "object", meaning: "a CDN or proxy in front of the edge (Cloudflare and the like): nginx takes the client address from `header` only when the peer is in `cidrs` (realip module), so rate limits, logs and `X-Real-IP` are the real client's" },
      { key: "edge.trustedProxies.cidrs", type: "list of CIDRs", meaning: "required; the proxy's published ranges (IPv4 and IPv6; no /0, no host bits)" },
      { key: "edge.trustedProxies.header", type: "string", default: "`X-Forwarded-For`", allowed: CLIENT_ADDRESS_HEADERS, meaning: "the header carrying the client address; on `kubernetes` only `X-Forwarded-For` (nginx sees only the load balancer)" },
      { key: "edge.redirectHosts", type: "list of host names", default: "`[]`", meaning: "host names that answer `301` to the same path on `domain`: `www.example.com` to the apex, or the apex when `domain` is the www name; need `domain`; on the certificate and in DNS, never reaching an app" },
      { key: "edge.denyPaths", type: "list of paths", default: '`["/metrics"]`', meaning: "paths (and their trees) the edge answers 404 on every site without asking the app, so an internal endpoint is never public; `[]` turns it off; a route or health path under one is refused" },
      resources("edge.resources", "250m / 128Mi"),
      { key: "edge.replicas", type: "integer", default: "2 on kubernetes, 1 else", meaning: "nginx replicas (Kubernetes)" },
    ],
  },
  {
    title: "Docker engine",
    keys: [
      {
        key: "docker.host",
        type: "string",
        default: "the local engine",
        meaning:
          "`unix:///…`, `ssh://user@host`, or `tcp://` on a loopback address only (an SSH tunnel); see [a server you run](docker-remote.md)",
      },
      { key: "docker.publish", type: "string", default: "`loopback`", allowed: DOCKER_PUBLISH, meaning: "target `docker` only: nginx on `127.0.0.1` (`loopback`) or `0.0.0.0` (`public`) of the engine's host" },
      { key: "docker.platform", type: "string", default: "`linux/amd64` with an `ssh://`/`tcp://` host, else native", allowed: DOCKER_PLATFORMS, meaning: "target `docker` only: the platform images are built for" },
      { key: "docker.logMaxSize", type: "integer", default: "`10`", meaning: "MiB per json-file log" },
      { key: "docker.logMaxFiles", type: "integer", default: "`5`", meaning: "rotated log files kept" },
    ],
  },
  {
    title: "Droplet",
    intro: "Target `droplet` only; see [staging on a Droplet](droplet.md).",
    keys: [
      {
        key: "droplet.size",
        type: "string",
        default: "`s-2vcpu-4gb`",
        meaning:
          "Droplet size slug: a current plan of the pinned SDK's `DropletSlug` (Basic `s-*`, `c-*`, `c2-*`, `g-*`, `gd-*`, `m-*`, `m3-*`, `m6-*`, `so-*`, `so1_5-*`; no GPU, memory-named or retired plans); an unknown one is answered with the known sizes of its family",
      },
      { key: "droplet.image", type: "string", default: `\`${DROPLET_IMAGES[0]}\``, allowed: DROPLET_IMAGES, meaning: "the bootstrap installs Docker from Docker's Ubuntu repository and hardens Ubuntu's sshd" },
      { key: "droplet.sshKeys", type: "list of strings", default: "required", meaning: "DigitalOcean SSH keys: fingerprints (MD5, as `doctl compute ssh-key list` shows them), numeric IDs or names (looked up with `getSshKey`)" },
      {
        key: "droplet.adminCidrs",
        type: "list of CIDRs",
        default: "required",
        meaning:
          "networks allowed to SSH in, parsed as addresses (IPv4, IPv6 with `::` and embedded IPv4; a bare address is one host) and stored in canonical form. Refused: anything wider than an IPv4 /8 or an IPv6 /32 however it is written (`1.2.3.4/0`, `0:0:0:0:0:0:0:0/0`, `0000::/0`), ranges that together cover more than one such block (`0.0.0.0/1` + `128.0.0.0/1`), invalid addresses (`256.1.1.1`, `1.2.3/24`, `/33`, leading zeros such as `010.0.0.1`), host bits set (`203.0.113.7/24`: write `/32` or `203.0.113.0/24`), and loopback, multicast, reserved or IPv4-mapped ranges. The policy pack applies the same rule to every firewall port but 80/443 and ICMP",
      },
      { key: "droplet.tags", type: "list of strings", default: "`[]`", meaning: "extra Droplet tags" },
      { key: "droplet.alertEmails", type: "list of emails", default: "`[]`", meaning: "recipients of every Droplet alert: the apps' health URLs down, slow or near certificate expiry, a container unhealthy or crash-looping (a failed backup run included), CPU, memory, disk and load (docs/droplet.md, Signals). Empty: no alert is created, and the render and `pulumi up` warn" },
      {
        key: "droplet.swapGiB",
        type: "integer",
        default: "`2`",
        meaning: "swap file size (0: none), at most a quarter of the size's disk (the disk also holds the OS, images and data volumes), where the pricing page states the disk",
      },
      { key: "droplet.registry", type: "object", meaning: "DigitalOcean Container Registry to push to" },
      { key: "droplet.registry.name", type: "string", default: "`djangostack`", meaning: "the registry's name" },
      { key: "droplet.registry.create", type: "boolean", default: "`false`", meaning: "create it (and keep it on `pulumi destroy`) instead of looking it up" },
      { key: "droplet.registry.tier", type: "string", default: "`basic`", allowed: ["starter", "basic", "professional"], meaning: "subscription tier when created" },
      { key: "droplet.dnsManaged", type: "boolean", default: "`true`", meaning: "create A records in DigitalOcean DNS when the domain's zone is there" },
      {
        key: "droplet.backups",
        type: "string or boolean",
        default: "`none`",
        allowed: DROPLET_BACKUP_PLANS,
        meaning:
          "DigitalOcean's own Droplet backups (whole-disk images, starting in the 00:00 UTC window; `weekly` on Sundays): `true` is `weekly`. They cost a share of the Droplet's price and restore the whole machine; the logical dumps of [Backups](#backups) restore one database. Either satisfies the `production-backups` policy",
      },
      {
        key: "droplet.deployUser",
        type: "string",
        default: "`deploy`",
        meaning:
          "the non-root user Docker is driven as over SSH: 1–32 lowercase letters, digits, `_`, `-`, starting with a letter; never a user or group the Ubuntu image already has (`root`, `nobody`, `daemon`, `bin`, `sys`, `www-data`, `sshd`, `systemd-*`, `ubuntu`, `sudo`, `docker`, …)",
      },
      {
        key: "droplet.egress",
        type: "string",
        default: "`reserved-ip`",
        allowed: DROPLET_EGRESS,
        meaning:
          "where outbound traffic leaves from, the address an external service (a ClickHouse, an API) allow-lists, exported as `egress`: `reserved-ip` routes it through the reserved IP's anchor gateway (a systemd timer installed over SSH keeps the route; it survives a Droplet replacement like the reserved IP itself); `droplet-ip` leaves DigitalOcean's default, the Droplet's own IP, which changes with the Droplet. See [staging on a Droplet](droplet.md#outbound-traffic)",
      },
    ],
  },
  {
    title: "Kubernetes",
    intro: "Target `kubernetes` only; see [production on Kubernetes](kubernetes.md). On this target `data.postgres.mode` and `data.redis.mode` default to `managed`.",
    keys: [
      { key: "kubernetes.versionPrefix", type: "string", default: '`"1.33."`', meaning: "newest DOKS version with this prefix (`getKubernetesVersions`), resolved when the cluster is created; patch upgrades happen in the maintenance window" },
      {
        key: "kubernetes.version",
        type: "string",
        meaning:
          "an exact DOKS version slug such as `1.33.5-do.0` (`doctl kubernetes options versions`), starting with `versionPrefix` when that is set: the cluster gets exactly it with auto-upgrade off, and raising it upgrades in place. See [the cluster version](production-engine.md#the-doks-cluster-version)",
      },
      { key: "kubernetes.namespace", type: "string", default: "`djangostack`", meaning: "namespace of every object (a DNS label); `default` and `kube-*` are refused" },
      { key: "kubernetes.ha", type: "boolean", default: "`false`", meaning: "HA control plane (cannot be turned off again once on)" },
      { key: "kubernetes.maintenance", type: "object", meaning: "auto-upgrade window (UTC); also the managed databases' window (unless `any`)" },
      { key: "kubernetes.maintenance.day", type: "string", default: "`sunday`", allowed: ["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], meaning: "the day" },
      { key: "kubernetes.maintenance.startTime", type: "string", default: '`"04:00"`', meaning: "`HH:MM`, UTC" },
      { key: "kubernetes.systemPool", type: "object", meaning: "the cluster's default pool: DOKS system pods only" },
      { key: "kubernetes.systemPool.size", type: "string", default: "`s-2vcpu-2gb`", meaning: "node size, as `droplet.size`" },
      { key: "kubernetes.systemPool.count", type: "integer", default: "`1`", meaning: "nodes (1–10)" },
      { key: "kubernetes.workloadPool", type: "object", meaning: "the separate autoscaling pool every djangostack pod runs on" },
      { key: "kubernetes.workloadPool.size", type: "string", default: "`s-4vcpu-8gb`", meaning: "node size, as `droplet.size`" },
      { key: "kubernetes.workloadPool.minNodes", type: "integer", default: "`2`", meaning: "fewest nodes; at most `maxNodes`" },
      { key: "kubernetes.workloadPool.maxNodes", type: "integer", default: "`5`", meaning: "most nodes" },
      { key: "kubernetes.registry", type: "object", meaning: "DOCR registry (one per account)" },
      { key: "kubernetes.registry.name", type: "string", default: "`djangostack`", meaning: "the registry's name" },
      { key: "kubernetes.registry.create", type: "boolean", default: "`false`", meaning: "create it instead of looking it up" },
      { key: "kubernetes.registry.tier", type: "string", default: "`basic`", allowed: ["starter", "basic", "professional"], meaning: "subscription tier when created" },
      { key: "kubernetes.dnsManaged", type: "boolean", default: "`true`", meaning: "create A records for the domain and app hosts" },
      { key: "kubernetes.loadBalancerSize", type: "string", default: "`lb-small`", allowed: ["lb-small", "lb-medium", "lb-large"], meaning: "LB size: 1/3/6 size units" },
    ],
  },
  {
    title: "Secrets",
    intro:
      "Every credential is generated unless you supply it (`pulumi config set --secret …`, see [operations](operations.md#secrets)). Values of these keys never appear in a message: a problem says `got [secret]`.",
    keys: [
      { key: "secrets.rotation", type: "integer", default: "`0`", meaning: "bump to regenerate every generated credential" },
      { key: "secretKey", type: "secret string", default: "generated (64 characters)", meaning: "Django's `SECRET_KEY`, at least 50 characters" },
      { key: "postgresPassword", type: "secret string", default: "generated (32 characters)", meaning: "the PostgreSQL superuser's password, at least 16 characters" },
      { key: "redisPassword", type: "secret string", default: "generated", meaning: "Redis's password, at least 16 characters" },
      { key: "rabbitmqAdminPassword", type: "secret string", default: "generated", meaning: "RabbitMQ's admin password, at least 16 characters" },
      { key: "databasePasswords", type: "map app → secret", default: "generated", meaning: "`databasePasswords.<app>`: an app role's password, at least 16 characters; the app must have a database" },
      { key: "brokerPasswords", type: "map app → secret", default: "generated", meaning: "`brokerPasswords.<app>`: an app's RabbitMQ user's password, at least 16 characters; the app must have a broker" },
      { key: "secretEnv", type: "map app → env → secret", meaning: "`secretEnv.<app>.<ENV>`: extra secret env for an app (UPPER_SNAKE_CASE names, not one djangostack or the app's `env` sets)" },
      { key: "sentryDsn", type: "secret string", meaning: "a Sentry DSN (`https://<public key>@o123.ingest.sentry.io/456`) every Django and Celery process of every app gets as the secret env `SENTRY_DSN`, with `SENTRY_ENVIRONMENT` = the stack's name; an app whose `secretEnv` sets `SENTRY_DSN` keeps its own (a project per service). The sample app then reports errors with sentry-sdk's Django and Celery integrations. `pulumi config set --secret djangostack:sentryDsn <dsn>`" },
      {
        key: "external",
        type: "map app → service → secret URL",
        allowed: EXTERNAL_SERVICES,
        meaning:
          "`external.<app>.<service>`: the URL of an existing service: `database` `postgres://`/`postgresql://`/`postgis://`; `cache` `redis://`/`rediss://`; `broker` `amqp(s)://` or `redis(s)://`; `resultBackend` `redis(s)://`, `db+postgresql://` or `rpc://`; `clickhouse` (a server the stack never deploys, seed 004's analytics store) `clickhouse://`/`clickhouses://` (native protocol, TLS) or `http(s)://` (HTTP interface), with the credentials of a read-only user, under `envNames.clickhouseUrl` and/or the `clickhouse*` parts. The app gets it under its `envNames` name, and Postgres, Redis or RabbitMQ is deployed only while some app still uses the deployed one. The offline render cannot check a `secure:` external URL's scheme: give it as plain text there",
      },
      {
        key: "registryCredentials",
        type: "map host → {username, password}",
        meaning:
          "pull logins for private registries other than DigitalOcean's, by host (`ghcr.io`, `registry.example.com:5000`), for the images `apps[].image` and `frontend.image` name: `pulumi config set --secret djangostack:registryCredentials '{\"ghcr.io\": {\"username\": \"bot\", \"password\": \"…\"}}'`. Each host must be one an image comes from. On the Docker targets the docker provider pulls with them (beside DOCR's login on the Droplet); on Kubernetes they join DOCR's in the namespace's pull Secret",
      },
    ],
  },
  {
    title: "Prices",
    intro: "Overrides and additions to the price table behind the cost estimate; see [guardrails](guardrails.md#prices-and-cost).",
    keys: [
      { key: "prices.droplets", type: "map slug → row", meaning: "Droplet and node sizes" },
      { key: "prices.droplets.<slug>.vcpus", type: "integer", default: "the table's, or read from the slug", meaning: "vCPUs; required for a slug neither knows" },
      { key: "prices.droplets.<slug>.memoryMiB", type: "integer", default: "the table's, or read from the slug", meaning: "memory; required for a slug neither knows" },
      { key: "prices.droplets.<slug>.monthlyUsd", type: "number", default: "required", meaning: "monthly list price in USD" },
      { key: "prices.databases", type: "map slug → row", meaning: "managed database sizes" },
      { key: "prices.databases.<slug>.vcpus", type: "integer", default: "the table's, or read from the slug", meaning: "vCPUs" },
      { key: "prices.databases.<slug>.memoryMiB", type: "integer", default: "the table's, or read from the slug", meaning: "memory" },
      { key: "prices.databases.<slug>.monthlyUsd", type: "number", default: "required", meaning: "monthly list price in USD" },
      { key: "prices.other", type: "map key → row", meaning: "load balancer, registry, volume and Spaces rows" },
      { key: "prices.other.<key>.monthlyUsd", type: "number", default: "required", meaning: "monthly list price in USD" },
    ],
  },
  {
    title: "Backups",
    intro:
      "Scheduled logical backups (`pg_dump -Fc` of each app database, checksummed, with a manifest) to a private DigitalOcean Spaces bucket whose lifecycle rule enforces the retention; see [backups](backups.md) for how each target runs them and how to restore.",
    keys: [
      { key: "backups", type: "object", meaning: "the schedule, retention and bucket of the stack's backups" },
      {
        key: "backups.enabled",
        type: "boolean",
        default: "`true` on `droplet` and `kubernetes` when the stack runs PostgreSQL itself; `false` with managed PostgreSQL and on target `docker`",
        meaning:
          "run the backup. Managed PostgreSQL keeps DigitalOcean's own daily backups and point-in-time recovery (the `backups` output says so); set `true` to add the logical dump. Target `docker` defaults to off because its default is a machine without a DigitalOcean account. Refused when no app has a database on the deployed PostgreSQL",
      },
      { key: "backups.schedule", type: "string", default: `\`${DEFAULT_BACKUP_SCHEDULE}\``, meaning: `when the backup runs (UTC): ${CRON_HINT}` },
      { key: "backups.retentionDays", type: "integer", default: "`30`", meaning: "days a backup is kept: the bucket's lifecycle rule expires objects under `<stack>/` after them (1 to 3650); the script's `prune` uses the same number" },
      ...bucketKeys("backups.bucket", {
        what: "the Spaces bucket",
        defaultName: "`<project>-<stack>-backups`",
        nameRule: "",
        created: "(private, with the lifecycle rule), protected and retained on delete, so removing `backups` never deletes a dump",
        existing: "; its retention is yours to set",
      }),
      {
        key: "backupCredentials",
        type: "secret {accessKey, secretKey}",
        default: "a generated Spaces key with `readwrite` on the bucket only",
        meaning: "the Spaces key pair the backup signs with: `pulumi config set --secret djangostack:backupCredentials '{\"accessKey\": \"…\", \"secretKey\": \"…\"}'`. Only with backups enabled",
      },
      { key: "backupCredentials.accessKey", type: "secret string", meaning: "the Spaces access key id" },
      { key: "backupCredentials.secretKey", type: "secret string", meaning: "its secret" },
      {
        key: "mediaCredentials",
        type: "map app → secret {accessKey, secretKey}",
        default: "a generated Spaces key per app with `readwrite` on its media bucket only",
        meaning: "`mediaCredentials.<app>`: an existing Spaces key pair for the app's media bucket instead: `pulumi config set --secret --path 'djangostack:mediaCredentials.web.accessKey' …` (and `.secretKey`). Only for an app with `media.storage` `spaces`",
      },
    ],
  },
  {
    title: "Monitoring",
    intro:
      "Prometheus metrics: each app's endpoint (`apps[].metrics`), exporters for nginx, PostgreSQL, Redis and Celery, RabbitMQ's own, and on Kubernetes the Prometheus operator's objects; see [monitoring](monitoring.md).",
    keys: [
      { key: "monitoring", type: "object", meaning: "what the stack exposes to a Prometheus" },
      { key: "monitoring.enabled", type: "boolean", default: "`true`", meaning: "the apps' metrics endpoints and the exporters; `false` turns every one off" },
      { key: "monitoring.exporters", type: "boolean", default: "`monitoring.enabled`", meaning: "run the exporters of the services the stack deploys (nginx, PostgreSQL and Redis containers, Celery's broker); none ever publishes a port" },
      {
        key: "monitoring.prometheusOperator",
        type: "boolean",
        default: "`false`",
        meaning: "target `kubernetes` only (refused elsewhere): a PodMonitor for every metrics port (pods, not Services: nginx's exporter is a sidecar and each replica must be scraped), a PrometheusRule with the alerts, and the Grafana dashboard as a ConfigMap labelled `grafana_dashboard: \"1\"`. Needs the operator's CRDs in the cluster (kube-prometheus-stack)",
      },
      { key: "monitoring.namespace", type: "string", default: "`monitoring`", meaning: "Kubernetes: the namespace Prometheus runs in; the NetworkPolicies admit its pods to the metrics ports, and nothing else" },
      { key: "monitoring.labels", type: "map label → value", default: "`{}`", meaning: "labels on the PodMonitors and the PrometheusRule, for the operator's selectors (kube-prometheus-stack selects `release: <its release name>`)" },
    ],
  },
];

/** Every key path the reference describes, shapes expanded (`apps[].resources.cpu`). */
export function describedKeys(): string[] {
  return REFERENCE.flatMap((s) => s.keys).flatMap((k) => [k.key, ...(k.shape ? SHAPES[k.shape].keys.map((sk) => `${k.key}.${sk.key}`) : [])]);
}
