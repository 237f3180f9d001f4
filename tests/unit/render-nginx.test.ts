import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel, EDGE_PORTS, PATHS } from "../../src/model/build";
import { DOT_SEGMENT_REGEX, HASHED_STATIC_REGEX, NginxInput, nginxInputFor, renderNginx, renderUpstreamBlock } from "../../src/render/nginx";
import { NGINX_STATUS } from "../../src/model/monitoring";
import { requireBinary } from "../helpers/executables";

// ------------------------------------------------------------------------------------------
// A small nginx config parser, so assertions read the structure nginx will see, not substrings.

interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === "#") while (i < text.length && text[i] !== "\n") i++;
    else if (c === "{" || c === "}" || c === ";") tokens.push(text[i++]);
    else if (c === '"' || c === "'") {
      let j = i + 1;
      let value = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) {
          value += text[j] + text[j + 1];
          j += 2;
        } else value += text[j++];
      }
      assert.ok(j < text.length, "unterminated quoted string");
      tokens.push(`\u0000${value}`);
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};]/.test(text[j])) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function parse(text: string): Directive[] {
  const tokens = tokenize(text);
  let pos = 0;
  const unquote = (t: string): string => (t.startsWith("\u0000") ? t.slice(1) : t);
  function parseBlock(top: boolean): Directive[] {
    const out: Directive[] = [];
    while (pos < tokens.length) {
      if (tokens[pos] === "}") {
        assert.ok(!top, "unbalanced }");
        pos++;
        return out;
      }
      const words: string[] = [];
      while (pos < tokens.length && tokens[pos] !== ";" && tokens[pos] !== "{") {
        assert.notEqual(tokens[pos], "}", `directive ${words.join(" ")} is not terminated`);
        words.push(unquote(tokens[pos++]));
      }
      assert.ok(pos < tokens.length, `directive ${words.join(" ")} is not terminated`);
      const [name, ...args] = words;
      if (tokens[pos++] === "{") out.push({ name, args, block: parseBlock(false) });
      else out.push({ name, args });
    }
    assert.ok(top, "unbalanced {");
    return out;
  }
  return parseBlock(true);
}

const all = (ds: Directive[] | undefined, name: string): Directive[] => (ds ?? []).filter((d) => d.name === name);
const one = (ds: Directive[] | undefined, name: string): Directive => {
  const found = all(ds, name);
  assert.equal(found.length, 1, `expected exactly one ${name}, found ${found.length}`);
  return found[0];
};
const argsOf = (ds: Directive[] | undefined, name: string): string[][] => all(ds, name).map((d) => d.args);

/** Every location, nested ones included, with the server it belongs to. */
function locations(server: Directive): Directive[] {
  const out: Directive[] = [];
  const walk = (ds: Directive[] | undefined): void => {
    for (const d of all(ds, "location")) {
      out.push(d);
      walk(d.block);
    }
  };
  walk(server.block);
  return out;
}

const locationPath = (loc: Directive): string => loc.args[loc.args.length - 1];
const findLocation = (server: Directive, args: string[]): Directive | undefined => locations(server).find((l) => l.args.join(" ") === args.join(" "));

function serverNames(server: Directive): string[] {
  return argsOf(server.block, "server_name").flat();
}

function listens(server: Directive): string[][] {
  return argsOf(server.block, "listen");
}

// ------------------------------------------------------------------------------------------
// Fixtures from the real config schema and model.

const id = { project: "djangostack", stack: "test" };
// Large enough for the several-app fixtures below to pass the capacity check.
const droplet = { sshKeys: ["aa:bb"], adminCidrs: ["203.0.113.7/32"], size: "s-4vcpu-8gb" };

function inputFor(raw: Raw): NginxInput {
  const config = parseConfig(raw, id);
  return nginxInputFor(buildModel(config), config.edge, config.domain);
}

/** `servers`: the public ones; `status`: the exporter's stub_status server (monitoring.exporters), apart. */
function render(raw: Raw, patch: (input: NginxInput) => void = () => undefined): { text: string; http: Directive[]; servers: Directive[]; status: Directive[]; input: NginxInput } {
  const input = inputFor(raw);
  patch(input);
  const text = renderNginx(input);
  const root = parse(text);
  const http = one(root, "http").block ?? [];
  const isStatus = (server: Directive) => all(server.block, "listen").some((l) => l.args[0].endsWith(String(NGINX_STATUS.port)));
  const servers = all(http, "server");
  return { text, http, servers: servers.filter((x) => !isStatus(x)), status: servers.filter(isStatus), input };
}

const tlsFiles = { mode: "files", certificatePath: "/etc/ssl/site/fullchain.pem", keyPath: "/etc/ssl/site/privkey.pem" };
/** Seed 002: microservices with a React frontend at "/" on one Droplet, one app also on its own host. */
const multi: Raw = {
  target: "droplet",
  domain: "shop.example.com",
  droplet,
  edge: { tls: tlsFiles, hstsSeconds: 63072000, clientMaxBody: 25, rateLimit: { generalPerSecond: 30, strictPerMinute: 6, strictPaths: ["/api/auth/login/", "/admin/login/"] } },
  frontend: { image: "registry.example.com/frontend:1", route: "/", port: 3000 },
  apps: [
    { name: "auth", routes: ["/api/auth/"], websocketPaths: [] },
    { name: "orders", routes: ["/api/orders/", "/admin/"], websocketPaths: ["/ws/orders/"], healthPath: "/api/orders/health/" },
    { name: "catalog", routes: ["/api/catalog/"], hosts: ["catalog.example.com"] },
  ],
};

/** The server that serves the apps for `name` (not the redirect or health server): it has static locations. */
function appServer(servers: Directive[], name: string): Directive {
  const found = servers.filter((s) => serverNames(s).includes(name) && locations(s).some((l) => l.args[0].startsWith("/static/")));
  assert.equal(found.length, 1, `expected one app server for ${name}`);
  return found[0];
}

function proxyTarget(loc: Directive | undefined): string | undefined {
  return loc ? argsOf(loc.block, "proxy_pass")[0]?.[0] : undefined;
}

// ------------------------------------------------------------------------------------------

describe("renderNginx: main context", () => {
  it("is a complete nginx.conf that runs unprivileged with every writable path under the temp dir", () => {
    const { text, input } = render({});
    const root = parse(text);
    assert.deepEqual(one(root, "worker_processes").args, ["auto"]);
    assert.deepEqual(one(root, "pid").args, [input.paths.pidFile]);
    assert.equal(all(root, "user").length, 0, "no user directive: the image runs as uid 101 already");
    assert.equal(all(root, "daemon").length, 0, "daemon is left to the command line (the image passes -g 'daemon off;')");
    assert.ok(one(root, "events").block);
    const http = one(root, "http").block ?? [];
    for (const temp of ["client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"]) {
      const [dir] = one(http, temp).args;
      assert.ok(dir.startsWith(`${input.paths.tempDir}/`), `${temp} ${dir} is under ${input.paths.tempDir}`);
    }
    assert.deepEqual(one(http, "server_tokens").args, ["off"]);
    assert.equal(all(http, "include").length, 0, "self-contained: no include of files that may not exist next to it");
  });

  it("defaults to the in-container paths and ports the model uses", () => {
    const input = inputFor({});
    assert.deepEqual(input.listen, { http: EDGE_PORTS.http, https: EDGE_PORTS.https });
    assert.equal(input.paths.staticRoot, PATHS.nginxStatic);
    assert.equal(input.paths.mediaRoot, PATHS.nginxMedia);
    assert.equal(input.paths.acmeWebroot, PATHS.acmeWebroot);
    assert.deepEqual(input.addresses, { "web-web": "web-web:8000" });
    const le = inputFor({ target: "droplet", domain: "example.com", droplet, edge: { tls: { email: "ops@example.com" } } });
    assert.equal(le.paths.tlsCertificate, `${PATHS.certs}/live/example.com/fullchain.pem`);
    assert.equal(le.paths.tlsKey, `${PATHS.certs}/live/example.com/privkey.pem`);
    const files = inputFor(multi);
    assert.equal(files.paths.tlsCertificate, tlsFiles.certificatePath);
    assert.equal(files.addresses.frontend, "frontend:3000");
  });

  it("types are inline with no extension mapped twice, and gzip covers text types without text/html", () => {
    const { http } = render({});
    const exts = (one(http, "types").block ?? []).flatMap((d) => d.args);
    assert.equal(new Set(exts).size, exts.length, "duplicate extension in types");
    for (const ext of ["css", "js", "svg", "woff2", "json", "html"]) assert.ok(exts.includes(ext), ext);
    assert.deepEqual(one(http, "gzip").args, ["on"]);
    assert.ok(Number(one(http, "gzip_min_length").args[0]) >= 128 && Number(one(http, "gzip_min_length").args[0]) <= 1024);
    assert.deepEqual(one(http, "gzip_proxied").args, ["any"]);
    assert.deepEqual(one(http, "gzip_vary").args, ["on"]);
    const gz = one(http, "gzip_types").args;
    for (const t of ["text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"]) assert.ok(gz.includes(t), t);
    assert.ok(!gz.includes("text/html"), "text/html is implicit; listing it makes nginx warn");
  });
});

describe("renderNginx: servers and default_server", () => {
  it("without a domain, the app server is the catch-all default server and answers /nginx-health itself", () => {
    const { text, servers } = render({});
    assert.equal(servers.length, 1);
    const [server] = servers;
    assert.deepEqual(listens(server), [[String(EDGE_PORTS.http), "default_server"]]);
    assert.deepEqual(serverNames(server), ["_"]);
    assert.ok(!/return\s+444/.test(text), "nothing is refused when there is no domain to match");
    assert.match(text, /answers for any Host on the address; Django's ALLOWED_HOSTS\n\s*# \(the address the stack is reached at, never \*/, "the catch-all behaviour is documented in a comment");
    const health = findLocation(server, ["=", "/nginx-health"]);
    assert.ok(health);
    assert.deepEqual(one(health.block, "return").args, ["200", "ok\\n"]);
    assert.equal(proxyTarget(findLocation(server, ["/"])), "http://web-web");
  });

  it("with a domain, each listen has one default_server that refuses (444, or the TLS handshake)", () => {
    const { servers } = render(multi);
    const byPort = new Map<string, Directive[]>();
    for (const s of servers) for (const l of listens(s)) byPort.set(l[0], [...(byPort.get(l[0]) ?? []), s]);
    assert.deepEqual([...byPort.keys()].sort(), [String(EDGE_PORTS.http), String(EDGE_PORTS.https)].sort());
    for (const [port, list] of byPort) {
      const defaults = list.filter((s) => listens(s).some((l) => l[0] === port && l.includes("default_server")));
      assert.equal(defaults.length, 1, `one default_server on ${port}`);
      const [d] = defaults;
      if (port === String(EDGE_PORTS.http)) assert.deepEqual(one(d.block, "return").args, ["444"]);
      else {
        assert.deepEqual(one(d.block, "ssl_reject_handshake").args, ["on"]);
        assert.equal(all(d.block, "ssl_certificate").length, 0);
        assert.ok(listens(d)[0].includes("ssl"));
      }
    }
  });

  it("answers container health checks (Host: localhost) on the HTTP port even though unknown hosts get 444", () => {
    const { servers } = render(multi);
    const local = servers.filter((s) => serverNames(s).includes("localhost"));
    assert.equal(local.length, 1);
    assert.deepEqual(listens(local[0]), [[String(EDGE_PORTS.http)]]);
    const health = findLocation(local[0], ["=", "/nginx-health"]);
    assert.ok(health);
    assert.deepEqual(one(health.block, "return").args, ["200", "ok\\n"]);
    assert.deepEqual(one(findLocation(local[0], ["/"])?.block, "return").args, ["444"]);
  });

  it("gives every app host its own server that routes everything to that app", () => {
    const { servers } = render(multi);
    const catalog = appServer(servers, "catalog.example.com");
    assert.deepEqual(serverNames(catalog), ["catalog.example.com"]);
    assert.equal(proxyTarget(findLocation(catalog, ["/"])), "http://catalog-web");
    assert.ok(findLocation(catalog, ["/static/catalog/"]));
    assert.ok(!findLocation(catalog, ["/static/auth/"]), "a host server serves only its own app's files");
    const main = appServer(servers, "shop.example.com");
    assert.ok(!serverNames(main).includes("catalog.example.com"));
  });
});

describe("renderNginx: TLS", () => {
  it("uses Mozilla intermediate settings without OCSP stapling", () => {
    const { http } = render(multi);
    assert.deepEqual(one(http, "ssl_protocols").args, ["TLSv1.2", "TLSv1.3"]);
    const ciphers = one(http, "ssl_ciphers").args[0].split(":");
    assert.deepEqual(ciphers, [
      "ECDHE-ECDSA-AES128-GCM-SHA256",
      "ECDHE-RSA-AES128-GCM-SHA256",
      "ECDHE-ECDSA-AES256-GCM-SHA384",
      "ECDHE-RSA-AES256-GCM-SHA384",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      "ECDHE-RSA-CHACHA20-POLY1305",
    ]);
    assert.deepEqual(one(http, "ssl_prefer_server_ciphers").args, ["off"]);
    assert.match(one(http, "ssl_session_cache").args[0], /^shared:\w+:\d+m$/);
    assert.deepEqual(one(http, "ssl_session_timeout").args, ["1d"]);
    assert.deepEqual(one(http, "ssl_session_tickets").args, ["off"]);
    assert.equal(all(http, "ssl_stapling").length, 0);
  });

  it("serves the apps on the HTTPS port with the certificate, HTTP/2 in the binary's syntax", () => {
    const modern = render(multi).servers;
    const main = appServer(modern, "shop.example.com");
    assert.deepEqual(listens(main), [[String(EDGE_PORTS.https), "ssl"]]);
    assert.deepEqual(one(main.block, "http2").args, ["on"]);
    assert.deepEqual(one(main.block, "ssl_certificate").args, [tlsFiles.certificatePath]);
    assert.deepEqual(one(main.block, "ssl_certificate_key").args, [tlsFiles.keyPath]);
    const old = render(multi, (i) => (i.nginxVersion = "1.22.1")).servers;
    const oldMain = appServer(old, "shop.example.com");
    assert.deepEqual(listens(oldMain), [[String(EDGE_PORTS.https), "ssl", "http2"]]);
    assert.equal(all(oldMain.block, "http2").length, 0, "nginx < 1.25.1 has no http2 directive");
  });

  it("redirects HTTP to HTTPS with 301, except the ACME challenge served from the webroot", () => {
    const { servers, input } = render(multi);
    const redirect = servers.filter((s) => serverNames(s).includes("shop.example.com") && listens(s).some((l) => l[0] === String(EDGE_PORTS.http)));
    assert.equal(redirect.length, 1);
    assert.deepEqual(serverNames(redirect[0]).sort(), ["catalog.example.com", "shop.example.com"]);
    assert.deepEqual(one(findLocation(redirect[0], ["/"])?.block, "return").args, ["301", "https://$host$request_uri"]);
    const acme = findLocation(redirect[0], ["^~", "/.well-known/acme-challenge/"]);
    assert.ok(acme, "^~ keeps regex locations from catching the challenge");
    assert.deepEqual(one(acme.block, "root").args, [input.paths.acmeWebroot]);
    assert.equal(all(acme.block, "return").length, 0);
  });

  it("puts a non-standard public HTTPS port into the redirect", () => {
    const { servers } = render(multi, (i) => (i.redirectHttpsPort = 8443));
    const redirect = servers.find((s) => serverNames(s).includes("shop.example.com") && listens(s).some((l) => l[0] === String(EDGE_PORTS.http)));
    assert.ok(redirect);
    assert.deepEqual(one(findLocation(redirect, ["/"])?.block, "return").args, ["301", "https://$host:8443$request_uri"]);
  });

  it("still serves the ACME challenge path when TLS is off", () => {
    const { servers, input } = render({ domain: "example.com" });
    const main = appServer(servers, "example.com");
    assert.deepEqual(listens(main), [[String(EDGE_PORTS.http)]]);
    assert.deepEqual(one(findLocation(main, ["^~", "/.well-known/acme-challenge/"])?.block, "root").args, [input.paths.acmeWebroot]);
    const redirects = servers.flatMap((s) => locations(s)).flatMap((l) => argsOf(l.block, "return")).filter((r) => r[0] === "301");
    assert.deepEqual(redirects, [], "no HTTPS redirect without TLS");
  });
});

describe("renderNginx: headers", () => {
  const expected = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"];

  it("sets the security headers with `always` on every app server and repeats them in each location adding its own", () => {
    const { servers } = render(multi);
    for (const name of ["shop.example.com", "catalog.example.com"]) {
      const server = appServer(servers, name);
      const serverLevel = argsOf(server.block, "add_header");
      for (const h of [...expected, "Strict-Transport-Security"]) {
        assert.ok(serverLevel.some((a) => a[0] === h && a[a.length - 1] === "always"), `${name}: ${h}`);
      }
      for (const loc of locations(server)) {
        const own = argsOf(loc.block, "add_header");
        if (own.length === 0) continue;
        // nginx drops every inherited add_header in a location that declares one.
        for (const h of [...expected, "Strict-Transport-Security"]) {
          assert.ok(own.some((a) => a[0] === h && a[a.length - 1] === "always"), `${name} location ${loc.args.join(" ")} lacks ${h}`);
        }
      }
    }
  });

  it("has the policy values in maps that defer to a header the app already sent", () => {
    const { http } = render(multi);
    const mapFor = (header: string): Directive => {
      const m = all(http, "map").find((d) => d.args[0] === `$upstream_http_${header}`);
      assert.ok(m, header);
      return m;
    };
    const valueWhenAppSilent = (header: string): string => (mapFor(header).block ?? []).find((d) => d.name === "")?.args[0] ?? "";
    // The parser turns the quoted "" key into an empty directive name.
    assert.equal(valueWhenAppSilent("x_frame_options"), "DENY");
    assert.equal(valueWhenAppSilent("x_content_type_options"), "nosniff");
    assert.equal(valueWhenAppSilent("referrer_policy"), "strict-origin-when-cross-origin");
    assert.match(valueWhenAppSilent("permissions_policy"), /camera=\(\)/);
    assert.equal(valueWhenAppSilent("strict_transport_security"), "max-age=63072000");
    for (const h of ["x_frame_options", "strict_transport_security"]) {
      assert.deepEqual(one(mapFor(h).block, "default").args, [""], "app's own header wins: nginx adds nothing");
    }
  });

  it("sends HSTS only over TLS", () => {
    const { text, servers } = render({ domain: "example.com" });
    assert.ok(!/Strict-Transport-Security/.test(text));
    for (const s of servers) assert.ok(!argsOf(s.block, "add_header").some((a) => a[0] === "Strict-Transport-Security"));
  });

  it("proxies with Host, X-Forwarded-*, X-Request-ID and a keep-alive friendly Connection header", () => {
    const { servers, text } = render(multi);
    const main = appServer(servers, "shop.example.com");
    const loc = findLocation(main, ["/api/auth/"]);
    assert.ok(loc);
    const headers = new Map(argsOf(loc.block, "proxy_set_header").map((a) => [a[0], a[1]]));
    // The matched name (never the client's raw Host), with the public port where it is not the default.
    assert.match(headers.get("Host") ?? "", /^\$host(:[0-9]+)?$/);
    assert.equal(headers.get("X-Forwarded-For"), "$remote_addr");
    assert.equal(headers.get("X-Forwarded-Proto"), "$djs_forwarded_proto");
    assert.equal(headers.get("X-Forwarded-Host"), headers.get("Host"));
    assert.ok(!text.includes("$http_host"), "the client's raw Host is never forwarded");
    assert.equal(headers.get("X-Request-ID"), "$djs_request_id");
    assert.equal(headers.get("Connection"), "");
    // Without a trusted proxy the scheme is nginx's own; a client's X-Forwarded-Proto is ignored.
    assert.match(text, /map \$scheme \$djs_forwarded_proto \{\s*default \$scheme;\s*\}/);
    assert.ok(!text.includes("set_real_ip_from"));
  });
});

describe("renderNginx: routing", () => {
  it("routes each prefix to the app owning it, the frontend at its route, with keep-alive upstreams", () => {
    const { servers, http } = render(multi);
    const main = appServer(servers, "shop.example.com");
    assert.equal(proxyTarget(findLocation(main, ["/api/auth/"])), "http://auth-web");
    assert.equal(proxyTarget(findLocation(main, ["/api/orders/"])), "http://orders-web");
    assert.equal(proxyTarget(findLocation(main, ["/admin/"])), "http://orders-web");
    assert.equal(proxyTarget(findLocation(main, ["/api/catalog/"])), "http://catalog-web");
    assert.equal(proxyTarget(findLocation(main, ["/"])), "http://frontend");
    for (const up of all(http, "upstream")) {
      assert.ok(Number(one(up.block, "keepalive").args[0]) > 0, `${up.args[0]} keepalive`);
      assert.equal(all(up.block, "server").length, 1);
    }
    assert.deepEqual(argsOf(all(http, "upstream").find((u) => u.args[0] === "orders-web")?.block, "server"), [["orders-web:8000"]]);
    assert.deepEqual(one(http, "proxy_http_version").args, ["1.1"]);
  });

  it("connects to the addresses given, and listens on the address given (for loopback tests)", () => {
    const { http, servers } = render(multi, (i) => {
      i.addresses = { "auth-web": "127.0.0.1:18001", "orders-web": "127.0.0.1:18002", "catalog-web": "127.0.0.1:18003", frontend: "127.0.0.1:18004" };
      i.listen = { address: "127.0.0.1", http: 18080, https: 18443 };
    });
    assert.deepEqual(argsOf(all(http, "upstream").find((u) => u.args[0] === "frontend")?.block, "server"), [["127.0.0.1:18004"]]);
    for (const s of servers) for (const l of listens(s)) assert.match(l[0], /^127\.0\.0\.1:(18080|18443)$/);
  });

  it("waits for each app as long as its app server does, plus a margin; a path may set its own wait and body size (issue 11 item 11)", () => {
    const { servers } = render({
      apps: [
        { name: "web", routes: ["/"], gunicorn: { timeout: 600 }, edge: { paths: [{ path: "/upload/", clientMaxBody: 200, timeout: 30 }] } },
        { name: "chat", routes: ["/chat/"], server: "daphne" },
      ],
    });
    const server = servers[servers.length - 1];
    const wait = (path: string): string[] | undefined => argsOf(findLocation(server, [path])?.block, "proxy_read_timeout")[0];
    assert.deepEqual(wait("/"), ["605s"], "gunicorn's 600 s + 5");
    assert.deepEqual(wait("/upload/"), ["30s"]);
    assert.deepEqual(argsOf(findLocation(server, ["/upload/"])?.block, "client_max_body_size"), [["200m"]]);
    assert.deepEqual(argsOf(findLocation(server, ["/"])?.block, "client_max_body_size"), [], "the http context's edge.clientMaxBody applies");
    assert.deepEqual(wait("/chat/"), ["120s"], "daphne has no request timeout of its own");
  });

  it("upgrades WebSocket paths and keeps them open long", () => {
    const { servers, http } = render(multi);
    const ws = findLocation(appServer(servers, "shop.example.com"), ["/ws/orders/"]);
    assert.ok(ws);
    assert.equal(proxyTarget(ws), "http://orders-web");
    const headers = new Map(argsOf(ws.block, "proxy_set_header").map((a) => [a[0], a[1]]));
    assert.equal(headers.get("Upgrade"), "$djs_upgrade");
    assert.equal(headers.get("Connection"), "$djs_connection_upgrade");
    assert.match(headers.get("Host") ?? "", /^\$host(:[0-9]+)?$/, "a location setting its own headers repeats the common ones");
    assert.ok(parseInt(one(ws.block, "proxy_read_timeout").args[0], 10) >= 600);
    const connectionMap = all(http, "map").find((m) => m.args.join(" ") === "$djs_upgrade $djs_connection_upgrade");
    assert.deepEqual(one(connectionMap?.block, "default").args, ["upgrade"]);
    // Only the websocket token is passed on.
    const upgradeMap = all(http, "map").find((m) => m.args.join(" ") === "$http_upgrade $djs_upgrade");
    assert.deepEqual(one(upgradeMap?.block, "default").args, [""]);
  });

  it("serves a project with no catch-all route a 404 rather than nginx's own html root", () => {
    const { servers } = render({ apps: [{ name: "api", routes: ["/api/"] }] });
    const [server] = servers;
    assert.deepEqual(one(findLocation(server, ["/"])?.block, "return").args, ["404"]);
  });

  it("denies dot segments anywhere except a leading /.well-known/, before any location matches", () => {
    const { servers } = render({});
    const guard = all(servers[0].block, "if");
    assert.equal(guard.length, 1);
    assert.deepEqual(one(guard[0].block, "return").args, ["403"]);
    assert.deepEqual(guard[0].args, ["($uri", "~", DOT_SEGMENT_REGEX, ")"]);
    const re = new RegExp(DOT_SEGMENT_REGEX);
    for (const p of ["/.env", "/static/web/.git/config", "/static/web/.env.0a1b2c3d.txt", "/media/web/.htaccess", "/static/web/.well-known/x", "/.well-known/.x"]) assert.ok(re.test(p), p);
    for (const p of ["/.well-known/acme-challenge/x", "/static/web/app.css", "/static/web/app.0a1b2c3d.css", "/a.b/c"]) assert.ok(!re.test(p), p);
  });
});

describe("renderNginx: limits", () => {
  it("caps open connections per client address in every app server (100 by default; 0 turns it off)", () => {
    const { http, servers } = render(multi);
    assert.deepEqual(argsOf(http, "limit_conn_zone"), [["$binary_remote_addr", "zone=djs_conn:10m"]]);
    assert.deepEqual(argsOf(http, "limit_conn_status"), [["429"]]);
    const appServers = servers.filter((srv) => locations(srv).some((l) => l.args[0].startsWith("/static/")));
    assert.ok(appServers.length >= 2);
    for (const srv of appServers) assert.deepEqual(argsOf(srv.block, "limit_conn"), [["djs_conn", "100"]]);
    const off = render({ ...multi, edge: { ...(multi.edge as Raw), rateLimit: { connectionsPerClient: 0 } } });
    assert.deepEqual(argsOf(off.http, "limit_conn_zone"), []);
    assert.ok(off.servers.every((srv) => argsOf(srv.block, "limit_conn").length === 0));
  });

  it("defines general (r/s) and strict (r/m) zones keyed by client address, answering 429", () => {
    const { http } = render(multi);
    const zones = argsOf(http, "limit_req_zone");
    assert.deepEqual(zones, [
      ["$binary_remote_addr", "zone=djs_general:10m", "rate=30r/s"],
      ["$binary_remote_addr", "zone=djs_strict:10m", "rate=6r/m"],
    ]);
    assert.deepEqual(one(http, "limit_req_status").args, ["429"]);
    assert.deepEqual(one(http, "client_max_body_size").args, ["25m"]);
  });

  it("applies the strict zone to strict paths, still proxied to the app that owns them", () => {
    const { servers } = render(multi);
    const main = appServer(servers, "shop.example.com");
    const login = findLocation(main, ["/api/auth/login/"]);
    assert.equal(proxyTarget(login), "http://auth-web");
    assert.deepEqual(argsOf(login?.block, "limit_req"), [["zone=djs_strict", "burst=5", "nodelay"]]);
    const admin = findLocation(main, ["/admin/login/"]);
    assert.equal(proxyTarget(admin), "http://orders-web");
    assert.deepEqual(argsOf(admin?.block, "limit_req")[0][0], "zone=djs_strict");
    assert.deepEqual(argsOf(findLocation(main, ["/api/orders/"])?.block, "limit_req")[0][0], "zone=djs_general");
  });

  it("merges a path that is both a route and a strict path into one location (nginx rejects duplicates)", () => {
    const { servers } = render({ apps: [{ name: "web", routes: ["/", "/admin/login/"] }] });
    const matches = locations(servers[0]).filter((l) => l.args.join(" ") === "/admin/login/");
    assert.equal(matches.length, 1);
    assert.equal(argsOf(matches[0].block, "limit_req")[0][0], "zone=djs_strict");
  });

  it("passes health and readiness paths to their app without rate limiting", () => {
    const { servers } = render(multi);
    const main = appServer(servers, "shop.example.com");
    const health = findLocation(main, ["=", "/api/orders/health/"]);
    assert.equal(proxyTarget(health), "http://orders-web");
    assert.equal(all(health?.block, "limit_req").length, 0);
    const ready = findLocation(main, ["=", "/readyz/"]);
    assert.ok(ready);
    assert.equal(all(ready.block, "limit_req").length, 0);
    const shared = findLocation(main, ["=", "/api/v1/health/"]);
    assert.equal(proxyTarget(shared), "http://auth-web", "a health path shared by several apps goes to the first declaring it");
  });

  it("serves every app's own health and readiness at /_djangostack/<app>/, passed to it as its own paths (issue 10 item 1)", () => {
    const { servers } = render(multi);
    const main = appServer(servers, "shop.example.com");
    const expected = { auth: ["/api/v1/health/", "/readyz/"], orders: ["/api/orders/health/", "/readyz/"], catalog: ["/api/v1/health/", "/readyz/"] };
    for (const [app, [health, ready]] of Object.entries(expected)) {
      const h = findLocation(main, ["=", `/_djangostack/${app}/health/`]);
      const r = findLocation(main, ["=", `/_djangostack/${app}/ready/`]);
      assert.equal(proxyTarget(h), `http://${app}-web${health}`, `${app}'s health alias`);
      assert.equal(proxyTarget(r), `http://${app}-web${ready}`, `${app}'s readiness alias`);
      assert.equal(argsOf(h?.block, "limit_req")[0]?.[0], "zone=djs_general", "monitors get the general limit");
    }
    // An app served on its own host has its alias there too, and only its own.
    const host = appServer(servers, "catalog.example.com");
    assert.equal(proxyTarget(findLocation(host, ["=", "/_djangostack/catalog/health/"])), "http://catalog-web/api/v1/health/");
    assert.equal(findLocation(host, ["=", "/_djangostack/auth/health/"]), undefined);
  });
});

/** A duration as nginx reads it ("20s", "2m", "125"), in seconds. */
function seconds(value: string): number {
  const m = /^([0-9]+)(s|m|h)?$/.exec(value);
  assert.ok(m, `not an nginx duration: ${value}`);
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(m[2] ?? "s") as "s" | "m" | "h"];
}

describe("renderNginx: keepalive behind a load balancer", () => {
  const keepalive = (http: Directive[]) => seconds(one(http, "keepalive_timeout").args[0]);

  it("keeps idle client connections open longer than the proxy keeps its idle connections to nginx", () => {
    // An idle connection the proxy still holds must not be one nginx has already closed.
    for (const idleTimeoutSeconds of [1, 30, 60, 120, 600]) {
      const { http } = render({}, (input) => (input.trustedProxy = { cidrs: ["10.110.0.0/20"], idleTimeoutSeconds }));
      assert.ok(keepalive(http) > idleTimeoutSeconds, `keepalive_timeout ${keepalive(http)}s does not outlast the proxy's ${idleTimeoutSeconds}s`);
    }
  });

  it("leaves the directly exposed variant (local, droplet) at 20s", () => {
    assert.equal(keepalive(render({}).http), 20);
    assert.equal(keepalive(render(multi).http), 20);
  });

  it("refuses a proxy idle timeout that is not a positive whole number of seconds", () => {
    for (const idleTimeoutSeconds of [0, -5, 1.5, Number.NaN]) {
      assert.throws(() => render({}, (input) => (input.trustedProxy = { cidrs: ["10.110.0.0/20"], idleTimeoutSeconds })), /trustedProxy\.idleTimeoutSeconds/);
    }
  });
});

describe("renderNginx: static and media", () => {
  it("serves /static/<app>/ from the static dir: a year immutable for hashed names, short otherwise, no access log", () => {
    const { servers, input } = render(multi);
    const main = appServer(servers, "shop.example.com");
    const stat = findLocation(main, ["/static/orders/"]);
    assert.ok(stat);
    assert.deepEqual(one(stat.block, "alias").args, [`${input.paths.staticRoot}/orders/`]);
    assert.deepEqual(one(stat.block, "access_log").args, ["off"]);
    assert.equal(all(stat.block, "limit_req").length, 0);
    const short = argsOf(stat.block, "add_header").find((a) => a[0] === "Cache-Control");
    assert.ok(short && !short[1].includes("immutable") && /max-age=\d+/.test(short[1]));
    const hashed = all(stat.block, "location")[0];
    assert.equal(hashed.args[0], "~");
    assert.deepEqual(argsOf(hashed.block, "add_header").find((a) => a[0] === "Cache-Control")?.[1], "public, max-age=31536000, immutable");
    const re = new RegExp(locationPath(hashed));
    for (const f of ["/static/orders/css/base.5af66c1b1797.css", "/static/orders/js/app.3f2a9b1c.js"]) assert.ok(re.test(f), f);
    for (const f of ["/static/orders/css/base.css", "/static/orders/js/jquery.min.js", "/static/orders/img/logo-2024.png"]) assert.ok(!re.test(f), f);
    assert.equal(locationPath(hashed), HASHED_STATIC_REGEX);
  });

  it("serves /media/<app>/ as inert files: nosniff, a sandboxing CSP, active types as attachments", () => {
    const { servers, input } = render(multi);
    const media = findLocation(appServer(servers, "shop.example.com"), ["/media/auth/"]);
    assert.ok(media);
    assert.deepEqual(one(media.block, "alias").args, [`${input.paths.mediaRoot}/auth/`]);
    assert.equal(all(media.block, "proxy_pass").length, 0);
    const headers = argsOf(media.block, "add_header");
    assert.ok(headers.some((a) => a[0] === "X-Content-Type-Options"));
    assert.equal(headers.find((a) => a[0] === "Content-Security-Policy")?.[1], "default-src 'none'; sandbox");
    assert.deepEqual(headers.find((a) => a[0] === "Content-Disposition"), ["Content-Disposition", "$djs_media_disposition", "always"]);
  });
});

describe("renderNginx: input checks", () => {
  it("refuses values that would inject directives, and missing upstream addresses", () => {
    assert.throws(() => renderNginx({ ...inputFor({ domain: "example.com" }), serverNames: ["example.com; return 200"] }), /server name/);
    assert.throws(() => render({}, (i) => (i.paths.staticRoot = "/srv/static; root /")), /staticRoot/);
    assert.throws(() => render({}, (i) => (i.addresses = {})), /addresses\["web-web"\]/);
  });

  it("re-resolves upstreams through a resolver on nginx versions that support `resolve`", () => {
    const { http } = render({}, (i) => (i.resolver = "127.0.0.11"));
    assert.deepEqual(one(http, "resolver").args.slice(0, 1), ["127.0.0.11"]);
    const up = one(http, "upstream");
    assert.deepEqual(one(up.block, "server").args, ["web-web:8000", "resolve"]);
    assert.ok(one(up.block, "zone"));
    assert.throws(() => render({}, (i) => Object.assign(i, { resolver: "127.0.0.11", nginxVersion: "1.22.1" })), /1\.27\.3/);
  });
});

describe("renderNginx: upstreams in files (upstreamsDir, the Docker cutover)", () => {
  const dir = "/etc/nginx/upstreams";

  it("includes one explicit file per upstream where the inline blocks were, and needs no addresses", () => {
    const inline = render(multi, (i) => (i.resolver = "127.0.0.11"));
    const files = render(multi, (i) => Object.assign(i, { resolver: "127.0.0.11", upstreamsDir: dir, addresses: {} }));
    assert.equal(all(files.http, "upstream").length, 0);
    const names = all(inline.http, "upstream").map((u) => u.args[0]);
    assert.deepEqual(names, ["auth-web", "orders-web", "catalog-web", "frontend"]);
    assert.deepEqual(argsOf(files.http, "include"), names.map((n) => [`${dir}/${n}.conf`]));
    // The rest of the http context is unchanged: the resolver stays for the files' `resolve`.
    const rest = (http: Directive[]): string => JSON.stringify(http.filter((d) => d.name !== "upstream" && d.name !== "include"));
    assert.equal(rest(files.http), rest(inline.http));
    assert.deepEqual(one(files.http, "resolver").args.slice(0, 1), ["127.0.0.11"]);
  });

  it("refuses an upstreamsDir that is relative, a glob, ends in / or could inject", () => {
    for (const bad of ["upstreams", "/etc/nginx/upstreams/*", "/etc/nginx/upstreams/", "/x; include /etc/passwd"]) {
      assert.throws(() => render({}, (i) => (i.upstreamsDir = bad)), /upstreamsDir/, bad);
    }
  });
});

describe("renderNginx: metrics (monitoring)", () => {
  it("denies each app's metrics path and its tree on every site, even with edge.denyPaths off", () => {
    const { servers } = render({ domain: "example.com", apps: [{ metrics: { path: "/internal/prom" } }], edge: { denyPaths: [] } });
    const sites = servers.filter((x) => serverNames(x).includes("example.com"));
    assert.ok(sites.length > 0);
    for (const server of sites) {
      assert.deepEqual(argsOf(findLocation(server, ["=", "/internal/prom"])?.block, "return"), [["404"]]);
      assert.deepEqual(argsOf(findLocation(server, ["/internal/prom/"])?.block, "return"), [["404"]]);
      assert.equal(findLocation(server, ["=", "/metrics"]), undefined, "denyPaths: [] is honoured for the rest");
    }
  });

  it("serves stub_status on its own listener to loopback and private networks only, when the exporters run", () => {
    const { status } = render({ domain: "example.com" });
    assert.equal(status.length, 1);
    assert.deepEqual(listens(status[0]), [[String(NGINX_STATUS.port)]]);
    const loc = findLocation(status[0], ["=", NGINX_STATUS.path]);
    assert.ok(loc && all(loc.block, "stub_status").length === 1);
    assert.deepEqual(argsOf(loc.block, "allow"), [["127.0.0.1"], ["10.0.0.0/8"], ["172.16.0.0/12"], ["192.168.0.0/16"]]);
    assert.deepEqual(argsOf(loc.block, "deny"), [["all"]]);
    assert.deepEqual(argsOf(findLocation(status[0], ["/"])?.block, "return"), [["404"]]);
    assert.deepEqual(render({ domain: "example.com", monitoring: { exporters: false } }).status, [], "no exporter, no listener");
  });
});

describe("renderUpstreamBlock", () => {
  it("is the text renderNginx renders inline, with and without a resolver", () => {
    for (const resolver of [undefined, "127.0.0.11"]) {
      const { text, input } = render(multi, (i) => (i.resolver = resolver));
      for (const [name, address] of Object.entries(input.addresses)) {
        const blockText = renderUpstreamBlock(name, [address], { resolve: resolver !== undefined });
        const indented = blockText.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
        assert.ok(text.includes(`\n${indented}\n`), `${name} (resolver ${resolver}) inline differs from renderUpstreamBlock:\n${blockText}`);
      }
    }
  });

  it("lists one server per replica, each re-resolved with a zone when asked", () => {
    const up = one(parse(renderUpstreamBlock("web-web", ["c1:8000", "c2:8000"], { resolve: true })), "upstream");
    assert.deepEqual(up.args, ["web-web"]);
    assert.deepEqual(argsOf(up.block, "server"), [["c1:8000", "resolve"], ["c2:8000", "resolve"]]);
    assert.deepEqual(one(up.block, "zone").args, ["upstream_web-web", "64k"]);
    assert.ok(Number(one(up.block, "keepalive").args[0]) > 0);
    const plain = one(parse(renderUpstreamBlock("web-web", ["c1:8000"], { resolve: false })), "upstream");
    assert.deepEqual(argsOf(plain.block, "server"), [["c1:8000"]]);
    assert.equal(all(plain.block, "zone").length, 0);
  });

  it("refuses empty, duplicate or injecting servers and bad names", () => {
    assert.throws(() => renderUpstreamBlock("web-web", [], { resolve: false }), /at least one/);
    assert.throws(() => renderUpstreamBlock("web-web", ["a:1", "a:1"], { resolve: false }), /duplicates/);
    assert.throws(() => renderUpstreamBlock("web-web", ["a:1; server evil:80"], { resolve: false }), /server of upstream/);
    assert.throws(() => renderUpstreamBlock("web-web", ["a"], { resolve: false }), /server of upstream/);
    assert.throws(() => renderUpstreamBlock("web web", ["a:1"], { resolve: false }), /upstream name/);
  });
});

// ------------------------------------------------------------------------------------------
// The real binary: `nginx -t` on rendered files pointed at temp dirs.


describe("renderNginx: accepted by a real nginx", () => {
  const nginx = "/usr/sbin/nginx";

  /** `nginx -t` on the rendering of `raw` with its paths in a temp dir; `prepare` may adjust the input and add files. */
  function nginxCheck(raw: Raw, label: string, prepare: (input: NginxInput, dir: string) => void = () => undefined): { status: number | null; out: string } {
    requireBinary(nginx, "nginx-light");
    const version = /nginx\/(\d+\.\d+\.\d+)/.exec(spawnSync(nginx, ["-v"], { encoding: "utf8" }).stderr)?.[1];
    assert.ok(version, "nginx -v prints its version");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `djs-render-nginx-${label}-`));
    try {
      for (const d of ["static/web", "media/web", "acme", "tmp", "logs"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
      const cert = path.join(dir, "cert.pem");
      const key = path.join(dir, "key.pem");
      execFileSync(requireBinary("/usr/bin/openssl", "openssl"), ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=example.com"], { stdio: "pipe" });
      const input = inputFor(raw);
      input.nginxVersion = version;
      input.listen = { address: "127.0.0.1", http: 18080, https: 18443 };
      input.addresses = Object.fromEntries(Object.keys(input.addresses).map((k, i) => [k, `127.0.0.1:${19000 + i}`]));
      input.paths = {
        staticRoot: path.join(dir, "static"),
        mediaRoot: path.join(dir, "media"),
        tlsCertificate: cert,
        tlsKey: key,
        acmeWebroot: path.join(dir, "acme"),
        pidFile: path.join(dir, "tmp", "nginx.pid"),
        tempDir: path.join(dir, "tmp"),
        accessLog: path.join(dir, "logs", "access.log"),
        errorLog: "stderr",
      };
      prepare(input, dir);
      const file = path.join(dir, "nginx.conf");
      fs.writeFileSync(file, renderNginx(input));
      const r = spawnSync(nginx, ["-t", "-p", `${dir}/`, "-c", file, "-e", "stderr"], { encoding: "utf8" });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  function nginxTest(raw: Raw, label: string, prepare?: (input: NginxInput, dir: string) => void): void {
    const { status, out } = nginxCheck(raw, label, prepare);
    assert.equal(status, 0, `nginx -t rejected ${label}:\n${out}`);
    assert.match(out, /test is successful/);
    assert.ok(!/\[(warn|emerg|alert)\]/.test(out), `nginx -t warned on ${label}:\n${out}`);
  }

  it("accepts the local default (no domain, no TLS)", () => nginxTest({}, "local"));
  it("accepts a domain without TLS", () => nginxTest({ domain: "example.com" }, "plain"));
  it("accepts several apps, a frontend, app hosts and TLS", () => nginxTest(multi, "tls"));

  /** Include mode with one file per upstream written by renderUpstreamBlock, except those in `missing`. */
  const withUpstreamFiles = (missing: string[]) => (input: NginxInput, dir: string): void => {
    input.upstreamsDir = path.join(dir, "upstreams");
    fs.mkdirSync(input.upstreamsDir);
    Object.keys(input.addresses).forEach((name, i) => {
      if (!missing.includes(name)) fs.writeFileSync(path.join(dir, "upstreams", `${name}.conf`), renderUpstreamBlock(name, [`127.0.0.1:${19100 + i}`, `127.0.0.2:${19100 + i}`], { resolve: false }));
    });
  };

  it("accepts include mode with every upstream file present", () => nginxTest(multi, "include", withUpstreamFiles([])));

  it("rejects include mode when one upstream file is missing, naming it", () => {
    const { status, out } = nginxCheck(multi, "include-missing", withUpstreamFiles(["orders-web"]));
    assert.notEqual(status, 0, "nginx accepted a config whose upstream file is missing");
    assert.match(out, /open\(\) ".*\/upstreams\/orders-web\.conf" failed \(2: No such file or directory\)/);
  });
});
