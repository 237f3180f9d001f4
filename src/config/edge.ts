/**
 * The edge's shaping keys (issue 11 items 10-13): rate-limit zones per path, an app's own edge
 * settings per path (timeouts, upload sizes, allowlists) and headers, paths denied at the edge, the
 * proxies in front of the edge. Each parser records a
 * problem naming the key, the value and what is allowed, and returns a usable default.
 */
import { Checker } from "./checker";
import { ROUTE, ROUTE_HINT } from "./routes";
import { formatCidr, parseCidr } from "./cidr";
import { AppEdge, AppEdgePath, CLIENT_ADDRESS_HEADERS, CorsPolicy, RateZone, Target, TrustedProxies } from "./types";

const ZONE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
/** nginx's own rate syntax: requests per second or per minute. */
const RATE = /^([1-9][0-9]{0,5})r\/(s|m)$/;
const MAX_RATE = 100000;

/** `"10r/s"` / `"30r/m"` as nginx writes them; undefined (after recording the problem) otherwise. */
function parseRate(c: Checker, path: string, value: unknown): { rate: number; per: "s" | "m" } | undefined {
  const m = typeof value === "string" ? RATE.exec(value) : null;
  if (!m || Number(m[1]) > MAX_RATE) {
    c.fail(path, value, `expected a rate such as "10r/s" (requests per second) or "30r/m" (per minute), from 1 to ${MAX_RATE}`);
    return undefined;
  }
  return { rate: Number(m[1]), per: m[2] as "s" | "m" };
}

/**
 * `edge.rateLimit.zones`: `{name, rate, burst, paths}`. The burst defaults as the built-in zones have
 * it: twice the rate per second (general: 20r/s, burst 40), half the rate per minute (strict: 10r/m, 5).
 */
export function parseRateZones(c: Checker, path: string, value: unknown): RateZone[] {
  const zones = c.list(path, value, []).map((item, i): RateZone | undefined => {
    const at = `${path}[${i}]`;
    const raw = c.object(at, item, ["name", "rate", "burst", "paths"]);
    const name = c.string(`${at}.name`, raw.name, "", ZONE_NAME, "a lowercase name of 1-20 letters, digits and hyphens, starting with a letter");
    if (raw.name === undefined) c.fail(`${at}.name`, item, "every zone needs a name (it names the nginx zone and appears in its 429 log lines)");
    const rate = parseRate(c, `${at}.rate`, raw.rate);
    const paths = c.stringList(`${at}.paths`, raw.paths, [], ROUTE, ROUTE_HINT);
    if (paths.length === 0) c.fail(`${at}.paths`, raw.paths ?? item, 'expected at least one path the zone covers, e.g. ["/api/"]');
    if (!rate) return undefined;
    const burstDefault = rate.per === "s" ? 2 * rate.rate : Math.floor(rate.rate / 2);
    return { name, ...rate, burst: c.int(`${at}.burst`, raw.burst, burstDefault, { min: 0, max: MAX_RATE }), paths };
  });
  const valid = zones.filter((z): z is RateZone => z !== undefined);
  valid.forEach((z, i) => {
    const first = valid.findIndex((o) => o.name === z.name);
    if (first < i && z.name !== "") c.fail(`${path}[${zones.indexOf(z)}].name`, z.name, `already used by ${path}[${zones.indexOf(valid[first])}]; zone names must be unique`);
  });
  return valid;
}

/** `apps[].edge`: `{paths: [{path, timeout, clientMaxBody, allow, cors}], headers}`; where each path lies is judged by checkRoutes. */
export function parseAppEdge(c: Checker, path: string, value: unknown): AppEdge {
  const raw = c.object(path, value, ["paths", "headers"]);
  const paths = c.list(`${path}.paths`, raw.paths, []).map((item, i): AppEdgePath => {
    const at = `${path}.paths[${i}]`;
    const p = c.object(at, item, ["path", "timeout", "clientMaxBody", "allow", "cors"]);
    if (p.path === undefined) c.fail(`${at}.path`, item, `every entry needs the URL path prefix it applies to, ${ROUTE_HINT}`);
    const rule: AppEdgePath = { path: c.string(`${at}.path`, p.path, "/", ROUTE, ROUTE_HINT) };
    // Up to an hour, as the WebSocket locations wait; past that a request belongs in a Celery task.
    if (p.timeout !== undefined) rule.timeoutSeconds = c.int(`${at}.timeout`, p.timeout, 60, { min: 1, max: 3600 });
    if (p.clientMaxBody !== undefined) rule.clientMaxBodyMiB = c.int(`${at}.clientMaxBody`, p.clientMaxBody, 10, { min: 1, max: 10240 });
    if (p.allow !== undefined) {
      rule.allow = parseNetworks(c, `${at}.allow`, p.allow, "reach the path");
      if (Array.isArray(p.allow) && p.allow.length === 0) c.fail(`${at}.allow`, p.allow, "expected the networks that may reach the path, such as your office's 203.0.113.0/24; leave allow out to let everyone in");
    }
    if (p.cors !== undefined) rule.cors = parseCors(c, `${at}.cors`, p.cors);
    return rule;
  });
  paths.forEach((r, i) => {
    const first = paths.findIndex((o) => o.path === r.path);
    if (first < i) c.fail(`${path}.paths[${i}].path`, r.path, `already listed as ${path}.paths[${first}]; one entry per path`);
  });
  return { paths, headers: parseHeaders(c, `${path}.headers`, raw.headers) };
}

/** scheme://host[:port], as a browser sends it in Origin: lowercase, no path, no trailing slash. */
const ORIGIN = /^https?:\/\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$/;
/** Methods a preflight may be allowed; CONNECT and TRACE never reach an app through the edge. */
const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const CORS_HEADERS_DEFAULT = ["Accept", "Authorization", "Content-Type", "X-CSRFToken", "X-Requested-With"];

/** `apps[].edge.paths[].cors`: `{origins, methods, headers, exposeHeaders, credentials, maxAge}`. */
function parseCors(c: Checker, path: string, value: unknown): CorsPolicy {
  const raw = c.object(path, value, ["origins", "methods", "headers", "exposeHeaders", "credentials", "maxAge"]);
  const origins = c.stringList(`${path}.origins`, raw.origins, [], /^(\*|.+)$/, 'origins such as "https://app.example.com"');
  const credentials = c.bool(`${path}.credentials`, raw.credentials, false);
  if (origins.length === 0) c.fail(`${path}.origins`, raw.origins ?? value, 'expected the origins whose pages may call the path, such as ["https://app.example.com"] (or ["*"] for any, without credentials)');
  origins.forEach((origin, i) => {
    const at = `${path}.origins[${i}]`;
    if (origin === "*") {
      if (origins.length > 1) c.fail(at, origin, '"*" allows every origin: list it alone or list the origins');
      if (credentials) c.fail(at, origin, `browsers refuse credentials with a wildcard origin (${path}.credentials is true); list the origins`);
    } else if (!ORIGIN.test(origin)) {
      const bare = /^(https?:\/\/[^/]+)\/.*$/.exec(origin)?.[1];
      c.fail(at, origin, bare ? `an origin has no path: write "${bare.toLowerCase()}"` : 'expected an origin as a browser sends it: "https://" or "http://", a lowercase host name and an optional port, such as "https://app.example.com"');
    }
  });
  return {
    origins,
    methods: c.stringList(`${path}.methods`, raw.methods, ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], new RegExp(`^(${CORS_METHODS.join("|")})$`), CORS_METHODS.join(", ")),
    headers: c.stringList(`${path}.headers`, raw.headers, CORS_HEADERS_DEFAULT, HEADER_NAME, "request header names such as Authorization"),
    exposeHeaders: c.stringList(`${path}.exposeHeaders`, raw.exposeHeaders, [], HEADER_NAME, "response header names such as X-Request-ID"),
    credentials,
    // Browsers cap the preflight cache themselves (Chromium at 2 hours, Firefox at 24).
    maxAgeSeconds: c.int(`${path}.maxAge`, raw.maxAge, 600, { min: 0, max: 86400 }),
  };
}

/** Headers the edge sets itself or that describe the message: an app header must not duplicate or contradict them. */
const EDGE_OWNED_HEADERS = [
  "strict-transport-security", "x-frame-options", "x-content-type-options", "referrer-policy", "permissions-policy",
  "content-length", "content-type", "content-encoding", "transfer-encoding", "connection", "set-cookie", "vary", "location",
];
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
/** Printable text without what nginx would read as syntax or a variable (quote, backslash, $). */
const HEADER_VALUE = /^[\x20-\x7e]{1,4096}$/;

/** `apps[].edge.headers`: `{Name: value}` added to the app's responses. */
function parseHeaders(c: Checker, path: string, value: unknown): Record<string, string> {
  const headers = c.stringMap(path, value, HEADER_NAME, "header names of letters, digits and hyphens, such as Content-Security-Policy");
  for (const [name, v] of Object.entries(headers)) {
    if (name.toLowerCase().startsWith("access-control-")) {
      c.fail(`${path}.${name}`, name, "CORS comes from apps[].edge.paths[].cors, which answers preflights and allows only the listed origins; a fixed header would allow one origin for every request");
      delete headers[name];
    } else if (EDGE_OWNED_HEADERS.includes(name.toLowerCase())) {
      c.fail(`${path}.${name}`, name, "the edge or the app's own response sets this header; a second one would contradict it (the app's own value already wins over the edge's security headers)");
      delete headers[name];
    } else if (!HEADER_VALUE.test(v) || /["\\$]/.test(v)) {
      c.fail(`${path}.${name}`, v, 'expected 1-4096 printable ASCII characters without ", \\ or $ (nginx would read them as syntax or a variable)');
      delete headers[name];
    }
  }
  return headers;
}

const DENY_PATH = /^(\/[A-Za-z0-9._~-]+)+\/?$/;

/** `edge.denyPaths`: default ["/metrics"]; each entry "/x" or "/x/" denies /x and everything under /x/. */
export function parseDenyPaths(c: Checker, path: string, value: unknown): string[] {
  const entries = c.stringList(path, value, ["/metrics"], DENY_PATH, 'URL paths such as "/metrics" or "/internal/" (not "/"), of segments of letters, digits and . _ ~ -');
  return [...new Set(entries.filter((e) => e !== "").map((e) => e.replace(/\/$/, "")))];
}

/**
 * CIDRs that must each be a network (no host bits set, which usually means one host was meant) and
 * never the whole internet. Returns their canonical forms.
 */
export function parseNetworks(c: Checker, path: string, value: unknown, what: string): string[] {
  const out: string[] = [];
  c.stringList(path, value, [], /^/, "CIDR blocks such as 203.0.113.0/24 or 2001:db8::/32").forEach((text, i) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) c.fail(`${path}[${i}]`, text, `not a valid CIDR (${parsed.reason}); expected a network such as 203.0.113.0/24 or 2001:db8::/32`);
    else if (parsed.cidr.prefix === 0) c.fail(`${path}[${i}]`, text, `is the whole IPv${parsed.cidr.family} internet: anyone could ${what}; list the networks themselves`);
    else if (parsed.hostBitsSet) c.fail(`${path}[${i}]`, text, `host bits are set, so this is not a network: write ${formatCidr(parsed.cidr)} for the whole network, or a /${parsed.cidr.family === 4 ? 32 : 128} for one host`);
    else out.push(formatCidr(parsed.cidr));
  });
  return out;
}

/**
 * `edge.trustedProxies`: `{cidrs, header}`. Behind the Kubernetes load balancer nginx's peer is always
 * the LB, so only X-Forwarded-For (to which the LB appends the address that reached it) tells the CDN
 * from anyone else who connects to the LB; a header of the CDN's own could be sent by anybody.
 */
export function parseTrustedProxies(c: Checker, path: string, value: unknown, target: Target): TrustedProxies | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = c.object(path, value, ["cidrs", "header"]);
  const cidrs = parseNetworks(c, `${path}.cidrs`, raw.cidrs, "claim any client address");
  if (raw.cidrs === undefined || (Array.isArray(raw.cidrs) && raw.cidrs.length === 0)) c.fail(`${path}.cidrs`, raw.cidrs ?? value, "expected the ranges the proxy connects from (Cloudflare publishes its at https://www.cloudflare.com/ips-v4 and /ips-v6)");
  const header = c.oneOf(`${path}.header`, raw.header, CLIENT_ADDRESS_HEADERS, "X-Forwarded-For");
  if (target === "kubernetes" && header !== "X-Forwarded-For") {
    c.fail(`${path}.header`, header, 'on target "kubernetes" nginx sees only the load balancer, so only "X-Forwarded-For" (the LB appends who reached it) can tell the proxy from anyone else');
  }
  return { cidrs, header };
}
