/**
 * The SQL text the connector runs (pure). Every identifier is quoted with POSTGRES_NAMING's
 * quoteIdentifier; record values never appear in SQL text (they travel as COPY data), and the
 * few parameters (schema and table names in catalog queries) are bind parameters. The only
 * literals are primary-key paths inside JSON columns (catalog metadata), written as escaped
 * string literals.
 */
import type { TableName } from '../../src/schema/index.js';
import { helperName, qualified, quote } from './postgres-names.js';
import { convert, type PgType } from './postgres-types.js';

/** Relation kind and columns of a table: `$1` schema, `$2` table. */
export const DESCRIBE_TABLE_SQL = `SELECT c.relkind::text AS kind, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = $1 AND c.relname = $2
ORDER BY a.attnum`;

export const SCHEMA_EXISTS_SQL = 'SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1';

export function createSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`;
}

export interface ColumnDefinition {
  readonly name: string;
  readonly type: PgType;
}

export function createTableSql(table: TableName, columns: readonly ColumnDefinition[]): string {
  const list = columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ');
  return `CREATE TABLE ${qualified(table)} (${list})`;
}

export function addColumnSql(table: TableName, column: ColumnDefinition): string {
  return `ALTER TABLE ${qualified(table)} ADD COLUMN IF NOT EXISTS ${quote(column.name)} ${column.type}`;
}

export function alterColumnTypeSql(
  table: TableName,
  name: string,
  from: PgType,
  to: PgType,
): string {
  const column = quote(name);
  return `ALTER TABLE ${qualified(table)} ALTER COLUMN ${column} TYPE ${to} USING ${convert(column, from, to)}`;
}

export function dropTableSql(table: TableName): string {
  return `DROP TABLE IF EXISTS ${qualified(table)}`;
}

export function copySql(table: TableName, columns: readonly string[]): string {
  return `COPY ${qualified(table)} (${columns.map(quote).join(', ')}) FROM STDIN`;
}

/** A string literal that reads the same whatever standard_conforming_strings says. */
export function stringLiteral(text: string): string {
  if (text.includes('\u0000')) throw new Error('a key path element contains a NUL character');
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** A primary-key part or the cursor: a column, and a path inside it when it is JSON. */
export interface KeyPart {
  readonly column: string;
  readonly subPath: readonly string[];
}

function isJson(type: PgType): boolean {
  return type === 'jsonb' || type === 'json';
}

/**
 * The SQL expression of a key part read from `reference` (a column reference such as
 * `m."id"`), converted from the column's type there (`from`) to its type in the final table
 * (`to`). A path inside a JSON column is followed with `#>`; in any other column the path
 * cannot be followed and the whole value is the key.
 */
export function keyExpression(reference: string, part: KeyPart, from: PgType, to: PgType): string {
  const value = convert(reference, from, to);
  if (part.subPath.length === 0 || !isJson(to)) return value;
  return `(${value} #> ARRAY[${part.subPath.map(stringLiteral).join(', ')}]::text[])`;
}

function typeOf(types: ReadonlyMap<string, PgType>, column: string): PgType {
  return types.get(column) ?? 'text';
}

/** The primary-key index of a dedup table (expression parts in their own parentheses). */
export function createKeyIndexSql(
  table: TableName,
  parts: readonly KeyPart[],
  types: ReadonlyMap<string, PgType>,
): string {
  const expressions = parts.map((p) => {
    const type = typeOf(types, p.column);
    const expression = keyExpression(quote(p.column), p, type, type);
    return expression.startsWith('(') ? `(${expression})` : expression;
  });
  return `CREATE INDEX IF NOT EXISTS ${quote(helperName('pk', table))} ON ${qualified(table)} (${expressions.join(', ')})`;
}

/** What a dedup needs to know: the key, the cursor, the CDC deletion column. */
export interface DedupKeys {
  readonly primaryKey: readonly KeyPart[];
  readonly cursor: KeyPart | undefined;
  /** The column of `_ab_cdc_deleted_at`, when the stream has one: a non-null value deletes. */
  readonly cdcDeletedAt: string | undefined;
}

const EXTRACTED_AT = quote('_airbyte_extracted_at');
const WINNERS = 'pg_temp."_airbyte_winners"';

/** `ORDER BY` terms that put the winner of each key first. */
function newestFirst(alias: string, keys: DedupKeys, types: ReadonlyMap<string, PgType>): string {
  const terms: string[] = [];
  if (keys.cursor !== undefined) {
    const type = typeOf(types, keys.cursor.column);
    const cursor = keyExpression(`${alias}.${quote(keys.cursor.column)}`, keys.cursor, type, type);
    terms.push(`${cursor} DESC NULLS LAST`);
  }
  terms.push(`${alias}.${EXTRACTED_AT} DESC NULLS LAST`);
  return terms.join(', ');
}

function keyList(alias: string, keys: DedupKeys, types: ReadonlyMap<string, PgType>): string {
  return keys.primaryKey
    .map((p) => {
      const type = typeOf(types, p.column);
      return keyExpression(`${alias}.${quote(p.column)}`, p, type, type);
    })
    .join(', ');
}

/**
 * The statements of a dedup merge of `stage` into `final`, to run in one transaction:
 * 1. the newest staged row per key (greatest cursor, nulls last, then latest extracted_at);
 * 2. minus those that an existing final row beats (its cursor is greater, or equal with a
 *    later extracted_at: the existing row stays);
 * 3. final rows with the key of a remaining winner are deleted;
 * 4. the winners are inserted, except CDC deletions (non-null `_ab_cdc_deleted_at`);
 * 5. the staging table is dropped.
 * Keys are compared with `=`: a key with a null part never matches a row of an earlier sync.
 * `stageTypes` lists every staged column; `final` has them all (ensured at start), with types
 * that accept the staged ones.
 */
export function mergeStatements(
  final: TableName,
  stage: TableName,
  keys: DedupKeys,
  stageTypes: ReadonlyMap<string, PgType>,
  finalTypes: ReadonlyMap<string, PgType>,
): string[] {
  const columns = [...stageTypes.keys()];
  const winnerKey = (p: KeyPart) =>
    keyExpression(
      `m.${quote(p.column)}`,
      p,
      typeOf(stageTypes, p.column),
      typeOf(finalTypes, p.column),
    );
  const finalKey = (p: KeyPart) => {
    const type = typeOf(finalTypes, p.column);
    return keyExpression(`f.${quote(p.column)}`, p, type, type);
  };
  const sameKey = keys.primaryKey.map((p) => `${finalKey(p)} = ${winnerKey(p)}`).join(' AND ');
  let existingWins = `f.${EXTRACTED_AT} > m.${EXTRACTED_AT}`;
  if (keys.cursor !== undefined) {
    const f = finalKey(keys.cursor);
    const m = winnerKey(keys.cursor);
    existingWins =
      `((${f} IS NOT NULL AND ${m} IS NULL) OR ${f} > ${m} OR ` +
      `((${f} = ${m} OR (${f} IS NULL AND ${m} IS NULL)) AND ${existingWins}))`;
  }
  const insertColumns = columns.map(quote).join(', ');
  const insertValues = columns
    .map((c) => convert(`m.${quote(c)}`, typeOf(stageTypes, c), typeOf(finalTypes, c)))
    .join(', ');
  const notDeleted =
    keys.cdcDeletedAt === undefined ? '' : ` WHERE m.${quote(keys.cdcDeletedAt)} IS NULL`;
  return [
    `CREATE TEMP TABLE "_airbyte_winners" ON COMMIT DROP AS SELECT DISTINCT ON (${keyList('s', keys, stageTypes)}) ${columns.map((c) => `s.${quote(c)}`).join(', ')} FROM ${qualified(stage)} s ORDER BY ${keyList('s', keys, stageTypes)}, ${newestFirst('s', keys, stageTypes)}`,
    `ANALYZE ${WINNERS}`,
    `DELETE FROM ${WINNERS} m USING ${qualified(final)} f WHERE ${sameKey} AND ${existingWins}`,
    `DELETE FROM ${qualified(final)} f USING ${WINNERS} m WHERE ${sameKey}`,
    `INSERT INTO ${qualified(final)} (${insertColumns}) SELECT ${insertValues} FROM ${WINNERS} m${notDeleted}`,
    `DROP TABLE ${qualified(stage)}`,
  ];
}

/**
 * Deduplicates a truncate refresh's temp table in place before the swap: every row but the
 * newest per key is deleted, then CDC deletions.
 */
export function dedupInPlaceStatements(
  table: TableName,
  keys: DedupKeys,
  types: ReadonlyMap<string, PgType>,
): string[] {
  const statements = [
    `DELETE FROM ${qualified(table)} t USING (SELECT s.ctid AS row_id, row_number() OVER (PARTITION BY ${keyList('s', keys, types)} ORDER BY ${newestFirst('s', keys, types)}) AS position FROM ${qualified(table)} s) r WHERE t.ctid = r.row_id AND r.position > 1`,
  ];
  if (keys.cdcDeletedAt !== undefined) {
    statements.push(
      `DELETE FROM ${qualified(table)} WHERE ${quote(keys.cdcDeletedAt)} IS NOT NULL`,
    );
  }
  return statements;
}

/**
 * Replaces `final` with `tmp` (one transaction with the caller's other statements): the old
 * table is dropped, the temp table renamed, its key index renamed to the final table's.
 */
export function swapStatements(final: TableName, tmp: TableName, keyIndex: boolean): string[] {
  const statements = [
    dropTableSql(final),
    `ALTER TABLE ${qualified(tmp)} RENAME TO ${quote(final.table)}`,
  ];
  if (keyIndex) {
    statements.push(
      `ALTER INDEX IF EXISTS ${quote(final.schema)}.${quote(helperName('pk', tmp))} RENAME TO ${quote(helperName('pk', final))}`,
    );
  }
  return statements;
}
