/**
 * The argv scanner reports as "seen" only this test process's descendants: CI runs the suite beside
 * its own processes, whose command lines may match the watch pattern (a runner's `bash -c` script
 * mentioning printf failed the PostgreSQL argv test). Secrets are still looked for in every process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { scanArgv } from "./harness/argv-scan";
import { generatePassword } from "./harness/secrets";

function exited(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

test("seen holds this process's descendants only; a secret is found in any process", async () => {
  const secret = generatePassword();
  const scan = await scanArgv([secret], "argv-scan-marker");
  // The outer shell exits at once, so the inner one is orphaned: no longer this process's descendant.
  // Only then does the inner one exec the marked command line (from the env, so no argv holds it
  // earlier): until the outer shell is gone the inner one is still a descendant.
  const env = {
    PATH: "/usr/bin:/bin",
    INNER: 'while kill -0 "$1" 2>/dev/null; do sleep 0.05; done; exec /bin/sh -c "$MARKED"',
    MARKED: `sleep 0.6; : argv-scan-marker-foreign ${secret}`,
  };
  const orphaning = spawn("/bin/sh", ["-c", '/bin/sh -c "$INNER" inner $$ & exit 0'], { stdio: "ignore", env });
  await exited(orphaning);
  const own = spawn("/bin/sh", ["-c", "sleep 0.6; : argv-scan-marker-own"], { stdio: "ignore" });
  await exited(own);
  const r = await scan.stop();
  assert.ok(r.seen.some((c) => c.includes("argv-scan-marker-own")), `the own child was not seen: ${r.seen.join(" | ")}`);
  assert.deepEqual(r.seen.filter((c) => c.includes("foreign")), [], "a process outside this test's tree was reported as seen");
  assert.ok(r.hits.some((h) => h.cmdline.includes("argv-scan-marker-foreign [secret]")), "a secret in a foreign process was missed");
});
