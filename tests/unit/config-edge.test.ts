/**
 * Issue 11: the edge's config keys, each refused with the key, the value and what is allowed, and
 * the shapes the seeds need accepted.
 */
import { describe } from "node:test";
import { BadInput, accepts, onDroplet, refuses } from "./config-helpers";

/** Bad `apps[0].edge.paths[0].cors` values on an app served at "/". */
function cors(): BadInput[] {
  const at = "djangostack:apps[0].edge.paths[0].cors";
  const on = (policy: unknown) => ({ apps: [{ routes: ["/"], edge: { paths: [{ path: "/api/", cors: policy }] } }] });
  return [
    ["CORS without origins", on({ credentials: true }), `${at}.origins`, "the origins whose pages may call the path"],
    ["CORS with an empty origin list", on({ origins: [] }), `${at}.origins`, "the origins whose pages may call the path"],
    ["a CORS origin with a path", on({ origins: ["https://app.example.com/"] }), `${at}.origins[0]`, 'an origin has no path: write "https://app.example.com"'],
    ["a CORS origin without a scheme", on({ origins: ["app.example.com"] }), `${at}.origins[0]`, '"https://" or "http://"'],
    ["a CORS origin with capitals", on({ origins: ["https://App.example.com"] }), `${at}.origins[0]`, "a lowercase host name"],
    ["a CORS origin with a wildcard subdomain", on({ origins: ["https://*.example.com"] }), `${at}.origins[0]`, "a lowercase host name"],
    ["a wildcard origin with credentials", on({ origins: ["*"], credentials: true }), `${at}.origins[0]`, "browsers refuse credentials with a wildcard origin"],
    ["a wildcard origin beside others", on({ origins: ["*", "https://app.example.com"] }), `${at}.origins[0]`, "list it alone"],
    ["a CORS method nginx would not pass", on({ origins: ["https://a.example.com"], methods: ["TRACE"] }), `${at}.methods[0]`, "GET, HEAD, POST"],
    ["a lowercase CORS method", on({ origins: ["https://a.example.com"], methods: ["get"] }), `${at}.methods[0]`, "GET, HEAD, POST"],
    ["a CORS header with a space", on({ origins: ["https://a.example.com"], headers: ["X Token"] }), `${at}.headers[0]`, "request header names"],
    ["a CORS max age of a week", on({ origins: ["https://a.example.com"], maxAge: 604800 }), `${at}.maxAge`, "integer from 0 to 86400"],
    ["CORS credentials as a string", on({ origins: ["https://a.example.com"], credentials: "yes" }), `${at}.credentials`, "true or false"],
    ["an unknown CORS key", on({ origins: ["https://a.example.com"], allowOrigin: "*" }), `${at}.allowOrigin`, "allowed keys"],
    ["CORS as a fixed app header", { apps: [{ edge: { headers: { "Access-Control-Allow-Origin": "*" } } }] }, "djangostack:apps[0].edge.headers.Access-Control-Allow-Origin", "apps[].edge.paths[].cors"],
  ];
}

describe("edge config (issue 11)", () => {
  const cases: BadInput[] = [
    // item 5: HSTS options
    ["HSTS preload without includeSubDomains", { edge: { hstsPreload: true } }, "djangostack:edge.hstsPreload", "needs edge.hstsIncludeSubDomains true"],
    ["HSTS preload with less than a year", { edge: { hstsPreload: true, hstsIncludeSubDomains: true, hstsSeconds: 86400 } }, "djangostack:edge.hstsPreload", "at least 31536000"],
    ["HSTS includeSubDomains not a boolean", { edge: { hstsIncludeSubDomains: "yes" } }, "djangostack:edge.hstsIncludeSubDomains", "true or false"],
    // item 10: rate-limit zones
    ["a zone rate in nginx's other units", { edge: { rateLimit: { zones: [{ name: "api", rate: "10r/h", paths: ["/api/"] }] } } }, "djangostack:edge.rateLimit.zones[0].rate", '"10r/s" (requests per second) or "30r/m"'],
    ["a zone rate as a bare number", { edge: { rateLimit: { zones: [{ name: "api", rate: 10, paths: ["/api/"] }] } } }, "djangostack:edge.rateLimit.zones[0].rate", "per minute"],
    ["a zone without a name", { edge: { rateLimit: { zones: [{ rate: "10r/s", paths: ["/api/"] }] } } }, "djangostack:edge.rateLimit.zones[0].name", "needs a name"],
    ["a zone named with capitals", { edge: { rateLimit: { zones: [{ name: "API", rate: "10r/s", paths: ["/api/"] }] } } }, "djangostack:edge.rateLimit.zones[0].name", "lowercase name"],
    ["two zones of one name", { edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", paths: ["/api/"] }, { name: "api", rate: "5r/s", paths: ["/auth/"] }] } } }, "djangostack:edge.rateLimit.zones[1].name", "already used by edge.rateLimit.zones[0]"],
    ["a zone without paths", { edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s" }] } } }, "djangostack:edge.rateLimit.zones[0].paths", "at least one path"],
    ["a zone path without its trailing slash", { edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", paths: ["/api"] }] } } }, "djangostack:edge.rateLimit.zones[0].paths[0]", 'ends with "/"'],
    ["a zone path under /static/", { edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", paths: ["/static/"] }] } } }, "djangostack:edge.rateLimit.zones[0].paths[0]", "/static/ is reserved"],
    ["a zone path that is a login path", { edge: { rateLimit: { zones: [{ name: "login", rate: "5r/s", paths: ["/admin/login/"] }] } } }, "djangostack:edge.rateLimit.zones[0].paths[0]", "already limited by edge.rateLimit.strictPaths[0]"],
    ["two zones over one path", { edge: { rateLimit: { zones: [{ name: "a", rate: "5r/s", paths: ["/api/"] }, { name: "b", rate: "1r/s", paths: ["/api/"] }] } } }, "djangostack:edge.rateLimit.zones[1].paths[0]", "each path belongs to one rate limit"],
    ["a negative zone burst", { edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", burst: -1, paths: ["/api/"] }] } } }, "djangostack:edge.rateLimit.zones[0].burst", "integer from 0"],
    // item 11: an app's own timeouts and upload sizes per path
    ["an app edge path outside its routes", { apps: [{ name: "web", routes: ["/"] }, { name: "api", routes: ["/api/"], edge: { paths: [{ path: "/admin/", timeout: 600 }] } }] }, "djangostack:apps[1].edge.paths[0].path", "lies outside app api's routes (/api/): app web answers it"],
    ["an app edge path inside another app's longer route", { apps: [{ name: "web", routes: ["/"], edge: { paths: [{ path: "/api/upload/", clientMaxBody: 100 }] } }, { name: "api", routes: ["/api/"] }] }, "djangostack:apps[0].edge.paths[0].path", "app api answers it"],
    ["an app edge path under /media/", { apps: [{ edge: { paths: [{ path: "/media/big/", clientMaxBody: 100 }] } }] }, "djangostack:apps[0].edge.paths[0].path", "/media/ is reserved"],
    ["an app edge path timeout of zero", { apps: [{ edge: { paths: [{ path: "/export/", timeout: 0 }] } }] }, "djangostack:apps[0].edge.paths[0].timeout", "integer from 1 to 3600"],
    ["an app edge path body size in a unit", { apps: [{ edge: { paths: [{ path: "/upload/", clientMaxBody: "100m" }] } }] }, "djangostack:apps[0].edge.paths[0].clientMaxBody", "integer from 1 to 10240"],
    ["an app edge path without its path", { apps: [{ edge: { paths: [{ timeout: 600 }] } }] }, "djangostack:apps[0].edge.paths[0].path", "needs the URL path prefix"],
    ["an app edge path listed twice", { apps: [{ edge: { paths: [{ path: "/x/", timeout: 600 }, { path: "/x/", clientMaxBody: 50 }] } }] }, "djangostack:apps[0].edge.paths[1].path", "one entry per path"],
    ["an unknown app edge key", { apps: [{ edge: { timeouts: 600 } }] }, "djangostack:apps[0].edge.timeouts", "allowed keys of apps[0].edge"],
    // item 13: proxies in front of the edge
    ["a trusted proxy range that is the whole internet", { edge: { trustedProxies: { cidrs: ["0.0.0.0/0"] } } }, "djangostack:edge.trustedProxies.cidrs[0]", "whole IPv4 internet"],
    ["a trusted proxy range with host bits", { edge: { trustedProxies: { cidrs: ["173.245.48.1/20"] } } }, "djangostack:edge.trustedProxies.cidrs[0]", "write 173.245.48.0/20"],
    ["a trusted proxy range that is no CIDR", { edge: { trustedProxies: { cidrs: ["cloudflare"] } } }, "djangostack:edge.trustedProxies.cidrs[0]", "not a valid CIDR"],
    ["trusted proxies without ranges", { edge: { trustedProxies: { header: "CF-Connecting-IP" } } }, "djangostack:edge.trustedProxies.cidrs", "ips-v4"],
    ["an unknown client address header", { edge: { trustedProxies: { cidrs: ["173.245.48.0/20"], header: "X-Client" } } }, "djangostack:edge.trustedProxies.header", '"CF-Connecting-IP"'],
    ["a CDN's own header behind the Kubernetes load balancer", { target: "kubernetes", domain: "example.com", edge: { trustedProxies: { cidrs: ["173.245.48.0/20"], header: "CF-Connecting-IP" } } }, "djangostack:edge.trustedProxies.header", 'only "X-Forwarded-For"'],
    // item 12 (in part): allowlists, headers, paths denied at the edge
    ["an allowlist of the whole internet", { apps: [{ edge: { paths: [{ path: "/admin/", allow: ["::/0"] }] } }] }, "djangostack:apps[0].edge.paths[0].allow[0]", "whole IPv6 internet"],
    ["an allowlist entry with host bits", { apps: [{ edge: { paths: [{ path: "/admin/", allow: ["203.0.113.7/24"] }] } }] }, "djangostack:apps[0].edge.paths[0].allow[0]", "write 203.0.113.0/24"],
    ["an empty allowlist", { apps: [{ edge: { paths: [{ path: "/admin/", allow: [] }] } }] }, "djangostack:apps[0].edge.paths[0].allow", "leave allow out"],
    ["a header the edge sets itself", { apps: [{ edge: { headers: { "X-Frame-Options": "SAMEORIGIN" } } }] }, "djangostack:apps[0].edge.headers.X-Frame-Options", "the edge or the app's own response sets this header"],
    ["a header value with a $", { apps: [{ edge: { headers: { "Content-Security-Policy": "default-src $host" } } }] }, "djangostack:apps[0].edge.headers.Content-Security-Policy", "nginx would read them as syntax or a variable"],
    ["a header name with a space", { apps: [{ edge: { headers: { "Content Security Policy": "x" } } }] }, "djangostack:apps[0].edge.headers.Content Security Policy", "header names of letters"],
    ["denying /", { edge: { denyPaths: ["/"] } }, "djangostack:edge.denyPaths[0]", '"/metrics" or "/internal/"'],
    ["denying the static tree", { edge: { denyPaths: ["/static"] } }, "djangostack:edge.denyPaths[0]", "/static/ is reserved"],
    ["a route under a denied path", { apps: [{ routes: ["/metrics/public/"] }] }, "djangostack:apps[0].routes[0]", 'lies under edge.denyPaths[0] ("/metrics")'],
    ["a health path under a denied path", { apps: [{ healthPath: "/internal/health/" }], edge: { denyPaths: ["/internal/"] } }, "djangostack:apps[0].healthPath", "set it to [] to deny nothing"],
    // item 12 (rest): CORS per path, the frontend's hosts, redirecting hosts
    ...cors(),
    ["frontend hosts without a domain", { frontend: { image: "ghcr.io/acme/spa:1", hosts: ["www.example.com"] } }, "djangostack:frontend.hosts", "needs djangostack:domain"],
    ["a frontend host that is the domain", { domain: "example.com", frontend: { image: "ghcr.io/acme/spa:1", route: "/app/", hosts: ["example.com"] } }, "djangostack:frontend.hosts[0]", 'give it frontend.route "/"'],
    ["a frontend host an app has", { domain: "example.com", apps: [{ hosts: ["www.example.com"] }], frontend: { image: "ghcr.io/acme/spa:1", route: "/app/", hosts: ["www.example.com"] } }, "djangostack:frontend.hosts[0]", "already listed as apps[0].hosts[0]"],
    ["a frontend host with capitals", { domain: "example.com", frontend: { image: "ghcr.io/acme/spa:1", hosts: ["WWW.example.com"] } }, "djangostack:frontend.hosts[0]", "lowercase fully qualified domain name"],
    ["redirect hosts without a domain", { edge: { redirectHosts: ["www.example.com"] } }, "djangostack:edge.redirectHosts", "the host these names redirect to"],
    ["a redirect host that is the domain", { domain: "example.com", edge: { redirectHosts: ["example.com"] } }, "djangostack:edge.redirectHosts[0]", "redirect to itself"],
    ["a redirect host an app serves", { domain: "example.com", apps: [{ hosts: ["api.example.com"] }], edge: { redirectHosts: ["api.example.com"] } }, "djangostack:edge.redirectHosts[0]", "already listed as apps[0].hosts[0]"],
    ["a redirect host the frontend serves", { domain: "example.com", frontend: { image: "ghcr.io/acme/spa:1", route: "/app/", hosts: ["www.example.com"] }, edge: { redirectHosts: ["www.example.com"] } }, "djangostack:edge.redirectHosts[0]", "already listed as frontend.hosts[0]"],
    ["a redirect host that is a URL", { domain: "example.com", edge: { redirectHosts: ["https://www.example.com"] } }, "djangostack:edge.redirectHosts[0]", "fully qualified domain name"],
  ];
  refuses(cases);
  accepts([
    ["CORS for an SPA origin on the API with cookies", { apps: [{ routes: ["/"], edge: { paths: [{ path: "/api/", cors: { origins: ["https://app.example.com", "http://localhost:5173"], credentials: true } }] } }] }],
    ["CORS for any origin on a public API", { apps: [{ routes: ["/"], edge: { paths: [{ path: "/api/public/", cors: { origins: ["*"], methods: ["GET"], maxAge: 0 } }] } }] }],
    ["www to the apex, and an SPA on app.", { domain: "example.com", frontend: { image: "ghcr.io/acme/spa:1", route: "/app/", hosts: ["app.example.com"] }, edge: { redirectHosts: ["www.example.com"] } }],
    ["the apex to www", { domain: "www.example.com", edge: { redirectHosts: ["example.com"] } }],
    ["HSTS with includeSubDomains and preload for two years", { edge: { hstsSeconds: 63072000, hstsIncludeSubDomains: true, hstsPreload: true } }],
    ["seed 002's limits: API 10 r/s, auth 5 r/s, over a route and a path inside another", { apps: [{ name: "web", routes: ["/"] }, { name: "auth", routes: ["/api/auth/"] }], edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", paths: ["/api/"] }, { name: "auth", rate: "5r/s", paths: ["/api/auth/"] }] } } }],
    ["an upload path with a long timeout on an app that has only hosts", { apps: [{ name: "web", routes: ["/"] }, { name: "api", routes: [], hosts: ["api.example.com"], edge: { paths: [{ path: "/upload/", timeout: 600, clientMaxBody: 500 }] } }], domain: "example.com" }],
    ["Cloudflare in front of a Droplet, IPv4 and IPv6", { ...onDroplet(), domain: "example.com", edge: { tls: { mode: "letsencrypt", email: "ops@example.com" }, trustedProxies: { cidrs: ["173.245.48.0/20", "2400:cb00::/32"], header: "CF-Connecting-IP" } } }],
    ["a CDN in front of the Kubernetes load balancer", { target: "kubernetes", domain: "example.com", edge: { trustedProxies: { cidrs: ["173.245.48.0/20"] } } }],
    ["an app serving /metrics/ with edge.denyPaths off and its own metrics elsewhere", { apps: [{ routes: ["/", "/metrics/"], metrics: { path: "/internal/metrics" } }], edge: { denyPaths: [] } }],
    ["an allowlisted admin and a CSP, IPv4 and IPv6", { apps: [{ edge: { paths: [{ path: "/admin/", allow: ["203.0.113.0/24", "2001:db8::/48"] }], headers: { "Content-Security-Policy": "default-src 'self'" } } }] }],
    ["a per-minute zone with no burst", { edge: { rateLimit: { zones: [{ name: "signup", rate: "3r/m", burst: 0, paths: ["/accounts/signup/"] }] } } }],
  ]);
});
