/** Minimal HTTP(S) client for the edge tests: one fresh connection per request, raw status and headers. */
import * as http from "node:http";
import * as https from "node:https";

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every header line as received (lower-cased name -> values), duplicates kept. */
  raw: Record<string, string[]>;
  body: Buffer;
  text: string;
}

export interface HttpRequest {
  port: number;
  path: string;
  /** Host header (and TLS SNI name when `tls`). */
  host: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  tls?: boolean;
  /** Loopback source address, default 127.0.0.1 (rate limits key on it). */
  from?: string;
  timeoutMs?: number;
}

/** Sends one request; rejects with the socket error when the server closes without answering. */
export function request(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      host: "127.0.0.1",
      port: req.port,
      path: req.path,
      method: req.method ?? "GET",
      headers: { host: req.host, ...(req.body !== undefined ? { "content-length": String(Buffer.byteLength(req.body)) } : {}), ...req.headers },
      agent: false,
      localAddress: req.from,
      timeout: req.timeoutMs ?? 15_000,
      servername: req.tls ? req.host : undefined,
      rejectUnauthorized: false,
    };
    const r = (req.tls ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        const raw: Record<string, string[]> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) (raw[res.rawHeaders[i].toLowerCase()] ??= []).push(res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body, text: body.toString("utf8") });
      });
      res.on("error", reject);
    });
    r.on("timeout", () => r.destroy(new Error(`request to ${req.host}${req.path} timed out`)));
    r.on("error", reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}
