/** Generated credentials, the way the Secrets tier makes them: 32 alphanumeric characters. */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { requireBinary, run } from "./process";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function generatePassword(length = 32): string {
  let out = "";
  while (out.length < length) {
    for (const b of crypto.randomBytes(length * 2)) {
      // 248 = 62 * 4: reject the tail so every character is equally likely.
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

/** A self-signed certificate for `domain` (and its subject alternative names) made with openssl. */
export async function selfSignedCert(dir: string, domain: string, altNames: string[] = []): Promise<{ cert: string; key: string }> {
  const openssl = requireBinary("/usr/bin/openssl", "openssl");
  const cert = path.join(dir, "fullchain.pem");
  const key = path.join(dir, "privkey.pem");
  fs.mkdirSync(dir, { recursive: true });
  const san = [domain, ...altNames].map((d) => `DNS:${d}`).join(",");
  await run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${domain}`, "-addext", `subjectAltName=${san}`]);
  return { cert, key };
}
