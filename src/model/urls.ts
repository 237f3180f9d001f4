/** Connection URLs built from plain strings; credentials are URL-encoded so user-supplied secrets may hold any character. */
import { OFFLINE_SECRET_PREFIX } from "../config/checker";

const enc = encodeURIComponent;

export interface DatabaseUrlParts {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
  sslmode?: "require" | "disable";
}

export function databaseUrl(p: DatabaseUrlParts): string {
  const query = p.sslmode ? `?sslmode=${p.sslmode}` : "";
  return `postgres://${enc(p.user)}:${enc(p.password)}@${p.host}:${p.port}/${enc(p.database)}${query}`;
}

export interface RedisUrlParts {
  password: string;
  host: string;
  port: number;
  db: number;
  tls: boolean;
  user?: string;
}

export function redisUrl(p: RedisUrlParts): string {
  const scheme = p.tls ? "rediss" : "redis";
  // rediss:// without cert options makes redis-py/kombu refuse to start; managed Valkey uses a public CA.
  const query = p.tls ? "?ssl_cert_reqs=required" : "";
  return `${scheme}://${p.user ? enc(p.user) : ""}:${enc(p.password)}@${p.host}:${p.port}/${p.db}${query}`;
}

export interface AmqpUrlParts {
  user: string;
  password: string;
  host: string;
  port: number;
  vhost: string;
}

export function amqpUrl(p: AmqpUrlParts): string {
  return `amqp://${enc(p.user)}:${enc(p.password)}@${p.host}:${p.port}/${enc(p.vhost)}`;
}

/** Default ports per scheme; http(s) only ever arrive here as ClickHouse's HTTP interface (its ports: clickhouse.com/docs/guides/sre/network-ports). */
const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  postgres: "5432", postgresql: "5432", postgis: "5432", amqp: "5672", amqps: "5671", redis: "6379", rediss: "6379",
  clickhouse: "9000", clickhouses: "9440", http: "8123", https: "8443",
};

/**
 * One part of a connection URL, decoded, for settings that read them one by one: the host, the port
 * (the scheme's default when the URL has none), the database or vhost (the path without its leading
 * slash: "/%2Fweb" is the vhost "/web"), the user and the password.
 */
export function connectionPart(url: string, part: "host" | "port" | "name" | "user" | "password"): string {
  // The offline render's stand-in for a `secure:` URL has no parts: each part shows the stand-in.
  if (url.startsWith(OFFLINE_SECRET_PREFIX)) return url;
  const u = new URL(url);
  const scheme = u.protocol.replace(/:$/, "");
  switch (part) {
    case "host":
      return u.hostname.replace(/^\[(.*)\]$/, "$1");
    case "port":
      return u.port || (DEFAULT_PORTS[scheme] ?? "");
    case "name":
      return decodeURIComponent(u.pathname.replace(/^\//, ""));
    case "user":
      return decodeURIComponent(u.username);
    case "password":
      return decodeURIComponent(u.password);
  }
}
