/**
 * Host paths the operator names for TLS (`edge.tls.certificatePath` / `keyPath`, mode "files"). Each
 * file is bind-mounted read-only, at the same path, into the internet-facing nginx. The program
 * cannot stat the engine's host (a Droplet or an ssh:// server), so the path's shape is checked
 * strictly instead: a normalised absolute path, below a directory meant for TLS material, to a file
 * whose name says it is a certificate or a key. That refuses sockets, devices, kernel files and
 * system secrets (the Docker socket, /dev/*, /proc/*, /etc/shadow, ~/.ssh/*) by construction.
 */
import type { Checker } from "./checker";

/** Directories where TLS material lives by convention; /home/<user>/ for an operator's own copies. */
export const TLS_ROOTS = ["/etc/ssl/", "/etc/pki/", "/etc/letsencrypt/", "/srv/", "/opt/", "/home/"] as const;

const SEGMENT = /^[A-Za-z0-9_@+=-][A-Za-z0-9._@+=-]*$/;
const EXTENSIONS = { certificate: [".pem", ".crt", ".cer"], key: [".pem", ".key"] } as const;

/** Why a TLS file path is refused, or undefined. Pure, for the schema and its tests. */
export function tlsPathProblem(path: string, kind: keyof typeof EXTENSIONS): string | undefined {
  if (!path.startsWith("/")) return "must be an absolute path";
  if (path.length > 1024) return "must be at most 1024 characters";
  const segments = path.slice(1).split("/");
  if (segments.some((s) => s === "")) return 'must be normalised: no "//" and no trailing "/"';
  if (segments.some((s) => s === "." || s === "..")) return 'must be normalised: no "." or ".." segments';
  // Hidden segments are dot-directories (.ssh, .docker, .kube, .gnupg) that hold other credentials.
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) return `segment "${bad}" may hold only letters, digits and . _ @ + = - and must not start with "." (no spaces, ':' or ',' either: they break bind-mount syntax)`;
  const root = TLS_ROOTS.find((r) => path.startsWith(r));
  if (!root) return `must lie below a directory meant for TLS files: ${TLS_ROOTS.join(", ")} (never /proc, /sys, /dev, /run, /var/run, /var/lib/docker or the rest of /etc)`;
  if (root === "/home/" && segments.length < 3) return "must lie in a directory of a user's home, such as /home/deploy/tls/";
  const name = segments[segments.length - 1];
  const allowed: readonly string[] = EXTENSIONS[kind];
  if (!allowed.some((ext) => name.endsWith(ext) && name.length > ext.length)) return `the file name must end with ${allowed.join(", ")} (a regular ${kind} file, never a socket or device)`;
  return undefined;
}

export function parseTlsPath(c: Checker, key: string, value: unknown, kind: keyof typeof EXTENSIONS): string | undefined {
  const path = c.optionalString(key, value, /^[^\0]*$/, "an absolute path");
  if (path === undefined) return undefined;
  const problem = tlsPathProblem(path, kind);
  if (!problem) return path;
  c.fail(key, path, `${problem}; e.g. ${kind === "certificate" ? "/etc/ssl/djangostack/fullchain.pem" : "/etc/ssl/djangostack/privkey.pem"}`);
  // Kept (the config is never returned with a problem) so "mode files needs certificatePath" does not pile on.
  return path;
}

export function checkTlsPair(c: Checker, certificatePath: string | undefined, keyPath: string | undefined): void {
  if (certificatePath !== undefined && certificatePath === keyPath) c.fail("edge.tls.keyPath", keyPath, "must differ from edge.tls.certificatePath: nginx reads the certificate chain and the key from two files");
}
