/**
 * Turns records into DuckDB data chunks for the Appender: each record is typed by the schema
 * layer (typeRecord with DUCKDB_LIMITS: invalid values nulled, changes in `_airbyte_meta`), then
 * each value is encoded for its column's actual type. CPU only: no connection is needed, so
 * records are encoded before the stream's write lock is taken.
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
import {
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeTZValue,
  DuckDBTimeValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { RecordMetaChange } from '../../src/protocol/messages.js';
import type { AirbyteType } from '../../src/schema/airbyte-type.js';
import { DUCKDB_LIMITS, type TypedRecord, typeRecord } from '../../src/schema/record-typer.js';
import type { MetaColumnName, StreamColumns } from '../../src/schema/stream-columns.js';
import {
  dateToEpochDays,
  timestampToEpochMicros,
  timeToMicros,
} from '../../src/schema/temporal.js';
import type { CoercedValue } from '../../src/schema/value-coercer.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';
import type { LayoutColumn } from './column-plan.js';
import { DuckDbError } from './duckdb-errors.js';
import { duckDbTypeOf } from './duckdb-types.js';

/** Rows per data chunk: DuckDB's vector size. */
export const CHUNK_ROWS = 2048;

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
        return days === undefined ? null : new DuckDBDateValue(days);
      };
    case 'TimestampTZ':
    case 'TimestampNTZ': {
      const withZone = type.kind === 'TimestampTZ';
      return (v) => {
        const micros = typeof v === 'string' ? timestampToEpochMicros(v) : undefined;
        if (micros === undefined) return null;
        return withZone ? new DuckDBTimestampTZValue(micros) : new DuckDBTimestampValue(micros);
      };
    }
    case 'TimeTZ':
    case 'TimeNTZ': {
      const withZone = type.kind === 'TimeTZ';
      return (v) => {
        const time = typeof v === 'string' ? timeToMicros(v) : undefined;
        if (time === undefined) return null;
        return withZone
          ? DuckDBTimeTZValue.fromMicrosAndOffset(BigInt(time.micros), time.offsetSeconds)
          : new DuckDBTimeValue(BigInt(time.micros));
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

/** What one record gives each column. */
type CellReader = (record: DestinationRecord, typed: TypedRecord, row: RowContext) => DuckDBValue;

interface RowContext {
  extractedAt: bigint | null;
  meta: string;
  seq: bigint;
}

export interface EncodedBatch {
  readonly chunks: readonly DuckDBDataChunk[];
  readonly rows: number;
}

/**
 * Encodes records for one table layout. `nextSeq` hands out the load order of the staging
 * table; it is called synchronously, once per record, in input order.
 */
export class BatchEncoder {
  private readonly readers: CellReader[];

  constructor(
    private readonly layout: readonly LayoutColumn[],
    private readonly chunkTypes: readonly DuckDBType[],
    private readonly columns: StreamColumns,
    private readonly stream: DestinationStream,
    private readonly nextSeq: () => bigint,
  ) {
    if (chunkTypes.length !== layout.length) {
      throw new DuckDbError(
        `stream ${stream.label}: ${layout.length} columns but ${chunkTypes.length} column types`,
      );
    }
    this.readers = layout.map((column) => this.readerFor(column));
  }

  encode(records: Iterable<DestinationRecord>): EncodedBatch {
    const chunks: DuckDBDataChunk[] = [];
    const width = this.layout.length;
    let cells = this.emptyColumns(width);
    let filled = 0;
    let rows = 0;
    for (const record of records) {
      const typed = typeRecord(record, this.columns, DUCKDB_LIMITS);
      const extractedAt = extractedAtMicros(record.emittedAt);
      const meta =
        extractedAt === null
          ? { sync_id: typed.meta.sync_id, changes: [...typed.meta.changes, EXTRACTED_AT_NULLED] }
          : typed.meta;
      const row: RowContext = { extractedAt, meta: JSON.stringify(meta), seq: this.nextSeq() };
      for (let i = 0; i < width; i++) {
        (cells[i] as DuckDBValue[])[filled] = (this.readers[i] as CellReader)(record, typed, row);
      }
      filled++;
      rows++;
      if (filled === CHUNK_ROWS) {
        chunks.push(this.chunk(cells, filled));
        cells = this.emptyColumns(width);
        filled = 0;
      }
    }
    if (filled > 0) chunks.push(this.chunk(cells, filled));
    return { chunks, rows };
  }

  private emptyColumns(width: number): DuckDBValue[][] {
    return Array.from({ length: width }, () => new Array<DuckDBValue>(CHUNK_ROWS));
  }

  private chunk(cells: DuckDBValue[][], rows: number): DuckDBDataChunk {
    const chunk = DuckDBDataChunk.create(this.chunkTypes, rows);
    chunk.setColumns(rows === CHUNK_ROWS ? cells : cells.map((c) => c.slice(0, rows)));
    return chunk;
  }

  private readerFor(column: LayoutColumn): CellReader {
    const source = column.source;
    switch (source.kind) {
      case 'none':
        return () => null;
      case 'seq':
        return (_r, _t, row) => row.seq;
      case 'meta':
        return this.metaReader(source.name, column);
      case 'user': {
        const schema = this.columns.columns[source.index];
        const encode = schema === undefined ? undefined : encoderFor(schema.type, column.type);
        if (encode === undefined) {
          throw new DuckDbError(
            `stream ${this.stream.label}: column ${JSON.stringify(column.identifier)} of type ` +
              `${column.type} cannot hold ${schema?.type.kind ?? 'its'} values`,
          );
        }
        const index = source.index;
        return (_r, typed) => encode(typed.values[index] ?? null);
      }
    }
  }

  private metaReader(name: MetaColumnName, column: LayoutColumn): CellReader {
    const generation = this.stream.generationId === null ? null : BigInt(this.stream.generationId);
    const textual = column.type === 'VARCHAR' || column.type === 'JSON';
    switch (name) {
      case '_airbyte_raw_id':
        return () => randomUUID();
      case '_airbyte_extracted_at':
        if (column.type === 'TIMESTAMPTZ') {
          return (_r, _t, row) =>
            row.extractedAt === null ? null : new DuckDBTimestampTZValue(row.extractedAt);
        }
        return (r, _t, row) => {
          if (row.extractedAt === null) return null;
          const text = new Date(r.emittedAt).toISOString();
          return column.type === 'JSON' ? JSON.stringify(text) : text;
        };
      case '_airbyte_meta':
        return (_r, _t, row) => row.meta;
      case '_airbyte_generation_id':
        if (textual) return () => (generation === null ? null : generation.toString());
        if (column.type === 'DOUBLE')
          return () => (generation === null ? null : Number(generation));
        return () => generation;
    }
  }
}
