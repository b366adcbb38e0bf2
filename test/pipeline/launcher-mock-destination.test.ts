import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import {
  createMockDestination,
  dedupeRows,
  MockBackend,
  type MockDestinationOptions,
  type MockRow,
  MockSystemError,
} from '../../src/testkit/mock-destination.js';
import { runPipeline } from '../../src/testkit/run-pipeline.js';
import { catalog, record, status, streamState } from '../helpers/messages.js';

function row(data: MockRow['data'], emittedAt = 1): MockRow {
  return { data, emittedAt, meta: undefined, generationId: 1 };
}

function ids(rows: readonly MockRow[]): unknown[] {
  return rows.map((r) => r.data.id);
}

describe(dedupeRows, () => {
  const pk = [['pk']] as const;
  const cursor = ['cursor'] as const;

  it('keeps the greatest cursor per key', () => {
    const rows = [row({ id: 'a', pk: 1, cursor: 2 }), row({ id: 'b', pk: 1, cursor: 5 })];
    expect(ids(dedupeRows([], rows, pk, cursor))).toEqual(['b']);
  });

  it('breaks cursor ties by emittedAt, then by the later row', () => {
    const rows = [
      row({ id: 'a', pk: 1, cursor: 2 }, 9),
      row({ id: 'b', pk: 1, cursor: 2 }, 3),
      row({ id: 'c', pk: 2, cursor: 2 }, 3),
      row({ id: 'd', pk: 2, cursor: 2 }, 3),
    ];
    expect(ids(dedupeRows([], rows, pk, cursor))).toEqual(['a', 'd']);
  });

  it('ranks a null cursor below any value', () => {
    const rows = [row({ id: 'a', pk: 1, cursor: 0 }), row({ id: 'b', pk: 1, cursor: null }, 99)];
    expect(ids(dedupeRows([], rows, pk, cursor))).toEqual(['a']);
  });

  it('deletes a key whose winner has _ab_cdc_deleted_at', () => {
    const existing = [row({ id: 'old', pk: 1, cursor: 1 })];
    const rows = [row({ id: 'del', pk: 1, cursor: 2, _ab_cdc_deleted_at: '2024-01-01' })];
    expect(dedupeRows(existing, rows, pk, cursor)).toEqual([]);
  });

  it('keeps an existing row over a late record with an older cursor', () => {
    const existing = [row({ id: 'old', pk: 1, cursor: 7 })];
    expect(ids(dedupeRows(existing, [row({ id: 'late', pk: 1, cursor: 3 })], pk, cursor))).toEqual([
      'old',
    ]);
  });
});

describe('mock destination', () => {
  async function load(
    options: MockDestinationOptions,
    streams: Parameters<typeof catalog>[0],
    messages: readonly unknown[],
    backend = new MockBackend(),
  ) {
    const { definition } = createMockDestination(options, backend);
    const run = await runPipeline({
      definition,
      catalog: catalog(streams),
      input: messages.map((m) => JSON.stringify(m)),
      knobs: { batchSizeBytes: 1 },
    });
    return { run, backend };
  }

  describe('when a truncating stream is COMPLETE', () => {
    it('replaces the final table with this sync’s rows', async () => {
      const backend = new MockBackend();
      backend.seed('users', [row({ id: 'old' })]);
      const { run } = await load(
        {},
        [{ name: 'users', mode: 'overwrite' }],
        [record('users', { id: 'new' }), status('users', 'COMPLETE')],
        backend,
      );
      expect(run.outcome.status).toBe('succeeded');
      expect(ids(backend.finalTable('users'))).toEqual(['new']);
      expect(backend.finalized).toEqual(['users']);
    });
  });

  describe('with dedupe', () => {
    it('upserts by primary key at close', async () => {
      const backend = new MockBackend();
      backend.seed('users', [row({ id: 'old', pk: 1, cursor: 1 })]);
      await load(
        {},
        [{ name: 'users', mode: 'append_dedup', pk: [['pk']], cursor: ['cursor'] }],
        [
          record('users', { id: 'n1', pk: 1, cursor: 5 }),
          record('users', { id: 'n2', pk: 2, cursor: 1 }),
          status('users', 'COMPLETE'),
        ],
        backend,
      );
      expect(ids(backend.finalTable('users')).sort()).toEqual(['n1', 'n2']);
    });
  });

  describe('with recordsBatchState COMPLETE', () => {
    it('persists in processRecords and is never asked to processBatch', async () => {
      const { run, backend } = await load(
        { recordsBatchState: 'COMPLETE' },
        [{ name: 'users' }],
        [record('users', { id: 1 }), streamState('users', { n: 1 }), status('users', 'COMPLETE')],
      );
      expect(run.outcome.status).toBe('succeeded');
      expect(backend.callsOf('processBatch')).toEqual([]);
      expect(run.echoedStates).toHaveLength(1);
    });
  });

  describe('with groupBatches', () => {
    it('commits the whole group with the last batch of the stream', async () => {
      const { run, backend } = await load(
        { groupBatches: true },
        [{ name: 'users' }],
        [
          record('users', { id: 1 }),
          record('users', { id: 2 }),
          streamState('users', { n: 2 }),
          status('users', 'COMPLETE'),
        ],
      );
      expect(run.outcome.status).toBe('succeeded');
      expect(backend.callsOf('processBatch')).toEqual([]);
      expect(ids(backend.persistedEver('users'))).toEqual([1, 2]);
      expect(run.echoedStates).toHaveLength(1);
    });
  });

  describe('with a failure plan', () => {
    it('throws at the nth call of the method for the named stream only', async () => {
      const { run, backend } = await load(
        { failures: [{ method: 'processRecords', nth: 2, kind: 'system', stream: 'orders' }] },
        [{ name: 'users' }, { name: 'orders' }],
        [
          record('users', { id: 1 }),
          record('users', { id: 2 }),
          record('orders', { id: 3 }),
          record('orders', { id: 4 }),
          status('users', 'COMPLETE'),
          status('orders', 'COMPLETE'),
        ],
      );
      expect(run.outcome.error).toBeInstanceOf(MockSystemError);
      expect(backend.injected).toHaveLength(1);
      expect(backend.injected[0]?.call).toMatchObject({
        method: 'processRecords',
        stream: 'orders',
      });
      expect(
        backend.callsOf('processRecords', 'orders').filter((c) => c.outcome === 'threw'),
      ).toHaveLength(1);
    });

    it('finalizes nothing when close throws', async () => {
      const backend = new MockBackend();
      backend.seed('users', [row({ id: 'old' })]);
      const { run } = await load(
        { failures: [{ method: 'close', nth: 1, kind: 'plain' }] },
        [{ name: 'users', mode: 'overwrite' }],
        [record('users', { id: 'new' }), status('users', 'COMPLETE')],
        backend,
      );
      expect(run.outcome.status).toBe('failed');
      expect((run.outcome.error as Error).cause).toBe(backend.injected[0]?.error);
      expect(ids(backend.finalTable('users'))).toEqual(['old']);
      expect(ids(backend.persistedRows('users'))).toEqual(['new']);
    });
  });
});
