import { describe } from "node:test";
import { Raw } from "../../src/config/checker";
import { BadInput, accepts, refuses } from "./config-helpers";

/** Operator TLS files on target docker (the engine's host); both keys set so only the one under test fails. */
const files = (certificatePath: unknown, keyPath: unknown = "/etc/ssl/private/example.key"): Raw => ({
  domain: "example.com",
  edge: { tls: { mode: "files", certificatePath, keyPath } },
});
const CERT = "djangostack:edge.tls.certificatePath";
const KEY = "djangostack:edge.tls.keyPath";

describe("edge.tls certificatePath/keyPath: regular TLS files below a TLS directory, never system files", () => {
  const cases: BadInput[] = [
    ["the Docker socket", files("/var/run/docker.sock"), CERT, "below a directory meant for TLS files"],
    ["the Docker socket under /run", files("/run/docker.sock"), CERT, "never /proc, /sys, /dev, /run"],
    ["/etc/shadow as the key", files("/etc/ssl/certs/example.pem", "/etc/shadow"), KEY, "/etc/ssl/"],
    ["/etc/passwd", files("/etc/passwd"), CERT, "below a directory meant for TLS files"],
    ["a device", files("/dev/sda"), CERT, "/dev"],
    ["/dev/null as the key", files("/etc/ssl/certs/example.pem", "/dev/null"), KEY, "never /proc"],
    ["kernel memory", files("/proc/kcore"), CERT, "/proc"],
    ["sysfs", files("/sys/kernel/notes"), CERT, "/sys"],
    ["the host's SSH host key", files("/etc/ssl/certs/example.pem", "/etc/ssh/ssh_host_ed25519_key"), KEY, "below a directory meant for TLS files"],
    ["root's SSH key", files("/etc/ssl/certs/example.pem", "/root/.ssh/id_rsa"), KEY, 'must not start with "."'],
    ["a user's SSH directory", files("/etc/ssl/certs/example.pem", "/home/deploy/.ssh/id_ed25519"), KEY, 'must not start with "."'],
    ["the Docker client config", files("/home/deploy/.docker/config.json"), CERT, 'must not start with "."'],
    ["Docker's data root", files("/var/lib/docker/volumes/x/_data/cert.pem"), CERT, "/var/lib/docker"],
    ["escaping /etc/ssl with ..", files("/etc/ssl/../shadow"), CERT, 'no "." or ".." segments'],
    ["a . segment", files("/etc/ssl/./certs/example.pem"), CERT, "normalised"],
    ["a double slash", files("/etc/ssl//certs/example.pem"), CERT, 'no "//"'],
    ["a directory (trailing slash)", files("/etc/ssl/certs/"), CERT, "trailing"],
    ["a relative path", files("certs/example.pem"), CERT, "absolute"],
    ["a home-relative path", files("~/tls/example.pem"), CERT, "absolute"],
    ["a space in the path", files("/etc/ssl/my certs/example.pem"), CERT, "no spaces"],
    ["a colon (bind-mount syntax)", files("/etc/ssl/certs/example.pem:/etc/shadow"), CERT, "':'"],
    ["a comma (mount options)", files("/etc/ssl/certs/a.pem,ro"), CERT, "','"],
    ["a NUL byte", files("/etc/ssl/certs/example.pem\u0000"), CERT, "absolute path"],
    ["a newline", files("/etc/ssl/certs/example.pem\n/etc/shadow"), CERT, "may hold only"],
    ["no certificate extension", files("/etc/ssl/certs/example"), CERT, ".pem, .crt, .cer"],
    ["a socket-looking name", files("/srv/tls/nginx.sock"), CERT, "never a socket or device"],
    ["a key without a key extension", files("/etc/ssl/certs/example.pem", "/etc/ssl/private/example.crt"), KEY, ".pem, .key"],
    ["a bare extension", files("/etc/ssl/certs/.pem"), CERT, 'must not start with "."'],
    ["directly in /home", files("/home/cert.pem"), CERT, "a user's home"],
    ["nginx's own config dir", files("/etc/nginx/cert.pem"), CERT, "/etc/letsencrypt/"],
    ["/tmp", files("/tmp/cert.pem"), CERT, "below a directory meant for TLS files"],
    ["the same file twice", files("/etc/ssl/private/both.pem", "/etc/ssl/private/both.pem"), KEY, "must differ from edge.tls.certificatePath"],
    ["not a string", files(["/etc/ssl/a.pem"]), CERT, "absolute path"],
  ];
  refuses(cases);

  accepts([
    ["Debian's layout", files("/etc/ssl/certs/example.pem", "/etc/ssl/private/example.key")],
    ["certbot's live directory", files("/etc/letsencrypt/live/example.com/fullchain.pem", "/etc/letsencrypt/live/example.com/privkey.pem")],
    ["a /srv directory", files("/srv/tls/example.com.crt", "/srv/tls/example.com.key")],
    ["an /opt directory", files("/opt/tls/chain.cer", "/opt/tls/key.pem")],
    ["a user's home directory", files("/home/deploy/tls/fullchain.pem", "/home/deploy/tls/privkey.pem")],
    ["RHEL's /etc/pki", files("/etc/pki/tls/certs/example.crt", "/etc/pki/tls/private/example.key")],
  ]);
});
