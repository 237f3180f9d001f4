/**
 * Liveness on Docker. A container has one healthcheck and Docker's restart policy ignores its
 * result, so a hung process would run forever. The healthcheck rendered here runs both probes: the
 * readiness result is its exit status (what `docker inspect` reports and the deploy waits for), and
 * failed liveness checks are counted in a file; at the threshold it stops the app itself, so the
 * container exits and `restart: unless-stopped` starts it again.
 */
import { ProbeTiming } from "../model/types";

/** A Docker healthcheck `test`: `["CMD", argv...]` or `["CMD-SHELL", script]`. */
export type HealthcheckTestArray = readonly string[];

/** Where the script keeps its count; /tmp is a tmpfs in our containers (the root is read-only). */
export const LIVENESS_STATE_FILE = "/tmp/.djangostack-liveness";

export interface LivenessWatchdogOptions {
  /** Absolute path of the counter file (default {@link LIVENESS_STATE_FILE}); must be writable. */
  stateFile?: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** A test array as one shell command line; CMD-SHELL runs through `/bin/sh -c`, as Docker does. */
function commandLine(test: HealthcheckTestArray, which: string): string {
  const [kind, ...rest] = test;
  if (kind === "CMD" && rest.length > 0 && rest[0] !== "") return rest.map(quote).join(" ");
  if (kind === "CMD-SHELL" && rest.length === 1 && rest[0].trim() !== "") return `/bin/sh -c ${quote(rest[0])}`;
  throw new Error(`watchdog: the ${which} test must be ["CMD", argv...] or ["CMD-SHELL", script], got ${JSON.stringify(test)}`);
}

function wholeSeconds(name: keyof ProbeTiming, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`watchdog: timing.${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * The Docker healthcheck `test` that watches liveness and reports readiness:
 * `["CMD-SHELL", script]` for a POSIX sh script (dash, busybox ash) using only sh builtins,
 * `sleep` and `getconf` (optional), which Docker runs every interval inside the container:
 *
 * 1. Runs `liveness` and `readiness` concurrently (once when they are equal), each bounded to
 *    `timeoutSeconds - 1` (at least 1) seconds, so the script ends before Docker's `timeout` does.
 * 2. Counts consecutive liveness failures in `stateFile`, stamped with PID 1's start time so a
 *    count from an earlier start of the container is ignored. Failures are counted once
 *    `startPeriodSeconds` have passed since PID 1 started, or after liveness has once succeeded
 *    (Docker's own start-period rule). The failure is written before the probe runs, so a check
 *    Docker cuts off at its timeout still counts; a success resets the count.
 * 3. At `failureThreshold` failures it sends SIGTERM to PID 1 and to every child of PID 1 (not to
 *    itself or its ancestors); from `failureThreshold + 2` on, SIGKILL to those children. With
 *    `init: true` PID 1 is docker-init (tini) and the app is its child: the app exits, tini exits
 *    with it, and the restart policy restarts the container.
 * 4. Exits 0 when readiness passed, 1 otherwise, whatever liveness said. Readiness output is kept
 *    for Docker's health log, followed by one `liveness: ...` line.
 *
 * Set Docker's healthcheck `interval`, `timeout`, `retries` and `startPeriod` from the same timing.
 * The container needs `init: true` (a PID 1 without init ignores SIGKILL from inside) and a writable
 * `stateFile`; without one, nothing is ever killed and readiness still works.
 */
export function renderLivenessWatchdog(liveness: HealthcheckTestArray, readiness: HealthcheckTestArray, timing: ProbeTiming, options: LivenessWatchdogOptions = {}): ["CMD-SHELL", string] {
  const live = commandLine(liveness, "liveness");
  const ready = commandLine(readiness, "readiness");
  const threshold = wholeSeconds("failureThreshold", timing.failureThreshold, 1);
  const startPeriod = wholeSeconds("startPeriodSeconds", timing.startPeriodSeconds, 0);
  const deadline = Math.max(1, wholeSeconds("timeoutSeconds", timing.timeoutSeconds, 1) - 1);
  wholeSeconds("intervalSeconds", timing.intervalSeconds, 1);
  const file = options.stateFile ?? LIVENESS_STATE_FILE;
  if (!file.startsWith("/")) throw new Error(`watchdog: stateFile must be an absolute path, got ${JSON.stringify(file)}`);
  const f = quote(file);
  const same = live === ready;

  const lines = [
    // Fields after the last ')' (comm may hold spaces and parens): $2 is ppid, ${20} starttime.
    `read -r s </proc/1/stat; set -- \${s##*)}; st=\${20}`,
    `hz=$(getconf CLK_TCK 2>/dev/null) || hz=`,
    `case $hz in ''|*[!0-9]*|0) hz=100;; esac`,
    // Container age in clock ticks; /proc/uptime has two decimals ("1" keeps a leading 0 from reading as octal).
    `read -r up _ </proc/uptime; age=$(( (\${up%.*} * 100 + 1\${up#*.} - 100) * hz / 100 - st ))`,
    // State: PID 1's start time, failures counted, liveness has passed once, the check that wrote it finished.
    `c=0 seen=0 done=1 fst= fc= fseen= fdone=`,
    `[ -r ${f} ] && { read -r fst fc fseen fdone <${f} || :; }`,
    // A count from an earlier start of this container (a /tmp that is not a tmpfs) does not apply.
    `if [ "$fst" = "$st" ]; then case $fc in ''|*[!0-9]*) ;; *) c=$fc;; esac; [ "$fseen" = 1 ] && seen=1; [ "$fdone" = 0 ] && done=0; fi`,
    `counting=0; if [ $seen = 1 ] || [ $age -ge $((${startPeriod} * hz)) ]; then counting=1; fi`,
    `sig() {`,
    // Only in the pid namespace /proc shows: a shell outside it would signal the wrong processes.
    `  { read -r s </proc/self/stat; } 2>/dev/null || s=`,
    `  if [ "\${s%% *}" != "$$" ]; then echo "watchdog: not signalling, /proc is not this shell's pid namespace"; return; fi`,
    `  S=$1 me=" $$ " p=$$`,
    `  while :; do { read -r s </proc/$p/stat; } 2>/dev/null || break; set -- \${s##*)}; p=$2; case $p in ''|0|1) break;; esac; me="$me$p "; done`,
    `  k=`,
    `  for d in /proc/[0-9]*; do`,
    `    p=\${d#/proc/}`,
    `    case $me in *" $p "*) continue;; esac`,
    `    { read -r s <$d/stat; } 2>/dev/null || continue`,
    `    set -- \${s##*)}`,
    `    [ "$2" = 1 ] && k="$k $p"`,
    `  done`,
    // Said first: when the app exits, the container ends and this check with it.
    `  echo "watchdog: sending $S to pid 1 children:$k"`,
    `  [ -n "$k" ] && kill -$S $k 2>/dev/null`,
    // PID 1 itself: tini forwards TERM to the app; an app that is PID 1 (no init) still stops.
    `  [ $S = TERM ] && kill -TERM 1 2>/dev/null`,
    `  :`,
    `}`,
    `level() { if [ $1 -ge ${threshold + 2} ]; then sig KILL; elif [ $1 -ge ${threshold} ]; then sig TERM; fi; }`,
    // The last check counted a failure and ended before acting on it (Docker's timeout cut it off).
    `[ $counting = 1 ] && [ $done = 0 ] && [ $c -ge ${threshold} ] && { echo "liveness: the last check was cut off at $c failures"; level $c; }`,
    `[ $counting = 1 ] && { echo "$st $((c + 1)) $seen 0" >${f}; } 2>/dev/null`,
    same ? `${live} & lp=$! rp=$lp` : `${live} >/dev/null 2>&1 & lp=$!`,
    ...(same ? [] : [`${ready} & rp=$!`]),
    // The deadline: killed early (t=1) it ends its sleep too, which would otherwise outlive it as a child of PID 1.
    `( t=0; trap t=1 TERM; sleep ${deadline} & w=$!; [ $t = 1 ] || wait $w; if [ $t = 1 ]; then kill $w; else kill -KILL $lp $rp; fi ) 2>/dev/null & tp=$!`,
    `wait $lp 2>/dev/null; lr=$?`,
    same ? `rr=$lr` : `wait $rp 2>/dev/null; rr=$?`,
    `kill $tp 2>/dev/null; wait $tp 2>/dev/null`,
    `if [ $lr = 0 ]; then { echo "$st 0 1 1" >${f}; } 2>/dev/null; echo "liveness: ok"`,
    `elif [ $counting = 1 ]; then c=$((c + 1)); { echo "$st $c $seen 1" >${f}; } 2>/dev/null; echo "liveness: failed ($c/${threshold})"; level $c`,
    `else echo "liveness: failed (start period, not counted)"; fi`,
    `[ $rr = 0 ]`,
  ];
  return ["CMD-SHELL", lines.join("\n")];
}
