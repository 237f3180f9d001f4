/**
 * The Droplet's container-status checker (src/render/host-status.ts), run with sh against a fake
 * `docker` that answers `ps` and `inspect` as the engine does: the status file is there only while
 * every long-lived container of the stack runs and none is unhealthy, restarting or restarted.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HOST_STATUS, renderHostStatusInstall, renderHostStatusScript } from "../../src/render/host-status";

const TOKEN = "a".repeat(20) + "B1".repeat(10);

interface Host {
  run(containers: string[], opts?: { dockerFails?: boolean }): { code: number; stdout: string; present: boolean; dockerArgs: string[] };
}

function withHost(fn: (host: Host) => void): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "djs-host-status-"));
  try {
    const paths = { hostDir: path.join(root, "status"), tokenFile: path.join(root, "token"), restartsFile: path.join(root, "restarts") };
    fs.mkdirSync(paths.hostDir);
    fs.writeFileSync(paths.tokenFile, `${TOKEN}\n`);
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin);
    // `ps -aq` prints the ids, `inspect --format ...` one line per container, as the engine's template would.
    fs.writeFileSync(
      path.join(bin, "docker"),
      `#!/bin/sh\necho "$*" >> ${root}/docker-args\n[ -f ${root}/fail ] && exit 1\ncase "$1" in\n  ps) cut -d' ' -f1 ${root}/containers ;;\n  inspect) cat ${root}/containers ;;\nesac\n`,
      { mode: 0o755 },
    );
    const script = path.join(root, "container-status");
    fs.writeFileSync(script, renderHostStatusScript("staging", paths), { mode: 0o755 });
    fn({
      run(containers, opts = {}) {
        fs.writeFileSync(path.join(root, "containers"), containers.map((c) => `${c}\n`).join(""));
        if (opts.dockerFails) fs.writeFileSync(path.join(root, "fail"), "");
        else fs.rmSync(path.join(root, "fail"), { force: true });
        fs.rmSync(path.join(root, "docker-args"), { force: true });
        const r = spawnSync("sh", [script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
        const file = path.join(paths.hostDir, TOKEN);
        return { code: r.status ?? -1, stdout: r.stdout + r.stderr, present: fs.existsSync(file), dockerArgs: fs.readFileSync(path.join(root, "docker-args"), "utf8").trim().split("\n") };
      },
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

// id name state restart-policy health restart-count
const WEB = "c1 /djangostack-staging-web-1 running unless-stopped healthy 0";
const NGINX = "c2 /djangostack-staging-nginx running unless-stopped healthy 0";
const MIGRATE = "c3 /djangostack-staging-web-migrate exited no none 0";
const REDIS = "c4 /djangostack-staging-redis running unless-stopped none 0";

describe("container status on the Droplet host", () => {
  it("all long-lived containers running and healthy, one-offs exited: the status file is served", () => {
    withHost((host) => {
      const r = host.run([WEB, NGINX, MIGRATE, REDIS]);
      assert.deepEqual([r.code, r.present], [0, true], r.stdout);
      assert.equal(r.dockerArgs[0], "ps -aq --filter label=djangostack.stack=staging", "only this stack's containers");
      assert.match(r.dockerArgs[1], /^inspect --format .* c1 c2 c3 c4$/);
    });
  });

  for (const [what, line, reason] of [
    ["an unhealthy container", "c5 /djangostack-staging-backup running unless-stopped unhealthy 0", "djangostack-staging-backup: unhealthy"],
    ["a restarting container", "c5 /djangostack-staging-worker restarting unless-stopped none 3", "djangostack-staging-worker: restarting"],
    ["a stopped long-lived container", "c5 /djangostack-staging-beat exited unless-stopped none 0", "djangostack-staging-beat: exited"],
  ] as const) {
    it(`${what}: the file goes (nginx answers 404, the check is down) and the journal names it`, () => {
      withHost((host) => {
        assert.equal(host.run([WEB, NGINX]).present, true);
        const r = host.run([WEB, NGINX, line]);
        assert.deepEqual([r.code, r.present], [1, false]);
        assert.ok(r.stdout.includes(reason), r.stdout);
        assert.equal(host.run([WEB, NGINX, line.replace(/ (unhealthy|restarting|exited) /, (m) => (m === " unhealthy " ? " healthy " : " running "))]).present, true, "recovered: served again");
      });
    });
  }

  it("a container that restarted since the last run is reported once (a crash loop between two runs)", () => {
    withHost((host) => {
      assert.equal(host.run([WEB, NGINX]).present, true);
      const restarted = host.run([WEB.replace(/ 0$/, " 2"), NGINX]);
      assert.deepEqual([restarted.code, restarted.present], [1, false]);
      assert.match(restarted.stdout, /djangostack-staging-web-1: restarted \(0 -> 2\)/);
      assert.equal(host.run([WEB.replace(/ 0$/, " 2"), NGINX]).present, true, "no further restart: up again");
    });
  });

  it("docker failing or no container of the stack: down, never a stale ok", () => {
    withHost((host) => {
      assert.equal(host.run([WEB]).present, true);
      assert.deepEqual([host.run([WEB], { dockerFails: true }).present], [false]);
      assert.equal(host.run([WEB]).present, true);
      const none = host.run([]);
      assert.deepEqual([none.code, none.present], [1, false]);
      assert.match(none.stdout, /no container of stack staging/);
    });
  });

  it("runs as the deploy user in the install's layout: root-owned parent, the status dir and the restart record the user's own", { skip: process.getuid?.() !== 0 ? "needs root to hand files to another user" : false }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "djs-host-layout-"));
    try {
      // As the install leaves it: /var/lib/djangostack root's 0755; status/ and status-restarts the deploy user's; the token 0600.
      const user = { uid: 65534, gid: 65534 };
      fs.chmodSync(root, 0o755);
      const paths = { hostDir: path.join(root, "status"), tokenFile: path.join(root, "token"), restartsFile: path.join(root, "status-restarts") };
      fs.mkdirSync(paths.hostDir, { mode: 0o755 });
      fs.chownSync(paths.hostDir, user.uid, user.gid);
      fs.writeFileSync(paths.tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      fs.writeFileSync(paths.restartsFile, "");
      for (const f of [paths.tokenFile, paths.restartsFile]) fs.chownSync(f, user.uid, user.gid);
      const bin = path.join(root, "bin");
      fs.mkdirSync(bin, { mode: 0o755 });
      const containers = path.join(root, "containers");
      fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\ncase "$1" in\n  ps) cut -d' ' -f1 ${containers} ;;\n  inspect) cat ${containers} ;;\nesac\n`, { mode: 0o755 });
      const script = path.join(root, "container-status");
      fs.writeFileSync(script, renderHostStatusScript("staging", paths), { mode: 0o755 });
      const run = (lines: string[]) => {
        fs.writeFileSync(containers, lines.map((l) => `${l}\n`).join(""), { mode: 0o644 });
        const r = spawnSync("sh", [script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` }, ...user });
        return { code: r.status, out: r.stdout + r.stderr, present: fs.existsSync(path.join(paths.hostDir, TOKEN)) };
      };
      const first = run([WEB]);
      assert.deepEqual([first.code, first.present], [0, true], first.out);
      assert.equal((fs.statSync(path.join(paths.hostDir, TOKEN)).mode & 0o777).toString(8), "644", "nginx (another uid) can read it");
      const restarted = run([WEB.replace(/ 0$/, " 1")]);
      assert.deepEqual([restarted.code, restarted.present], [1, false], `the restart record must be writable in place: ${restarted.out}`);
      assert.equal(restarted.out.includes("Permission denied"), false, restarted.out);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("the install writes the token 0600 for the deploy user and refuses a bad token or user", () => {
    const text = renderHostStatusInstall("staging", "deploy", TOKEN);
    assert.match(text, new RegExp(`chown deploy:deploy ${HOST_STATUS.tokenFile}\\nchmod 0600 ${HOST_STATUS.tokenFile}`));
    assert.match(text, /^User=deploy$/m);
    assert.match(text, /^OnUnitActiveSec=60s$/m);
    assert.ok(text.includes(renderHostStatusScript("staging")), "the checker, verbatim");
    assert.equal(spawnSync("sh", ["-n"], { input: text }).status, 0, "the install parses as sh");
    assert.throws(() => renderHostStatusInstall("staging", "deploy", "short"), /token must be 24-128 letters and digits/);
    assert.throws(() => renderHostStatusInstall("staging", "root; rm", TOKEN), /not a user name/);
    assert.throws(() => renderHostStatusScript("bad stack!"), /not a stack name/);
  });
});
