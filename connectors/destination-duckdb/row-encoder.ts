/**
 * Turns records into DuckDB data chunks for the Appender: each record is typed by the rules of
 * the schema layer (as typeRecord with DUCKDB_LIMITS: invalid values nulled, changes in
 * `_airbyte_meta`), and each value is encoded for its column's actual type, straight into the
 * chunk's column buffers (chunk-columns.ts). CPU only: no connection is needed, so records are
 * encoded before the stream's write lock is taken.
 *
 * Per record and column, the common cases take a shortcut that gives exactly what
 * `coerceValue` then `encoderFor` give (a string into VARCHAR, a safe integer into BIGINT, a
 * finite number into DOUBLE, an array into JSON, temporal text parsed once into epoch numbers);
 * anything else goes the general way through both. `_airbyte_raw_id` is written as random UUIDs
 * that DuckDB casts to text, `_airbyte_meta` of a record without changes and the generation id
 * as constant vectors.
 *
 * Encodings (column type ← destkit type):
 * - the native type (duckdb-types.ts): temporal values go as exact epoch numbers (days,
 *   microseconds, time + offset), never as text, so BC dates and offsets are exact;
 * - DOUBLE ← Integer (a widened column): the integer's double, exact for every integer destkit
 *   receives (JSON.parse gives doubles);
 * - VARCHAR ← anything (a widened column): the value's text — canonical temporal text, JSON
 *   text for containers;
 * - JSON ← anything: the value's JSON text.
 */
import { randomUUID } from 'node:crypto';
import type { DuckDBDataChunk, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { RecordMetaChange } from '../../src/protocol/messages.js';
import type { AirbyteType } from '../../src/schema/airbyte-type.js';
import { DUCKDB_LIMITS } from '../../src/schema/record-typer.js';
import type {
  ColumnSchema,
  MetaColumnName,
  StreamColumns,
} from '../../src/schema/stream-columns.js';
import {
  dateToEpochDays,
  epochDays,
  epochMicros,
  microsOfDay,
  type ParsedTimestamp,
  timestampToEpochMicros,
  timeToMicros,
} from '../../src/schema/temporal.js';
import {
  type CoercedValue,
  coerceDate,
  coerceTime,
  coerceTimestamp,
  coerceValue,
} from '../../src/schema/value-coercer.js';
import { airbyteMeta } from '../../src/write/airbyte-meta.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';
import {
  CHUNK_ROWS,
  type ChunkColumn,
  ConstantColumn,
  columnFor,
  type DateColumn,
  DiscardedColumn,
  type Float64Column,
  Int64Column,
  MostlyConstantTextColumn,
  NullColumn,
  RandomUuidColumn,
  StringColumn,
} from './chunk-columns.js';
import type { LayoutColumn } from './column-plan.js';
import { bindings, nodeApi } from './duckdb-bindings.js';
import { DuckDbError } from './duckdb-errors.js';
import { duckDbTypeOf } from './duckdb-types.js';

export { CHUNK_ROWS } from './chunk-columns.js';

export type Encoder = (value: CoercedValue) => DuckDBValue;

/** JavaScript Dates and DuckDB timestamps both hold this range comfortably (±275,760 years). */
const MAX_EMITTED_AT_MS = 8.64e15;

const EXTRACTED_AT_NULLED: RecordMetaChange = Object.freeze({
  field: '_airbyte_extracted_at',
  change: 'NULLED',
  reason: 'DESTINATION_SERIALIZATION_ERROR',
});

/** `emitted_at` (epoch ms, possibly fractional) as epoch microseconds; null when out of range. */
export function extractedAtMicros(emittedAtMs: number): bigint | null {
  if (!Number.isFinite(emittedAtMs) || Math.abs(emittedAtMs) > MAX_EMITTED_AT_MS) return null;
  const whole = Math.trunc(emittedAtMs);
  return BigInt(whole) * 1000n + BigInt(Math.round((emittedAtMs - whole) * 1000));
}

function textOf(value: CoercedValue): string | null {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'bigint':
    case 'number':
    case 'boolean':
      return String(value);
    default:
      return JSON.stringify(value);
  }
}

function jsonOf(value: CoercedValue): string | null {
  if (value === null) return null;
  return typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
}

function nativeEncoder(type: AirbyteType): Encoder {
  switch (type.kind) {
    case 'String':
    case 'Boolean':
    case 'Integer':
    case 'Number':
      return (v) => v as DuckDBValue;
    case 'Date':
      return (v) => {
        const days = typeof v === 'string' ? dateToEpochDays(v) : undefined;
        return days === undefined ? null : new nodeApi.DuckDBDateValue(days);
      };
    case 'TimestampTZ':
    case 'TimestampNTZ': {
      const withZone = type.kind === 'TimestampTZ';
      return (v) => {
        const micros = typeof v === 'string' ? timestampToEpochMicros(v) : undefined;
        if (micros === undefined) return null;
        return withZone
          ? new nodeApi.DuckDBTimestampTZValue(micros)
          : new nodeApi.DuckDBTimestampValue(micros);
      };
    }
    case 'TimeTZ':
    case 'TimeNTZ': {
      const withZone = type.kind === 'TimeTZ';
      return (v) => {
        const time = typeof v === 'string' ? timeToMicros(v) : undefined;
        if (time === undefined) return null;
        return withZone
          ? nodeApi.DuckDBTimeTZValue.fromMicrosAndOffset(BigInt(time.micros), time.offsetSeconds)
          : new nodeApi.DuckDBTimeValue(BigInt(time.micros));
      };
    }
    default:
      return jsonOf;
  }
}

/** How values of `type` are written to a column of `columnType`; undefined when they cannot be. */
export function encoderFor(type: AirbyteType, columnType: string): Encoder | undefined {
  if (columnType === duckDbTypeOf(type)) return nativeEncoder(type);
  if (columnType === 'JSON') return jsonOf;
  if (columnType === 'VARCHAR') return textOf;
  if (columnType === 'DOUBLE' && type.kind === 'Integer') {
    return (v) => (typeof v === 'bigint' ? Number(v) : null);
  }
  return undefined;
}

export interface EncodedBatch {
  readonly chunks: readonly DuckDBDataChunk[];
  readonly rows: number;
}

/**
 * Puts a non-null value of one property into its column: what `coerceValue` then `encoderFor`
 * give. False when the value does not fit its type (the row is then set null, with a change).
 */
type Put = (row: number, value: unknown) => boolean;

interface PropertyCell {
  /** The property name, as in the record's data and in meta changes. */
  readonly name: string;
  readonly column: ChunkColumn;
  readonly put: Put;
}

/** What the meta and load-order columns read of the record being encoded. */
interface RecordContext {
  record: DestinationRecord;
  /** `emitted_at` fits a timestamp (else `_airbyte_extracted_at` is nulled, with a change). */
  extractedAtValid: boolean;
  /** The changes of the record's properties, in column order; undefined when there are none. */
  changes: RecordMetaChange[] | undefined;
}

type RecordCell = (row: number, context: RecordContext) => void;

const VALUE_LIMITS = DUCKDB_LIMITS.values;
const MICROS_PER_DAY = 86_400_000_000;
/** Days from the epoch within which epoch microseconds (± a day) stay safe integers. */
const SAFE_DAYS = 100_000;
/** `emitted_at` milliseconds whose microseconds are safe integers. */
const SAFE_EMITTED_AT_MS = 9e12;

/** A timestamp's epoch microseconds (with an offset: the instant; without: the wall clock). */
function writeMicros(
  column: Int64Column,
  row: number,
  ts: ParsedTimestamp,
  withOffset: boolean,
): void {
  const days = epochDays(ts);
  if (days >= -SAFE_DAYS && days <= SAFE_DAYS) {
    const offsetSeconds = withOffset ? (ts.offsetSeconds ?? 0) : 0;
    column.setSafeInteger(row, days * MICROS_PER_DAY + microsOfDay(ts) - offsetSeconds * 1_000_000);
  } else {
    column.setBigInt(
      row,
      withOffset ? epochMicros(ts) : BigInt(days) * 86_400_000_000n + BigInt(microsOfDay(ts)),
    );
  }
}

function isPlainObjectFast(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/**
 * Encodes records for one table layout. `nextSeq` hands out the load order of the staging
 * table; it is called synchronously, once per record, in input order. The column buffers are
 * the encoder's own: `encode` runs synchronously from start to end, so calls never interleave.
 */
export class BatchEncoder {
  /** The chunk's column types: the table's, except UUID for random ids (cast by the Appender). */
  private readonly types: DuckDBType[];
  private readonly columns: ChunkColumn[];
  /** One per user column, in StreamColumns order (the order of their changes). */
  private readonly properties: PropertyCell[];
  private readonly recordCells: RecordCell[] = [];

  constructor(
    layout: readonly LayoutColumn[],
    chunkTypes: readonly DuckDBType[],
    streamColumns: StreamColumns,
    private readonly stream: DestinationStream,
    private readonly nextSeq: () => bigint,
  ) {
    if (chunkTypes.length !== layout.length) {
      throw new DuckDbError(
        `stream ${stream.label}: ${layout.length} columns but ${chunkTypes.length} column types`,
      );
    }
    this.types = [...chunkTypes];
    const userColumns = new Map<number, { column: ChunkColumn; type: string }>();
    this.columns = layout.map((column, i) => {
      const source = column.source;
      if (source.kind === 'none') return new NullColumn();
      if (source.kind === 'meta') return this.metaColumn(source.name, column, i);
      if (source.kind === 'seq') {
        const seq = new Int64Column();
        this.recordCells.push((row) => seq.setBigInt(row, this.nextSeq()));
        return seq;
      }
      const schema = streamColumns.columns[source.index];
      const buffer = columnFor(column.type);
      if (
        schema === undefined ||
        buffer === undefined ||
        encoderFor(schema.type, column.type) === undefined
      ) {
        throw this.cannotHold(column, schema?.type.kind ?? 'its');
      }
      userColumns.set(source.index, { column: buffer, type: column.type });
      return buffer;
    });
    this.properties = streamColumns.columns.map((schema, index) => {
      const target = userColumns.get(index);
      if (target === undefined) {
        const type = schema.type;
        return {
          name: schema.name,
          column: new DiscardedColumn(),
          put: (_row, value) => coerceValue(type, value, VALUE_LIMITS).ok,
        };
      }
      return { name: schema.name, column: target.column, put: putFor(schema, target) };
    });
  }

  encode(records: Iterable<DestinationRecord>): EncodedBatch {
    for (const column of this.columns) column.reset();
    const properties = this.properties;
    const cells = this.recordCells;
    const chunks: DuckDBDataChunk[] = [];
    let context: RecordContext | undefined;
    let row = 0;
    let rows = 0;
    for (const record of records) {
      const data = record.data;
      let changes: RecordMetaChange[] | undefined;
      for (let p = 0; p < properties.length; p++) {
        const property = properties[p] as PropertyCell;
        const value = Object.hasOwn(data, property.name) ? data[property.name] : undefined;
        if (value === null || value === undefined) {
          property.column.setNull(row);
        } else if (!property.put(row, value)) {
          property.column.setNull(row);
          if (changes === undefined) changes = [];
          changes.push({
            field: property.name,
            change: 'NULLED',
            reason: 'DESTINATION_SERIALIZATION_ERROR',
          });
        }
      }
      const emittedAt = record.emittedAt;
      const extractedAtValid =
        Number.isFinite(emittedAt) && Math.abs(emittedAt) <= MAX_EMITTED_AT_MS;
      if (context === undefined) context = { record, extractedAtValid, changes };
      else {
        context.record = record;
        context.extractedAtValid = extractedAtValid;
        context.changes = changes;
      }
      for (let c = 0; c < cells.length; c++) (cells[c] as RecordCell)(row, context);
      rows++;
      if (++row === CHUNK_ROWS) {
        chunks.push(this.chunk(row));
        row = 0;
      }
    }
    if (row > 0) chunks.push(this.chunk(row));
    return { chunks, rows };
  }

  private chunk(rows: number): DuckDBDataChunk {
    const chunk = nodeApi.DuckDBDataChunk.create(this.types, rows);
    for (let i = 0; i < this.columns.length; i++) {
      (this.columns[i] as ChunkColumn).write(bindings.data_chunk_get_vector(chunk.chunk, i), rows);
    }
    return chunk;
  }

  private metaColumn(name: MetaColumnName, column: LayoutColumn, index: number): ChunkColumn {
    const textual = column.type === 'VARCHAR' || column.type === 'JSON';
    switch (name) {
      case '_airbyte_raw_id': {
        if (column.type === 'VARCHAR') {
          this.types[index] = nodeApi.DuckDBUUIDType.instance;
          return new RandomUuidColumn();
        }
        if (!textual) throw this.cannotHold(column, 'UUID');
        const ids = new StringColumn();
        this.recordCells.push((row) => ids.set(row, randomUUID()));
        return ids;
      }
      case '_airbyte_extracted_at': {
        if (column.type === 'TIMESTAMPTZ') {
          const micros = new Int64Column();
          this.recordCells.push((row, { record, extractedAtValid }) => {
            const ms = record.emittedAt;
            if (!extractedAtValid) micros.setNull(row);
            else if (Number.isInteger(ms) && Math.abs(ms) <= SAFE_EMITTED_AT_MS) {
              micros.setSafeInteger(row, ms * 1000);
            } else micros.setBigInt(row, extractedAtMicros(ms) as bigint);
          });
          return micros;
        }
        if (!textual) throw this.cannotHold(column, 'TimestampTZ');
        const texts = new StringColumn();
        const json = column.type === 'JSON';
        this.recordCells.push((row, { record, extractedAtValid }) => {
          if (!extractedAtValid) return texts.setNull(row);
          const text = new Date(record.emittedAt).toISOString();
          texts.set(row, json ? JSON.stringify(text) : text);
        });
        return texts;
      }
      case '_airbyte_meta': {
        if (!textual) throw this.cannotHold(column, 'Object');
        const syncId = this.stream.syncId;
        const metas = new MostlyConstantTextColumn(
          JSON.stringify({ sync_id: syncId, changes: [] }),
        );
        this.recordCells.push((row, { record, extractedAtValid, changes }) => {
          const source = record.meta?.changes;
          if (
            changes === undefined &&
            extractedAtValid &&
            (source === undefined || source.length === 0) &&
            record.stream.syncId === syncId
          ) {
            return metas.setCommon(row);
          }
          const own = extractedAtValid
            ? (changes ?? [])
            : [...(changes ?? []), EXTRACTED_AT_NULLED];
          metas.set(row, JSON.stringify(airbyteMeta(record, own)));
        });
        return metas;
      }
      case '_airbyte_generation_id': {
        const generation = this.stream.generationId;
        if (generation === null) return new NullColumn();
        if (textual)
          return new ConstantColumn(bindings.create_varchar(BigInt(generation).toString()));
        if (column.type === 'DOUBLE') return new ConstantColumn(bindings.create_double(generation));
        if (column.type === 'BIGINT') {
          return new ConstantColumn(bindings.create_int64(BigInt(generation)));
        }
        throw this.cannotHold(column, 'Integer');
      }
    }
  }

  private cannotHold(column: LayoutColumn, kind: string): DuckDbError {
    return new DuckDbError(
      `stream ${this.stream.label}: column ${JSON.stringify(column.identifier)} of type ` +
        `${column.type} cannot hold ${kind} values`,
    );
  }
}

/**
 * How the values of one property go into a column of `target.type`: shortcuts for the common
 * cases of a column of the property's own type (each gives exactly what the general way gives
 * for the values it takes), the general way (`coerceValue`, then `encoderFor`) for the rest.
 */
function putFor(schema: ColumnSchema, target: { column: ChunkColumn; type: string }): Put {
  const { type } = schema;
  const column = target.column;
  const encode = encoderFor(type, target.type) as Encoder;
  const general: Put = (row, value) => {
    const result = coerceValue(type, value, VALUE_LIMITS);
    if (!result.ok) return false;
    column.setValue(row, encode(result.value));
    return true;
  };
  if (target.type !== duckDbTypeOf(type)) return general;
  switch (type.kind) {
    case 'String': {
      const strings = column as StringColumn;
      return (row, value) => {
        if (typeof value !== 'string') return general(row, value);
        strings.set(row, value);
        return true;
      };
    }
    case 'Integer': {
      const integers = column as Int64Column;
      return (row, value) => {
        if (!Number.isSafeInteger(value)) return general(row, value);
        integers.setSafeInteger(row, value as number);
        return true;
      };
    }
    case 'Number': {
      if (VALUE_LIMITS.numberFits !== undefined) return general;
      const doubles = column as Float64Column;
      return (row, value) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return general(row, value);
        doubles.set(row, value);
        return true;
      };
    }
    case 'Date': {
      const dates = column as DateColumn;
      return (row, value) => {
        const date = coerceDate(value, VALUE_LIMITS);
        if (date === undefined) return false;
        dates.set(row, epochDays(date));
        return true;
      };
    }
    case 'TimestampTZ':
    case 'TimestampNTZ': {
      const withOffset = type.kind === 'TimestampTZ';
      const micros = column as Int64Column;
      return (row, value) => {
        const ts = coerceTimestamp(value, withOffset, VALUE_LIMITS);
        if (ts === undefined) return false;
        writeMicros(micros, row, ts, withOffset);
        return true;
      };
    }
    case 'TimeNTZ': {
      const micros = column as Int64Column;
      return (row, value) => {
        const time = coerceTime(value, false, VALUE_LIMITS);
        if (time === undefined) return false;
        micros.setSafeInteger(row, microsOfDay(time));
        return true;
      };
    }
    case 'Array':
    case 'ArrayWithoutSchema': {
      const texts = column as StringColumn;
      return (row, value) => {
        if (!Array.isArray(value)) return general(row, value);
        texts.set(row, JSON.stringify(value));
        return true;
      };
    }
    case 'Object':
    case 'ObjectWithoutSchema': {
      const texts = column as StringColumn;
      return (row, value) => {
        if (!isPlainObjectFast(value)) return general(row, value);
        texts.set(row, JSON.stringify(value));
        return true;
      };
    }
    default:
      return general;
  }
}
