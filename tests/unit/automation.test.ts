/**
 * The Automation API driver against a fake `pulumi` executable (no real CLI exists here).
 *
 * The fake is a node script at <tmp>/bin/pulumi passed through PulumiCommand (--pulumi-root <tmp>).
 * It logs each invocation's argv and cwd as one JSON line, answers the commands the Automation API
 * issues (version, stack select, stack output, stack history, preview/up/refresh/destroy), and sends
 * well-formed engine events (summaryEvent with resourceChanges) to the event log the SDK opened:
 * a gRPC events server (tcp://, CLI > 3.205.0) or a file (older CLIs).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { main } from "../../automation/cli";
import { DriverError, REPO_ROOT, drift, maskOutputs, outputs, secretPaths, selectStack, up } from "../../automation/driver";

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

const FAKE_PULUMI = `#!${process.execPath}
"use strict";
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
const sc = JSON.parse(fs.readFileSync(path.join(root, "scenario.json"), "utf8"));
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(root, "calls.jsonl"), JSON.stringify({ argv, cwd: process.cwd() }) + "\\n");
const has = (f) => argv.includes(f);
const val = (f) => (argv.indexOf(f) >= 0 ? argv[argv.indexOf(f) + 1] : undefined);
const statePath = path.join(root, "state.json");
function die(code, msg) { process.stderr.write(msg + "\\n"); process.exit(code); }
const NON_CHANGES = ["same", "read", "refresh"];
const hasChanges = (c) => Object.entries(c).some(([op, n]) => !NON_CHANGES.includes(op) && n > 0);

async function sendEvents(target, events) {
  if (!target) return;
  if (target.startsWith("tcp://")) {
    const protoDir = path.join(sc.sdkDir, "proto");
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [protoDir] }));
    const svc = require(path.join(protoDir, "events_grpc_pb.js"));
    const pb = require(path.join(protoDir, "events_pb.js"));
    const client = new svc.EventsClient(target.slice("tcp://".length), grpc.credentials.createInsecure());
    await new Promise((resolve, reject) => {
      const call = client.streamEvents((err) => (err ? reject(err) : resolve()));
      for (const e of events) { const r = new pb.EventRequest(); r.setEvent(JSON.stringify(e)); call.write(r); }
      call.end();
    });
    client.close();
  } else {
    fs.appendFileSync(target, events.map((e) => JSON.stringify(e)).join("\\n") + "\\n");
  }
}

async function operation(cmd) {
  const key = has("--preview-only") ? cmd + "-preview" : cmd;
  const changes = (sc.changes && sc.changes[key]) || { same: 3 };
  const events = [
    { stdoutEvent: { message: "fake " + key, color: "never" } },
    ...((sc.diagnostics && sc.diagnostics[key]) || []).map((d) => ({ diagnosticEvent: d })),
    { summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: changes, PolicyPacks: {} } },
    { cancelEvent: {} },
  ].map((e, i) => ({ sequence: i, timestamp: 1767225600 + i, ...e }));
  await sendEvents(val("--event-log"), events);
  process.stdout.write("fake pulumi " + key + " on " + val("--stack") + "\\n");
  const f = sc.failures && sc.failures[key];
  if (f) die(f.code, f.stderr);
  if (has("--expect-no-changes") && hasChanges(changes)) die(sc.expectFailCode || 7, "error: no changes were expected but changes occurred");
  if (!key.endsWith("-preview") && cmd !== "preview") {
    fs.writeFileSync(statePath, JSON.stringify({ kind: cmd === "up" ? "update" : cmd, changes, message: val("--message") || "" }));
  }
}

async function mainFake() {
  const cmd = argv[0] === "stack" ? "stack " + argv[1] : argv[0];
  const f = sc.failures && sc.failures[cmd];
  if (f && cmd !== "preview" && cmd !== "up" && cmd !== "refresh" && cmd !== "destroy") die(f.code, f.stderr);
  switch (cmd) {
    case "version":
      process.stdout.write("v" + sc.version + "\\n");
      return;
    case "stack select":
      if (!sc.stacks.includes(val("--stack"))) die(255, "error: no stack named '" + val("--stack") + "' found");
      return;
    case "stack output":
      process.stdout.write(JSON.stringify(has("--show-secrets") ? sc.outputs.plain : sc.outputs.masked, null, 2) + "\\n");
      return;
    case "stack history": {
      const st = fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, "utf8")) : undefined;
      const entries = st ? [{
        version: 42, kind: st.kind, message: st.message, result: "succeeded",
        startTime: "2026-01-01T00:00:00.000Z", endTime: "2026-01-01T00:01:00.000Z",
        environment: { "exec.kind": "auto.local" },
        config: { "djangostack:adminPassword": { value: has("--show-secrets") ? sc.historySecret : "[secret]", secret: true } },
        resourceChanges: st.changes,
      }] : [];
      process.stdout.write(JSON.stringify(entries) + "\\n");
      return;
    }
    case "preview": case "up": case "refresh": case "destroy":
      return operation(cmd);
    default:
      die(99, "fake pulumi: unsupported command: " + argv.join(" "));
  }
}
mainFake().catch((e) => die(98, "fake pulumi crashed: " + (e && e.stack)));
`;

interface Call {
  argv: string[];
  cwd: string;
}

interface Scenario {
  version: string;
  stacks: string[];
  changes: Record<string, Record<string, number>>;
  diagnostics: Record<string, { message: string; color: string; severity: string; urn?: string }[]>;
  failures: Record<string, { code: number; stderr: string }>;
  expectFailCode?: number;
  outputs: { masked: Record<string, unknown>; plain: Record<string, unknown> };
  historySecret: string;
}

// Secret values the fake knows; none may ever reach stdout or stderr unless --show-secrets.
const DB_URL = "postgres://web:pw-db-3f9a@db:5432/web";
const KUBECONFIG = "apiVersion: v1\nusers: [{token: kube-token-77c1}]";
const HISTORY_SECRET = "admin-pw-51d2";

function baseScenario(): Scenario {
  return {
    version: "3.270.0",
    stacks: ["local", "staging", "production"],
    changes: {
      preview: { create: 3, update: 1, same: 10 },
      up: { create: 3, update: 1, same: 10 },
      refresh: { update: 1, same: 13 },
      destroy: { delete: 14 },
      "refresh-preview": { same: 14 },
    },
    diagnostics: {},
    failures: {},
    outputs: {
      masked: {
        outputsVersion: "v1",
        url: "https://staging.example.com",
        kubeconfig: "[secret]",
        apps: { web: { redisDb: 0, databaseUrl: "[secret]", routes: ["/"] } },
      },
      plain: {
        outputsVersion: "v1",
        url: "https://staging.example.com",
        kubeconfig: KUBECONFIG,
        apps: { web: { redisDb: 0, databaseUrl: DB_URL, routes: ["/"] } },
      },
    },
    historySecret: HISTORY_SECRET,
  };
}

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  for (const r of roots) assert.equal(fs.existsSync(r), false, `temp dir ${r} removed`);
});

interface Fake {
  root: string;
  calls(): Call[];
}

function makeFake(edit: (s: Scenario) => void = () => undefined): Fake {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "djangostack-fake-pulumi-"));
  roots.push(root);
  fs.mkdirSync(path.join(root, "bin"));
  fs.writeFileSync(path.join(root, "bin", "pulumi"), FAKE_PULUMI, { mode: 0o755 });
  const scenario = baseScenario();
  edit(scenario);
  fs.writeFileSync(path.join(root, "scenario.json"), JSON.stringify({ ...scenario, sdkDir: SDK_DIR }));
  return {
    root,
    calls: () => {
      const file = path.join(root, "calls.jsonl");
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Call);
    },
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

/** Replaces the event-log target (a fresh port or temp file each run) with a placeholder. */
function normalize(argv: string[]): string[] {
  return argv.map((a, i) => (argv[i - 1] === "--event-log" ? "<event-log>" : a));
}

function eventLogTarget(argv: string[]): string | undefined {
  const i = argv.indexOf("--event-log");
  return i >= 0 ? argv[i + 1] : undefined;
}

function assertNoSecrets(run: Run): void {
  for (const secret of [DB_URL, "pw-db-3f9a", "kube-token-77c1", HISTORY_SECRET]) {
    assert.ok(!run.stdout.includes(secret), `stdout leaks ${secret}`);
    assert.ok(!run.stderr.includes(secret), `stderr leaks ${secret}`);
  }
}

const VERSION = ["version"];
const SELECT = (stack: string): string[] => ["stack", "select", "--stack", stack, "--non-interactive"];
const OUTPUT_MASKED = (stack: string): string[] => ["stack", "output", "--json", "--stack", stack, "--non-interactive"];
const OUTPUT_PLAIN = (stack: string): string[] => ["stack", "output", "--json", "--show-secrets", "--stack", stack, "--non-interactive"];
const HISTORY = (stack: string): string[] => ["stack", "history", "--json", "--page-size", "1", "--page", "1", "--stack", stack, "--non-interactive"];

describe("automation CLI: argv the Automation API sends", () => {
  it("preview and up enforce the policy pack: --policy-pack reaches the CLI as an absolute path", async () => {
    const fake = makeFake();
    const run = await cli(["preview", "--stack", "staging", "--pulumi-root", fake.root, "--policy-pack", "policy"]);
    assert.equal(run.code, 0, run.stderr);
    const argv = fake.calls()[2].argv;
    assert.equal(argv[argv.indexOf("--policy-pack") + 1], path.join(REPO_ROOT, "policy"));
    const refresh = await cli(["refresh", "--stack", "staging", "--pulumi-root", fake.root, "--policy-pack", "policy"]);
    assert.equal(refresh.code, 2, "refresh does not run policy packs");
  });

  it("preview passes --diff, --parallel and --message and reports the engine's change summary", async () => {
    const fake = makeFake();
    const run = await cli(["preview", "--stack", "staging", "--json", "--pulumi-root", fake.root, "--diff", "--parallel", "4", "--message", "ci run 17"]);
    assert.equal(run.code, 0, run.stderr);
    const calls = fake.calls();
    assert.deepEqual(
      calls.map((c) => normalize(c.argv)),
      [
        VERSION,
        SELECT("staging"),
        ["preview", "--message", "ci run 17", "--diff", "--parallel", "4", "--exec-kind", "auto.local", "--event-log", "<event-log>", "--stack", "staging", "--non-interactive"],
      ],
    );
    assert.match(eventLogTarget(calls[2].argv) ?? "", /^tcp:\/\/127\.0\.0\.1:\d+$/, "CLI > 3.205.0 streams events over gRPC");
    for (const c of calls.slice(1)) assert.equal(c.cwd, REPO_ROOT, "workDir is the repo root");
    const result = JSON.parse(run.stdout) as { operation: string; stack: string; summary: Record<string, number>; changes: number; durationMs: number };
    assert.equal(result.operation, "preview");
    assert.equal(result.stack, "staging");
    assert.deepEqual(result.summary, { create: 3, update: 1, same: 10 });
    assert.equal(result.changes, 4);
    assert.ok(result.durationMs >= 0);
    assert.match(run.stderr, /fake pulumi preview on staging/, "CLI progress is streamed to stderr");
  });

  it("up runs --yes --skip-preview, summarizes from the update history and masks every secret output", async () => {
    const fake = makeFake();
    const run = await cli(["up", "--stack", "staging", "--pulumi-root", fake.root, "--parallel", "2", "--message", "deploy abc123", "--diff"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      fake.calls().map((c) => normalize(c.argv)),
      [
        VERSION,
        SELECT("staging"),
        ["up", "--yes", "--skip-preview", "--message", "deploy abc123", "--diff", "--parallel", "2", "--exec-kind", "auto.local", "--event-log", "<event-log>", "--stack", "staging", "--non-interactive"],
        OUTPUT_MASKED("staging"),
        OUTPUT_PLAIN("staging"),
        HISTORY("staging"), // no --show-secrets: config in the history stays encrypted
        OUTPUT_MASKED("staging"),
      ],
    );
    assert.match(run.stdout, /^up staging: succeeded \(update #42\), 4 resource change\(s\) \(create 3, update 1, same 10\)/);
    assert.match(run.stdout, /kubeconfig: \[secret\]/);
    assert.match(run.stdout, /apps: \{"web":\{"redisDb":0,"databaseUrl":"\[secret\]","routes":\["\/"\]\}\}/);
    assert.match(run.stdout, /secret outputs: apps\.web\.databaseUrl, kubeconfig/);
    assert.match(run.stdout, /url: https:\/\/staging\.example\.com/);
    assertNoSecrets(run);
  });

  it("up --json reports result, version, summary and masked outputs", async () => {
    const fake = makeFake();
    const run = await cli(["up", "--stack", "staging", "--pulumi-root", fake.root, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as { result: string; version: number; summary: Record<string, number>; outputs: { values: Record<string, unknown>; secrets: string[]; secretsShown: boolean } };
    assert.equal(r.result, "succeeded");
    assert.equal(r.version, 42);
    assert.deepEqual(r.summary, { create: 3, update: 1, same: 10 });
    assert.deepEqual(r.outputs.values, baseScenario().outputs.masked);
    assert.deepEqual(r.outputs.secrets, ["apps.web.databaseUrl", "kubeconfig"]);
    assert.equal(r.outputs.secretsShown, false);
    assertNoSecrets(run);
  });

  it("refresh runs --skip-preview --yes and reports the refresh's counts", async () => {
    const fake = makeFake();
    const run = await cli(["refresh", "--stack", "staging", "--pulumi-root", fake.root, "--parallel", "3"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      fake.calls().map((c) => normalize(c.argv)),
      [
        VERSION,
        SELECT("staging"),
        ["refresh", "--skip-preview", "--yes", "--parallel", "3", "--event-log", "<event-log>", "--exec-kind", "auto.local", "--stack", "staging", "--non-interactive"],
        HISTORY("staging"),
      ],
    );
    assert.match(run.stdout, /^refresh staging: succeeded \(update #42\), 1 resource change\(s\) \(update 1, same 13\)/);
  });

  it("destroy requires --yes on every stack, then runs --yes --skip-preview", async () => {
    const fake = makeFake();
    const refused = await cli(["destroy", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to destroy stack "staging" without confirmation: pass --yes/);
    assert.deepEqual(fake.calls(), [], "no pulumi call before the refusal");

    const run = await cli(["destroy", "--stack", "staging", "--pulumi-root", fake.root, "--yes", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      fake.calls().map((c) => normalize(c.argv)),
      [
        VERSION,
        SELECT("staging"),
        ["destroy", "--yes", "--skip-preview", "--event-log", "<event-log>", "--exec-kind", "auto.local", "--stack", "staging", "--non-interactive"],
        HISTORY("staging"),
      ],
    );
    const r = JSON.parse(run.stdout) as { operation: string; summary: Record<string, number>; changes: number };
    assert.equal(r.operation, "destroy");
    assert.deepEqual(r.summary, { delete: 14 });
    assert.equal(r.changes, 14);
  });
});

describe("automation CLI: production guard", () => {
  it("refuses up on production without --yes before any pulumi call", async () => {
    const fake = makeFake();
    for (const stack of ["production", "acme/djangostack/production"]) {
      const run = await cli(["up", "--stack", stack, "--pulumi-root", fake.root, "--json"]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, new RegExp(`refusing to run up on protected stack "${stack}" without confirmation: pass --yes`));
      assert.equal((JSON.parse(run.stdout) as { error: { kind: string } }).error.kind, "refused");
    }
    assert.deepEqual(fake.calls(), [], "not even `pulumi version` ran");
  });

  it("runs up on production with --yes, and preview needs no confirmation", async () => {
    const fake = makeFake();
    assert.equal((await cli(["preview", "--stack", "production", "--pulumi-root", fake.root])).code, 0);
    const run = await cli(["up", "--stack", "production", "--pulumi-root", fake.root, "--yes"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(fake.calls().some((c) => c.argv[0] === "up" && c.argv.includes("production")));
  });

  it("the driver refuses too, when called without the CLI", async () => {
    const fake = makeFake();
    const pulumi = await PulumiCommand.get({ root: fake.root, skipVersionCheck: true });
    const s = await selectStack({ stackName: "production", pulumi });
    const before = fake.calls().length;
    await assert.rejects(up(s), (e: unknown) => e instanceof DriverError && e.kind === "refused" && e.exitCode === 2);
    assert.equal(fake.calls().length, before);
  });
});

describe("automation CLI: drift", () => {
  it("reports drift (exit 3) when refresh --preview-only --expect-no-changes finds changes", async () => {
    const fake = makeFake((s) => {
      s.changes["refresh-preview"] = { update: 2, delete: 1, same: 11 };
    });
    const run = await cli(["drift", "--stack", "staging", "--pulumi-root", fake.root, "--json", "--parallel", "8"]);
    assert.equal(run.code, 3, run.stderr);
    assert.deepEqual(
      fake.calls().map((c) => normalize(c.argv)),
      [VERSION, SELECT("staging"), ["refresh", "--preview-only", "--expect-no-changes", "--parallel", "8", "--exec-kind", "auto.local", "--event-log", "<event-log>", "--stack", "staging", "--non-interactive"]],
    );
    const r = JSON.parse(run.stdout) as { drifted: boolean; summary: Record<string, number>; changes: number };
    assert.equal(r.drifted, true);
    assert.deepEqual(r.summary, { update: 2, delete: 1, same: 11 });
    assert.equal(r.changes, 3);
  });

  it("reports no drift (exit 0) when the refresh preview has no changes", async () => {
    const fake = makeFake();
    const run = await cli(["drift", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^drift staging: no drift \(same 14\)/);
  });

  it("recognizes drift from older CLIs (exit 255 with the expect-no-changes message)", async () => {
    const fake = makeFake((s) => {
      s.changes["refresh-preview"] = { update: 1, same: 13 };
      s.expectFailCode = 255;
    });
    const run = await cli(["drift", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /^drift staging: DRIFT DETECTED, 1 resource\(s\) differ from the state \(update 1, same 13\)/);
  });

  it("a refresh failure during drift is a failure (exit 1), not drift", async () => {
    const fake = makeFake((s) => {
      s.failures["refresh-preview"] = { code: 255, stderr: "error: 401 Unable to authenticate you: DIGITALOCEAN_TOKEN invalid" };
    });
    const run = await cli(["drift", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /pulumi drift on stack "staging" failed \(exit 255\):\n.*Unable to authenticate you/);
  });

  it("the driver's drift() returns {drifted, summary}", async () => {
    const fake = makeFake((s) => {
      s.changes["refresh-preview"] = { delete: 1, same: 2 };
    });
    const pulumi = await PulumiCommand.get({ root: fake.root });
    const r = await drift(await selectStack({ stackName: "staging", pulumi }));
    assert.equal(r.drifted, true);
    assert.deepEqual(r.summary, { delete: 1, same: 2 });
  });
});

describe("automation CLI: outputs", () => {
  it("masks secret outputs, nested ones included, and never fetches plain text", async () => {
    const fake = makeFake();
    const run = await cli(["outputs", "--stack", "staging", "--pulumi-root", fake.root, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(fake.calls().map((c) => c.argv), [VERSION, SELECT("staging"), OUTPUT_MASKED("staging")]);
    const r = JSON.parse(run.stdout) as { outputs: { values: Record<string, unknown>; secrets: string[]; secretsShown: boolean } };
    assert.deepEqual(r.outputs.values, {
      outputsVersion: "v1",
      url: "https://staging.example.com",
      kubeconfig: "[secret]",
      apps: { web: { redisDb: 0, databaseUrl: "[secret]", routes: ["/"] } },
    });
    assert.deepEqual(r.outputs.secrets, ["apps.web.databaseUrl", "kubeconfig"]);
    assertNoSecrets(run);

    const human = await cli(["outputs", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^outputs staging:\n {2}apps: .*\n {2}kubeconfig: \[secret\]\n {2}outputsVersion: v1\n {2}url: https:\/\/staging\.example\.com\nsecret outputs: apps\.web\.databaseUrl, kubeconfig\n$/);
    assertNoSecrets(human);
  });

  it("--show-secrets prints the values", async () => {
    const fake = makeFake();
    const run = await cli(["outputs", "--stack", "staging", "--pulumi-root", fake.root, "--json", "--show-secrets"]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as { outputs: { values: Record<string, unknown>; secrets: string[]; secretsShown: boolean } };
    assert.equal(r.outputs.secretsShown, true);
    assert.deepEqual(r.outputs.values, baseScenario().outputs.plain);
    assert.deepEqual(r.outputs.secrets, ["apps.web.databaseUrl", "kubeconfig"]);
    assert.ok(fake.calls().some((c) => c.argv.includes("--show-secrets")));
  });

  it("driver outputs() masks by default", async () => {
    const fake = makeFake();
    const s = await selectStack({ stackName: "staging", pulumi: await PulumiCommand.get({ root: fake.root }) });
    const r = await outputs(s);
    assert.equal(r.outputs.values.kubeconfig, "[secret]");
    assert.deepEqual(r.outputs.values.apps, { web: { redisDb: 0, databaseUrl: "[secret]", routes: ["/"] } });
  });

  it("maskOutputs applies the SDK's top-level secret flags; secretPaths walks nested values", () => {
    const masked = maskOutputs({ a: "x", b: { c: "[secret]" } }, { a: { value: "x", secret: true }, b: { value: { c: "s" }, secret: false }, d: { value: "y", secret: false } });
    assert.deepEqual(masked, { a: "[secret]", b: { c: "[secret]" }, d: "[secret]" });
    assert.deepEqual(secretPaths({ a: [{ b: "[secret]" }], c: "[secret]", d: 1 }), ["a[0].b", "c"]);
  });
});

describe("automation CLI: errors", () => {
  it("maps a concurrent update (409 conflict) to a clear message and exit 1", async () => {
    const fake = makeFake((s) => {
      s.failures.up = { code: 255, stderr: "error: [409] Conflict: Another update is currently in progress." };
    });
    const run = await cli(["up", "--stack", "staging", "--pulumi-root", fake.root, "--json"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr.slice(run.stderr.indexOf("error: ")), /^error: up on stack "staging" failed: another update is in progress \(the stack is locked\)\. Wait for it and retry; if that update died, `pulumi cancel --stack staging` releases the lock\.\n$/);
    const r = JSON.parse(run.stdout) as { error: { kind: string } };
    assert.equal(r.error.kind, "concurrent-update");
    assert.ok(!fake.calls().some((c) => c.argv[0] === "stack" && c.argv[1] === "history"), "nothing runs after the failure");
  });

  it("maps a locked DIY-backend stack to the same error", async () => {
    const fake = makeFake((s) => {
      s.failures.refresh = { code: 255, stderr: "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end" };
    });
    const run = await cli(["refresh", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /refresh on stack "staging" failed: another update is in progress/);
  });

  it("reports a failed update with the engine's error diagnostics and the CLI's stderr, not its stdout", async () => {
    const fake = makeFake((s) => {
      s.failures.up = { code: 255, stderr: "error: update failed" };
      s.diagnostics.up = [
        { message: "\u001b[31mdigitalocean:index:Droplet (web): 422 size is not available in region\u001b[0m", color: "raw", severity: "error", urn: "urn:pulumi:staging::djangostack::digitalocean:index/droplet:Droplet::web" },
        { message: "just info", color: "raw", severity: "info" },
      ];
    });
    const run = await cli(["up", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(run.code, 1);
    const message = run.stderr.slice(run.stderr.indexOf("error: pulumi up"));
    assert.equal(
      message,
      'error: pulumi up on stack "staging" failed (exit 255):\n' +
        "urn:pulumi:staging::djangostack::digitalocean:index/droplet:Droplet::web: digitalocean:index:Droplet (web): 422 size is not available in region\n" +
        "error: update failed\n",
    );
    assert.equal(run.stdout, "");
  });

  it("reports a missing stack clearly", async () => {
    const fake = makeFake();
    const run = await cli(["preview", "--stack", "qa", "--pulumi-root", fake.root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /stack "qa" does not exist in the current backend/);
    assert.deepEqual(fake.calls().map((c) => c.argv), [VERSION, SELECT("qa")]);
  });

  it("reports a missing CLI with the path it tried", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "djangostack-no-pulumi-"));
    roots.push(empty);
    const run = await cli(["preview", "--stack", "staging", "--pulumi-root", empty]);
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(`cannot run the Pulumi CLI (${path.join(empty, "bin", "pulumi")})`), run.stderr);
  });

  it("rejects a CLI older than the SDK's minimum version", async () => {
    const fake = makeFake((s) => {
      s.version = "3.1.0";
    });
    const run = await cli(["preview", "--stack", "staging", "--pulumi-root", fake.root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Minimum version requirement failed/);
    assert.deepEqual(fake.calls().map((c) => c.argv), [VERSION]);
  });

  it("usage errors exit 2 without running pulumi", async () => {
    const fake = makeFake();
    const cases: [string[], RegExp][] = [
      [[], /missing operation/],
      [["deploy", "--stack", "staging"], /unknown operation "deploy"/],
      [["preview"], /--stack is required/],
      [["preview", "--stack", "staging", "--parallel", "0"], /--parallel must be a positive integer/],
      [["preview", "--stack", "staging", "--bogus"], /Unknown option '--bogus'/],
      [["drift", "--stack", "staging", "--message", "x"], /--message not supported by drift/],
      [["outputs", "--stack", "staging", "--yes"], /--yes not supported by outputs/],
      [["preview", "--stack", "a b"], /invalid stack name/],
    ];
    for (const [args, expected] of cases) {
      const run = await cli([...args, "--pulumi-root", fake.root]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, expected);
      assert.match(run.stderr, /usage: npx tsx automation\/cli\.ts/);
    }
    assert.deepEqual(fake.calls(), []);
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /exit codes: 0 ok, 1 failure, 2 usage error or refused, 3 drift detected/);
  });
});

describe("automation CLI: event log and process", () => {
  it("reads engine events from a file for CLIs up to 3.205.0", async () => {
    const fake = makeFake((s) => {
      s.version = "3.205.0";
    });
    const run = await cli(["preview", "--stack", "staging", "--pulumi-root", fake.root, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const previewCall = fake.calls().find((c) => c.argv[0] === "preview");
    const target = eventLogTarget(previewCall?.argv ?? []) ?? "";
    assert.match(target, /automation-logs-preview-.*eventlog\.txt$/);
    assert.deepEqual((JSON.parse(run.stdout) as { summary: Record<string, number> }).summary, { create: 3, update: 1, same: 10 });
  });

  it("the script's process exit code is 3 on drift, and PULUMI_ROOT selects the CLI", () => {
    const fake = makeFake((s) => {
      s.changes["refresh-preview"] = { update: 1, same: 13 };
    });
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "automation", "cli.ts"), "drift", "--stack", "staging"], {
      cwd: REPO_ROOT,
      env: { ...process.env, PULUMI_ROOT: fake.root },
      encoding: "utf8",
    });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /^drift staging: DRIFT DETECTED/);
    assert.ok(fake.calls().length > 0, "the fake under PULUMI_ROOT was used");
  });
});
