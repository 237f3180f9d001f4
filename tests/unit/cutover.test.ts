/**
 * The health-gated cutover script (src/render/cutover.ts): its text, its input checks, and every branch
 * run by dash against the fake `docker` of the integration harness with a stand-in `nginx` (a script
 * whose exit code the test picks). tests/integration/docker-cutover.test.ts runs it with a real nginx.
 */
import { after, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CutoverInput, renderCutoverScript } from "../../src/render/cutover";
import { renderUpstreamBlock } from "../../src/render/nginx";
import { FakeDocker, installFakeDocker } from "../integration/harness/fakedocker";

const base: CutoverInput = {
  upstream: "web-web",
  containers: ["djs-web-web-2f3a-1", "djs-web-web-2f3a-2"],
  port: 8000,
  volume: "djs-nginx-upstreams",
  nginxContainer: "djs-nginx",
  image: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  upstreamOptions: { resolve: true },
};

const root = fs.mkdtempSync(path.join(os.tmpdir(), "djs-cutover-unit-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A stand-in for `nginx` inside the nginx container: records its arguments, fails `-t` on demand. */
const NGINX_EXEC = (marks: string): string =>
  `[ "$1" = nginx ] || exit 127; shift; echo "$*" >> ${marks}/nginx.log; if [ "$1" = -t ] && [ -f ${marks}/reject ]; then echo 'nginx: [emerg] host not found in upstream' >&2; exit 1; fi; exit 0\n`;

let docker: FakeDocker;
let marks: string;
let n = 0;

beforeEach(() => {
  const dir = path.join(root, String(n++));
  docker = installFakeDocker(dir);
  marks = path.join(dir, "marks");
  fs.mkdirSync(marks);
  docker.addImage(base.image);
  for (const c of base.containers) docker.setContainer(c, { health: "healthy", running: true });
  docker.setContainer(base.nginxContainer, { running: true, exec: NGINX_EXEC(marks) });
});

function cutover(input: CutoverInput = base): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("/bin/sh", ["-c", renderCutoverScript(input)], { env: docker.env(), encoding: "utf8", timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const upstreamFile = (): string => path.join(docker.volumeDir(base.volume), `${base.upstream}.conf`);
const prevFile = (): string => path.join(docker.volumeDir(base.volume), `.${base.upstream}.conf.prev`);
const read = (file: string): string | undefined => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined);
const nginxCalls = (): string[] => (read(path.join(marks, "nginx.log")) ?? "").split("\n").filter((l) => l !== "");
const subcommands = (): string[] => docker.calls().map((c) => c[0]);
const OLD = "# the running release's file\n";

describe("renderCutoverScript: the script", () => {
  it("is valid POSIX sh (dash -n) and names every container, the volume, nginx and the image quoted", () => {
    const script = renderCutoverScript(base);
    const r = spawnSync("/bin/dash", ["-n"], { input: script, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    for (const c of base.containers) assert.ok(script.includes(`'${c}'`), c);
    assert.ok(script.includes(`-v '${base.volume}:/upstreams' '${base.image}'`));
    assert.ok(script.includes(`docker exec '${base.nginxContainer}' nginx -t`));
    assert.ok(script.includes(`docker exec '${base.nginxContainer}' nginx -s reload`));
  });

  it("writes exactly renderUpstreamBlock's text for <container>:<port>, after a comment line", () => {
    assert.equal(cutover().code, 0);
    const block = renderUpstreamBlock(base.upstream, base.containers.map((c) => `${c}:${base.port}`), base.upstreamOptions);
    assert.equal(read(upstreamFile()), `# Upstream web-web: written by the deploy's health-gated cutover; do not edit.\n${block}`);
    assert.match(block, /^upstream web-web \{\n {4}zone upstream_web-web 64k;\n {4}server djs-web-web-2f3a-1:8000 resolve;\n {4}server djs-web-web-2f3a-2:8000 resolve;\n/);
  });

  it("refuses names Docker would refuse, and anything that could leave the quotes", () => {
    const bad: [Partial<CutoverInput>, RegExp][] = [
      [{ upstream: "web web" }, /upstream/],
      [{ upstream: "../etc" }, /upstream/],
      [{ containers: [] }, /at least one/],
      [{ containers: ["a", "a"] }, /duplicates/],
      [{ containers: ["-rm"] }, /container name/],
      [{ containers: ["x'; rm -rf /; '"] }, /container name/],
      [{ containers: ["a$(id)"] }, /container name/],
      [{ port: 0 }, /port/],
      [{ port: 8000.5 }, /port/],
      [{ volume: "vol:/etc" }, /volume name/],
      [{ nginxContainer: "nginx;reboot" }, /nginx container name/],
      [{ image: "nginx latest" }, /image/],
      [{ image: "" }, /image/],
    ];
    for (const [patch, message] of bad) {
      assert.throws(() => renderCutoverScript({ ...base, ...patch }), (e: unknown) => e instanceof Error && /^renderCutoverScript: invalid/.test(e.message) && message.test(e.message), JSON.stringify(patch));
    }
    // Docker allows dots and underscores; nginx connects to them by name.
    assert.doesNotThrow(() => renderCutoverScript({ ...base, containers: ["proj_web.1", "127.0.0.2"] }));
  });
});

describe("renderCutoverScript: run against the fake docker", () => {
  it("switches when every container is healthy: writes, keeps the previous file, tests, then reloads", () => {
    fs.writeFileSync(upstreamFile(), OLD);
    const r = cutover();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nginx reloaded; it routes to djs-web-web-2f3a-1:8000 djs-web-web-2f3a-2:8000/);
    assert.equal(read(prevFile()), OLD);
    assert.match(read(upstreamFile()) ?? "", /server djs-web-web-2f3a-1:8000 resolve;/);
    assert.deepEqual(nginxCalls(), ["-t", "-s reload"]);
    assert.deepEqual(subcommands(), ["inspect", "inspect", "inspect", "run", "exec", "exec"]);
    assert.equal(fs.readdirSync(docker.volumeDir(base.volume)).filter((f) => f.endsWith(".tmp")).length, 0, "no temp file left");
  });

  for (const health of ["starting", "unhealthy", undefined]) {
    it(`refuses a container that is ${health ?? "without a health check"}: nothing written, nginx untouched`, () => {
      fs.writeFileSync(upstreamFile(), OLD);
      docker.setContainer(base.containers[1], { health, running: true });
      const r = cutover();
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), `cutover web-web: container djs-web-web-2f3a-2 is ${health ?? "without a health check"}, not healthy; nginx is not switched and the running release keeps serving`);
      assert.equal(read(upstreamFile()), OLD);
      assert.deepEqual(nginxCalls(), []);
      assert.ok(!subcommands().includes("run") && !subcommands().includes("exec"));
    });
  }

  it('gate "running" (an app without probes): switches to running containers without a health check, refuses a stopped one', () => {
    for (const c of base.containers) docker.setContainer(c, { health: undefined, running: true });
    const ok = cutover({ ...base, gate: "running" });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(read(upstreamFile()) ?? "", /server djs-web-web-2f3a-2:8000 resolve;/);
    fs.writeFileSync(upstreamFile(), OLD);
    docker.setContainer(base.containers[1], { health: undefined, running: false });
    const refused = cutover({ ...base, gate: "running" });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim(), "cutover web-web: container djs-web-web-2f3a-2 is not running; nginx is not switched and the running release keeps serving");
    assert.equal(read(upstreamFile()), OLD);
  });

  it("refuses a container that does not exist", () => {
    docker.setContainer(base.containers[0], undefined);
    const r = cutover();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot inspect container djs-web-web-2f3a-1; nginx is not switched and the running release keeps serving/);
    assert.equal(read(upstreamFile()), undefined);
  });

  it("first deploy: nginx does not exist yet, so the file is only written", () => {
    docker.setContainer(base.nginxContainer, undefined);
    const r = cutover();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /upstream file written; nginx container djs-nginx is not running \(absent\) and loads it when it starts/);
    assert.match(read(upstreamFile()) ?? "", /^upstream web-web \{$/m);
    assert.ok(!subcommands().includes("exec"));
  });

  it("an nginx state it cannot read aborts before writing: no silent write without reload", () => {
    docker.setContainer(base.nginxContainer, { running: true, exec: NGINX_EXEC(marks) });
    fs.writeFileSync(path.join(docker.state, "containers", base.nginxContainer, "running"), "WARNING: something\ntrue");
    const r = cutover();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unexpected state of nginx container djs-nginx: WARNING: something/);
    assert.equal(read(upstreamFile()), undefined);
    assert.ok(!subcommands().includes("run"));
  });

  it("a stopped nginx gets the file and no exec", () => {
    docker.setContainer(base.nginxContainer, { running: false, exec: NGINX_EXEC(marks) });
    const r = cutover();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /not running \(false\)/);
    assert.deepEqual(nginxCalls(), []);
  });

  it("nginx -t rejecting the new file restores the previous one and does not reload", () => {
    fs.writeFileSync(upstreamFile(), OLD);
    fs.writeFileSync(path.join(marks, "reject"), "");
    const r = cutover();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nginx -t rejected the new upstream file, the previous one is restored; nginx is not switched and the running release keeps serving: nginx: \[emerg\] host not found/);
    assert.equal(read(upstreamFile()), OLD);
    assert.deepEqual(nginxCalls(), ["-t"]);
  });

  it("nginx -t rejecting the very first file removes it again", () => {
    fs.writeFileSync(path.join(marks, "reject"), "");
    assert.equal(cutover().code, 1);
    assert.equal(read(upstreamFile()), undefined);
  });

  it("an image the engine does not have fails before anything is written", () => {
    const r = cutover({ ...base, image: "nginxinc/nginx-unprivileged:1.27-alpine" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not write the upstream file into volume djs-nginx-upstreams; nginx is not switched/);
    assert.equal(read(upstreamFile()), undefined);
    assert.deepEqual(nginxCalls(), []);
  });
});
