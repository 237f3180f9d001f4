/**
 * Values that pass a type check but fail only on the host or in the cluster: system accounts, system
 * namespaces, colliding ports, an nginx too old for the rendered config, replicas a target cannot honour.
 */
import type { Checker } from "./checker";
import type { AppConfig, Target } from "./types";

/**
 * Accounts and groups that exist on Ubuntu 22.04/24.04 Droplet images before the bootstrap runs: Debian
 * base-passwd's passwd.master and group.master (the fixed ids below 100), the users and groups the
 * images' packages create (systemd, dbus, rsyslog, openssh, snapd/lxd, landscape, fwupd, chrony…), the
 * image's cloud-init default user `ubuntu`, and `docker`, the group the bootstrap creates. cloud-init
 * creates the deploy user with useradd, which refuses an existing user and a name that is already a
 * group (its private group cannot be created), so every one of these fails on the host.
 */
export const RESERVED_USERS: ReadonlySet<string> = new Set([
  // base-passwd users
  "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
  "backup", "list", "irc", "gnats", "nobody",
  // base-passwd groups
  "adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip",
  "operator", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff", "users", "nogroup",
  // created by the image's packages
  "systemd-network", "systemd-resolve", "systemd-timesync", "systemd-journal", "systemd-coredump", "messagebus",
  "syslog", "uuidd", "tcpdump", "tss", "landscape", "fwupd-refresh", "usbmux", "sshd", "pollinate", "polkitd",
  "lxd", "dnsmasq", "netdev", "crontab", "input", "kvm", "render", "sgx", "admin", "lpadmin", "dhcpcd",
  // the image's default user and the bootstrap's group
  "ubuntu", "docker",
]);

/** useradd's rule (at most 32 characters, lowercase, digits, '_' and '-'), starting with a letter: a leading '_' marks a system account. */
const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function parseDeployUser(c: Checker, value: unknown): string {
  const user = c.string("droplet.deployUser", value, "deploy", USER_NAME, "a Linux user name of 1-32 lowercase letters, digits, '_' or '-', starting with a letter, such as deploy");
  if (RESERVED_USERS.has(user)) {
    c.fail("droplet.deployUser", user, "already a system user or group on the Droplet image (useradd refuses it, and a system account must not run the deploys); use a name of your own such as deploy");
    return "deploy";
  }
  return user;
}

const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `default` and the `kube-` prefix belong to the cluster ("avoid creating namespaces with the prefix
 * kube-, since it is reserved for Kubernetes system namespaces", Kubernetes docs, Namespaces); the
 * program labels its namespace for Pod Security "restricted" and installs default-deny policies,
 * which would break the system pods living there.
 */
export function parseNamespace(c: Checker, path: string, value: unknown, fallback: string): string {
  const ns = c.string(path, value, fallback, NAMESPACE, "a Kubernetes namespace name (DNS label: lowercase letters, digits and inner hyphens, at most 63)");
  if (ns === "default" || ns.startsWith("kube-")) {
    c.fail(path, ns, `"default" and every "kube-*" namespace (kube-system, kube-public, kube-node-lease) belong to the cluster; use a namespace of the stack's own such as "${fallback}"`);
    return fallback;
  }
  return ns;
}

export function checkEdgePorts(c: Checker, httpPort: number, httpsPort: number): void {
  if (httpPort === httpsPort) c.fail("edge.httpsPort", httpsPort, `must differ from edge.httpPort (${httpPort}): nginx listens for HTTP and HTTPS on separate ports`);
}

/**
 * The Docker targets render `server … resolve` in upstreams (re-resolution of containers that move),
 * which nginx has from 1.27.3; the same floor everywhere keeps one supported nginx for every target.
 * A version without a patch level is an image tag for the newest patch ("1.27" = 1.27.x).
 */
export const NGINX_MIN: readonly [number, number, number] = [1, 27, 3];

export function parseNginxVersion(c: Checker, value: unknown, fallback: string): string {
  const min = NGINX_MIN.join(".");
  const hint = `an nginx version MAJOR.MINOR or MAJOR.MINOR.PATCH from ${min} on, such as 1.28 (upstream re-resolution needs ${min})`;
  const version = c.string("edge.nginxVersion", typeof value === "number" ? String(value) : value, fallback, /^[0-9]+\.[0-9]+(\.[0-9]+)?$/, hint);
  const [major, minor, patch] = version.split(".").map(Number);
  const parts = [major, minor, patch ?? Infinity];
  for (let i = 0; i < 3; i++) {
    if (parts[i] === NGINX_MIN[i]) continue;
    if (parts[i] < NGINX_MIN[i]) {
      c.fail("edge.nginxVersion", version, `below ${min}; allowed: ${hint}`);
      return fallback;
    }
    break;
  }
  return version;
}

/**
 * Replica counts a target cannot honour. The Docker realizer runs at least one container per process
 * (max(1, replicas)), so 0 would still run a worker there. And a queue whose every consumer is at 0
 * while beat keeps enqueueing onto it grows without bound.
 */
export function checkReplicas(c: Checker, apps: readonly AppConfig[], target: Target): void {
  apps.forEach((app, a) => {
    app.workers.forEach((pool, w) => {
      if (pool.replicas === 0 && target !== "kubernetes") {
        c.fail(`apps[${a}].workers[${w}].replicas`, 0, `target "${target}" runs at least one container per worker pool; allowed here: 1 to 100 (0 is allowed on target "kubernetes"), or remove the pool`);
      }
    });
    if (!app.beat) return;
    const served = new Set(app.workers.filter((p) => p.replicas > 0).flatMap((p) => p.queues));
    app.workers.forEach((pool, w) => {
      const starved = pool.replicas === 0 ? pool.queues.filter((q) => !served.has(q)) : [];
      if (starved.length > 0 && target === "kubernetes") {
        c.fail(`apps[${a}].workers[${w}].replicas`, 0, `beat is on and no other pool with replicas >= 1 consumes ${starved.map((q) => `"${q}"`).join(", ")}, so scheduled tasks would pile up unconsumed; set replicas >= 1, or beat: false`);
      }
    });
  });
}
