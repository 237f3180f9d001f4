/**
 * Outbound traffic from the Droplet's reserved IP (`droplet.egress: reserved-ip`), so a server that
 * allow-lists the stack (seed 004's ClickHouse) keeps admitting it when the Droplet is replaced.
 *
 * DigitalOcean sends a Droplet's outbound traffic from its own public IP; it leaves from the reserved IP
 * only when the default route goes through the gateway of the Droplet's anchor IP (the Droplet Metadata
 * API: `reserved_ip/ipv4/active`, `interfaces/public/0/anchor_ipv4/{address,gateway}`,
 * `interfaces/public/0/ipv4/{address,gateway}`; docs.digitalocean.com/reference/api/metadata/). A
 * route set once is lost on reboot and stale after the reserved IP moves, so a systemd timer keeps it:
 * through the anchor gateway while the reserved IP is assigned, through the public gateway otherwise.
 * Not cloud-init: the user data is a one-time bootstrap (a change would not reach a running Droplet).
 */

export const EGRESS_SCRIPT_PATH = "/usr/local/lib/djangostack/egress";
export const EGRESS_UNIT = "djangostack-egress";

/**
 * POSIX sh; reads the metadata service at `metadataUrl` (a parameter so a test can serve its own).
 * With the argument `droplet-ip` it puts the public gateway back whatever the metadata says.
 */
export function renderEgressScript(metadataUrl = "http://169.254.169.254/metadata/v1"): string {
  return `#!/bin/sh
# djangostack: route outbound traffic through the reserved IP while it is assigned (see src/render/egress.ts).
set -eu
md=${metadataUrl}
get() { curl -fsS --max-time 3 "$md/$1"; }
if [ "\${1:-}" != droplet-ip ] && [ "$(get reserved_ip/ipv4/active 2>/dev/null || echo false)" = true ]; then
  kind=reserved-ip; via=$(get interfaces/public/0/anchor_ipv4/gateway); src=$(get interfaces/public/0/anchor_ipv4/address)
else
  kind=droplet-ip; via=$(get interfaces/public/0/ipv4/gateway); src=$(get interfaces/public/0/ipv4/address)
fi
ipv4() { case "$1" in *[!0-9.]*|.*|*.|*..*|"") return 1 ;; esac; [ "$(echo "$1" | tr -cd . | wc -c)" -eq 3 ]; }
if ! ipv4 "$via" || ! ipv4 "$src"; then echo "djangostack-egress: unexpected metadata (gateway '$via', address '$src'); route left alone" >&2; exit 1; fi
# The interface that holds the address: eth0 on DigitalOcean's images, found rather than assumed.
dev=$(ip -4 -o addr show | awk -v a="$src" '{ split($4, p, "/"); if (p[1] == a) { print $2; exit } }')
[ -n "$dev" ] || { echo "djangostack-egress: no interface holds $src; route left alone" >&2; exit 1; }
want="default via $via dev $dev src $src"
if [ "$(ip -4 route show default | head -n 1 | sed 's/ *$//')" != "$want" ]; then
  ip route replace default via "$via" dev "$dev" src "$src"
  echo "djangostack-egress: outbound traffic now leaves from $src ($kind)"
fi
`;
}

/** The oneshot service and the timer that runs it at boot and every minute. */
export function renderEgressUnits(): { service: string; timer: string } {
  return {
    service: [
      "[Unit]",
      "Description=djangostack: outbound traffic through the reserved IP",
      "Wants=network-online.target",
      "After=network-online.target",
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${EGRESS_SCRIPT_PATH}`,
      "",
    ].join("\n"),
    timer: [
      "[Unit]",
      "Description=djangostack: keep the outbound route on the reserved IP",
      "",
      "[Timer]",
      "OnBootSec=15s",
      "OnUnitActiveSec=1min",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}

const installFile = (path: string, mode: string, content: string): string =>
  `printf '%s' '${Buffer.from(content).toString("base64")}' | base64 -d | sudo install -D -m ${mode} /dev/stdin ${path}`;

/** What `pulumi up` runs on the Droplet (as the deploy user, who has sudo): files, timer, one run now. */
export function egressInstallCommand(): string {
  const units = renderEgressUnits();
  return [
    "set -eu",
    installFile(EGRESS_SCRIPT_PATH, "0755", renderEgressScript()),
    installFile(`/etc/systemd/system/${EGRESS_UNIT}.service`, "0644", units.service),
    installFile(`/etc/systemd/system/${EGRESS_UNIT}.timer`, "0644", units.timer),
    "sudo systemctl daemon-reload",
    `sudo systemctl enable --now ${EGRESS_UNIT}.timer`,
    `sudo ${EGRESS_SCRIPT_PATH}`,
  ].join("\n");
}

/**
 * Undoes the install (egress back to `droplet-ip`, or the stack destroyed): the timer goes and the
 * default route returns to the public gateway. Tolerant of a host that never had it.
 */
export function egressRemoveCommand(): string {
  return [
    `sudo systemctl disable --now ${EGRESS_UNIT}.timer 2>/dev/null || true`,
    `if [ -x ${EGRESS_SCRIPT_PATH} ]; then sudo ${EGRESS_SCRIPT_PATH} droplet-ip || true; fi`,
    `sudo rm -f /etc/systemd/system/${EGRESS_UNIT}.service /etc/systemd/system/${EGRESS_UNIT}.timer ${EGRESS_SCRIPT_PATH}`,
    "sudo systemctl daemon-reload",
  ].join("\n");
}
