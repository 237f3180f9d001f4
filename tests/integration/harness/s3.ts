/**
 * An S3-compatible server on loopback: s3rver 3.7.1 (npm devDependency, run by this Node 22) on a free
 * port with its own data dir, behind a proxy in the test process that checks each request's AWS
 * Signature V4 with the aws4 package (an implementation independent of the one under test) before it
 * passes the request on. The proxy is needed because s3rver 3.7.1 checks only V2 signatures (its
 * lib/middleware/authentication.js: "Signature version 4 calculation is unimplemented") and serves
 * unsigned requests. The proxy also checks the signed payload hash against the body, refuses requests
 * more than 15 minutes off the clock, records every request, and can answer chosen ones with an error.
 *
 * Presigned URLs (query-string auth, X-Amz-Algorithm=AWS4-HMAC-SHA256): s3rver 3.7.1 checks their
 * expiry but not their signature (parseQueryV4, then "Signature version 4 calculation is
 * unimplemented"), so the proxy recomputes the query signature with aws4 (`signQuery`) and refuses
 * an expired, tampered or foreign one. As on Spaces, whose ACLs are per object, an unsigned GET or
 * HEAD is served only for an object uploaded through the proxy with `x-amz-acl: public-read`.
 */
import * as aws4 from "aws4";
import * as crypto from "node:crypto";
import * as http from "node:http";
import * as path from "node:path";
import { freePort, onCleanup, portOpen, spawnServer, tempDir, waitReady } from "./process";

export interface S3Request {
  method: string;
  /** Object key (decoded), "" for the bucket itself. */
  key: string;
  query: string;
  /** What the proxy answered: its own refusal, an injected fault, or s3rver's status. */
  status: number;
  /** Why the proxy refused it, when it did. */
  refused?: string;
  /** The canned ACL it asked for (`x-amz-acl`), if any. */
  acl?: string;
  /** How it was authenticated: the Authorization header, a presigned query, or neither. */
  auth: "header" | "query" | "none";
}

/** Answer the next `times` requests matching method and key with `status` (5xx is retried by clients). */
export interface S3Fault {
  method: string;
  key: RegExp;
  status: number;
  times: number;
}

export interface S3Server {
  /** The proxy's URL: what clients use. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  requests: S3Request[];
  fail(fault: S3Fault): void;
  /** Signed requests through the proxy, to inspect and tamper with the bucket beside the script. */
  put(key: string, body: Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  keys(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const REQUIRED_SIGNED = ["host", "x-amz-content-sha256", "x-amz-date"];

const sha256 = (body: Buffer): string => crypto.createHash("sha256").update(body).digest("hex");
const header = (req: http.IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
};

function amzTime(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN;
}

/** Undefined when the request is signed right; else an S3 error code and message. */
function checkSignature(req: http.IncomingMessage, body: Buffer, s3: { region: string; accessKeyId: string; secretAccessKey: string }): [string, string] | undefined {
  const m = AUTH.exec(header(req, "authorization") ?? "");
  if (!m) return ["AccessDenied", "no AWS4-HMAC-SHA256 Authorization header"];
  const [, accessKey, date, region, signedList, signature] = m;
  if (accessKey !== s3.accessKeyId) return ["InvalidAccessKeyId", `unknown access key ${accessKey}`];
  if (region !== s3.region) return ["AuthorizationHeaderMalformed", `region ${region}, expected ${s3.region}`];
  const amzDate = header(req, "x-amz-date") ?? "";
  if (!amzDate.startsWith(date)) return ["AuthorizationHeaderMalformed", "credential date differs from x-amz-date"];
  if (!(Math.abs(Date.now() - amzTime(amzDate)) < 15 * 60_000)) return ["RequestTimeTooSkewed", `x-amz-date ${amzDate}`];
  const names = signedList.split(";");
  const missing = REQUIRED_SIGNED.filter((n) => !names.includes(n));
  if (missing.length > 0) return ["AccessDenied", `unsigned ${missing.join(", ")}`];
  if (header(req, "x-amz-content-sha256") !== sha256(body)) return ["XAmzContentSHA256Mismatch", "the body's SHA-256 is not the signed one"];
  const headers: Record<string, string> = {};
  for (const n of names) {
    const v = header(req, n);
    if (v === undefined) return ["AccessDenied", `signed header ${n} not sent`];
    headers[n] = v;
  }
  const signed = aws4.sign({ host: headers.host, method: req.method, path: req.url, service: "s3", region, headers }, s3);
  const expected = /SignedHeaders=([^,]+), Signature=([0-9a-f]{64})/.exec(signed.headers.Authorization);
  if (!expected || expected[1] !== signedList || expected[2] !== signature) return ["SignatureDoesNotMatch", "the request signature we calculated does not match the signature you provided"];
  return undefined;
}

/** Undefined when the presigned URL is signed right and still valid; else an S3 error code and message. */
function checkPresigned(req: http.IncomingMessage, url: URL, s3: { region: string; accessKeyId: string; secretAccessKey: string }): [string, string] | undefined {
  const q = url.searchParams;
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") return ["AuthorizationQueryParametersError", "X-Amz-Algorithm only supports AWS4-HMAC-SHA256"];
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request$/.exec(q.get("X-Amz-Credential") ?? "");
  if (!credential) return ["AuthorizationQueryParametersError", "malformed X-Amz-Credential"];
  const [, accessKey, date, region] = credential;
  if (accessKey !== s3.accessKeyId) return ["InvalidAccessKeyId", `unknown access key ${accessKey}`];
  if (region !== s3.region) return ["AuthorizationQueryParametersError", `region ${region}, expected ${s3.region}`];
  const amzDate = q.get("X-Amz-Date") ?? "";
  const signedAt = amzTime(amzDate);
  if (!amzDate.startsWith(date) || Number.isNaN(signedAt)) return ["AuthorizationQueryParametersError", "X-Amz-Date differs from the credential's date"];
  const expires = Number(q.get("X-Amz-Expires"));
  if (!Number.isInteger(expires) || expires < 1 || expires > 604800) return ["AuthorizationQueryParametersError", "X-Amz-Expires must be 1 to 604800 seconds"];
  if (Date.now() > signedAt + expires * 1000) return ["AccessDenied", "Request has expired"];
  const names = (q.get("X-Amz-SignedHeaders") ?? "").split(";");
  if (!names.includes("host")) return ["AccessDenied", "host is not signed"];
  const headers: Record<string, string> = {};
  for (const n of names) {
    const v = header(req, n);
    if (v === undefined) return ["AccessDenied", `signed header ${n} not sent`];
    headers[n] = v;
  }
  // The same request signed again without its signature: aws4 keeps the URL's date and expiry.
  const unsigned = new URLSearchParams(q);
  unsigned.delete("X-Amz-Signature");
  const signed = aws4.sign({ host: headers.host, method: req.method, path: `${url.pathname}?${unsigned.toString()}`, service: "s3", region, headers, signQuery: true }, s3);
  const expected = new URL(signed.path ?? "", "http://proxy").searchParams.get("X-Amz-Signature");
  if (!expected || expected !== q.get("X-Amz-Signature")) return ["SignatureDoesNotMatch", "the request signature we calculated does not match the signature you provided"];
  return undefined;
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Query parameters of a presigned URL's signature (the rest, e.g. response-content-type, pass on). */
const QUERY_AUTH = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"];

function forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // The proxy is the only gate: s3rver knows just its own access key, and serves anonymous requests.
    const headers = { ...req.headers };
    delete headers.authorization;
    const url = new URL(req.url ?? "/", "http://proxy");
    for (const p of QUERY_AUTH) url.searchParams.delete(p);
    const upstream = http.request({ host: "127.0.0.1", port, method: req.method, path: `${url.pathname}${url.search}`, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on("end", () => resolve(up.statusCode ?? 502));
    });
    upstream.on("error", reject);
    upstream.end(body);
  });
}

export async function startS3(opts: { bucket?: string; region?: string; accessKeyId?: string; secretAccessKey?: string } = {}): Promise<S3Server> {
  const bucket = opts.bucket ?? "djangostack-backups";
  const creds = { region: opts.region ?? "us-east-1", accessKeyId: opts.accessKeyId ?? "DJSTESTACCESSKEY", secretAccessKey: opts.secretAccessKey ?? crypto.randomBytes(24).toString("base64") };
  const dir = tempDir("s3rver");
  const port = await freePort();
  const bin = require.resolve("s3rver/bin/s3rver.js");
  const server = spawnServer("s3rver", process.execPath, [bin, "-d", path.join(dir, "data"), "-a", "127.0.0.1", "-p", String(port), "--no-vhost-buckets", "--configure-bucket", bucket], path.join(dir, "s3rver.log"));
  await waitReady(server, "listening", () => portOpen(port), 20_000);

  const requests: S3Request[] = [];
  const faults: S3Fault[] = [];
  /** Keys last written with x-amz-acl public-read: anonymous reads of these are served. */
  const publicKeys = new Set<string>();
  const bucketPath = `/${bucket}`;
  const proxy = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://proxy");
      const key = url.pathname.startsWith(`${bucketPath}/`) ? decodeURIComponent(url.pathname.slice(bucketPath.length + 1)) : "";
      const auth = header(req, "authorization") !== undefined ? "header" : url.searchParams.has("X-Amz-Algorithm") ? "query" : "none";
      const acl = header(req, "x-amz-acl");
      const entry: S3Request = { method: req.method ?? "", key, query: url.search, status: 0, auth, ...(acl === undefined ? {} : { acl }) };
      requests.push(entry);
      const body = await readBody(req);
      const anonymousRead = auth === "none" && (req.method === "GET" || req.method === "HEAD") && key !== "" && publicKeys.has(key);
      const refusal = anonymousRead ? undefined : auth === "query" ? checkPresigned(req, url, creds) : checkSignature(req, body, creds);
      const fault = faults.find((f) => f.times > 0 && f.method === req.method && f.key.test(key));
      if (refusal || fault) {
        if (fault && !refusal) fault.times -= 1;
        const [code, message] = refusal ?? ["InjectedFault", "failed on purpose by the test"];
        entry.status = refusal ? 403 : (fault?.status ?? 500);
        entry.refused = refusal ? code : undefined;
        res.writeHead(entry.status, { "content-type": "application/xml" });
        res.end(req.method === "HEAD" ? undefined : errorXml(code, message));
        return;
      }
      entry.status = await forward(req, body, res, port);
      if (req.method === "PUT" && key !== "" && entry.status === 200) {
        if (acl === "public-read") publicKeys.add(key);
        else publicKeys.delete(key);
      }
    })().catch((e: unknown) => {
      res.writeHead(502);
      res.end(String(e));
    });
  });
  const proxyPort = await freePort();
  await new Promise<void>((resolve) => proxy.listen(proxyPort, "127.0.0.1", resolve));
  let closed: Promise<void> | undefined;
  const closeProxy = (): Promise<void> => (closed ??= new Promise((resolve) => proxy.close(() => resolve())));
  proxy.unref();
  onCleanup("stop the S3 proxy", closeProxy);
  const endpoint = `http://127.0.0.1:${proxyPort}`;

  /** A request signed with aws4, through the proxy (so the proxy's check covers it too). */
  const send = (method: string, key: string, query = "", body: Buffer = Buffer.alloc(0)): Promise<{ status: number; body: Buffer }> => {
    const signed = aws4.sign({ host: `127.0.0.1:${proxyPort}`, method, path: `${bucketPath}${key === "" ? "" : `/${key.split("/").map(encodeURIComponent).join("/")}`}${query}`, service: "s3", region: creds.region, headers: {}, body }, creds);
    return new Promise((resolve, reject) => {
      const r = http.request({ host: "127.0.0.1", port: proxyPort, method, path: signed.path, headers: signed.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      r.on("error", reject);
      r.end(body);
    });
  };
  const ok = async (what: string, p: Promise<{ status: number; body: Buffer }>): Promise<Buffer> => {
    const r = await p;
    if (r.status !== 200) throw new Error(`S3 ${what}: HTTP ${r.status} ${r.body.toString()}`);
    return r.body;
  };

  return {
    endpoint,
    bucket,
    ...creds,
    requests,
    fail: (fault) => faults.push({ ...fault }),
    put: async (key, body) => void (await ok(`PUT ${key}`, send("PUT", key, "", body))),
    get: (key) => ok(`GET ${key}`, send("GET", key)),
    keys: async (prefix) => {
      // The bucket itself: the path is /<bucket>, then the query.
      const xml = (await ok(`list ${prefix}`, send("GET", "", `?list-type=2&prefix=${encodeURIComponent(prefix)}`))).toString();
      return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]).sort();
    },
    stop: async () => {
      await closeProxy();
      await server.stop();
    },
  };
}
