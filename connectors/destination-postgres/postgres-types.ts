/**
 * Column types in PostgreSQL: which type an Airbyte type gets, which existing column type can
 * take values of another type as they are, and which type two types widen to. Pure.
 *
 * Types are the text `format_type()` returns (`bigint`, `timestamp with time zone`, …); the
 * connector creates only the "managed" types below. Any other type (`integer`, `varchar(10)`,
 * `numeric(10,2)`, `uuid` on a user column…) is foreign: it accepts nothing but its own type.
 *
 * Widening rule (docs/connectors/postgres.md "Schema evolution"): when a column's existing type
 * cannot take the stream's values as they are, the column is altered to the narrowest type
 * that holds both the old values and the new ones exactly:
 * - a type with a length or precision (`varchar(10)`, `numeric(10,2)`, `timestamp(3) with time
 *   zone`) that the stream's values need without it → the same type without it;
 * - bigint (or integer, smallint) with numeric values → numeric;
 * - integer or smallint with bigint values → bigint;
 * - anything with JSON values (objects, arrays, unions) → jsonb (`to_jsonb(old)`);
 * - any other pair → text (`old::text`).
 * text and jsonb take every value (numbers, booleans and dates as their text or JSON), numeric
 * takes any integer or float, bigint takes integer and smallint; so a column is never narrowed
 * and no value is ever cast to a type that could reject it.
 */
import type { AirbyteType } from '../../src/schema/index.js';

export const PG = Object.freeze({
  bigint: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  date: 'date',
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  timetz: 'time with time zone',
  time: 'time without time zone',
  text: 'text',
  jsonb: 'jsonb',
  uuid: 'uuid',
} as const);

/** A type as `format_type()` writes it. */
export type PgType = string;

/** The column type of an Airbyte type. */
export function pgTypeOf(type: AirbyteType): PgType {
  switch (type.kind) {
    case 'String':
      return PG.text;
    case 'Boolean':
      return PG.boolean;
    case 'Integer':
      return PG.bigint;
    case 'Number':
      // Exact: a JSON number's shortest text is stored digit for digit.
      return PG.numeric;
    case 'Date':
      return PG.date;
    case 'TimestampTZ':
      return PG.timestamptz;
    case 'TimestampNTZ':
      return PG.timestamp;
    case 'TimeTZ':
      return PG.timetz;
    case 'TimeNTZ':
      return PG.time;
    default:
      return PG.jsonb;
  }
}

const SMALL_INTEGERS = new Set(['integer', 'smallint']);
const FLOATS = new Set(['real', 'double precision']);

/**
 * A type without its length or precision: `numeric(10,2)` → `numeric`,
 * `timestamp(3) with time zone` → `timestamp with time zone`, `character varying(10)` → `text`.
 * Every value of the constrained type is a value of the unconstrained one.
 */
export function unconstrained(type: PgType): PgType {
  const base = type.replace(/\(\d+(?:,\d+)?\)/, '');
  return base === 'character varying' || base === 'character' ? PG.text : base;
}

/** True when a column of type `existing` can take values written for type `incoming` as they are. */
export function accepts(existing: PgType, incoming: PgType): boolean {
  if (existing === incoming || existing === unconstrained(incoming)) return true;
  if (existing === PG.text || isJsonColumn(existing)) return true;
  if (existing === PG.numeric) {
    return incoming === PG.bigint || SMALL_INTEGERS.has(incoming) || FLOATS.has(incoming);
  }
  return existing === PG.bigint && SMALL_INTEGERS.has(incoming);
}

/** The type a column of type `existing` becomes so that it also takes `incoming` values. */
export function widen(existing: PgType, incoming: PgType): PgType {
  if (accepts(existing, incoming)) return existing;
  if (accepts(incoming, existing)) return incoming;
  const base = unconstrained(existing);
  if (base !== existing && accepts(base, incoming)) return base;
  if (incoming === PG.jsonb || existing === PG.jsonb) return PG.jsonb;
  if (SMALL_INTEGERS.has(existing) && incoming === PG.bigint) return PG.bigint;
  if ((SMALL_INTEGERS.has(existing) || FLOATS.has(existing)) && incoming === PG.numeric) {
    return PG.numeric;
  }
  if (existing === PG.bigint && FLOATS.has(incoming)) return PG.numeric;
  return PG.text;
}

/**
 * An SQL expression converting `expression` of type `from` into type `to`, where `to` accepts
 * `from` or is `widen(from, …)`. Used by ALTER … USING and by the dedup merge.
 */
export function convert(expression: string, from: PgType, to: PgType): string {
  if (from === to) return expression;
  if (to === PG.jsonb) return `to_jsonb(${expression})`;
  if (to === 'json') return `to_json(${expression})`;
  if (to === PG.text) return `(${expression})::text`;
  return `(${expression})::${to}`;
}

/** True for types whose values the encoder writes as JSON text. */
export function isJsonColumn(type: PgType): boolean {
  return type === PG.jsonb || type === 'json';
}
