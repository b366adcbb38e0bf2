/**
 * `check` of the PostgreSQL connector: connects, verifies the database encoding, creates the
 * default schema when missing, then creates a probe table in it, COPYs one row into it, reads it
 * back and drops it. A failure says which step failed and what to do.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { CheckContext } from '../../src/write/connector-definition.js';
import { copyChunks } from './copy-load.js';
import {
  clientConfig,
  describeTarget,
  retryPolicyFromEnv,
  toPostgresConfig,
} from './postgres-config.js';
import { checkServerEncoding, PostgresDatabase, setUpSession } from './postgres-database.js';
import { type ErrorContext, PostgresSystemError } from './postgres-errors.js';
import { qualified, quote, schemaIdentifier } from './postgres-names.js';
import { withRetry } from './retry.js';

export async function checkPostgres({ config, logger }: CheckContext): Promise<void> {
  const settings = toPostgresConfig(config);
  const schema = schemaIdentifier(settings.schema);
  const probe = { schema, table: `_airbyte_check_${randomBytes(6).toString('hex')}` };
  let step = 'connect to';
  const context: ErrorContext = {
    get action() {
      return step;
    },
    target: describeTarget(settings),
    user: settings.username,
    sslMode: settings.sslMode,
  };
  await withRetry(retryPolicyFromEnv(), logger, context, async () => {
    step = 'connect to';
    const client = new pg.Client(clientConfig(settings));
    client.on('error', () => undefined); // a lost connection fails the pending query
    try {
      await client.connect();
      await setUpSession(client);
      await checkServerEncoding(client, context.target);
      step = `create the schema ${quote(schema)} on`;
      await PostgresDatabase.ensureSchema(client, schema);
      step = `create, fill and drop a probe table ${qualified(probe)} on`;
      await client.query('BEGIN');
      await client.query(
        `CREATE TABLE ${qualified(probe)} ("_airbyte_raw_id" uuid, "_airbyte_meta" jsonb, "value" text)`,
      );
      await copyChunks(
        client as pg.PoolClient,
        `COPY ${qualified(probe)} ("_airbyte_raw_id", "_airbyte_meta", "value") FROM STDIN`,
        ['00000000-0000-4000-8000-000000000000\t{"changes":[]}\tdestkit check\n'],
      );
      const read = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${qualified(probe)}`,
      );
      if (read.rows[0]?.n !== '1') {
        throw new PostgresSystemError(
          'POSTGRES_CHECK',
          `the probe table ${qualified(probe)} did not return its row`,
        );
      }
      await client.query(`DROP TABLE ${qualified(probe)}`);
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  logger.info(
    { target: context.target, schema },
    'postgres check: connected, the schema is writable',
  );
}
