/**
 * The Airbyte type model (PROTOCOL.md §4): what a JSON schema means for a destination column.
 *
 * Terms:
 * - scalar: String, Boolean, Integer, Number and the five temporal types; stored in a typed column.
 * - container: Array, ArrayWithoutSchema, Object, ObjectWithoutSchema; stored as JSON.
 * - Union: a value may have any of several types; stored as JSON, values kept as they are.
 * - Unknown: a schema destkit does not understand; stored as JSON, values kept as they are.
 *   It is the failsafe type: whatever cannot be read becomes Unknown, never an error.
 *
 * Every field of every type is nullable, whatever the schema's `required` says (the CDK rule),
 * so the model has no nullable flag: null is always a legal value.
 */

export type AirbyteType =
  | { readonly kind: 'String' }
  | { readonly kind: 'Boolean' }
  | { readonly kind: 'Integer' }
  | { readonly kind: 'Number' }
  | { readonly kind: 'Date' }
  | { readonly kind: 'TimestampTZ' }
  | { readonly kind: 'TimestampNTZ' }
  | { readonly kind: 'TimeTZ' }
  | { readonly kind: 'TimeNTZ' }
  | { readonly kind: 'Array'; readonly items: AirbyteType }
  | { readonly kind: 'ArrayWithoutSchema' }
  /** Properties in schema order. */
  | { readonly kind: 'Object'; readonly properties: ReadonlyMap<string, AirbyteType> }
  /** An object with no `properties`, or an empty `properties`. */
  | { readonly kind: 'ObjectWithoutSchema' }
  /** At least two options, none of them a Union; see `unionOf`. */
  | { readonly kind: 'Union'; readonly options: readonly AirbyteType[] }
  | { readonly kind: 'Unknown'; readonly jsonSchema: unknown };

export type AirbyteTypeKind = AirbyteType['kind'];

export type ScalarKind =
  | 'String'
  | 'Boolean'
  | 'Integer'
  | 'Number'
  | 'Date'
  | 'TimestampTZ'
  | 'TimestampNTZ'
  | 'TimeTZ'
  | 'TimeNTZ';

/** The kinds that a destination stores as JSON (native JSON type, else JSON text). */
export type JsonKind = Exclude<AirbyteTypeKind, ScalarKind>;

export type TemporalKind = 'Date' | 'TimestampTZ' | 'TimestampNTZ' | 'TimeTZ' | 'TimeNTZ';

const SCALAR_KINDS: ReadonlySet<AirbyteTypeKind> = new Set<ScalarKind>([
  'String',
  'Boolean',
  'Integer',
  'Number',
  'Date',
  'TimestampTZ',
  'TimestampNTZ',
  'TimeTZ',
  'TimeNTZ',
]);

const TEMPORAL_KINDS: ReadonlySet<AirbyteTypeKind> = new Set<TemporalKind>([
  'Date',
  'TimestampTZ',
  'TimestampNTZ',
  'TimeTZ',
  'TimeNTZ',
]);

/** The scalar types, as frozen singletons. */
export const AirbyteTypes = Object.freeze({
  String: Object.freeze({ kind: 'String' }),
  Boolean: Object.freeze({ kind: 'Boolean' }),
  Integer: Object.freeze({ kind: 'Integer' }),
  Number: Object.freeze({ kind: 'Number' }),
  Date: Object.freeze({ kind: 'Date' }),
  TimestampTZ: Object.freeze({ kind: 'TimestampTZ' }),
  TimestampNTZ: Object.freeze({ kind: 'TimestampNTZ' }),
  TimeTZ: Object.freeze({ kind: 'TimeTZ' }),
  TimeNTZ: Object.freeze({ kind: 'TimeNTZ' }),
  ArrayWithoutSchema: Object.freeze({ kind: 'ArrayWithoutSchema' }),
  ObjectWithoutSchema: Object.freeze({ kind: 'ObjectWithoutSchema' }),
} as const satisfies Record<string, AirbyteType>);

export function arrayOf(items: AirbyteType): AirbyteType {
  return Object.freeze({ kind: 'Array', items });
}

/** An object type; an empty property list is ObjectWithoutSchema. */
export function objectOf(
  properties: ReadonlyMap<string, AirbyteType> | Iterable<readonly [string, AirbyteType]>,
): AirbyteType {
  const map = new Map(properties);
  if (map.size === 0) return AirbyteTypes.ObjectWithoutSchema;
  return Object.freeze({ kind: 'Object', properties: map });
}

/**
 * A union of options. Nested unions are flattened and structurally equal options kept once;
 * a single option collapses to itself. `undefined` when there is no option at all (the caller
 * decides what an empty union means, usually Unknown).
 */
export function unionOf(options: readonly AirbyteType[]): AirbyteType | undefined {
  const flat: AirbyteType[] = [];
  const seen = new Set<string>();
  const add = (t: AirbyteType): void => {
    if (t.kind === 'Union') {
      for (const o of t.options) add(o);
      return;
    }
    const key = typeKey(t);
    if (seen.has(key)) return;
    seen.add(key);
    flat.push(t);
  };
  for (const o of options) add(o);
  if (flat.length === 0) return undefined;
  if (flat.length === 1) return flat[0];
  return Object.freeze({ kind: 'Union', options: Object.freeze(flat) });
}

export function unknownType(jsonSchema: unknown): AirbyteType {
  return Object.freeze({ kind: 'Unknown', jsonSchema });
}

export function isScalarKind(kind: AirbyteTypeKind): kind is ScalarKind {
  return SCALAR_KINDS.has(kind);
}

export function isTemporalKind(kind: AirbyteTypeKind): kind is TemporalKind {
  return TEMPORAL_KINDS.has(kind);
}

/** True when the destination stores values of this type as JSON. */
export function isJsonKind(kind: AirbyteTypeKind): kind is JsonKind {
  return !SCALAR_KINDS.has(kind);
}

/**
 * A canonical text of a type: equal texts mean structurally equal types. Unknown types compare
 * by their schema's JSON text. Also handy in messages and snapshots.
 */
export function typeKey(t: AirbyteType): string {
  switch (t.kind) {
    case 'Array':
      return `Array<${typeKey(t.items)}>`;
    case 'Object':
      return `Object{${[...t.properties].map(([k, v]) => `${JSON.stringify(k)}:${typeKey(v)}`).join(',')}}`;
    case 'Union':
      return `Union<${t.options.map(typeKey).join('|')}>`;
    case 'Unknown':
      return `Unknown(${safeJson(t.jsonSchema)})`;
    default:
      return t.kind;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return '?';
  }
}
