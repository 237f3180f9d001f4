import assert from "node:assert/strict";
import * as fs from "node:fs";

/** The path of a Debian-packaged executable, or a failure naming the package to install (never a skip). */
export function requireExecutable(file: string, pkg: string): string {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    assert.fail(`${file} is missing: install the Debian package "${pkg}" (bash .ci/install-debian-packages.sh)`);
  }
  return file;
}
