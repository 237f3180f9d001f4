import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PLACEHOLDER_MARKER, TlsSettings, certbotScript, placeholderScript } from "../../src/components/targets/droplet/tls";
import { activationScript } from "../../src/components/targets/droplet";

const SETTINGS: TlsSettings = { domain: "staging.example.com", names: ["staging.example.com", "api.staging.example.com"], email: "ops@example.com", staging: false };

/**
 * Runs a TLS script for real with `sh`, its absolute paths moved under a temp dir and stub
 * `certbot`, `openssl`, `wget`, `chown` and `sleep` on the PATH that record their calls. `sleep`
 * fails after `maxSleeps` calls, which ends the script's endless renewal loop (`set -e`).
 */
class Sandbox {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "djangostack-tls-"));
  readonly le = path.join(this.root, "le");
  readonly acme = path.join(this.root, "acme");
  readonly live = path.join(this.le, "live", SETTINGS.domain);
  private readonly bin = path.join(this.root, "bin");
  private readonly calls = path.join(this.root, "calls");

  constructor() {
    fs.mkdirSync(this.bin);
    fs.mkdirSync(this.le);
    fs.mkdirSync(this.acme);
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(this.bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    stub("chown", `echo "chown $*" >> ${this.calls}`);
    stub("wget", `echo "wget $*" >> ${this.calls}; test -f ${this.acme}/.well-known/acme-challenge/djangostack-probe`);
    stub("sleep", `echo "sleep $1" >> ${this.calls}; n=$(grep -c '^sleep' ${this.calls}); [ "$n" -lt "\${MAX_SLEEPS:-3}" ]`);
    stub(
      "openssl",
      `echo "openssl $*" >> ${this.calls}
while [ $# -gt 0 ]; do case "$1" in -keyout) echo KEY > "$2"; shift;; -out) echo SELF-SIGNED > "$2"; shift;; esac; shift; done`,
    );
    stub(
      "certbot",
      `echo "certbot $*" >> ${this.calls}
case "$1" in
  certonly)
    if [ -f ${this.root}/fail-next ]; then rm ${this.root}/fail-next; exit 1; fi
    if [ -d ${this.live} ] && [ ! -f ${this.le}/renewal/${SETTINGS.domain}.conf ]; then echo "live directory exists" >&2; exit 1; fi
    mkdir -p ${this.live} ${this.le}/renewal
    echo ISSUED > ${this.live}/fullchain.pem; echo KEY > ${this.live}/privkey.pem
    echo "server = https://acme-v02.api.letsencrypt.org/directory" > ${this.le}/renewal/${SETTINGS.domain}.conf;;
  renew) ;;
esac`,
    );
  }

  run(script: string, maxSleeps = 3): { status: number | null; calls: string[]; output: string } {
    const moved = script.replaceAll("/etc/letsencrypt", this.le).replaceAll("/var/www/acme", this.acme).replaceAll("http://nginx:8080", "http://nginx.invalid:8080");
    const run = spawnSync("sh", ["-c", moved], { encoding: "utf8", env: { ...process.env, PATH: `${this.bin}:${process.env.PATH}`, MAX_SLEEPS: String(maxSleeps) }, timeout: 20000 });
    const calls = fs.existsSync(this.calls) ? fs.readFileSync(this.calls, "utf8").trim().split("\n") : [];
    return { status: run.status, calls, output: `${run.stdout}${run.stderr}` };
  }

  failNextIssuance(): void {
    fs.writeFileSync(path.join(this.root, "fail-next"), "");
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

describe("TLS bootstrap scripts (run with sh against stubs)", () => {
  let box: Sandbox;
  beforeEach(() => {
    box = new Sandbox();
  });
  afterEach(() => box.cleanup());

  it("are valid sh", () => {
    for (const s of [placeholderScript(SETTINGS), certbotScript(SETTINGS), certbotScript({ ...SETTINGS, staging: true }), activationScript(SETTINGS, "c", "n")]) execFileSync("sh", ["-n"], { input: s });
  });

  it("placeholder: writes a marked self-signed cert only when none exists, and hands the files to nginx's uid", () => {
    const first = box.run(placeholderScript(SETTINGS));
    assert.equal(first.status, 0, first.output);
    assert.equal(fs.readFileSync(path.join(box.live, "fullchain.pem"), "utf8").trim(), "SELF-SIGNED");
    assert.ok(fs.existsSync(path.join(box.live, PLACEHOLDER_MARKER)));
    assert.ok(first.calls.some((c) => c.startsWith("chown -R 101:101")), first.calls.join("\n"));
    fs.writeFileSync(path.join(box.live, "fullchain.pem"), "ISSUED\n");
    fs.rmSync(path.join(box.live, PLACEHOLDER_MARKER));
    const second = box.run(placeholderScript(SETTINGS));
    assert.equal(second.status, 0);
    assert.equal(second.calls.filter((c) => c.startsWith("openssl")).length, 1, "an existing certificate is left alone");
    assert.equal(fs.readFileSync(path.join(box.live, "fullchain.pem"), "utf8").trim(), "ISSUED");
  });

  it("certbot: waits for nginx, replaces the placeholder (restoring it after a failed try), then renews every 12 h", () => {
    assert.equal(box.run(placeholderScript(SETTINGS)).status, 0);
    box.failNextIssuance();
    const result = box.run(certbotScript(SETTINGS), 3);
    const certbot = result.calls.filter((c) => c.startsWith("certbot"));
    assert.equal(certbot.length, 3, result.calls.join("\n"));
    assert.match(certbot[0], /^certbot certonly --webroot -w \S+\/acme --cert-name staging\.example\.com -d staging\.example\.com -d api\.staging\.example\.com --email ops@example\.com --agree-tos --no-eff-email --non-interactive --keep-until-expiring --expand$/);
    assert.equal(certbot[1], certbot[0], "the retry asks for the same certificate");
    assert.match(certbot[2], /^certbot renew --webroot/);
    assert.ok(result.calls.findIndex((c) => c.startsWith("wget")) < result.calls.findIndex((c) => c.startsWith("certbot")), "nginx serves the ACME path before the first request");
    assert.deepEqual(result.calls.filter((c) => c.startsWith("sleep")), ["sleep 1800", "sleep 43200", "sleep 43200"]);
    assert.equal(result.calls.filter((c) => c.startsWith("openssl")).length, 2, "the placeholder is restored after the failed try");
    assert.equal(fs.readFileSync(path.join(box.live, "fullchain.pem"), "utf8").trim(), "ISSUED");
    assert.ok(!fs.existsSync(path.join(box.live, PLACEHOLDER_MARKER)));
    assert.ok(!fs.existsSync(path.join(box.acme, ".well-known/acme-challenge/djangostack-probe")), "the probe file is removed");
  });

  it("certbot: uses --test-cert for the staging CA, and forces a re-issue when the CA changes", () => {
    const staging = box.run(certbotScript({ ...SETTINGS, staging: true }), 1);
    assert.match(staging.calls.find((c) => c.startsWith("certbot certonly")) ?? "", / --test-cert$/);
    fs.writeFileSync(path.join(box.le, "renewal", `${SETTINGS.domain}.conf`), "server = https://acme-staging-v02.api.letsencrypt.org/directory\n");
    const box2 = box.run(certbotScript(SETTINGS), 1);
    assert.match(box2.calls.filter((c) => c.startsWith("certbot certonly")).at(-1) ?? "", /--force-renewal --break-my-certs$/);
  });

  it("refuses names that are not safe to put in a shell script", () => {
    assert.throws(() => certbotScript({ ...SETTINGS, email: "a@b.c; rm -rf /" }), /certbot script/);
    assert.throws(() => placeholderScript({ ...SETTINGS, domain: "$(reboot)" }), /certbot script/);
  });
});
