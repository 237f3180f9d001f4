import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { normalisePath } from "../../src/config/routes";

import { id, problems } from "./config-helpers";

/** Two apps routed by prefix, the shape of the Ticket Tracking seed. */
const two = (a: Raw, b: Raw): Raw => ({ apps: [{ name: "auth", routes: ["/api/auth/"], ...a }, { name: "ticket", routes: ["/api/tickets/"], ...b }] });

// [title, stack config, key the message must start with, what it must say is allowed or why]
const bad: [string, Raw, string, string][] = [
  // Normalisation: nginx resolves dot segments before matching, so these locations never match.
  ["a route with /./", { apps: [{ routes: ["/./"] }] }, "djangostack:apps[0].routes[0]", 'write "/"'],
  ["a route with /api/../", two({ routes: ["/api/../"] }, {}), "djangostack:apps[0].routes[0]", 'write "/"'],
  ["a route with /api/./auth/", two({ routes: ["/api/./auth/"] }, {}), "djangostack:apps[0].routes[0]", 'write "/api/auth/"'],
  ["a route climbing above the root", two({ routes: ["/../api/"] }, {}), "djangostack:apps[0].routes[0]", 'write "/api/"'],
  ["a WebSocket path with ..", two({ websocketPaths: ["/ws/../chat/"] }, {}), "djangostack:apps[0].websocketPaths[0]", 'write "/chat/"'],
  ["a health path with ./", { apps: [{ healthPath: "/./health/" }] }, "djangostack:apps[0].healthPath", 'write "/health/"'],
  ["a login path with ..", { edge: { rateLimit: { strictPaths: ["/admin/../login/"] } } }, "djangostack:edge.rateLimit.strictPaths[0]", 'write "/login/"'],
  ["a frontend route with ..", { frontend: { image: "nginx:1.27", route: "/app/../" }, apps: [{ routes: ["/api/"] }] }, "djangostack:frontend.route", 'write "/"'],
  // Syntax nginx would merge or decode (the route pattern refuses them with the reason).
  ["a route with //", two({ routes: ["//api/"] }, {}), "djangostack:apps[0].routes[0]", 'no "//" or %-escapes'],
  ["a route with a percent-escape", two({ routes: ["/api%2Fauth/"] }, {}), "djangostack:apps[0].routes[0]", 'no "//" or %-escapes'],
  ["a route with an escaped dot", two({ routes: ["/%2e%2e/"] }, {}), "djangostack:apps[0].routes[0]", 'no "//" or %-escapes'],
  ["a route without the trailing slash", two({ routes: ["/api"] }, {}), "djangostack:apps[0].routes[0]", 'starts and ends with "/"'],
  ["a health path with a query", { apps: [{ healthPath: "/health/?full=1" }] }, "djangostack:apps[0].healthPath", 'starts and ends with "/"'],
  // Dot files are denied at the edge before any prefix location.
  ["a route to a dot directory", two({ routes: ["/.git/"] }, {}), "djangostack:apps[0].routes[0]", "except /.well-known/"],
  ["a WebSocket path under a dot directory", two({ websocketPaths: ["/ws/.hidden/"] }, {}), "djangostack:apps[0].websocketPaths[0]", "except /.well-known/"],
  ["a route of three dots", two({ routes: ["/.../"] }, {}), "djangostack:apps[0].routes[0]", "except /.well-known/"],
  // Trees the edge answers itself.
  ["a route at /static/", two({ routes: ["/static/"] }, {}), "djangostack:apps[0].routes[0]", "/static/ is reserved"],
  ["a route equal to another app's static location", two({}, { routes: ["/static/auth/"] }), "djangostack:apps[1].routes[0]", "/static/<app>/"],
  ["a route under /media/", two({ routes: ["/media/uploads/"] }, {}), "djangostack:apps[0].routes[0]", "/media/ is reserved"],
  ["a WebSocket path under /static/", two({ websocketPaths: ["/static/ws/"] }, {}), "djangostack:apps[0].websocketPaths[0]", "/static/ is reserved"],
  ["a health path under /media/", { apps: [{ healthPath: "/media/health/" }] }, "djangostack:apps[0].healthPath", "/media/ is reserved"],
  ["a readiness path under /static/", { apps: [{ readyPath: "/static/ready/" }] }, "djangostack:apps[0].readyPath", "/static/ is reserved"],
  ["a login path under /static/", { edge: { rateLimit: { strictPaths: ["/static/web/"] } } }, "djangostack:edge.rateLimit.strictPaths[0]", "/static/ is reserved"],
  ["the frontend at /static/", { frontend: { image: "nginx:1.27", route: "/static/" }, apps: [{ routes: ["/api/"] }] }, "djangostack:frontend.route", "/static/ is reserved"],
  ["a route at the ACME path", two({ routes: ["/.well-known/acme-challenge/"] }, {}), "djangostack:apps[0].routes[0]", "Let's Encrypt"],
  ["a health path under the ACME path", { apps: [{ healthPath: "/.well-known/acme-challenge/ping/" }] }, "djangostack:apps[0].healthPath", "Let's Encrypt"],
  ["a route under the per-app health tree", two({ routes: ["/_djangostack/"] }, {}), "djangostack:apps[0].routes[0]", "/_djangostack/<app>/health/"],
  ["a health path under the per-app health tree", { apps: [{ healthPath: "/_djangostack/web/health/" }] }, "djangostack:apps[0].healthPath", "/_djangostack/"],
  // Two owners of one path.
  ["two apps with one route", two({ routes: ["/api/"] }, { routes: ["/api/"] }), "djangostack:apps[1].routes[0]", "already used by apps[0].routes[0]"],
  ["one app listing a route twice", two({ routes: ["/api/auth/", "/api/auth/"] }, {}), "djangostack:apps[0].routes[1]", "belongs to exactly one app"],
  ["an app on the frontend's route", { frontend: { image: "nginx:1.27" }, apps: [{ routes: ["/"] }] }, "djangostack:apps[0].routes[0]", "frontend.route"],
  ["a WebSocket path on another app's route", two({}, { websocketPaths: ["/api/auth/"] }), "djangostack:apps[1].websocketPaths[0]", "served by auth"],
  ["two apps with one WebSocket path", two({ websocketPaths: ["/ws/"] }, { websocketPaths: ["/ws/"] }), "djangostack:apps[1].websocketPaths[0]", "exactly one app"],
  ["a WebSocket path on the frontend's route", { frontend: { image: "nginx:1.27", route: "/app/" }, apps: [{ routes: ["/api/"], websocketPaths: ["/app/"] }] }, "djangostack:apps[0].websocketPaths[0]", "served by frontend"],
  // Health paths are exact locations without a rate limit.
  ["a health path equal to the admin login", { apps: [{ healthPath: "/admin/login/" }] }, "djangostack:apps[0].healthPath", "lift the login limit"],
  ["a readiness path equal to a custom login path", { apps: [{ readyPath: "/auth/signin/" }], edge: { rateLimit: { strictPaths: ["/auth/signin/"] } } }, "djangostack:apps[0].readyPath", "lift the login limit"],
  ["a health path inside a login path", { apps: [{ healthPath: "/accounts/login/health/" }] }, "djangostack:apps[0].healthPath", "inside the rate-limited login path"],
  ["a health path on a host site's login path", { domain: "example.com", apps: [{ routes: [], hosts: ["api.example.com"], healthPath: "/api/auth/login/" }] }, "djangostack:apps[0].healthPath", "lift the login limit"],
  ["a health path equal to another app's route", two({ healthPath: "/api/tickets/" }, {}), "djangostack:apps[0].healthPath", "be answered by auth"],
  ["a readiness path equal to its own route", two({ readyPath: "/api/auth/" }, {}), "djangostack:apps[0].readyPath", "lose its limit"],
  ["a health path at the site root", { apps: [{ healthPath: "/" }] }, "djangostack:apps[0].healthPath", "lose its limit"],
  ["a host app's health path at /", { domain: "example.com", apps: [{ name: "web" }, { name: "api", routes: [], hosts: ["api.example.com"], healthPath: "/" }] }, "djangostack:apps[1].healthPath", "lose its limit"],
  ["a health path on another app's WebSocket path", two({}, { websocketPaths: ["/ws/"], healthPath: "/ws/" }), "djangostack:apps[1].healthPath", "lose its limit"],
  ["a health path on the frontend's route", { frontend: { image: "nginx:1.27", route: "/app/" }, apps: [{ routes: ["/api/"], healthPath: "/app/" }] }, "djangostack:apps[0].healthPath", "be answered by web"],
  // Case variants between owners.
  ["a route differing from another app's only in case", two({ routes: ["/api/"] }, { routes: ["/API/"] }), "djangostack:apps[1].routes[0]", "only in letter case"],
  ["a login path differing from the route only in case", { apps: [{ routes: ["/Admin/login/"] }], edge: { rateLimit: { strictPaths: ["/admin/login/"] } } }, "djangostack:apps[0].routes[0]", "only in letter case"],
  ["health paths differing only in case", two({ healthPath: "/Health/" }, { healthPath: "/health/" }), "djangostack:apps[1].healthPath", "only in letter case"],
  // The domain's server block.
  ["an app host equal to the domain", { domain: "example.com", apps: [{ hosts: ["example.com"] }] }, "djangostack:apps[0].hosts[0]", "default servers that close unknown hosts"],
  ["the domain among several hosts", { domain: "shop.example.com", apps: [{ name: "web" }, { name: "api", hosts: ["api.shop.example.com", "shop.example.com"] }] }, "djangostack:apps[1].hosts[1]", "equals djangostack:domain"],
];

describe("routes: bad paths are refused with the key and what is allowed", () => {
  for (const [title, raw, key, allowed] of bad) {
    it(title, () => {
      const found = problems(raw);
      const match = found.find((p) => p.startsWith(`${key}:`));
      assert.ok(match, `no problem names ${key}; got:\n${found.join("\n")}`);
      assert.ok(match.includes(allowed), `message for ${key} lacks "${allowed}": ${match}`);
      assert.ok(!found.some((p) => p.includes("    at ")), "no stack trace");
    });
  }
});

describe("routes: what users legitimately configure stays valid", () => {
  const good: [string, Raw][] = [
    ["five services sharing the default health paths, a WebSocket path under the frontend's /", {
      apps: [
        ...["auth", "ticket", "workflow", "notification"].map((name): Raw => ({ name, routes: [`/api/${name}/`], workers: [], beat: false })),
        { name: "messaging", routes: ["/api/messages/"], websocketPaths: ["/ws/"], workers: [], beat: false },
      ],
      frontend: { image: "nginx:1.27", route: "/" },
      edge: { rateLimit: { strictPaths: ["/api/auth/login/", "/admin/login/"] } },
    }],
    ["nested prefixes across apps (longest prefix wins)", two({ routes: ["/api/"] }, { routes: ["/api/tickets/"] })],
    ["a WebSocket path that is also the app's own route", two({ websocketPaths: ["/api/auth/"] }, {})],
    ["a route at /.well-known/ (security.txt, app links)", two({ routes: ["/.well-known/"] }, {})],
    ["a route named like the trees but outside them", two({ routes: ["/static-pages/", "/mediakit/"] }, {})],
    ["a login path that is also a route (it gets the strict limit)", { apps: [{ routes: ["/", "/admin/login/"] }] }],
    ["one app listing both spellings of a path", two({ routes: ["/api/auth/", "/API/auth/"] }, {})],
    ["a host app beside the domain", { domain: "example.com", apps: [{ name: "web" }, { name: "api", routes: [], hosts: ["api.example.com"] }] }],
    ["a health path under the app's own route", two({ healthPath: "/api/auth/health/" }, {})],
  ];
  for (const [title, raw] of good) it(title, () => assert.doesNotThrow(() => parseConfig(raw, id)));
});

describe("normalisePath", () => {
  it("resolves dot segments as nginx does before matching", () => {
    assert.equal(normalisePath("/api/../"), "/");
    assert.equal(normalisePath("/a/./b/"), "/a/b/");
    assert.equal(normalisePath("/../../x/"), "/x/");
    assert.equal(normalisePath("/api/v1/"), "/api/v1/");
  });
});
