/**
 * One DuckDB database file for the length of a sync (or a check): the instance, a pool of
 * connections, transactions with bounded retries on conflicts, and the lock that serializes
 * catalog changes.
 *
 * Why a pool: a DuckDB connection is not safe for concurrent use, and each concurrent caller
 * (two workers appending, a stream starting or closing) needs its own transaction. Connections
 * are reused, so their number never exceeds the peak concurrency.
 * Why a catalog lock: DuckDB's optimistic concurrency makes two transactions that both create
 * the same schema (or alter the catalog around one table) conflict; stream starts and finishes
 * take `ddl` so they never race each other. Appends do not take it: appends never conflict.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { Mutex } from 'async-mutex';
import type { Logger } from 'pino';
import { nodeApi } from './duckdb-bindings.js';
import { duckdbError, isTransactionConflict } from './duckdb-errors.js';

/** Attempts of a transaction that fails on a conflict (the first one included). */
export const TRANSACTION_ATTEMPTS = 4;
const RETRY_DELAY_MS = 50;
/**
 * WAL size at which a commit checkpoints (DuckDB's default is 16 MiB). A load commits a batch at
 * a time, and a batch of a few MiB with the default made nearly every commit a checkpoint that
 * compressed and rewrote the table's last row groups again, on the commit's critical path: the
 * bench's 500,000 records took 6.1 s with the default, 4.9 s with this. Committed rows not yet
 * checkpointed are in the WAL, which is durable (a crash loses nothing committed), and in
 * DuckDB's buffer pool, which spills to its temp directory under its memory limit. Closing the
 * database checkpoints the rest.
 */
export const CHECKPOINT_THRESHOLD = '256MB';

export class DuckDbDatabase {
  /** Serializes catalog changes (stream start and finish) across streams. */
  readonly ddl = new Mutex();
  private readonly idle: DuckDBConnection[] = [];
  private readonly all = new Set<DuckDBConnection>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    /** The database file, absolute. */
    readonly path: string,
    /** The catalog (database) name DuckDB gives the file: every table is qualified with it. */
    readonly catalog: string,
    private readonly logger: Logger,
  ) {}

  /** Opens (creating it and its directory when missing) the database file. */
  static async open(path: string, logger: Logger): Promise<DuckDbDatabase> {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (error) {
      throw duckdbError(error, 'create the directory of the database file', { path });
    }
    let instance: DuckDBInstance;
    try {
      instance = await nodeApi.DuckDBInstance.create(path, {
        checkpoint_threshold: CHECKPOINT_THRESHOLD,
      });
    } catch (error) {
      throw duckdbError(error, 'open the database file', { path });
    }
    try {
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll('SELECT current_database() AS db');
      const catalog = reader.getRowObjectsJS()[0]?.db;
      connection.closeSync();
      if (typeof catalog !== 'string') throw new Error('current_database() returned no name');
      return new DuckDbDatabase(instance, path, catalog, logger);
    } catch (error) {
      instance.closeSync();
      throw duckdbError(error, 'read the catalog name of', { path });
    }
  }

  /** Runs `fn` with a connection of its own; the connection returns to the pool after. */
  async withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) {
      throw duckdbError(new Error('the database is closed'), 'use', { path: this.path });
    }
    const connection = this.idle.pop() ?? (await this.connect());
    const work = fn(connection);
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
      // After close(), every connection is closed there; none goes back to the pool.
      if (!this.closed) this.idle.push(connection);
    }
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT on its own connection. A transaction conflict rolls back and
   * runs `fn` again, up to TRANSACTION_ATTEMPTS times; any failure rolls back and is rethrown
   * as it was (callers map it with duckdbError, which knows what the statement was for).
   */
  async transaction<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.withConnection(async (connection) => {
      for (let attempt = 1; ; attempt++) {
        await connection.run('BEGIN TRANSACTION');
        try {
          const result = await fn(connection);
          await connection.run('COMMIT');
          return result;
        } catch (error) {
          await connection.run('ROLLBACK').catch(() => undefined);
          if (!isTransactionConflict(error) || attempt >= TRANSACTION_ATTEMPTS) throw error;
          this.logger.warn(
            { attempt, error: error instanceof Error ? error.message.split(':')[0] : 'error' },
            'duckdb transaction conflict, retrying',
          );
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
        }
      }
    });
  }

  /** Waits for the calls in flight, then closes every connection and the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    for (const connection of this.all) {
      try {
        connection.closeSync();
      } catch {
        // already closed
      }
    }
    this.all.clear();
    this.idle.length = 0;
    this.instance.closeSync();
  }

  private async connect(): Promise<DuckDBConnection> {
    const connection = await this.instance.connect();
    // Casts of TIMESTAMPTZ values to text (a widened column) read in UTC, whatever the host
    // says. The setting needs ICU, built into the Node bindings; without it DuckDB is UTC anyway.
    await connection.run("SET TimeZone = 'UTC'").catch(() => undefined);
    this.all.add(connection);
    return connection;
  }
}

/** Runs a query and returns its rows as plain JS objects. */
export async function queryRows(
  connection: DuckDBConnection,
  sql: string,
  values?: DuckDBValue[],
): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, values);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}
