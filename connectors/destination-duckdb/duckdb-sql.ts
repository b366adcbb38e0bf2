/**
 * The SQL text the DuckDB connector runs, built from identifiers only. Pure: no I/O.
 *
 * Every identifier is quoted (DUCKDB_NAMING.quoteIdentifier) and every table is qualified with
 * its catalog, so that a schema named like an attached database (`temp`, `system`, the file's
 * own name) still means the schema. Record values never appear here: rows go through the
 * Appender, parameters through prepared statements. The only literals are JSON pointers of
 * nested key paths and column comments, both from the catalog, both escaped.
 */
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import { DuckDbError } from './duckdb-errors.js';

/** A table, by its catalog (database), schema and table identifiers, unquoted. */
export interface TableRef {
  readonly catalog: string;
  readonly schema: string;
  readonly table: string;
}

/** A column for CREATE TABLE / ADD COLUMN. */
export interface ColumnDefinition {
  readonly identifier: string;
  readonly type: string;
}

/** A primary key part or the cursor: a column, and a path inside its JSON value. */
export interface KeyColumn {
  readonly column: string;
  readonly subPath: readonly string[];
}

export function quote(identifier: string): string {
  return DUCKDB_NAMING.quoteIdentifier(identifier);
}

export function qualified(table: TableRef): string {
  return `${quote(table.catalog)}.${quote(table.schema)}.${quote(table.table)}`;
}

/** A SQL string literal; refuses NUL, which a literal cannot hold. */
export function stringLiteral(text: string): string {
  if (text.includes('\u0000')) {
    throw new DuckDbError('a SQL string literal cannot contain a NUL character');
  }
  return `'${text.replaceAll("'", "''")}'`;
}

/** The JSON pointer (RFC 6901) of a path inside a JSON value: `["a","b/c"]` → `/a/b~1c`. */
export function jsonPointer(path: readonly string[]): string {
  return path.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

export function createSchemaSql(catalog: string, schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quote(catalog)}.${quote(schema)}`;
}

export function createTableSql(table: TableRef, columns: readonly ColumnDefinition[]): string {
  const list = columns.map((c) => `${quote(c.identifier)} ${c.type}`).join(', ');
  return `CREATE TABLE ${qualified(table)} (${list})`;
}

export function addColumnSql(table: TableRef, column: ColumnDefinition): string {
  return `ALTER TABLE ${qualified(table)} ADD COLUMN ${quote(column.identifier)} ${column.type}`;
}

/** Changes a column to a wider type; JSON takes each value as its JSON form (`to_json`). */
export function widenColumnSql(table: TableRef, identifier: string, to: string): string {
  const c = quote(identifier);
  const using = to === 'JSON' ? `to_json(${c})` : `CAST(${c} AS ${to})`;
  return `ALTER TABLE ${qualified(table)} ALTER COLUMN ${c} SET DATA TYPE ${to} USING ${using}`;
}

/** Rows of a BIGINT column whose value a DOUBLE would not hold exactly. */
export function inexactAsDoubleCountSql(table: TableRef, identifier: string): string {
  const c = quote(identifier);
  return (
    `SELECT count(*) AS n FROM ${qualified(table)} WHERE ${c} IS NOT NULL AND ` +
    `TRY_CAST(CAST(${c} AS DOUBLE) AS HUGEINT) IS DISTINCT FROM CAST(${c} AS HUGEINT)`
  );
}

/** The comment that records which schema property a column holds. */
export function columnComment(property: string): string {
  return JSON.stringify({ destkit_property: property });
}

/** The property a column comment names, if it is a destkit comment. */
export function propertyOfComment(comment: string | null | undefined): string | undefined {
  if (comment === null || comment === undefined || !comment.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(comment);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const property = (parsed as Record<string, unknown>).destkit_property;
    return typeof property === 'string' ? property : undefined;
  } catch {
    return undefined;
  }
}

export function commentColumnSql(table: TableRef, identifier: string, property: string): string {
  return (
    `COMMENT ON COLUMN ${qualified(table)}.${quote(identifier)} IS ` +
    stringLiteral(columnComment(property))
  );
}

export function dropTableSql(table: TableRef): string {
  return `DROP TABLE IF EXISTS ${qualified(table)}`;
}

export function renameTableSql(table: TableRef, newName: string): string {
  return `ALTER TABLE ${qualified(table)} RENAME TO ${quote(newName)}`;
}

/** Inserts every row of `from` into `into`, matching columns by name. */
export function copyRowsSql(from: TableRef, into: TableRef, columns: readonly string[]): string {
  const list = columns.map(quote).join(', ');
  return `INSERT INTO ${qualified(into)} (${list}) SELECT ${list} FROM ${qualified(from)}`;
}

/** Deletes the rows whose generation is below `$1` (or null: older than any generation). */
export function deleteOlderGenerationsSql(table: TableRef, generationColumn: string): string {
  const g = quote(generationColumn);
  return `DELETE FROM ${qualified(table)} WHERE ${g} IS NULL OR ${g} < $1`;
}

/** Counts the rows whose generation is below `$1` (or null). */
export function countOlderGenerationsSql(table: TableRef, generationColumn: string): string {
  const g = quote(generationColumn);
  return `SELECT count(*) AS n FROM ${qualified(table)} WHERE ${g} IS NULL OR ${g} < $1`;
}

export interface MergeSpec {
  /** The table that keeps one row per primary key (the final table, or the truncate temp table). */
  readonly target: TableRef;
  /** The staging table of this sync's records (it has every column of the target, plus `seq`). */
  readonly stage: TableRef;
  /** The target's columns, all copied from the winners. */
  readonly columns: readonly string[];
  readonly primaryKey: readonly KeyColumn[];
  readonly cursor: KeyColumn | undefined;
  readonly extractedAt: string;
  /** The load order column of the staging table: the later load wins a full tie. */
  readonly seq: string;
  /** The column of `_ab_cdc_deleted_at`, when the stream has one: a non-null value deletes. */
  readonly deletedAt: string | undefined;
}

/** The connection-local table that holds the winner per key during a merge. */
const WINNERS = '"temp"."main"."destkit_merge_winners"';

function keyExpression(alias: string, key: KeyColumn, asText: boolean): string {
  const column = `${alias}.${quote(key.column)}`;
  if (key.subPath.length === 0) return column;
  const fn = asText ? 'json_extract_string' : 'json_extract';
  return `${fn}(${column}, ${stringLiteral(jsonPointer(key.subPath))})`;
}

/** `a` ranks above `b` with nulls last. */
function greater(a: string, b: string): string {
  return `(${a} > ${b} OR (${a} IS NOT NULL AND ${b} IS NULL))`;
}

function same(a: string, b: string): string {
  return `${a} IS NOT DISTINCT FROM ${b}`;
}

/**
 * The statements of a dedup merge, to run in one transaction (docs/connectors/duckdb.md
 * "Dedup"): pick one winner per key among the staged rows (greatest cursor, nulls last, then
 * latest `_airbyte_extracted_at`, then the latest load); delete the target rows of that key the
 * winner beats or ties; insert the winner unless it is a CDC delete or a target row beat it.
 */
export function mergeSql(spec: MergeSpec): string[] {
  const pk = (alias: string) => spec.primaryKey.map((k) => keyExpression(alias, k, false));
  const cursor = (alias: string) =>
    spec.cursor === undefined ? undefined : keyExpression(alias, spec.cursor, true);
  const ea = (alias: string) => `${alias}.${quote(spec.extractedAt)}`;
  const order = [
    ...(spec.cursor === undefined ? [] : [`${cursor('s')} DESC NULLS LAST`]),
    `${ea('s')} DESC NULLS LAST`,
    `s.${quote(spec.seq)} DESC`,
  ].join(', ');
  const match = pk('t')
    .map((t, i) => same(t, pk('w')[i] ?? 'NULL'))
    .join(' AND ');
  const extractedWins = `(${greater(ea('w'), ea('t'))} OR ${same(ea('w'), ea('t'))})`;
  const wc = cursor('w');
  const tc = cursor('t');
  const winnerWins =
    wc === undefined || tc === undefined
      ? extractedWins
      : `(${greater(wc, tc)} OR (${same(wc, tc)} AND ${extractedWins}))`;
  const list = spec.columns.map(quote).join(', ');
  const fromWinners = spec.columns.map((c) => `w.${quote(c)}`).join(', ');
  const notDeleted = spec.deletedAt === undefined ? '' : `w.${quote(spec.deletedAt)} IS NULL AND `;
  return [
    `CREATE OR REPLACE TEMP TABLE destkit_merge_winners AS SELECT * FROM ${qualified(spec.stage)} AS s ` +
      `QUALIFY row_number() OVER (PARTITION BY ${pk('s').join(', ')} ORDER BY ${order}) = 1`,
    `DELETE FROM ${qualified(spec.target)} AS t USING ${WINNERS} AS w WHERE ${match} AND ${winnerWins}`,
    `INSERT INTO ${qualified(spec.target)} (${list}) SELECT ${fromWinners} FROM ${WINNERS} AS w ` +
      `WHERE ${notDeleted}NOT EXISTS (SELECT 1 FROM ${qualified(spec.target)} AS t WHERE ${match})`,
    `DROP TABLE ${WINNERS}`,
  ];
}

/** What a connector-owned table is for: a truncate refresh's temp table or a dedup staging table. */
export type InternalRole = 'temp' | 'stage';

/** The table comment that marks a connector-owned table and names its final table. */
export function internalTableComment(role: InternalRole, finalTable: string): string {
  return JSON.stringify({ destkit_role: role, destkit_final: finalTable });
}

/** True when `comment` marks a `role` table of `finalTable`. */
export function isInternalTableOf(
  comment: string | null | undefined,
  role: InternalRole,
  finalTable: string,
): boolean {
  if (comment === null || comment === undefined || !comment.startsWith('{')) return false;
  try {
    const parsed: unknown = JSON.parse(comment);
    if (typeof parsed !== 'object' || parsed === null) return false;
    const p = parsed as Record<string, unknown>;
    return p.destkit_role === role && p.destkit_final === finalTable;
  } catch {
    return false;
  }
}

export function commentTableSql(table: TableRef, comment: string | null): string {
  return `COMMENT ON TABLE ${qualified(table)} IS ${comment === null ? 'NULL' : stringLiteral(comment)}`;
}

/** Columns of the tables named (ignoring case) `$3` in schema `$2` of catalog `$1`. */
export const TABLE_COLUMNS_SQL =
  'SELECT c.schema_name, c.table_name, c.column_name, c.data_type, c.comment ' +
  'FROM duckdb_columns() AS c JOIN duckdb_tables() AS t ON c.table_oid = t.table_oid ' +
  'WHERE c.database_name = $1 AND lower(c.schema_name) = lower($2) ' +
  'AND lower(c.table_name) = lower($3) ORDER BY c.table_name, c.column_index';

/** The comment of the tables named (ignoring case) `$3` in schema `$2` of catalog `$1`. */
export const TABLE_COMMENT_SQL =
  'SELECT table_name, comment FROM duckdb_tables() WHERE database_name = $1 ' +
  'AND lower(schema_name) = lower($2) AND lower(table_name) = lower($3)';
