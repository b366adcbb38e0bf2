/**
 * The DuckDB destination: one local database file, one typed table per stream, loaded with the
 * Appender in transactions. See docs/connectors/duckdb.md.
 */
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { DestinationCatalog } from '../../src/catalog/destination-catalog.js';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import { collisionKey, mapTableNames } from '../../src/schema/name-mapper.js';
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import { streamColumns } from '../../src/schema/stream-columns.js';
import type { DestinationWriter, StreamLoader } from '../../src/write/destination-writer.js';
import { TOKENS } from '../../src/write/tokens.js';
import { type DuckDbConfig, toDuckDbConfig } from './duckdb-config.js';
import { DuckDbDatabase } from './duckdb-database.js';
import { DuckDbError, DuckDbUnsupportedModeError } from './duckdb-errors.js';
import type { TableRef } from './duckdb-sql.js';
import { DuckDbStreamLoader } from './duckdb-stream-loader.js';

/** Where each stream of a catalog goes: schema and table identifiers (catalog name aside). */
export interface StreamPlacement {
  readonly schema: string;
  readonly table: string;
  /** Collision keys of the final tables of every stream placed in the same schema. */
  readonly finalsInSchema: ReadonlySet<string>;
}

/**
 * Schemas and tables for a catalog's streams (pure): a namespace (absent or empty: the config's
 * schema) names the schema; stream names become tables, distinct within each schema.
 */
export function placeStreams(
  streams: readonly DestinationStream[],
  defaultSchema: string,
): Map<string, StreamPlacement> {
  const names = mapTableNames(
    streams.map((s) => ({
      namespace: s.namespace === undefined || s.namespace === '' ? undefined : s.namespace,
      name: s.name,
    })),
    DUCKDB_NAMING,
    defaultSchema,
  );
  const finals = new Map<string, Set<string>>();
  for (const n of names) {
    const schemaKey = collisionKey(n.schema, DUCKDB_NAMING);
    const set = finals.get(schemaKey) ?? new Set<string>();
    set.add(collisionKey(n.table, DUCKDB_NAMING));
    finals.set(schemaKey, set);
  }
  const placements = new Map<string, StreamPlacement>();
  streams.forEach((stream, i) => {
    const n = names[i];
    if (n === undefined) return;
    placements.set(stream.key, {
      schema: n.schema,
      table: n.table,
      finalsInSchema: finals.get(collisionKey(n.schema, DUCKDB_NAMING)) ?? new Set(),
    });
  });
  return placements;
}

@injectable()
export class DuckDbWriter implements DestinationWriter {
  readonly config: DuckDbConfig;
  private db: DuckDbDatabase | undefined;
  private placements = new Map<string, StreamPlacement>();

  constructor(
    @inject(TOKENS.Config) config: JsonObject,
    @inject(TOKENS.Catalog) private readonly catalog: DestinationCatalog,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {
    this.config = toDuckDbConfig(config);
  }

  async setup(): Promise<void> {
    this.placements = placeStreams(this.catalog.streams, this.config.schema);
    this.db = await DuckDbDatabase.open(this.config.path, this.logger);
    this.logger.info(
      { path: this.config.path, catalog: this.db.catalog, streams: this.catalog.size },
      'duckdb destination ready',
    );
  }

  createStreamLoader(stream: DestinationStream): StreamLoader {
    const db = this.db;
    const placement = this.placements.get(stream.key);
    if (db === undefined || placement === undefined) {
      throw new DuckDbError(`stream ${stream.label}: the destination was not set up`, {
        stream: stream.descriptor,
      });
    }
    const kind = stream.importType.kind;
    if (kind === 'update' || kind === 'soft_delete') {
      throw new DuckDbUnsupportedModeError(
        `stream ${stream.label}: destination_sync_mode ${kind} is not supported by the DuckDB ` +
          'connector (use append, append_dedup or overwrite)',
        { stream: stream.descriptor },
      );
    }
    const final: TableRef = {
      catalog: db.catalog,
      schema: placement.schema,
      table: placement.table,
    };
    return new DuckDbStreamLoader(
      stream,
      db,
      final,
      placement.finalsInSchema,
      streamColumns(stream, DUCKDB_NAMING),
      this.logger,
    );
  }

  async teardown(failure?: unknown): Promise<void> {
    await this.db?.close();
    this.db = undefined;
    this.logger.info({ failed: failure !== undefined }, 'duckdb destination done');
  }
}
