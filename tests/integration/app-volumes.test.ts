/**
 * The Docker targets' static and media volumes for real (issue 10 item 2): the volume-ownership
 * one-off's command (apps[].user) run as root on a tree a root-owned image left behind, and the
 * release's copy of the image's collected files (static.collect: build), each with the model's own
 * command line and the container paths moved under a temp dir.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig } from "../../src/config/schema";
import { PATHS, buildModel } from "../../src/model/build";
import { pythonEnv } from "./harness/django";
import { run, tempDir, useHarness } from "./harness/process";

useHarness();

const id = { project: "djangostack", stack: "test" };
const modelOf = (app: Record<string, unknown>) => buildModel(parseConfig({ apps: [{ name: "a", ...app }] }, id));
const moved = (command: string[], from: string, to: string): string[] => command.map((a) => a.split(from).join(to));
const owner = (p: string): string => {
  const st = fs.lstatSync(p);
  return `${st.uid}:${st.gid}`;
};

test("the ownership one-off hands every entry of both volumes to the app's uid, re-owns symlinks without following them, and changes nothing the second time", async () => {
  const root = tempDir("volumes");
  const outside = path.join(root, "outside");
  fs.writeFileSync(outside, "not the app's");
  for (const tree of ["static", "media"]) fs.mkdirSync(path.join(root, tree, "sub", "deeper"), { recursive: true });
  fs.writeFileSync(path.join(root, "static", "sub", "app.css"), "body{}");
  fs.writeFileSync(path.join(root, "media", "sub", "deeper", "upload.png"), "png");
  fs.chmodSync(path.join(root, "media", "sub", "deeper"), 0o700);
  fs.symlinkSync(outside, path.join(root, "media", "link"));
  const chown = modelOf({ user: "1000:2000" }).processes.find((p) => p.role === "chown");
  assert.ok(chown);
  const [file, ...args] = moved(chown.command, PATHS.ownershipRoot, root);
  const env = pythonEnv({}, root);
  const first = await run(file, args, { env });
  assert.match(first.stdout, /djangostack: 9 entries handed to 1000:2000/);
  for (const p of ["static", "static/sub", "static/sub/deeper", "static/sub/app.css", "media", "media/sub", "media/sub/deeper", "media/sub/deeper/upload.png", "media/link"]) assert.equal(owner(path.join(root, p)), "1000:2000", p);
  assert.equal(owner(outside), "0:0", "the symlink's target outside the volume is untouched");
  assert.match((await run(file, args, { env })).stdout, /djangostack: 0 entries handed/);
});

test("static.collect: build — the release copies the image's STATIC_ROOT into the volume, old hashed files kept", async () => {
  const root = tempDir("collect-build");
  const image = path.join(root, "image-static");
  const volume = path.join(root, "volume");
  fs.mkdirSync(path.join(image, "css"), { recursive: true });
  fs.writeFileSync(path.join(image, "css", "site.abc123.css"), "new");
  fs.mkdirSync(path.join(volume, "css"), { recursive: true });
  fs.writeFileSync(path.join(volume, "css", "site.0ld000.css"), "old release");
  const release = modelOf({ static: { collect: "build", root: "/code/static" }, migrate: true }).processes.find((p) => p.role === "migrate");
  assert.ok(release);
  // Only the static step: the migration needs a database and is proven elsewhere.
  const step = release.command[2].split(" && ").find((s) => s.includes("copytree"));
  assert.ok(step, release.command[2]);
  const script = moved(moved([step], "/code/static", image), PATHS.staticVolume, volume)[0];
  await run("sh", ["-c", script], { env: pythonEnv({}, root) });
  assert.equal(fs.readFileSync(path.join(volume, "css", "site.abc123.css"), "utf8"), "new");
  assert.equal(fs.readFileSync(path.join(volume, "css", "site.0ld000.css"), "utf8"), "old release", "pages still cached with the old release's names keep their files");
  fs.rmSync(image, { recursive: true });
  assert.notEqual((await run("sh", ["-c", script], { env: pythonEnv({}, root), check: false })).code, 0, "an image without its collected files fails the release");
});
