/** How the Pulumi engine marks a secret value on the wire (and how mocks may return one). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface WireSecret {
  [SECRET_SIG_KEY]: typeof SECRET_SIG_VALUE;
  value: unknown;
}

export function wireSecret(value: unknown): WireSecret {
  return { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value };
}

export function isWireSecret(value: unknown): value is WireSecret {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

/** Deep copy with every secret replaced by `placeholder`. */
export function maskSecrets(value: unknown, placeholder = "[secret]"): unknown {
  if (isWireSecret(value)) return placeholder;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, placeholder));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, placeholder)]));
  }
  return value;
}

/**
 * Like maskSecrets, but a secret object or list keeps its keys and length with every leaf replaced,
 * so a masked Kubernetes Secret is still a valid manifest (`stringData: {KEY: "[secret]"}`).
 */
export function maskSecretsKeepingShape(value: unknown, placeholder = "[secret]", inSecret = false): unknown {
  if (isWireSecret(value)) return maskSecretsKeepingShape(value.value, placeholder, true);
  if (Array.isArray(value)) return value.map((v) => maskSecretsKeepingShape(v, placeholder, inSecret));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecretsKeepingShape(v, placeholder, inSecret)]));
  }
  return inSecret ? placeholder : value;
}

/** Deep copy with every secret unwrapped to its value (for tests that inspect wiring). */
export function unwrapSecrets(value: unknown): unknown {
  if (isWireSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

export function containsSecret(value: unknown): boolean {
  if (isWireSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}
