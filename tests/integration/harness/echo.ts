/**
 * The edge tests' upstream and client. The upstream records every request nginx forwards (method,
 * URL, headers as received) so a test can say what reached the app; `/slow/` requests are held until
 * released, for connection limits. The client sends one request on a fresh connection from a chosen
 * loopback source address (127.0.0.1 is "anyone", 127.0.0.2 the trusted load balancer), over HTTP/1.x,
 * TLS or HTTP/2, and reports a closed connection as `closed` instead of throwing.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { freePorts, onCleanup } from "./process";

export interface SeenRequest {
  method: string;
  url: string;
  /** Lower-cased header name -> values, duplicates kept. */
  headers: Record<string, string[]>;
  upgrade: boolean;
}

export interface EchoUpstream {
  port: number;
  /** "127.0.0.1:<port>", where nginx reaches it. */
  address: string;
  seen: SeenRequest[];
  /** Requests to /slow/ currently held open. */
  held(): number;
  releaseAll(): void;
  stop(): Promise<void>;
}

function rawHeaders(raw: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) (out[raw[i].toLowerCase()] ??= []).push(raw[i + 1]);
  return out;
}

/** What the echo answers in Access-Control-Allow-Origin on a path containing /own-cors/. */
export const OWN_CORS_ORIGIN = "https://own.example";

export async function startEcho(port: number): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  let waiting: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: rawHeaders(req.rawHeaders), upgrade: false });
    const answer = (): void => {
      // An app that answers CORS itself (django-cors-headers), for the edge to leave alone.
      const ownCors = (req.url ?? "").includes("/own-cors/") ? { "access-control-allow-origin": OWN_CORS_ORIGIN, vary: "Origin" } : {};
      res.writeHead(200, { "content-type": "text/plain", ...ownCors });
      res.end("echo\n");
    };
    if ((req.url ?? "").startsWith("/slow/")) waiting.push(answer);
    else answer();
  });
  // A WebSocket handshake nginx passed on: accept it, so the test sees the upgrade went through.
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: rawHeaders(req.rawHeaders), upgrade: true });
    socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const stop = async (): Promise<void> => {
    for (const w of waiting) w();
    waiting = [];
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onCleanup(`echo upstream :${port}`, stop);
  return {
    port,
    address: `127.0.0.1:${port}`,
    seen,
    held: () => waiting.length,
    releaseAll: () => {
      for (const w of waiting) w();
      waiting = [];
    },
    stop,
  };
}

/** An echo upstream on a free loopback port. */
export async function startFreeEcho(): Promise<EchoUpstream> {
  const [port] = await freePorts(1);
  return startEcho(port);
}

export interface EdgeResponse {
  /** 0 when nginx closed the connection without a response (444). */
  status: number;
  closed: boolean;
  headers: Record<string, string[]>;
  body: string;
}

export interface EdgeRequest {
  port: number;
  path: string;
  /** Raw Host header line value; undefined sends none (HTTP/1.0 request then). */
  host?: string;
  headers?: [string, string][];
  method?: string;
  body?: string;
  /** TLS with this SNI name. */
  sni?: string;
  /** Loopback source address, default 127.0.0.1. */
  from?: string;
  timeoutMs?: number;
}

/** Parses one raw HTTP/1.x response (no chunked bodies needed: nginx's own and the echo's have lengths, or close). */
function parseResponse(text: string): EdgeResponse {
  const head = text.indexOf("\r\n\r\n");
  if (head < 0) return { status: 0, closed: true, headers: {}, body: "" };
  const [statusLine, ...lines] = text.slice(0, head).split("\r\n");
  const headers: Record<string, string[]> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    (headers[l.slice(0, i).trim().toLowerCase()] ??= []).push(l.slice(i + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), closed: false, headers, body: text.slice(head + 4) };
}

/**
 * One HTTP/1.x request written byte for byte (so Host can be missing, doubled or odd), read until
 * the server closes (`Connection: close`).
 */
export function rawRequest(req: EdgeRequest): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const lines = [`${req.method ?? "GET"} ${req.path} ${req.host === undefined ? "HTTP/1.0" : "HTTP/1.1"}`];
    if (req.host !== undefined) lines.push(`Host: ${req.host}`);
    for (const [k, v] of req.headers ?? []) lines.push(`${k}: ${v}`);
    if (!(req.headers ?? []).some(([k]) => k.toLowerCase() === "connection")) lines.push("Connection: close");
    if (req.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(req.body)}`);
    const payload = lines.join("\r\n") + "\r\n\r\n" + (req.body ?? "");
    const options = { host: "127.0.0.1", port: req.port, localAddress: req.from ?? "127.0.0.1" };
    const socket: net.Socket = req.sni
      ? tls.connect({ ...options, servername: req.sni, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] }, () => socket.write(payload))
      : net.connect(options, () => socket.write(payload));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from :${req.port}${req.path} in time`)), req.timeoutMs ?? 10_000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A reset or an aborted TLS session: nginx closed without a response, or after one (a 413 it
      // sends before the body it refuses to read).
      if (e.code === "ECONNRESET" || e.code === "EPIPE") resolve(parseResponse(Buffer.concat(chunks).toString("latin1")));
      else reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks).toString("latin1")));
    });
  });
}

/** One HTTP/2 request over TLS (ALPN h2); `closed` when nginx reset the stream or the session. */
export function h2Request(req: { port: number; sni: string; authority: string; path: string; headers?: Record<string, string> }): Promise<EdgeResponse> {
  return new Promise((resolve) => {
    const session = http2.connect(`https://127.0.0.1:${req.port}`, { servername: req.sni, rejectUnauthorized: false });
    const done = (r: EdgeResponse): void => {
      session.destroy();
      resolve(r);
    };
    session.on("error", () => done({ status: 0, closed: true, headers: {}, body: "" }));
    const stream = session.request({ ":path": req.path, ":authority": req.authority, ...req.headers });
    let status = 0;
    const headers: Record<string, string[]> = {};
    let body = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && v !== undefined) headers[k] = Array.isArray(v) ? v : [String(v)];
    });
    stream.setEncoding("utf8");
    stream.on("data", (c: string) => (body += c));
    stream.on("end", () => done({ status, closed: status === 0, headers, body }));
    stream.on("error", () => done({ status: 0, closed: true, headers, body }));
    stream.end();
  });
}
