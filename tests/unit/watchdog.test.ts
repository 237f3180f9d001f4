/**
 * The Docker liveness watchdog's rendered script: its shape, its quoting and its inputs. The script
 * itself signals PID 1's children, so it never runs here (only `sh -n`); its behaviour is proven in
 * private pid namespaces by tests/integration/docker-liveness.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { ProbeTiming } from "../../src/model/types";
import { LIVENESS_STATE_FILE, renderLivenessWatchdog } from "../../src/render/watchdog";

const TIMING: ProbeTiming = { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3, startPeriodSeconds: 20 };
const LIVE = ["CMD", "python", "-c", "import sys,urllib.request as u; r=u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': 'localhost'}), timeout=5); sys.exit(0 if r.status < 400 else 1)"];
const READY = ["CMD-SHELL", "nc -z 127.0.0.1 8000"];

const script = (liveness: readonly string[] = LIVE, readiness: readonly string[] = READY, timing: ProbeTiming = TIMING): string => {
  const test = renderLivenessWatchdog(liveness, readiness, timing);
  assert.equal(test.length, 2);
  assert.equal(test[0], "CMD-SHELL");
  return test[1];
};

/** The command line that starts liveness in the background (it may span lines), without `&`. */
function livenessLine(text: string): string {
  const end = text.indexOf(" >/dev/null 2>&1 & lp=$!");
  assert.ok(end > 0, "a line starts the liveness command in the background");
  const provisional = text.lastIndexOf("$((c + 1)) $seen 0\" >", end);
  assert.ok(provisional > 0, "the provisional count is written before liveness runs");
  return text.slice(text.indexOf("\n", provisional) + 1, end);
}

const dash = (command: string): string => execFileSync("/bin/sh", ["-c", command], { encoding: "utf8" });
const shells = [["dash", "/usr/bin/dash"], ["busybox sh", "/usr/bin/busybox"]] as const;

describe("renderLivenessWatchdog", () => {
  it("passes every CMD element as one word, whatever it holds", () => {
    const argv = ["printf", "[%s]\\n", "it's", "$HOME", "a  b", "`id`", "$(id)", "semi;colon", "\\", "\"q\"", "*", "new\nline"];
    const out = dash(livenessLine(script(["CMD", ...argv])));
    assert.equal(out, argv.slice(2).map((a) => `[${a}]\n`).join(""));
  });

  it("runs the production HTTP probe's python source byte for byte", () => {
    const out = dash(livenessLine(script(["CMD", "printf", "%s", LIVE[3]])));
    assert.equal(out, LIVE[3]);
  });

  it("runs a CMD-SHELL string through /bin/sh -c unchanged, as Docker does", () => {
    const shell = "for w in a 'b c'; do printf '<%s>' \"$w\"; done; echo \" $((6 * 7))\"";
    const line = livenessLine(script(["CMD-SHELL", shell]));
    assert.match(line, /^\/bin\/sh -c '/);
    assert.equal(dash(line), dash(shell));
    assert.equal(dash(line), "<a><b c> 42\n");
  });

  it("runs one command when liveness and readiness are the same probe", () => {
    const once = script(LIVE, LIVE);
    assert.equal(once.split("urllib.request").length - 1, 1, "the probe appears once");
    assert.match(once, / & lp=\$! rp=\$lp$/m);
    assert.match(once, /^rr=\$lr$/m);
    const both = script(LIVE, READY);
    assert.match(both, /^\/bin\/sh -c 'nc -z 127\.0\.0\.1 8000' & rp=\$!$/m, "readiness output is kept for Docker's health log");
  });

  it("takes threshold, escalation, start period and the command deadline from the timing", () => {
    const text = script(LIVE, READY, { intervalSeconds: 7, timeoutSeconds: 6, failureThreshold: 4, startPeriodSeconds: 33 });
    assert.match(text, /^level\(\) \{ if \[ \$1 -ge 6 \]; then sig KILL; elif \[ \$1 -ge 4 \]; then sig TERM; fi; \}$/m);
    assert.match(text, /\[ \$age -ge \$\(\(33 \* hz\)\) \]/);
    assert.match(text, /sleep 5 & w=\$!/, "the commands stop one second before Docker's timeout");
    assert.match(text, /failed \(\$c\/4\)/);
    assert.match(script(LIVE, READY, { ...TIMING, timeoutSeconds: 1 }), /sleep 1 & w=\$!/, "never a zero deadline");
  });

  it("exits with readiness: the last command tests the readiness status only", () => {
    const lines = script().split("\n");
    assert.equal(lines[lines.length - 1], "[ $rr = 0 ]");
    assert.match(script(), /^wait \$rp 2>\/dev\/null; rr=\$\?$/m);
  });

  it("keeps its count in /tmp by default, stamped with PID 1's start, and quotes another path", () => {
    assert.equal(LIVENESS_STATE_FILE, "/tmp/.djangostack-liveness");
    assert.match(script(), /echo "\$st 0 1 1" >'\/tmp\/\.djangostack-liveness'/);
    const [, custom] = renderLivenessWatchdog(LIVE, READY, TIMING, { stateFile: "/run/it's here" });
    assert.match(custom, /<'\/run\/it'\\''s here'/);
    assert.doesNotMatch(custom, /djangostack-liveness/);
  });

  it("parses /proc stat fields after the last ')' and signals only inside its own pid namespace", () => {
    const text = script();
    assert.match(text, /set -- \$\{s##\*\)\}; st=\$\{20\}/, "starttime is field 22");
    assert.match(text, /\[ "\$2" = 1 \] && k="\$k \$p"/, "children of PID 1 by ppid, field 4");
    assert.match(text, /read -r s <\/proc\/self\/stat.*\n.*!= "\$\$" \]; then echo "watchdog: not signalling.*"; return; fi/);
    // The parse itself, on a comm with spaces and parens (a harmless line, run in dash).
    const stat = "42 (a) b (c) d) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0";
    assert.equal(dash(`s='${stat}'; set -- \${s##*)}; echo "$2 \${20}"`), "1 123456\n");
    // The age line on sample values: uptime 1300.07 s, started at tick 123000 (1230 s at 100 Hz): 7007 ticks.
    const ageLine = text.split("\n").find((l) => l.startsWith("read -r up _ </proc/uptime; "));
    assert.ok(ageLine);
    assert.equal(dash(`hz=100 st=123000; ${ageLine.replace("read -r up _ </proc/uptime", "up=1300.07")}; echo $age`), "7007\n");
    assert.equal(dash(`hz=250 st=250; ${ageLine.replace("read -r up _ </proc/uptime", "up=2.00")}; echo $age`), "250\n");
  });

  it("is valid POSIX sh for dash and busybox ash", () => {
    const text = script();
    for (const [name, shell] of shells) {
      assert.ok(fs.existsSync(shell), `${shell} is missing: install the Debian package "${name.split(" ")[0]}" (bash .ci/install-debian-packages.sh)`);
      const args = shell.endsWith("busybox") ? ["sh", "-n", "-c", text] : ["-n", "-c", text];
      execFileSync(shell, args, { encoding: "utf8" });
    }
    assert.doesNotMatch(text, /\[\[|==|\bfunction\b|\blocal\b|\$'|<<<|\bpipefail\b/, "no bash-isms");
  });

  it("rejects tests and timings it cannot render", () => {
    assert.throws(() => renderLivenessWatchdog(["NONE"], READY, TIMING), /liveness test must be/);
    assert.throws(() => renderLivenessWatchdog(LIVE, ["CMD"], TIMING), /readiness test must be/);
    assert.throws(() => renderLivenessWatchdog(LIVE, ["CMD-SHELL", "a", "b"], TIMING), /readiness test must be/);
    assert.throws(() => renderLivenessWatchdog(LIVE, ["CMD-SHELL", " "], TIMING), /readiness test must be/);
    assert.throws(() => renderLivenessWatchdog(["python", "-c", "1"], READY, TIMING), /liveness test must be/);
    assert.throws(() => renderLivenessWatchdog(LIVE, READY, { ...TIMING, failureThreshold: 0 }), /failureThreshold/);
    assert.throws(() => renderLivenessWatchdog(LIVE, READY, { ...TIMING, startPeriodSeconds: 1.5 }), /startPeriodSeconds/);
    assert.throws(() => renderLivenessWatchdog(LIVE, READY, { ...TIMING, timeoutSeconds: 0 }), /timeoutSeconds/);
    assert.throws(() => renderLivenessWatchdog(LIVE, READY, TIMING, { stateFile: "tmp/x" }), /absolute/);
  });
});
