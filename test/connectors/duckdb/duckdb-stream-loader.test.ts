/** DuckDbWriter and DuckDbStreamLoader in process, against real database files. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_THRESHOLD,
  DuckDbDatabase,
} from '../../../connectors/destination-duckdb/duckdb-database.js';
import { DuckDbWriter } from '../../../connectors/destination-duckdb/duckdb-writer.js';
import { DestinationCatalog } from '../../../src/catalog/destination-catalog.js';
import {
  type DestinationStream,
  type ImportType,
  makeDestinationStream,
} from '../../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../../src/protocol/messages.js';
import type { DestinationRecord, StreamLoader } from '../../../src/write/destination-writer.js';
import { query, tables, tempDb } from './duckdb-helpers.js';

const logger = pino({ level: 'silent' });

function stream(
  importType: ImportType = { kind: 'append' },
  generations: { gen: number; minGen: number } | undefined = undefined,
): DestinationStream {
  return makeDestinationStream({
    name: 'users',
    schema: { type: 'object', properties: { id: { type: 'integer' }, v: { type: 'string' } } },
    importType,
    generationId: generations?.gen ?? null,
    minimumGenerationId: generations?.minGen ?? null,
    syncId: 1,
  });
}

function records(s: DestinationStream, data: JsonObject[], emittedAt = 1_700_000_000_000) {
  return data.map(
    (d): DestinationRecord => ({ stream: s, data: d, emittedAt, meta: undefined, sizeBytes: 10 }),
  );
}

async function open(path: string, s: DestinationStream): Promise<[DuckDbWriter, StreamLoader]> {
  const writer = new DuckDbWriter({ path }, new DestinationCatalog([s]), logger);
  await writer.setup();
  const loader = await writer.createStreamLoader(s);
  await loader.start();
  return [writer, loader];
}

describe('DuckDbDatabase', () => {
  it("opens the file with its own checkpoint threshold (not DuckDB's 16 MiB)", async () => {
    const db = await DuckDbDatabase.open(tempDb(), logger);
    try {
      const threshold = await db.withConnection(async (connection) => {
        const reader = await connection.runAndReadAll(
          "SELECT current_setting('checkpoint_threshold') AS value",
        );
        return reader.getRowObjectsJS()[0]?.value;
      });
      // DuckDB prints the size in its own units: 256MB is 244.1 MiB (its default: 16.0 MiB).
      expect(CHECKPOINT_THRESHOLD).toBe('256MB');
      expect(threshold).toBe('244.1 MiB');
    } finally {
      await db.close();
    }
  });
});

describe('DuckDbStreamLoader', () => {
  it('takes concurrent batches of one stream from two workers, each committed on return', async () => {
    const path = tempDb();
    const s = stream();
    const [writer, loader] = await open(path, s);
    const a = loader.createBatchAccumulator();
    const b = loader.createBatchAccumulator();
    const batch = (from: number) =>
      records(
        s,
        Array.from({ length: 5000 }, (_, i) => ({ id: from + i, v: `v${from + i}` })),
      );
    const results = await Promise.all([
      a.processRecords(batch(0), 0, false),
      b.processRecords(batch(5000), 0, false),
      a.processRecords(batch(10000), 0, false),
      b.processRecords(batch(15000), 0, true),
    ]);
    expect(results.map((r) => r.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    await loader.close();
    await writer.teardown();
    expect(
      await query(path, 'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d FROM users'),
    ).toEqual([{ n: 20000, d: 20000 }]);
  });

  it('gives staged rows distinct load orders across concurrent batches (dedup)', async () => {
    const path = tempDb();
    const s = stream({ kind: 'dedupe', primaryKey: [['id']], cursor: [] });
    const [writer, loader] = await open(path, s);
    const a = loader.createBatchAccumulator();
    const b = loader.createBatchAccumulator();
    await Promise.all([
      a.processRecords(
        records(s, [
          { id: 1, v: 'a1' },
          { id: 2, v: 'a2' },
        ]),
        0,
        false,
      ),
      b.processRecords(
        records(s, [
          { id: 1, v: 'b1' },
          { id: 3, v: 'b3' },
        ]),
        0,
        true,
      ),
    ]);
    const staged = await (async () => {
      await writer.teardown(new Error('pause'));
      return query(path, 'SELECT _destkit_seq AS s FROM users_destkit_stage ORDER BY s');
    })();
    expect(staged.map((r) => Number(r.s))).toEqual([1, 2, 3, 4]);
    // the sync "failed": nothing was merged
    expect(await query(path, 'SELECT count(*)::INT AS n FROM users')).toEqual([{ n: 0 }]);
  });

  it('returns COMPLETE without writing for a call without records', async () => {
    const path = tempDb();
    const s = stream();
    const [writer, loader] = await open(path, s);
    const batch = await loader.createBatchAccumulator().processRecords([], 0, true);
    expect(batch.state).toBe('COMPLETE');
    await loader.close();
    await writer.teardown();
    expect(await query(path, 'SELECT count(*)::INT AS n FROM users')).toEqual([{ n: 0 }]);
  });

  it('finalizes nothing on close(failure): the final table stays, the temp table waits', async () => {
    const path = tempDb();
    const first = stream({ kind: 'append' }, { gen: 1, minGen: 1 });
    let [writer, loader] = await open(path, first);
    await loader.createBatchAccumulator().processRecords(records(first, [{ id: 1 }]), 0, true);
    await loader.close();
    await writer.teardown();

    const second = stream({ kind: 'append' }, { gen: 2, minGen: 2 });
    [writer, loader] = await open(path, second);
    await loader.createBatchAccumulator().processRecords(records(second, [{ id: 2 }]), 0, true);
    await loader.close(new Error('stream INCOMPLETE'));
    await writer.teardown(new Error('sync failed'));
    expect(await query(path, 'SELECT id FROM users')).toEqual([{ id: '1' }]);
    expect(await query(path, 'SELECT id FROM users_destkit_tmp')).toEqual([{ id: '2' }]);
    expect(await tables(path)).toEqual(['main.users', 'main.users_destkit_tmp']);
  });

  it('never takes a table it did not mark as its temp table', async () => {
    const path = tempDb();
    // a user's own table that happens to have the temp table's name
    const plain = makeDestinationStream({
      name: 'users_destkit_tmp',
      schema: { type: 'object', properties: { mine: { type: 'string' } } },
      importType: { kind: 'append' },
      generationId: null,
      minimumGenerationId: null,
      syncId: null,
    });
    let [writer, loader] = await open(path, plain);
    await loader
      .createBatchAccumulator()
      .processRecords(records(plain, [{ mine: 'keep me' }]), 0, true);
    await loader.close();
    await writer.teardown();

    const refresh = stream({ kind: 'append' }, { gen: 5, minGen: 5 });
    [writer, loader] = await open(path, refresh);
    await loader.createBatchAccumulator().processRecords(records(refresh, [{ id: 5 }]), 0, true);
    await loader.close();
    await writer.teardown();
    expect(await query(path, 'SELECT mine FROM users_destkit_tmp')).toEqual([{ mine: 'keep me' }]);
    expect(await query(path, 'SELECT id FROM users')).toEqual([{ id: '5' }]);
    expect(await tables(path)).toEqual(['main.users', 'main.users_destkit_tmp']);
  });
});
