/**
 * Reads a stream's JSON schema as Airbyte types, following PROTOCOL.md §4's table. Never throws:
 * a schema it cannot read becomes Unknown (stored as JSON, values kept as they are).
 *
 * Order of the rules, for a schema object:
 * 1. `$ref`: `…WellKnownTypes.json#/definitions/X` → X (BinaryData → String); any other
 *    reference → Unknown (references are not resolved).
 * 2. `type` present: a type name, or an array of names where `"null"` only marks nullability
 *    (one non-null name → that type; several → Union; none → Unknown). `type` wins over
 *    combinators when both are present. An unknown name anywhere → Unknown.
 * 3. `oneOf`, else `anyOf`, else `allOf` → Union of the options (null-only options dropped,
 *    nested unions flattened, equal options kept once, a single option collapses; `allOf` is
 *    read as a union too, as the table says).
 * 4. No `type` and no combinator: the table's row "Object | anything else: Unknown". Our
 *    reading: such a schema is an object schema when it says so by having `properties`
 *    (→ Object, or ObjectWithoutSchema when `properties` is empty); anything else — `{}`,
 *    `{"description": …}`, `{"format": "date"}` — is Unknown, because in JSON Schema it accepts
 *    any value and Unknown keeps any value (a schemaless object would null non-objects).
 * Anything that is not a schema object (a boolean schema, a string, null) → Unknown.
 */
import {
  type AirbyteType,
  AirbyteTypes,
  arrayOf,
  objectOf,
  unionOf,
  unknownType,
} from './airbyte-type.js';

/** Deeper schemas become Unknown: a guard against pathological (or cyclic) inputs. */
const MAX_DEPTH = 64;

const WELL_KNOWN_REF = /(?:^|\/)WellKnownTypes\.json#\/definitions\/([A-Za-z]+)$/;

const WELL_KNOWN: Readonly<Record<string, AirbyteType>> = {
  String: AirbyteTypes.String,
  BinaryData: AirbyteTypes.String,
  Boolean: AirbyteTypes.Boolean,
  Integer: AirbyteTypes.Integer,
  Number: AirbyteTypes.Number,
  Date: AirbyteTypes.Date,
  TimestampWithTimezone: AirbyteTypes.TimestampTZ,
  TimestampWithoutTimezone: AirbyteTypes.TimestampNTZ,
  TimeWithTimezone: AirbyteTypes.TimeTZ,
  TimeWithoutTimezone: AirbyteTypes.TimeNTZ,
};

type SchemaObject = Readonly<Record<string, unknown>>;

/** The Airbyte type of a JSON schema. Never throws. */
export function jsonSchemaToType(schema: unknown): AirbyteType {
  try {
    return convert(schema, 0);
  } catch {
    return unknownType(schema);
  }
}

function convert(schema: unknown, depth: number): AirbyteType {
  if (depth > MAX_DEPTH || !isSchemaObject(schema)) return unknownType(schema);

  if (has(schema, '$ref')) {
    const ref = schema.$ref;
    const match = typeof ref === 'string' ? WELL_KNOWN_REF.exec(ref) : null;
    const name = match?.[1];
    return (
      (name !== undefined && Object.hasOwn(WELL_KNOWN, name) ? WELL_KNOWN[name] : undefined) ??
      unknownType(schema)
    );
  }

  if (has(schema, 'type')) return fromTypeKeyword(schema, depth);

  for (const combinator of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (!has(schema, combinator)) continue;
    const options = schema[combinator];
    if (!Array.isArray(options)) return unknownType(schema);
    const types = options.filter((o) => !isNullOnly(o)).map((o) => convert(o, depth + 1));
    return unionOf(types) ?? unknownType(schema);
  }

  if (has(schema, 'properties')) return fromObject(schema, depth);
  return unknownType(schema);
}

function fromTypeKeyword(schema: SchemaObject, depth: number): AirbyteType {
  const type = schema.type;
  const names: unknown[] = Array.isArray(type) ? type : [type];
  if (!names.every((n): n is string => typeof n === 'string')) return unknownType(schema);
  const nonNull = [...new Set(names.filter((n) => n !== 'null'))];
  const options: AirbyteType[] = [];
  for (const name of nonNull) {
    const t = fromTypeName(name, schema, depth);
    if (t === undefined) return unknownType(schema);
    options.push(t);
  }
  return unionOf(options) ?? unknownType(schema);
}

function fromTypeName(name: string, schema: SchemaObject, depth: number): AirbyteType | undefined {
  switch (name) {
    case 'string':
      return fromString(schema);
    case 'boolean':
      return AirbyteTypes.Boolean;
    case 'integer':
      return AirbyteTypes.Integer;
    case 'number':
      return schema.airbyte_type === 'integer' ? AirbyteTypes.Integer : AirbyteTypes.Number;
    case 'array':
      return fromArray(schema, depth);
    case 'object':
      return fromObject(schema, depth);
    default:
      return undefined;
  }
}

/** Unknown formats are ignored; no timezone stated means with timezone. */
function fromString(schema: SchemaObject): AirbyteType {
  switch (schema.format) {
    case 'date':
      return AirbyteTypes.Date;
    case 'date-time':
      return schema.airbyte_type === 'timestamp_without_timezone'
        ? AirbyteTypes.TimestampNTZ
        : AirbyteTypes.TimestampTZ;
    case 'time':
      return schema.airbyte_type === 'time_without_timezone'
        ? AirbyteTypes.TimeNTZ
        : AirbyteTypes.TimeTZ;
    default:
      return AirbyteTypes.String;
  }
}

/** `items`: a schema, a list (read as a union of its entries, not a tuple), or absent. */
function fromArray(schema: SchemaObject, depth: number): AirbyteType {
  const items = schema.items;
  if (items === undefined) return AirbyteTypes.ArrayWithoutSchema;
  if (Array.isArray(items)) {
    const options = items.filter((o) => !isNullOnly(o)).map((o) => convert(o, depth + 1));
    const union = unionOf(options);
    return union === undefined ? AirbyteTypes.ArrayWithoutSchema : arrayOf(union);
  }
  return arrayOf(convert(items, depth + 1));
}

function fromObject(schema: SchemaObject, depth: number): AirbyteType {
  const properties = schema.properties;
  if (!isSchemaObject(properties)) return AirbyteTypes.ObjectWithoutSchema;
  return objectOf(
    Object.keys(properties).map((name) => [name, convert(properties[name], depth + 1)] as const),
  );
}

/** `{"type": "null"}` or `{"type": ["null"]}`: an option that only adds nullability. */
function isNullOnly(schema: unknown): boolean {
  if (!isSchemaObject(schema) || !has(schema, 'type')) return false;
  const type = schema.type;
  if (type === 'null') return true;
  return Array.isArray(type) && type.length > 0 && type.every((t) => t === 'null');
}

function isSchemaObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(schema: SchemaObject, key: string): boolean {
  return Object.hasOwn(schema, key) && schema[key] !== undefined;
}
