/**
 * Issue 3 item 5: the suite leaves nothing behind, and an absent server binary fails naming its
 * Debian package. Runs last (files run in name order): every process and temp dir the earlier
 * files recorded in this run's ledger must be gone, and no live process may carry the run marker.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { LEDGER, MissingPackageError, cleanupAll, isAlive, markedProcesses, readLedger, requireBinary, useHarness } from "./harness/process";
import { startRedis } from "./harness/redis";
import { generatePassword } from "./harness/secrets";

useHarness();

after(() => fs.rmSync(LEDGER, { force: true }));

test("every server process the earlier files started has exited", () => {
  const processes = readLedger().filter((e) => e.kind === "process");
  const alive = processes.filter((p) => p.kind === "process" && isAlive(p.pid, p.startTime));
  assert.deepEqual(alive, [], `still running: ${JSON.stringify(alive)}`);
  assert.deepEqual(markedProcesses(), [], "processes carrying this run's marker are still alive");
  if (processes.length === 0) console.log("ledger is empty: run this file after the others (node --test tests/integration/*.test.ts)");
});

test("every temp dir the earlier files made is removed", () => {
  const dirs = readLedger().flatMap((e) => (e.kind === "dir" ? [e.path] : []));
  assert.deepEqual(dirs.filter((d) => fs.existsSync(d)), []);
});

test("the harness stops a server's whole process group and removes its dir", async () => {
  const redis = await startRedis({ config: (at) => `port ${at.port}\ndir ${at.dir}\nsave ""\n`, password: generatePassword() });
  assert.ok(isAlive(redis.server.pid));
  assert.ok(fs.existsSync(redis.dir));
  await cleanupAll();
  assert.equal(isAlive(redis.server.pid), false, "redis-server still alive after cleanup");
  assert.equal(fs.existsSync(redis.dir), false, `${redis.dir} still exists after cleanup`);
  assert.deepEqual(markedProcesses(), []);
});

test("an absent server binary fails with the Debian package to install, never a skip", () => {
  assert.throws(
    () => requireBinary("/usr/sbin/nginx-that-is-not-installed", "nginx-light"),
    (e: unknown) => e instanceof MissingPackageError && /Debian package "nginx-light"/.test(e.message),
  );
});
