/**
 * The DuckDB connector's sync modes as a spawned process against real database files: append,
 * dedup (composite keys, cursors, CDC deletes), truncate refreshes (interrupted and resumed).
 * Every assertion queries the database file. Run `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { record, status, streamState } from '../../helpers/messages.js';
import { lines } from '../../helpers/run-cli.js';
import {
  errors,
  query,
  recordAt,
  type StreamSpec,
  states,
  sync,
  tables,
  tempDb,
} from './duckdb-helpers.js';

describe('duckdb write, append', { timeout: 120_000 }, () => {
  it('appends across two syncs, with the meta columns, into the namespace schema', async () => {
    const path = tempDb();
    const streams: StreamSpec[] = [
      { name: 'users', namespace: 'public', gen: 3, minGen: 0, syncId: 42 },
      { name: 'orders' },
    ];
    const first = await sync(
      { path },
      streams,
      lines(
        record('users', { id: 1 }, 'public'),
        record('orders', { id: 7 }),
        record('users', { id: 2 }, 'public'),
        streamState('users', { c: 2 }, {}, 'public'),
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
      ),
    );
    expect(first.code, first.stderr).toBe(0);
    const second = await sync(
      { path },
      streams,
      lines(
        record('users', { id: 3 }, 'public'),
        record('orders', { id: 7 }),
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
      ),
    );
    expect(second.code, second.stderr).toBe(0);
    expect(await tables(path)).toEqual(['main.orders', 'public.users']);
    const users = await query(
      path,
      'SELECT id, _airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta, _airbyte_generation_id FROM public.users ORDER BY id',
    );
    expect(users.map((u) => u.id)).toEqual(['1', '2', '3']);
    expect(users[0]).toMatchObject({
      _airbyte_extracted_at: '2023-11-14 22:13:20+00',
      _airbyte_generation_id: '3',
    });
    expect(JSON.parse(users[0]!._airbyte_meta)).toEqual({ sync_id: 42, changes: [] });
    expect(new Set(users.map((u) => u._airbyte_raw_id)).size).toBe(3);
    for (const u of users) expect(u._airbyte_raw_id).toMatch(/^[0-9a-f-]{36}$/);
    const orders = await query(path, 'SELECT id, _airbyte_generation_id FROM main.orders');
    expect(orders).toEqual([
      { id: '7', _airbyte_generation_id: null },
      { id: '7', _airbyte_generation_id: null },
    ]);
    const types = await query(
      path,
      "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'users' ORDER BY column_index",
    );
    expect(types).toEqual([
      { column_name: '_airbyte_raw_id', data_type: 'VARCHAR' },
      { column_name: '_airbyte_extracted_at', data_type: 'TIMESTAMP WITH TIME ZONE' },
      { column_name: '_airbyte_meta', data_type: 'JSON' },
      { column_name: '_airbyte_generation_id', data_type: 'BIGINT' },
      { column_name: 'id', data_type: 'BIGINT' },
    ]);
  });

  it('writes streams without a namespace to the configured schema', async () => {
    const path = tempDb();
    const result = await sync(
      { path, schema: 'raw data' },
      [{ name: 'users' }, { name: 'users', namespace: 'other' }],
      lines(
        record('users', { id: 1 }),
        record('users', { id: 2 }, 'other'),
        status('users', 'COMPLETE'),
        status('users', 'COMPLETE', 'other'),
      ),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await tables(path)).toEqual(['other.users', 'raw data.users']);
    expect(await query(path, 'SELECT id FROM "raw data".users')).toEqual([{ id: '1' }]);
    expect(await query(path, 'SELECT id FROM other.users')).toEqual([{ id: '2' }]);
  });

  it('keeps the source changes in _airbyte_meta, before its own', async () => {
    const path = tempDb();
    const change = { field: 'bio', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' };
    const result = await sync(
      { path },
      [{ name: 'users', properties: { bio: { type: 'string' }, n: { type: 'integer' } } }],
      lines(
        {
          type: 'RECORD',
          record: {
            stream: 'users',
            data: { bio: 'x', n: 'not a number' },
            emitted_at: 1,
            meta: { changes: [change] },
          },
        },
        status('users', 'COMPLETE'),
      ),
    );
    expect(result.code, result.stderr).toBe(0);
    const [row] = await query(path, 'SELECT bio, n, _airbyte_meta FROM users');
    expect(row).toMatchObject({ bio: 'x', n: null });
    expect(JSON.parse(row!._airbyte_meta)).toEqual({
      sync_id: null,
      changes: [
        change,
        { field: 'n', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
      ],
    });
  });
});

describe('duckdb write, dedup', { timeout: 120_000 }, () => {
  const properties = {
    org: { type: 'string' },
    id: { type: 'integer' },
    v: { type: 'string' },
    updated_at: { type: 'integer' },
    _ab_cdc_deleted_at: { type: ['null', 'string'], format: 'date-time' },
  };
  const streams: StreamSpec[] = [
    {
      name: 'accounts',
      mode: 'append_dedup',
      pk: [['org'], ['id']],
      cursor: ['updated_at'],
      properties,
    },
  ];
  const rowsOf = (path: string) =>
    query(path, 'SELECT org, id, v, updated_at FROM accounts ORDER BY org, id');

  it('keeps the greatest cursor per composite key, ties to the latest extraction, and applies CDC deletes', async () => {
    const path = tempDb();
    const r = (data: Record<string, unknown>, at = 1_700_000_000_000) =>
      recordAt('accounts', data, at);
    const first = await sync(
      { path },
      streams,
      lines(
        r({ org: 'a', id: 1, v: 'a1-old', updated_at: 1 }),
        r({ org: 'a', id: 1, v: 'a1-new', updated_at: 5 }),
        r({ org: 'a', id: 1, v: 'a1-late', updated_at: 3 }),
        r({ org: 'b', id: 1, v: 'b1', updated_at: 1 }), // same id, other org
        r({ org: 'a', id: 2, v: 'a2', updated_at: 1 }),
        r({ org: 'a', id: 3, v: 'a3-null-cursor', updated_at: null }),
        r({ org: 'a', id: 3, v: 'a3', updated_at: 1 }),
        r({ org: 'a', id: 4, v: 'a4-early', updated_at: 2 }, 1_700_000_000_000),
        r({ org: 'a', id: 4, v: 'a4-later-extraction', updated_at: 2 }, 1_700_000_000_001),
        r({ org: 'a', id: 4, v: 'a4-earlier-extraction', updated_at: 2 }, 1_699_999_999_999),
        status('accounts', 'COMPLETE'),
      ),
    );
    expect(first.code, first.stderr).toBe(0);
    expect(await rowsOf(path)).toEqual([
      { org: 'a', id: '1', v: 'a1-new', updated_at: '5' },
      { org: 'a', id: '2', v: 'a2', updated_at: '1' },
      { org: 'a', id: '3', v: 'a3', updated_at: '1' },
      { org: 'a', id: '4', v: 'a4-later-extraction', updated_at: '2' },
      { org: 'b', id: '1', v: 'b1', updated_at: '1' },
    ]);

    const second = await sync(
      { path },
      streams,
      lines(
        r({ org: 'a', id: 1, v: 'a1-stale', updated_at: 4 }), // older cursor than the table's
        r({ org: 'a', id: 2, v: 'a2-updated', updated_at: 2 }),
        r({
          org: 'b',
          id: 1,
          v: 'b1-deleted',
          updated_at: 2,
          _ab_cdc_deleted_at: '2024-01-01T00:00:00Z',
        }),
        r({ org: 'a', id: 3, v: 'a3-resent', updated_at: 1 }), // same cursor, same extraction: the later load wins
        r({
          org: 'a',
          id: 9,
          v: 'a9-deleted-first',
          updated_at: 2,
          _ab_cdc_deleted_at: '2024-01-01T00:00:00Z',
        }),
        r({ org: 'a', id: 9, v: 'a9-before-delete', updated_at: 1 }), // late record older than its delete
        r({ org: 'c', id: 1, v: 'c1', updated_at: null }),
        status('accounts', 'COMPLETE'),
      ),
    );
    expect(second.code, second.stderr).toBe(0);
    expect(await rowsOf(path)).toEqual([
      { org: 'a', id: '1', v: 'a1-new', updated_at: '5' },
      { org: 'a', id: '2', v: 'a2-updated', updated_at: '2' },
      { org: 'a', id: '3', v: 'a3-resent', updated_at: '1' },
      { org: 'a', id: '4', v: 'a4-later-extraction', updated_at: '2' },
      { org: 'c', id: '1', v: 'c1', updated_at: null },
    ]);
    expect(await tables(path)).toEqual(['main.accounts']);
  });

  it('stages records of an INCOMPLETE sync and merges them with the next COMPLETE one', async () => {
    const path = tempDb();
    const r = (data: Record<string, unknown>) => recordAt('accounts', data, 1_700_000_000_000);
    await sync(
      { path },
      streams,
      lines(r({ org: 'a', id: 1, v: 'v1', updated_at: 1 }), status('accounts', 'COMPLETE')),
    );
    const incomplete = await sync(
      { path },
      streams,
      lines(
        r({ org: 'a', id: 1, v: 'v2', updated_at: 2 }),
        r({ org: 'a', id: 2, v: 'new', updated_at: 1 }),
        streamState('accounts', { cursor: 2 }),
        status('accounts', 'INCOMPLETE'),
      ),
    );
    expect(incomplete.code).toBe(1);
    expect(states(incomplete.messages)).toHaveLength(1);
    // not finalized: the table is as it was, the committed records wait in the staging table
    expect(await rowsOf(path)).toEqual([{ org: 'a', id: '1', v: 'v1', updated_at: '1' }]);
    expect(await tables(path)).toEqual(['main.accounts', 'main.accounts_destkit_stage']);
    expect(await query(path, 'SELECT count(*)::INT AS n FROM accounts_destkit_stage')).toEqual([
      { n: 2 },
    ]);

    const complete = await sync(
      { path },
      streams,
      lines(r({ org: 'a', id: 3, v: 'v3', updated_at: 1 }), status('accounts', 'COMPLETE')),
    );
    expect(complete.code, complete.stderr).toBe(0);
    expect(await rowsOf(path)).toEqual([
      { org: 'a', id: '1', v: 'v2', updated_at: '2' },
      { org: 'a', id: '2', v: 'new', updated_at: '1' },
      { org: 'a', id: '3', v: 'v3', updated_at: '1' },
    ]);
    expect(await tables(path)).toEqual(['main.accounts']);
  });

  it('dedups on a nested key path inside a JSON column, and without a cursor by extraction', async () => {
    const path = tempDb();
    const nested: StreamSpec[] = [
      {
        name: 'events',
        mode: 'append_dedup',
        pk: [['key', 'id']],
        properties: {
          key: { type: 'object', properties: { id: { type: 'integer' } } },
          v: { type: 'string' },
        },
      },
    ];
    const result = await sync(
      { path },
      nested,
      lines(
        recordAt('events', { key: { id: 1, extra: 'x' }, v: 'first' }, 1),
        recordAt('events', { key: { id: 1, extra: 'y' }, v: 'second' }, 2),
        recordAt('events', { key: { id: 2 }, v: 'other' }, 1),
        status('events', 'COMPLETE'),
      ),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await query(path, 'SELECT v FROM events ORDER BY v')).toEqual([
      { v: 'other' },
      { v: 'second' },
    ]);
  });
});

describe('duckdb write, truncate refresh', { timeout: 120_000 }, () => {
  const refresh = (gen: number): StreamSpec[] => [
    { name: 'users', namespace: 'public', gen, minGen: gen, properties: { v: { type: 'string' } } },
  ];
  const values = async (path: string, table = 'public.users') =>
    (await query(path, `SELECT v FROM ${table} ORDER BY v`)).map((r) => r.v);

  it('keeps the old table until a COMPLETE attempt of the same generation, which resumes', async () => {
    const path = tempDb();
    const initial = await sync(
      { path },
      refresh(1),
      lines(
        record('users', { v: 'old-1' }, 'public'),
        record('users', { v: 'old-2' }, 'public'),
        status('users', 'COMPLETE', 'public'),
      ),
    );
    expect(initial.code, initial.stderr).toBe(0);
    expect(await values(path)).toEqual(['old-1', 'old-2']);
    expect(await tables(path)).toEqual(['public.users']);

    // attempt 1 of generation 2: INCOMPLETE
    const incomplete = await sync(
      { path },
      refresh(2),
      lines(
        record('users', { v: 'new-1' }, 'public'),
        streamState('users', { c: 1 }, {}, 'public'),
        status('users', 'INCOMPLETE', 'public'),
      ),
    );
    expect(incomplete.code).toBe(1);
    expect(states(incomplete.messages)).toHaveLength(1);
    expect(errors(incomplete.messages)[0]?.trace.error.failure_type).toBe('transient_error');
    expect(await values(path)).toEqual(['old-1', 'old-2']);
    expect(await values(path, 'public.users_destkit_tmp')).toEqual(['new-1']);

    // attempt 2: input ends without a terminal status
    const cut = await sync(
      { path },
      refresh(2),
      lines(
        record('users', { v: 'new-2' }, 'public'),
        streamState('users', { c: 2 }, {}, 'public'),
      ),
    );
    expect(cut.code).toBe(1);
    expect(states(cut.messages)).toHaveLength(1);
    expect(errors(cut.messages)[0]?.trace.error.message).toContain(
      'did not receive a terminal stream status',
    );
    expect(await values(path)).toEqual(['old-1', 'old-2']);
    expect(await values(path, 'public.users_destkit_tmp')).toEqual(['new-1', 'new-2']);

    // attempt 3: COMPLETE swaps in everything of generation 2; generation 1 is gone
    const done = await sync(
      { path },
      refresh(2),
      lines(record('users', { v: 'new-3' }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    expect(done.code, done.stderr).toBe(0);
    expect(await values(path)).toEqual(['new-1', 'new-2', 'new-3']);
    expect(
      await query(path, 'SELECT DISTINCT _airbyte_generation_id AS g FROM public.users'),
    ).toEqual([{ g: '2' }]);
    expect(await tables(path)).toEqual(['public.users']);
    const comments = await query(
      path,
      "SELECT comment FROM duckdb_tables() WHERE table_name = 'users'",
    );
    expect(comments).toEqual([{ comment: null }]);
  });

  it('keeps the old table when the sync fails mid-stream', async () => {
    const path = tempDb();
    await sync(
      { path },
      refresh(1),
      lines(record('users', { v: 'old' }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    const failed = await sync(
      { path },
      refresh(2),
      lines(
        record('users', { v: 'new' }, 'public'),
        streamState('users', {}, {}, 'public'),
        '{"type":"RECORD", oops',
      ),
    );
    expect(failed.code).toBe(1);
    expect(errors(failed.messages)[0]?.trace.error.message).toContain('input line 3');
    expect(await values(path)).toEqual(['old']);
  });

  it('drops a temp table of an older generation instead of resuming it', async () => {
    const path = tempDb();
    await sync(
      { path },
      refresh(2),
      lines(record('users', { v: 'gen-2' }, 'public'), status('users', 'INCOMPLETE', 'public')),
    );
    expect(await values(path, 'public.users_destkit_tmp')).toEqual(['gen-2']);
    const result = await sync(
      { path },
      refresh(3),
      lines(record('users', { v: 'gen-3' }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await values(path)).toEqual(['gen-3']);
    expect(await tables(path)).toEqual(['public.users']);
  });

  it('empties the table when a COMPLETE truncate has no records', async () => {
    const path = tempDb();
    await sync(
      { path },
      refresh(1),
      lines(record('users', { v: 'x' }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    const result = await sync({ path }, refresh(2), lines(status('users', 'COMPLETE', 'public')));
    expect(result.code, result.stderr).toBe(0);
    expect(await values(path)).toEqual([]);
    expect(await tables(path)).toEqual(['public.users']);
  });

  it('replaces the table for the legacy overwrite mode, and dedups an overwrite+dedup refresh', async () => {
    const path = tempDb();
    for (const v of ['1', '2']) {
      const result = await sync(
        { path },
        [{ name: 'users', mode: 'overwrite', properties: { v: { type: 'string' } } }],
        lines(record('users', { v }), status('users', 'COMPLETE')),
      );
      expect(result.code, result.stderr).toBe(0);
    }
    expect(await values(path, 'users')).toEqual(['2']);

    const dedup = (gen: number): StreamSpec[] => [
      {
        name: 'kv',
        mode: 'append_dedup',
        pk: [['k']],
        gen,
        minGen: gen,
        properties: { k: { type: 'integer' }, v: { type: 'string' } },
      },
    ];
    await sync(
      { path },
      dedup(1),
      lines(
        record('kv', { k: 1, v: 'old' }),
        record('kv', { k: 2, v: 'gone' }),
        status('kv', 'COMPLETE'),
      ),
    );
    const result = await sync(
      { path },
      dedup(2),
      lines(
        recordAt('kv', { k: 1, v: 'a' }, 1),
        recordAt('kv', { k: 1, v: 'b' }, 2),
        status('kv', 'COMPLETE'),
      ),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await query(path, 'SELECT k, v FROM kv')).toEqual([{ k: '1', v: 'b' }]);
    expect(await tables(path)).toEqual(['main.kv', 'main.users']);
  });
});
