/**
 * Reads and evolves tables (schema evolution, docs/connectors/postgres.md): a missing table is
 * created; a missing column is added; a column whose type cannot take the stream's values is
 * widened (postgres-types.ts). Columns are never dropped or narrowed, so no value is lost:
 * a column that left the schema stays, null in new rows.
 */
import type { ClientBase } from 'pg';
import type { Logger } from 'pino';
import type { TableName } from '../../src/schema/index.js';
import { PostgresConfigError } from './postgres-errors.js';
import { qualified } from './postgres-names.js';
import {
  addColumnSql,
  alterColumnTypeSql,
  type ColumnDefinition,
  createTableSql,
  DESCRIBE_TABLE_SQL,
} from './postgres-sql.js';
import { accepts, type PgType, widen } from './postgres-types.js';

/** Column name → type, in table order. */
export type TableColumns = Map<string, PgType>;

/** The columns of a table, or undefined when it does not exist; fails if it is not a table. */
export async function describeTable(
  client: ClientBase,
  table: TableName,
): Promise<TableColumns | undefined> {
  const result = await client.query<{ kind: string; name: string | null; type: string | null }>(
    DESCRIBE_TABLE_SQL,
    [table.schema, table.table],
  );
  const first = result.rows[0];
  if (first === undefined) return undefined;
  if (first.kind !== 'r' && first.kind !== 'p') {
    throw new PostgresConfigError(
      'POSTGRES_NOT_A_TABLE',
      `${qualified(table)} exists and is not a table (relation kind ${first.kind}); rename or drop it`,
    );
  }
  const columns: TableColumns = new Map();
  for (const row of result.rows) {
    if (row.name !== null && row.type !== null) columns.set(row.name, row.type);
  }
  return columns;
}

/** What ensureTable changed, for logs. */
export interface TableChanges {
  created: boolean;
  added: string[];
  widened: { column: string; from: PgType; to: PgType }[];
}

/**
 * Makes `table` take values of the wanted columns: creates it, adds missing columns, widens
 * columns whose type does not accept the wanted one. Returns every column of the table with
 * its (new) type. Idempotent; meant to run inside a transaction.
 */
export async function ensureTable(
  client: ClientBase,
  table: TableName,
  wanted: readonly ColumnDefinition[],
  logger: Logger,
): Promise<TableColumns> {
  const existing = await describeTable(client, table);
  const changes: TableChanges = { created: false, added: [], widened: [] };
  let columns: TableColumns;
  if (existing === undefined) {
    await client.query(createTableSql(table, wanted));
    columns = new Map(wanted.map((c) => [c.name, c.type]));
    changes.created = true;
  } else {
    columns = existing;
    for (const column of wanted) {
      const type = columns.get(column.name);
      if (type === undefined) {
        await client.query(addColumnSql(table, column));
        columns.set(column.name, column.type);
        changes.added.push(column.name);
      } else if (!accepts(type, column.type)) {
        const to = widen(type, column.type);
        await client.query(alterColumnTypeSql(table, column.name, type, to));
        columns.set(column.name, to);
        changes.widened.push({ column: column.name, from: type, to });
      }
    }
  }
  if (changes.created || changes.added.length > 0 || changes.widened.length > 0) {
    logger.info({ table: qualified(table), ...changes }, 'postgres: table schema updated');
  }
  return columns;
}
