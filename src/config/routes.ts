/**
 * URL paths nginx routes, checked as nginx will match them: per server block, after nginx's own
 * normalisation, against the locations the edge itself owns. Pure; `checkRoutes` runs once the
 * apps, frontend and edge are parsed.
 *
 * What nginx does (ngx_http_parse_complex_uri, merge_slashes on): it decodes %XX, merges "//" and
 * resolves "." and ".." before it matches a location, and matches case-sensitively, as Django's URL
 * resolver does. So a configured "/api/../" can never match (the request becomes "/"), while "/API/"
 * and "/api/" are two URLs at both layers. The route syntax (schema.ts) already refuses "%" and "//".
 * Decision: a case variant is refused only between different owners (two apps, an app and the edge's
 * login paths): the same spelling differing in case there is a typo that leaves one of them unserved
 * or unlimited. One app listing both spellings is two real routes to itself and stays allowed.
 */
import { Checker } from "./checker";
import { StackConfig } from "./types";
import { APP_HEALTH_PREFIX } from "../model/names";

export const ROUTE = /^\/([A-Za-z0-9._~-]+\/)*$/;
export const ROUTE_HINT = 'a URL path prefix that starts and ends with "/", of segments of letters, digits and . _ ~ - (no "//" or %-escapes: nginx merges and decodes those before matching), e.g. "/api/auth/"';

/** Roles a path plays; lower ranks are the ones a clash is reported against. */
const RANK = { strict: 0, zone: 1, route: 2, websocket: 3, health: 4 } as const;
type PathKind = keyof typeof RANK;

interface PathUse {
  /** Config key, e.g. `apps[1].websocketPaths[0]`. */
  key: string;
  path: string;
  kind: PathKind;
  /** App name, "frontend" or "edge": who answers this path. */
  owner: string;
}

/** Trees nginx answers itself on every server block (nginx.ts: static/media aliases, the ACME webroot). */
const EDGE_TREES = [
  { prefix: "/static/", why: "nginx serves each app's collected static files at /static/<app>/ (DJANGO_STATIC_URL)" },
  { prefix: "/media/", why: "nginx serves each app's uploads at /media/<app>/ (DJANGO_MEDIA_URL)" },
  { prefix: "/.well-known/acme-challenge/", why: "nginx answers Let's Encrypt's HTTP-01 challenges there" },
  { prefix: APP_HEALTH_PREFIX, why: "nginx serves each app's own health and readiness at /_djangostack/<app>/health/ and /ready/" },
];
/** nginx.ts denies `location ~ /\.(?!well-known/)`: any segment starting with a dot but .well-known. */
const ALLOWED_DOT_SEGMENT = ".well-known";

/** The path nginx matches for a request to `path`: "." and ".." resolved (RFC 3986 section 5.2.4). */
export function normalisePath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split("/").slice(1, -1)) {
    if (segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return out.length === 0 ? "/" : `/${out.join("/")}/`;
}

/** Why a single path can never reach its owner, or undefined when it can. */
export function unreachable(path: string): string | undefined {
  const normal = normalisePath(path);
  if (normal !== path) return `nginx resolves "." and ".." before matching, so no request ever matches this; write "${normal}"`;
  const dotted = path.split("/").find((s) => s.startsWith(".") && s !== ALLOWED_DOT_SEGMENT);
  if (dotted) return `the edge denies every path with a segment starting with "." (dot files such as .env, .git) except /.well-known/; "${dotted}" would never reach the app`;
  const tree = EDGE_TREES.find((t) => path.startsWith(t.prefix));
  if (tree) return `${tree.prefix} is reserved: ${tree.why}; choose a path outside ${EDGE_TREES.map((t) => t.prefix).join(", ")}`;
  return undefined;
}

function appUses(config: StackConfig, index: number, site: "main" | "host"): PathUse[] {
  const app = config.apps[index];
  const at = `apps[${index}]`;
  const uses = (kind: PathKind, key: string, paths: string[]): PathUse[] => paths.map((path, j) => ({ key: `${at}.${key}[${j}]`, path, kind, owner: app.name }));
  return [
    // A host's server block routes everything to its app: "/" is the app's route there.
    ...(site === "main" ? uses("route", "routes", app.routes) : [{ key: `${at}.hosts`, path: "/", kind: "route" as const, owner: app.name }]),
    ...uses("websocket", "websocketPaths", app.websocketPaths),
    { key: `${at}.healthPath`, path: app.healthPath, kind: "health", owner: app.name },
    { key: `${at}.readyPath`, path: app.readyPath, kind: "health", owner: app.name },
  ];
}

/** The paths of each server block nginx.ts renders: the main one, and one per app with hosts. */
function sites(config: StackConfig): PathUse[][] {
  const strict = [
    ...config.edge.rateLimit.strictPaths.map((path, j): PathUse => ({ key: `edge.rateLimit.strictPaths[${j}]`, path, kind: "strict", owner: "edge" })),
    ...config.edge.rateLimit.zones.flatMap((z, i) => z.paths.map((path, j): PathUse => ({ key: `edge.rateLimit.zones[${i}].paths[${j}]`, path, kind: "zone", owner: "edge" }))),
  ];
  const main = [
    ...strict,
    // The frontend first: a route an app shares with it is reported on the app, as the frontend's is fixed.
    ...(config.frontend ? [{ key: "frontend.route", path: config.frontend.route, kind: "route" as const, owner: "frontend" }] : []),
    ...config.apps.flatMap((a, i) => (a.routes.length > 0 ? appUses(config, i, "main") : [])),
  ];
  const hosts = config.apps.flatMap((a, i) => (a.hosts.length > 0 ? [[...strict, ...appUses(config, i, "host")]] : []));
  return [main, ...hosts];
}

/** Why `later` may not share the server block with `earlier` (ranked so `earlier` wins), or undefined. */
function clash(earlier: PathUse, later: PathUse): string | undefined {
  const { path: a } = earlier;
  const { path: b } = later;
  const other = earlier.owner === "edge" ? `${earlier.key} ("${a}")` : `${earlier.key} ("${a}", served by ${earlier.owner})`;
  if (later.kind === "health") {
    // Health and readiness paths render as exact `location =` blocks with no rate limit.
    if (a === b && earlier.kind === "strict") return `equals the rate-limited login path ${other}: health paths are served without a rate limit, so this would lift the login limit; choose a path of its own such as "/healthz/"`;
    if (a === b && earlier.kind !== "health") {
      const takeover = earlier.owner === later.owner ? "" : ` and be answered by ${later.owner}`;
      return `equals ${other}: health paths are exact locations served without a rate limit, so that URL would lose its limit${takeover}; choose a path no route uses, such as "/healthz/"`;
    }
    if (earlier.kind === "strict" && b.startsWith(a)) return `lies inside the rate-limited login path ${other}, and health paths are served without a rate limit; choose a path outside it`;
  }
  const limits = (u: PathUse): boolean => u.kind === "strict" || u.kind === "zone";
  if (a === b && later.kind === "zone" && limits(earlier)) return `already limited by ${other}; each path belongs to one rate limit (the most specific one covering a URL applies)`;
  if (a === b && later.kind !== "health" && !limits(earlier) && (earlier.owner !== later.owner || later.kind === earlier.kind)) {
    return `already used by ${other}; each route and WebSocket path belongs to exactly one app`;
  }
  if (a !== b && a.toLowerCase() === b.toLowerCase() && earlier.owner !== later.owner) {
    return `differs from ${other} only in letter case; nginx and Django match paths case-sensitively, so these are two different URLs: spell both alike`;
  }
  return undefined;
}

/** Who answers `path` on the main server block by nginx's longest-prefix rule: an app's name, "frontend", or nobody. */
function mainOwner(config: StackConfig, path: string): string | undefined {
  const prefixes = [
    ...(config.frontend ? [{ path: config.frontend.route, owner: "frontend" }] : []),
    ...config.apps.flatMap((a) => [...a.routes, ...a.websocketPaths].map((p) => ({ path: p, owner: a.name }))),
  ];
  let best: { path: string; owner: string } | undefined;
  for (const p of prefixes) if (path.startsWith(p.path) && (!best || p.path.length > best.path.length)) best = p;
  return best?.owner;
}

/** `apps[].edge.paths`: reachable, and answered by the app itself (on the main site, or on its own hosts). */
function checkAppEdgePaths(c: Checker, config: StackConfig): void {
  config.apps.forEach((app, i) =>
    app.edge.paths.forEach(({ path }, j) => {
      const key = `apps[${i}].edge.paths[${j}].path`;
      const problem = unreachable(path);
      const owner = mainOwner(config, path);
      if (problem) c.fail(key, path, problem);
      else if (app.hosts.length === 0 && owner !== app.name) {
        const who = owner ? `${owner === "frontend" ? "the frontend" : `app ${owner}`} answers it (the longest route covering it)` : "no route covers it";
        c.fail(key, path, `lies outside app ${app.name}'s routes (${app.routes.join(", ")}): ${who}; list a path under one of them`);
      }
    }),
  );
}

/** A path the edge denies (`edge.denyPaths`, default /metrics) cannot also be served: nginx would pick the path's longer location. */
function checkDenied(c: Checker, config: StackConfig, uses: PathUse[]): void {
  const edgePaths = config.apps.flatMap((a, i) => a.edge.paths.map(({ path }, j) => ({ key: `apps[${i}].edge.paths[${j}].path`, path })));
  config.edge.denyPaths.forEach((d, i) => {
    const problem = unreachable(`${d}/`);
    if (problem) c.fail(`edge.denyPaths[${i}]`, d, problem);
  });
  for (const use of [...uses, ...edgePaths]) {
    const denied = config.edge.denyPaths.findIndex((d) => use.path.startsWith(`${d}/`));
    if (denied >= 0) c.fail(use.key, use.path, `lies under edge.denyPaths[${denied}] ("${config.edge.denyPaths[denied]}"), which the edge answers 404 to keep internal endpoints private; choose another path, or drop the entry from edge.denyPaths (set it to [] to deny nothing)`);
    // The edge denies each app's metrics path too (src/render/nginx.ts), whatever denyPaths says.
    const metrics = config.apps.findIndex((a) => a.metrics && (use.path === a.metrics.path || use.path.startsWith(`${a.metrics.path}/`)));
    if (denied < 0 && metrics >= 0) c.fail(use.key, use.path, `lies under apps[${metrics}].metrics.path ("${config.apps[metrics].metrics?.path}"), which the edge answers 404 so metrics are never public; choose another path for one of them`);
  }
}

/**
 * Refuses paths that can never be reached, that take over a location the edge owns, or that collide
 * with another path of the same server block; and an app host equal to the stack's domain, which
 * would leave the domain's server block empty and drop the default servers that close unknown hosts.
 */
export function checkRoutes(c: Checker, config: StackConfig): void {
  checkAppEdgePaths(c, config);
  const all = sites(config);
  checkDenied(c, config, [...new Map(all.flat().filter((u) => !u.key.endsWith(".hosts")).map((u) => [u.key, u])).values()]);
  const checked = new Set<string>();
  for (const use of all.flat()) {
    if (use.path === "" || checked.has(use.key) || use.key.endsWith(".hosts")) continue;
    checked.add(use.key);
    const problem = unreachable(use.path);
    if (problem) c.fail(use.key, use.path, problem);
  }
  const reported = new Set<string>();
  for (const site of all) {
    const ranked = site.filter((u) => u.path !== "").sort((x, y) => RANK[x.kind] - RANK[y.kind]);
    ranked.forEach((later, j) => {
      for (const earlier of ranked.slice(0, j)) {
        if (earlier.key === later.key || reported.has(later.key)) continue;
        const problem = clash(earlier, later);
        if (!problem) continue;
        reported.add(later.key);
        c.fail(later.key, later.path, problem);
      }
    });
  }
}
