/**
 * Issue 10 item 2: where an app's static files and uploads are served and where its container holds
 * them, so a project whose settings hardcode STATIC_URL = "/static/" and STATIC_ROOT =
 * "/app/staticfiles" deploys as it is.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { nginxInputFor, renderNginx } from "../../src/render/nginx";
import { Evaluation, evaluateStack } from "../../src/offline/render";
import { id, refuses } from "./config-helpers";

const apps = (...list: Raw[]): Raw => ({ apps: list });
const parse = (raw: Raw) => parseConfig(raw, id);

describe("apps[].static and apps[].media", () => {
  it("a sole app is served at /static/ and /media/; several apps, or one beside a frontend, each under its name", () => {
    assert.deepEqual(parse(apps({ name: "a" })).apps.map((a) => [a.static.url, a.media.url]), [["/static/", "/media/"]]);
    assert.deepEqual(parse(apps({ name: "a" }, { name: "b", routes: ["/b/"] })).apps.map((a) => [a.static.url, a.media.url]), [["/static/a/", "/media/a/"], ["/static/b/", "/media/b/"]]);
    const withFrontend = parse({ ...apps({ name: "a", routes: ["/api/"] }), frontend: { image: "nginx:1.27", route: "/" } });
    assert.equal(withFrontend.apps[0].static.url, "/static/a/", "a frontend's own /static/ assets keep their path");
  });

  it("hands the app its URLs and roots, and mounts the volumes where its settings write", () => {
    const m = buildModel(parse(apps({ name: "a", static: { root: "/code/collected" }, media: { url: "/media/uploads/", root: "/code/media" } })));
    const web = m.processes.find((p) => p.name === "a-web");
    assert.deepEqual([web?.env.DJANGO_STATIC_URL, web?.env.DJANGO_STATIC_ROOT, web?.env.DJANGO_MEDIA_URL, web?.env.DJANGO_MEDIA_ROOT], ["/static/", "/code/collected", "/media/uploads/", "/code/media"]);
    assert.equal(web?.volumes.find((v) => v.kind === "media")?.mountPath, "/code/media");
    // collectstatic in the release one-off writes into the static volume even with STATIC_ROOT hardcoded.
    const release = m.processes.find((p) => p.name === "a-migrate");
    assert.equal(release?.volumes.find((v) => v.kind === "static")?.mountPath, "/code/collected");
    assert.equal(release?.env.DJANGO_STATIC_ROOT, "/code/collected");
  });

  it("nginx serves each app's files at its URL from that app's volume", () => {
    const c = parse(apps({ name: "a", media: { url: "/media/uploads/" } }));
    const conf = renderNginx(nginxInputFor(buildModel(c), c.edge, c.domain));
    assert.match(conf, /location \/static\/ \{\n\s+alias \/srv\/static\/a\/;/);
    assert.match(conf, /location \/media\/uploads\/ \{\n\s+alias \/srv\/media\/a\/;/);
  });

  refuses([
    ["a static URL outside /static/", apps({ name: "a", static: { url: "/assets/" } }), "djangostack:apps[0].static.url", "must be /static/ or a path under it"],
    ["a media URL outside /media/", apps({ name: "a", media: { url: "/uploads/" } }), "djangostack:apps[0].media.url", "must be /media/ or a path under it"],
    ["two apps at /static/", apps({ name: "a", static: { url: "/static/" } }, { name: "b", routes: ["/b/"], static: { url: "/static/" } }), "djangostack:apps[1].static.url", "overlaps apps[0].static.url"],
    ["one app's static inside another's", apps({ name: "a", static: { url: "/static/" } }, { name: "b", routes: ["/b/"] }), "djangostack:apps[1].static.url", "none inside another's"],
    ["a relative root", apps({ name: "a", static: { root: "staticfiles" } }), "djangostack:apps[0].static.root", "absolute directory"],
    ["a system directory as root", apps({ name: "a", media: { root: "/etc" } }), "djangostack:apps[0].media.root", "not a system directory"],
    ["a dot-dot root", apps({ name: "a", media: { root: "/app/../etc" } }), "djangostack:apps[0].media.root", "no . or .. segments"],
    ["an unknown way to collect", apps({ name: "a", static: { collect: "never" } }), "djangostack:apps[0].static.collect", '"release", "build"'],
    ["collecting at release on Kubernetes", { target: "kubernetes", domain: "example.com", ...apps({ name: "a", static: { collect: "release" } }) }, "djangostack:apps[0].static.collect", "run collectstatic in the Dockerfile"],
    ["collect on media", apps({ name: "a", media: { collect: "build" } }), "djangostack:apps[0].media.collect", "unknown key"],
  ]);
});

describe("apps[].static.collect: at release or at build", () => {
  const release = (raw: Raw) => buildModel(parse(raw)).processes.find((p) => p.role === "migrate");

  it("Docker collects at release by default, into the static volume at STATIC_ROOT (the sample app's render is unchanged)", () => {
    const r = release(apps({ name: "a" }));
    assert.deepEqual(r?.command, ["sh", "-c", "python manage.py migrate --noinput && python manage.py collectstatic --noinput"]);
    assert.deepEqual(r?.volumes.map((v) => [v.kind, v.mountPath]), [["static", "/app/staticfiles"], ["scratch", "/tmp"]]);
  });

  it("build: the release copies what the image collected at STATIC_ROOT into the volume mounted apart from it, and runs no collectstatic", () => {
    const r = release(apps({ name: "a", static: { collect: "build", root: "/code/static" } }));
    const script = r?.command[2] ?? "";
    assert.ok(!script.includes("collectstatic"), script);
    assert.match(script, /^python manage\.py migrate --noinput && 'python' '-c' 'import shutil, sys; shutil\.copytree\(sys\.argv\[1\], sys\.argv\[2\], dirs_exist_ok=True\)' '\/code\/static' '\/srv\/djangostack-static'$/);
    assert.deepEqual(r?.volumes.map((v) => [v.kind, v.mountPath]), [["static", "/srv/djangostack-static"], ["scratch", "/tmp"]]);
  });

  it("Kubernetes collects at build: the release Job has no static step (the edge copies from the image)", () => {
    const c = parse({ target: "kubernetes", domain: "example.com", ...apps({ name: "a" }) });
    assert.equal(c.apps[0].static.collect, "build");
    const r = buildModel(c).processes.find((p) => p.role === "migrate");
    assert.deepEqual(r?.command, ["sh", "-c", "python manage.py migrate --noinput"]);
    assert.equal(r?.volumes.some((v) => v.kind === "static"), false);
  });
});

describe("volume ownership for apps[].user on Docker", () => {
  it("a root one-off with only CHOWN and DAC_READ_SEARCH hands both volumes to the uid before the release", () => {
    const m = buildModel(parse(apps({ name: "a", user: "1000:2000" })));
    const chown = m.processes.find((p) => p.role === "chown");
    assert.equal(chown?.name, "a-chown");
    assert.deepEqual([chown?.user, chown?.capabilities], ["0:0", ["CHOWN", "DAC_READ_SEARCH"]]);
    assert.deepEqual(chown?.command.slice(-4), ["1000", "2000", "/srv/djangostack-volumes/static", "/srv/djangostack-volumes/media"]);
    assert.deepEqual(chown?.volumes.map((v) => v.volume), ["static-a", "media-a"]);
    assert.deepEqual(chown?.runOnceBefore, ["a-migrate"]);
  });

  it("none without apps[].user (the image's user owns what Docker copies up) and none on Kubernetes (fsGroup)", () => {
    assert.equal(buildModel(parse(apps({ name: "a" }))).processes.some((p) => p.role === "chown"), false);
    assert.equal(buildModel(parse({ target: "kubernetes", domain: "example.com", ...apps({ name: "a", user: "1000:1000" }) })).processes.some((p) => p.role === "chown"), false);
  });

  it("runs before the release one-off without a migration too: the static step writes into the volume it hands over", () => {
    const m = buildModel(parse(apps({ name: "a", user: "1000:1000", migrate: false })));
    assert.deepEqual(m.processes.find((p) => p.role === "chown")?.runOnceBefore, ["a-migrate"]);
  });
});

describe("volume ownership on the local stack (offline engine)", () => {
  let local: Evaluation;
  before(async () => {
    local = await evaluateStack({ stack: "local", extraConfig: { "djangostack:apps": [{ name: "shop", build: "./app", routes: ["/"], user: "1000:1000" }] } });
  });

  it("the one-off container runs as root with ALL dropped but CHOWN and DAC_READ_SEARCH, and the release waits for its run", () => {
    const chown = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-chown"));
    assert.ok(chown, "no chown container");
    assert.deepEqual([chown.inputs.user, chown.inputs.capabilities, chown.inputs.start], ["0:0", { drops: ["ALL"], adds: ["CHOWN", "DAC_READ_SEARCH"] }, false]);
    assert.deepEqual(chown.inputs.securityOpts, ["no-new-privileges:true"]);
    const run = local.engine.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-shop-chown-run"));
    const migrate = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-migrate"));
    assert.ok(run && migrate?.options.dependsOn.includes(run.name), migrate?.options.dependsOn.join(", "));
    const web = local.engine.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-shop-web"));
    assert.deepEqual(web?.inputs.capabilities, { drops: ["ALL"] }, "no other container gets a capability");
  });
});
