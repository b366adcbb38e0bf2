/**
 * Loads one stream into its PostgreSQL table (docs/connectors/postgres.md "Sync modes").
 *
 * - append: every batch is COPYed into the final table in its own transaction.
 * - append_dedup: batches go to a staging table `_airbyte_stage_<hash>_<table>`; `close()`
 *   merges it into the final table in one transaction (postgres-sql.ts mergeStatements) and
 *   drops it. A failed or incomplete sync keeps the staged rows (their states were echoed);
 *   the next successful close merges them too.
 * - truncate (a refresh with minimum_generation_id == generation_id, or legacy overwrite):
 *   batches go to a temp table `_airbyte_tmp_<hash>_<table>`; the final table is untouched and
 *   readable until `close()` without a failure replaces it in one transaction (dedup first in
 *   the temp table for append_dedup). `start()` reuses a temp table that is empty or holds the
 *   generation ≥ minimum_generation_id (a retry of the same refresh resumes), else drops it.
 *
 * A batch is one transaction: BEGIN, COPY (encoding overlapped with the server's ingestion,
 * copy-load.ts), COMMIT; it is PERSISTED (returned COMPLETE) only after the COMMIT. Transient
 * failures are retried with backoff; a retry first asks the server whether the last attempt's
 * transaction committed after all (a COMMIT whose answer was lost), and otherwise sends the
 * same encoded rows again.
 */
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import {
  POSTGRES_NAMING,
  type StreamColumns,
  streamColumns,
  type TableName,
} from '../../src/schema/index.js';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  type DestinationRecord,
  type StreamLoader,
} from '../../src/write/destination-writer.js';
import { CopyRowEncoder } from './copy-encoder.js';
import { CHUNK_BYTES, copyChunks, DEFAULT_REPLAY_LIMIT_BYTES, EncodedBatch } from './copy-load.js';
import { type PostgresDatabase, transactionId } from './postgres-database.js';
import { PostgresConfigError, PostgresSystemError } from './postgres-errors.js';
import { helperName, qualified } from './postgres-names.js';
import {
  type ColumnDefinition,
  copySql,
  createKeyIndexSql,
  type DedupKeys,
  dedupInPlaceStatements,
  dropTableSql,
  mergeStatements,
  swapStatements,
} from './postgres-sql.js';
import { describeTable, ensureTable, type TableColumns } from './postgres-tables.js';
import { PG, type PgType, pgTypeOf } from './postgres-types.js';

/** The property whose non-null value marks a CDC deletion (dedup modes only). */
export const CDC_DELETED_AT = '_ab_cdc_deleted_at';

const META_TYPES: Readonly<Record<string, PgType>> = {
  _airbyte_raw_id: PG.uuid,
  _airbyte_extracted_at: PG.timestamptz,
  _airbyte_meta: PG.jsonb,
  _airbyte_generation_id: PG.bigint,
};

export interface LoaderOptions {
  readonly chunkBytes?: number;
  readonly replayLimitBytes?: number;
}

export class PostgresStreamLoader implements StreamLoader, BatchAccumulator {
  readonly columns: StreamColumns;
  /** Every column of the tables, meta columns first, with the type the stream's values need. */
  readonly wanted: readonly ColumnDefinition[];
  readonly dedupe: DedupKeys | undefined;
  readonly tmp: TableName;
  readonly stage: TableName;
  private readonly logger: Logger;
  /** Where batches go: the final, staging or temp table; set by start(). */
  private target: TableName;
  private encoder: CopyRowEncoder | undefined;
  private copyStatement = '';
  private recordsLoaded = 0;

  constructor(
    readonly stream: DestinationStream,
    readonly final: TableName,
    private readonly db: PostgresDatabase,
    logger: Logger,
    private readonly options: LoaderOptions = {},
  ) {
    const kind = stream.importType.kind;
    if (kind === 'update' || kind === 'soft_delete') {
      throw new PostgresConfigError(
        'POSTGRES_UNSUPPORTED_MODE',
        `stream ${stream.label}: destination_sync_mode ${kind} is not supported by the postgres connector (append, append_dedup and overwrite are)`,
        { stream: stream.descriptor },
      );
    }
    this.columns = streamColumns(stream, POSTGRES_NAMING);
    this.wanted = [
      ...this.columns.metaColumns.map((c) => ({
        name: c.column,
        type: META_TYPES[c.name] ?? PG.text,
      })),
      ...this.columns.columns.map((c) => ({ name: c.column, type: pgTypeOf(c.type) })),
    ];
    this.dedupe =
      kind === 'dedupe'
        ? {
            primaryKey: this.columns.primaryKey.map((k) => ({
              column: k.column.column,
              subPath: k.subPath,
            })),
            cursor:
              this.columns.cursor === undefined
                ? undefined
                : {
                    column: this.columns.cursor.column.column,
                    subPath: this.columns.cursor.subPath,
                  },
            cdcDeletedAt: this.columns.columns.find((c) => c.name === CDC_DELETED_AT)?.column,
          }
        : undefined;
    this.tmp = { schema: final.schema, table: helperName('tmp', final) };
    this.stage = { schema: final.schema, table: helperName('stage', final) };
    this.target = final;
    this.logger = logger.child({ stream: stream.label });
  }

  /** The kind of load, for logs. */
  get mode(): 'append' | 'dedupe' | 'truncate' | 'truncate-dedupe' {
    if (this.stream.shouldTruncate)
      return this.dedupe === undefined ? 'truncate' : 'truncate-dedupe';
    return this.dedupe === undefined ? 'append' : 'dedupe';
  }

  async start(): Promise<void> {
    const target = await this.db.retry(
      `prepare the tables of stream ${this.stream.label} on`,
      this.stream,
      () => this.db.transaction((client) => this.prepareTables(client)),
    );
    this.target = target.table;
    const types = this.columns.columns.map((c) => target.columns.get(c.column) ?? PG.text);
    this.encoder = new CopyRowEncoder(this.stream, this.columns, types);
    this.copyStatement = copySql(
      target.table,
      this.wanted.map((c) => c.name),
    );
    this.logger.info(
      { mode: this.mode, table: qualified(this.final), loadsInto: qualified(this.target) },
      'postgres stream started',
    );
  }

  private async prepareTables(
    client: PoolClient,
  ): Promise<{ table: TableName; columns: TableColumns }> {
    if (this.stream.shouldTruncate) {
      const existing = await describeTable(client, this.tmp);
      if (existing !== undefined && !(await this.tmpReusable(client, existing))) {
        await client.query(dropTableSql(this.tmp));
        this.logger.info(
          { table: qualified(this.tmp) },
          'dropped the temp table of another generation',
        );
      }
      const columns = await ensureTable(client, this.tmp, this.wanted, this.logger);
      if (this.dedupe !== undefined) {
        await client.query(createKeyIndexSql(this.tmp, this.dedupe.primaryKey, columns));
      }
      return { table: this.tmp, columns };
    }
    let finalColumns = await ensureTable(client, this.final, this.wanted, this.logger);
    if (this.dedupe === undefined) {
      if ((await describeTable(client, this.stage)) !== undefined) {
        this.logger.warn(
          { table: qualified(this.stage) },
          'a dedup staging table of this stream exists but the stream is not deduplicated now; it is left as it is',
        );
      }
      return { table: this.final, columns: finalColumns };
    }
    const staged = await describeTable(client, this.stage);
    if (staged !== undefined) {
      // Rows staged by an earlier attempt: the final table must take all of their columns.
      finalColumns = await ensureTable(client, this.final, definitions(staged), this.logger);
    }
    await client.query(createKeyIndexSql(this.final, this.dedupe.primaryKey, finalColumns));
    const stageWanted = this.wanted.map((c) => ({
      name: c.name,
      type: finalColumns.get(c.name) ?? c.type,
    }));
    const columns = await ensureTable(client, this.stage, stageWanted, this.logger);
    return { table: this.stage, columns };
  }

  /** A temp table is reused when empty or when it holds generation ≥ the minimum generation. */
  private async tmpReusable(client: PoolClient, columns: TableColumns): Promise<boolean> {
    if (!columns.has('_airbyte_generation_id')) return false;
    const result = await client.query<{ generation: string | null }>(
      `SELECT "_airbyte_generation_id"::text AS generation FROM ${qualified(this.tmp)} LIMIT 1`,
    );
    const row = result.rows[0];
    if (row === undefined) return true;
    const minimum = this.stream.minimumGenerationId ?? this.stream.generationId;
    if (minimum === null) return row.generation === null;
    return row.generation !== null && Number(row.generation) >= minimum;
  }

  createBatchAccumulator(): BatchAccumulator {
    return this; // no per-worker state: each call encodes and loads its own records
  }

  async processRecords(
    records: Iterable<DestinationRecord>,
    _sizeBytes: number,
    _endOfStream: boolean,
  ): Promise<Batch> {
    const encoder = this.encoder;
    if (encoder === undefined) {
      throw new PostgresSystemError(
        'POSTGRES_NOT_STARTED',
        `stream ${this.stream.label}: processRecords before start`,
      );
    }
    const iterator = records[Symbol.iterator]();
    const first = iterator.next();
    if (first.done === true) return COMPLETE_BATCH;
    const batch = new EncodedBatch(
      first.value,
      iterator,
      encoder,
      this.options.chunkBytes ?? CHUNK_BYTES,
      this.options.replayLimitBytes ?? DEFAULT_REPLAY_LIMIT_BYTES,
    );
    // The transaction of the last attempt: a retry first asks the server whether it committed
    // (its COMMIT went through but the answer was lost with the connection), so that a batch is
    // never loaded twice by the connector's own retries.
    let xid: string | undefined;
    await this.db.retry(
      `load a batch of stream ${this.stream.label} into ${qualified(this.target)} on`,
      this.stream,
      async () => {
        if (xid !== undefined && (await this.db.committed(xid))) return;
        await this.db.transaction(async (client) => {
          xid = await transactionId(client);
          await copyChunks(client, this.copyStatement, batch.chunks());
        });
      },
      () => batch.replayable,
    );
    this.recordsLoaded += batch.records;
    return COMPLETE_BATCH; // committed: persisted
  }

  async processBatch(batch: Batch): Promise<Batch> {
    return batch; // batches are COMPLETE when made
  }

  async close(failure?: unknown): Promise<void> {
    if (failure !== undefined) {
      this.logger.info(
        { mode: this.mode, records: this.recordsLoaded, keeps: qualified(this.target) },
        this.mode === 'append'
          ? 'postgres stream not complete: loaded rows stay'
          : 'postgres stream not complete: nothing finalized; the loaded rows are kept for the next attempt',
      );
      return;
    }
    if (this.stream.shouldTruncate) {
      await this.db.retry(
        `replace ${qualified(this.final)} with the refreshed data on`,
        this.stream,
        () => this.db.transaction((client) => this.swap(client)),
      );
    } else if (this.dedupe !== undefined) {
      await this.db.retry(
        `merge the staged records of stream ${this.stream.label} into ${qualified(this.final)} on`,
        this.stream,
        () => this.db.transaction((client) => this.merge(client)),
      );
    }
    this.logger.info(
      { mode: this.mode, table: qualified(this.final), records: this.recordsLoaded },
      'postgres stream complete',
    );
  }

  private async merge(client: PoolClient): Promise<void> {
    const keys = this.dedupe;
    if (keys === undefined) return;
    const staged = await describeTable(client, this.stage);
    if (staged === undefined) return; // merged by an earlier attempt whose COMMIT was not acknowledged
    const finalColumns = await ensureTable(client, this.final, definitions(staged), this.logger);
    await client.query(createKeyIndexSql(this.final, keys.primaryKey, finalColumns));
    for (const sql of mergeStatements(this.final, this.stage, keys, staged, finalColumns)) {
      await client.query(sql);
    }
  }

  private async swap(client: PoolClient): Promise<void> {
    const columns = await describeTable(client, this.tmp);
    if (columns === undefined) {
      this.logger.warn(
        { table: qualified(this.tmp) },
        'the temp table is gone: an earlier attempt replaced the final table already',
      );
      return;
    }
    if (this.dedupe !== undefined) {
      for (const sql of dedupInPlaceStatements(this.tmp, this.dedupe, columns))
        await client.query(sql);
    }
    for (const sql of swapStatements(this.final, this.tmp, this.dedupe !== undefined)) {
      await client.query(sql);
    }
    // Rows staged by an older dedup sync belong to older generations: the refresh replaces them.
    await client.query(dropTableSql(this.stage));
  }
}

function definitions(columns: TableColumns): ColumnDefinition[] {
  return [...columns].map(([name, type]) => ({ name, type }));
}
