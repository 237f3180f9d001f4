/**
 * The backup script and its settings (src/render/backup.ts) without servers: the rendered settings and
 * their checks, the script compiled and its argument parsing, its AWS Signature V4 against the signed
 * examples in AWS's S3 documentation ("Signature Calculations for the Authorization Header",
 * access key AKIAIOSFODNN7EXAMPLE) and against the aws4 package for the requests it makes, its
 * addressing styles, endpoint checks, redaction and prune selection, on Debian's Python 3. The same
 * script against real PostgreSQL and S3 servers: tests/integration/backup-restore.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as aws4 from "aws4";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BACKUP_ENV,
  BACKUP_SCRIPT,
  BackupSettingsInput,
  BucketAddressing,
  DEFAULT_BACKUP_RETENTION_DAYS,
  backupCommand,
  backupPrefixes,
  backupSettings,
  renderBackupSettings,
} from "../../src/render/backup";
import { requireBinary } from "../helpers/executables";
import { withTempFile } from "../helpers/tempfile";

const PYTHON = "/usr/bin/python3";

const INPUT: BackupSettingsInput = {
  stack: "production",
  databases: [{ name: "web_db", role: "web_user" }, { name: "shop_db", role: "shop_user" }],
  media: [{ name: "web", path: "/app/media" }],
  rabbitmqApi: "http://rabbitmq:15672",
  addressing: "path",
  retentionDays: 14,
  maintenanceDatabase: "defaultdb",
};

/** The script as an importable module in a temp dir, removed afterwards. */
function withScript<T>(fn: (dir: string, file: string) => T): T {
  requireBinary(PYTHON, "python3");
  return withTempFile("djs-backup-unit-", "djsbackup.py", BACKUP_SCRIPT, (file, dir) => fn(dir, file));
}

/** Runs `code` with the script imported as `b` and JSON `inp` from stdin; returns the JSON `out` it sets. */
function py<T>(code: string, inp: unknown = null): T {
  return withScript((dir) => {
    const prelude = `import json, sys\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport djsbackup as b\nfrom datetime import datetime, timezone\ninp = json.load(sys.stdin)\n`;
    const r = spawnSync(PYTHON, ["-c", `${prelude}${code}\nprint(json.dumps(out))`], { input: JSON.stringify(inp), encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  });
}

/** The script's command line (backupCommand) with a settings file, env given in full. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, settings: BackupSettingsInput = INPUT): { status: number | null; stdout: string; stderr: string } {
  return withScript((dir, file) => {
    const settingsFile = path.join(dir, "backup.json");
    fs.writeFileSync(settingsFile, renderBackupSettings(settings));
    const [cmd, ...rest] = backupCommand(file, settingsFile, ...args);
    return spawnSync(cmd, rest, { encoding: "utf8", env: { PATH: "/usr/bin:/bin", ...env } });
  });
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("renderBackupSettings", () => {
  it("renders every setting, and no secret is among them", () => {
    const text = renderBackupSettings(INPUT);
    assert.ok(text.endsWith("}\n"));
    assert.deepEqual(JSON.parse(text), {
      format: 1,
      stack: "production",
      addressing: "path",
      retentionDays: 14,
      maintenanceDatabase: "defaultdb",
      databases: [{ name: "web_db", role: "web_user" }, { name: "shop_db", role: "shop_user" }],
      media: [{ name: "web", path: "/app/media" }],
      rabbitmqApi: "http://rabbitmq:15672",
    });
    for (const name of Object.values(BACKUP_ENV)) assert.ok(!text.includes(name), "the bucket and its keys come from the environment");
  });

  it("defaults: virtual-host addressing (as Spaces documents), 30 days, the postgres maintenance database", () => {
    assert.deepEqual(backupSettings({ stack: "staging", databases: [{ name: "web_db", role: "web_user" }] }), {
      format: 1,
      stack: "staging",
      addressing: "virtual",
      retentionDays: DEFAULT_BACKUP_RETENTION_DAYS,
      maintenanceDatabase: "postgres",
      databases: [{ name: "web_db", role: "web_user" }],
      media: [],
      rabbitmqApi: null,
    });
    assert.equal(DEFAULT_BACKUP_RETENTION_DAYS, 30);
  });

  const bad: [string, Partial<BackupSettingsInput>, RegExp][] = [
    ["a stack name with a slash", { stack: "a/b" }, /stack "a\/b" is not a stack name/],
    ["a database listed twice", { databases: [{ name: "web_db", role: "web_user" }, { name: "web_db", role: "x_user" }] }, /database web_db is listed twice/],
    ["a database named like the media prefix", { databases: [{ name: "media", role: "web_user" }] }, /database media would share its prefix/],
    ["a template database", { databases: [{ name: "template1", role: "web_user" }] }, /database template1 is a template/],
    ["a role that is no lowercase identifier", { databases: [{ name: "web_db", role: "Web-User" }] }, /role "Web-User" is not a lowercase SQL identifier/],
    ["a relative media path", { media: [{ name: "web", path: "app/media" }] }, /media web path must be an absolute path/],
    ["a media path with ..", { media: [{ name: "web", path: "/app/../etc" }] }, /must be an absolute path without "\.\."/],
    ["media listed twice", { media: [{ name: "web", path: "/a" }, { name: "web", path: "/b" }] }, /media web is listed twice/],
    ["a retention of 0 days", { retentionDays: 0 }, /retentionDays must be a whole number of days >= 1, got 0/],
    ["a retention of 1.5 days", { retentionDays: 1.5 }, /got 1\.5/],
    ["an unknown addressing style", { addressing: "both" as unknown as BucketAddressing }, /addressing must be path or virtual/],
    ["nothing to back up", { databases: [], media: [], rabbitmqApi: undefined }, /nothing to back up/],
    ["a management API URL with a path", { rabbitmqApi: "http://rabbitmq:15672/api" }, /rabbitmqApi must be http\(s\):\/\/host\[:port\], got "http:\/\/rabbitmq:15672\/api"/],
    ["a management API URL with a login", { rabbitmqApi: "http://guest:guest@rabbitmq:15672" }, /rabbitmqApi must be http\(s\):\/\/host\[:port\]/],
  ];
  for (const [what, change, message] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(() => renderBackupSettings({ ...INPUT, ...change }), (e: Error) => e.message.startsWith("renderBackupSettings: ") && message.test(e.message));
    });
  }

  it("names the command line and the object prefixes the script uses", () => {
    assert.deepEqual(backupCommand("/opt/backup.py", "/etc/backup.json", "restore", "--all", "--in-place"), ["python3", "/opt/backup.py", "--settings", "/etc/backup.json", "restore", "--all", "--in-place"]);
    assert.equal(backupPrefixes.database("production", "web_db"), "production/web_db/");
    assert.equal(backupPrefixes.media("production", "web"), "production/media/web/");
    assert.equal(backupPrefixes.rabbitmq("production"), "production/rabbitmq/");
    const fromScript = py<string[]>('s = {"stack": "production"}\nout = [b.database_prefix(s, "web_db"), b.media_prefix(s, "web"), b.rabbitmq_prefix(s)]');
    assert.deepEqual(fromScript, [backupPrefixes.database("production", "web_db"), backupPrefixes.media("production", "web"), backupPrefixes.rabbitmq("production")]);
    const fromEnv = py<string[]>("out = [b.ENV_ENDPOINT, b.ENV_REGION, b.ENV_BUCKET, b.ENV_ACCESS_KEY, b.ENV_SECRET_KEY]");
    assert.deepEqual(fromEnv, [BACKUP_ENV.endpoint, BACKUP_ENV.region, BACKUP_ENV.bucket, BACKUP_ENV.accessKeyId, BACKUP_ENV.secretAccessKey]);
  });
});

describe("BACKUP_SCRIPT", () => {
  it("compiles with warnings as errors (no stray escapes), and holds nothing a template literal would interpolate", () => {
    assert.ok(!BACKUP_SCRIPT.includes("${"));
    withScript((_dir, file) => {
      const r = spawnSync(PYTHON, ["-W", "error", "-m", "py_compile", file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    });
  });

  it("imports only the standard library", () => {
    const found = py<{ imported: string[]; outside: string[] }>(
      `import ast, inspect
names = set()
for node in ast.walk(ast.parse(inspect.getsource(b))):
    if isinstance(node, ast.Import):
        names.update(a.name.split(".")[0] for a in node.names)
    elif isinstance(node, ast.ImportFrom):
        names.add(node.module.split(".")[0])
out = {"imported": sorted(names), "outside": sorted(n for n in names if n not in sys.stdlib_module_names)}`,
    );
    assert.ok(found.imported.includes("hmac") && found.imported.includes("http"), found.imported.join(" "));
    assert.deepEqual(found.outside, []);
  });

  it("parses its subcommands and refuses what they do not take, with exit 2", () => {
    const help = cli(["--help"]);
    assert.equal(help.status, 0, help.stderr);
    for (const sub of ["backup", "list", "prune", "restore", "verify", "download"]) assert.match(help.stdout, new RegExp(`\\b${sub}\\b`));
    const refused: [string[], RegExp][] = [
      [["restore", "--database", "web_db"], /one of the arguments --into --suffix --in-place is required/],
      [["restore", "--into", "x"], /one of the arguments --database --all is required/],
      [["restore", "--database", "web_db", "--into", "x", "--in-place"], /not allowed with argument/],
      [["restore", "--all", "--into", "x"], /--into names one database: use --suffix with --all/],
      [["restore", "--all", "--suffix=_Bad"], /--suffix: expected lowercase letters, digits and _/],
      [["restore", "--database", "Web-DB", "--in-place"], /expected a lowercase SQL identifier/],
      [["prune", "--older-than-days", "0"], /expected a whole number >= 1/],
      [["prune", "--now", "yesterday"], /expected YYYY-MM-DDTHH:MM:SSZ/],
      [["verify"], /the following arguments are required: --database/],
      [["snapshot"], /invalid choice: 'snapshot'/],
    ];
    for (const [args, message] of refused) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
    }
  });

  it("fails with a JSON log line naming a missing environment variable", () => {
    const r = cli(["list"], { [BACKUP_ENV.secretAccessKey]: "a-secret-that-must-not-show", [BACKUP_ENV.endpoint]: "https://fra1.digitaloceanspaces.com" });
    assert.equal(r.status, 1);
    const [line] = jsonLines(r.stderr);
    assert.equal(line.level, "error");
    assert.equal(line.event, "failed");
    assert.equal(line.error, "environment variable BACKUP_S3_REGION is not set");
    assert.ok(!r.stderr.includes("a-secret-that-must-not-show"));
  });

  it("refuses plain http to an endpoint off this host, and never logs the secret key", () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPx"Rfi\\CYEXAMPLEKEY';
    const env = { [BACKUP_ENV.endpoint]: "http://fra1.digitaloceanspaces.com", [BACKUP_ENV.region]: "fra1", [BACKUP_ENV.bucket]: "b", [BACKUP_ENV.accessKeyId]: "AK", [BACKUP_ENV.secretAccessKey]: secret };
    const r = cli(["list"], env);
    assert.equal(r.status, 1);
    assert.match(String(jsonLines(r.stderr)[0].error), /BACKUP_S3_ENDPOINT is plain http to fra1\.digitaloceanspaces\.com: use https/);
    // A message that happens to carry the secret (raw or JSON-escaped) is redacted.
    const logged = py<string>(`b.SECRETS.append(inp)\nimport io, contextlib\nf = io.StringIO()\nwith contextlib.redirect_stderr(f):\n    b.log("error", "failed", error="server said " + inp)\nout = f.getvalue()`, secret);
    assert.ok(!logged.includes(secret) && !logged.includes(JSON.stringify(secret).slice(1, -1)), logged);
    assert.equal((JSON.parse(logged) as { error: string }).error, "server said [secret]");
  });

  it("checks the endpoint: http(s) only, no path, plain http only to a loopback address", () => {
    const outcome = py<Record<string, string>>(
      `out = {}
for e in inp:
    try:
        b.Bucket(e, "us-east-1", "bk", "AK", "SK", "path")
        out[e] = "ok"
    except b.Failure as error:
        out[e] = str(error)`,
      ["https://fra1.digitaloceanspaces.com", "http://127.0.0.1:9000", "http://[::1]:9000", "http://localhost:9000", "http://10.0.0.5:9000", "ftp://example.com", "https://fra1.digitaloceanspaces.com/bk"],
    );
    assert.equal(outcome["https://fra1.digitaloceanspaces.com"], "ok");
    assert.equal(outcome["http://127.0.0.1:9000"], "ok");
    assert.equal(outcome["http://[::1]:9000"], "ok");
    assert.equal(outcome["http://localhost:9000"], "ok");
    assert.match(outcome["http://10.0.0.5:9000"], /plain http to 10\.0\.0\.5: use https/);
    assert.match(outcome["ftp://example.com"], /must be an http\(s\) URL/);
    assert.match(outcome["https://fra1.digitaloceanspaces.com/bk"], /must have no path or query/);
  });
});

describe("the script's AWS Signature V4", () => {
  const AK = "AKIAIOSFODNN7EXAMPLE";
  const SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  const HOST = "examplebucket.s3.amazonaws.com";
  const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  /** b.sign(...) at 2013-05-24T00:00:00Z in us-east-1, the time and region of AWS's examples. */
  function signAt(method: string, urlPath: string, query: [string, string][], headers: Record<string, string>, payloadHash: string): Record<string, string> {
    return py<Record<string, string>>('out = b.sign(inp["m"], inp["host"], inp["p"], inp["q"], inp["h"], inp["ph"], inp["ak"], inp["sk"], "us-east-1", datetime(2013, 5, 24, tzinfo=timezone.utc))', { m: method, host: HOST, p: urlPath, q: query, h: headers, ph: payloadHash, ak: AK, sk: SK });
  }
  const signature = (h: Record<string, string>): string => /Signature=([0-9a-f]{64})$/.exec(h.authorization)?.[1] ?? "";

  it("GET Object with a Range header: AWS's published signature", () => {
    const h = signAt("GET", "/test.txt", [], { Range: "bytes=0-9" }, EMPTY);
    assert.equal(h.authorization, `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`);
    assert.equal(h["x-amz-date"], "20130524T000000Z");
  });

  it("PUT Object with a payload and a key that needs encoding (test$file.text): AWS's published signature", () => {
    const payload = py<string>('import hashlib\nout = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()');
    assert.equal(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const encoded = py<string>('out = b.uri_encode("test$file.text", True)');
    assert.equal(encoded, "test%24file.text");
    const h = signAt("PUT", `/${encoded}`, [], { Date: "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY" }, payload);
    assert.equal(signature(h), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    assert.match(h.authorization, /SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,/);
  });

  it("GET Bucket (list objects) with a query given out of order: AWS's published signature", () => {
    assert.equal(signature(signAt("GET", "/", [["prefix", "J"], ["max-keys", "2"]], {}, EMPTY)), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  });

  it("GET Bucket lifecycle (a subresource without a value): AWS's published signature", () => {
    assert.equal(signature(signAt("GET", "/", [["lifecycle", ""]], {}, EMPTY)), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  });

  it("encodes keys and query values the SigV4 way", () => {
    const out = py<string[]>('out = [b.uri_encode("itest/web_db/20260101T000000Z.dump", True), b.uri_encode("a b+c~*!", False), b.canonical_query([("prefix", "itest/web_db/"), ("list-type", "2"), ("continuation-token", "1/a=b")])]');
    assert.deepEqual(out, ["itest/web_db/20260101T000000Z.dump", "a%20b%2Bc~%2A%21", "continuation-token=1%2Fa%3Db&list-type=2&prefix=itest%2Fweb_db%2F"]);
  });

  it("signs the requests the bucket makes as aws4 does, in both addressing styles", () => {
    type Signed = { method: string; host: string; path: string; target: string; headers: Record<string, string> };
    const requests = py<Signed[]>(
      `out = []
for addressing, endpoint in (("path", "http://127.0.0.1:9000"), ("virtual", "https://fra1.digitaloceanspaces.com")):
    bk = b.Bucket(endpoint, "fra1", "djs-backups", "DO00EXAMPLE", "secret/+key=", addressing)
    for method, key, query, extra, ph in (
        ("PUT", "production/web_db/20260101T030000Z.dump", [], {"content-type": "application/octet-stream"}, "ab" * 32),
        ("GET", "", [("prefix", "production/web_db/"), ("list-type", "2"), ("continuation-token", "x/y=")], {}, b.EMPTY_SHA256),
        ("HEAD", "production/media/web/20260101T030000Z.manifest.json", [], {}, b.EMPTY_SHA256),
    ):
        host, path = bk.target(key)
        headers = b.sign(method, bk.host_header(host), path, query, extra, ph, bk.access_key, bk.secret_key, bk.region, datetime(2026, 1, 1, 3, tzinfo=timezone.utc))
        out.append({"method": method, "host": host, "path": path, "target": path + ("?" + b.canonical_query(query) if query else ""), "headers": headers})`,
    );
    assert.deepEqual(requests.map((r) => `${r.headers.host} ${r.target}`), [
      "127.0.0.1:9000 /djs-backups/production/web_db/20260101T030000Z.dump",
      "127.0.0.1:9000 /djs-backups?continuation-token=x%2Fy%3D&list-type=2&prefix=production%2Fweb_db%2F",
      "127.0.0.1:9000 /djs-backups/production/media/web/20260101T030000Z.manifest.json",
      "djs-backups.fra1.digitaloceanspaces.com /production/web_db/20260101T030000Z.dump",
      "djs-backups.fra1.digitaloceanspaces.com /?continuation-token=x%2Fy%3D&list-type=2&prefix=production%2Fweb_db%2F",
      "djs-backups.fra1.digitaloceanspaces.com /production/media/web/20260101T030000Z.manifest.json",
    ]);
    for (const r of requests) {
      const { authorization, ...headers } = r.headers;
      const expected = aws4.sign({ host: headers.host, method: r.method, path: r.target, service: "s3", region: "fra1", headers }, { accessKeyId: "DO00EXAMPLE", secretAccessKey: "secret/+key=" });
      assert.equal(authorization, expected.headers.Authorization, `${r.method} ${r.target}`);
    }
  });
});

describe("prune's selection", () => {
  it("takes whole backups older than the cutoff, spares each set's newest complete one and anything not named like a backup", () => {
    const keys = [
      "p/web_db/20200101T000000Z.dump", "p/web_db/20200101T000000Z.manifest.json",
      "p/web_db/20200102T000000Z.dump",
      "p/web_db/20260101T000000Z.dump", "p/web_db/20260101T000000Z.manifest.json",
      "p/gone_db/20200101T000000Z.dump", "p/gone_db/20200101T000000Z.manifest.json",
      "p/gone_db/20200201T000000Z.dump", "p/gone_db/20200201T000000Z.manifest.json",
      "p/gone_db/20200301T000000Z.dump",
      "p/notes.txt", "p/web_db/20201399T000000Z.dump",
    ];
    const groups = py<string[][]>('cutoff = datetime(2025, 1, 1, tzinfo=timezone.utc)\nout = sorted(sorted(k) for k in b.prune_groups([{"key": k, "size": 1} for k in inp], cutoff).values())', keys);
    assert.deepEqual(groups, [
      ["p/gone_db/20200101T000000Z.dump", "p/gone_db/20200101T000000Z.manifest.json"],
      ["p/gone_db/20200301T000000Z.dump"],
      ["p/web_db/20200101T000000Z.dump", "p/web_db/20200101T000000Z.manifest.json"],
      ["p/web_db/20200102T000000Z.dump"],
    ]);
  });
});
