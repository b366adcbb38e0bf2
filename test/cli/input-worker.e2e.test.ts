/**
 * The input worker reading the connector's stdin itself (input_workers=1), as a pipe and as a
 * file: a sync succeeds with the same echoes, and bad input fails with the same error, for the
 * same line, as when the main thread reads stdin (input_workers=0).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog, record, status, streamState } from '../helpers/messages.js';
import { parseProtocolOutput } from '../helpers/protocol-schema.js';
import { CLI, DEV_NULL_MAIN, lines, runCli, writeJsonFiles } from '../helpers/run-cli.js';

type Message = Record<string, any>;

const twoStreams = catalog([{ name: 'users', namespace: 'public' }, { name: 'orders' }]);

interface Outcome {
  code: number | null;
  states: string[];
  error: { message: string; failure_type: string } | undefined;
}

/** Runs dev-null write over `input` with stdin as a pipe or a file. */
async function write(
  input: string,
  inputWorkers: '0' | '1',
  stdin: 'pipe' | 'file',
  env: Record<string, string> = {},
): Promise<Outcome> {
  const f = writeJsonFiles({ 'config.json': { mode: 'silent' }, 'catalog.json': twoStreams });
  const inputFile = join(dirname(f['config.json']!), 'input.jsonl');
  writeFileSync(inputFile, input);
  const result = await runCli(
    ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
    {
      ...(stdin === 'pipe' ? { stdin: input } : { stdinFile: inputFile }),
      env: { DESTKIT_INPUT_WORKERS: inputWorkers, ...env },
    },
  );
  const messages = parseProtocolOutput(result.stdout) as Message[];
  const trace = messages.find((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
  return {
    code: result.code,
    states: messages.filter((m) => m.type === 'STATE').map((m) => JSON.stringify(m)),
    error:
      trace === undefined
        ? undefined
        : { message: trace.trace.error.message, failure_type: trace.trace.error.failure_type },
  };
}

/** Each stream's echoed record counts, in order. */
function perStream(states: readonly string[]): Record<string, number[]> {
  const counts: Record<string, number[]> = {};
  for (const line of states) {
    const { state } = JSON.parse(line);
    const name: string = state.stream.stream_descriptor.name;
    counts[name] = [...(counts[name] ?? []), state.destinationStats.recordCount];
  }
  return counts;
}

const many = Array.from({ length: 3000 }, (_, i) =>
  record(
    i % 2 === 0 ? 'orders' : 'users',
    { id: i, pad: 'x'.repeat(i % 300) },
    i % 2 === 0 ? undefined : 'public',
  ),
);

describe.each(['pipe', 'file'] as const)('input worker reading stdin as a %s', (stdin) => {
  it('echoes the same states as the main thread reading it', async () => {
    const input = lines(
      ...many.slice(0, 1000),
      streamState('orders', { c: 1 }),
      ...many.slice(1000, 2000),
      streamState('users', { c: 2 }, {}, 'public'),
      ...many.slice(2000),
      streamState('orders', { c: 3 }),
      status('users', 'COMPLETE', 'public'),
      status('orders', 'COMPLETE'),
    );
    // Small batches: many spill and memory batches, many runs cut at batch boundaries.
    const env = { DESTKIT_BATCH_SIZE_BYTES: '20000' };
    const inThread = await write(input, '0', stdin, env);
    const worker = await write(input, '1', stdin, env);
    expect(inThread.code).toBe(0);
    expect(worker.code).toBe(0);
    // Order is per stream (the protocol's rule); states of different streams may interleave.
    expect(perStream(worker.states)).toEqual(perStream(inThread.states));
    // Per stream since its previous state: orders 500 of the first 1000, users all 1000 of the
    // first 2000, orders the 1000 after its first state.
    expect(perStream(worker.states)).toEqual({
      orders: [500, 1000],
      users: [1000],
    });
  });

  it.each([
    ['a malformed line', lines(...many.slice(0, 50), '{"type":"RECORD","record":{'), {}],
    [
      'a record missing a field',
      lines(...many.slice(0, 50), { type: 'RECORD', record: { stream: 'orders', data: {} } }),
      {},
    ],
    [
      'a record of a stream not in the catalog',
      lines(...many.slice(0, 50), record('invoices', { id: 1 })),
      {},
    ],
    [
      'a record after its stream ended',
      lines(
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
        ...many.slice(0, 5),
      ),
      {},
    ],
    [
      'two streams ended, the later one first in the input after',
      lines(
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
        record('users', { id: 1 }, 'public'),
        record('orders', { id: 2 }),
      ),
      {},
    ],
    [
      'a line over the maximum size',
      lines(...many.slice(0, 50), record('orders', { blob: 'x'.repeat(500) })),
      { DESTKIT_MAX_LINE_BYTES: '400' },
    ],
    [
      'a status of a stream not in the catalog',
      lines(...many.slice(0, 50), status('invoices', 'COMPLETE')),
      {},
    ],
  ] as const)('fails %s with the same error as the main thread', async (_, input, env) => {
    const inThread = await write(input, '0', stdin, env);
    const worker = await write(input, '1', stdin, env);
    expect(inThread.code).toBe(1);
    expect(inThread.error?.message).toMatch(/line \d+/);
    expect(worker.code).toBe(1);
    expect(worker.error).toEqual(inThread.error);
  });
});

describe('input worker reading an open pipe', () => {
  it('stops on SIGTERM while the pipe stays open and empty', async () => {
    const f = writeJsonFiles({ 'config.json': { mode: 'silent' }, 'catalog.json': twoStreams });
    const started = Date.now();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        keepStdinOpen: true,
        env: { DESTKIT_INPUT_WORKERS: '1' },
        onStart: (child) => {
          child.stdin!.write(lines(record('orders', { id: 1 }), streamState('orders', { c: 1 })));
          child.stderr!.on('data', (d: Buffer) => {
            if (d.toString().includes('dev-null ready'))
              setTimeout(() => child.kill('SIGTERM'), 300);
          });
        },
      },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    // The state's record was persisted before the signal: its state is echoed.
    expect(messages.map((m) => m.type)).toEqual(['STATE', 'TRACE']);
    expect(messages[1]?.trace.error.message).toContain('stopped by SIGTERM');
  });
});

describe('input worker holding records of a slow source', () => {
  // The worker posts a stream's records at 64 KiB, or all once they hold on to 64 MiB of input,
  // or before a message that needs them: a source that writes a few records and then waits
  // (for more of its own input, not for an echo) would leave them in the worker. Once the
  // oldest waited min(1 s, flush window) they are posted, and the flush window loads them.
  it('posts the records it holds once the oldest waited, so they are loaded without more input', async () => {
    const f = writeJsonFiles({
      'config.json': { mode: 'logging', log_every: 1 },
      'catalog.json': twoStreams,
    });
    const started = Date.now();
    let loadedAfter: number | undefined;
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        keepStdinOpen: true,
        env: { DESTKIT_INPUT_WORKERS: '1', DESTKIT_FLUSH_WINDOW_MS: '200' },
        onStart: (child) => {
          child.stdin!.write(
            lines(record('orders', { id: 1 }), record('users', { id: 2 }, 'public')),
          );
          let seen = 0;
          child.stderr!.on('data', (d: Buffer) => {
            seen += d.toString().split('dev-null record').length - 1;
            if (seen < 2 || loadedAfter !== undefined) return;
            // Both records reached the connector with nothing more written: end the input.
            loadedAfter = Date.now() - started;
            child.stdin!.end(
              lines(status('orders', 'COMPLETE'), status('users', 'COMPLETE', 'public')),
            );
          });
        },
      },
    );
    expect(result.code).toBe(0);
    expect(loadedAfter).toBeDefined();
    expect(loadedAfter).toBeLessThan(10_000);
  });
});

// A connector process starts its input worker thread before it reads its config (start-up
// overlaps), and stops it again when the config turns the worker off or the sync fails first.
describe('input worker started ahead', () => {
  it('is stopped unused when the config turns it off: the main thread reads all of stdin', async () => {
    const input = lines(
      ...many.slice(0, 500),
      streamState('orders', { c: 1 }),
      status('orders', 'COMPLETE'),
      status('users', 'COMPLETE', 'public'),
    );
    const f = writeJsonFiles({
      'config.json': { mode: 'silent', destkit: { input_workers: 0 } },
      'catalog.json': twoStreams,
    });
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      { stdin: input, env: { DESTKIT_INPUT_WORKERS: '1' } },
    );
    expect(result.code).toBe(0);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(
      perStream(messages.filter((m) => m.type === 'STATE').map((m) => JSON.stringify(m))),
    ).toEqual({
      orders: [250],
    });
  });

  it("is the one the executable's launcher (main.cjs) started before loading anything, and the sync's own behind main.js", async () => {
    const input = lines(
      ...many.slice(0, 500),
      streamState('orders', { c: 1 }),
      status('orders', 'COMPLETE'),
      status('users', 'COMPLETE', 'public'),
    );
    const f = writeJsonFiles({ 'config.json': { mode: 'silent' }, 'catalog.json': twoStreams });
    const args = ['--config', f['config.json']!, '--catalog', f['catalog.json']!];
    const runs: [string, string[], string][] = [
      [CLI, ['dev-null', 'write', ...args, '--log-level', 'debug'], 'launcher'],
      [DEV_NULL_MAIN, ['write', ...args, '--log-level', 'debug'], 'launcher'],
      [DEV_NULL_MAIN.replace(/\.cjs$/, '.js'), ['write', ...args, '--log-level', 'debug'], 'sync'],
    ];
    for (const [script, argv, startedBy] of runs) {
      const result = await runCli(argv, {
        script,
        stdin: input,
        env: { DESTKIT_INPUT_WORKERS: '1' },
      });
      expect(result.code).toBe(0);
      const started = result.stderr
        .split('\n')
        .filter((l) => l.includes('input worker thread started ahead'))
        .map((l) => JSON.parse(l).startedBy);
      expect([script, started]).toEqual([script, [startedBy]]);
      const messages = parseProtocolOutput(result.stdout) as Message[];
      expect(
        perStream(messages.filter((m) => m.type === 'STATE').map((m) => JSON.stringify(m))),
      ).toEqual({ orders: [250] });
    }
  });

  it('lets a sync that fails before reading (an invalid catalog) fail at once with its error', async () => {
    const f = writeJsonFiles({
      'config.json': { mode: 'silent' },
      'catalog.json': { streams: [] },
    });
    const started = Date.now();
    const result = await runCli(
      ['dev-null', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      { keepStdinOpen: true, env: { DESTKIT_INPUT_WORKERS: '1' } },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(messages.map((m) => m.type)).toEqual(['TRACE']);
    expect(messages[0]?.trace.error.message).toContain('catalog');
  });
});
