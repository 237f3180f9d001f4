/** Static files an image collected at build, copied where nginx serves them. */

/**
 * Copies an app image's collected static files into the directory nginx serves (the static volume on
 * Docker, nginx's emptyDir on Kubernetes). Images djangostack builds always have them (the Dockerfile
 * runs collectstatic), so a missing directory fails loudly; a named image may not, and then the copy
 * is skipped with a warning rather than taking the whole edge down.
 */
export function staticCopyCommand(required: boolean, source: string, target: string): string[] {
  const copy = required
    ? "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True)"
    : "import os, shutil, sys; src, dst = sys.argv[1:3]; os.path.isdir(src) and shutil.copytree(src, dst, dirs_exist_ok=True) or print('djangostack: ' + src + ' is not in this image; its /static/ URLs will 404', file=sys.stderr)";
  return ["python", "-c", copy, source, target];
}
