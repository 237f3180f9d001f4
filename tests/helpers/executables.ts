import * as fs from "node:fs";

/** A server or tool from a Debian package is absent: the suite fails naming the package, never skips. */
export class MissingPackageError extends Error {
  constructor(what: string, pkg: string) {
    super(`${what} is missing: install the Debian package "${pkg}" (bash .ci/install-debian-packages.sh)`);
    this.name = "MissingPackageError";
  }
}

/** The path of an executable, or a MissingPackageError naming the Debian package that provides it. */
export function requireBinary(file: string, pkg: string): string {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new MissingPackageError(file, pkg);
  }
  return file;
}
