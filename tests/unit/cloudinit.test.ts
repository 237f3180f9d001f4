import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import {
  BOOTSTRAP_MARKER,
  BOOTSTRAP_SCRIPT,
  CloudInitInput,
  DOCKER_GPG_FINGERPRINT,
  KEY_EXTRACT_SED,
  SSHD_DROPIN,
  bootstrapScript,
  renderCloudInit,
  waitForBootstrapCommand,
} from "../../src/render/cloudinit";

const INPUT: CloudInitInput = { deployUser: "deploy", swapGiB: 2, docker: { logMaxSizeMiB: 10, logMaxFiles: 5 }, journalMaxUse: "500M" };

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
}
interface CloudConfig {
  groups: string[];
  users: (string | { name: string; groups: string[]; lock_passwd: boolean; shell: string })[];
  ssh_pwauth: boolean;
  packages: string[];
  swap?: { filename: string; size: number };
  write_files: WriteFile[];
  runcmd: string[][];
}

function parse(text: string): CloudConfig {
  assert.ok(text.startsWith("#cloud-config\n"), "user data starts with the #cloud-config header");
  return YAML.parse(text) as CloudConfig;
}
const fileOf = (doc: CloudConfig, p: string): WriteFile => {
  const f = doc.write_files.find((w) => w.path === p);
  assert.ok(f, `no write_files entry for ${p}`);
  return f;
};

/** The Debian `cloud-init` package provides the validator; the test fails (never skips) without it. */
function cloudInitBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v cloud-init"], { encoding: "utf8" });
  if (found.status !== 0 || !found.stdout.trim()) {
    throw new Error('cloud-init is missing: install the Debian package "cloud-init" (apt-get install cloud-init) to validate the rendered user data');
  }
  return found.stdout.trim();
}

function schemaCheck(text: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "djangostack-cloudinit-"));
  try {
    const file = path.join(dir, "user-data.yaml");
    fs.writeFileSync(file, text);
    const run = spawnSync(cloudInitBinary(), ["schema", "--config-file", file], { encoding: "utf8" });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("cloud-init renderer", () => {
  it("passes `cloud-init schema` (and the validator rejects a broken variant, so the check has teeth)", () => {
    const text = renderCloudInit(INPUT);
    const result = schemaCheck(text);
    assert.ok(result.ok, `cloud-init schema rejected the user data:\n${result.output}`);
    assert.match(result.output, /Valid cloud-config/);
    const broken = schemaCheck(text.replace("lock_passwd: true", 'lock_passwd: "no thanks"'));
    assert.equal(broken.ok, false, "a type error in users must fail the schema check");
    const noSwap = schemaCheck(renderCloudInit({ ...INPUT, swapGiB: 0 }));
    assert.ok(noSwap.ok, `without swap:\n${noSwap.output}`);
  });

  it("is byte-stable for the same host settings and independent of anything but them", () => {
    assert.equal(renderCloudInit(INPUT), renderCloudInit({ ...INPUT, docker: { ...INPUT.docker } }));
    assert.doesNotMatch(renderCloudInit(INPUT), /20[0-9]{2}-[01][0-9]-[0-3][0-9]T/, "no timestamp rendered into the user data");
    assert.notEqual(renderCloudInit(INPUT), renderCloudInit({ ...INPUT, swapGiB: 4 }), "host settings do change it");
  });

  it("creates the deploy user in the docker group, key-only, and runs the bootstrap once", () => {
    const doc = parse(renderCloudInit(INPUT));
    assert.ok(doc.groups.includes("docker"), "the docker group exists before the users module runs");
    const user = doc.users.find((u): u is Exclude<typeof u, string> => typeof u === "object" && u.name === "deploy");
    assert.ok(user, "deploy user declared");
    assert.deepEqual(user.groups, ["docker"]);
    assert.equal(user.lock_passwd, true);
    assert.equal(doc.ssh_pwauth, false);
    assert.deepEqual(doc.runcmd, [[BOOTSTRAP_SCRIPT]]);
    assert.equal(fileOf(doc, BOOTSTRAP_SCRIPT).permissions, "0755");
  });

  it("caps Docker logs with the same numbers as docker.logMaxSize/logMaxFiles, and journald", () => {
    const doc = parse(renderCloudInit({ ...INPUT, docker: { logMaxSizeMiB: 25, logMaxFiles: 3 } }));
    const daemon = JSON.parse(fileOf(doc, "/etc/docker/daemon.json").content) as { "log-driver": string; "log-opts": Record<string, string>; "live-restore": boolean };
    assert.deepEqual(daemon, { "log-driver": "json-file", "log-opts": { "max-size": "25m", "max-file": "3" }, "live-restore": true });
    assert.match(fileOf(doc, "/etc/systemd/journald.conf.d/50-djangostack.conf").content, /^SystemMaxUse=500M$/m);
  });

  it("configures swap, unattended security upgrades, fail2ban's sshd jail and hardened sshd", () => {
    const doc = parse(renderCloudInit(INPUT));
    assert.deepEqual(doc.swap, { filename: "/swapfile", size: 2 * 1024 ** 3, maxsize: 2 * 1024 ** 3 });
    assert.equal(parse(renderCloudInit({ ...INPUT, swapGiB: 0 })).swap, undefined);
    assert.ok(doc.packages.includes("unattended-upgrades"));
    assert.match(fileOf(doc, "/etc/apt/apt.conf.d/20auto-upgrades").content, /APT::Periodic::Unattended-Upgrade "1";/);
    const jail = fileOf(doc, "/etc/fail2ban/jail.d/djangostack-sshd.local").content;
    assert.match(jail, /\[sshd\]\nenabled = true/);
    const sshd = fileOf(doc, "/etc/djangostack/sshd-hardening.conf").content;
    for (const line of ["PermitRootLogin no", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "AllowUsers deploy"]) assert.match(sshd, new RegExp(`^${line}$`, "m"));
    // Staged, then installed by the script: the live drop-in must not be written before the keys exist.
    assert.ok(!doc.write_files.some((f) => f.path === SSHD_DROPIN), "sshd hardening is not written live by write_files");
  });

  it("bootstrap: valid sh; keys before sshd hardening before fail2ban; Docker key fingerprint checked; marker last", () => {
    const script = bootstrapScript(INPUT);
    execFileSync("sh", ["-n"], { input: script });
    const at = (needle: string) => {
      const i = script.indexOf(needle);
      assert.ok(i >= 0, `bootstrap lacks ${needle}`);
      return i;
    };
    assert.ok(at("/root/.ssh/authorized_keys") < at(`install -m 0644 /etc/djangostack/sshd-hardening.conf ${SSHD_DROPIN}`), "keys are copied before root login is disabled");
    assert.ok(at(SSHD_DROPIN) < at("install fail2ban"), "fail2ban starts only once the deploy user can log in");
    assert.ok(at("install fail2ban") < at("docker-ce"));
    assert.ok(at(`grep -q ":${DOCKER_GPG_FINGERPRINT}:"`) < at("$APT install docker-ce"), "Docker's key is verified before installing from its repository");
    assert.ok(script.trimEnd().split("\n").slice(-3).join("\n").includes(`"$MARKER"`), "the marker is written at the very end");
    assert.match(script, new RegExp(`MARKER=${BOOTSTRAP_MARKER}`));
    assert.match(script, /^set -eu$/m, "any failing step stops the bootstrap before the marker");
  });

  it("copies root's keys to the deploy user with or without a cloud-init options prefix", () => {
    const keys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne alice@laptop",
      'no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo \'Please login as the user \\"ubuntu\\" rather than the user \\"root\\".\';echo;sleep 10;exit 142" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABKeyTwo== bob',
      "# a comment",
      "",
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYKeyThree=",
    ].join("\n");
    const out = execFileSync("sed", ["-nE", KEY_EXTRACT_SED], { input: keys, encoding: "utf8" });
    assert.deepEqual(out.trim().split("\n"), [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne",
      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABKeyTwo==",
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYKeyThree=",
    ]);
    assert.ok(bootstrapScript(INPUT).includes(`sed -nE '${KEY_EXTRACT_SED}' /root/.ssh/authorized_keys`), "the bootstrap uses this exact program");
  });

  it("rejects settings that would break the host", () => {
    assert.throws(() => renderCloudInit({ ...INPUT, deployUser: "root" }), /deploy user/);
    assert.throws(() => renderCloudInit({ ...INPUT, deployUser: "De Ploy" }), /deploy user/);
    assert.throws(() => renderCloudInit({ ...INPUT, swapGiB: -1 }), /swapGiB/);
  });

  it("the wait command is valid sh, trusts the marker over cloud-init's exit code, and prints the engine version", () => {
    const cmd = waitForBootstrapCommand();
    execFileSync("sh", ["-n"], { input: cmd });
    assert.match(cmd, /cloud-init status --wait/);
    assert.match(cmd, new RegExp(`if \\[ ! -f ${BOOTSTRAP_MARKER} \\]; then .*exit 1; fi`));
    assert.match(cmd, /docker version --format/);
  });
});
