/**
 * Issue 10 item 2: where an app's static files and uploads are served and where its container holds
 * them, so a project whose settings hardcode STATIC_URL = "/static/" and STATIC_ROOT =
 * "/app/staticfiles" deploys as it is.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { buildModel } from "../../src/model/build";
import { nginxInputFor, renderNginx } from "../../src/render/nginx";
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
  ]);
});
