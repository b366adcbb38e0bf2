/** The DuckDB connector's config after validation and defaults. */
import { resolve } from 'node:path';
import type { JsonObject } from '../../src/protocol/messages.js';
import { DuckDbConfigError } from './duckdb-errors.js';
import { DEFAULT_DUCKDB_PATH, DEFAULT_DUCKDB_SCHEMA } from './spec.js';

export interface DuckDbConfig {
  /** `path`, resolved against the working directory. */
  readonly path: string;
  /** `schema`: the schema of streams without a namespace (before name mapping). */
  readonly schema: string;
}

/** Paths DuckDB does not read as a local file: in-memory databases and remote services. */
const NOT_A_FILE = /^(?::memory:|md:|motherduck:)/i;

/**
 * Reads a config that already passed the spec's validation. Refuses `:memory:` (and DuckDB's
 * other non-file paths) with a config_error: a sync into it would persist nothing.
 */
export function toDuckDbConfig(config: JsonObject): DuckDbConfig {
  const path = typeof config.path === 'string' ? config.path : DEFAULT_DUCKDB_PATH;
  const schema = typeof config.schema === 'string' ? config.schema : DEFAULT_DUCKDB_SCHEMA;
  if (path.trim() === '' || NOT_A_FILE.test(path.trim())) {
    throw new DuckDbConfigError(
      `path ${JSON.stringify(path)} is not a database file: the DuckDB connector writes to a ` +
        'local file only (an in-memory database would lose everything at the end of the sync)',
    );
  }
  return { path: resolve(path), schema };
}
