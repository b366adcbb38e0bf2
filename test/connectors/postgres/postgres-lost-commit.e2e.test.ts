/**
 * A batch's COMMIT that went through while its answer was lost (the connection dropped right
 * after it): the connector's retry asks the server whether the transaction committed and does
 * not load the batch again. And a transaction that failed before its COMMIT is loaded again.
 * A real server; the lost answer is injected at the connector's transaction boundary, after the
 * real transaction.
 */
import type { PoolClient } from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPostgresConfig } from '../../../connectors/destination-postgres/postgres-config.js';
import { PostgresDatabase } from '../../../connectors/destination-postgres/postgres-database.js';
import { PostgresStreamLoader } from '../../../connectors/destination-postgres/postgres-stream-loader.js';
import { makeDestinationStream } from '../../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../../src/protocol/messages.js';
import type { DestinationRecord } from '../../../src/write/destination-writer.js';
import {
  type EmbeddedPostgresServer,
  startEmbeddedPostgres,
} from '../../helpers/embedded-postgres.js';
import { pgConfig } from './postgres-harness.js';

const logger = pino({ level: 'silent' });
let server: EmbeddedPostgresServer;

beforeAll(async () => {
  server = await startEmbeddedPostgres();
});

afterAll(async () => {
  await server?.stop();
});

/** What a dropped connection looks like to the connector (a server shutting down). */
function connectionLost(): Error {
  return Object.assign(new Error('terminating connection due to administrator command'), {
    code: '57P01',
    severity: 'FATAL',
  });
}

/** A real database whose next transaction fails once: `after` its COMMIT, or `before` it. */
class FailingOnce extends PostgresDatabase {
  transactions = 0;
  fail: 'after' | 'before' | undefined;

  override async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    this.transactions++;
    const fail = this.fail;
    this.fail = undefined;
    const result = await super.transaction(async (client) => {
      const done = await work(client);
      if (fail === 'before') throw connectionLost();
      return done;
    });
    if (fail === 'after') throw connectionLost();
    return result;
  }
}

describe('postgres: a batch retried after a lost connection', () => {
  for (const fail of ['after', 'before'] as const) {
    it(`is loaded exactly once when the connection drops ${fail} its COMMIT`, async () => {
      const schema = `lost_${fail}`;
      const config = toPostgresConfig(pgConfig(server, { schema }) as JsonObject);
      const db = new FailingOnce(config, { retries: 2, baseDelayMs: 10 }, logger, 2);
      try {
        await db.withClient((client) => PostgresDatabase.ensureSchema(client, schema));
        const stream = makeDestinationStream({
          name: 'users',
          schema: { type: 'object', properties: { id: { type: 'integer' } } },
          importType: { kind: 'append' },
          generationId: null,
          minimumGenerationId: null,
          syncId: 1,
        });
        const loader = new PostgresStreamLoader(stream, { schema, table: 'users' }, db, logger);
        await loader.start();
        const records = Array.from(
          { length: 100 },
          (_, id): DestinationRecord => ({
            stream,
            data: { id },
            emittedAt: 1_700_000_000_000,
            meta: undefined,
            sizeBytes: 10,
          }),
        );
        db.transactions = 0;
        db.fail = fail;
        await loader.processRecords(records, 1000, false);
        // One transaction when its COMMIT went through; two when the first rolled back.
        expect(db.transactions).toBe(fail === 'after' ? 1 : 2);
        const rows = await server.query<{ n: number; ids: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM "${schema}".users`,
        );
        expect(rows).toEqual([{ n: 100, ids: 100 }]);
        await loader.close();
      } finally {
        await db.end();
      }
    });
  }
});
