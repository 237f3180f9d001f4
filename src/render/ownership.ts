/**
 * Hands the static and media volumes to the app's uid:gid on the Docker targets. A named volume
 * takes its first owner from the image's directory at the mount point, and is root's when the image
 * has none there (or a root-owned one): an app running as `apps[].user` could then neither collect
 * static files nor store an upload. Kubernetes gets the same from the pod's fsGroup.
 *
 * Python's standard library only (every app image has it): changes only entries whose owner differs,
 * so a deploy over a large media tree touches nothing it does not have to; symlinks are re-owned, not
 * followed.
 */
const SCRIPT = [
  "import os, sys",
  "uid, gid = int(sys.argv[1]), int(sys.argv[2])",
  "changed = 0",
  "def own(path):",
  "    global changed",
  "    st = os.lstat(path)",
  "    if (st.st_uid, st.st_gid) != (uid, gid):",
  "        os.lchown(path, uid, gid)",
  "        changed += 1",
  "for top in sys.argv[3:]:",
  "    for root, dirs, files in os.walk(top):",
  "        own(root)",
  "        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:",
  "            own(os.path.join(root, name))",
  "print('djangostack: %d entries handed to %d:%d' % (changed, uid, gid), flush=True)",
].join("\n");

/** The one-off's command: `python -I -c SCRIPT uid gid dir...`. */
export function volumeOwnershipCommand(user: string, dirs: readonly string[]): string[] {
  const m = /^(\d+):(\d+)$/.exec(user);
  if (!m) throw new Error(`volumeOwnershipCommand: "${user}" is not uid:gid`);
  return ["python", "-I", "-c", SCRIPT, m[1], m[2], ...dirs];
}

/** What the one-off needs beyond root: chown any file, and read directories whatever their mode. */
export const OWNERSHIP_CAPABILITIES = ["CHOWN", "DAC_READ_SEARCH"] as const;
