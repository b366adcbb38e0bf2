/**
 * The DuckDB connector with many streams, empty streams and state echoes, as a spawned process
 * against real database files. Run `npm run build` first.
 */
import { describe, expect, it } from 'vitest';
import { globalState, record, status, streamState } from '../../helpers/messages.js';
import { lines, runCli, writeJsonFiles } from '../../helpers/run-cli.js';
import {
  catalogOf,
  errors,
  query,
  type StreamSpec,
  states,
  sync,
  tables,
  tempDb,
} from './duckdb-helpers.js';

describe('duckdb write, many and empty streams', { timeout: 120_000 }, () => {
  it('writes 100 streams in 7 schemas with their states echoed per stream', async () => {
    const path = tempDb();
    const streams: StreamSpec[] = Array.from({ length: 100 }, (_, i) => ({
      name: `s${i}`,
      namespace: `ns${i % 7}`,
      ...(i % 3 === 0 ? { mode: 'append_dedup' as const, pk: [['id']] } : {}),
      ...(i % 5 === 0 ? { gen: 2, minGen: 2 } : {}),
    }));
    const input = lines(
      ...streams.flatMap((s) => [1, 2, 3].map((id) => record(s.name, { id }, s.namespace))),
      ...streams.map((s) => streamState(s.name, { s: s.name }, {}, s.namespace)),
      ...streams.map((s) => status(s.name, 'COMPLETE', s.namespace)),
    );
    const result = await sync({ path }, streams, input);
    expect(result.code, result.stderr).toBe(0);
    expect(await tables(path)).toHaveLength(100);
    const counts = await query(
      path,
      streams
        .map((s) => `SELECT '${s.name}' AS s, count(*)::INT AS n FROM ${s.namespace}.${s.name}`)
        .join(' UNION ALL '),
    );
    expect(counts.every((c) => c.n === 3)).toBe(true);
    expect(counts).toHaveLength(100);
    const echoed = states(result.messages);
    expect(echoed.map((m) => m.state.stream.stream_state.s).sort()).toEqual(
      streams.map((s) => s.name).sort(),
    );
    expect(echoed.every((m) => m.state.destinationStats.recordCount === 3)).toBe(true);
  });

  it('creates an empty table for a COMPLETE stream without records, in every mode', async () => {
    const path = tempDb();
    const streams: StreamSpec[] = [
      { name: 'appended' },
      { name: 'deduped', mode: 'append_dedup', pk: [['id']] },
      { name: 'refreshed', gen: 1, minGen: 1 },
      { name: 'overwritten', mode: 'overwrite' },
    ];
    const result = await sync(
      { path },
      streams,
      lines(...streams.map((s) => status(s.name, 'COMPLETE'))),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await tables(path)).toEqual([
      'main.appended',
      'main.deduped',
      'main.overwritten',
      'main.refreshed',
    ]);
    for (const s of streams) {
      expect(await query(path, `SELECT count(*)::INT AS n FROM ${s.name}`)).toEqual([{ n: 0 }]);
    }
  });
});

describe('duckdb write, states', { timeout: 120_000 }, () => {
  it('echoes STREAM states once, in order per stream, byte-faithful, with counts', async () => {
    const path = tempDb();
    const input = lines(
      record('users', { id: 1 }, 'public'),
      record('orders', { id: 1 }),
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":12345678901234567890}},"sourceStats":{"recordCount":1.0}},"id":17}',
      record('orders', { id: 2 }),
      streamState('orders', { c: 2 }, { id: 18 }),
      record('users', { id: 2 }, 'public'),
      record('users', { id: 3 }, 'public'),
      streamState('users', { cursor: 3 }, {}, 'public'),
      status('users', 'COMPLETE', 'public'),
      status('orders', 'COMPLETE'),
    );
    const result = await sync(
      { path },
      [{ name: 'users', namespace: 'public' }, { name: 'orders' }],
      input,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toContain(
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"cursor":12345678901234567890}},"sourceStats":{"recordCount":1.0},"destinationStats":{"recordCount":1}},"id":17}',
    );
    const echoed = states(result.messages).map((m) => [
      m.state.stream.stream_descriptor.name,
      m.state.destinationStats.recordCount,
      m.id,
    ]);
    expect(echoed.filter(([name]) => name === 'users')).toEqual([
      ['users', 1, 17],
      ['users', 2, undefined],
    ]);
    expect(echoed.filter(([name]) => name === 'orders')).toEqual([['orders', 2, 18]]);
    expect(await query(path, 'SELECT id FROM public.users ORDER BY id')).toEqual([
      { id: '1' },
      { id: '2' },
      { id: '3' },
    ]);
  });

  it('echoes GLOBAL states once, in order, with the count of all streams', async () => {
    const path = tempDb();
    const input = lines(
      record('users', { id: 1 }),
      record('orders', { id: 1 }),
      globalState({ lsn: 1 }, ['users', 'orders'], { id: 1 }),
      record('orders', { id: 2 }),
      globalState({ lsn: 2 }, ['users', 'orders'], { id: 2 }),
      status('users', 'COMPLETE'),
      status('orders', 'COMPLETE'),
    );
    const result = await sync({ path }, [{ name: 'users' }, { name: 'orders' }], input);
    expect(result.code, result.stderr).toBe(0);
    expect(
      states(result.messages).map((m) => [
        m.state.global.shared_state.lsn,
        m.state.destinationStats.recordCount,
        m.id,
      ]),
    ).toEqual([
      [1, 2, 1],
      [2, 1, 2],
    ]);
  });

  it('commits every record an echoed state covers, with small batches, before a failure', async () => {
    const path = tempDb();
    const f = writeJsonFiles({
      'config.json': { path, destkit: { batch_size_bytes: 1 } },
      'catalog.json': catalogOf([{ name: 'users' }]),
    });
    const result = await runCli(
      ['duckdb', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        keepStdinOpen: true,
        onStart: (child) => {
          child.stdin!.write(
            lines(
              ...Array.from({ length: 30 }, (_, id) => record('users', { id })),
              streamState('users', { upTo: 30 }),
            ),
          );
          let buffered = '';
          let failed = false;
          child.stdout!.on('data', (chunk: string) => {
            buffered += chunk;
            if (!failed && buffered.includes('"type":"STATE"')) {
              failed = true;
              // more records, then input the connector must fail on
              child.stdin!.end(
                lines(
                  ...Array.from({ length: 30 }, (_, id) => record('users', { id: 30 + id })),
                  '{"type":"RECORD", broken',
                ),
              );
            }
          });
        },
      },
    );
    expect(result.code).toBe(1);
    const messages = result.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    expect(errors(messages)[0]?.trace.error.message).toContain('input line');
    expect(states(messages).map((m) => m.state.stream.stream_state.upTo)).toEqual([30]);
    // everything the echoed state covers is committed; the stream never completed, and the
    // committed rows of an append stream stay
    const rows = await query(path, 'SELECT id FROM users ORDER BY id');
    const ids = rows.map((r) => Number(r.id));
    expect(ids.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, id) => id));
    expect(ids.length).toBeLessThanOrEqual(60);
  });
});
