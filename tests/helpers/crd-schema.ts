/**
 * Offline validation of custom resources against their CRD's openAPIV3Schema (a structural schema:
 * type, properties, required, items, enum, additionalProperties, pattern, lengths, bounds, anyOf,
 * x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields). Stricter than the API server on
 * one point, on purpose: a field the schema does not know is an error here, where the server would
 * prune it silently. CEL rules (x-kubernetes-validations) are not evaluated.
 *
 * The schemas are the Prometheus operator's own CRD manifests, extracted to
 * tests/unit/fixtures/prometheus-operator/<plural>.json (each file names its source).
 */
import * as fs from "node:fs";
import * as path from "node:path";

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: Schema | boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: Schema[];
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

const FIXTURES = path.join(__dirname, "..", "unit", "fixtures", "prometheus-operator");

function typeOk(type: string | undefined, v: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    default:
      throw new Error(`crd-schema: type ${type} is not handled`);
  }
}

/** Every violation of `schema` by `value`, each as "<path> <what>". */
export function violations(schema: Schema, value: unknown, at = "data"): string[] {
  if (schema["x-kubernetes-int-or-string"]) return typeof value === "string" || Number.isInteger(value) ? [] : [`${at} must be an integer or a string`];
  if (schema.anyOf && !schema.anyOf.some((s) => violations(s, value, at).length === 0)) return [`${at} matches none of anyOf`];
  if (!typeOk(schema.type, value)) return [`${at} must be ${schema.type}`];
  const out: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) out.push(`${at} must be one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === "string") {
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) out.push(`${at} must match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) out.push(`${at} is shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push(`${at} is longer than ${schema.maxLength}`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) out.push(`${at} is below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) out.push(`${at} is above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) out.push(`${at} has fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) out.push(`${at} has more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((item, i) => out.push(...violations(schema.items as Schema, item, `${at}[${i}]`)));
  }
  if (schema.type === "object" && typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) out.push(`${at} must have required property '${key}'`);
    for (const [key, v] of Object.entries(obj)) {
      const known = schema.properties?.[key];
      if (known) out.push(...violations(known, v, `${at}.${key}`));
      else if (typeof schema.additionalProperties === "object") out.push(...violations(schema.additionalProperties, v, `${at}.${key}`));
      else if (schema.properties && !schema["x-kubernetes-preserve-unknown-fields"] && schema.additionalProperties !== true) out.push(`${at}.${key} is not a field of the schema`);
    }
  }
  return out;
}

interface Fixture {
  source: string;
  kind: string;
  group: string;
  schema: Schema;
}

/** A class shaped like kubernetes-models': `new Model(obj).validate()` throws listing every violation. */
export function crdModel(plural: string): new (data: Record<string, unknown>) => { validate(): void } {
  const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${plural}.json`), "utf8")) as Fixture;
  return class {
    constructor(private readonly data: Record<string, unknown>) {}
    validate(): void {
      const found = [
        ...(this.data.apiVersion === `${fixture.group}/v1` ? [] : [`data.apiVersion must be ${fixture.group}/v1`]),
        ...(this.data.kind === fixture.kind ? [] : [`data.kind must be ${fixture.kind}`]),
        ...violations(fixture.schema, this.data),
      ];
      if (found.length > 0) throw new Error(found.join(", "));
    }
  };
}
