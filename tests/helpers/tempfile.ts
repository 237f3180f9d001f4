/** A file written into a fresh temp directory for the length of `fn`, removed afterwards. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export function withTempFile<T>(prefix: string, name: string, text: string, fn: (file: string, dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return fn(file, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
