import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../src/config/checker";
import { evaluateStack, REPO_ROOT } from "../../src/offline/render";

function renderCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts/render.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("npm run render", () => {
  it("rejects invalid config inside the real program with every problem named, before any resource", async () => {
    await assert.rejects(
      evaluateStack({ stack: "local", extraConfig: { "djangostack:target": "heroku", "djangostack:apps": [{ name: "Web" }] } }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /djangostack:target: got "heroku"; allowed values are "docker", "droplet", "kubernetes"/);
        assert.match(error.message, /djangostack:apps\[0\]\.name: got "Web"/);
        return true;
      },
    );
  });

  it("exits 1 with a one-line reason for a stack that has no file, and 2 without --stack", () => {
    const missing = renderCli("--stack", "nope");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no stack file .*Pulumi\.nope\.yaml/);
    assert.ok(!missing.stderr.includes("    at "), "no stack trace for a usage error");
    assert.equal(renderCli().status, 2);
  });

  it("writes a stack's render where --out says", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-"));
    try {
      const run = renderCli("--stack", "local", "--out", out);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /rendered stack local: \d+ resources, \d+ artifacts/);
      assert.ok(fs.existsSync(path.join(out, "local", "resources.json")));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
