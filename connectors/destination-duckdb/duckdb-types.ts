/**
 * DuckDB column types of destkit types, and how a column's type widens when a stream's schema
 * changes. Pure: no I/O.
 *
 * | destkit type | DuckDB |
 * |---|---|
 * | String | VARCHAR |
 * | Boolean | BOOLEAN |
 * | Integer | BIGINT (int64, PROTOCOL.md §4) |
 * | Number | DOUBLE — what JSON.parse gives destkit, so any finite number is kept exactly |
 * | Date | DATE |
 * | TimestampTZ / TimestampNTZ | TIMESTAMPTZ / TIMESTAMP (microseconds) |
 * | TimeTZ / TimeNTZ | TIMETZ / TIME |
 * | Array, Object, Union, Unknown (and schemaless) | JSON |
 *
 * Widening (`widenedType`): a column never narrows and never loses a value. Equal types stay;
 * BIGINT and DOUBLE meet at DOUBLE; anything meets JSON at JSON; any other pair meets at VARCHAR
 * (every value has a lossless text). Values of a narrower type are then written in the column's
 * wider type (row-encoder.ts).
 */
import type { AirbyteType } from '../../src/schema/airbyte-type.js';

export type DuckDbType =
  | 'VARCHAR'
  | 'BOOLEAN'
  | 'BIGINT'
  | 'DOUBLE'
  | 'DATE'
  | 'TIMESTAMPTZ'
  | 'TIMESTAMP'
  | 'TIMETZ'
  | 'TIME'
  | 'JSON';

const KNOWN: ReadonlySet<string> = new Set<DuckDbType>([
  'VARCHAR',
  'BOOLEAN',
  'BIGINT',
  'DOUBLE',
  'DATE',
  'TIMESTAMPTZ',
  'TIMESTAMP',
  'TIMETZ',
  'TIME',
  'JSON',
]);

/** The column type of a destkit type. */
export function duckDbTypeOf(type: AirbyteType): DuckDbType {
  switch (type.kind) {
    case 'String':
      return 'VARCHAR';
    case 'Boolean':
      return 'BOOLEAN';
    case 'Integer':
      return 'BIGINT';
    case 'Number':
      return 'DOUBLE';
    case 'Date':
      return 'DATE';
    case 'TimestampTZ':
      return 'TIMESTAMPTZ';
    case 'TimestampNTZ':
      return 'TIMESTAMP';
    case 'TimeTZ':
      return 'TIMETZ';
    case 'TimeNTZ':
      return 'TIME';
    default:
      return 'JSON';
  }
}

/**
 * A type as `duckdb_columns().data_type` spells it, in the short form used here
 * (`TIMESTAMP WITH TIME ZONE` → `TIMESTAMPTZ`). Types destkit never creates stay as they are.
 */
export function normalizeDuckDbType(dataType: string): string {
  const upper = dataType.trim().toUpperCase();
  switch (upper) {
    case 'TIMESTAMP WITH TIME ZONE':
      return 'TIMESTAMPTZ';
    case 'TIME WITH TIME ZONE':
      return 'TIMETZ';
    case 'TIMESTAMP WITHOUT TIME ZONE':
      return 'TIMESTAMP';
    case 'TIME WITHOUT TIME ZONE':
      return 'TIME';
    case 'STRING':
    case 'TEXT':
      return 'VARCHAR';
    case 'INT8':
    case 'LONG':
      return 'BIGINT';
    case 'FLOAT8':
      return 'DOUBLE';
    case 'BOOL':
      return 'BOOLEAN';
    default:
      return upper;
  }
}

export function isDuckDbType(type: string): type is DuckDbType {
  return KNOWN.has(type);
}

/**
 * The narrowest type that holds every value of two column types (DuckDB types, normalized; the
 * first usually the existing column's, the second the wanted one) without loss.
 */
export function widenedType(a: string, b: string): string {
  if (a === b) return a;
  if (a === 'JSON' || b === 'JSON') return 'JSON';
  if ((a === 'BIGINT' && b === 'DOUBLE') || (a === 'DOUBLE' && b === 'BIGINT')) return 'DOUBLE';
  return 'VARCHAR';
}
