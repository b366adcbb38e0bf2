/**
 * The DuckDB connector's typing, schema evolution and names, as a spawned process against real
 * database files; every assertion queries the file. Run `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { placeStreams } from '../../../connectors/destination-duckdb/duckdb-writer.js';
import { makeDestinationStream } from '../../../src/catalog/destination-stream.js';
import { DUCKDB_NAMING } from '../../../src/schema/naming-rules.js';
import { columnsOfSchema } from '../../../src/schema/stream-columns.js';
import { record, status, streamState } from '../../helpers/messages.js';
import { lines } from '../../helpers/run-cli.js';
import { q, query, type StreamSpec, states, sync, tables, tempDb } from './duckdb-helpers.js';

const NULLED = (field: string) => ({
  field,
  change: 'NULLED',
  reason: 'DESTINATION_SERIALIZATION_ERROR',
});

describe('duckdb write, types', { timeout: 120_000 }, () => {
  const properties = {
    s: { type: 'string' },
    b: { type: 'boolean' },
    i: { type: 'integer' },
    n: { type: 'number' },
    d: { type: 'string', format: 'date' },
    tz: { type: 'string', format: 'date-time' },
    ntz: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    ttz: { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' },
    t: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    o: { type: 'object', properties: { a: { type: 'integer' } } },
    a: { type: 'array', items: { type: 'integer' } },
    u: { type: ['string', 'integer'] },
    x: {},
  };
  const select =
    'SELECT k, s, b, i, n, d::VARCHAR AS d, tz::VARCHAR AS tz, ntz::VARCHAR AS ntz, ' +
    'ttz::VARCHAR AS ttz, t::VARCHAR AS t, o, a, u, x, _airbyte_meta FROM typed ORDER BY k';

  it('creates one typed column per property', async () => {
    const path = tempDb();
    const result = await sync(
      { path },
      [{ name: 'typed', properties }],
      lines(status('typed', 'COMPLETE')),
    );
    expect(result.code, result.stderr).toBe(0);
    const types = await query(
      path,
      "SELECT column_name AS c, data_type AS t FROM duckdb_columns() WHERE table_name = 'typed' ORDER BY column_index",
    );
    expect(types.slice(4)).toEqual([
      { c: 's', t: 'VARCHAR' },
      { c: 'b', t: 'BOOLEAN' },
      { c: 'i', t: 'BIGINT' },
      { c: 'n', t: 'DOUBLE' },
      { c: 'd', t: 'DATE' },
      { c: 'tz', t: 'TIMESTAMP WITH TIME ZONE' },
      { c: 'ntz', t: 'TIMESTAMP' },
      { c: 'ttz', t: 'TIME WITH TIME ZONE' },
      { c: 't', t: 'TIME' },
      { c: 'o', t: 'JSON' },
      { c: 'a', t: 'JSON' },
      { c: 'u', t: 'JSON' },
      { c: 'x', t: 'JSON' },
    ]);
  });

  it('stores valid values exactly and nulls invalid ones, recording each in _airbyte_meta', async () => {
    const path = tempDb();
    const withKey = { k: { type: 'integer' }, ...properties };
    const valid = {
      k: 1,
      s: 'text ü 🚀',
      b: true,
      i: -9007199254740991,
      n: 0.1,
      d: '2021-01-23',
      tz: '2022-11-22T01:23:45.123456+02:00',
      ntz: '2022-11-22T01:23:45.5',
      ttz: '01:23:45+05:30',
      t: '01:23:45.678',
      o: { a: 1, extra: [true] },
      a: [1, 2],
      u: 'x',
      x: { any: 'thing' },
    };
    const edge = {
      k: 2,
      s: 12,
      b: false,
      i: 2 ** 63, // what JSON.parse makes of 9223372036854775807: INT64_MAX
      n: -1e300,
      d: '0044-03-15 BC',
      tz: '2022-11-22 01:23:45',
      ntz: '2022-11-22T01:23:45+05:00',
      ttz: '23:59:59.999999-15:59',
      t: '00:00',
      o: {},
      a: [],
      u: 5,
      x: 'plain',
    };
    const invalid = {
      k: 3,
      s: { a: 1 },
      b: 'true',
      i: 1.5,
      n: '1.5',
      d: '2021-02-30',
      tz: '1700000000',
      ntz: '2022-13-01T00:00:00',
      ttz: '01:00:00+16:00',
      t: '24:00:00',
      o: [1, 2],
      a: { a: 1 },
      u: null,
      x: null,
    };
    const result = await sync(
      { path },
      [{ name: 'typed', properties: withKey }],
      lines(
        record('typed', valid),
        record('typed', edge),
        record('typed', invalid),
        record('typed', { k: 4, i: '1', b: 1, d: '', undeclared: 'dropped' }),
        status('typed', 'COMPLETE'),
      ),
    );
    expect(result.code, result.stderr).toBe(0);
    const rows = await query(path, select);
    expect(rows[0]).toEqual({
      k: '1',
      s: 'text ü 🚀',
      b: true,
      i: '-9007199254740991',
      n: 0.1,
      d: '2021-01-23',
      tz: '2022-11-21 23:23:45.123456+00',
      ntz: '2022-11-22 01:23:45.5',
      ttz: '01:23:45+05:30',
      t: '01:23:45.678',
      o: '{"a":1,"extra":[true]}',
      a: '[1,2]',
      u: '"x"',
      x: '{"any":"thing"}',
      _airbyte_meta: '{"sync_id":null,"changes":[]}',
    });
    expect(rows[1]).toEqual({
      k: '2',
      s: '12',
      b: false,
      i: '9223372036854775807',
      n: -1e300,
      d: '0044-03-15 (BC)',
      tz: '2022-11-22 01:23:45+00',
      ntz: '2022-11-22 01:23:45',
      ttz: '23:59:59.999999-15:59',
      t: '00:00:00',
      o: '{}',
      a: '[]',
      u: '5',
      x: '"plain"',
      _airbyte_meta: '{"sync_id":null,"changes":[]}',
    });
    const { _airbyte_meta: meta3, ...values3 } = rows[2]!;
    expect(values3).toEqual({
      k: '3',
      s: '{"a":1}',
      b: null,
      i: null,
      n: null,
      d: null,
      tz: null,
      ntz: null,
      ttz: null,
      t: null,
      o: null,
      a: null,
      u: null,
      x: null,
    });
    expect(JSON.parse(meta3).changes).toEqual(
      ['b', 'i', 'n', 'd', 'tz', 'ntz', 'ttz', 't', 'o', 'a'].map(NULLED),
    );
    expect(JSON.parse(rows[3]!._airbyte_meta).changes).toEqual(['b', 'i', 'd'].map(NULLED));
    const columns = await query(
      path,
      "SELECT column_name FROM duckdb_columns() WHERE column_name = 'undeclared'",
    );
    expect(columns).toEqual([]);
  });
});

describe('duckdb write, schema evolution', { timeout: 120_000 }, () => {
  it('adds columns, widens types without loss, keeps removed columns and case twins apart', async () => {
    const path = tempDb();
    const v1: StreamSpec = {
      name: 'things',
      properties: {
        id: { type: 'integer' },
        amount: { type: 'integer' },
        flag: { type: 'boolean' },
        big: { type: 'integer' },
        name: { type: 'string' },
        payload: { type: 'string' },
      },
    };
    const first = await sync(
      { path },
      [v1],
      `${JSON.stringify({
        type: 'RECORD',
        record: {
          stream: 'things',
          emitted_at: 1,
          data: { id: 1, amount: 5, flag: true, big: 1, name: 'n1', payload: 'p' },
        },
      }).replace(
        '"big":1',
        '"big":9223372036854775807',
      )}\n${JSON.stringify(status('things', 'COMPLETE'))}\n`,
    );
    expect(first.code, first.stderr).toBe(0);

    const v2: StreamSpec = {
      name: 'things',
      properties: {
        Name: { type: 'string' }, // a case twin of `name`, before it: `name` keeps its column
        id: { type: 'integer' },
        amount: { type: 'number' },
        flag: { type: 'string' },
        big: { type: 'number' },
        name: { type: 'string' },
        payload: { type: 'object' },
        added: { type: 'string', format: 'date' },
      },
    };
    const second = await sync(
      { path },
      [v2],
      lines(
        record('things', {
          Name: 'N2',
          id: 2,
          amount: 2.5,
          flag: 'yes',
          big: 1.5,
          name: 'n2',
          payload: { a: 1 },
          added: '2024-01-01',
        }),
        status('things', 'COMPLETE'),
      ),
    );
    expect(second.code, second.stderr).toBe(0);

    const v3: StreamSpec = {
      name: 'things',
      properties: {
        id: { type: 'integer' },
        amount: { type: 'integer' },
        flag: { type: 'boolean' },
        payload: { type: 'string' },
      },
    };
    const third = await sync(
      { path },
      [v3],
      lines(
        record('things', { id: 3, amount: 7, flag: false, payload: 'q' }),
        status('things', 'COMPLETE'),
      ),
    );
    expect(third.code, third.stderr).toBe(0);

    const types = await query(
      path,
      "SELECT column_name AS c, data_type AS t FROM duckdb_columns() WHERE table_name = 'things' ORDER BY column_index",
    );
    expect(types.slice(4)).toEqual([
      { c: 'id', t: 'BIGINT' },
      { c: 'amount', t: 'DOUBLE' },
      { c: 'flag', t: 'VARCHAR' },
      { c: 'big', t: 'VARCHAR' }, // INT64_MAX has no exact DOUBLE: text keeps it
      { c: 'name', t: 'VARCHAR' },
      { c: 'payload', t: 'JSON' },
      { c: 'Name_1', t: 'VARCHAR' },
      { c: 'added', t: 'DATE' },
    ]);
    expect(
      await query(
        path,
        'SELECT id, amount, flag, big, name, payload, "Name_1" AS twin, added::VARCHAR AS added FROM things ORDER BY id',
      ),
    ).toEqual([
      {
        id: '1',
        amount: 5,
        flag: 'true',
        big: '9223372036854775807',
        name: 'n1',
        payload: '"p"',
        twin: null,
        added: null,
      },
      {
        id: '2',
        amount: 2.5,
        flag: 'yes',
        big: '1.5',
        name: 'n2',
        payload: '{"a":1}',
        twin: 'N2',
        added: '2024-01-01',
      },
      {
        id: '3',
        amount: 7,
        flag: 'false',
        big: null,
        name: null,
        payload: '"q"',
        twin: null,
        added: null,
      },
    ]);
  });

  it('widens BIGINT to DOUBLE in place when every value is exact', async () => {
    const path = tempDb();
    const spec = (type: string): StreamSpec => ({ name: 'm', properties: { v: { type } } });
    await sync(
      { path },
      [spec('integer')],
      lines(record('m', { v: 2 ** 53 }), status('m', 'COMPLETE')),
    );
    const result = await sync(
      { path },
      [spec('number')],
      lines(record('m', { v: 0.5 }), status('m', 'COMPLETE')),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await query(path, 'SELECT typeof(v) AS t, v FROM m ORDER BY v')).toEqual([
      { t: 'DOUBLE', v: 0.5 },
      { t: 'DOUBLE', v: 2 ** 53 },
    ]);
  });
});

describe('duckdb write, hostile names', { timeout: 120_000 }, () => {
  const streamNames = [
    'he said "hi"',
    'semi;colon"); DROP TABLE users; --',
    'ünïcødé 🚀',
    'x'.repeat(1000),
    'select',
    'table',
    'Users',
    'users',
    'USERS',
    'a.b',
    '_airbyte_raw_id',
    'users_destkit_tmp',
    'users_destkit_stage',
  ];
  const properties = {
    a: { type: 'string' },
    A: { type: 'string' },
    select: { type: 'integer' },
    'we"ird;': { type: 'string' },
    _airbyte_raw_id: { type: 'string' },
    ü: { type: 'string' },
    ['y'.repeat(1000)]: { type: 'string' },
    '': { type: 'string' },
    null: { type: 'boolean' },
  };
  const data = {
    a: 'lower',
    A: 'upper',
    select: 1,
    'we"ird;': 'w',
    _airbyte_raw_id: 'not the raw id',
    ü: 'u',
    ['y'.repeat(1000)]: 'long',
    '': 'empty',
    null: true,
  };

  it('loads every stream into its own table and every property into its own column', async () => {
    const path = tempDb();
    const specs: StreamSpec[] = [
      ...streamNames.map((name) => ({
        name,
        properties,
        mode: 'append_dedup' as const,
        pk: [['select']],
        gen: 1,
        minGen: 1,
      })),
      { name: 'users', namespace: 'temp', properties },
      { name: 'users', namespace: 'system', properties },
      { name: 'users', namespace: 'we"ird', properties },
      { name: 'users', namespace: 'Public', properties },
      { name: 'users', namespace: 'public', properties },
      { name: 'users', namespace: 'test', properties },
    ];
    const input = lines(
      ...specs.map((s) =>
        record(s.name, { ...data, a: `${s.namespace ?? ''}/${s.name}` }, s.namespace),
      ),
      ...specs.map((s) => streamState(s.name, { done: true }, {}, s.namespace)),
      ...specs.map((s) => status(s.name, 'COMPLETE', s.namespace)),
    );
    const result = await sync({ path }, specs, input);
    expect(result.code, result.stderr).toBe(0);
    expect(states(result.messages)).toHaveLength(specs.length);

    const streams = specs.map((s) =>
      makeDestinationStream({
        namespace: s.namespace,
        name: s.name,
        schema: { type: 'object', properties },
        importType: { kind: 'append' },
        generationId: null,
        minimumGenerationId: null,
        syncId: null,
      }),
    );
    const placements = placeStreams(streams, 'main');
    expect(await tables(path)).toHaveLength(specs.length);
    const columns = columnsOfSchema({ type: 'object', properties }, DUCKDB_NAMING);
    const list = columns.map((c) => `${q(c.column)}::VARCHAR`).join(', ');
    for (const [i, s] of specs.entries()) {
      const placement = placements.get(streams[i]!.key)!;
      const rows = await query(
        path,
        `SELECT ${list} FROM "test".${q(placement.schema)}.${q(placement.table)}`,
      );
      expect(rows, `${s.namespace}/${s.name}`).toHaveLength(1);
      expect(Object.values(rows[0]!)).toEqual(
        columns.map((c) =>
          c.name === 'a'
            ? `${s.namespace ?? ''}/${s.name}`
            : String(data[c.name as keyof typeof data]),
        ),
      );
    }
  });
});
