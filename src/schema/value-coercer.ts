/**
 * Coerces JSON values to their column's Airbyte type (PROTOCOL.md §4, "Mismatched values"): a
 * non-null value that does not fit is nulled and reported as
 * `{field, change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR'}`; the row is kept.
 * Coercion never throws, whatever the input. The rules, per type, are in docs/typing.md.
 *
 * Coerced values by type:
 * - String → string; Boolean → boolean; Integer → bigint (int64); Number → finite number.
 * - Date, TimestampTZ, TimestampNTZ, TimeTZ, TimeNTZ → canonical text (see temporal.ts); the
 *   epoch helpers there turn it into days or microseconds for destinations that want numbers.
 * - Array, ArrayWithoutSchema, Object, ObjectWithoutSchema, Union, Unknown → the JSON value as
 *   it is (one level deep: nested values are not typed).
 */
import type { JsonValue, RecordMetaChange } from '../protocol/messages.js';
import type { AirbyteType } from './airbyte-type.js';
import type { ColumnSchema } from './stream-columns.js';
import {
  epochDays,
  epochMicros,
  formatDate,
  formatTime,
  formatTimestamp,
  microsOfDay,
  type ParsedDate,
  type ParsedTime,
  type ParsedTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
} from './temporal.js';

/** A coerced value: JSON, or a bigint for Integer. */
export type CoercedValue = JsonValue | bigint;

export type CoerceResult =
  | { readonly ok: true; readonly value: CoercedValue }
  | { readonly ok: false };

/** What a destination's column types can hold beyond the type rules. All optional. */
export interface ValueLimits {
  /** Whether a finite number fits a Number column (e.g. `decimalFits(38, 9)`). Default: all do. */
  readonly numberFits?: (value: number) => boolean;
  /** Earliest Date/TimestampTZ/TimestampNTZ instant, epoch microseconds. Default: none. */
  readonly earliestEpochMicros?: bigint;
  /** Latest Date/TimestampTZ/TimestampNTZ instant, epoch microseconds. Default: none. */
  readonly latestEpochMicros?: bigint;
  /**
   * Largest absolute UTC offset of a TimeTZ value, in seconds (DuckDB's TIMETZ and PostgreSQL's
   * timetz stop at 15:59:59). Default: none (the type rules accept up to 23:59).
   */
  readonly maxTimeOffsetSeconds?: number;
}

export interface CoercedRecord {
  /** One value per column, in column order; null for absent, null and nulled fields. */
  readonly values: CoercedValue[];
  /** One DESTINATION_SERIALIZATION_ERROR change per nulled field, in column order. */
  readonly changes: RecordMetaChange[];
}

/** The largest and smallest int64. */
export const INT64_MAX = 9_223_372_036_854_775_807n;
export const INT64_MIN = -9_223_372_036_854_775_808n;
/** 2^63 as a double: integral doubles in [-2^63, 2^63) fit int64; 2^63 itself is INT64_MAX rounded. */
const TWO_POW_63 = 2 ** 63;

const NULL_RESULT: CoerceResult = Object.freeze({ ok: true, value: null });
const FAILED_RESULT: CoerceResult = Object.freeze({ ok: false });
/** What the coercions below return for a value that does not fit. */
const FAILED: unique symbol = Symbol('failed');

/**
 * A `numberFits` hook for DECIMAL(precision, scale): the integer part must have at most
 * `precision - scale` digits; extra fraction digits are left to the database to round. The
 * bound is the double nearest 10^(p-s), excluded: its shortest text (`1e+29`) means 10^29, which
 * would overflow the column when written as text.
 */
export function decimalFits(precision: number, scale: number): (value: number) => boolean {
  const bound = Number(`1e${precision - scale}`);
  return (value) => Math.abs(value) < bound;
}

/** Coerces one value; null and undefined (an absent field) are `{ok: true, value: null}`. */
export function coerceValue(
  type: AirbyteType,
  value: unknown,
  limits: ValueLimits = {},
): CoerceResult {
  if (value === null || value === undefined) return NULL_RESULT;
  const result = coerceOrFail(type, value, limits);
  return result === FAILED ? FAILED_RESULT : { ok: true, value: result };
}

/** coerceValue without the result object (coerceRecord's hot path); FAILED when it fails. */
function coerceOrFail(
  type: AirbyteType,
  value: unknown,
  limits: ValueLimits,
): CoercedValue | typeof FAILED {
  if (value === null || value === undefined) return null;
  try {
    return coerceNonNull(type, value, limits);
  } catch {
    return FAILED;
  }
}

/**
 * Coerces the declared top-level fields of a record's data. Undeclared fields are dropped
 * (PROTOCOL.md §3); only own properties count, so `constructor` or `__proto__` in a schema never
 * read inherited values.
 */
export function coerceRecord(
  data: Readonly<Record<string, unknown>>,
  columns: readonly ColumnSchema[],
  limits: ValueLimits = {},
): CoercedRecord {
  const values: CoercedValue[] = new Array<CoercedValue>(columns.length);
  const changes: RecordMetaChange[] = [];
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as ColumnSchema;
    const input = Object.hasOwn(data, column.name) ? data[column.name] : undefined;
    const value = coerceOrFail(column.type, input, limits);
    if (value === FAILED) {
      values[i] = null;
      changes.push({
        field: column.name,
        change: 'NULLED',
        reason: 'DESTINATION_SERIALIZATION_ERROR',
      });
    } else {
      values[i] = value;
    }
  }
  return { values, changes };
}

/**
 * The date behind `coerceValue(Date, value)` (whose value is `formatDate` of it), for a
 * destination that stores day numbers (`epochDays`); undefined where coercion fails. `value`
 * is not null (null is a null, not a failure).
 */
export function coerceDate(value: unknown, limits: ValueLimits = {}): ParsedDate | undefined {
  const d = typeof value === 'string' ? parseDate(value) : undefined;
  if (d === undefined) return undefined;
  if (!hasRange(limits)) return d;
  return inRange(BigInt(epochDays(d)) * 86_400_000_000n, limits) ? d : undefined;
}

/**
 * The timestamp behind `coerceValue(TimestampTZ or TimestampNTZ, value)` (whose value is
 * `formatTimestamp(ts, withOffset)`), for a destination that stores epoch microseconds:
 * `epochMicros(ts)` with an offset, the wall clock (epochDays, microsOfDay; the offset ignored)
 * without. Undefined where coercion fails; `value` is not null.
 */
export function coerceTimestamp(
  value: unknown,
  withOffset: boolean,
  limits: ValueLimits = {},
): ParsedTimestamp | undefined {
  const ts = typeof value === 'string' ? parseTimestamp(value) : undefined;
  if (ts === undefined) return undefined;
  if (!hasRange(limits)) return ts;
  // NTZ keeps the wall clock of a text that has an offset (the offset is dropped).
  return inRange(withOffset ? epochMicros(ts) : wallClockMicros(ts), limits) ? ts : undefined;
}

/**
 * The time behind `coerceValue(TimeTZ or TimeNTZ, value)` (whose value is
 * `formatTime(t, withOffset)`); undefined where coercion fails; `value` is not null. With an
 * offset, a missing one means UTC.
 */
export function coerceTime(
  value: unknown,
  withOffset: boolean,
  limits: ValueLimits = {},
): ParsedTime | undefined {
  const t = typeof value === 'string' ? parseTime(value) : undefined;
  if (t === undefined) return undefined;
  if (
    withOffset &&
    limits.maxTimeOffsetSeconds !== undefined &&
    Math.abs(t.offsetSeconds ?? 0) > limits.maxTimeOffsetSeconds
  ) {
    return undefined;
  }
  return t;
}

/** Coerces a non-null value; FAILED when it does not fit. May throw (callers catch). */
function coerceNonNull(
  type: AirbyteType,
  value: unknown,
  limits: ValueLimits,
): CoercedValue | typeof FAILED {
  switch (type.kind) {
    case 'String':
      return toStringValue(value);
    case 'Boolean':
      return typeof value === 'boolean' ? value : FAILED;
    case 'Integer':
      return toInteger(value);
    case 'Number':
      return toNumber(value, limits);
    case 'Date': {
      const d = coerceDate(value, limits);
      return d === undefined ? FAILED : formatDate(d);
    }
    case 'TimestampTZ':
    case 'TimestampNTZ': {
      const withOffset = type.kind === 'TimestampTZ';
      const ts = coerceTimestamp(value, withOffset, limits);
      return ts === undefined ? FAILED : formatTimestamp(ts, withOffset);
    }
    case 'TimeTZ':
    case 'TimeNTZ': {
      const withOffset = type.kind === 'TimeTZ';
      const t = coerceTime(value, withOffset, limits);
      return t === undefined ? FAILED : formatTime(t, withOffset);
    }
    case 'Array':
    case 'ArrayWithoutSchema':
      return Array.isArray(value) ? (value as JsonValue[]) : FAILED;
    case 'Object':
    case 'ObjectWithoutSchema':
      return isPlainObject(value) ? (value as JsonValue) : FAILED;
    case 'Union':
    case 'Unknown':
      return isJsonShaped(value) ? (value as JsonValue) : FAILED;
  }
}

/** Lenient: any JSON scalar becomes its text, an array or object its JSON text. */
function toStringValue(value: unknown): CoercedValue | typeof FAILED {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : FAILED;
    case 'object': {
      if (!Array.isArray(value) && !isPlainObject(value)) return FAILED;
      const text: unknown = JSON.stringify(value);
      return typeof text === 'string' ? text : FAILED;
    }
    default:
      return FAILED;
  }
}

/**
 * An integral number within int64, or a bigint within int64. Integers beyond 2^53 arrive from
 * JSON.parse already rounded to the nearest double; they are accepted as that double's exact
 * value (destkit cannot restore digits the parser dropped). The double 2^63 is what
 * JSON.parse makes of 9223372036854775807 (and of every integer down to 2^63 - 512), so it is
 * read as INT64_MAX; a source text just above int64 (up to 2^63 + 1024) rounds to the same
 * double and cannot be told apart. Strings are not integers.
 */
function toInteger(value: unknown): CoercedValue | typeof FAILED {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < -TWO_POW_63 || value > TWO_POW_63) return FAILED;
    return value === TWO_POW_63 ? INT64_MAX : BigInt(value);
  }
  if (typeof value === 'bigint') {
    return value >= INT64_MIN && value <= INT64_MAX ? value : FAILED;
  }
  return FAILED;
}

function toNumber(value: unknown, limits: ValueLimits): CoercedValue | typeof FAILED {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else return FAILED;
  if (!Number.isFinite(n)) return FAILED;
  if (limits.numberFits !== undefined && !limits.numberFits(n)) return FAILED;
  return n;
}

/** The wall clock of a timestamp as if it were UTC (its offset ignored). */
function wallClockMicros(ts: ParsedTimestamp): bigint {
  return BigInt(epochDays(ts)) * 86_400_000_000n + BigInt(microsOfDay(ts));
}

function hasRange(limits: ValueLimits): boolean {
  return limits.earliestEpochMicros !== undefined || limits.latestEpochMicros !== undefined;
}

function inRange(epochMicros: bigint, limits: ValueLimits): boolean {
  if (limits.earliestEpochMicros !== undefined && epochMicros < limits.earliestEpochMicros) {
    return false;
  }
  return limits.latestEpochMicros === undefined || epochMicros <= limits.latestEpochMicros;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A JSON value at the top level: null, boolean, string, finite number, array, plain object. */
function isJsonShaped(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      return value === null || Array.isArray(value) || isPlainObject(value);
    default:
      return false;
  }
}
