/**
 * The PostgreSQL destination: one table per stream, loaded with COPY; dedup through a staging
 * table and a merge, truncate refreshes through a temp table swapped in at the end. See
 * docs/connectors/postgres.md.
 */
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { DestinationCatalog } from '../../src/catalog/destination-catalog.js';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { Knobs } from '../../src/config/knobs.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import type { TableName } from '../../src/schema/index.js';
import type { DestinationWriter, StreamLoader } from '../../src/write/destination-writer.js';
import { TOKENS } from '../../src/write/tokens.js';
import { type PostgresConfig, retryPolicyFromEnv, toPostgresConfig } from './postgres-config.js';
import { checkServerEncoding, PostgresDatabase } from './postgres-database.js';
import { PostgresSystemError } from './postgres-errors.js';
import { finalTableNames, quote } from './postgres-names.js';
import { PostgresStreamLoader } from './postgres-stream-loader.js';

/** How long a failed sync waits for busy connections to close. */
const FAILED_TEARDOWN_GRACE_MS = 5_000;

@injectable()
export class PostgresWriter implements DestinationWriter {
  readonly config: PostgresConfig;
  /** Final table of each stream, by stream key. */
  readonly tables: ReadonlyMap<string, TableName>;
  readonly db: PostgresDatabase;

  constructor(
    @inject(TOKENS.Config) config: JsonObject,
    @inject(TOKENS.Catalog) catalog: DestinationCatalog,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Knobs) knobs: Knobs,
  ) {
    this.config = toPostgresConfig(config);
    const names = finalTableNames(catalog.streams, this.config.schema);
    this.tables = new Map(
      catalog.streams.map((s, i) => [s.key, names[i] ?? { schema: '_', table: '_' }]),
    );
    const connections = Math.max(4, knobs.processRecordsWorkers + knobs.processBatchWorkers);
    this.db = new PostgresDatabase(this.config, retryPolicyFromEnv(), logger, connections);
  }

  async setup(): Promise<void> {
    const schemas = [...new Set([...this.tables.values()].map((t) => t.schema))];
    await this.db.retry('connect to', undefined, () =>
      this.db.withClient(async (client) => {
        await checkServerEncoding(client, this.db.target);
        for (const schema of schemas) {
          if (await PostgresDatabase.ensureSchema(client, schema)) {
            this.logger.info({ schema: quote(schema) }, 'postgres: created schema');
          }
        }
      }),
    );
    this.logger.info(
      { target: this.db.target, streams: this.tables.size },
      'postgres destination ready',
    );
  }

  createStreamLoader(stream: DestinationStream): StreamLoader {
    const table = this.tables.get(stream.key);
    if (table === undefined) {
      throw new PostgresSystemError(
        'POSTGRES_UNKNOWN_STREAM',
        `stream ${stream.label} is not in the catalog`,
      );
    }
    return new PostgresStreamLoader(stream, table, this.db, this.logger);
  }

  async teardown(failure?: unknown): Promise<void> {
    if (failure === undefined) {
      await this.db.end();
    } else {
      // After a failure a statement may still hang (a lock wait): do not wait for it for long;
      // the process exits and the server rolls the open transaction back.
      const grace = new Promise<'timeout'>((resolve) => {
        setTimeout(() => resolve('timeout'), FAILED_TEARDOWN_GRACE_MS).unref();
      });
      if ((await Promise.race([this.db.end(), grace])) === 'timeout') {
        this.logger.warn(
          'postgres: connections still busy after the failure; not waiting for them',
        );
      }
    }
    this.logger.info({ failed: failure !== undefined }, 'postgres destination done');
  }
}
