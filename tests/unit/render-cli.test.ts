import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../src/config/checker";
import { parseConfig } from "../../src/config/schema";
import { evaluateStack, REPO_ROOT } from "../../src/offline/render";

function renderCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ["--require", path.join(REPO_ROOT, "scripts/ts-cache.cjs"), path.join(REPO_ROOT, "scripts/render.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
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

  it("an unknown target is one problem, not followed by others judged as if the target were docker (issue 12 item 5)", () => {
    assert.throws(
      () => parseConfig({ target: "heroku", domain: "x.example.com", droplet: { sshKeys: ["a"], adminCidrs: ["203.0.113.0/24"] }, edge: { tls: { mode: "letsencrypt", email: "a@b.co" } }, apps: [{ name: "Web" }] }, { project: "p", stack: "s" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 2, error.problems.join("\n"));
        assert.match(error.problems[0], /djangostack:target: got "heroku"/);
        assert.match(error.problems[1], /djangostack:apps\[0\]\.name: got "Web"/, "problems that do not depend on the target are still listed");
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

  it("--project renders a folder's stack with its Pulumi.yaml as project config and its main: program", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-project-"));
    try {
      const run = renderCli("--project", "examples/admin2", "--stack", "production", "--out", out);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^rendered stack production: \d+ resources/);
      const resources = JSON.parse(fs.readFileSync(path.join(out, "production", "resources.json"), "utf8")) as { type: string; name: string; inputs: Record<string, unknown> }[];
      // The folder's app (Pulumi.yaml's djangostack:apps), not the repository's `web`, run by this repository's index.ts.
      const containers = resources.filter((r) => r.type === "docker:index/container:Container").map((r) => String(r.inputs.name));
      assert.ok(containers.includes("djangostack-production-admin2-migrate") && !containers.some((n) => n.endsWith("-web-migrate")), containers.join(", "));
      const plan = fs.readFileSync(path.join(out, "production", "plan.txt"), "utf8");
      assert.match(plan, /djangostack:apps\[0\]\.env\.DJANGO_ENVIRONMENT = "production" {2}<- djangostack:overlay\.apps\.admin2\.env\.DJANGO_ENVIRONMENT {2}\(examples\/admin2\/Pulumi\.production\.yaml:\d+:\d+\)/);
      // --help names the flag.
      assert.match(renderCli("--help").stdout, /\[--project DIR\]/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("--project: a missing folder, a folder without Pulumi.yaml and a missing stack file are one line each, exit 1", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-empty-"));
    try {
      const cases: [string[], RegExp][] = [
        [["--project", "examples/nope", "--stack", "staging"], /^render failed for stack staging:\nno project directory \S*examples\/nope\n$/],
        [["--project", empty, "--stack", "staging"], /^render failed for stack staging:\nno Pulumi\.yaml in \S+; a project directory holds Pulumi\.yaml and its Pulumi\.<stack>\.yaml files\n$/],
        [["--project", "examples/kore", "--stack", "qa"], /^render failed for stack qa:\nno stack file \S*examples\/kore\/Pulumi\.qa\.yaml; stacks are the Pulumi\.<stack>\.yaml files next to Pulumi\.yaml\n$/],
      ];
      for (const [args, message] of cases) {
        const run = renderCli(...args, "--out", empty);
        assert.equal(run.status, 1, run.stderr);
        assert.match(run.stderr, message);
      }
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("plan.txt and graph.mmd show the components under the Stack, as the engine parents them (issue 12 item 5)", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-tree-"));
    try {
      assert.equal(renderCli("--stack", "local", "--out", out).status, 0);
      const plan = fs.readFileSync(path.join(out, "local", "plan.txt"), "utf8").split("\n");
      assert.match(plan[0], /^\+ pulumi:pulumi:Stack {2}djangostack-local$/);
      assert.ok(plan.includes("  + djangostack:secrets:Secrets  local-secrets"), plan.slice(0, 4).join("\n"));
      assert.ok(plan.includes("    + random:index/randomPassword:RandomPassword  local-secrets-redis-password"));
      const graph = fs.readFileSync(path.join(out, "local", "graph.mmd"), "utf8");
      const id = (name: string) => new RegExp(`^\\s+(n\\d+)\\["${name}<br/>`, "m").exec(graph)?.[1];
      assert.ok(graph.includes(`  ${id("djangostack-local")} --> ${id("local-secrets")}\n`), "no edge from the Stack to a top-level component");
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("a failed render leaves no earlier output behind that looks current (issue 12 item 5)", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-stale-"));
    try {
      assert.equal(renderCli("--stack", "local", "--out", out).status, 0);
      assert.ok(fs.existsSync(path.join(out, "local", "plan.txt")));
      const bad = path.join(out, "Pulumi.local.yaml");
      fs.writeFileSync(bad, "config:\n  djangostack:target: heroku\n");
      const failed = renderCli("--stack", "local", "--out", out, "--file", bad);
      assert.equal(failed.status, 1, failed.stderr);
      assert.ok(!fs.existsSync(path.join(out, "local")), "the earlier render is still there after a failed one");
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("--help prints the usage and exits 0; an unknown flag or a missing value prints the usage and exits 2, no stack trace (issue 12 item 5)", () => {
    const help = renderCli("--help");
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: npm run render -- --stack/);
    for (const [args, reason] of [[["--bogus"], /Unknown option '--bogus'/], [["--stack"], /argument missing/], [["--stack", "local", "extra"], /positional/i]] as const) {
      const r = renderCli(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, reason);
      assert.match(r.stderr, /usage: npm run render/);
      assert.ok(!r.stderr.includes("    at "), `a stack trace for ${args.join(" ")}`);
    }
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

  it("--reference gives a StackReference another stack's outputs.json; a malformed one or a missing file is one line, exit 1", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-"));
    try {
      const bad = renderCli("--stack", "local", "--out", out, "--reference", "acme/djangostack/staging");
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /--reference acme\/djangostack\/staging: expected STACK=OUTPUTS_JSON/);
      assert.ok(!bad.stderr.includes("    at "), bad.stderr);
      const missing = renderCli("--stack", "local", "--out", out, "--reference", `acme/djangostack/staging=${path.join(out, "nope.json")}`);
      assert.match(missing.stderr, /no file .*nope\.json; render that stack first/);
      const noEarlier = renderCli("--stack", "local", "--out", out, "--compare", path.join(out, "nothing-here"));
      assert.equal(noEarlier.status, 1);
      assert.match(noEarlier.stderr, /--compare .*nothing-here: no .*resources\.json; render the earlier version there first/);
      assert.ok(!noEarlier.stderr.includes("    at ") && !noEarlier.stderr.includes("stack frame"), noEarlier.stderr);
      const staging = renderCli("--stack", "staging", "--out", out);
      assert.equal(staging.status, 0, staging.stderr);
      const ok = renderCli("--stack", "local", "--out", out, "--reference", `acme/djangostack/staging=${path.join(out, "staging", "outputs.json")}`);
      assert.equal(ok.status, 0, ok.stderr);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("a refused promotion is its reason, not the serializer's chain and a stack trace", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-"));
    try {
      // Staging as another project's: other apps than production runs.
      const other = renderCli("--project", "examples/ticket-tracking", "--stack", "staging", "--out", path.join(out, "other"));
      assert.equal(other.status, 0, other.stderr);
      const promoted = path.join(out, "Pulumi.production.yaml");
      fs.writeFileSync(promoted, fs.readFileSync(path.join(REPO_ROOT, "Pulumi.production.yaml"), "utf8").replace(/^config:\n/m, "config:\n  djangostack:promoteFrom: acme/djangostack/staging\n"));
      const refused = renderCli("--stack", "production", "--file", promoted, "--out", out, "--reference", `acme/djangostack/staging=${path.join(out, "other", "staging", "outputs.json")}`);
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, /^render failed for stack production:\ndjangostack: promoteFrom acme\/djangostack\/staging exports images for .*, this stack runs web: deploy/);
      assert.ok(!refused.stderr.includes("    at ") && !refused.stderr.includes("error serializing"), refused.stderr);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
