/**
 * nginx.conf renderer: a complete main configuration (not a conf.d snippet) for the edge.
 *
 * Pure: a function of `NginxInput`, which `nginxInputFor` derives from the workload model with the
 * in-container defaults. Tests override the addresses, ports and paths to run the same text against
 * a real nginx on loopback with temp dirs. Works with nginxinc/nginx-unprivileged (uid 101, no `user`
 * directive, every writable path under `paths.tempDir` / `paths.pidFile`) and with Debian's nginx 1.22
 * started as `nginx -p PREFIX -c FILE -g 'daemon off;'` (no include of mime.types: the types are inline).
 *
 * Anchors: h5bp server configs, Mozilla intermediate TLS, `default_server` returning 444.
 */
import { AppEdgePath, CLIENT_ADDRESS_HEADERS, CorsPolicy, EdgeConfig } from "../config/types";
import { parseCidr } from "../config/cidr";
import { AppRouting, WorkloadModel } from "../model/types";
import { APP_HEALTH_PREFIX, EDGE, appHealthPaths } from "../model/names";
import { HOST_STATUS } from "./host-status";
import { NGINX_STATUS } from "../model/monitoring";
import { EDGE_DEFAULT_TIMEOUT_SECONDS, EDGE_PORTS, PATHS } from "../model/build";

export interface NginxPaths {
  /** Directory holding one folder per app: `/static/<app>/x` is served from `<staticRoot>/<app>/x`. */
  staticRoot: string;
  /** Directory holding one folder per app: `/media/<app>/x` is served from `<mediaRoot>/<app>/x`. */
  mediaRoot: string;
  /** PEM certificate chain and key (used only when `edge.tls.mode` is not "none"). */
  tlsCertificate: string;
  tlsKey: string;
  /** Webroot of the ACME HTTP-01 client: files live under `<acmeWebroot>/.well-known/acme-challenge/`. */
  acmeWebroot: string;
  pidFile: string;
  /** Writable directory for client body / proxy temp files (created by nginx if missing). */
  tempDir: string;
  /** A file path, or "off". */
  accessLog: string;
  /** A file path, or "stderr". */
  errorLog: string;
}

export interface NginxInput {
  /** Version of the nginx binary that will run this file; selects version-dependent syntax (http2). */
  nginxVersion: string;
  routing: AppRouting[];
  frontend?: WorkloadModel["frontend"];
  /** Domain + app, frontend and redirecting hosts; empty means no domain: the app server becomes the catch-all for the IP. */
  serverNames: string[];
  /** Hosts (among serverNames) that answer a permanent redirect to the same path on `to`, the domain. */
  redirect?: { hosts: string[]; to: string };
  edge: EdgeConfig;
  /** Upstream name ("web-web", "frontend") -> "host:port" nginx connects to. */
  addresses: Record<string, string>;
  /** Ports (and optionally one IPv4 address, e.g. "127.0.0.1") nginx listens on. */
  listen: { http: number; https: number; address?: string };
  /** Public HTTPS port used in the HTTP -> HTTPS redirect; 443 is left out of the URL. */
  redirectHttpsPort: number;
  paths: NginxPaths;
  /**
   * DNS resolver (e.g. Docker's "127.0.0.11") to re-resolve upstream names at run time instead of once
   * at startup, for hosts where containers change IP when replaced. Needs nginx >= 1.27.3 (`resolve`).
   */
  resolver?: string;
  /**
   * A TLS-terminating proxy in front (the Kubernetes target's DigitalOcean Load Balancer): the client
   * address comes from X-Forwarded-For sent by these networks, and X-Forwarded-Proto is passed on.
   * `idleTimeoutSeconds`: how long the proxy keeps an idle connection to nginx open for reuse.
   */
  trustedProxy?: {
    cidrs: string[];
    idleTimeoutSeconds: number;
    /** The proxy terminates TLS: nginx adds HSTS to the responses it forwarded as HTTPS. */
    tls?: boolean;
  };
  /**
   * Directory (e.g. "/etc/nginx/upstreams") holding one `<upstream>.conf` per upstream, each written by
   * `renderUpstreamBlock` (the Docker targets' health-gated cutover, `src/render/cutover.ts`). Set, the
   * file has `include <dir>/<upstream>.conf;` instead of inline upstream blocks and `addresses` is not
   * used. One explicit file per upstream, not a glob: a missing file fails `nginx -t` instead of
   * leaving an upstream undefined.
   */
  upstreamsDir?: string;
  /**
   * Directory (the Droplet's host-status bind mount, src/render/host-status.ts) served read-only under
   * `/_djangostack/_host/` on the app servers: the container-health check's status file.
   */
  hostStatusDir?: string;
  /**
   * nginx's stub_status for its Prometheus exporter, on a listener of its own: never published on the
   * host nor in a Kubernetes Service, and answering only loopback (a sidecar) and private networks (the
   * Docker edge network).
   */
  status?: { port: number; path: string };
}

/** Who may read the stub_status listener: the pod's own loopback, and the private container networks. */
const STATUS_CLIENTS = ["127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/** In-container defaults for the edge process built by `buildModel`. */
export function nginxInputFor(model: WorkloadModel, edge: EdgeConfig, domain?: string): NginxInput {
  const addresses: Record<string, string> = {};
  for (const r of model.routing) addresses[r.upstream] = `${r.upstream}:${r.port}`;
  if (model.frontend) addresses[model.frontend.upstream] = `${model.frontend.upstream}:${model.frontend.port}`;
  const certName = domain ?? model.serverNames[0] ?? "default";
  const files = edge.tls.mode === "files";
  return {
    nginxVersion: edge.nginxVersion,
    routing: model.routing,
    frontend: model.frontend,
    serverNames: model.serverNames,
    ...(domain && model.redirectHosts.length > 0 ? { redirect: { hosts: model.redirectHosts, to: domain } } : {}),
    edge,
    addresses,
    listen: { http: EDGE_PORTS.http, https: EDGE_PORTS.https },
    ...(model.processes.some((p) => p.sidecarOf === EDGE) ? { status: NGINX_STATUS } : {}),
    redirectHttpsPort: edge.httpsPort,
    paths: {
      staticRoot: PATHS.nginxStatic,
      mediaRoot: PATHS.nginxMedia,
      // "files": the realizer mounts the operator's files at the same paths inside the container.
      tlsCertificate: files && edge.tls.certificatePath ? edge.tls.certificatePath : `${PATHS.certs}/live/${certName}/fullchain.pem`,
      tlsKey: files && edge.tls.keyPath ? edge.tls.keyPath : `${PATHS.certs}/live/${certName}/privkey.pem`,
      acmeWebroot: PATHS.acmeWebroot,
      pidFile: "/tmp/nginx.pid",
      tempDir: "/var/cache/nginx",
      accessLog: "/dev/stdout",
      errorLog: "stderr",
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixed policy

/**
 * Mozilla intermediate (guideline 5.7): TLS 1.2 + 1.3, ECDHE AEAD suites, client cipher preference.
 * The guideline's three DHE-RSA suites are left out: nginx only offers DHE with an `ssl_dhparam` file,
 * and every client that supports them also supports the ECDHE suites (Mozilla is dropping them too).
 */
const MOZILLA_INTERMEDIATE_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
];

/** Hashed file names (Django's ManifestStaticFilesStorage uses 12 hex digits; bundlers 8+) never change. */
export const HASHED_STATIC_REGEX = "\\.[0-9a-f]{8,}\\.[A-Za-z0-9]+$";
const IMMUTABLE = "public, max-age=31536000, immutable";
const SHORT_CACHE = "public, max-age=600";
const PERMISSIONS_POLICY = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";
/**
 * Uploaded files may be HTML, SVG or XML: opened directly they must not run script, submit forms or
 * load anything on our origin. `sandbox` without tokens also gives the document a unique origin.
 */
const MEDIA_CSP = "default-src 'none'; sandbox";
/** A path segment starting with a dot, except a leading /.well-known/. */
export const DOT_SEGMENT_REGEX = "^/\\.(?!well-known/)|./\\.";
/** Upload types a browser renders as active documents: downloaded, never displayed inline. */
const ACTIVE_MEDIA_REGEX = "\\.(html?|xhtml|xht|shtml|mht|mhtml|svgz?|xml|xsl|xslt)$";

/** Idle client connections, when clients connect directly (h5bp's value). */
const DIRECT_KEEPALIVE_SECONDS = 20;
/**
 * Behind a proxy that reuses its connections, nginx waits this much longer than the proxy before
 * closing an idle one, so the proxy always gives up on it first: its timer starts a little later (when
 * the response has crossed the network) and a request it sends at its deadline is still in flight.
 */
const PROXY_KEEPALIVE_MARGIN_SECONDS = 5;
const WEBSOCKET_TIMEOUT = "3600s";
const UPSTREAM_KEEPALIVE = 16;
/**
 * Shorter than the smallest keep-alive gunicorn accepts (1s): the app must never close an idle
 * connection nginx is about to reuse, or a non-idempotent request on it fails with 502.
 */
const UPSTREAM_KEEPALIVE_TIMEOUT = "900ms";

/** Inline MIME types, so the file needs no `include mime.types` next to it. Extensions are unique. */
const MIME_TYPES: [string, string[]][] = [
  ["text/html", ["html", "htm"]],
  ["text/css", ["css"]],
  ["text/xml", ["xml"]],
  ["text/plain", ["txt"]],
  ["text/markdown", ["md"]],
  ["text/csv", ["csv"]],
  ["text/calendar", ["ics"]],
  ["text/vtt", ["vtt"]],
  ["text/javascript", ["js", "mjs"]],
  ["application/json", ["json", "map"]],
  ["application/ld+json", ["jsonld"]],
  ["application/manifest+json", ["webmanifest"]],
  ["application/atom+xml", ["atom"]],
  ["application/rss+xml", ["rss"]],
  ["application/xhtml+xml", ["xhtml"]],
  ["application/wasm", ["wasm"]],
  ["application/pdf", ["pdf"]],
  ["application/rtf", ["rtf"]],
  ["application/zip", ["zip"]],
  ["application/gzip", ["gz"]],
  ["application/msword", ["doc"]],
  ["application/vnd.ms-excel", ["xls"]],
  ["application/vnd.ms-powerpoint", ["ppt"]],
  ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", ["docx"]],
  ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ["xlsx"]],
  ["application/vnd.openxmlformats-officedocument.presentationml.presentation", ["pptx"]],
  ["application/vnd.oasis.opendocument.text", ["odt"]],
  ["application/vnd.oasis.opendocument.spreadsheet", ["ods"]],
  ["application/vnd.ms-fontobject", ["eot"]],
  ["application/octet-stream", ["bin", "exe", "dll", "iso", "img", "dmg"]],
  ["font/woff", ["woff"]],
  ["font/woff2", ["woff2"]],
  ["font/ttf", ["ttf"]],
  ["font/otf", ["otf"]],
  ["image/png", ["png"]],
  ["image/jpeg", ["jpeg", "jpg"]],
  ["image/gif", ["gif"]],
  ["image/webp", ["webp"]],
  ["image/avif", ["avif"]],
  ["image/svg+xml", ["svg", "svgz"]],
  ["image/x-icon", ["ico"]],
  ["image/bmp", ["bmp"]],
  ["image/tiff", ["tif", "tiff"]],
  ["audio/mpeg", ["mp3"]],
  ["audio/ogg", ["ogg", "oga"]],
  ["audio/wav", ["wav"]],
  ["audio/webm", ["weba"]],
  ["audio/mp4", ["m4a"]],
  ["video/mp4", ["mp4", "m4v"]],
  ["video/webm", ["webm"]],
  ["video/ogg", ["ogv"]],
  ["video/quicktime", ["mov"]],
];

/** text/html is always compressed by nginx and must not be listed. */
const GZIP_TYPES = [
  "application/atom+xml", "application/javascript", "application/json", "application/ld+json", "application/manifest+json",
  "application/rss+xml", "application/vnd.ms-fontobject", "application/wasm", "application/xhtml+xml", "application/xml",
  "font/otf", "font/ttf", "image/bmp", "image/svg+xml", "image/x-icon", "text/calendar", "text/css", "text/csv",
  "text/javascript", "text/markdown", "text/plain", "text/vtt", "text/xml",
];

// ---------------------------------------------------------------------------------------------
// Validation: everything interpolated into the file is checked, so no input can inject directives.

const URL_PREFIX = /^\/([A-Za-z0-9._~-]+\/)*$/;
const FILE_PATH = /^\/[A-Za-z0-9._/+-]*$/;
const SERVER_NAME = /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
const ADDRESS = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/;
const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** ADDRESS, plus the underscores Docker allows in container names (its DNS resolves them). */
const UPSTREAM_SERVER = /^([A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/;
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const IPV4 = /^[0-9]{1,3}(\.[0-9]{1,3}){3}$/;
const ZONE_NAME = /^[a-z][a-z0-9-]*$/;
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const CORS_ORIGIN = /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/;
/** Printable ASCII without what nginx reads as syntax or a variable inside a quoted string. */
const HEADER_VALUE = /^[ !#%-[\]-~]+$/;
/** An edge.denyPaths entry: segments, no trailing slash. */
const DENY_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
const RESOLVER = /^[A-Za-z0-9.:[\]-]+( [A-Za-z0-9.:[\]-]+)*$/;

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new Error(`renderNginx: invalid ${what}: ${JSON.stringify(value)}`);
}

function checkPort(what: string, port: number): void {
  check(Number.isInteger(port) && port >= 1 && port <= 65535, what, port);
}

function validate(input: NginxInput): void {
  const { paths, edge } = input;
  for (const key of ["staticRoot", "mediaRoot", "tlsCertificate", "tlsKey", "acmeWebroot", "pidFile", "tempDir"] as const) {
    check(FILE_PATH.test(paths[key]), `paths.${key}`, paths[key]);
  }
  check(paths.accessLog === "off" || FILE_PATH.test(paths.accessLog), "paths.accessLog", paths.accessLog);
  check(paths.errorLog === "stderr" || FILE_PATH.test(paths.errorLog), "paths.errorLog", paths.errorLog);
  checkPort("listen.http", input.listen.http);
  checkPort("listen.https", input.listen.https);
  checkPort("redirectHttpsPort", input.redirectHttpsPort);
  if (input.status) {
    checkPort("status.port", input.status.port);
    check(input.status.port !== input.listen.http && input.status.port !== input.listen.https, "status.port (apart from the public listeners)", input.status.port);
    check(DENY_PATH.test(input.status.path), "status.path", input.status.path);
  }
  check(input.listen.http !== input.listen.https, "listen (http and https ports must differ)", input.listen);
  if (input.listen.address !== undefined) check(IPV4.test(input.listen.address), "listen.address", input.listen.address);
  for (const cidr of input.trustedProxy?.cidrs ?? []) check(/^[0-9.]+\/[0-9]{1,2}$/.test(cidr), "trustedProxy.cidrs", cidr);
  for (const cidr of edge.trustedProxies?.cidrs ?? []) check(parseCidr(cidr).ok, "edge.trustedProxies.cidrs", cidr);
  if (edge.trustedProxies) check((CLIENT_ADDRESS_HEADERS as readonly string[]).includes(edge.trustedProxies.header), "edge.trustedProxies.header", edge.trustedProxies.header);
  if (input.trustedProxy) check(Number.isInteger(input.trustedProxy.idleTimeoutSeconds) && input.trustedProxy.idleTimeoutSeconds >= 1, "trustedProxy.idleTimeoutSeconds", input.trustedProxy.idleTimeoutSeconds);
  if (input.resolver !== undefined) {
    check(RESOLVER.test(input.resolver), "resolver", input.resolver);
    check(versionAtLeast(input.nginxVersion, [1, 27, 3]), "nginxVersion (resolver needs nginx >= 1.27.3 for `server ... resolve`)", input.nginxVersion);
  }
  check(versionAtLeast(input.nginxVersion, [1, 19, 4]), "nginxVersion (ssl_reject_handshake needs nginx >= 1.19.4)", input.nginxVersion);
  for (const name of input.serverNames) check(SERVER_NAME.test(name), "server name", name);
  for (const r of input.routing) {
    check(APP_NAME.test(r.app), "app name", r.app);
    check(UPSTREAM_NAME.test(r.upstream), "upstream name", r.upstream);
    for (const p of [...r.routes, ...r.websocketPaths, r.healthPath, r.readyPath]) check(URL_PREFIX.test(p), `path of app ${r.app}`, p);
    for (const h of r.hosts) check(SERVER_NAME.test(h), `host of app ${r.app}`, h);
    check(Number.isInteger(r.readTimeoutSeconds) && r.readTimeoutSeconds >= 1, `read timeout of app ${r.app}`, r.readTimeoutSeconds);
    for (const [name, value] of Object.entries(r.edgeHeaders)) check(HEADER_NAME.test(name) && HEADER_VALUE.test(value), `header of app ${r.app}`, `${name}: ${value}`);
    for (const p of r.edgePaths) {
      check(URL_PREFIX.test(p.path), `edge path of app ${r.app}`, p.path);
      for (const cidr of p.allow ?? []) check(parseCidr(cidr).ok, `allow of ${r.app}'s edge path ${p.path}`, cidr);
      for (const v of [p.timeoutSeconds, p.clientMaxBodyMiB]) if (v !== undefined) check(Number.isInteger(v) && v >= 1, `setting of ${r.app}'s edge path ${p.path}`, v);
      if (p.cors) validateCors(p.cors, `cors of ${r.app}'s edge path ${p.path}`);
    }
  }
  if (input.frontend) {
    check(UPSTREAM_NAME.test(input.frontend.upstream), "frontend upstream", input.frontend.upstream);
    check(URL_PREFIX.test(input.frontend.route), "frontend route", input.frontend.route);
    for (const h of input.frontend.hosts) check(SERVER_NAME.test(h), "frontend host", h);
  }
  if (input.redirect) {
    check(SERVER_NAME.test(input.redirect.to), "redirect target", input.redirect.to);
    for (const h of input.redirect.hosts) check(SERVER_NAME.test(h) && h !== input.redirect.to, "redirecting host", h);
  }
  for (const p of edge.rateLimit.strictPaths) check(URL_PREFIX.test(p), "edge.rateLimit.strictPaths entry", p);
  for (const d of deniedPaths(input)) check(DENY_PATH.test(d), "denied path (edge.denyPaths, apps[].metrics.path)", d);
  for (const z of edge.rateLimit.zones) {
    check(ZONE_NAME.test(z.name), "edge.rateLimit.zones name", z.name);
    check(Number.isInteger(z.rate) && z.rate >= 1 && (z.per === "s" || z.per === "m"), `rate of zone ${z.name}`, `${z.rate}r/${z.per}`);
    check(Number.isInteger(z.burst) && z.burst >= 0, `burst of zone ${z.name}`, z.burst);
    for (const p of z.paths) check(URL_PREFIX.test(p), `path of zone ${z.name}`, p);
  }
  for (const [k, v] of [
    ["edge.clientMaxBodyMiB", edge.clientMaxBodyMiB],
    ["edge.hstsSeconds", edge.hstsSeconds],
    ["edge.rateLimit.generalPerSecond", edge.rateLimit.generalPerSecond],
    ["edge.rateLimit.generalBurst", edge.rateLimit.generalBurst],
    ["edge.rateLimit.strictPerMinute", edge.rateLimit.strictPerMinute],
    ["edge.rateLimit.strictBurst", edge.rateLimit.strictBurst],
    ["edge.rateLimit.connectionsPerClient", edge.rateLimit.connectionsPerClient],
  ] as const) {
    check(Number.isInteger(v) && v >= 0, k, v);
  }
  if (input.hostStatusDir !== undefined) check(FILE_PATH.test(input.hostStatusDir) && !input.hostStatusDir.endsWith("/"), "hostStatusDir", input.hostStatusDir);
  if (input.upstreamsDir !== undefined) {
    check(FILE_PATH.test(input.upstreamsDir) && !input.upstreamsDir.endsWith("/"), "upstreamsDir", input.upstreamsDir);
  } else {
    for (const upstream of upstreamNames(input)) {
      const address = input.addresses[upstream];
      check(address !== undefined && ADDRESS.test(address), `addresses["${upstream}"]`, address);
    }
  }
}

/** "1.27" is an image tag for the newest 1.27.x, so a missing patch level counts as the highest. */
function validateCors(cors: CorsPolicy, what: string): void {
  for (const o of cors.origins) check(o === "*" ? cors.origins.length === 1 && !cors.credentials : CORS_ORIGIN.test(o), `origin of ${what}`, o);
  for (const m of cors.methods) check(/^[A-Z]+$/.test(m), `method of ${what}`, m);
  for (const h of [...cors.headers, ...cors.exposeHeaders]) check(HEADER_NAME.test(h), `header of ${what}`, h);
  check(Number.isInteger(cors.maxAgeSeconds) && cors.maxAgeSeconds >= 0, `max age of ${what}`, cors.maxAgeSeconds);
}

function parseVersion(version: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), m[3] === undefined ? Infinity : Number(m[3])] : undefined;
}

/** Unparsable versions (e.g. "mainline", "stable") are taken to be current. */
function versionAtLeast(version: string, min: [number, number, number]): boolean {
  const v = parseVersion(version);
  if (!v) return true;
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

// ---------------------------------------------------------------------------------------------
// Text helpers

const INDENT = "    ";

function block(header: string, body: string[]): string[] {
  return [`${header} {`, ...body.map((l) => (l === "" ? "" : INDENT + l)), "}"];
}

function upstreamNames(input: NginxInput): string[] {
  const names = input.routing.map((r) => r.upstream);
  if (input.frontend) names.push(input.frontend.upstream);
  return [...new Set(names)];
}

// ---------------------------------------------------------------------------------------------
// Locations

/** A request limit a location applies: its nginx zone and burst. */
interface LimitRule {
  zone: string;
  burst: number;
}

/** A limit over a path prefix: every location at or under `path` takes it, the most specific one winning. */
interface CoveringLimit extends LimitRule {
  path: string;
}

interface ProxyLocation {
  /** "=" exact match (health paths) or "" prefix match. */
  modifier: "=" | "";
  path: string;
  upstream: string;
  /** Undefined: no request limit (the load balancers' health paths). */
  limit?: LimitRule;
  websocket: boolean;
  /** The URI the app receives instead of the request's (an exact location's whole path is replaced). */
  passAs?: string;
  /** A Django app's location (the frontend's have none): its settings there. */
  app?: LocationSettings;
}

interface LocationSettings {
  app: string;
  readTimeoutSeconds: number;
  clientMaxBodyMiB?: number;
  /** Networks that may reach it (others get 403); undefined: everyone. */
  allow?: string[];
  /** The app's own response headers (`appHeaderMaps` holds their values). */
  headers: string[];
  /** The CORS policy covering the location (`corsMaps` holds its variables under `id`). */
  cors?: { id: string; policy: CorsPolicy };
}

interface SiteRoutes {
  routes: { path: string; upstream: string }[];
  websockets: { path: string; upstream: string }[];
  general: LimitRule;
  /** The login paths' strict limit and the zones, over the paths they cover. */
  limits: CoveringLimit[];
  health: { path: string; upstream: string }[];
  /** Apps whose health and readiness are also served at their own paths (model/names appHealthPaths). */
  appHealth: AppRouting[];
  /** The Django apps this server block proxies to, with their own edge settings per path. */
  apps: AppRouting[];
}

/**
 * The app's settings for a location: each from the most specific of its edge paths covering it that
 * sets it, else the app's own; so an allowlist on /admin/ still holds in /admin/login/'s location.
 */
function appSettings(app: AppRouting, path: string): LocationSettings {
  const covering = app.edgePaths.filter((p) => path.startsWith(p.path)).sort((a, b) => b.path.length - a.path.length);
  const pick = <K extends "timeoutSeconds" | "clientMaxBodyMiB" | "allow">(key: K): AppEdgePath[K] => covering.find((p) => p[key] !== undefined)?.[key];
  const cors = covering.find((p) => p.cors);
  return {
    app: app.app,
    readTimeoutSeconds: pick("timeoutSeconds") ?? app.readTimeoutSeconds,
    clientMaxBodyMiB: pick("clientMaxBodyMiB"),
    allow: pick("allow"),
    headers: Object.keys(app.edgeHeaders),
    ...(cors?.cors ? { cors: { id: corsId(app, cors), policy: cors.cors } } : {}),
  };
}

/** Names an edge path's CORS variables: its app and its place in the app's edge paths. */
function corsId(app: AppRouting, path: AppEdgePath): string {
  return `${app.app.replace(/-/g, "_")}_${app.edgePaths.indexOf(path)}`;
}

/** One of a CORS policy's variables (`corsMaps` defines them, `corsLines` reads them). */
function corsVar(id: string, part: string): string {
  return `$djs_cors_${id}_${part}`;
}

/**
 * Per CORS policy: the request's Origin when listed (strings in a map match ignoring case), empty
 * when the app answered with its own Access-Control-Allow-Origin (django-cors-headers), and the
 * preflight's headers only on a preflight (OPTIONS with Access-Control-Request-Method from a listed
 * origin), which the location answers itself with 204.
 */
function corsMaps(routing: AppRouting[]): string[] {
  const lines: string[] = [];
  for (const app of routing) {
    for (const path of app.edgePaths) {
      const policy = path.cors;
      if (!policy) continue;
      const id = corsId(app, path);
      const v = (part: string): string => corsVar(id, part);
      const whenSet = (source: string, part: string, value: string): string[] => block(`map ${source} ${v(part)}`, ['"" "";', `default "${value}";`]);
      lines.push(
        ...block(`map $http_origin ${v("origin")}`, policy.origins[0] === "*" ? ['"" "";', 'default "*";'] : ['default "";', ...policy.origins.map((o) => `"${o}" $http_origin;`)]),
        ...block(`map $upstream_http_access_control_allow_origin ${v("allow")}`, [`"" ${v("origin")};`, 'default "";']),
        ...block(`map "$request_method:$http_access_control_request_method:${v("origin")}" ${v("preflight")}`, ['default "";', '"~^OPTIONS:[^:]+:." 1;']),
        ...whenSet(v("preflight"), "methods", policy.methods.join(", ")),
        ...whenSet(v("preflight"), "headers", policy.headers.join(", ")),
        ...whenSet(v("preflight"), "max_age", String(policy.maxAgeSeconds)),
        ...(policy.credentials ? whenSet(v("allow"), "credentials", "true") : []),
        ...(policy.exposeHeaders.length > 0 ? whenSet(v("allow"), "expose", policy.exposeHeaders.join(", ")) : []),
      );
    }
  }
  // Caches must keep one answer per Origin, unless the app answered CORS itself (and set its own Vary).
  if (lines.length > 0) lines.push(...block("map $upstream_http_access_control_allow_origin $djs_cors_vary", ['"" "Origin";', 'default "";']));
  return lines;
}

function corsLines(cors: NonNullable<LocationSettings["cors"]>): string[] {
  const v = (part: string): string => corsVar(cors.id, part);
  return [
    // `return` is one of the directives safe inside a location's `if`; the 204 carries the add_headers below.
    ...block(`if (${v("preflight")})`, ["return 204;"]),
    `add_header Access-Control-Allow-Origin ${v("allow")} always;`,
    ...(cors.policy.credentials ? [`add_header Access-Control-Allow-Credentials ${v("credentials")} always;`] : []),
    `add_header Access-Control-Allow-Methods ${v("methods")} always;`,
    `add_header Access-Control-Allow-Headers ${v("headers")} always;`,
    `add_header Access-Control-Max-Age ${v("max_age")} always;`,
    ...(cors.policy.exposeHeaders.length > 0 ? [`add_header Access-Control-Expose-Headers ${v("expose")} always;`] : []),
    "add_header Vary $djs_cors_vary always;",
  ];
}

/** The variable holding app `app`'s value of response header `name`, empty when the app sent its own. */
function appHeaderVariable(app: string, name: string): string {
  return `app_${app.replace(/-/g, "_")}_${name.toLowerCase().replace(/-/g, "_")}`;
}

function appHeaderMaps(routing: AppRouting[]): string[] {
  return routing.flatMap((r) => Object.entries(r.edgeHeaders).flatMap(([name, value]) => headerMap(name.toLowerCase().replace(/-/g, "_"), appHeaderVariable(r.app, name), value)));
}

/** An app location's own lines: its wait, body size, allowlist, CORS and headers (with the common ones, which its add_header stops inheriting). */
function appLocationLines(settings: LocationSettings | undefined, websocket: boolean, input: NginxInput): string[] {
  if (!settings) return [];
  const own = [...(settings.cors ? corsLines(settings.cors) : []), ...settings.headers.map((h) => `add_header ${h} $djs_${appHeaderVariable(settings.app, h)} always;`)];
  return [
    ...(websocket ? [] : [`proxy_read_timeout ${settings.readTimeoutSeconds}s;`]),
    ...(settings.clientMaxBodyMiB ? [`client_max_body_size ${settings.clientMaxBodyMiB}m;`] : []),
    ...(settings.allow ? [...settings.allow.map((cidr) => `allow ${cidr};`), "deny all;"] : []),
    ...(own.length > 0 ? [...own, ...securityHeaders(input)] : []),
  ];
}

/** The most specific limit whose path covers `path`. */
function coveringLimit(limits: CoveringLimit[], path: string): LimitRule | undefined {
  let best: CoveringLimit | undefined;
  for (const l of limits) if (path.startsWith(l.path) && (!best || l.path.length > best.path.length)) best = l;
  return best && { zone: best.zone, burst: best.burst };
}

/**
 * One location per distinct path. A path that is both a route and a limited/WebSocket path gets one
 * location carrying both properties (nginx rejects duplicate locations). Prefix ownership mirrors
 * nginx's own longest-prefix rule, so a limited path proxies to the app that owns it anyway; and
 * every prefix location takes the most specific limit covering it, so a route inside a zone's path
 * is limited by the zone although nginx picks the route's own location.
 */
function proxyLocations(site: SiteRoutes): ProxyLocation[] {
  const prefix = new Map<string, ProxyLocation>();
  for (const r of site.routes) prefix.set(r.path, { modifier: "", path: r.path, upstream: r.upstream, websocket: false });
  for (const w of site.websockets) prefix.set(w.path, { modifier: "", path: w.path, upstream: w.upstream, websocket: true });
  const owner = (path: string): ProxyLocation | undefined => {
    let best: ProxyLocation | undefined;
    for (const loc of prefix.values()) if (path.startsWith(loc.path) && (!best || loc.path.length > best.path.length)) best = loc;
    return best;
  };
  // An app's edge path gets a location of its own where the app serves it (config checks it does).
  for (const a of site.apps) {
    for (const { path } of a.edgePaths) {
      const o = owner(path);
      if (o?.upstream === a.upstream && !prefix.has(path)) prefix.set(path, { ...o, path });
    }
  }
  for (const { path } of site.limits) {
    const o = owner(path);
    // A limited path no app serves would only 404: no location needed.
    if (o && !prefix.has(path)) prefix.set(path, { ...o, path });
  }
  for (const loc of prefix.values()) loc.limit = coveringLimit(site.limits, loc.path) ?? site.general;
  const exact = new Map<string, ProxyLocation>();
  for (const h of site.health) {
    if (exact.has(h.path)) continue;
    // The routing owner wins if it declares this health path itself; otherwise the first app declaring it.
    const declaring = site.health.filter((d) => d.path === h.path);
    const o = owner(h.path);
    const target = declaring.find((d) => d.upstream === o?.upstream) ?? h;
    exact.set(h.path, { modifier: "=", path: h.path, upstream: target.upstream, websocket: false });
  }
  // Monitors, not load balancers, use these: the general limit applies.
  for (const a of site.appHealth) {
    const paths = appHealthPaths(a.app);
    exact.set(paths.health, { modifier: "=", path: paths.health, upstream: a.upstream, limit: site.general, websocket: false, passAs: a.healthPath });
    exact.set(paths.ready, { modifier: "=", path: paths.ready, upstream: a.upstream, limit: site.general, websocket: false, passAs: a.readyPath });
  }
  const byPath = (a: ProxyLocation, b: ProxyLocation): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  const locations = [...[...exact.values()].sort(byPath), ...[...prefix.values()].sort(byPath)];
  for (const loc of locations) {
    const app = site.apps.find((a) => a.upstream === loc.upstream);
    if (app) loc.app = appSettings(app, loc.path);
  }
  return locations;
}

/**
 * Headers a client could send to pose as a proxy: the app (or a library in it) may read any of them
 * for the client address, scheme, host or path. nginx passes every client header on unless told
 * otherwise, and an empty value drops it ("proxy_set_header": "If the value of a header field is an
 * empty string then this field will not be passed to a proxied server"). Names with underscores are
 * already dropped by nginx's default `ignore_invalid_headers on`.
 */
export const SPOOFABLE_HEADERS = [
  "Forwarded", "X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Protocol", "X-Forwarded-Server", "X-Forwarded-Prefix",
  "X-Forwarded-Uri", "X-Original-Forwarded-For", "X-Original-Host", "X-Original-URL", "X-Rewrite-URL", "X-Host", "X-Url-Scheme",
  "Front-End-Https", "True-Client-IP", "X-Client-IP", "Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
];

/**
 * The scheme the client used: nginx's own, or X-Forwarded-Proto when the peer is the trusted proxy.
 * `$realip_remote_addr` is the peer before the realip module replaced it with X-Forwarded-For, so a
 * client elsewhere cannot claim HTTPS by sending the header itself.
 */
function forwardedProto(input: NginxInput): string[] {
  if (!input.trustedProxy) return [...realIp(input), ...block("map $scheme $djs_forwarded_proto", ["default $scheme;"])];
  return [
    "# Behind a TLS-terminating proxy: trust its X-Forwarded-For and X-Forwarded-Proto, nobody else's.",
    ...realIp(input),
    ...block("geo $realip_remote_addr $djs_from_proxy", ["default 0;", ...input.trustedProxy.cidrs.map((cidr) => `${cidr} 1;`)]),
    ...block('map "$djs_from_proxy:$http_x_forwarded_proto" $djs_forwarded_proto', ["default $scheme;", '"1:https" https;']),
    // The proxy listens on the scheme's default port.
    ...block("map $djs_forwarded_proto $djs_forwarded_port", ["default 80;", "https 443;"]),
  ];
}

/**
 * The client address (for the rate limits, the logs and X-Real-IP) as the proxies in front report it:
 * the load balancer and/or edge.trustedProxies. nginx takes the header only from a peer in these
 * ranges and, walking X-Forwarded-For from the right, skips every trusted address, so what a client
 * wrote itself further left is never used. Behind the load balancer the header is its X-Forwarded-For.
 */
function realIp(input: NginxInput): string[] {
  const cdn = input.edge.trustedProxies;
  const cidrs = [...(input.trustedProxy?.cidrs ?? []), ...(cdn?.cidrs ?? [])];
  if (cidrs.length === 0) return [];
  return [
    ...(cdn ? ["# edge.trustedProxies: the client address the proxy in front reports, believed only from its ranges."] : []),
    ...cidrs.map((cidr) => `set_real_ip_from ${cidr};`),
    `real_ip_header ${input.trustedProxy ? "X-Forwarded-For" : (cdn?.header ?? "X-Forwarded-For")};`,
    "real_ip_recursive on;",
  ];
}

/** The public port the client connected to, for X-Forwarded-Port. */
function forwardedPort(input: NginxInput): string {
  if (input.trustedProxy) return "$djs_forwarded_port";
  return String(input.edge.tls.mode !== "none" ? input.edge.httpsPort : input.edge.httpPort);
}

/**
 * The Host the app sees: the server name nginx matched (`$host`: lower-cased, without the port the
 * client typed), plus the public port where it is not the scheme's default. The client's raw Host
 * never passes, so absolute URLs Django builds (password reset links) cannot be steered by it.
 */
export function forwardedHost(input: NginxInput): string {
  if (input.trustedProxy) return "$host"; // the load balancer listens on 80 and 443
  const tls = input.edge.tls.mode !== "none";
  const port = tls ? input.edge.httpsPort : input.edge.httpPort;
  return port === (tls ? 443 : 80) ? "$host" : `$host:${port}`;
}

function proxyHeaders(websocket: boolean, host: string, port: string): string[] {
  return [
    `proxy_set_header Host ${host};`,
    // nginx is the first hop: the client's own X-Forwarded-For is not trusted, so it is replaced.
    "proxy_set_header X-Forwarded-For $remote_addr;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-Proto $djs_forwarded_proto;",
    `proxy_set_header X-Forwarded-Host ${host};`,
    `proxy_set_header X-Forwarded-Port ${port};`,
    ...SPOOFABLE_HEADERS.map((h) => `proxy_set_header ${h} "";`),
    "proxy_set_header X-Request-ID $djs_request_id;",
    ...(websocket
      ? ["proxy_set_header Upgrade $djs_upgrade;", "proxy_set_header Connection $djs_connection_upgrade;"]
      : ['proxy_set_header Upgrade "";', 'proxy_set_header Connection "";']),
  ];
}

function limitReq(limit: LimitRule | undefined): string[] {
  if (!limit) return [];
  return [`limit_req zone=${limit.zone}${limit.burst > 0 ? ` burst=${limit.burst} nodelay` : ""};`];
}

/** The nginx zone of `edge.rateLimit.zones[].name`, apart from the built-in djs_general and djs_strict. */
export function zoneId(name: string): string {
  return `djs_zone_${name.replace(/-/g, "_")}`;
}

/** The strict limit over the login paths and each zone over its paths. */
function siteLimits(edge: EdgeConfig): CoveringLimit[] {
  const { rateLimit: rl } = edge;
  return [
    ...rl.strictPaths.map((path) => ({ path, zone: "djs_strict", burst: rl.strictBurst })),
    ...rl.zones.flatMap((z) => z.paths.map((path) => ({ path, zone: zoneId(z.name), burst: z.burst }))),
  ];
}

function renderProxyLocation(loc: ProxyLocation, input: NginxInput): string[] {
  const header = loc.modifier ? `location = ${loc.path}` : `location ${loc.path}`;
  return block(header, [
    ...limitReq(loc.limit),
    `proxy_pass http://${loc.upstream}${loc.passAs ?? ""};`,
    ...proxyHeaders(loc.websocket, forwardedHost(input), forwardedPort(input)),
    ...(loc.websocket ? [`proxy_read_timeout ${WEBSOCKET_TIMEOUT};`, `proxy_send_timeout ${WEBSOCKET_TIMEOUT};`] : []),
    ...appLocationLines(loc.app, loc.websocket, input),
  ]);
}

/**
 * Security headers. Each value comes from a map that is empty when the app already sent that header,
 * so the app's own choice wins and the response never carries the header twice; nginx skips
 * `add_header` with an empty value. They must be repeated in every location that has its own
 * `add_header`, because such a location inherits none of the server's.
 */
function securityHeaders(input: NginxInput): string[] {
  return [
    ...(hstsOn(input) ? ["add_header Strict-Transport-Security $djs_hsts always;"] : []),
    "add_header X-Frame-Options $djs_x_frame_options always;",
    "add_header X-Content-Type-Options $djs_x_content_type_options always;",
    "add_header Referrer-Policy $djs_referrer_policy always;",
    "add_header Permissions-Policy $djs_permissions_policy always;",
  ];
}

/** HTTPS reaches the client: nginx terminates TLS, or the trusted proxy in front does. */
function hstsOn(input: NginxInput): boolean {
  return (input.edge.tls.mode !== "none" || input.trustedProxy?.tls === true) && input.edge.hstsSeconds > 0;
}

export function hstsValue(edge: EdgeConfig): string {
  return [`max-age=${edge.hstsSeconds}`, ...(edge.hstsIncludeSubDomains ? ["includeSubDomains"] : []), ...(edge.hstsPreload ? ["preload"] : [])].join("; ");
}

/**
 * The HSTS value, unless the app sent its own. Behind the proxy only on requests that came in as HTTPS
 * (browsers ignore HSTS over HTTP, and the LB's own redirect answers those anyway).
 */
function hstsMaps(input: NginxInput): string[] {
  if (!hstsOn(input)) return [];
  if (input.edge.tls.mode !== "none") return headerMap("strict_transport_security", "hsts", hstsValue(input.edge));
  return [
    ...block("map $djs_forwarded_proto $djs_hsts_https", [`https "${hstsValue(input.edge)}";`, 'default "";']),
    ...block("map $upstream_http_strict_transport_security $djs_hsts", ['"" $djs_hsts_https;', 'default "";']),
  ];
}

function acmeLocation(paths: NginxPaths): string[] {
  return block("location ^~ /.well-known/acme-challenge/", [`root ${paths.acmeWebroot};`, "default_type text/plain;"]);
}

function healthLocation(): string[] {
  return block("location = /nginx-health", ["access_log off;", "default_type text/plain;", 'return 200 "ok\\n";']);
}

function staticLocations(apps: AppRouting[], input: NginxInput): string[] {
  const headers = securityHeaders(input);
  const lines: string[] = [];
  for (const app of apps) {
    if (app.staticUrl !== undefined) lines.push(
      ...block(`location ${app.staticUrl}`, [
        `alias ${input.paths.staticRoot}/${app.app}/;`,
        "access_log off;",
        `add_header Cache-Control "${SHORT_CACHE}";`,
        ...headers,
        ...block(`location ~ "${HASHED_STATIC_REGEX}"`, [`add_header Cache-Control "${IMMUTABLE}";`, ...headers]),
      ]),
    );
    if (app.mediaUrl === undefined) continue;
    lines.push(
      // Served as plain files: nothing here is ever passed to an interpreter, and the CSP keeps an
      // uploaded HTML/SVG file from running script in the browser.
      ...block(`location ${app.mediaUrl}`, [
        `alias ${input.paths.mediaRoot}/${app.app}/;`,
        `add_header Content-Security-Policy "${MEDIA_CSP}" always;`,
        // Empty (no header) except for the active types.
        "add_header Content-Disposition $djs_media_disposition always;",
        ...headers,
      ]),
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Listen {
  port: number;
  ssl: boolean;
  defaultServer: boolean;
}

function listenLines(input: NginxInput, l: Listen): string[] {
  const addr = input.listen.address ? `${input.listen.address}:${l.port}` : String(l.port);
  const http2Flag = l.ssl && !versionAtLeast(input.nginxVersion, [1, 25, 1]);
  const params = [l.ssl ? "ssl" : "", http2Flag ? "http2" : "", l.defaultServer ? "default_server" : ""].filter(Boolean);
  const lines = [`listen ${[addr, ...params].join(" ")};`];
  if (l.ssl && !http2Flag) lines.push("http2 on;");
  return lines;
}

function tlsLines(paths: NginxPaths): string[] {
  return [`ssl_certificate ${paths.tlsCertificate};`, `ssl_certificate_key ${paths.tlsKey};`];
}

interface AppSite {
  names: string[] | "catch-all";
  routes: SiteRoutes;
  staticApps: AppRouting[];
}

function appServer(input: NginxInput, site: AppSite): string[] {
  const tls = input.edge.tls.mode !== "none";
  const catchAll = site.names === "catch-all";
  const body: string[] = [
    ...listenLines(input, { port: tls ? input.listen.https : input.listen.http, ssl: tls, defaultServer: catchAll }),
    `server_name ${catchAll ? "_" : (site.names as string[]).join(" ")};`,
    ...(tls ? tlsLines(input.paths) : []),
    ...securityHeaders(input),
    ...(input.edge.rateLimit.connectionsPerClient > 0 ? [`limit_conn djs_conn ${input.edge.rateLimit.connectionsPerClient};`] : []),
    "",
  ];
  if (!tls) body.push(...acmeLocation(input.paths));
  if (catchAll && !tls) body.push(...healthLocation());
  // Dot files and dot directories (.env, .git/) are never served nor proxied, whatever location would
  // match: a server-level `if` runs in the server rewrite phase, before any location is chosen (a
  // regex location loses to one nested in /static/, such as the hashed-name one). $uri is already
  // decoded and normalised. Only a leading /.well-known/ stays reachable.
  body.push(...block(`if ($uri ~ "${DOT_SEGMENT_REGEX}")`, ["return 403;"]));
  body.push(...staticLocations(site.staticApps, input));
  // On every app server: the check's host may be the domain or an app's own host.
  if (input.hostStatusDir !== undefined) body.push(...hostStatusLocation(input.hostStatusDir));
  const locations = proxyLocations(site.routes);
  for (const loc of locations) body.push(...renderProxyLocation(loc, input));
  // Internal endpoints (edge.denyPaths and the apps' metrics paths): the path itself and its tree, whichever app serves them.
  for (const d of deniedPaths(input)) body.push(...block(`location = ${d}`, ["return 404;"]), ...block(`location ${d}/`, ["return 404;"]));
  // Only the exact per-app health paths live under this tree (config refuses routes there).
  if (site.routes.appHealth.length > 0) body.push(...block(`location ${APP_HEALTH_PREFIX}`, ["return 404;"]));
  // Without a "/" location nginx would serve its built-in html root.
  if (!locations.some((l) => l.modifier === "" && l.path === "/")) body.push(...block("location /", ["return 404;"]));
  return block("server", body);
}

/** A static file per token, no listing: a missing file is the 404 the container-health check alerts on. */
function hostStatusLocation(dir: string): string[] {
  return block(`location ^~ ${HOST_STATUS.urlPrefix}`, [`alias ${dir}/;`, "default_type text/plain;", "autoindex off;", "access_log off;"]);
}

/** edge.denyPaths, then each app's metrics path (apps[].metrics), which is never public whatever denyPaths says. */
function deniedPaths(input: NginxInput): string[] {
  return [...new Set([...input.edge.denyPaths, ...input.routing.flatMap((r) => (r.metricsPath ? [r.metricsPath] : []))])];
}

/** The exporter's listener: stub_status at one path, 404 elsewhere, no access log (it is scraped every few seconds). */
function statusServer(input: NginxInput, status: NonNullable<NginxInput["status"]>): string[] {
  return block("server", [
    // The only server on its port, so the one that answers whatever the Host.
    ...listenLines(input, { port: status.port, ssl: false, defaultServer: false }),
    "server_name _;",
    "access_log off;",
    "",
    ...block(`location = ${status.path}`, ["stub_status;", ...STATUS_CLIENTS.map((c) => `allow ${c};`), "deny all;"]),
    ...block("location /", ["return 404;"]),
  ]);
}

function redirectServer(input: NginxInput, names: string[] | "catch-all"): string[] {
  const catchAll = names === "catch-all";
  const port = input.redirectHttpsPort === 443 ? "" : `:${input.redirectHttpsPort}`;
  return block("server", [
    ...listenLines(input, { port: input.listen.http, ssl: false, defaultServer: catchAll }),
    `server_name ${catchAll ? "_" : (names as string[]).join(" ")};`,
    "",
    ...acmeLocation(input.paths),
    ...(catchAll ? healthLocation() : []),
    ...block("location /", [`return 301 https://$host${port}$request_uri;`]),
  ]);
}

/**
 * edge.redirectHosts: one hop to the same path on the domain, on both ports (their certificate names
 * are on the domain's certificate). Let's Encrypt still validates them on plain HTTP.
 */
function hostRedirectServers(input: NginxInput, redirect: NonNullable<NginxInput["redirect"]>): string[] {
  const tls = input.edge.tls.mode !== "none";
  const names = `server_name ${redirect.hosts.join(" ")};`;
  const target = `return 301 ${redirectOrigin(input, redirect.to)}$request_uri;`;
  const http = block("server", [
    ...listenLines(input, { port: input.listen.http, ssl: false, defaultServer: false }),
    names,
    "",
    ...acmeLocation(input.paths),
    ...block("location /", [target]),
  ]);
  if (!tls) return http;
  return [...http, "", ...block("server", [...listenLines(input, { port: input.listen.https, ssl: true, defaultServer: false }), names, ...tlsLines(input.paths), ...securityHeaders(input), "", ...block("location /", [target])])];
}

/** The domain's public origin: HTTPS when nginx or the proxy in front terminated it, with a non-default port. */
function redirectOrigin(input: NginxInput, domain: string): string {
  if (input.edge.tls.mode !== "none") return `https://${domain}${input.redirectHttpsPort === 443 ? "" : `:${input.redirectHttpsPort}`}`;
  if (input.trustedProxy) return `$djs_forwarded_proto://${domain}`;
  return `http://${domain}${input.edge.httpPort === 80 ? "" : `:${input.edge.httpPort}`}`;
}

/**
 * Container health checks send Host: localhost to the HTTP port. A dedicated server answers them, so the
 * default server can keep refusing unknown hosts.
 */
function localHealthServer(input: NginxInput): string[] {
  return block("server", [
    ...listenLines(input, { port: input.listen.http, ssl: false, defaultServer: false }),
    "server_name localhost 127.0.0.1;",
    "",
    ...healthLocation(),
    ...block("location /", ["return 444;"]),
  ]);
}

function defaultServers(input: NginxInput, tls: boolean): string[] {
  const lines = block("server", [
    ...listenLines(input, { port: input.listen.http, ssl: false, defaultServer: true }),
    "server_name _;",
    "# Requests for a host we do not serve: close the connection without a response.",
    "return 444;",
  ]);
  if (tls) {
    lines.push(
      ...block("server", [
        ...listenLines(input, { port: input.listen.https, ssl: true, defaultServer: true }),
        "server_name _;",
        "# Unknown SNI: abort the handshake rather than present our certificate for a foreign name.",
        "ssl_reject_handshake on;",
        "# A known SNI with a foreign, missing or IP-literal Host lands here too (nginx picks the server by",
        "# Host after the handshake): close it like on HTTP, so it never reaches an app.",
        "return 444;",
      ]),
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// http context

function httpContext(input: NginxInput): string[] {
  const { edge, paths } = input;
  const tls = edge.tls.mode !== "none";
  const t = paths.tempDir;
  const lines: string[] = [
    ...block("types", MIME_TYPES.map(([type, exts]) => `${type} ${exts.join(" ")};`)),
    "default_type application/octet-stream;",
    "charset utf-8;",
    "charset_types text/css text/plain text/xml text/javascript text/markdown text/csv application/json application/manifest+json application/rss+xml;",
    "",
    "server_tokens off;",
    "sendfile on;",
    "tcp_nopush on;",
    "tcp_nodelay on;",
    `keepalive_timeout ${input.trustedProxy ? input.trustedProxy.idleTimeoutSeconds + PROXY_KEEPALIVE_MARGIN_SECONDS : DIRECT_KEEPALIVE_SECONDS}s;`,
    "client_header_timeout 15s;",
    "client_body_timeout 30s;",
    "send_timeout 30s;",
    "reset_timedout_connection on;",
    // Redirects nginx generates itself (e.g. a directory without its slash) stay relative: the
    // container's port is not the public one.
    "absolute_redirect off;",
    `client_max_body_size ${edge.clientMaxBodyMiB}m;`,
    "server_names_hash_bucket_size 128;",
    "",
    `client_body_temp_path ${t}/client_temp;`,
    `proxy_temp_path ${t}/proxy_temp;`,
    `fastcgi_temp_path ${t}/fastcgi_temp;`,
    `uwsgi_temp_path ${t}/uwsgi_temp;`,
    `scgi_temp_path ${t}/scgi_temp;`,
    "",
    "log_format djs_json escape=json '{\"time\":\"$time_iso8601\",\"remote_addr\":\"$remote_addr\",\"request_id\":\"$djs_request_id\",'",
    "    '\"host\":\"$host\",\"method\":\"$request_method\",\"uri\":\"$request_uri\",\"status\":$status,\"bytes\":$body_bytes_sent,'",
    "    '\"request_time\":$request_time,\"upstream\":\"$upstream_addr\",\"upstream_status\":\"$upstream_status\",'",
    "    '\"upstream_time\":\"$upstream_response_time\",\"referer\":\"$http_referer\",\"user_agent\":\"$http_user_agent\"}';",
    paths.accessLog === "off" ? "access_log off;" : `access_log ${paths.accessLog} djs_json;`,
    "",
    "gzip on;",
    "gzip_comp_level 5;",
    "gzip_min_length 256;",
    "gzip_proxied any;",
    "gzip_vary on;",
    `gzip_types ${GZIP_TYPES.join(" ")};`,
    "",
    "# Rate limits per client address; exceeding one answers 429.",
    `limit_req_zone $binary_remote_addr zone=djs_general:10m rate=${edge.rateLimit.generalPerSecond}r/s;`,
    `limit_req_zone $binary_remote_addr zone=djs_strict:10m rate=${edge.rateLimit.strictPerMinute}r/m;`,
    ...edge.rateLimit.zones.map((z) => `limit_req_zone $binary_remote_addr zone=${zoneId(z.name)}:10m rate=${z.rate}r/${z.per};`),
    "limit_req_status 429;",
    "limit_req_log_level warn;",
    ...(edge.rateLimit.connectionsPerClient > 0
      ? [
          "# Open connections per client address (HTTP/2: concurrent requests); one more answers 429 too.",
          "limit_conn_zone $binary_remote_addr zone=djs_conn:10m;",
          "limit_conn_status 429;",
          "limit_conn_log_level warn;",
        ]
      : []),
    "",
    // Only a WebSocket upgrade passes: any other token (h2c) could tunnel past the edge's per-path rules.
    ...block("map $http_upgrade $djs_upgrade", ['default "";', '"~*^websocket$" websocket;']),
    ...block("map $djs_upgrade $djs_connection_upgrade", ["default upgrade;", "\"\" \"\";"]),
    ...forwardedProto(input),
    "# Keep a caller's request id when it is well formed, otherwise mint one.",
    ...block("map $http_x_request_id $djs_request_id", ["default $request_id;", '"~^[A-Za-z0-9._-]{1,128}$" $http_x_request_id;']),
    ...hstsMaps(input),
    // Only where nginx serves uploads from a volume.
    ...(input.routing.some((r) => r.mediaUrl !== undefined) ? block("map $uri $djs_media_disposition", ['default "";', `"~*${ACTIVE_MEDIA_REGEX}" attachment;`]) : []),
    ...headerMap("x_frame_options", "x_frame_options", "DENY"),
    ...headerMap("x_content_type_options", "x_content_type_options", "nosniff"),
    ...headerMap("referrer_policy", "referrer_policy", "strict-origin-when-cross-origin"),
    ...headerMap("permissions_policy", "permissions_policy", PERMISSIONS_POLICY),
    ...appHeaderMaps(input.routing),
    ...corsMaps(input.routing),
    "",
    "proxy_http_version 1.1;",
    "proxy_connect_timeout 5s;",
    "proxy_send_timeout 60s;",
    // The frontend's wait; each app's location sets its own.
    `proxy_read_timeout ${EDGE_DEFAULT_TIMEOUT_SECONDS}s;`,
    "proxy_buffering on;",
    "proxy_request_buffering on;",
  ];
  if (tls) {
    lines.push(
      "",
      "# Mozilla intermediate TLS; no OCSP stapling (it needs a resolver and Let's Encrypt is retiring OCSP).",
      "ssl_protocols TLSv1.2 TLSv1.3;",
      "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
      `ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS.join(":")};`,
      "ssl_prefer_server_ciphers off;",
      "ssl_session_cache shared:MozSSL:10m;",
      "ssl_session_timeout 1d;",
      "ssl_session_tickets off;",
    );
  }
  if (input.resolver) lines.push("", `resolver ${input.resolver} valid=10s ipv6=off;`, "resolver_timeout 5s;");
  if (input.upstreamsDir !== undefined) {
    lines.push("", "# Each upstream lists only healthy containers; the deploy's cutover rewrites the file, then reloads.");
    for (const name of upstreamNames(input)) lines.push(`include ${input.upstreamsDir}/${name}.conf;`);
  } else {
    for (const name of upstreamNames(input)) lines.push("", ...upstreamLines(name, [input.addresses[name]], { resolve: input.resolver !== undefined }));
  }
  lines.push("", ...servers(input));
  return lines;
}

export interface UpstreamOptions {
  /**
   * Re-resolve the server names at run time (`server ... resolve`, with a shared-memory zone), for
   * names whose address changes when a container is replaced. Needs nginx >= 1.27.3 and a `resolver`
   * in the http context: true exactly when the nginx.conf was rendered with `NginxInput.resolver`.
   */
  resolve: boolean;
}

function upstreamLines(name: string, servers: string[], options: UpstreamOptions): string[] {
  return block(`upstream ${name}`, [
    ...(options.resolve ? [`zone upstream_${name} 64k;`, ...servers.map((s) => `server ${s} resolve;`)] : servers.map((s) => `server ${s};`)),
    `keepalive ${UPSTREAM_KEEPALIVE};`,
    `keepalive_timeout ${UPSTREAM_KEEPALIVE_TIMEOUT};`,
  ]);
}

/**
 * One `upstream` block as a file of its own (what `NginxInput.upstreamsDir` includes), the same text
 * `renderNginx` puts inline. `servers` are "host:port", one per replica. Throws on invalid input.
 */
export function renderUpstreamBlock(name: string, servers: string[], options: UpstreamOptions): string {
  const fail = (what: string, value: unknown): never => {
    throw new Error(`renderUpstreamBlock: invalid ${what}: ${JSON.stringify(value)}`);
  };
  if (!UPSTREAM_NAME.test(name)) fail("upstream name", name);
  if (servers.length === 0) fail(`servers of upstream ${name} (at least one)`, servers);
  for (const s of servers) if (!UPSTREAM_SERVER.test(s)) fail(`server of upstream ${name}`, s);
  if (new Set(servers).size !== servers.length) fail(`servers of upstream ${name} (duplicates)`, servers);
  return upstreamLines(name, servers, options).join("\n") + "\n";
}

function headerMap(upstreamHeader: string, variable: string, value: string): string[] {
  return block(`map $upstream_http_${upstreamHeader} $djs_${variable}`, [`"" "${value}";`, 'default "";']);
}

function servers(input: NginxInput): string[] {
  const { routing, frontend, edge } = input;
  const tls = edge.tls.mode !== "none";
  const hostNames = new Set(routing.flatMap((r) => r.hosts));
  const frontendHosts = frontend?.hosts ?? [];
  const redirectHosts = input.redirect?.hosts ?? [];
  const elsewhere = new Set([...hostNames, ...frontendHosts, ...redirectHosts]);
  const mainNames = input.serverNames.filter((n) => !elsewhere.has(n));
  const catchAll = mainNames.length === 0;
  const general = { zone: "djs_general", burst: edge.rateLimit.generalBurst };
  const limits = siteLimits(edge);
  const routed = routing.filter((r) => r.routes.length > 0);

  const main: AppSite = {
    names: catchAll ? "catch-all" : mainNames,
    staticApps: routing,
    routes: {
      routes: [...routed.flatMap((r) => r.routes.map((path) => ({ path, upstream: r.upstream }))), ...(frontend ? [{ path: frontend.route, upstream: frontend.upstream }] : [])],
      websockets: routed.flatMap((r) => r.websocketPaths.map((path) => ({ path, upstream: r.upstream }))),
      general,
      limits,
      health: routed.flatMap((r) => [r.healthPath, r.readyPath].map((path) => ({ path, upstream: r.upstream }))),
      appHealth: routed,
      apps: routed,
    },
  };
  const hostSites: AppSite[] = routing
    .filter((r) => r.hosts.length > 0)
    .map((r) => ({
      names: r.hosts,
      staticApps: [r],
      routes: {
        routes: [{ path: "/", upstream: r.upstream }],
        websockets: r.websocketPaths.map((path) => ({ path, upstream: r.upstream })),
        general,
        limits,
        health: [r.healthPath, r.readyPath].map((path) => ({ path, upstream: r.upstream })),
        appHealth: [r],
        apps: [r],
      },
    }));
  if (frontend && frontendHosts.length > 0) {
    hostSites.push({
      names: frontendHosts,
      staticApps: [],
      routes: { routes: [{ path: "/", upstream: frontend.upstream }], websockets: [], general, limits, health: [], appHealth: [], apps: [] },
    });
  }

  const out: string[] = [];
  if (catchAll) {
    out.push(
      "# No domain configured: this server answers for any Host on the address; Django's ALLOWED_HOSTS",
      "# (the address the stack is reached at, never *, but on a domain-less Kubernetes stack) refuses the rest.",
    );
  } else {
    out.push(...localHealthServer(input), "", ...defaultServers(input, tls), "");
  }
  if (tls) {
    out.push(...redirectServer(input, catchAll ? "catch-all" : [...mainNames, ...hostNames, ...frontendHosts]), "");
  }
  out.push(...appServer(input, main));
  for (const site of hostSites) out.push("", ...appServer(input, site));
  if (input.redirect) out.push("", ...hostRedirectServers(input, input.redirect));
  if (input.status) out.push("", ...statusServer(input, input.status));
  return out;
}

// ---------------------------------------------------------------------------------------------

/** A complete nginx.conf for the edge. Throws on input that would not produce a valid, safe file. */
export function renderNginx(input: NginxInput): string {
  validate(input);
  const { paths } = input;
  const lines = [
    "# nginx.conf rendered by djangostack: do not edit, the next deploy overwrites it.",
    "# Runs unprivileged (no `user` directive); every writable path is under the temp dir or the pid file.",
    "worker_processes auto;",
    `pid ${paths.pidFile};`,
    `error_log ${paths.errorLog} warn;`,
    "",
    ...block("events", ["worker_connections 1024;"]),
    "",
    ...block("http", httpContext(input)),
  ];
  return lines.join("\n") + "\n";
}
