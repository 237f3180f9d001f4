import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderOneOffScript } from "../../src/render/oneoff";

/**
 * A stand-in for the docker CLI: `start` runs the "container" (prints a secret-looking line, exits
 * with the code in $DIR/exit), `wait` and `inspect` report that run, as the engine would.
 */
const FAKE_DOCKER = `#!/bin/sh
echo "$*" >> "$DIR/calls"
case "$1" in
  start) [ -f "$DIR/missing" ] && { echo "Error: No such container: $2" >&2; exit 1; }
         echo "ALTER ROLE web PASSWORD 'hunter2'" > "$DIR/output"; cp "$DIR/exit" "$DIR/last"; echo "$2" ;;
  wait) cat "$DIR/last" ;;
  inspect) cat "$DIR/last" ;;
  *) echo "fake docker: unexpected $1" >&2; exit 2 ;;
esac
`;

let dir: string;
function run(script: string, exitCode: number, opts: { missing?: boolean } = {}) {
  fs.writeFileSync(path.join(dir, "exit"), String(exitCode));
  fs.rmSync(path.join(dir, "calls"), { force: true });
  if (opts.missing) fs.writeFileSync(path.join(dir, "missing"), "");
  else fs.rmSync(path.join(dir, "missing"), { force: true });
  const r = spawnSync("/bin/sh", ["-c", script], { env: { PATH: `${dir}:/usr/bin:/bin`, DIR: dir }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") };
}

describe("one-off runner script", () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "djs-oneoff-"));
    fs.writeFileSync(path.join(dir, "docker"), FAKE_DOCKER, { mode: 0o755 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const script = renderOneOffScript({ process: "web-migrate", container: "djangostack-local-web-migrate", logsCommand: "docker logs djangostack-local-web-migrate" });

  it("succeeds silently when the container exits 0", () => {
    const r = run(script, 0);
    assert.equal(r.status, 0);
    assert.equal(r.stdout + r.stderr, "", "nothing of the run reaches the deploy log or the Command's state");
    assert.deepEqual(r.calls.map((c) => c.split(" ")[0]), ["start", "wait", "inspect"]);
  });

  it("fails the Command on a non-zero exit, says what happened and what the next up does, and prints none of the container's output", () => {
    const r = run(script, 3);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /web-migrate exited with code 3/);
    assert.match(r.stderr, /running release is untouched/);
    assert.match(r.stderr, /docker logs djangostack-local-web-migrate/);
    assert.match(r.stderr, /runs web-migrate again \(no --replace needed\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
  });

  it("fails with the same guidance when the container cannot be started", () => {
    const r = run(script, 0, { missing: true });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /web-migrate could not be started/);
    assert.deepEqual(r.calls.map((c) => c.split(" ")[0]), ["start"]);
  });

  it("keeps shell metacharacters in the logs command literal", () => {
    const r = run(renderOneOffScript({ process: "postgres-init", container: "c1", logsCommand: 'DOCKER_HOST=ssh://u@h docker logs c1 "$(touch pwned)" `id`' }), 5);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes('docker logs c1 "$(touch pwned)" `id`'), r.stderr);
    assert.ok(!fs.existsSync(path.join(process.cwd(), "pwned")));
  });

  it("refuses a container name Docker would not accept", () => {
    assert.throws(() => renderOneOffScript({ process: "x", container: "a b; rm -rf /", logsCommand: "" }), /not a Docker container name/);
  });
});
