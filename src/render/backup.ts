/**
 * Backups of a stack's data to an S3-compatible bucket (DigitalOcean Spaces): a `pg_dump -Fc` of each
 * database, optionally a tar.gz of media directories and the broker's live RabbitMQ definitions
 * (exported from its management API at backup time: what it really holds), each with a JSON
 * manifest (time, size, SHA-256, tool versions), and the restore that checks a dump against its
 * manifest before `pg_restore` touches a database. One Python 3 script (standard library only, 3.8+,
 * so any image with Python and the PostgreSQL client tools runs it) and its JSON settings file, both
 * pure text here; which container or CronJob runs them is the targets' business, not this module's.
 *
 * Secrets never reach the settings or a command line: the bucket's endpoint, region, name and keys
 * come from the environment variables in {@link BACKUP_ENV}, the database connection from libpq's own
 * (PGHOST, PGPORT, PGUSER, PGPASSWORD), the broker's login from BACKUP_RABBITMQ_*. The definitions
 * hold every user's password hash: the object is as sensitive as the dumps, and never logged.
 * Object layout (see docs/backups.md):
 *   <stack>/<database>/<UTC stamp>.dump            + <stamp>.manifest.json
 *   <stack>/media/<name>/<stamp>.tar.gz            + <stamp>.manifest.json
 *   <stack>/rabbitmq/<stamp>.definitions.json      + <stamp>.manifest.json
 * The manifest is uploaded last, and only an object with a manifest counts as a backup.
 */

/** Environment variables the script reads the bucket from; the secret key is never logged. */
export const BACKUP_ENV = {
  /** `https://<region>.digitaloceanspaces.com` (plain http only to a loopback address). */
  endpoint: "BACKUP_S3_ENDPOINT",
  /** The SigV4 signing region (`us-east-1` works on Spaces, as does the datacenter slug). */
  region: "BACKUP_S3_REGION",
  bucket: "BACKUP_S3_BUCKET",
  accessKeyId: "BACKUP_S3_ACCESS_KEY_ID",
  secretAccessKey: "BACKUP_S3_SECRET_ACCESS_KEY",
  /** The RabbitMQ user that reads the live definitions from the management API, and its password (secret). */
  rabbitmqUser: "BACKUP_RABBITMQ_USER",
  rabbitmqPassword: "BACKUP_RABBITMQ_PASSWORD",
} as const;

/** Seed 000's retention: 30 days of daily database backups. */
export const DEFAULT_BACKUP_RETENTION_DAYS = 30;

/** Exit status of a restore or download refused because the object does not match its manifest. */
export const BACKUP_INTEGRITY_EXIT = 3;

/** `virtual`: `<bucket>.<endpoint host>/<key>` (what Spaces documents); `path`: `<endpoint>/<bucket>/<key>`. */
export type BucketAddressing = "path" | "virtual";

export interface BackupDatabase {
  /** The database to dump (names.database(app) for the stack's own). */
  name: string;
  /** The role that owns its objects after a restore (`pg_restore --no-owner --role`). */
  role: string;
}

export interface BackupMedia {
  /** Names the object prefix `<stack>/media/<name>/`: the app, usually. */
  name: string;
  /** Absolute path of the directory archived, as the backup process sees it. */
  path: string;
}

export interface BackupSettingsInput {
  /** Pulumi stack name; every object lives under `<stack>/`. */
  stack: string;
  databases: readonly BackupDatabase[];
  media?: readonly BackupMedia[];
  /** The broker's management API (`http://rabbitmq:15672`): its live definitions are exported with each backup. */
  rabbitmqApi?: string;
  /** Default `virtual`. */
  addressing?: BucketAddressing;
  /** What `prune` removes without `--older-than-days` (the bucket's lifecycle rule is the primary). */
  retentionDays?: number;
  /** Where `CREATE DATABASE` runs for a restore into a fresh database: `postgres`, or `defaultdb` on DO's managed PostgreSQL. */
  maintenanceDatabase?: string;
}

/** The settings file's shape, as the script reads it. */
export interface BackupSettings {
  format: 1;
  stack: string;
  addressing: BucketAddressing;
  retentionDays: number;
  maintenanceDatabase: string;
  databases: BackupDatabase[];
  media: BackupMedia[];
  rabbitmqApi: string | null;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const STACK = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MEDIA_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Prefixes under `<stack>/` that hold media and definitions, so no database may take them. */
const RESERVED_SETS = ["media", "rabbitmq"];

function fail(message: string): never {
  throw new Error(`renderBackupSettings: ${message}`);
}

/** `http(s)://host[:port]`, nothing more: the script appends the API path, the login comes from the env. */
const API_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;

function checkPath(what: string, value: string): string {
  if (!value.startsWith("/") || value.includes("\0") || value.split("/").includes("..")) fail(`${what} must be an absolute path without "..", got ${JSON.stringify(value)}`);
  return value;
}

function unique(what: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) fail(`${what} ${n} is listed twice`);
    seen.add(n);
  }
}

function checkDatabase(db: BackupDatabase): BackupDatabase {
  for (const [what, value] of [["database", db.name], ["role", db.role]] as const) {
    if (!IDENTIFIER.test(value)) fail(`${what} ${JSON.stringify(value)} is not a lowercase SQL identifier`);
  }
  if (RESERVED_SETS.includes(db.name)) fail(`database ${db.name} would share its prefix with the ${db.name} backups`);
  if (["template0", "template1"].includes(db.name)) fail(`database ${db.name} is a template`);
  return { name: db.name, role: db.role };
}

function checkMedia(m: BackupMedia): BackupMedia {
  if (!MEDIA_NAME.test(m.name)) fail(`media name ${JSON.stringify(m.name)} must be lowercase letters, digits and -`);
  return { name: m.name, path: checkPath(`media ${m.name} path`, m.path) };
}

/** Checks the input and returns the settings object the script reads. */
export function backupSettings(input: BackupSettingsInput): BackupSettings {
  if (!STACK.test(input.stack)) fail(`stack ${JSON.stringify(input.stack)} is not a stack name`);
  if (input.databases.length === 0 && (input.media ?? []).length === 0 && input.rabbitmqApi === undefined) fail("nothing to back up");
  const databases = input.databases.map(checkDatabase);
  unique("database", databases.map((d) => d.name));
  const media = (input.media ?? []).map(checkMedia);
  unique("media", media.map((m) => m.name));
  const retentionDays = input.retentionDays ?? DEFAULT_BACKUP_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) fail(`retentionDays must be a whole number of days >= 1, got ${retentionDays}`);
  const maintenanceDatabase = input.maintenanceDatabase ?? "postgres";
  if (!IDENTIFIER.test(maintenanceDatabase)) fail(`maintenanceDatabase ${JSON.stringify(maintenanceDatabase)} is not a lowercase SQL identifier`);
  const addressing = input.addressing ?? "virtual";
  if (addressing !== "path" && addressing !== "virtual") fail(`addressing must be path or virtual, got ${JSON.stringify(addressing)}`);
  if (input.rabbitmqApi !== undefined && !API_URL.test(input.rabbitmqApi)) fail(`rabbitmqApi must be http(s)://host[:port], got ${JSON.stringify(input.rabbitmqApi)}`);
  return { format: 1, stack: input.stack, addressing, retentionDays, maintenanceDatabase, databases, media, rabbitmqApi: input.rabbitmqApi ?? null };
}

/** The settings file (`--settings`): no secret is in it. */
export function renderBackupSettings(input: BackupSettingsInput): string {
  return `${JSON.stringify(backupSettings(input), null, 2)}\n`;
}

/** Object prefixes of one stack, as the script lays them out (each ends in `/`). */
export const backupPrefixes = {
  database: (stack: string, database: string): string => `${stack}/${database}/`,
  media: (stack: string, name: string): string => `${stack}/media/${name}/`,
  rabbitmq: (stack: string): string => `${stack}/rabbitmq/`,
} as const;

/** The command line of one subcommand, e.g. `backupCommand(script, settings, "backup")`. */
export function backupCommand(scriptPath: string, settingsPath: string, ...args: string[]): string[] {
  return ["python3", scriptPath, "--settings", settingsPath, ...args];
}

export const BACKUP_SCRIPT = String.raw`"""djangostack backup: PostgreSQL dumps, media and RabbitMQ definitions in an S3-compatible bucket.

  backup   pg_dump -Fc each database (and archive media, export the broker's live definitions from
           its management API), upload each object, then
           its manifest (time, size, sha256, tool versions)
  list     the complete backups (those with a manifest), newest first
  prune    delete backups older than N days, keeping each set's newest complete one
  restore  download a dump, check it against its manifest, pg_restore it into a fresh database or
           in place (--clean --if-exists, one transaction), then count rows per table
  verify   count rows per table, sequences and large objects of a database
  download fetch one object, checked against its manifest

The bucket comes from BACKUP_S3_* environment variables, the database from libpq's (PGHOST, PGPORT,
PGUSER, PGPASSWORD), the broker's login from BACKUP_RABBITMQ_USER and BACKUP_RABBITMQ_PASSWORD: no
secret is ever on a command line or in a log line, and the definitions (password hashes) never in a log. Log lines are JSON on
stderr; results are JSON on stdout. Exit 1 on any failure, 3 when an object does not match its manifest.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

ENV_ENDPOINT = "BACKUP_S3_ENDPOINT"
ENV_REGION = "BACKUP_S3_REGION"
ENV_BUCKET = "BACKUP_S3_BUCKET"
ENV_ACCESS_KEY = "BACKUP_S3_ACCESS_KEY_ID"
ENV_SECRET_KEY = "BACKUP_S3_SECRET_ACCESS_KEY"
ENV_RABBITMQ_USER = "BACKUP_RABBITMQ_USER"
ENV_RABBITMQ_PASSWORD = "BACKUP_RABBITMQ_PASSWORD"

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHUNK = 1024 * 1024
# A single PUT carries at most 5 GiB on S3 and Spaces; bigger objects would need a multipart upload.
MAX_PUT_BYTES = 5 * 1024 ** 3
ATTEMPTS = 3
STAMP = "%Y%m%dT%H%M%SZ"
OBJECT_NAME = re.compile(r"^(\d{8}T\d{6}Z)\.(.+)$")
MANIFEST = "manifest.json"
FORMAT = "djangostack-backup/1"
INTEGRITY_EXIT = 3

# Values no log line may carry; filled as they are read from the environment.
SECRETS = []


class Failure(Exception):
    """An error the operator can act on: logged as JSON, exit 1."""

    exit_code = 1


class IntegrityFailure(Failure):
    """An object that does not match its manifest: nothing is restored from it."""

    exit_code = INTEGRITY_EXIT


class Transient(Exception):
    """A connection error or a 5xx/429 answer: worth another attempt."""


def now_utc():
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def redact(text):
    for secret in SECRETS:
        # Raw and as json.dumps escapes it, since the line is redacted after encoding.
        for form in (secret, json.dumps(secret)[1:-1]):
            text = text.replace(form, "[secret]")
    return text


def log(level, event, **fields):
    fields.update(ts=iso(now_utc()), level=level, event=event)
    print(redact(json.dumps(fields, sort_keys=True, default=str)), file=sys.stderr, flush=True)


def emit(result):
    print(redact(json.dumps(result, indent=2, sort_keys=True)), flush=True)


# ---------------------------------------------------------------- settings and environment


def load_settings(path):
    try:
        with open(path) as f:
            settings = json.load(f)
    except (OSError, ValueError) as error:
        raise Failure("cannot read settings %s: %s" % (path, error))
    if settings.get("format") != 1 or not settings.get("stack"):
        raise Failure("settings %s: not a djangostack backup settings file (format 1)" % path)
    return settings


def env_value(name):
    value = os.environ.get(name, "")
    if not value:
        raise Failure("environment variable %s is not set" % name)
    return value


def open_bucket(settings):
    secret = env_value(ENV_SECRET_KEY)
    SECRETS.append(secret)
    return Bucket(env_value(ENV_ENDPOINT), env_value(ENV_REGION), env_value(ENV_BUCKET), env_value(ENV_ACCESS_KEY), secret, settings.get("addressing", "virtual"))


# ---------------------------------------------------------------- AWS Signature Version 4


def uri_encode(text, keep_slash):
    """RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ stay (and / in a path)."""
    return urllib.parse.quote(text, safe="-_.~/" if keep_slash else "-_.~")


def canonical_query(pairs):
    encoded = sorted((uri_encode(k, False), uri_encode(v, False)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in encoded)


def signing_key(secret_key, datestamp, region, service="s3"):
    key = ("AWS4" + secret_key).encode()
    for part in (datestamp, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(method, host, path, query, headers, payload_hash, access_key, secret_key, region, when):
    """The headers of a SigV4-signed S3 request (header form), Authorization included.

    path is the URI-encoded path as sent: S3 signs it without a second encoding. Every header given
    is signed, with host, x-amz-date and x-amz-content-sha256 (the payload's hash, checked by the
    server, so a body cannot change in flight).
    """
    amz_date = when.strftime(STAMP)
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    signed = dict((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
    signed.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    names = sorted(signed)
    canonical = "\n".join([
        method,
        path,
        canonical_query(query),
        "".join("%s:%s\n" % (n, signed[n]) for n in names),
        ";".join(names),
        payload_hash,
    ])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, amz_date[:8], region), to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (access_key, scope, ";".join(names), signature)
    return signed


# ---------------------------------------------------------------- the bucket


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def xml_children(element, name):
    # Namespace-agnostic: S3 and its look-alikes do not agree on the namespace URI.
    return [c for c in element if c.tag.rsplit("}", 1)[-1] == name]


def xml_text(element, name):
    found = xml_children(element, name)
    return (found[0].text or "") if found else ""


def s3_error(method, key, status, body):
    code = message = ""
    try:
        root = ET.fromstring(body)
        code, message = xml_text(root, "Code"), xml_text(root, "Message")
    except ET.ParseError:
        message = body[:200].decode("utf-8", "replace")
    return "%s %s: HTTP %d %s %s" % (method, key or "(bucket)", status, code, message.strip())


class Bucket:
    def __init__(self, endpoint, region, name, access_key, secret_key, addressing):
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise Failure("%s must be an http(s) URL, e.g. https://fra1.digitaloceanspaces.com" % ENV_ENDPOINT)
        if url.path not in ("", "/") or url.query:
            raise Failure("%s must have no path or query" % ENV_ENDPOINT)
        if url.scheme == "http" and not is_loopback(url.hostname):
            # Dumps hold the whole database: they travel over TLS unless they never leave the host.
            raise Failure("%s is plain http to %s: use https" % (ENV_ENDPOINT, url.hostname))
        if addressing not in ("path", "virtual"):
            raise Failure("settings: addressing must be path or virtual")
        self.https = url.scheme == "https"
        self.hostname = url.hostname
        self.port = url.port
        self.region = region
        self.name = name
        self.access_key = access_key
        self.secret_key = secret_key
        self.addressing = addressing

    def target(self, key):
        """(host to connect to, URI-encoded path) of an object, or of the bucket when key is empty."""
        if self.addressing == "virtual":
            return self.name + "." + self.hostname, "/" + uri_encode(key, True)
        bucket = "/" + uri_encode(self.name, False)
        return self.hostname, bucket + ("/" + uri_encode(key, True) if key else "")

    def host_header(self, host):
        default = 443 if self.https else 80
        return host if self.port in (None, default) else "%s:%d" % (host, self.port)

    def connect(self, host):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(host, self.port, timeout=120)

    def request(self, method, key="", query=(), body=None, payload_hash=EMPTY_SHA256, sink=None, ok=(200,), content_type=None):
        """One signed request, retried on connection errors and 5xx; returns (status, body).

        body: bytes or the path of a file streamed from disk; sink: a path the response body streams
        into, rewritten on each attempt.
        """
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self.once(method, key, query, body, payload_hash, sink, ok, content_type)
            except Transient as error:
                if attempt == ATTEMPTS:
                    raise Failure("%s %s failed after %d attempts: %s" % (method, key or "(bucket)", ATTEMPTS, error))
                log("warning", "retrying", method=method, key=key, attempt=attempt, error=str(error))
                time.sleep(attempt)

    def once(self, method, key, query, body, payload_hash, sink, ok, content_type):
        host, path = self.target(key)
        extra = {"content-type": content_type} if content_type else {}
        headers = sign(method, self.host_header(host), path, query, extra, payload_hash, self.access_key, self.secret_key, self.region, now_utc())
        if body is not None:
            headers["content-length"] = str(len(body) if isinstance(body, bytes) else os.path.getsize(body))
        conn = self.connect(host)
        try:
            conn.putrequest(method, path + ("?" + canonical_query(query) if query else ""), skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            send_body(conn, body)
            response = conn.getresponse()
            if response.status >= 500 or response.status == 429:
                raise Transient(s3_error(method, key, response.status, response.read()))
            if response.status not in ok:
                raise Failure(s3_error(method, key, response.status, response.read()))
            if sink is None:
                return response.status, response.read()
            with open(sink, "wb") as out:
                shutil.copyfileobj(response, out, CHUNK)
            return response.status, b""
        except (OSError, http.client.HTTPException) as error:
            raise Transient("%s: %s" % (type(error).__name__, error))
        finally:
            conn.close()

    def put_file(self, key, path, sha256, content_type="application/octet-stream"):
        self.request("PUT", key, body=path, payload_hash=sha256, content_type=content_type)

    def put_bytes(self, key, data, content_type):
        self.request("PUT", key, body=data, payload_hash=hashlib.sha256(data).hexdigest(), content_type=content_type)

    def get_bytes(self, key):
        return self.request("GET", key)[1]

    def get_file(self, key, path):
        self.request("GET", key, sink=path)

    def exists(self, key):
        return self.request("HEAD", key, ok=(200, 404))[0] == 200

    def delete(self, key):
        self.request("DELETE", key, ok=(200, 204))

    def list(self, prefix):
        """Every object under prefix (ListObjectsV2, all pages): [{key, size}]."""
        objects, token = [], None
        while True:
            query = [("list-type", "2"), ("prefix", prefix)] + ([("continuation-token", token)] if token else [])
            root = ET.fromstring(self.request("GET", "", query)[1])
            for c in xml_children(root, "Contents"):
                objects.append({"key": xml_text(c, "Key"), "size": int(xml_text(c, "Size") or 0)})
            token = xml_text(root, "NextContinuationToken")
            if xml_text(root, "IsTruncated") != "true" or not token:
                return objects


def send_body(conn, body):
    if body is None:
        return
    if isinstance(body, bytes):
        conn.send(body)
        return
    with open(body, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            conn.send(chunk)


# ---------------------------------------------------------------- layout and manifests


def database_prefix(settings, name):
    return "%s/%s/" % (settings["stack"], name)


def media_prefix(settings, name):
    return "%s/media/%s/" % (settings["stack"], name)


def rabbitmq_prefix(settings):
    return "%s/rabbitmq/" % settings["stack"]


def sha256_file(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def upload(bucket, prefix, when, suffix, path, fields):
    """Uploads path as <prefix><stamp>.<suffix>, then its manifest; returns the manifest."""
    stamp = when.strftime(STAMP)
    key, manifest_key = prefix + stamp + "." + suffix, prefix + stamp + "." + MANIFEST
    if bucket.exists(manifest_key):
        raise Failure("%s exists already: one backup per set and second, never overwritten" % manifest_key)
    sha256, size = sha256_file(path)
    if size > MAX_PUT_BYTES:
        raise Failure("%s is %d bytes: over the 5 GiB a single upload takes" % (key, size))
    bucket.put_file(key, path, sha256)
    manifest = dict(fields, format=FORMAT, key=key, time=iso(when), size=size, sha256=sha256)
    # The manifest goes last: an object without one is an interrupted upload, never a backup.
    bucket.put_bytes(manifest_key, json.dumps(manifest, indent=2, sort_keys=True).encode(), "application/json")
    log("info", "uploaded", key=key, manifest=manifest_key, bytes=size, sha256=sha256)
    return manifest


def complete_backups(bucket, prefix, suffix):
    """The backups under prefix that have both their object and their manifest, newest first."""
    keys = set(o["key"] for o in bucket.list(prefix))
    found = []
    for key in sorted(keys, reverse=True):
        match = OBJECT_NAME.match(key[len(prefix):])
        if not match or "/" in key[len(prefix):]:
            continue
        stamp, rest = match.groups()
        if rest == suffix and prefix + stamp + "." + MANIFEST not in keys:
            log("warning", "incomplete", key=key, reason="no manifest: an interrupted upload, not a backup")
        if rest != MANIFEST:
            continue
        if prefix + stamp + "." + suffix not in keys:
            log("warning", "incomplete", key=key, reason="a manifest without its object")
            continue
        manifest = json.loads(bucket.get_bytes(key).decode())
        if manifest.get("key") != prefix + stamp + "." + suffix:
            log("warning", "incomplete", key=key, reason="the manifest names another object")
            continue
        found.append(manifest)
    return found


def choose(backups, wanted, what):
    if not backups:
        raise Failure("no complete backup of %s" % what)
    if wanted in (None, "latest"):
        return backups[0]
    for manifest in backups:
        if wanted in (manifest["key"], manifest["time"], manifest["key"].rsplit("/", 1)[-1].split(".", 1)[0]):
            return manifest
    raise Failure("no complete backup %s of %s (list shows them)" % (wanted, what))


def download_verified(bucket, manifest, path):
    """Downloads the manifest's object to path, or removes it and refuses when it does not match."""
    partial = path + ".partial"
    bucket.get_file(manifest["key"], partial)
    sha256, size = sha256_file(partial)
    if sha256 != manifest["sha256"] or size != manifest["size"]:
        os.remove(partial)
        raise IntegrityFailure("%s does not match its manifest: sha256 %s, %d bytes; the manifest says %s, %d bytes. Refusing to use it" % (manifest["key"], sha256, size, manifest["sha256"], manifest["size"]))
    os.replace(partial, path)
    log("info", "verified", key=manifest["key"], sha256=sha256, bytes=size)
    return path


# ---------------------------------------------------------------- PostgreSQL client tools


def pg_env():
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    env.setdefault("PGAPPNAME", "djangostack-backup")
    return env


def run_tool(argv, stdin=None):
    """Runs a PostgreSQL client with libpq's environment; its stderr becomes the error."""
    try:
        result = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=pg_env(), universal_newlines=True)
    except OSError as error:
        raise Failure("cannot run %s: %s" % (argv[0], error))
    if result.returncode != 0:
        raise Failure("%s exited %d: %s" % (argv[0], result.returncode, result.stderr.strip()[-4000:]))
    return result.stdout


def tool_version(tool):
    return run_tool([tool, "--version"]).strip()


def major(version):
    match = re.search(r"\(PostgreSQL\) (\d+)", version)
    return int(match.group(1)) if match else None


def psql(database, sql, variables=()):
    argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname=" + database]
    for name, value in variables:
        argv += ["-v", "%s=%s" % (name, value)]
    # On stdin, so psql substitutes :"variables" (it does not inside -c).
    return run_tool(argv, stdin=sql)


# Rows of every table, each sequence's last value and the number of large objects; query_to_xml
# counts a table named only at run time in one statement.
VERIFY_SQL = r"""
SELECT json_build_object(
  'tables', (SELECT coalesce(json_object_agg(t.name, t.n), '{}') FROM (
      SELECT format('%I.%I', n.nspname, c.relname) AS name,
             (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint AS n
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%') t),
  'sequences', (SELECT coalesce(json_object_agg(format('%I.%I', schemaname, sequencename), last_value), '{}') FROM pg_sequences
      WHERE schemaname <> 'information_schema' AND schemaname NOT LIKE 'pg\_%'),
  'largeObjects', (SELECT count(*) FROM pg_largeobject_metadata));
"""


def verify(database):
    report = json.loads(psql(database, VERIFY_SQL))
    report["database"] = database
    return report


def server_version(database):
    return psql(database, "SHOW server_version;").strip()


def other_sessions(database):
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();"
    return int(psql(database, sql).strip())


# ---------------------------------------------------------------- backup


def backup_database(bucket, settings, db, workdir, when):
    path = os.path.join(workdir, db["name"] + ".dump")
    fields = {"kind": "postgres", "stack": settings["stack"], "database": db["name"], "pgDump": tool_version("pg_dump"), "server": server_version(db["name"])}
    # pg_dump exits non-zero on any error; its file is uploaded only then, never half-written.
    run_tool(["pg_dump", "--format=custom", "--dbname=" + db["name"], "--file=" + path])
    try:
        return upload(bucket, database_prefix(settings, db["name"]), when, "dump", path, fields)
    finally:
        os.remove(path)


def backup_media(bucket, settings, media, workdir, when):
    if not os.path.isdir(media["path"]):
        raise Failure("media %s: %s is not a directory" % (media["name"], media["path"]))
    path = os.path.join(workdir, "media-" + media["name"] + ".tar.gz")
    files = 0
    with tarfile.open(path, "w:gz") as tar:
        # Relative names: the archive extracts into whatever directory the restore chooses.
        for entry in sorted(os.listdir(media["path"])):
            tar.add(os.path.join(media["path"], entry), arcname=entry)
        files = sum(1 for m in tar.getmembers() if m.isfile())
    try:
        fields = {"kind": "media", "stack": settings["stack"], "name": media["name"], "source": media["path"], "files": files}
        return upload(bucket, media_prefix(settings, media["name"]), when, "tar.gz", path, fields)
    finally:
        os.remove(path)


def export_definitions(api):
    """GET <api>/api/definitions as the backup's RabbitMQ user: (the body's bytes, the parsed body)."""
    password = env_value(ENV_RABBITMQ_PASSWORD)
    SECRETS.append(password)
    token = base64.b64encode(("%s:%s" % (env_value(ENV_RABBITMQ_USER), password)).encode()).decode()
    SECRETS.append(token)
    url = urllib.parse.urlsplit(api)
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    for attempt in range(1, ATTEMPTS + 1):
        conn = cls(url.hostname, url.port, timeout=60)
        try:
            conn.request("GET", "/api/definitions", headers={"Authorization": "Basic " + token, "Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                break
            # An error body names the reason (e.g. "Not administrator user"); it never holds definitions.
            reason = ""
            try:
                reason = json.loads(body.decode()).get("reason", "")
            except ValueError:
                pass
            error = "GET %s/api/definitions: HTTP %d %s" % (api, response.status, reason)
            if response.status < 500:
                raise Failure(error)
        except (OSError, http.client.HTTPException) as e:
            error = "GET %s/api/definitions: %s: %s" % (api, type(e).__name__, e)
        finally:
            conn.close()
        if attempt == ATTEMPTS:
            raise Failure("%s (after %d attempts)" % (error, ATTEMPTS))
        log("warning", "retrying", method="GET", key="rabbitmq definitions", attempt=attempt, error=error)
        time.sleep(attempt)
    try:
        parsed = json.loads(body.decode())
    except ValueError as e:
        raise Failure("GET %s/api/definitions: not JSON: %s" % (api, e))
    if not isinstance(parsed, dict) or not all(isinstance(parsed.get(k), list) for k in ("users", "vhosts", "permissions")):
        raise Failure("GET %s/api/definitions: no users, vhosts and permissions in the answer" % api)
    return body, parsed


def backup_definitions(bucket, settings, workdir, when):
    api = settings["rabbitmqApi"]
    body, parsed = export_definitions(api)
    path = os.path.join(workdir, "rabbitmq-definitions.json")
    # Password hashes: readable by this user only, removed once uploaded.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(body)
    counts = dict((k, len(parsed.get(k) or [])) for k in ("users", "vhosts", "permissions", "queues", "exchanges", "bindings", "policies"))
    fields = {"kind": "rabbitmq", "stack": settings["stack"], "source": api + "/api/definitions", "rabbitmqVersion": parsed.get("rabbitmq_version") or parsed.get("rabbit_version"), "counts": counts}
    try:
        return upload(bucket, rabbitmq_prefix(settings), when, "definitions.json", path, fields)
    finally:
        os.remove(path)


def attempt(what, fn):
    """Runs one backup; a failure is logged and counted so the other sets still get theirs."""
    try:
        fn()
        return 0
    except Failure as error:
        log("error", "backup-failed", set=what, error=str(error))
        return 1


def cmd_backup(args, settings):
    bucket = open_bucket(settings)
    when = now_utc()
    databases = selected_databases(settings, args.database)
    jobs = [("database " + db["name"], lambda tmp, db=db: backup_database(bucket, settings, db, tmp, when)) for db in databases]
    if not args.database:
        jobs += [("media " + m["name"], lambda tmp, m=m: backup_media(bucket, settings, m, tmp, when)) for m in settings.get("media", [])]
        if settings.get("rabbitmqApi"):
            jobs.append(("rabbitmq", lambda tmp: backup_definitions(bucket, settings, tmp, when)))
    with tempfile.TemporaryDirectory(prefix="djangostack-backup-") as tmp:
        failed = sum(attempt(what, lambda fn=fn: fn(tmp)) for what, fn in jobs)
    if failed:
        raise Failure("%d of %d backups failed" % (failed, len(jobs)))
    log("info", "backup-done", sets=len(jobs), stamp=when.strftime(STAMP))
    # A bucket without a lifecycle rule (one the stack did not create) is kept to the retention here,
    # and only after a complete run: a failing backup never thins out the backups still there.
    if args.prune:
        days = settings.get("retentionDays") or 30
        deleted = prune(bucket, settings, now_utc() - timedelta(days=days), dry_run=False)
        log("info", "pruned", days=days, deleted=len(deleted))


def selected_databases(settings, names):
    known = dict((db["name"], db) for db in settings["databases"])
    for name in names or []:
        if name not in known:
            raise Failure("database %s is not in the settings (%s)" % (name, ", ".join(sorted(known)) or "none"))
    return [known[n] for n in names] if names else settings["databases"]


# ---------------------------------------------------------------- list, prune, download


def all_sets(settings):
    sets = [(database_prefix(settings, db["name"]), "dump") for db in settings["databases"]]
    sets += [(media_prefix(settings, m["name"]), "tar.gz") for m in settings.get("media", [])]
    if settings.get("rabbitmqApi"):
        sets.append((rabbitmq_prefix(settings), "definitions.json"))
    return sets


def cmd_list(args, settings):
    bucket = open_bucket(settings)
    if args.database:
        sets = [(database_prefix(settings, db["name"]), "dump") for db in selected_databases(settings, [args.database])]
    else:
        sets = all_sets(settings)
    entries = []
    for prefix, suffix in sets:
        entries += [dict((k, m.get(k)) for k in ("key", "time", "size", "sha256", "kind", "database", "name", "pgDump")) for m in complete_backups(bucket, prefix, suffix)]
    emit(entries)


def prune_groups(objects, cutoff):
    """Backups older than cutoff, {(prefix, stamp): keys}, sparing each prefix's newest complete one."""
    groups = {}
    for o in objects:
        prefix, _, name = o["key"].rpartition("/")
        match = OBJECT_NAME.match(name)
        if match and parse_stamp(match.group(1)):
            groups.setdefault((prefix, match.group(1)), []).append(o["key"])
    newest = {}
    for (prefix, stamp), keys in groups.items():
        if len(keys) > 1 and any(k.endswith("." + MANIFEST) for k in keys):
            newest[prefix] = max(newest.get(prefix, stamp), stamp)
    # With backups stopped for longer than the retention, the last good one still stays.
    return dict(
        (g, keys) for g, keys in groups.items() if parse_stamp(g[1]) < cutoff and newest.get(g[0]) != g[1]
    )


def parse_stamp(stamp):
    try:
        return datetime.strptime(stamp, STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def prune(bucket, settings, cutoff, dry_run):
    deleted = []
    for _, keys in sorted(prune_groups(bucket.list(settings["stack"] + "/"), cutoff).items()):
        # The manifest goes first: a prune cut short leaves objects no restore takes, and the
        # next prune removes them.
        for key in sorted(keys, key=lambda k: not k.endswith("." + MANIFEST)):
            if not dry_run:
                bucket.delete(key)
            log("info", "would-delete" if dry_run else "deleted", key=key)
            deleted.append(key)
    return deleted


def cmd_prune(args, settings):
    bucket = open_bucket(settings)
    days = args.older_than_days or settings.get("retentionDays") or 30
    cutoff = (args.now or now_utc()) - timedelta(days=days)
    deleted = prune(bucket, settings, cutoff, args.dry_run)
    emit({"cutoff": iso(cutoff), "days": days, "dryRun": args.dry_run, "deleted": deleted})


def manifest_for(bucket, key):
    prefix, _, name = key.rpartition("/")
    match = OBJECT_NAME.match(name)
    if not match or match.group(2) == MANIFEST:
        raise Failure("%s is not a backup object" % key)
    manifest_key = "%s/%s.%s" % (prefix, match.group(1), MANIFEST)
    if not bucket.exists(manifest_key):
        raise Failure("%s has no manifest: an interrupted upload, not a backup" % key)
    manifest = json.loads(bucket.get_bytes(manifest_key).decode())
    if manifest.get("key") != key:
        raise Failure("%s names another object" % manifest_key)
    return manifest


def cmd_download(args, settings):
    bucket = open_bucket(settings)
    manifest = manifest_for(bucket, args.key)
    download_verified(bucket, manifest, args.out)
    emit(manifest)


# ---------------------------------------------------------------- restore and verify


def create_database(settings, name, owner):
    # Like the stack's init: owned by the app role, and only that role may connect.
    sql = 'CREATE DATABASE :"db" OWNER :"owner";\nREVOKE CONNECT, TEMPORARY ON DATABASE :"db" FROM PUBLIC;\n'
    psql(settings.get("maintenanceDatabase", "postgres"), sql, [("db", name), ("owner", owner)])
    log("info", "created", database=name, owner=owner)


def check_restore_tools(manifest):
    dumped, restorer = major(manifest.get("pgDump", "")), major(tool_version("pg_restore"))
    if dumped and restorer and restorer < dumped:
        raise Failure("%s was written by pg_dump %d; this pg_restore is %d and cannot read it" % (manifest["key"], dumped, restorer))


def restore_database(bucket, settings, db, wanted, target, in_place, allow_connected, workdir):
    manifest = choose(complete_backups(bucket, database_prefix(settings, db["name"]), "dump"), wanted, db["name"])
    if manifest.get("database") != db["name"]:
        raise IntegrityFailure("%s is a dump of %s, not of %s" % (manifest["key"], manifest.get("database"), db["name"]))
    check_restore_tools(manifest)
    # Checked before the target is touched: a refused dump changes nothing.
    path = download_verified(bucket, manifest, os.path.join(workdir, db["name"] + ".dump"))
    argv = ["pg_restore", "--no-owner", "--role=" + db["role"], "--single-transaction", "--exit-on-error", "--dbname=" + target]
    if in_place:
        busy = 0 if allow_connected else other_sessions(target)
        if busy:
            raise Failure("%d other session(s) connected to %s: stop the app first (or pass --allow-connected)" % (busy, target))
        argv += ["--clean", "--if-exists"]
    else:
        create_database(settings, target, db["role"])
    log("info", "restoring", key=manifest["key"], database=target, inPlace=in_place)
    run_tool(argv + [path])
    os.remove(path)
    report = verify(target)
    report.update(restoredFrom=manifest["key"], dumpTime=manifest["time"], sha256=manifest["sha256"])
    log("info", "restored", key=manifest["key"], database=target)
    return report


def cmd_restore(args, settings):
    bucket = open_bucket(settings)
    if args.all and (args.into or args.dump not in (None, "latest")):
        raise Failure("restore --all takes the latest dump of each database, with --in-place or --suffix")
    databases = settings["databases"] if args.all else selected_databases(settings, [args.database])
    reports = []
    with tempfile.TemporaryDirectory(prefix="djangostack-restore-") as tmp:
        for db in databases:
            target = db["name"] if args.in_place else args.into or db["name"] + args.suffix
            if not args.in_place and target == db["name"]:
                raise Failure("the fresh database must have another name than %s (or use --in-place)" % db["name"])
            reports.append(restore_database(bucket, settings, db, args.dump, target, args.in_place, args.allow_connected, tmp))
    emit(reports if args.all else reports[0])


def cmd_verify(args, settings):
    emit(verify(args.database))


# ---------------------------------------------------------------- command line


def parse_time(text):
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DDTHH:MM:SSZ")


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("expected a whole number >= 1")
    return int(text)


def sql_name(text):
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", text):
        raise argparse.ArgumentTypeError("expected a lowercase SQL identifier")
    return text


def parser():
    p = argparse.ArgumentParser(prog="backup.py", description="djangostack backups in an S3-compatible bucket")
    p.add_argument("--settings", required=True, help="the JSON settings file")
    sub = p.add_subparsers(dest="command", metavar="command")
    sub.required = True
    b = sub.add_parser("backup", help="dump each database (and media, definitions) and upload")
    b.add_argument("--database", action="append", type=sql_name, help="only this database (repeatable); skips media and definitions")
    b.add_argument("--prune", action="store_true", help="after a complete run, delete backups older than the settings' retentionDays")
    b.set_defaults(func=cmd_backup)
    ls = sub.add_parser("list", help="complete backups, newest first (JSON)")
    ls.add_argument("--database", type=sql_name, help="only this database's dumps")
    ls.set_defaults(func=cmd_list)
    pr = sub.add_parser("prune", help="delete backups older than N days (each set keeps its newest)")
    pr.add_argument("--older-than-days", type=positive_int, help="default: the settings' retentionDays")
    pr.add_argument("--now", type=parse_time, help="judge ages as of this UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    pr.add_argument("--dry-run", action="store_true")
    pr.set_defaults(func=cmd_prune)
    r = sub.add_parser("restore", help="restore a verified dump, then count rows")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--database", type=sql_name)
    which.add_argument("--all", action="store_true", help="every database in the settings, latest dumps")
    r.add_argument("--dump", default="latest", help="latest (default), a stamp like 20260101T030000Z, or a key")
    mode = r.add_mutually_exclusive_group(required=True)
    mode.add_argument("--into", type=sql_name, help="a fresh database, created first (must not exist)")
    mode.add_argument("--suffix", help="fresh databases named <database><suffix>")
    mode.add_argument("--in-place", action="store_true", help="into the database itself: --clean --if-exists, one transaction")
    r.add_argument("--allow-connected", action="store_true", help="restore in place even with other sessions connected")
    r.set_defaults(func=cmd_restore)
    v = sub.add_parser("verify", help="rows per table, sequences, large objects (JSON)")
    v.add_argument("--database", type=sql_name, required=True)
    v.set_defaults(func=cmd_verify)
    d = sub.add_parser("download", help="fetch one object, checked against its manifest")
    d.add_argument("--key", required=True)
    d.add_argument("--out", required=True)
    d.set_defaults(func=cmd_download)
    return p


def check_args(p, args):
    if args.command != "restore":
        return
    if args.suffix is not None and not re.match(r"^[a-z0-9_]{1,20}$", args.suffix):
        p.error("--suffix: expected lowercase letters, digits and _")
    if args.into and args.all:
        p.error("--into names one database: use --suffix with --all")


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    check_args(p, args)
    if os.environ.get("PGPASSWORD"):
        SECRETS.append(os.environ["PGPASSWORD"])
    try:
        args.func(args, load_settings(args.settings))
        return 0
    except Failure as error:
        log("error", "failed", command=args.command, error=str(error))
        return error.exit_code
    except Exception as error:  # a bug: still one JSON line, still non-zero
        log("error", "failed", command=args.command, error="%s: %s" % (type(error).__name__, error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
`;
