/**
 * Loads a connector config: read the file, register its secrets with the redactor (before
 * anything else can print them), apply the spec's defaults, validate with ajv.
 */
import type { ConnectorSpecification, JsonObject } from '../protocol/messages.js';
import { InvalidDocumentError } from './config-errors.js';
import { readJsonFile } from './json-file.js';
import { validateDocument } from './schema-validator.js';
import { findSecretValues } from './secret-fields.js';
import type { SecretRedactor } from './secret-redactor.js';

/** Validates an in-memory config (already parsed); registers its secrets; applies defaults. */
export function resolveConfig(
  spec: ConnectorSpecification,
  raw: unknown,
  redactor: SecretRedactor,
): JsonObject {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidDocumentError('config', [{ field: 'config', rule: 'must be a JSON object' }]);
  }
  const config = structuredClone(raw) as JsonObject;
  redactor.add(...findSecretValues(spec.connectionSpecification, config));
  validateDocument('config', 'config', spec.connectionSpecification, config);
  // Defaults may have filled in secret fields; register those too.
  redactor.add(...findSecretValues(spec.connectionSpecification, config));
  return config;
}

export async function loadConfig(
  spec: ConnectorSpecification,
  path: string,
  redactor: SecretRedactor,
): Promise<JsonObject> {
  return resolveConfig(spec, await readJsonFile('config', path), redactor);
}
