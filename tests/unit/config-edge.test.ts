/**
 * Issue 11: the edge's config keys, each refused with the key, the value and what is allowed, and
 * the shapes the seeds need accepted.
 */
import { describe } from "node:test";
import { BadInput, accepts, refuses } from "./config-helpers";

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
  ];
  refuses(cases);
  accepts([
    ["HSTS with includeSubDomains and preload for two years", { edge: { hstsSeconds: 63072000, hstsIncludeSubDomains: true, hstsPreload: true } }],
    ["seed 002's limits: API 10 r/s, auth 5 r/s, over a route and a path inside another", { apps: [{ name: "web", routes: ["/"] }, { name: "auth", routes: ["/api/auth/"] }], edge: { rateLimit: { zones: [{ name: "api", rate: "10r/s", paths: ["/api/"] }, { name: "auth", rate: "5r/s", paths: ["/api/auth/"] }] } } }],
    ["a per-minute zone with no burst", { edge: { rateLimit: { zones: [{ name: "signup", rate: "3r/m", burst: 0, paths: ["/accounts/signup/"] }] } } }],
  ]);
});
