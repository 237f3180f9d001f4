/**
 * `npm run bench -- --quick` in CI, so the benchmarks cannot rot. It asserts that every figure is
 * produced and is a number, never a timing: a benchmark does not fail on a slow machine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");

function bench(only: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [TSX, "bench/index.ts", "--quick", "--only", only], { cwd: ROOT, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`bench --quick --only ${only} failed: ${error.message}\n${stderr}`)) : resolve(String(stdout)),
    );
  });
}

/** Table rows as cells, the header and separator dropped. */
function rows(out: string): string[][] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| section") && !l.startsWith("| ---"))
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
}

test("bench --quick: the render section reports the floor, a render beside it and the evaluation growth", { timeout: 180_000 }, async () => {
  const table = rows(await bench("render"));
  const get = (name: RegExp) => table.find((r) => name.test(r[1])) ?? assert.fail(`no row ${name} in ${JSON.stringify(table)}`);
  assert.match(get(/^floor/)[2], /^[0-9.]+ (ms|s), \d+ MiB$/);
  assert.match(get(/^local via ts-cache: wall$/)[4], /^[0-9.]+x$/);
  assert.match(get(/^evaluation in process, 5 app\(s\)$/)[4], /^[0-9.]+x$/);
});

const servers = ["/usr/bin/wrk", "/usr/bin/h2load", "/usr/sbin/nginx", "/usr/bin/gunicorn", "/usr/bin/unshare"];
const missing = servers.filter((f) => !fs.existsSync(f));

test("bench --quick: the edge section measures nginx, TLS/HTTP/2 and static beside gunicorn and Django", { timeout: 180_000, skip: missing.length > 0 ? `needs ${missing.join(", ")} (bash .ci/install-debian-packages.sh)` : false }, async () => {
  const table = rows(await bench("edge"));
  for (const name of [/^rendered nginx -> gunicorn, HTTP\/1\.1$/, /^rendered nginx, TLS HTTP\/2 -> gunicorn$/, /^rendered nginx, hashed file$/]) {
    const row = table.find((r) => name.test(r[1])) ?? assert.fail(`no row ${name} in ${JSON.stringify(table)}`);
    assert.match(row[2], /^\d+ req\/s, p50 [0-9.]+ ms, p99 [0-9.]+ ms/);
    assert.match(row[4], /^[0-9.]+x$/);
  }
});

test("bench --quick: the cost section prices every stack and example, the seed's own figure beside it where the seed gives one", { timeout: 180_000 }, async () => {
  const table = rows(await bench("cost"));
  const get = (name: RegExp) => table.find((r) => name.test(r[1])) ?? assert.fail(`no row ${name} in ${JSON.stringify(table)}`);
  assert.equal(get(/^local \(docker\) per month$/)[2], "$0.00", "the local engine bills nothing");
  assert.match(get(/^production \(kubernetes\) per month$/)[2], /^\$\d+\.\d{2} \.\. \$\d+\.\d{2}$/, "DOKS at min and max scale");
  const seeded = table.filter((r) => r[3].startsWith("seed "));
  assert.ok(seeded.length > 0, JSON.stringify(table));
  for (const r of seeded) assert.match(r[4], /^[0-9.]+x$/);
  assert.ok(table.filter((r) => r[1].startsWith("examples/")).length >= 4, "every example is priced");
});
