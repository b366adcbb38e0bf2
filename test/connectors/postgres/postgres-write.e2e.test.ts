/**
 * `write` of the PostgreSQL connector against a real server started by this file: append,
 * dedup, truncate refreshes, schema evolution, types, names, empty and many streams, states.
 * Every test writes to its own schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedPostgresServer,
  startEmbeddedPostgres,
} from '../../helpers/embedded-postgres.js';
import { globalState, record, status, streamState } from '../../helpers/messages.js';
import { lines, runCli, writeJsonFiles } from '../../helpers/run-cli.js';
import {
  columnTypes,
  errors,
  expectSuccess,
  FAST_RETRIES,
  type Message,
  pgCatalog,
  pgConfig,
  pgSync,
  type StreamSpec,
  states,
  tableRef,
  tablesOf,
} from './postgres-harness.js';

let server: EmbeddedPostgresServer;

beforeAll(async () => {
  server = await startEmbeddedPostgres();
});

afterAll(async () => {
  await server?.stop();
});

function rec(
  stream: string,
  data: Record<string, unknown>,
  namespace?: string,
  emittedAt?: number,
) {
  const message = record(stream, data, namespace);
  if (emittedAt !== undefined) message.record.emitted_at = emittedAt;
  return message;
}

async function rows(schema: string, table: string, columns: string, order = '1') {
  return server.query(`SELECT ${columns} FROM ${tableRef(schema, table)} ORDER BY ${order}`);
}

describe('postgres write, append', () => {
  it('appends across two syncs with meta columns, and keeps source changes', async () => {
    const config = pgConfig(server, { schema: 'append_two' });
    const streams: StreamSpec[] = [
      { name: 'users', properties: { id: { type: 'integer' }, name: { type: 'string' } }, gen: 3 },
    ];
    const change = { field: 'name', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' };
    const first = await pgSync(
      config,
      streams,
      lines(
        rec('users', { id: 1, name: 'ann' }),
        {
          type: 'RECORD',
          record: {
            stream: 'users',
            data: { id: 2, name: 'bo' },
            emitted_at: 1,
            meta: { changes: [change] },
          },
        },
        streamState('users', { cursor: 2 }),
        status('users', 'COMPLETE'),
      ),
    );
    expectSuccess(first);
    const second = await pgSync(
      config,
      streams,
      lines(
        rec('users', { id: 3, name: 'cy' }),
        rec('users', { id: 1, name: 'ann' }),
        status('users', 'COMPLETE'),
      ),
    );
    expectSuccess(second);
    const got = await rows(
      'append_two',
      'users',
      `id, name, _airbyte_generation_id AS gen, _airbyte_extracted_at::text AS at, _airbyte_meta AS meta, _airbyte_raw_id::text AS raw`,
      'id, _airbyte_extracted_at',
    );
    expect(got.map((r) => [r.id, r.name])).toEqual([
      ['1', 'ann'],
      ['1', 'ann'],
      ['2', 'bo'],
      ['3', 'cy'],
    ]);
    expect(got.every((r) => r.gen === '3')).toBe(true);
    expect(got[2]).toMatchObject({
      at: '1970-01-01 00:00:00.001+00',
      meta: { sync_id: 103, changes: [change] },
    });
    expect(got[0]).toMatchObject({
      at: '2023-11-14 22:13:20+00',
      meta: { sync_id: 103, changes: [] },
    });
    expect(new Set(got.map((r) => r.raw)).size).toBe(4);
    expect(await columnTypes(server, 'append_two', 'users')).toEqual({
      _airbyte_raw_id: 'uuid',
      _airbyte_extracted_at: 'timestamp with time zone',
      _airbyte_meta: 'jsonb',
      _airbyte_generation_id: 'bigint',
      id: 'bigint',
      name: 'text',
    });
    expect(await tablesOf(server, 'append_two')).toEqual(['users']);
  });

  it('creates the tables of empty streams, and writes a namespace to its own schema', async () => {
    const config = pgConfig(server, { schema: 'empty_default' });
    const result = await pgSync(
      config,
      [
        { name: 'nothing' },
        { name: 'refreshed', gen: 1, minGen: 1 },
        { name: 'deduped', mode: 'append_dedup', pk: [['id']] },
        { name: 'elsewhere', namespace: 'empty_ns' },
      ],
      lines(
        status('nothing', 'COMPLETE'),
        status('refreshed', 'COMPLETE'),
        status('deduped', 'COMPLETE'),
        rec('elsewhere', { id: 1 }, 'empty_ns'),
        status('elsewhere', 'COMPLETE', 'empty_ns'),
      ),
    );
    expectSuccess(result);
    expect(await tablesOf(server, 'empty_default')).toEqual(['deduped', 'nothing', 'refreshed']);
    expect(await tablesOf(server, 'empty_ns')).toEqual(['elsewhere']);
    for (const table of ['nothing', 'refreshed', 'deduped']) {
      expect(await rows('empty_default', table, 'count(*)::int AS n')).toEqual([{ n: 0 }]);
    }
    expect(await rows('empty_ns', 'elsewhere', 'id')).toEqual([{ id: '1' }]);
  });
});

describe('postgres write, append_dedup', () => {
  const properties = {
    org: { type: 'string' },
    id: { type: 'integer' },
    updated_at: { type: 'string', format: 'date-time' },
    v: { type: 'string' },
    _ab_cdc_deleted_at: { type: ['null', 'string'], format: 'date-time' },
  };
  const streams: StreamSpec[] = [
    {
      name: 'items',
      mode: 'append_dedup',
      pk: [['org'], ['id']],
      cursor: ['updated_at'],
      properties,
    },
  ];
  /** A primary key inside a JSON column: `org.id`. */
  const nested: StreamSpec = {
    name: 'nested',
    mode: 'append_dedup',
    pk: [['org', 'id']],
    cursor: ['ts'],
    properties: {
      org: { type: 'object', properties: { id: { type: 'integer' } } },
      v: { type: 'string' },
      ts: { type: 'integer' },
    },
  };
  const item = (
    org: string,
    id: number,
    day: number,
    v: string,
    extra: Record<string, unknown> = {},
    at?: number,
  ) =>
    rec(
      'items',
      { org, id, updated_at: `2024-01-${String(day).padStart(2, '0')}T00:00:00Z`, v, ...extra },
      undefined,
      at,
    );

  it('keeps the newest row per composite key across syncs, and applies CDC deletes', async () => {
    const config = pgConfig(server, { schema: 'dedup' });
    const both = [...streams, nested];
    const first = await pgSync(
      config,
      both,
      lines(
        rec('nested', { org: { id: 1, name: 'x' }, v: 'n1-old', ts: 1 }),
        rec('nested', { org: { id: 1, name: 'y' }, v: 'n1-new', ts: 2 }),
        rec('nested', { org: { id: 2 }, v: 'n2', ts: 1 }),
        status('nested', 'COMPLETE'),
        item('a', 1, 1, 'a1-old'),
        item('a', 1, 3, 'a1-new'),
        item('a', 1, 2, 'a1-mid'),
        item('b', 1, 1, 'b1'),
        item('a', 2, 1, 'a2'),
        item('a', 3, 5, 'a3'),
        rec('items', { org: 'c', id: 1, v: 'no cursor' }),
        streamState('items', { n: 1 }),
        status('items', 'COMPLETE'),
      ),
    );
    expectSuccess(first);
    const view = () => rows('dedup', 'items', `org, id, v`, 'org, id');
    expect(await view()).toEqual([
      { org: 'a', id: '1', v: 'a1-new' },
      { org: 'a', id: '2', v: 'a2' },
      { org: 'a', id: '3', v: 'a3' },
      { org: 'b', id: '1', v: 'b1' },
      { org: 'c', id: '1', v: 'no cursor' },
    ]);
    const nestedView = () => rows('dedup', 'nested', `org, v`, "org->>'id'");
    expect(await nestedView()).toEqual([
      { org: { id: 1, name: 'y' }, v: 'n1-new' },
      { org: { id: 2 }, v: 'n2' },
    ]);
    const second = await pgSync(
      config,
      both,
      lines(
        rec('nested', { org: { id: 2, name: 'z' }, v: 'n2-new', ts: 2 }),
        status('nested', 'COMPLETE'),
        item('a', 1, 2, 'a1-late'), // an older cursor never wins
        item('a', 2, 4, 'a2-updated'),
        item('b', 1, 1, 'b1-same-cursor-later', {}, 1_800_000_000_000), // ties: later extracted_at wins
        item('a', 3, 6, 'a3-deleted', { _ab_cdc_deleted_at: '2024-01-06T00:00:00Z' }),
        item('b', 9, 1, 'b9-born-deleted', { _ab_cdc_deleted_at: '2024-01-01T00:00:00Z' }),
        rec('items', {
          org: 'c',
          id: 1,
          updated_at: '2024-01-01T00:00:00Z',
          v: 'cursor beats null',
        }),
        item('d', 1, 1, 'd1'),
        status('items', 'COMPLETE'),
      ),
    );
    expectSuccess(second);
    expect(await view()).toEqual([
      { org: 'a', id: '1', v: 'a1-new' },
      { org: 'a', id: '2', v: 'a2-updated' },
      { org: 'b', id: '1', v: 'b1-same-cursor-later' },
      { org: 'c', id: '1', v: 'cursor beats null' },
      { org: 'd', id: '1', v: 'd1' },
    ]);
    expect(await nestedView()).toEqual([
      { org: { id: 1, name: 'y' }, v: 'n1-new' },
      { org: { id: 2, name: 'z' }, v: 'n2-new' },
    ]);
    expect(await tablesOf(server, 'dedup')).toEqual(['items', 'nested']);
    const indexes = await server.query<{ table: string; def: string }>(
      "SELECT tablename AS table, indexdef AS def FROM pg_indexes WHERE schemaname = 'dedup' ORDER BY 1",
    );
    expect(indexes).toHaveLength(2);
    expect(indexes[0]!.def).toContain('(org, id)');
    expect(indexes[1]!.def).toContain("(org #> ARRAY['id'::text])");
  });

  it('keeps staged rows of an incomplete sync and merges them at the next COMPLETE', async () => {
    const config = pgConfig(server, { schema: 'dedup_resume' });
    const incomplete = await pgSync(
      config,
      streams,
      lines(
        item('a', 1, 1, 'first'),
        streamState('items', { n: 1 }),
        status('items', 'INCOMPLETE'),
      ),
    );
    expect(incomplete.code).toBe(1);
    expect(states(incomplete.messages)).toHaveLength(1);
    expect(await rows('dedup_resume', 'items', 'count(*)::int AS n')).toEqual([{ n: 0 }]);
    const done = await pgSync(
      config,
      streams,
      lines(item('a', 2, 1, 'second'), status('items', 'COMPLETE')),
    );
    expectSuccess(done);
    expect(await rows('dedup_resume', 'items', 'id, v', 'id')).toEqual([
      { id: '1', v: 'first' },
      { id: '2', v: 'second' },
    ]);
    expect(await tablesOf(server, 'dedup_resume')).toEqual(['items']);
  });
});

describe('postgres write, truncate refresh', () => {
  const refresh = (gen: number, mode: StreamSpec['mode'] = 'append'): StreamSpec[] => [
    {
      name: 'users',
      namespace: 'refresh',
      gen,
      minGen: gen,
      mode,
      pk: [['id']],
      properties: { id: { type: 'integer' }, v: { type: 'string' } },
    },
  ];
  const user = (id: number, v: string) => rec('users', { id, v }, 'refresh');
  const view = () => rows('refresh', 'users', 'id, v, _airbyte_generation_id AS gen', 'id, v');

  it('keeps the old data visible until a COMPLETE attempt of the same generation, which resumes', async () => {
    const config = pgConfig(server);
    expectSuccess(
      await pgSync(
        config,
        refresh(1),
        lines(user(1, 'old-1'), user(2, 'old-2'), status('users', 'COMPLETE', 'refresh')),
      ),
    );
    const old = [
      { id: '1', v: 'old-1', gen: '1' },
      { id: '2', v: 'old-2', gen: '1' },
    ];
    expect(await view()).toEqual(old);

    const incomplete = await pgSync(
      config,
      refresh(2),
      lines(
        user(3, 'new-1'),
        streamState('users', { c: 1 }, {}, 'refresh'),
        status('users', 'INCOMPLETE', 'refresh'),
      ),
    );
    expect(incomplete.code).toBe(1);
    expect(states(incomplete.messages)).toHaveLength(1);
    expect(await view()).toEqual(old);

    const cut = await pgSync(
      config,
      refresh(2),
      lines(
        user(4, 'new-2'),
        streamState('users', { c: 2 }, {}, 'refresh'),
        '{"type":"RECORD", broken',
      ),
    );
    expect(cut.code).toBe(1);
    expect(await view()).toEqual(old);

    const done = await pgSync(
      config,
      refresh(2),
      lines(user(5, 'new-3'), status('users', 'COMPLETE', 'refresh')),
    );
    expectSuccess(done);
    const got = await view();
    expect(got.map((r) => r.v)).toEqual(
      states(cut.messages).length > 0 ? ['new-1', 'new-2', 'new-3'] : ['new-1', 'new-3'],
    );
    expect(got.every((r) => r.gen === '2')).toBe(true);
    expect(await tablesOf(server, 'refresh')).toEqual(['users']);

    // An unfinished refresh of generation 3 is dropped by generation 4; dedup happens before the swap.
    const abandoned = await pgSync(
      config,
      refresh(3),
      lines(user(6, 'gen-3'), status('users', 'INCOMPLETE', 'refresh')),
    );
    expect(abandoned.code).toBe(1);
    expect((await tablesOf(server, 'refresh')).length).toBe(2);
    const dedup = await pgSync(
      config,
      refresh(4, 'append_dedup'),
      lines(
        user(7, 'gen-4 old'),
        rec('users', { id: 7, v: 'gen-4 new' }, 'refresh', 1_800_000_000_000),
        user(8, 'gen-4'),
        status('users', 'COMPLETE', 'refresh'),
      ),
    );
    expectSuccess(dedup);
    expect(await view()).toEqual([
      { id: '7', v: 'gen-4 new', gen: '4' },
      { id: '8', v: 'gen-4', gen: '4' },
    ]);
    expect(await tablesOf(server, 'refresh')).toEqual(['users']);
  });

  it('replaces the table for the legacy overwrite mode', async () => {
    const config = pgConfig(server, { schema: 'overwrite' });
    for (const v of ['first', 'second']) {
      expectSuccess(
        await pgSync(
          config,
          [{ name: 't', mode: 'overwrite', properties: { v: { type: 'string' } } }],
          lines(rec('t', { v }), status('t', 'COMPLETE')),
        ),
      );
    }
    expect(await rows('overwrite', 't', 'v, _airbyte_generation_id AS gen')).toEqual([
      { v: 'second', gen: null },
    ]);
  });
});

describe('postgres write, schema evolution', () => {
  it('adds columns, widens types without losing values, and keeps dropped columns', async () => {
    const config = pgConfig(server, { schema: 'evolve' });
    const v1 = {
      id: { type: 'integer' },
      amount: { type: 'integer' },
      flag: { type: 'boolean' },
      label: { type: 'string' },
      gone: { type: 'string' },
      day: { type: 'string', format: 'date' },
    };
    expectSuccess(
      await pgSync(
        config,
        [{ name: 't', properties: v1 }],
        lines(
          rec('t', { id: 1, amount: 10, flag: true, label: 'x', gone: 'kept', day: '2024-02-29' }),
          status('t', 'COMPLETE'),
        ),
      ),
    );
    const v2 = {
      id: { type: 'integer' },
      amount: { type: 'number' }, // bigint → numeric
      flag: { type: 'integer' }, // boolean + bigint → text
      label: { type: 'integer' }, // text takes integers as they are
      day: { type: 'object', properties: { d: { type: 'string' } } }, // date → jsonb
      added: { type: 'string', format: 'date-time' },
    };
    expectSuccess(
      await pgSync(
        config,
        [{ name: 't', properties: v2 }],
        lines(
          rec('t', {
            id: 2,
            amount: 2.5,
            flag: 7,
            label: 42,
            day: { d: 'x' },
            added: '2024-01-01T10:00:00+02:00',
          }),
          status('t', 'COMPLETE'),
        ),
      ),
    );
    expect(await columnTypes(server, 'evolve', 't')).toMatchObject({
      id: 'bigint',
      amount: 'numeric',
      flag: 'text',
      label: 'text',
      gone: 'text',
      day: 'jsonb',
      added: 'timestamp with time zone',
    });
    expect(
      await rows(
        'evolve',
        't',
        'id, amount::text AS amount, flag, label, gone, day, added::text AS added',
        'id',
      ),
    ).toEqual([
      {
        id: '1',
        amount: '10',
        flag: 'true',
        label: 'x',
        gone: 'kept',
        day: '2024-02-29',
        added: null,
      },
      {
        id: '2',
        amount: '2.5',
        flag: '7',
        label: '42',
        gone: null,
        day: { d: 'x' },
        added: '2024-01-01 08:00:00+00',
      },
    ]);
  });
});

describe('postgres write, types', () => {
  it('writes every scalar type, nulls invalid values and records why', async () => {
    const properties = {
      s: { type: 'string' },
      b: { type: 'boolean' },
      i: { type: 'integer' },
      n: { type: 'number' },
      d: { type: 'string', format: 'date' },
      tstz: { type: 'string', format: 'date-time' },
      ts: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
      ttz: { type: 'string', format: 'time' },
      t: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
      o: { type: 'object', properties: { a: { type: 'integer' } } },
      a: { type: 'array', items: { type: 'string' } },
      u: { type: ['string', 'integer'] },
      any: {},
    };
    const good = {
      s: 'tab\there\nnew "line" \\ back\\slash \\N ünï 🚀',
      b: false,
      i: 9_007_199_254_740_991,
      n: 12345.678901,
      d: '0044-03-15 BC',
      tstz: '2024-06-01T12:34:56.123456789+05:30',
      ts: '2024-06-01T12:34:56.5',
      ttz: '23:59:59.999999-08:00',
      t: '00:00:01',
      o: { a: 1, nested: ['x', { deep: null }] },
      a: ['x', 'y\u2028'],
      u: 5,
      any: 'a plain string',
    };
    const bad = {
      s: 'nul \u0000 inside',
      b: 'true',
      i: 1.5,
      n: '12',
      d: '2023-02-29',
      tstz: '1700000000',
      ts: 'yesterday',
      ttz: '25:00:00',
      t: '12:60',
      o: [1],
      a: { not: 'an array' },
      u: { text: 'lone \ud800 surrogate' },
      any: 'nul \u0000 in json',
    };
    const config = pgConfig(server, { schema: 'types' });
    const result = await pgSync(
      config,
      [{ name: 't', properties: { id: { type: 'integer' }, ...properties } }],
      lines(
        rec('t', { id: 1, ...good }),
        rec('t', { id: 2, ...bad }),
        rec('t', { id: 3 }),
        rec('t', {
          id: 4,
          ttz: '01:02:03Z',
          tstz: '0044-03-15T12:00:00+01:00 BC',
          ts: '0001-01-01 00:00:00 BC',
          n: -1e-7,
          i: -(2 ** 63), // exactly INT64_MIN as a double
        }),
        status('t', 'COMPLETE'),
      ),
    );
    expectSuccess(result);
    expect(await columnTypes(server, 'types', 't')).toMatchObject({
      s: 'text',
      b: 'boolean',
      i: 'bigint',
      n: 'numeric',
      d: 'date',
      tstz: 'timestamp with time zone',
      ts: 'timestamp without time zone',
      ttz: 'time with time zone',
      t: 'time without time zone',
      o: 'jsonb',
      a: 'jsonb',
      u: 'jsonb',
      any: 'jsonb',
    });
    const got = await rows(
      'types',
      't',
      'id, s, b, i::text AS i, n::text AS n, d::text AS d, tstz::text AS tstz, ts::text AS ts, ttz::text AS ttz, t::text AS t, o, a, u, "any", _airbyte_meta AS meta',
      'id',
    );
    expect(got[0]).toEqual({
      id: '1',
      s: good.s,
      b: false,
      i: '9007199254740991',
      n: '12345.678901',
      d: '0044-03-15 BC',
      tstz: '2024-06-01 07:04:56.123456+00',
      ts: '2024-06-01 12:34:56.5',
      ttz: '23:59:59.999999-08',
      t: '00:00:01',
      o: good.o,
      a: good.a,
      u: 5,
      any: 'a plain string',
      meta: { sync_id: null, changes: [] },
    });
    const { meta, id, ...values } = got[1] as Record<string, any>;
    expect(id).toBe('2');
    expect(Object.values(values).every((v) => v === null)).toBe(true);
    // Coercion failures come in column order, then values PostgreSQL cannot store (NUL, lone surrogate).
    expect(meta.changes).toEqual(
      [...Object.keys(bad).filter((f) => !['s', 'u', 'any'].includes(f)), 's', 'u', 'any'].map(
        (field) => ({
          field,
          change: 'NULLED',
          reason: 'DESTINATION_SERIALIZATION_ERROR',
        }),
      ),
    );
    expect(got[2]).toMatchObject({ id: '3', s: null, meta: { changes: [] } });
    expect(got[3]).toMatchObject({
      id: '4',
      ttz: '01:02:03+00',
      tstz: '0044-03-15 11:00:00+00 BC',
      ts: '0001-01-01 00:00:00 BC',
      n: '-0.0000001',
      i: '-9223372036854775808',
      meta: { changes: [] },
    });
  });
});

describe('postgres write, hostile names', () => {
  it('loads streams, namespaces and columns with any name into distinct quoted identifiers', async () => {
    const long = 'x'.repeat(100);
    const columnNames = [
      'plain',
      'Plain',
      'with "quotes"',
      "it's; DROP TABLE t; --",
      'ünïcødé 🚀',
      `${long}a`,
      `${long}b`,
      '_airbyte_raw_id',
      'nul\u0000name',
      '',
    ];
    const properties = Object.fromEntries(columnNames.map((n) => [n, { type: 'string' }]));
    const streams: StreamSpec[] = [
      { name: 'Robert"); DROP TABLE students;--', namespace: 'hostile', properties },
      { name: `${long}1`, namespace: 'hostile', properties },
      { name: `${long}2`, namespace: 'hostile', properties },
      { name: 'users', namespace: 'pg_catalog', properties },
      { name: 'users', namespace: 'pg_temp', properties },
      { name: 'users', namespace: 'ScHeMa "x"', properties },
    ];
    const data = Object.fromEntries(columnNames.map((n) => [n, `value of ${n}`]));
    const input = lines(
      ...streams.map((s) => rec(s.name, data, s.namespace)),
      ...streams.map((s) => streamState(s.name, { done: true }, {}, s.namespace)),
      ...streams.map((s) => status(s.name, 'COMPLETE', s.namespace)),
    );
    const result = await pgSync(pgConfig(server), streams, input);
    expectSuccess(result);
    expect(states(result.messages)).toHaveLength(streams.length);
    const tables = await server.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND n.nspname IN ('hostile', '_pg_catalog', '_pg_temp', 'ScHeMa "x"') ORDER BY 1, 2`,
    );
    expect(tables).toHaveLength(streams.length);
    for (const { schema, table } of tables) {
      expect(Buffer.byteLength(table)).toBeLessThanOrEqual(63);
      const columns = Object.keys(await columnTypes(server, schema, table));
      expect(columns).toHaveLength(4 + columnNames.length);
      expect(columns).toContain('with "quotes"');
      expect(columns).toContain('_airbyte_raw_id_1');
      const [row] = await server.query<Record<string, string>>(
        `SELECT * FROM ${tableRef(schema, table)}`,
      );
      expect(row!['with "quotes"']).toBe('value of with "quotes"');
      expect(row!["it's; DROP TABLE t; --"]).toBe("value of it's; DROP TABLE t; --");
      expect(row!._airbyte_raw_id_1).toBe('value of _airbyte_raw_id');
      // The value holds a NUL (text cannot): nulled, and the change names the field with the
      // NUL replaced, since _airbyte_meta is jsonb.
      expect(row!.nul_name).toBeNull();
      expect((row as any)._airbyte_meta.changes).toEqual([
        { field: 'nul\uFFFDname', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
      ]);
    }
  });
});

describe('postgres write, many streams and states', () => {
  it('writes 60 streams and echoes STREAM states once, in order, with counts', async () => {
    const streams: StreamSpec[] = Array.from({ length: 60 }, (_, i) => ({
      name: `s${i}`,
      namespace: `many${i % 3}`,
    }));
    const input = lines(
      ...streams.flatMap((s) => [1, 2].map((id) => rec(s.name, { id }, s.namespace))),
      ...streams.map((s) => streamState(s.name, { s: s.name, n: 1 }, {}, s.namespace)),
      ...streams.map((s) => rec(s.name, { id: 3 }, s.namespace)),
      ...streams.map((s) => streamState(s.name, { s: s.name, n: 2 }, {}, s.namespace)),
      ...streams.map((s) => status(s.name, 'COMPLETE', s.namespace)),
    );
    const result = await pgSync(pgConfig(server), streams, input);
    expectSuccess(result);
    const echoed = states(result.messages);
    expect(echoed).toHaveLength(120);
    for (const s of streams) {
      const own = echoed.filter((m) => m.state.stream.stream_state.s === s.name);
      expect(
        own.map((m) => [m.state.stream.stream_state.n, m.state.destinationStats.recordCount]),
      ).toEqual([
        [1, 2],
        [2, 1],
      ]);
    }
    const counts = await server.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (${streams.map((s) => `SELECT id FROM ${tableRef(s.namespace!, s.name)}`).join(' UNION ALL ')}) x`,
    );
    expect(counts).toEqual([{ n: 180 }]);
  });

  it('echoes GLOBAL states once, in order, and a state only after its records are committed', async () => {
    const config = pgConfig(server, { schema: 'echo', destkit: { batch_size_bytes: 1 } });
    const f = writeJsonFiles({
      'config.json': config,
      'catalog.json': pgCatalog([{ name: 'a' }, { name: 'b' }]),
    });
    const seenAtEcho: number[] = [];
    const result = await runCli(
      ['postgres', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        env: FAST_RETRIES,
        keepStdinOpen: true,
        onStart: (child) => {
          child.stdin!.write(
            lines(
              rec('a', { id: 1 }),
              rec('b', { id: 1 }),
              globalState({ lsn: 1 }, ['a', 'b'], { id: 1 }),
            ),
          );
          let buffered = '';
          child.stdout!.on('data', (chunk: string) => {
            buffered += chunk;
            if (seenAtEcho.length === 0 && buffered.includes('"type":"STATE"')) {
              seenAtEcho.push(-1);
              void server
                .query<{ n: number }>(
                  `SELECT (SELECT count(*) FROM echo.a)::int + (SELECT count(*) FROM echo.b)::int AS n`,
                )
                .then(([row]) => {
                  seenAtEcho[0] = row!.n;
                  child.stdin!.end(
                    lines(
                      rec('b', { id: 2 }),
                      globalState({ lsn: 2 }, ['a', 'b'], { id: 2 }),
                      status('a', 'COMPLETE'),
                      status('b', 'COMPLETE'),
                    ),
                  );
                });
            }
          });
        },
      },
    );
    expect(result.code).toBe(0);
    expect(seenAtEcho).toEqual([2]);
    const messages = (await import('../../helpers/protocol-schema.js')).parseProtocolOutput(
      result.stdout,
    ) as Message[];
    expect(
      states(messages).map((m) => [
        m.state.global.shared_state.lsn,
        m.state.destinationStats.recordCount,
        m.id,
      ]),
    ).toEqual([
      [1, 2, 1],
      [2, 1, 2],
    ]);
    expect(errors(messages)).toEqual([]);
  });
});
