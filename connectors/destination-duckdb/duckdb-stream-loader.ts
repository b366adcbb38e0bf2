/**
 * Loads one stream into DuckDB (docs/connectors/duckdb.md).
 *
 * - start: prepares the stream's tables in one transaction under the catalog lock
 *   (stream-tables.ts): schema, temp / staging tables, schema evolution.
 * - processRecords: types and encodes the records into data chunks (CPU only, no lock), then
 *   appends them with the Appender in one transaction under the stream's write lock and commits;
 *   the batch is COMPLETE once committed. Append streams write the target table (the final
 *   table, or the temp table of a truncate refresh); dedup streams write the staging table.
 * - close(): one transaction under the catalog lock: dedup merge, truncate swap.
 *   close(failure): nothing — committed rows stay where they are for the next attempt.
 *
 * Concurrency: two workers may call processRecords for this stream at once; each transaction
 * runs on a pooled connection of its own, and the stream's mutex serializes the appends and
 * commits to its table (appends from two connections do not conflict in DuckDB, but one writer
 * per table keeps that from ever mattering, and the CPU-heavy encoding still overlaps).
 */
import { Mutex } from 'async-mutex';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { StreamColumns } from '../../src/schema/stream-columns.js';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  type DestinationRecord,
  type StreamLoader,
} from '../../src/write/destination-writer.js';
import type { DuckDbDatabase } from './duckdb-database.js';
import { DuckDbError, duckdbError } from './duckdb-errors.js';
import { qualified, type TableRef } from './duckdb-sql.js';
import { BatchEncoder, type EncodedBatch } from './row-encoder.js';
import { finalizeStream, type PreparedStream, prepareStream } from './stream-tables.js';

export class DuckDbStreamLoader implements StreamLoader, BatchAccumulator {
  private prepared: PreparedStream | undefined;
  private encoder: BatchEncoder | undefined;
  /** Serializes this stream's appends and commits. */
  private readonly writeLock = new Mutex();
  private nextSeq = 0n;
  private rowsWritten = 0;
  private readonly logger: Logger;

  constructor(
    readonly stream: DestinationStream,
    private readonly db: DuckDbDatabase,
    private readonly final: TableRef,
    private readonly finalsInSchema: ReadonlySet<string>,
    private readonly columns: StreamColumns,
    logger: Logger,
  ) {
    this.logger = logger.child({ stream: stream.label });
  }

  async start(): Promise<void> {
    const prepared = await this.db.ddl.runExclusive(() =>
      this.db
        .transaction((connection) => prepareStream(connection, this.context()))
        .catch((error: unknown) => {
          throw this.error(error, `prepare the tables of stream ${this.stream.label}`, false);
        }),
    );
    this.prepared = prepared;
    this.nextSeq = prepared.firstSeq;
    this.encoder = new BatchEncoder(
      prepared.layout,
      prepared.chunkTypes,
      this.columns,
      this.stream,
      () => this.nextSeq++,
    );
    this.logger.info(
      {
        table: qualified(this.final),
        loadsInto: qualified(prepared.appendTo),
        truncate: this.stream.shouldTruncate,
        dedupe: prepared.stage !== undefined,
      },
      'duckdb stream started',
    );
  }

  createBatchAccumulator(): BatchAccumulator {
    return this; // no per-worker state: connections come from the pool, encoding is pure
  }

  async processRecords(
    records: Iterable<DestinationRecord>,
    _sizeBytes: number,
    _endOfStream: boolean,
  ): Promise<Batch> {
    const { prepared, encoder } = this.started();
    const encoded = encoder.encode(records);
    if (encoded.rows === 0) return COMPLETE_BATCH;
    await this.writeLock.runExclusive(() => this.append(prepared.appendTo, encoded));
    this.rowsWritten += encoded.rows;
    return COMPLETE_BATCH;
  }

  async processBatch(batch: Batch): Promise<Batch> {
    if (batch.state === 'PERSISTED' || batch.state === 'COMPLETE') return batch;
    throw new DuckDbError(
      `stream ${this.stream.label}: processBatch received a ${batch.state} batch that this loader did not make`,
      { stream: this.stream.descriptor },
    );
  }

  async close(failure?: unknown): Promise<void> {
    const prepared = this.prepared;
    if (prepared === undefined) return;
    if (failure !== undefined) {
      this.logger.info(
        { table: qualified(this.final), rows: this.rowsWritten },
        prepared.temp !== undefined || prepared.stage !== undefined
          ? 'duckdb stream not complete: the final table is untouched; committed rows stay for the next attempt'
          : 'duckdb stream not complete: committed rows stay',
      );
      return;
    }
    await this.writeLock.runExclusive(() =>
      this.db.ddl.runExclusive(() =>
        this.db
          .transaction((connection) => finalizeStream(connection, this.context(), prepared))
          .catch((error: unknown) => {
            throw this.error(error, `finalize stream ${this.stream.label}`, true);
          }),
      ),
    );
    this.logger.info(
      {
        table: qualified(this.final),
        rows: this.rowsWritten,
        merged: prepared.stage !== undefined,
        replaced: prepared.temp !== undefined,
      },
      'duckdb stream complete',
    );
  }

  private async append(table: TableRef, encoded: EncodedBatch): Promise<void> {
    try {
      await this.db.transaction(async (connection) => {
        const appender = await connection.createAppender(table.table, table.schema, table.catalog);
        try {
          for (const chunk of encoded.chunks) appender.appendDataChunk(chunk);
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      });
    } catch (error) {
      throw this.error(error, `append ${encoded.rows} rows to ${qualified(table)}`, true);
    }
  }

  private started(): { prepared: PreparedStream; encoder: BatchEncoder } {
    if (this.prepared === undefined || this.encoder === undefined) {
      throw new DuckDbError(`stream ${this.stream.label}: used before start`, {
        stream: this.stream.descriptor,
      });
    }
    return { prepared: this.prepared, encoder: this.encoder };
  }

  private context() {
    return {
      stream: this.stream,
      final: this.final,
      finalsInSchema: this.finalsInSchema,
      columns: this.columns,
      logger: this.logger,
    };
  }

  private error(error: unknown, action: string, carriesValues: boolean): Error {
    return duckdbError(error, action, {
      path: this.db.path,
      stream: this.stream.descriptor,
      carriesValues,
    });
  }
}
