import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readStackFiles, StackFileError } from "../../src/offline/stackfiles";
import { REPO_ROOT } from "../../src/offline/render";

let dir: string;

/** A project directory with the real Pulumi.yaml and package.json and one stack file `Pulumi.t.yaml`. */
function read(stackText: string): ReturnType<typeof readStackFiles> {
  fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), stackText);
  return readStackFiles(dir, "t");
}

function refusal(stackText: string): string {
  try {
    read(stackText);
  } catch (error) {
    assert.ok(error instanceof StackFileError, `expected StackFileError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(stackText)} to be refused`);
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfile-"));
  for (const f of ["Pulumi.yaml", "package.json"]) fs.copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// [title, stack file text, line:column, what the message says]
const bad: [string, string, string, string][] = [
  ["a list instead of a mapping", "- config\n- djangostack:target: docker\n", "1:1", "must be a YAML mapping"],
  ["a bare scalar", "djangostack\n", "1:1", "must be a YAML mapping"],
  ["config misspelt", "conifg:\n  djangostack:target: droplet\n", "1:1", 'unknown top-level key "conifg"'],
  ["config capitalised", "Config:\n  djangostack:target: droplet\n", "1:1", 'did you mean "config"?'],
  ["config keys without config:", "djangostack:target: droplet\ndjangostack:region: fra1\n", "1:1", "belong under config:"],
  ["a key after a valid config", "config:\n  djangostack:target: docker\nconfigs:\n  x: 1\n", "3:1", 'unknown top-level key "configs"'],
  ["an ESC environment", "environment:\n  - prod\nconfig: {}\n", "1:1", "environment: (Pulumi ESC) cannot be opened"],
  ["config as a list", "config:\n  - djangostack:target: docker\n", "2:3", "config must be a YAML mapping"],
  ["config as a string", "config: djangostack:target=docker\n", "1:9", "config must be a YAML mapping"],
  ["another project's namespace", "config:\n  djangostack:target: docker\n  otherproject:apps:\n    - name: web\n", "3:3", 'namespace "otherproject"'],
  ["a namespace typo", "config:\n  djangostak:domain: example.com\n", "2:3", "write djangostack:domain"],
  ["an empty namespace", "config:\n  :target: docker\n", "2:3", 'namespace ""'],
  ["a duplicate key", "config:\n  djangostack:target: docker\n  djangostack:target: droplet\n", "3:3", "Map keys must be unique"],
  ["a duplicate nested key", "config:\n  djangostack:edge:\n    httpPort: 80\n    httpPort: 8080\n", "4:5", "Map keys must be unique"],
  ["the same key with and without namespace", "config:\n  apps: []\n  djangostack:apps: []\n", "3:3", "sets djangostack:apps again (first set at line 2)"],
  ["a duplicate top-level config", "config:\n  djangostack:target: docker\nconfig:\n  djangostack:target: droplet\n", "3:1", "Map keys must be unique"],
  ["an unclosed flow list", "config:\n  djangostack:apps: [{name: web}\n", "3:1", "YAML"],
  // yaml reports a missing closing quote where the input ends.
  ["an unclosed quote", 'config:\n  djangostack:domain: "example.com\n', "3:1", "Missing closing"],
  ["a tab used for indentation", "config:\n\tdjangostack:target: docker\n", "2:1", "YAML"],
  ["a mapping key that is a list", "config:\n  [a, b]: 1\n", "2:3", "plain strings"],
  ["two documents", "config: {}\n---\nconfig: {}\n", "2:1", "YAML"],
  ["bad indentation under a key", "config:\n  djangostack:target: docker\n   djangostack:region: nyc3\n", "2:23", "YAML"],
];

describe("stack files: a file the CLI would not read as config is refused with file, line and column", () => {
  for (const [title, text, at, says] of bad) {
    it(title, () => {
      const message = refusal(text);
      assert.ok(message.startsWith(`${path.join(dir, "Pulumi.t.yaml")}:${at}`), `position ${at} expected: ${message}`);
      assert.ok(message.includes(says), `message lacks "${says}": ${message}`);
      assert.ok(!message.includes("\n    at "), "no stack trace");
    });
  }
});

describe("stack files: what Pulumi treats as the default stack", () => {
  const defaults = (text: string) => {
    const files = read(text);
    assert.equal(files.config["djangostack:target"], "docker", "project default");
    // The only structured value is the shared app definition of Pulumi.yaml, which the CLI hands to a stack that leaves it out.
    assert.deepEqual(Object.keys(files.config).filter((k) => k.startsWith("djangostack:apps")), ["djangostack:apps"]);
    assert.equal(JSON.parse(files.config["djangostack:apps"])[0].name, "web");
  };
  it("an empty file", () => defaults(""));
  it("a file of comments", () => defaults("# nothing set yet\n"));
  it("an empty config:", () => defaults("config:\n"));
  it("config: {}", () => defaults("config: {}\n"));
  it("only the encryption salt `pulumi stack init` writes", () => defaults("encryptionsalt: v1:abcdef==\n"));
  it("provider namespaces and namespace-less keys", () => {
    const files = read("config:\n  digitalocean:token:\n    secure: v1:abc\n  docker:host: unix:///var/run/docker.sock\n  pulumi:tags: {team: web}\n  region: fra1\n");
    assert.equal(files.config["djangostack:region"], "fra1");
    assert.ok(files.secretKeys.includes("digitalocean:token"));
  });
});

describe("stack files: secure leaves at any depth", () => {
  it("turns a nested secure value into a placeholder and the whole key secret, as the CLI does", () => {
    const files = read("config:\n  djangostack:apps:\n    - name: web\n      env:\n        API_TOKEN:\n          secure: v1:AAAA\n        FEATURE: on\n");
    assert.deepEqual(files.secretKeys, ["djangostack:apps"]);
    const apps = JSON.parse(files.config["djangostack:apps"]) as { env: Record<string, string> }[];
    assert.match(apps[0].env.API_TOKEN, /^offline-placeholder-/);
    assert.equal(apps[0].env.FEATURE, "on");
  });
  it("inside lists of lists and maps", () => {
    const files = read("config:\n  djangostack:edge:\n    tls:\n      email: {secure: v1:x}\n");
    assert.deepEqual(files.secretKeys, ["djangostack:edge"]);
  });
});

function renderCli(...args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "scripts/render.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: run.status, stderr: run.stderr };
}

describe("npm run render refuses a bad stack file with its position", () => {
  it("exits 1 naming file, line and column, without a stack trace", () => {
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, "config:\n  djangostack:target: docker\n  otherproject:apps: []\n");
    const run = renderCli("--stack", "local", "--file", file, "--out", path.join(dir, "out"));
    assert.equal(run.status, 1);
    assert.match(run.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3:3: config key "otherproject:apps"`));
    assert.ok(!run.stderr.includes("    at "), run.stderr);
  });
  it("exits 1 on a duplicate key", () => {
    const file = path.join(dir, "dup.yaml");
    fs.writeFileSync(file, "config:\n  djangostack:target: docker\n  djangostack:target: droplet\n");
    const run = renderCli("--stack", "local", "--file", file, "--out", path.join(dir, "out"));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /dup\.yaml:3:3: Map keys must be unique/);
  });
  it("renders an empty stack file as the default stack", () => {
    const file = path.join(dir, "empty.yaml");
    fs.writeFileSync(file, "");
    const run = renderCli("--stack", "local", "--file", file, "--out", path.join(dir, "out"));
    assert.equal(run.status, 0, run.stderr);
  });
});

describe("Pulumi.yaml's main: names the program, resolved as the engine's getPwdMain (pkg/engine/project.go)", () => {
  /** A project in its own directory whose Pulumi.yaml says `main: <main>`, with an empty stack `t`. */
  function project(main: string): ReturnType<typeof readStackFiles> {
    const at = fs.mkdtempSync(path.join(dir, "project-"));
    fs.writeFileSync(path.join(at, "Pulumi.yaml"), `name: djangostack\nruntime: nodejs\nmain: ${main}\n`);
    fs.writeFileSync(path.join(at, "Pulumi.t.yaml"), "config: {}\n");
    return readStackFiles(at, "t");
  }

  it("a directory outside the project (main: ../..) is the program's working directory and holds its index.ts", () => {
    const repo = readStackFiles(path.join(REPO_ROOT, "examples", "kore"), "production");
    assert.deepEqual(repo.program, { dir: REPO_ROOT, entry: path.join(REPO_ROOT, "index.ts") });
    assert.equal(path.basename(path.dirname(repo.origins["djangostack:target"])), "kore", "the stack files stay beside Pulumi.yaml");
  });

  it("a file: its directory is the working directory; no main: is the project directory", () => {
    assert.deepEqual(project(path.join(REPO_ROOT, "index.ts")).program, { dir: REPO_ROOT, entry: path.join(REPO_ROOT, "index.ts") });
    assert.deepEqual(readStackFiles(REPO_ROOT, "local").program, { dir: REPO_ROOT, entry: path.join(REPO_ROOT, "index.ts") });
  });

  it("a main: that does not exist is refused where it is written, as the CLI stops on it", () => {
    assert.throws(() => project("../nowhere"), (error: unknown) => error instanceof StackFileError && /Pulumi\.yaml:3:1: main: \.\.\/nowhere is \S+nowhere, which does not exist/.test(error.message));
  });
});
