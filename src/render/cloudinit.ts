/**
 * cloud-init renderer: the one-time bootstrap of the staging Droplet (Ubuntu 24.04 LTS).
 *
 * Pure: a function of `CloudInitInput`. The text depends only on host settings (deploy user, swap,
 * Docker log limits) — never on apps, images, domains, admin CIDRs or anything else that changes with
 * a release — and holds no timestamp, so re-rendering it for an unrelated change gives the same bytes.
 * That matters because DigitalOcean replaces a Droplet whose `user_data` changes (see droplet/host.ts).
 *
 * What it sets up:
 * - Docker Engine from Docker's own apt repository (docker-ce), not Ubuntu's `docker.io`: the engine
 *   Docker documents and patches first, with the buildx/compose plugins. The repository key is fetched
 *   over HTTPS and checked against Docker's published fingerprint before apt trusts it.
 *   `/etc/docker/daemon.json` caps json-file logs (the same numbers as `docker.logMaxSize/logMaxFiles`)
 *   and enables live-restore so a daemon upgrade does not stop the containers.
 * - A non-root deploy user in the `docker` group (what the docker provider connects as) with the SSH
 *   keys DigitalOcean installed for root, then root login and password authentication switched off.
 *   The keys are copied before sshd is hardened, and the bootstrap stops (leaving root login intact)
 *   if none were found, so a bad run never locks every key out.
 * - Unattended security upgrades (Ubuntu's security pocket only; Docker's repository is not in the
 *   allowed origins, so the engine never restarts under the app unannounced), automatic reboot at
 *   04:00 UTC when a kernel update needs it (containers come back by their restart policy).
 * - A swap file, fail2ban's sshd jail (installed after the deploy keys are in place, so the deploy
 *   tool's connection retries during bootstrap cannot get the operator banned), journald size limits,
 *   kernel settings Redis asks for, and a marker file written as the very last step.
 */
import YAML from "yaml";

export interface CloudInitInput {
  deployUser: string;
  /** 0 disables the swap file. */
  swapGiB: number;
  docker: { logMaxSizeMiB: number; logMaxFiles: number };
  /** journald's SystemMaxUse, e.g. "500M". */
  journalMaxUse: string;
}

/** Written by the bootstrap as its last step; the deploy waits for it. */
export const BOOTSTRAP_MARKER = "/var/lib/djangostack/bootstrap-done";
export const BOOTSTRAP_SCRIPT = "/usr/local/sbin/djangostack-bootstrap";
/** Docker's release signing key (https://docs.docker.com/engine/install/ubuntu/). */
export const DOCKER_GPG_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";
export const DOCKER_PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"];
export const SSHD_DROPIN = "/etc/ssh/sshd_config.d/10-djangostack.conf";
const SSHD_STAGED = "/etc/djangostack/sshd-hardening.conf";

/**
 * `sed -nE` program printing "type base64" of every public key line of an authorized_keys file, with or
 * without an options prefix (cloud-init's disable_root writes `no-port-forwarding,...,command="..." ssh-...`).
 */
export const KEY_EXTRACT_SED =
  "s/^(.*[[:space:]])?((ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com)[[:space:]]+[A-Za-z0-9+\\/=]+).*$/\\2/p";

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function dockerDaemonJson(docker: CloudInitInput["docker"]): string {
  const daemon = {
    "log-driver": "json-file",
    "log-opts": { "max-size": `${docker.logMaxSizeMiB}m`, "max-file": String(docker.logMaxFiles) },
    "live-restore": true,
  };
  return `${JSON.stringify(daemon, null, 2)}\n`;
}

/** sshd settings; `10-` sorts before cloud-init's `50-cloud-init.conf`, and sshd keeps the first value it reads. */
export function sshdHardening(deployUser: string): string {
  return [
    "# djangostack: key-only SSH as the deploy user; root login off.",
    "PermitRootLogin no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    `AllowUsers ${deployUser}`,
    "X11Forwarding no",
    "MaxAuthTries 4",
    // The docker provider opens one SSH connection per API call and runs them in parallel.
    "MaxStartups 30:50:100",
    "MaxSessions 32",
    "",
  ].join("\n");
}

const FAIL2BAN_SSHD = [
  "[DEFAULT]",
  "ignoreip = 127.0.0.1/8 ::1",
  "",
  "[sshd]",
  "enabled = true",
  "backend = systemd",
  "maxretry = 5",
  "findtime = 10m",
  "bantime = 1h",
  "",
].join("\n");

const AUTO_UPGRADES = ['APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', 'APT::Periodic::AutocleanInterval "7";', ""].join("\n");

const UNATTENDED_UPGRADES = [
  "// djangostack: security updates only (Ubuntu's default origins); Docker's repository is not listed.",
  'Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";',
  'Unattended-Upgrade::Remove-Unused-Dependencies "true";',
  'Unattended-Upgrade::Automatic-Reboot "true";',
  'Unattended-Upgrade::Automatic-Reboot-Time "04:00";',
  "",
].join("\n");

const SYSCTL = [
  "# djangostack: prefer RAM, keep swap for spikes; Redis background saves need overcommit.",
  "vm.swappiness = 10",
  "vm.overcommit_memory = 1",
  "",
].join("\n");

function journald(maxUse: string): string {
  return ["[Journal]", `SystemMaxUse=${maxUse}`, "MaxRetentionSec=1month", ""].join("\n");
}

/** The bootstrap script cloud-init's runcmd runs once. Idempotent: a rerun converges to the same host. */
export function bootstrapScript(input: CloudInitInput): string {
  return `#!/bin/sh
# djangostack one-time host bootstrap, run by cloud-init (runcmd). Output: /var/log/cloud-init-output.log
set -eu
DEPLOY_USER=${input.deployUser}
MARKER=${BOOTSTRAP_MARKER}
export DEBIAN_FRONTEND=noninteractive
# Another apt (the first unattended-upgrades run) may hold the lock at first boot: wait for it.
APT="apt-get -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confold -y"
log() { echo "djangostack-bootstrap: $*"; }

log "1/5 SSH keys for $DEPLOY_USER (copied from the keys DigitalOcean installed for root)"
home=$(getent passwd "$DEPLOY_USER" | cut -d: -f6)
install -d -m 0700 -o "$DEPLOY_USER" -g "$DEPLOY_USER" "$home/.ssh"
# Keep only "type base64" of each key, dropping any options prefix (e.g. a disable_root command=).
sed -nE '${KEY_EXTRACT_SED}' /root/.ssh/authorized_keys 2>/dev/null | sort -u > /tmp/djangostack-keys
if [ ! -s /tmp/djangostack-keys ]; then
  log "no SSH key in /root/.ssh/authorized_keys; stopping before root login is disabled"
  exit 1
fi
install -m 0600 -o "$DEPLOY_USER" -g "$DEPLOY_USER" /tmp/djangostack-keys "$home/.ssh/authorized_keys"
rm -f /tmp/djangostack-keys

log "2/5 sshd: no root login, no passwords"
install -m 0644 ${SSHD_STAGED} ${SSHD_DROPIN}
mkdir -p -m 0755 /run/sshd
sshd -t
systemctl restart ssh

log "3/5 host limits"
sysctl --system >/dev/null
systemctl restart systemd-journald
systemctl enable --now unattended-upgrades

log "4/5 fail2ban (sshd jail)"
$APT install fail2ban python3-systemd
systemctl enable fail2ban
systemctl restart fail2ban

log "5/5 Docker Engine from Docker's apt repository"
if ! command -v dockerd >/dev/null 2>&1; then
  install -m 0755 -d /etc/apt/keyrings
  curl -fsSL --retry 5 https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc
  if ! gpg --show-keys --with-colons /etc/apt/keyrings/docker.asc | grep -q ":${DOCKER_GPG_FINGERPRINT}:"; then
    log "Docker's apt key does not have the expected fingerprint ${DOCKER_GPG_FINGERPRINT}"
    exit 1
  fi
  chmod a+r /etc/apt/keyrings/docker.asc
  . /etc/os-release
  echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu \${UBUNTU_CODENAME:-$VERSION_CODENAME} stable" > /etc/apt/sources.list.d/docker.list
  $APT update
  $APT install ${DOCKER_PACKAGES.join(" ")}
fi
systemctl enable --now docker
docker info >/dev/null

install -d -m 0755 "$(dirname "$MARKER")"
date -u +%Y-%m-%dT%H:%M:%SZ > "$MARKER"
log "done"
`;
}

/** The complete user data: `#cloud-config` followed by YAML. */
export function renderCloudInit(input: CloudInitInput): string {
  if (!USER.test(input.deployUser) || input.deployUser === "root") throw new Error(`cloud-init: invalid deploy user "${input.deployUser}"`);
  if (!Number.isInteger(input.swapGiB) || input.swapGiB < 0) throw new Error(`cloud-init: swapGiB must be a whole number >= 0, got ${input.swapGiB}`);
  if (!/^[0-9]+[KMG]$/.test(input.journalMaxUse)) throw new Error(`cloud-init: journalMaxUse must look like 500M, got ${input.journalMaxUse}`);
  const file = (path: string, content: string, permissions = "0644") => ({ path, content, owner: "root:root", permissions });
  const doc: Record<string, unknown> = {
    // Created before the users module so the deploy user can join it; docker-ce keeps an existing group.
    groups: ["docker"],
    users: [
      "default",
      {
        name: input.deployUser,
        gecos: "djangostack deploy",
        shell: "/bin/bash",
        groups: ["docker"],
        lock_passwd: true,
        // Membership of `docker` is root-equivalent already; sudo only spares a second login path for host chores.
        sudo: "ALL=(ALL) NOPASSWD:ALL",
      },
    ],
    ssh_pwauth: false,
    timezone: "Etc/UTC",
    package_update: true,
    // Security updates arrive through unattended-upgrades; a full upgrade at first boot only slows it.
    package_upgrade: false,
    packages: ["ca-certificates", "curl", "gnupg", "unattended-upgrades"],
    ...(input.swapGiB > 0 ? { swap: { filename: "/swapfile", size: input.swapGiB * 1024 ** 3, maxsize: input.swapGiB * 1024 ** 3 } } : {}),
    write_files: [
      file("/etc/docker/daemon.json", dockerDaemonJson(input.docker)),
      file("/etc/systemd/journald.conf.d/50-djangostack.conf", journald(input.journalMaxUse)),
      file("/etc/sysctl.d/60-djangostack.conf", SYSCTL),
      file("/etc/apt/apt.conf.d/20auto-upgrades", AUTO_UPGRADES),
      file("/etc/apt/apt.conf.d/52djangostack-unattended-upgrades", UNATTENDED_UPGRADES),
      file("/etc/fail2ban/jail.d/djangostack-sshd.local", FAIL2BAN_SSHD),
      // Staged, not live: the bootstrap installs it only after the deploy user has its keys.
      file(SSHD_STAGED, sshdHardening(input.deployUser)),
      file(BOOTSTRAP_SCRIPT, bootstrapScript(input), "0755"),
    ],
    runcmd: [[BOOTSTRAP_SCRIPT]],
  };
  return `#cloud-config\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}

/**
 * The command the deploy runs over SSH (as the deploy user) before any Docker resource: waits for
 * cloud-init, fails with its status when the bootstrap did not finish, and prints the engine version.
 * `cloud-init status --wait` exits 2 for recoverable warnings (deprecated keys), so the marker decides.
 */
export function waitForBootstrapCommand(): string {
  return [
    "cloud-init status --wait >/dev/null 2>&1 || true",
    `if [ ! -f ${BOOTSTRAP_MARKER} ]; then echo "djangostack: the cloud-init bootstrap did not finish; see /var/log/cloud-init-output.log" >&2; cloud-init status --long >&2; exit 1; fi`,
    "docker version --format '{{.Server.Version}}'",
  ].join("\n");
}
