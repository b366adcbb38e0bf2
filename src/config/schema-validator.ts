/**
 * JSON-schema validation with ajv for connector configs and catalogs. Defaults declared in the
 * schema are applied in place (ajv `useDefaults`), so the code downstream works on a resolved
 * config. Errors become SchemaViolations that name the field and the rule — never the value.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonObject } from '../protocol/messages.js';
import { InvalidDocumentError, type SchemaViolation } from './config-errors.js';

// ajv-formats is CommonJS: under NodeNext its function is the `default` of the default import.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

/** Annotation keywords of connector specs (PROTOCOL.md §6); they carry no validation rule. */
const SPEC_ANNOTATIONS = [
  'airbyte_secret',
  'airbyte_hidden',
  'always_show',
  'order',
  'group',
  'groups',
  'multiline',
  'pattern_descriptor',
  'display_type',
  'existingJavaType',
];

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false });
  addFormats(ajv);
  for (const keyword of SPEC_ANNOTATIONS) ajv.addKeyword({ keyword });
  return ajv;
}

let sharedAjv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: JsonObject): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    sharedAjv ??= createAjv();
    fn = sharedAjv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** `/streams/0/name` under root `catalog` → `catalog.streams[0].name`. */
export function instancePathToField(root: string, instancePath: string): string {
  let field = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    field += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return field;
}

function describeRule(error: ErrorObject): { suffix: string; rule: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { suffix: `.${String(params.missingProperty)}`, rule: 'is required' };
    case 'additionalProperties':
      return {
        suffix: `.${String(params.additionalProperty)}`,
        rule: 'is not allowed (unknown property)',
      };
    case 'enum':
      return {
        suffix: '',
        rule: `must be one of: ${((params.allowedValues as unknown[]) ?? []).map(String).join(', ')}`,
      };
    default:
      return { suffix: '', rule: error.message ?? `violates ${error.keyword}` };
  }
}

/** Converts ajv errors to violations, dropping the noise of failed oneOf/anyOf branches. */
export function toViolations(root: string, errors: readonly ErrorObject[]): SchemaViolation[] {
  const seen = new Set<string>();
  const violations: SchemaViolation[] = [];
  for (const error of errors) {
    // `if` only says "must match then"; the branch's own errors name the real rule.
    if (error.keyword === 'if') continue;
    const { suffix, rule } = describeRule(error);
    const field = instancePathToField(root, error.instancePath) + suffix;
    const key = `${field}\u0000${rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    violations.push({ field, rule });
  }
  return violations;
}

/**
 * Validates `document` against `schema`, applying the schema's defaults in place.
 * Throws InvalidDocumentError naming every violated field and rule.
 */
export function validateDocument(
  what: string,
  root: string,
  schema: JsonObject,
  document: unknown,
): void {
  const validate = compile(schema);
  if (!validate(document)) {
    throw new InvalidDocumentError(what, toViolations(root, validate.errors ?? []));
  }
}
