/**
 * The tables of one stream, as I/O: preparing them when the stream starts (schema, temp and
 * staging tables, schema evolution) and finalizing them when it completes (dedup merge,
 * truncate swap). Each runs in one transaction, under the database's catalog lock, so a failure
 * leaves the tables exactly as they were.
 *
 * Tables of a stream (docs/connectors/duckdb.md "Tables"):
 * - final: `<schema>.<stream>`, what users query;
 * - temp (truncate refreshes): `<stream>_destkit_tmp`, the new generation until the swap;
 * - stage (dedup): `<stream>_destkit_stage`, this sync's records until the merge.
 * A temp or stage table is marked by a table comment naming its role and final table; a table
 * of that name without the mark is someone else's and the next free `_1`, `_2`… name is used.
 */
import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import { collisionKey } from '../../src/schema/name-mapper.js';
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import {
  META_COLUMN_TYPES,
  type MetaColumnName,
  type StreamColumns,
} from '../../src/schema/stream-columns.js';
import {
  alignColumns,
  type ColumnAction,
  type ExistingColumn,
  type LayoutColumn,
  planColumns,
  tableLayout,
} from './column-plan.js';
import { queryRows } from './duckdb-database.js';
import {
  addColumnSql,
  type ColumnDefinition,
  commentColumnSql,
  commentTableSql,
  copyRowsSql,
  countOlderGenerationsSql,
  createSchemaSql,
  createTableSql,
  deleteOlderGenerationsSql,
  dropTableSql,
  type InternalRole,
  inexactAsDoubleCountSql,
  internalTableComment,
  isInternalTableOf,
  type KeyColumn,
  mergeSql,
  propertyOfComment,
  qualified,
  quote,
  renameTableSql,
  TABLE_COLUMNS_SQL,
  TABLE_COMMENT_SQL,
  type TableRef,
  widenColumnSql,
} from './duckdb-sql.js';
import { duckDbTypeOf, normalizeDuckDbType } from './duckdb-types.js';

/** The staging table's load order column: the later load wins a full tie in a merge. */
export const SEQ_COLUMN = '_destkit_seq';
/** The property whose non-null value marks a CDC delete. */
export const CDC_DELETED_AT = '_ab_cdc_deleted_at';

export interface StreamTablesContext {
  readonly stream: DestinationStream;
  readonly final: TableRef;
  /** Collision keys of every final table of the catalog in the same schema. */
  readonly finalsInSchema: ReadonlySet<string>;
  readonly columns: StreamColumns;
  readonly logger: Logger;
}

/** What `prepareStream` set up, for the loads and the finish. */
export interface PreparedStream {
  /** Where the stream's rows end up before the finish: the temp table, else the final table. */
  readonly target: TableRef;
  /** The truncate temp table, when truncating. */
  readonly temp: TableRef | undefined;
  /** The staging table, for dedup. */
  readonly stage: TableRef | undefined;
  /** The table loads append to: the staging table for dedup, else the target. */
  readonly appendTo: TableRef;
  /** `appendTo`'s columns in physical order, with their value sources. */
  readonly layout: readonly LayoutColumn[];
  /** `appendTo`'s column types, for data chunks. */
  readonly chunkTypes: readonly DuckDBType[];
  /** The target's columns (identifier and type). */
  readonly targetColumns: readonly ExistingColumn[];
  /** Property → column identifier. */
  readonly assignments: ReadonlyMap<string, string>;
  /** The first load order value of this sync (dedup). */
  readonly firstSeq: bigint;
}

const key = (identifier: string): string => collisionKey(identifier, DUCKDB_NAMING);

function metaDefinitions(columns: StreamColumns): ColumnDefinition[] {
  return columns.metaColumns.map((m) => ({
    identifier: m.column,
    type: duckDbTypeOf(META_COLUMN_TYPES[m.name]),
  }));
}

function metaIdentifier(columns: StreamColumns, name: MetaColumnName): string {
  return columns.metaColumns.find((m) => m.name === name)?.column ?? name;
}

/** The columns of a table (matched ignoring case, as DuckDB does), or undefined when absent. */
export async function readColumns(
  connection: DuckDBConnection,
  table: TableRef,
): Promise<ExistingColumn[] | undefined> {
  const rows = await queryRows(connection, TABLE_COLUMNS_SQL, [
    table.catalog,
    table.schema,
    table.table,
  ]);
  if (rows.length === 0) return undefined;
  const exact = rows.filter((r) => r.schema_name === table.schema && r.table_name === table.table);
  const first = rows[0];
  const chosen =
    exact.length > 0
      ? exact
      : rows.filter(
          (r) => r.schema_name === first?.schema_name && r.table_name === first?.table_name,
        );
  return chosen.map((r) => ({
    identifier: String(r.column_name),
    type: normalizeDuckDbType(String(r.data_type)),
    property: propertyOfComment(typeof r.comment === 'string' ? r.comment : undefined),
  }));
}

async function tableComment(
  connection: DuckDBConnection,
  table: TableRef,
): Promise<{ exists: boolean; comment: string | undefined }> {
  const rows = await queryRows(connection, TABLE_COMMENT_SQL, [
    table.catalog,
    table.schema,
    table.table,
  ]);
  const row = rows.find((r) => r.table_name === table.table) ?? rows[0];
  if (row === undefined) return { exists: false, comment: undefined };
  return { exists: true, comment: typeof row.comment === 'string' ? row.comment : undefined };
}

/**
 * The temp or staging table of a final table: `<final>_destkit_tmp` (or `_destkit_stage`), or
 * the first `_1`, `_2`… variant that is neither a final table of the catalog nor a table without
 * this role's mark.
 */
async function internalTable(
  connection: DuckDBConnection,
  context: StreamTablesContext,
  role: InternalRole,
): Promise<TableRef> {
  const base = `${context.final.table}_destkit_${role === 'temp' ? 'tmp' : 'stage'}`;
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : `${base}_${n}`;
    if (context.finalsInSchema.has(key(name))) continue;
    const table = { ...context.final, table: name };
    const { exists, comment } = await tableComment(connection, table);
    if (!exists || isInternalTableOf(comment, role, context.final.table)) return table;
  }
}

async function count(
  connection: DuckDBConnection,
  sql: string,
  values?: bigint[],
): Promise<number> {
  const rows = await queryRows(connection, sql, values);
  return Number(rows[0]?.n ?? 0);
}

/** Applies planned column actions to a table; returns whether anything changed. */
async function applyActions(
  connection: DuckDBConnection,
  table: TableRef,
  actions: readonly ColumnAction[],
  context: StreamTablesContext,
): Promise<void> {
  const comments: string[] = [];
  for (const action of actions) {
    switch (action.kind) {
      case 'create':
        await connection.run(createTableSql(table, action.columns));
        break;
      case 'add':
        await connection.run(addColumnSql(table, action.column));
        context.logger.info(
          { table: qualified(table), column: action.column.identifier, type: action.column.type },
          'duckdb: added a column',
        );
        break;
      case 'widen': {
        let to = action.to;
        if (action.from === 'BIGINT' && to === 'DOUBLE') {
          const inexact = await count(
            connection,
            inexactAsDoubleCountSql(table, action.identifier),
          );
          if (inexact > 0) to = 'VARCHAR';
        }
        await connection.run(widenColumnSql(table, action.identifier, to));
        context.logger.warn(
          { table: qualified(table), column: action.identifier, from: action.from, to },
          'duckdb: widened a column for a changed schema',
        );
        break;
      }
      case 'comment':
        comments.push(commentColumnSql(table, action.identifier, action.property));
        break;
    }
  }
  if (comments.length > 0) await connection.run(comments.join(';\n'));
}

/**
 * Prepares a stream's tables when it starts, in the caller's transaction:
 * 1. the schema exists;
 * 2. truncate: a temp table holding rows of a generation below minimum_generation_id (a refresh
 *    that was superseded) is dropped; one of the current generation is kept and resumed;
 * 3. truncate: staged rows below minimum_generation_id are deleted; an empty staging table is
 *    dropped;
 * 4. the target (temp or final table) is created or evolved for the current schema;
 * 5. a staging table left with rows by an earlier attempt is aligned with the target: for dedup
 *    it is resumed, otherwise (the stream left dedup) its rows are appended to the target;
 *    dedup without one creates it.
 */
export async function prepareStream(
  connection: DuckDBConnection,
  context: StreamTablesContext,
): Promise<PreparedStream> {
  const { stream, columns, final } = context;
  const truncate = stream.shouldTruncate;
  const dedupe = stream.importType.kind === 'dedupe';
  const minGeneration =
    truncate && stream.minimumGenerationId !== null ? BigInt(stream.minimumGenerationId) : null;
  const generationColumn = metaIdentifier(columns, '_airbyte_generation_id');
  await connection.run(createSchemaSql(final.catalog, final.schema));

  let temp: TableRef | undefined;
  if (truncate) {
    temp = await internalTable(connection, context, 'temp');
    const existing = await readColumns(connection, temp);
    if (existing !== undefined && minGeneration !== null) {
      const older = await count(connection, countOlderGenerationsSql(temp, generationColumn), [
        minGeneration,
      ]);
      if (older > 0) {
        await connection.run(dropTableSql(temp));
        context.logger.info(
          { table: qualified(temp), rows: older },
          'duckdb: dropped the temp table of an older generation',
        );
      }
    }
  }
  const target = temp ?? final;

  const stageRef = await internalTable(connection, context, 'stage');
  let stage = await readColumns(connection, stageRef);
  if (stage !== undefined) {
    if (minGeneration !== null) {
      await connection.run(deleteOlderGenerationsSql(stageRef, generationColumn), [minGeneration]);
    }
    if ((await count(connection, `SELECT count(*) AS n FROM ${qualified(stageRef)}`)) === 0) {
      await connection.run(dropTableSql(stageRef));
      stage = undefined;
    }
  }

  const plan = planColumns(
    await readColumns(connection, target),
    metaDefinitions(columns),
    columns.columns.map((c) => ({
      property: c.name,
      identifier: c.column,
      type: duckDbTypeOf(c.type),
    })),
    [SEQ_COLUMN],
  );
  const created = plan.actions.some((a) => a.kind === 'create');
  await applyActions(connection, target, plan.actions, context);
  if (created && temp !== undefined) {
    await connection.run(commentTableSql(temp, internalTableComment('temp', final.table)));
  }
  let targetColumns = (await readColumns(connection, target)) ?? [];

  if (stage !== undefined) {
    const aligned = alignColumns(targetColumns, stage, [SEQ_COLUMN]);
    await applyActions(connection, target, aligned.a, context);
    await applyActions(connection, stageRef, aligned.b, context);
    targetColumns = (await readColumns(connection, target)) ?? [];
    stage = await readColumns(connection, stageRef);
    if (!dedupe) {
      const copied = (stage ?? [])
        .map((c) => c.identifier)
        .filter((c) => key(c) !== key(SEQ_COLUMN));
      await connection.run(copyRowsSql(stageRef, target, copied));
      await connection.run(dropTableSql(stageRef));
      context.logger.info(
        { table: qualified(target) },
        'duckdb: appended the rows an earlier dedup sync had staged',
      );
      stage = undefined;
    }
  } else if (dedupe) {
    await connection.run(
      createTableSql(stageRef, [
        ...targetColumns.map((c) => ({ identifier: c.identifier, type: c.type })),
        { identifier: SEQ_COLUMN, type: 'BIGINT' },
      ]),
    );
    await connection.run(commentTableSql(stageRef, internalTableComment('stage', final.table)));
    stage = await readColumns(connection, stageRef);
  }

  const appendTo = dedupe ? stageRef : target;
  const appendColumns = (dedupe ? stage : targetColumns) ?? [];
  const layout = tableLayout(
    appendColumns,
    plan.assignments,
    columns.columns,
    columns.metaColumns,
    dedupe ? SEQ_COLUMN : undefined,
  );
  const reader = await connection.runAndReadAll(`SELECT * FROM ${qualified(appendTo)} LIMIT 0`);
  const firstSeq = dedupe
    ? BigInt(
        (
          await queryRows(
            connection,
            `SELECT coalesce(max(${quote(SEQ_COLUMN)}), 0) + 1 AS n FROM ${qualified(stageRef)}`,
          )
        )[0]?.n as bigint | number,
      )
    : 0n;
  return {
    target,
    temp,
    stage: dedupe ? stageRef : undefined,
    appendTo,
    layout,
    chunkTypes: reader.columnTypes(),
    targetColumns,
    assignments: plan.assignments,
    firstSeq,
  };
}

function keyColumn(
  prepared: PreparedStream,
  property: string,
  subPath: readonly string[],
): KeyColumn | undefined {
  const column = prepared.assignments.get(property);
  if (column === undefined) return undefined;
  const type = prepared.targetColumns.find((c) => key(c.identifier) === key(column))?.type;
  // A path inside a value can only be followed in a JSON column; otherwise key on the column.
  return { column, subPath: type === 'JSON' ? subPath : [] };
}

/**
 * Finalizes a COMPLETE stream, in the caller's transaction: dedup merges the staged rows into
 * the target and drops the staging table; truncate replaces the final table by the temp table
 * (dropping the final table drops every older generation with it).
 */
export async function finalizeStream(
  connection: DuckDBConnection,
  context: StreamTablesContext,
  prepared: PreparedStream,
): Promise<void> {
  const { columns } = context;
  if (prepared.stage !== undefined) {
    const primaryKey = columns.primaryKey.map((k) => keyColumn(prepared, k.column.name, k.subPath));
    const cursor =
      columns.cursor === undefined
        ? undefined
        : keyColumn(prepared, columns.cursor.column.name, columns.cursor.subPath);
    const deletedAt = prepared.assignments.get(CDC_DELETED_AT);
    const statements = mergeSql({
      target: prepared.target,
      stage: prepared.stage,
      columns: prepared.targetColumns.map((c) => c.identifier),
      primaryKey: primaryKey.filter((k): k is KeyColumn => k !== undefined),
      cursor,
      extractedAt: metaIdentifier(columns, '_airbyte_extracted_at'),
      seq: SEQ_COLUMN,
      deletedAt,
    });
    for (const sql of statements) await connection.run(sql);
    await connection.run(dropTableSql(prepared.stage));
  }
  if (prepared.temp !== undefined) {
    await connection.run(dropTableSql(context.final));
    await connection.run(renameTableSql(prepared.temp, context.final.table));
    await connection.run(commentTableSql(context.final, null));
  }
}
