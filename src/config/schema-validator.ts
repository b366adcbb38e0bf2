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

/**
 * A run compiles only schemas that are part of the program (destkit's catalog schema, the
 * connector's spec), so it does not check them against the JSON-schema meta-schema: compiling
 * the meta-schema alone took ~40–60 ms of every `check` and `write`. `specSchemaProblems` does
 * that check where a connector's author sees it: the test kit's conformance `spec` scenario
 * and destkit's own tests.
 */
function createAjv(validateSchema: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    coerceTypes: false,
    validateSchema,
  });
  addFormats(ajv);
  for (const keyword of SPEC_ANNOTATIONS) ajv.addKeyword({ keyword });
  return ajv;
}

/**
 * What is wrong with `schema` as a JSON schema (draft-07, with the spec annotations), checked
 * against the meta-schema; empty when nothing is. For tests and the test kit, not for runs.
 */
export function specSchemaProblems(schema: JsonObject): string[] {
  const ajv = createAjv(true);
  if (ajv.validateSchema(schema) === true) {
    try {
      ajv.compile(schema);
      return [];
    } catch (error) {
      return [error instanceof Error ? error.message : String(error)];
    }
  }
  return toViolations('schema', ajv.errors ?? []).map((v) => `${v.field} ${v.rule}`);
}

let sharedAjv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: JsonObject): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    sharedAjv ??= createAjv(false);
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
