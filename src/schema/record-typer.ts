/**
 * Types one record for a final table: coerce every declared field (value-coercer.ts), apply the
 * destination's size limits (size-limits.ts), and build `_airbyte_meta` with the source's
 * changes followed by the destination's (write/airbyte-meta.ts).
 */
import type { RecordMetaChange } from '../protocol/messages.js';
import { type AirbyteMeta, airbyteMeta } from '../write/airbyte-meta.js';
import type { DestinationRecord } from '../write/destination-writer.js';
import {
  applySizeLimits,
  DUCKDB_SIZE_LIMITS,
  POSTGRES_SIZE_LIMITS,
  type SizeLimits,
} from './size-limits.js';
import type { StreamColumns } from './stream-columns.js';
import { dateToEpochDays } from './temporal.js';
import { type CoercedValue, coerceRecord, type ValueLimits } from './value-coercer.js';

/** Everything a destination's column types impose on values. */
export interface DestinationLimits {
  readonly values: ValueLimits;
  readonly sizes: SizeLimits;
}

export interface TypedRecord {
  /** One value per user column, aligned with `StreamColumns.columns`. */
  readonly values: CoercedValue[];
  /** The destination's changes only: serialization, then field size, then record size. */
  readonly changes: RecordMetaChange[];
  /** `_airbyte_meta`: `{sync_id, changes: [source changes…, destination changes…]}`. */
  readonly meta: AirbyteMeta;
}

const POSTGRES_EARLIEST_DAY = dateToEpochDays('4714-11-24 BC') ?? 0;

/** The largest TIMETZ offset DuckDB and PostgreSQL store: ±15:59:59 (the type rules accept ±23:59). */
const MAX_SQL_TIME_OFFSET_SECONDS = 15 * 3600 + 59 * 60 + 59;

/**
 * PostgreSQL: dates and timestamps from 4714-11-24 BC (its lowest date); timetz offsets up to
 * ±15:59:59; text and jsonb sizes as in POSTGRES_SIZE_LIMITS. Numbers are not bounded here: the
 * connector picks its numeric type.
 */
export const POSTGRES_LIMITS: DestinationLimits = Object.freeze({
  values: Object.freeze({
    earliestEpochMicros: BigInt(POSTGRES_EARLIEST_DAY) * 86_400_000_000n,
    maxTimeOffsetSeconds: MAX_SQL_TIME_OFFSET_SECONDS,
  }),
  sizes: POSTGRES_SIZE_LIMITS,
});

/**
 * DuckDB: its date, timestamp and size ranges exceed anything the type rules accept; its TIMETZ
 * offsets stop at ±15:59:59 (the type rules accept up to ±23:59).
 */
export const DUCKDB_LIMITS: DestinationLimits = Object.freeze({
  values: Object.freeze({ maxTimeOffsetSeconds: MAX_SQL_TIME_OFFSET_SECONDS }),
  sizes: DUCKDB_SIZE_LIMITS,
});

/** Types the record's data; throws KeyTooLargeError only (coercion itself never throws). */
export function typeRecord(
  record: DestinationRecord,
  columns: StreamColumns,
  limits: DestinationLimits,
): TypedRecord {
  const coerced = coerceRecord(record.data, columns.columns, limits.values);
  const sized = applySizeLimits(
    coerced.values,
    columns,
    limits.sizes,
    record.stream.descriptor,
    record.sizeBytes,
  );
  const changes =
    sized.changes.length === 0 ? coerced.changes : [...coerced.changes, ...sized.changes];
  return { values: sized.values, changes, meta: airbyteMeta(record, changes) };
}
