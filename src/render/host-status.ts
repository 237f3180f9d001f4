/**
 * Container health, made visible from outside the Droplet. DigitalOcean Monitoring sees the host, not
 * its containers, so a host-side checker (a systemd timer, as the deploy user, who is in the docker
 * group) reads the state of the stack's containers every minute and keeps one file, named by a secret
 * token, in a directory nginx serves read-only: present while every long-lived container runs and
 * none is unhealthy or restarting, removed otherwise. An Uptime check on that URL then alerts on
 * "down" (nginx answers 404). Nothing reaches the Docker socket but the checker on the host itself;
 * nginx only ever serves a static file, and the token keeps the URL unguessable.
 *
 * Pure text: the install script goes to the host over SSH on stdin (never in argv), because the
 * Droplet's cloud-init runs once at first boot and is never re-applied to a running Droplet.
 */

/** Where the status lives on the host, where nginx sees it, and the URL prefix nginx serves it under. */
export const HOST_STATUS = {
  hostDir: "/var/lib/djangostack/status",
  containerDir: "/srv/djangostack-status",
  /** App names start with a letter (config APP_NAME), so no app's health path falls under it. */
  urlPrefix: "/_djangostack/_host/",
  tokenFile: "/etc/djangostack/status-token",
  script: "/usr/local/lib/djangostack/container-status",
  /** Restart counts seen by the last run, so a container that restarted since is reported once. */
  restartsFile: "/var/lib/djangostack/status-restarts",
  unit: "djangostack-container-status",
  intervalSeconds: 60,
} as const;

/** The nginx input that serves the status: on the Droplet only, where the checker keeps it. */
export const hostStatusNginx = (target: string): { hostStatusDir?: string } => (target === "droplet" ? { hostStatusDir: HOST_STATUS.containerDir } : {});

const TOKEN = /^[A-Za-z0-9]{24,128}$/;
const STACK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * The checker (POSIX sh, run by systemd every minute). It removes the status file first, so any
 * failure on the way (the Docker daemon down, a bad answer) leaves the check down, and writes it back
 * only when every container of the stack passes:
 * - a long-lived container (restart policy unless-stopped) must be running and not unhealthy;
 * - no container may be restarting, or have restarted since the last run (a crash loop);
 * - one-offs (restart policy no: migrations, init) may have exited.
 * What failed goes to stdout, i.e. the journal (`journalctl -u djangostack-container-status`).
 */
export function renderHostStatusScript(stack: string, paths: { hostDir: string; tokenFile: string; restartsFile: string } = HOST_STATUS): string {
  if (!STACK.test(stack)) throw new Error(`renderHostStatusScript: ${JSON.stringify(stack)} is not a stack name`);
  const h = paths;
  return `#!/bin/sh
# djangostack container status for stack ${stack}: rendered by djangostack, do not edit.
set -u
token=$(cat ${h.tokenFile}) || exit 1
status="${h.hostDir}/$token"
rm -f "$status"
ids=$(docker ps -aq --filter label=djangostack.stack=${stack}) || { echo "docker ps failed"; exit 1; }
[ -n "$ids" ] || { echo "no container of stack ${stack}"; exit 1; }
# shellcheck disable=SC2086
report=$(docker inspect --format '{{.Id}} {{.Name}} {{.State.Status}} {{.HostConfig.RestartPolicy.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}' $ids) || { echo "docker inspect failed"; exit 1; }
previous=$(cat ${h.restartsFile} 2>/dev/null || true)
bad=0
seen=""
while read -r id name state policy health restarts; do
  [ -n "$id" ] || continue
  seen="$seen$id $restarts
"
  reason=""
  if [ "$state" = restarting ]; then reason="restarting"
  elif [ "$policy" != no ] && [ "$state" != running ]; then reason="$state"
  elif [ "$health" = unhealthy ]; then reason="unhealthy"
  else
    before=$(printf '%s\\n' "$previous" | while read -r pid pcount; do [ "$pid" = "$id" ] && echo "$pcount"; done)
    if [ -n "$before" ] && [ "$restarts" -gt "$before" ]; then reason="restarted ($before -> $restarts)"; fi
  fi
  if [ -n "$reason" ]; then echo "\${name#/}: $reason"; bad=$((bad + 1)); fi
done <<EOF
$report
EOF
# In place: the file is the deploy user's, its directory is not.
printf '%s' "$seen" > ${h.restartsFile}
if [ "$bad" -gt 0 ]; then echo "$bad container(s) failing: status down"; exit 1; fi
printf 'ok %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$status.tmp" && mv "$status.tmp" "$status"
`;
}

/**
 * The install script, run with `sudo sh` over SSH with this text on stdin: the checker, the token
 * (0600, the deploy user's), a oneshot service and a timer. Idempotent: a changed stack or token
 * rewrites every file and restarts the timer.
 */
export function renderHostStatusInstall(stack: string, deployUser: string, token: string): string {
  if (!USER.test(deployUser)) throw new Error(`renderHostStatusInstall: ${JSON.stringify(deployUser)} is not a user name`);
  if (!TOKEN.test(token)) throw new Error("renderHostStatusInstall: the token must be 24-128 letters and digits");
  const h = HOST_STATUS;
  const script = renderHostStatusScript(stack);
  return `set -eu
umask 077
install -d -m 0755 ${h.hostDir.replace(/\/status$/, "")} /usr/local/lib/djangostack /etc/djangostack
install -d -m 0755 -o ${deployUser} -g ${deployUser} ${h.hostDir}
# Only the current token's file may be served: a rotated token's old file goes.
find ${h.hostDir} -mindepth 1 -delete
cat > ${h.script} <<'DJANGOSTACK_SCRIPT'
${script}DJANGOSTACK_SCRIPT
chmod 0755 ${h.script}
printf '%s\\n' '${token}' > ${h.tokenFile}
chown ${deployUser}:${deployUser} ${h.tokenFile}
chmod 0600 ${h.tokenFile}
touch ${h.restartsFile}
chown ${deployUser}:${deployUser} ${h.restartsFile}
cat > /etc/systemd/system/${h.unit}.service <<'DJANGOSTACK_UNIT'
[Unit]
Description=djangostack container status (stack ${stack})
After=docker.service

[Service]
Type=oneshot
User=${deployUser}
ExecStart=${h.script}
DJANGOSTACK_UNIT
cat > /etc/systemd/system/${h.unit}.timer <<'DJANGOSTACK_UNIT'
[Unit]
Description=djangostack container status every ${h.intervalSeconds}s

[Timer]
OnBootSec=${h.intervalSeconds}s
OnUnitActiveSec=${h.intervalSeconds}s
AccuracySec=5s

[Install]
WantedBy=timers.target
DJANGOSTACK_UNIT
chmod 0644 /etc/systemd/system/${h.unit}.service /etc/systemd/system/${h.unit}.timer
systemctl daemon-reload
systemctl enable ${h.unit}.timer
systemctl restart ${h.unit}.timer
echo installed
`;
}
