/** The DuckDB connector's specification: one local database file, typed tables per stream. */
import type { ConnectorSpecification } from '../../src/protocol/messages.js';

/** Where the database goes when the config names no path. */
export const DEFAULT_DUCKDB_PATH = './destkit.duckdb';
/** The schema of streams without a namespace when the config names none. */
export const DEFAULT_DUCKDB_SCHEMA = 'main';

export const DUCKDB_SPEC: ConnectorSpecification = {
  documentationUrl: 'https://github.com/destkit/destkit/blob/main/docs/connectors/duckdb.md',
  supportsIncremental: true,
  supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'DuckDB destination',
    type: 'object',
    additionalProperties: false,
    properties: {
      path: {
        type: 'string',
        title: 'Database file',
        description:
          'Path of the DuckDB database file; created (with its directory) when missing. A ' +
          'relative path is resolved against the working directory of the connector. ' +
          '`:memory:` is refused: nothing would persist.',
        default: DEFAULT_DUCKDB_PATH,
        minLength: 1,
        examples: ['/local/destkit.duckdb'],
        order: 0,
      },
      schema: {
        type: 'string',
        title: 'Default schema',
        description:
          'Schema of the streams that have no namespace; a stream with a namespace goes to the ' +
          'schema of that name. Created when missing.',
        default: DEFAULT_DUCKDB_SCHEMA,
        minLength: 1,
        order: 1,
      },
    },
  },
};
