/**
 * Per-destination size limits on coerced records (PROTOCOL.md §3 "Record size"):
 * 1. a field larger than its type's limit is nulled: `{field, NULLED, DESTINATION_FIELD_SIZE_LIMITATION}`;
 * 2. if the record is still larger than the record limit, every field but the primary key and
 *    cursor columns is nulled and `{field: 'all', NULLED, DESTINATION_RECORD_SIZE_LIMITATION}`
 *    is added;
 * 3. key fields are never nulled: a key field over its field limit, or keys alone over the
 *    record limit, is a KeyTooLargeError (the record cannot be written).
 *
 * Sizes: a string is its UTF-8 bytes (temporal values too: their canonical text); an array or
 * object (any JSON kind) is the UTF-8 bytes of its JSON text; a boolean is 1; a number or
 * bigint 8; null 0. A record's size is the sum of its user fields' sizes (meta columns are not
 * counted). Nothing is measured unless a limit applies.
 */
import type { RecordMetaChange, StreamDescriptor } from '../protocol/messages.js';
import type { AirbyteTypeKind } from './airbyte-type.js';
import { KeyTooLargeError } from './schema-errors.js';
import type { StreamColumns } from './stream-columns.js';
import type { CoercedValue } from './value-coercer.js';

export interface SizeLimits {
  /** Largest value of one field in bytes, per type kind. A kind not listed has no limit. */
  readonly maxFieldBytes?: Readonly<Partial<Record<AirbyteTypeKind, number>>>;
  /** Largest record in bytes (sum of its fields' sizes). Default: no limit. */
  readonly maxRecordBytes?: number;
}

export interface SizeLimitedRecord {
  readonly values: CoercedValue[];
  /** Only the changes added by the limits, in column order, then `all`. */
  readonly changes: RecordMetaChange[];
}

const JSON_KINDS = [
  'Array',
  'ArrayWithoutSchema',
  'Object',
  'ObjectWithoutSchema',
  'Union',
  'Unknown',
] as const satisfies readonly AirbyteTypeKind[];

/** The limits of PostgreSQL: text up to 1 GiB - 1 byte; jsonb up to 2^28 - 1 bytes (approx.). */
export const POSTGRES_SIZE_LIMITS: SizeLimits = Object.freeze({
  maxFieldBytes: Object.freeze({
    String: 1_073_741_823,
    ...Object.fromEntries(JSON_KINDS.map((kind) => [kind, 268_435_455])),
  }),
});

/** DuckDB sets no limit a JavaScript string could reach. */
export const DUCKDB_SIZE_LIMITS: SizeLimits = Object.freeze({});

/** The size of one coerced value, by the rules above. Never throws. */
export function valueSizeBytes(value: CoercedValue): number {
  switch (typeof value) {
    case 'string':
      return Buffer.byteLength(value, 'utf8');
    case 'boolean':
      return 1;
    case 'number':
    case 'bigint':
      return 8;
    default: {
      if (value === null) return 0;
      try {
        const text: unknown = JSON.stringify(value, (_k, v: unknown) =>
          typeof v === 'bigint' ? v.toString() : v,
        );
        return typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : 0;
      } catch {
        // A value JSON cannot write (a cycle) cannot be stored either: too large for any limit.
        return Number.POSITIVE_INFINITY;
      }
    }
  }
}

/**
 * How much larger than the input line of its record a value can measure: JSON.stringify writes
 * strings and structure no longer than their input text, but numbers can grow (`1e20` is written
 * as 21 digits, 5.25×); a temporal value's canonical text (at most ~40 bytes) is shorter than
 * the smallest record line that can carry it.
 */
export const MAX_VALUE_GROWTH = 6;

const smallestLimits = new WeakMap<SizeLimits, number>();

/**
 * The size below which no value needs measuring: the smallest field limit, or 0 (always
 * measure) with a record limit.
 */
function unmeasuredBelow(limits: SizeLimits): number {
  let smallest = smallestLimits.get(limits);
  if (smallest === undefined) {
    smallest =
      limits.maxRecordBytes !== undefined
        ? 0
        : Math.min(Number.POSITIVE_INFINITY, ...Object.values(limits.maxFieldBytes ?? {}));
    smallestLimits.set(limits, smallest);
  }
  return smallest;
}

/**
 * Applies the limits to one record's coerced values (aligned with `stream.columns`). Returns
 * new arrays; the input is not modified. Throws KeyTooLargeError when a key field is too large.
 *
 * `inputBytes`, when given, is the size of the JSON text the values were parsed from (a record's
 * input line): without a record limit, a field whose limit is at least MAX_VALUE_GROWTH times
 * that cannot exceed it and is not measured.
 */
export function applySizeLimits(
  values: readonly CoercedValue[],
  stream: StreamColumns,
  limits: SizeLimits,
  descriptor?: StreamDescriptor,
  inputBytes?: number,
): SizeLimitedRecord {
  const out = [...values];
  const changes: RecordMetaChange[] = [];
  const fieldLimits = limits.maxFieldBytes;
  const recordLimit = limits.maxRecordBytes;
  if (fieldLimits === undefined && recordLimit === undefined) return { values: out, changes };
  // No field can reach even the smallest limit: nothing to measure.
  if (inputBytes !== undefined && inputBytes * MAX_VALUE_GROWTH <= unmeasuredBelow(limits))
    return { values: out, changes };

  const unmeasured =
    recordLimit === undefined && inputBytes !== undefined
      ? inputBytes * MAX_VALUE_GROWTH
      : Number.POSITIVE_INFINITY;
  const keys = new Set<number>(stream.primaryKey.map((k) => k.index));
  if (stream.cursor !== undefined) keys.add(stream.cursor.index);
  const sizes = new Array<number>(out.length).fill(0);

  stream.columns.forEach((column, i) => {
    const value = out[i];
    if (value === null || value === undefined) return;
    const limit = fieldLimits?.[column.type.kind];
    if (limit === undefined && recordLimit === undefined) return;
    if (limit !== undefined && limit >= unmeasured) return;
    const size = valueSizeBytes(value);
    if (limit !== undefined && size > limit) {
      if (keys.has(i)) throw new KeyTooLargeError([column.name], size, limit, descriptor);
      out[i] = null;
      changes.push({
        field: column.name,
        change: 'NULLED',
        reason: 'DESTINATION_FIELD_SIZE_LIMITATION',
      });
      return;
    }
    sizes[i] = size;
  });

  if (recordLimit === undefined) return { values: out, changes };
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= recordLimit) return { values: out, changes };

  let keySize = 0;
  for (let i = 0; i < out.length; i++) {
    if (keys.has(i)) keySize += sizes[i] ?? 0;
    else out[i] = null;
  }
  if (keySize > recordLimit) {
    const names = [...keys].sort((a, b) => a - b).map((i) => stream.columns[i]?.name ?? '');
    throw new KeyTooLargeError(names, keySize, recordLimit, descriptor);
  }
  changes.push({ field: 'all', change: 'NULLED', reason: 'DESTINATION_RECORD_SIZE_LIMITATION' });
  return { values: out, changes };
}
