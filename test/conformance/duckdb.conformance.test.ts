// test/conformance/duckdb.conformance.test.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { placeStreams } from '../../connectors/destination-duckdb/duckdb-writer.js';
import { connector } from '../../connectors/destination-duckdb/index.js';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import { DUCKDB_LIMITS } from '../../src/schema/record-typer.js';
import { describeDestinationConformance } from '../../src/testkit/index.js';

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

async function dumpDuckDb(stream: DestinationStream, config: JsonObject) {
  const placement = placeStreams([stream], (config.schema as string | undefined) ?? 'main');
  const { schema, table } = placement.get(stream.key)!;
  const instance = await DuckDBInstance.create(config.path as string, {
    access_mode: 'READ_ONLY',
  }).catch(() => undefined);
  if (instance === undefined) return []; // no database file yet
  try {
    const connection = await instance.connect();
    try {
      const exists = await connection.runAndReadAll(
        'SELECT 1 FROM duckdb_tables() WHERE schema_name = $1 AND table_name = $2',
        [schema, table],
      );
      if (exists.getRows().length === 0) return [];
      const reader = await connection.runAndReadAll(
        `SELECT * FROM ${quote(schema)}.${quote(table)}`,
      );
      const types = reader.columnTypes();
      const names = reader.columnNames();
      return reader.getRowObjectsJson().map((row) => {
        const out: Record<string, unknown> = { ...row };
        names.forEach((name, i) => {
          if (types[i]?.alias === 'JSON' && typeof out[name] === 'string')
            out[name] = JSON.parse(out[name] as string);
        });
        return out;
      });
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

describeDestinationConformance({
  name: 'duckdb',
  connector: {
    definition: connector,
    modulePath: fileURLToPath(
      new URL('../../dist/connectors/destination-duckdb/index.js', import.meta.url),
    ),
  },
  config: () => ({
    path: join(mkdtempSync(join(tmpdir(), 'destkit-duckdb-conformance-')), 'test.duckdb'),
  }),
  dumper: dumpDuckDb,
  capabilities: {
    dedup: true,
    truncate: true,
    typed: true,
    schemaEvolution: true,
    namespaces: true,
  },
  typing: { naming: DUCKDB_NAMING, limits: DUCKDB_LIMITS },
  cleanup: (config) => rmSync(dirname(config.path as string), { recursive: true, force: true }),
});
