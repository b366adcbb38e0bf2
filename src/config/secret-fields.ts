/**
 * Finds the values of `airbyte_secret` fields in a config by walking the spec's JSON schema
 * alongside the config: nested objects, arrays, and every branch of oneOf/anyOf/allOf (a value
 * that matches several branches is collected from each, so a secret is never missed).
 */
import type { JsonObject, JsonValue } from '../protocol/messages.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function secretText(value: unknown): string[] {
  if (typeof value === 'string') return value.length > 0 ? [value] : [];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(secretText);
  if (isObject(value)) return Object.values(value).flatMap(secretText);
  return [];
}

function collect(schema: unknown, value: unknown, out: Set<string>, depth: number): void {
  if (!isObject(schema) || value === undefined || value === null || depth > 64) return;
  if (schema.airbyte_secret === true) {
    for (const s of secretText(value)) out.add(s);
    return;
  }
  for (const combinator of ['oneOf', 'anyOf', 'allOf'] as const) {
    const branches = schema[combinator];
    if (Array.isArray(branches)) for (const b of branches) collect(b, value, out, depth + 1);
  }
  if (isObject(value) && isObject(schema.properties)) {
    for (const [key, sub] of Object.entries(schema.properties)) {
      collect(sub, value[key], out, depth + 1);
    }
  }
  if (isObject(value) && isObject(schema.additionalProperties)) {
    const declared = isObject(schema.properties) ? schema.properties : {};
    for (const [key, v] of Object.entries(value)) {
      if (!(key in declared)) collect(schema.additionalProperties, v, out, depth + 1);
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    for (const item of value) collect(schema.items, item, out, depth + 1);
  }
}

/** Every secret value found in `config` under `connectionSpecification`. */
export function findSecretValues(connectionSpecification: JsonObject, config: JsonValue): string[] {
  const out = new Set<string>();
  collect(connectionSpecification, config, out, 0);
  return [...out];
}
