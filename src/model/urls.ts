/** Connection URLs built from plain strings; credentials are URL-encoded so user-supplied secrets may hold any character. */

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
