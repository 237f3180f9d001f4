/**
 * Docker's registry login file (`~/.docker/config.json`, a Kubernetes dockerconfigjson Secret):
 * `{"auths": {"<host>": {"auth": base64("user:password")}}}`.
 */

export interface Login {
  host: string;
  username: string;
  password: string;
}

/** Adds the logins to a login file's auths; a host already there keeps its own entry. */
export function withLogins(dockerConfigJson: string, logins: readonly Login[]): string {
  const parsed = JSON.parse(dockerConfigJson) as { auths?: Record<string, unknown> };
  const auths: Record<string, unknown> = { ...(parsed.auths ?? {}) };
  for (const l of logins) if (!(l.host in auths)) auths[l.host] = { auth: Buffer.from(`${l.username}:${l.password}`).toString("base64") };
  return JSON.stringify({ ...parsed, auths });
}
