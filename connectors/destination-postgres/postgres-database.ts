/**
 * The connection pool of one sync, and the few ways the connector uses a connection: a client
 * for one piece of work, a transaction, a retried operation. Every session is set to
 * client_encoding UTF8 and TimeZone UTC. A connection lost while idle in the pool or while
 * checked out is logged and discarded, never an unhandled 'error' event.
 */

import { Semaphore } from 'async-mutex';
import type { ClientBase, PoolClient } from 'pg';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import {
  clientConfig,
  describeTarget,
  type PostgresConfig,
  type RetryPolicy,
} from './postgres-config.js';
import { type ErrorContext, PostgresConfigError, sqlState } from './postgres-errors.js';
import { createSchemaSql, SCHEMA_EXISTS_SQL } from './postgres-sql.js';
import { withRetry } from './retry.js';

const SESSION_SETUP = "SET client_encoding TO 'UTF8'; SET TimeZone TO 'UTC'";

/** Server encodings the connector writes to: UTF8, or SQL_ASCII (stores bytes as they are). */
const USABLE_ENCODINGS = new Set(['UTF8', 'SQL_ASCII']);

/** The id of the client's current transaction (assigned now if it had none), as text. */
export async function transactionId(client: ClientBase): Promise<string> {
  const result = await client.query<{ xid: string }>('SELECT txid_current()::text AS xid');
  const xid = result.rows[0]?.xid;
  if (xid === undefined) throw new Error('txid_current() returned no row');
  return xid;
}

/** Applies the session settings to a new connection. */
export async function setUpSession(client: ClientBase): Promise<void> {
  await client.query(SESSION_SETUP);
}

/** Fails with a config_error unless the database stores UTF-8 text. */
export async function checkServerEncoding(client: ClientBase, target: string): Promise<void> {
  const result = await client.query<{ encoding: string }>(
    "SELECT current_setting('server_encoding') AS encoding",
  );
  const encoding = result.rows[0]?.encoding ?? '';
  if (!USABLE_ENCODINGS.has(encoding)) {
    throw new PostgresConfigError(
      'POSTGRES_ENCODING',
      `the database at ${target} uses the encoding ${encoding}; destkit writes UTF-8 text and needs a UTF8 database`,
    );
  }
}

export class PostgresDatabase {
  readonly target: string;
  private readonly pool: pg.Pool;
  /**
   * Work waits here for a connection, without a time limit: the pool's own queue would apply
   * connect_timeout to the wait, and a long merge in other sessions would then fail a healthy
   * sync. The pool therefore never has more requests than connections.
   */
  private readonly slots: Semaphore;

  constructor(
    readonly config: PostgresConfig,
    readonly retryPolicy: RetryPolicy,
    private readonly logger: Logger,
    maxConnections: number,
  ) {
    this.target = describeTarget(config);
    this.slots = new Semaphore(maxConnections);
    this.pool = new pg.Pool({
      ...clientConfig(config),
      max: maxConnections,
      idleTimeoutMillis: 30_000,
    });
    this.pool.on('connect', (client) => {
      setUpSession(client).catch(() => undefined); // a failure surfaces on the next query
    });
    this.pool.on('error', (error) => {
      this.logger.warn({ reason: error.message }, 'postgres: an idle connection was lost');
    });
  }

  /** The context of an error raised while doing `action`. */
  context(action: string, stream?: DestinationStream): ErrorContext {
    return {
      action,
      target: this.target,
      user: this.config.username,
      sslMode: this.config.sslMode,
      ...(stream === undefined ? {} : { stream: stream.descriptor }),
    };
  }

  /**
   * Runs `work` with a client of the pool. A client whose work failed is closed rather than
   * returned to the pool: its session may be in any state.
   */
  withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.slots.runExclusive(() => this.withPooledClient(work));
  }

  private async withPooledClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost = error;
    };
    client.on('error', onError);
    try {
      const result = await work(client);
      if (lost !== undefined) throw lost;
      client.removeListener('error', onError);
      client.release();
      return result;
    } catch (error) {
      client.release(true);
      // Errors that arrive while the socket closes have nowhere else to go.
      client.on('error', () => undefined);
      client.removeListener('error', onError);
      throw error;
    }
  }

  /** Runs `work` in one transaction (BEGIN … COMMIT); any failure rolls it back. */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    });
  }

  /**
   * Whether the transaction whose id (`transactionId`) is `xid` committed. After a connection
   * lost with a COMMIT in flight, the COMMIT may have gone through with its answer lost: the
   * server knows (`txid_status`, PostgreSQL 10 and later). A transaction still in progress
   * there has lost its client and can only roll back.
   */
  async committed(xid: string): Promise<boolean> {
    return this.withClient(async (client) => {
      const result = await client.query<{ status: string | null }>(
        'SELECT txid_status($1::bigint) AS status',
        [xid],
      );
      return result.rows[0]?.status === 'committed';
    });
  }

  /** Runs `operation`, again after transient failures (see retry.ts); errors come out typed. */
  retry<T>(
    action: string,
    stream: DestinationStream | undefined,
    operation: (attempt: number) => Promise<T>,
    canRetry?: () => boolean,
  ): Promise<T> {
    return withRetry(
      this.retryPolicy,
      this.logger,
      this.context(action, stream),
      operation,
      canRetry,
    );
  }

  /** Creates a schema unless it exists (checked first: CREATE needs a privilege that using it does not). */
  static async ensureSchema(client: ClientBase, schema: string): Promise<boolean> {
    const found = await client.query(SCHEMA_EXISTS_SQL, [schema]);
    if ((found.rowCount ?? 0) > 0) return false;
    try {
      await client.query(createSchemaSql(schema));
    } catch (error) {
      // Created by someone else in the meantime.
      const state = sqlState(error);
      if (state !== '42P06' && state !== '23505') throw error;
    }
    return true;
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
