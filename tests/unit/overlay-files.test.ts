import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError, Raw } from "../../src/config/checker";
import { effectiveConfig, rawConfigOf } from "../../src/config/load";
import { parseConfig } from "../../src/config/schema";
import { locateProblems, stackFileValues } from "../../src/offline/effective";
import { REPO_ROOT, evaluateStack, renderStack } from "../../src/offline/render";
import { StackFileError, StackFiles, readStackFiles } from "../../src/offline/stackfiles";
import { leaves } from "../helpers/overlay";

let dir: string;

/** A project with its own Pulumi.yaml `config:` and one stack file `Pulumi.t.yaml`. */
function files(projectConfig: string, stackText: string): StackFiles {
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: djangostack\nruntime: nodejs\nconfig:\n${projectConfig}`);
  fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), stackText);
  return readStackFiles(dir, "t");
}

function refusal(projectConfig: string): string {
  try {
    files(projectConfig, "config: {}\n");
  } catch (error) {
    assert.ok(error instanceof StackFileError, String(error));
    return error.message;
  }
  return assert.fail("expected the Pulumi.yaml to be refused");
}

const raw = (f: StackFiles) => rawConfigOf(f.config, (k) => f.secretKeys.includes(k));

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-"));
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(dir, "package.json"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const SHARED = "  djangostack:apps:\n    default:\n      - name: web\n        routes: [\"/\"]\n  djangostack:data:\n    value: { postgres: { version: \"16\" } }\n";

describe("offline reading of Pulumi.yaml + Pulumi.<stack>.yaml, as the CLI's mergeConfig (pkg/workspace/config.go)", () => {
  it("hands a project value to a stack only when the stack leaves the key out", () => {
    const f = files(SHARED, "config:\n  djangostack:target: droplet\n");
    assert.equal(f.config["djangostack:apps"], '[{"name":"web","routes":["/"]}]');
    assert.equal(f.config["djangostack:data"], '{"postgres":{"version":"16"}}', "value: as well as default:");
    assert.equal(path.basename(f.origins["djangostack:apps"]), "Pulumi.yaml");
  });

  it("replaces a structured project value wholesale with the stack's: no merge below the key", () => {
    const f = files(SHARED, "config:\n  djangostack:data: { redis: { mode: managed } }\n");
    assert.equal(f.config["djangostack:data"], '{"redis":{"mode":"managed"}}');
    assert.equal(path.basename(f.origins["djangostack:data"]), "Pulumi.t.yaml");
  });

  it("formats scalar project values as the CLI's createConfigValue (%v): 3 -> \"3\", true -> \"true\"", () => {
    const f = files("  djangostack:secrets:\n    default: { rotation: 3 }\n  digitalocean:spacesEndpoint: x\n  djangostack:target: docker\n", "config: {}\n");
    assert.equal(f.config["djangostack:secrets"], '{"rotation":3}');
    assert.equal(f.config["digitalocean:spacesEndpoint"], "x", "a provider key's shorthand is its value");
    assert.equal(f.config["djangostack:target"], "docker");
  });

  // Each is what the CLI refuses: project.json's ConfigTypeDeclaration has additionalProperties: false,
  // Project.Validate refuses default together with value, and Pulumi.yaml is never decrypted.
  const refused: [string, string, RegExp][] = [
    ["a structured value written bare", "  djangostack:data:\n    postgres: { version: \"16\" }\n", /Pulumi\.yaml:4:3: .*"postgres" is none of those: put a structured value under default:/],
    ["default and value together", "  djangostack:domain:\n    default: a.example.com\n    value: b.example.com\n", /Pulumi\.yaml:4:3: .*both default: and value:/],
    ["a secure value", "  djangostack:secretKey:\n    default: { secure: v1:abc }\n", /Pulumi\.yaml:4:3: .*does not decrypt Pulumi\.yaml/],
    ["an overlay", "  djangostack:overlay:\n    default: { apps: {} }\n", /Pulumi\.yaml:4:3: .*write it in Pulumi\.<stack>\.yaml/],
  ];
  for (const [title, config, message] of refused) it(`refuses ${title} in Pulumi.yaml`, () => assert.match(refusal(config), message));
});

describe("config errors point at the file, line and column where the key was written", () => {
  function located(f: StackFiles): string[] {
    const { raw: values, secretKeys } = raw(f);
    try {
      parseConfig(values, { project: "djangostack", stack: "t" }, secretKeys);
    } catch (error) {
      const out = locateProblems(error, f);
      assert.ok(out instanceof ConfigError);
      return out.problems;
    }
    return assert.fail("expected a ConfigError");
  }

  it("an overlay value: the stack file", () => {
    const [problem] = located(files(SHARED, "config:\n  djangostack:overlay:\n    apps:\n      web:\n        replicas: 0\n"));
    assert.match(problem, /Pulumi\.t\.yaml:5:19: djangostack:overlay\.apps\.web\.replicas: got 0/);
  });

  it("a shared value: Pulumi.yaml, at the written index", () => {
    const shared = "  djangostack:apps:\n    default:\n      - name: web\n      - name: api\n        routes: [api]\n";
    const [problem] = located(files(shared, "config:\n  djangostack:overlay: { apps: { web: { $patch: remove } } }\n"));
    assert.match(problem, /Pulumi\.yaml:8:18: djangostack:apps\[1\]\.routes\[0\]: got "api"/);
  });

  it("an unknown app: the overlay's key, with the known names", () => {
    const [problem] = located(files(SHARED, "config:\n  djangostack:overlay:\n    apps:\n      wbe: { replicas: 2 }\n"));
    assert.match(problem, /Pulumi\.t\.yaml:4:12: djangostack:overlay\.apps\.wbe: .*known apps are web/);
  });
});

/** Pulumi.staging.yaml's apps written as an overlay of Pulumi.yaml's (the conversion docs/configuration-overlays.md describes). */
const STAGING_OVERLAY = `config:
  djangostack:target: droplet
  djangostack:region: fra1
  djangostack:domain: staging.example.com
  djangostack:overlay:
    apps:
      web:
        hosts: [api.staging.example.com]
        resources: { cpu: 500m, memory: 512Mi }
        workers:
          default: { concurrency: 2 }
          priority: { $patch: add, queues: [priority], concurrency: 1, timeLimit: 60 }
  djangostack:droplet: { size: s-4vcpu-8gb, sshKeys: [staging-deploy], adminCidrs: [203.0.113.0/24] }
  djangostack:edge: { tls: { mode: letsencrypt, email: ops@example.com } }
`;

describe("the repository's stacks share one app definition", () => {
  const project = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> };
  const appsOf = (f: StackFiles): Raw[] => {
    const { raw: values, secretKeys } = raw(f);
    return effectiveConfig(values, secretKeys).raw.apps as Raw[];
  };
  const overlaid = () => {
    const file = path.join(dir, "staging-overlay.yaml");
    fs.writeFileSync(file, STAGING_OVERLAY);
    return readStackFiles(REPO_ROOT, "staging", {}, file);
  };

  it("local leaves djangostack:apps out and runs the shared apps unchanged", () => {
    const local = readStackFiles(REPO_ROOT, "local");
    assert.equal(path.basename(local.origins["djangostack:apps"]), "Pulumi.yaml");
    assert.deepEqual(appsOf(local), project.config["djangostack:apps"].default);
  });

  it("an overlaid staging differs from local exactly where its stack file says", () => {
    const [local, staging] = [leaves(appsOf(readStackFiles(REPO_ROOT, "local")), "apps"), leaves(appsOf(overlaid()), "apps")];
    const said = new Set(stackFileValues(overlaid()).map((line) => /djangostack:(\S+) =/.exec(line)?.[1]));
    const differing = [...new Set([...local.keys(), ...staging.keys()])].filter((k) => local.get(k) !== staging.get(k));
    assert.ok(differing.length > 0);
    for (const key of differing) assert.ok(said.has(key), `${key} differs but the stack file does not set it`);
    for (const key of said) if (key?.startsWith("apps")) assert.ok(differing.includes(key), `${key} is set by the stack file and changes the shared value`);
  });

  for (const stack of ["staging", "production"]) {
    it(`${stack} leaves djangostack:apps out and differs from the shared apps exactly where its overlay says`, () => {
      const files = readStackFiles(REPO_ROOT, stack);
      assert.equal(path.basename(files.origins["djangostack:apps"]), "Pulumi.yaml", `Pulumi.${stack}.yaml writes its own djangostack:apps`);
      const [shared, effective] = [leaves(project.config["djangostack:apps"].default as Raw[], "apps"), leaves(appsOf(files), "apps")];
      const said = new Set(stackFileValues(files).flatMap((line) => /djangostack:(apps\S*) =/.exec(line)?.[1] ?? []));
      const differing = [...new Set([...shared.keys(), ...effective.keys()])].filter((k) => shared.get(k) !== effective.get(k));
      assert.ok(differing.length > 0);
      for (const key of differing) assert.ok(said.has(key), `${key} differs but Pulumi.${stack}.yaml does not set it`);
      for (const key of said) assert.ok(differing.includes(key), `${key} is set by Pulumi.${stack}.yaml and changes the shared value`);
    });
  }

  it("the overlay docs/configuration-overlays.md gives a production deployed as `shop` keeps its app's name", async () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "configuration-overlays.md"), "utf8");
    const snippet = /A deployed stack keeps its name[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(snippet, "the doc's snippet");
    const overlay = (YAML.parse(snippet) as Record<string, unknown>)["djangostack:overlay"];
    const ev = await evaluateStack({ stack: "production", extraConfig: { "djangostack:overlay": overlay } });
    const deployments = ev.engine.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment").map((r) => (r.inputs.metadata as { name: string }).name);
    assert.ok(deployments.includes("shop-web") && deployments.includes("shop-beat"), deployments.join(", "));
    assert.ok(!deployments.some((d) => d.startsWith("web-")), deployments.join(", "));
    const db = ev.engine.resources.find((r) => r.type === "digitalocean:index/databaseDb:DatabaseDb");
    assert.equal(db?.inputs.name, "shop_db");
  });

  it("renders the overlaid staging like the staging stack that writes its apps out", async () => {
    const file = path.join(dir, "staging-overlay.yaml");
    fs.writeFileSync(file, STAGING_OVERLAY);
    const written = STAGING_OVERLAY.replace(/ {2}djangostack:overlay:[\s\S]*?(?= {2}djangostack:droplet)/, `  djangostack:apps:
    - name: web
      build: ./app
      routes: ["/"]
      hosts: [api.staging.example.com]
      resources: { cpu: 500m, memory: 512Mi }
      workers:
        - { name: default, queues: [celery], concurrency: 2 }
        - { name: priority, queues: [priority], concurrency: 1, timeLimit: 60 }
      beat: true
`);
    const full = path.join(dir, "staging-full.yaml");
    fs.writeFileSync(full, written);
    // One evaluation at a time: the offline engine is the process's one set of mocks.
    const inputs = async (stackFile: string) => (await evaluateStack({ stack: "staging", stackFile })).engine.resources.map((r) => [r.type, r.name, r.parent, r.inputs]);
    const overlaidRender = JSON.stringify(await inputs(file));
    assert.equal(overlaidRender, JSON.stringify(await inputs(full)));
  });
});

describe("the render shows the effective config", () => {
  it("writes effective-config.yaml with secrets masked and lists the stack file's values in plan.txt", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-render-"));
    try {
      await renderStack({ stack: "local", outDir: out, extraConfig: { "djangostack:overlay": { apps: { web: { env: { API_TOKEN: { secure: "v1:AAAA" } } } } } } });
      const text = fs.readFileSync(path.join(out, "local", "effective-config.yaml"), "utf8");
      const config = (YAML.parse(text) as { config: Record<string, unknown> }).config;
      const apps = config["djangostack:apps"] as Raw[];
      assert.deepEqual(apps[0].env, { API_TOKEN: "[secret]" });
      assert.ok(!text.includes("offline-placeholder"), "no placeholder value");
      assert.equal(config["djangostack:target"], "docker");
      assert.ok(!("djangostack:overlay" in config));
      const plan = fs.readFileSync(path.join(out, "local", "plan.txt"), "utf8");
      const listed = plan.slice(plan.indexOf("values from the stack file"));
      assert.match(listed, /\n {2}djangostack:target = "docker" {2}\(Pulumi\.local\.yaml:3:23\)/);
      assert.match(listed, /djangostack:apps\[0\]\.env\.API_TOKEN = \[secret\] {2}<- djangostack:overlay\.apps\.web\.env\.API_TOKEN/);
      const file = path.join(dir, "staging-overlay.yaml");
      fs.writeFileSync(file, STAGING_OVERLAY);
      await renderStack({ stack: "staging", outDir: out, stackFile: file });
      assert.match(fs.readFileSync(path.join(out, "staging", "plan.txt"), "utf8"), /djangostack:apps\[0\]\.hosts = \["api\.staging\.example\.com"\] {2}<- djangostack:overlay\.apps\.web\.hosts {2}\(\S*staging-overlay\.yaml:8:16\)/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("npm run render -- --print-config prints it", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-cli-"));
    try {
      const run = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts/render.ts"), "--stack", "production", "--out", out, "--print-config"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
      assert.equal(run.status, 0, run.stderr);
      const printed = YAML.parse(run.stdout.slice(run.stdout.indexOf("# Effective"))) as { config: Record<string, unknown> };
      assert.equal((printed.config["djangostack:apps"] as Raw[])[0].replicas, 3);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
