/**
 * The JSONL connector as a spawned process (the built CLI) against real temp directories.
 * Run `npm run build` first.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { streamFileLocation } from '../../../connectors/destination-jsonl/safe-names.js';
import { catalog, globalState, record, status, streamState } from '../../helpers/messages.js';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { type CliResult, lines, runCli, writeJsonFiles } from '../../helpers/run-cli.js';

type Message = Record<string, any>;
type CatalogStream = Parameters<typeof catalog>[0][number];

const JSONL_MAIN = fileURLToPath(
  new URL('../../../dist/connectors/destination-jsonl/main.cjs', import.meta.url),
);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'destkit-jsonl-e2e-'));
}

interface SyncResult extends CliResult {
  messages: Message[];
}

/** Runs one `jsonl write` into `dest`; every stdout line must be a valid protocol message. */
async function sync(dest: string, streams: CatalogStream[], input: string): Promise<SyncResult> {
  const f = writeJsonFiles({
    'config.json': { destination_path: dest },
    'catalog.json': catalog(streams),
  });
  const result = await runCli(
    ['jsonl', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
    { stdin: input },
  );
  return { ...result, messages: parseProtocolOutput(result.stdout) as Message[] };
}

async function check(destinationPath: string): Promise<Message> {
  const f = writeJsonFiles({ 'config.json': { destination_path: destinationPath } });
  const result = await runCli(['jsonl', 'check', '--config', f['config.json']!]);
  expect(result.code).toBe(0);
  const messages = parseProtocolOutput(result.stdout) as Message[];
  expect(messages).toHaveLength(1);
  return messages[0]!.connectionStatus;
}

function fileOf(dest: string, name: string, namespace?: string): string {
  return streamFileLocation(dest, namespace, name).file;
}

function readLines(path: string): Message[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Message);
}

function dataOf(path: string): unknown[] {
  return readLines(path).map((l) => l._airbyte_data);
}

/** Every file under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

function errors(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
}

function states(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'STATE');
}

describe('jsonl spec and check', () => {
  it('is listed by destkit connectors', async () => {
    const result = await runCli(['connectors']);
    expect(result.stdout).toMatch(/^jsonl\s/m);
  });

  it('prints one valid SPEC requiring destination_path, also from its own executable', async () => {
    for (const args of [['jsonl', 'spec'], ['spec']]) {
      const result = await runCli(args, args.length === 1 ? { script: JSONL_MAIN } : {});
      expect(result.code).toBe(0);
      const messages = parseProtocolOutput(result.stdout) as Message[];
      expect(messages.map((m) => m.type)).toEqual(['SPEC']);
      expect(messages[0]!.spec.connectionSpecification.required).toEqual(['destination_path']);
    }
  });

  it('succeeds on a missing directory, creates it and leaves no probe file', async () => {
    const dest = join(tempDir(), 'a', 'b');
    expect(await check(dest)).toEqual({ status: 'SUCCEEDED' });
    expect(statSync(dest).isDirectory()).toBe(true);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('fails naming the path when it lies under a regular file', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'file'), 'x');
    const dest = join(base, 'file', 'out');
    const status = await check(dest);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(dest);
    expect(status.message).toContain('not a directory');
  });

  it('fails naming the path when it is a regular file', async () => {
    const dest = join(tempDir(), 'file');
    writeFileSync(dest, 'x');
    const status = await check(dest);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(dest);
  });

  it.skipIf(process.getuid?.() === 0)(
    'fails naming the path when the directory is not writable',
    async () => {
      const dest = tempDir();
      chmodSync(dest, 0o500);
      try {
        const status = await check(dest);
        expect(status.status).toBe('FAILED');
        expect(status.message).toContain(dest);
        expect(status.message).toContain('permission denied');
      } finally {
        chmodSync(dest, 0o700);
      }
    },
  );

  it('fails a write into an unusable path with config_error naming it', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'file'), 'x');
    const dest = join(base, 'file', 'out');
    const result = await sync(dest, [{ name: 'users' }], lines(status('users', 'COMPLETE')));
    expect(result.code).toBe(1);
    const [trace] = errors(result.messages);
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain(dest);
  });
});

describe('jsonl write, append', () => {
  it('appends across two syncs; append_dedup appends too', async () => {
    const dest = tempDir();
    const streams: CatalogStream[] = [
      { name: 'users', namespace: 'public', gen: 1, minGen: 0 },
      { name: 'orders', mode: 'append_dedup', pk: [['id']] },
    ];
    const first = await sync(
      dest,
      streams,
      lines(
        record('users', { id: 1 }, 'public'),
        record('orders', { id: 7, v: 1 }),
        record('users', { id: 2 }, 'public'),
        streamState('users', { c: 2 }, {}, 'public'),
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
      ),
    );
    expect(first.code).toBe(0);
    const second = await sync(
      dest,
      streams,
      lines(
        record('users', { id: 3 }, 'public'),
        record('orders', { id: 7, v: 2 }),
        status('users', 'COMPLETE', 'public'),
        status('orders', 'COMPLETE'),
      ),
    );
    expect(second.code).toBe(0);
    const users = readLines(fileOf(dest, 'users', 'public'));
    expect(users.map((l) => l._airbyte_data)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(users[0]).toMatchObject({
      _airbyte_extracted_at: '2023-11-14T22:13:20.000Z',
      _airbyte_generation_id: 1,
      _airbyte_meta: { sync_id: 1, changes: [] },
    });
    expect(new Set(users.map((l) => l._airbyte_raw_id)).size).toBe(3);
    expect(dataOf(fileOf(dest, 'orders'))).toEqual([
      { id: 7, v: 1 },
      { id: 7, v: 2 },
    ]);
    expect(readLines(fileOf(dest, 'orders'))[0]?._airbyte_generation_id).toBeNull();
    expect(walk(dest).sort()).toEqual(['_default/orders.jsonl', 'public/users.jsonl']);
  });

  it('keeps the source changes in _airbyte_meta', async () => {
    const dest = tempDir();
    const change = { field: 'bio', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' };
    const result = await sync(
      dest,
      [{ name: 'users' }],
      lines(
        {
          type: 'RECORD',
          record: {
            stream: 'users',
            data: { bio: 'x' },
            emitted_at: 1,
            meta: { changes: [change] },
          },
        },
        status('users', 'COMPLETE'),
      ),
    );
    expect(result.code).toBe(0);
    expect(readLines(fileOf(dest, 'users'))[0]).toMatchObject({
      _airbyte_extracted_at: '1970-01-01T00:00:00.001Z',
      _airbyte_meta: { sync_id: null, changes: [change] },
    });
  });

  it('writes same-named streams of different namespaces to different directories', async () => {
    const dest = tempDir();
    const result = await sync(
      dest,
      [{ name: 'users', namespace: 'a' }, { name: 'users', namespace: 'b' }, { name: 'users' }],
      lines(
        record('users', { ns: 'a' }, 'a'),
        record('users', { ns: 'b' }, 'b'),
        record('users', { ns: null }),
        status('users', 'COMPLETE', 'a'),
        status('users', 'COMPLETE', 'b'),
        status('users', 'COMPLETE'),
      ),
    );
    expect(result.code).toBe(0);
    expect(walk(dest).sort()).toEqual(['_default/users.jsonl', 'a/users.jsonl', 'b/users.jsonl']);
    expect(dataOf(join(dest, 'a', 'users.jsonl'))).toEqual([{ ns: 'a' }]);
    expect(dataOf(join(dest, 'b', 'users.jsonl'))).toEqual([{ ns: 'b' }]);
    expect(dataOf(join(dest, '_default', 'users.jsonl'))).toEqual([{ ns: null }]);
  });
});

describe('jsonl write, truncate refresh', () => {
  const refresh = (gen: number): CatalogStream[] => [
    { name: 'users', namespace: 'public', gen, minGen: gen },
  ];

  it('leaves the old file untouched until a COMPLETE attempt of the same generation, which resumes', async () => {
    const dest = tempDir();
    const file = fileOf(dest, 'users', 'public');
    const temp = `${file}.gen-2.tmp`;
    const initial = await sync(
      dest,
      refresh(1),
      lines(
        record('users', { v: 'old-1' }, 'public'),
        record('users', { v: 'old-2' }, 'public'),
        status('users', 'COMPLETE', 'public'),
      ),
    );
    expect(initial.code).toBe(0);
    expect(dataOf(file)).toEqual([{ v: 'old-1' }, { v: 'old-2' }]);

    // attempt 1 of generation 2: INCOMPLETE
    const incomplete = await sync(
      dest,
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
    expect(dataOf(file)).toEqual([{ v: 'old-1' }, { v: 'old-2' }]);
    expect(dataOf(temp)).toEqual([{ v: 'new-1' }]);

    // attempt 2: input ends without a terminal status
    const cut = await sync(
      dest,
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
    expect(dataOf(file)).toEqual([{ v: 'old-1' }, { v: 'old-2' }]);
    expect(dataOf(temp)).toEqual([{ v: 'new-1' }, { v: 'new-2' }]);

    // attempt 3: COMPLETE replaces the file with everything of generation 2
    const done = await sync(
      dest,
      refresh(2),
      lines(record('users', { v: 'new-3' }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    expect(done.code).toBe(0);
    const final = readLines(file);
    expect(final.map((l) => l._airbyte_data)).toEqual([
      { v: 'new-1' },
      { v: 'new-2' },
      { v: 'new-3' },
    ]);
    expect(final.every((l) => l._airbyte_generation_id === 2)).toBe(true);
    expect(walk(dest)).toEqual(['public/users.jsonl']);
  });

  it('keeps the old file when the sync fails mid-stream', async () => {
    const dest = tempDir();
    const file = fileOf(dest, 'users');
    await sync(
      dest,
      [{ name: 'users', gen: 1, minGen: 1 }],
      lines(record('users', { v: 1 }), status('users', 'COMPLETE')),
    );
    const failed = await sync(
      dest,
      [{ name: 'users', gen: 2, minGen: 2 }],
      lines(record('users', { v: 2 }), streamState('users', {}), '{"type":"RECORD", oops'),
    );
    expect(failed.code).toBe(1);
    expect(errors(failed.messages)[0]?.trace.error.message).toContain('input line 3');
    expect(dataOf(file)).toEqual([{ v: 1 }]);
    // what an echoed state covers is kept in the temp file for the next attempt
    if (states(failed.messages).length > 0) {
      expect(dataOf(`${file}.gen-2.tmp`)).toEqual([{ v: 2 }]);
    }
  });

  it('discards a temp file of an older generation', async () => {
    const dest = tempDir();
    const file = fileOf(dest, 'users', 'public');
    await sync(
      dest,
      refresh(2),
      lines(record('users', { v: 'gen-2' }, 'public'), status('users', 'INCOMPLETE', 'public')),
    );
    expect(existsSync(`${file}.gen-2.tmp`)).toBe(true);
    const result = await sync(
      dest,
      refresh(3),
      lines(record('users', { v: 'gen-3' }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    expect(result.code).toBe(0);
    expect(dataOf(file)).toEqual([{ v: 'gen-3' }]);
    expect(walk(dest)).toEqual(['public/users.jsonl']);
  });

  it('empties the file when a COMPLETE truncate has no records', async () => {
    const dest = tempDir();
    const file = fileOf(dest, 'users', 'public');
    await sync(
      dest,
      refresh(1),
      lines(record('users', { v: 1 }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    expect(dataOf(file)).toHaveLength(1);
    const result = await sync(dest, refresh(2), lines(status('users', 'COMPLETE', 'public')));
    expect(result.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('');
    expect(walk(dest)).toEqual(['public/users.jsonl']);
  });

  it('replaces the file for the legacy overwrite mode', async () => {
    const dest = tempDir();
    const streams: CatalogStream[] = [{ name: 'users', mode: 'overwrite' }];
    for (const v of [1, 2]) {
      const result = await sync(
        dest,
        streams,
        lines(record('users', { v }), status('users', 'COMPLETE')),
      );
      expect(result.code).toBe(0);
    }
    expect(dataOf(fileOf(dest, 'users'))).toEqual([{ v: 2 }]);
  });
});

describe('jsonl write, hostile names', () => {
  it('keeps every file inside destination_path and every stream apart', async () => {
    const base = tempDir();
    const dest = join(base, 'dest');
    const streams: CatalogStream[] = [
      { name: 'he said "hi"' },
      { name: '../../escape' },
      { name: '..' },
      { name: '.' },
      { name: '.hidden' },
      { name: 'ünïcødé 🚀' },
      { name: 'x'.repeat(1000) },
      { name: `${'x'.repeat(1000)}y` },
      { name: 'a/b\\c' },
      { name: 'CON' },
      { name: '%2E' },
      { name: 'users', namespace: '../..' },
      { name: 'users', namespace: '/etc' },
      { name: 'users', namespace: '_default' },
      { name: 'users.jsonl.gen-1.tmp' },
    ];
    const input = lines(
      ...streams.map((s) =>
        record(s.name, { name: s.name, namespace: s.namespace ?? null }, s.namespace),
      ),
      ...streams.map((s) => streamState(s.name, { done: true }, {}, s.namespace)),
      ...streams.map((s) => status(s.name, 'COMPLETE', s.namespace)),
    );
    const result = await sync(dest, streams, input);
    expect(result.code).toBe(0);
    // nothing was written next to destination_path
    expect(readdirSync(base)).toEqual(['dest']);
    const files = walk(dest);
    expect(files).toHaveLength(streams.length);
    for (const s of streams) {
      const file = fileOf(dest, s.name, s.namespace);
      expect(files).toContain(relative(dest, file));
      expect(dataOf(file)).toEqual([{ name: s.name, namespace: s.namespace ?? null }]);
    }
    for (const path of files) {
      for (const part of path.split('/')) {
        expect(Buffer.byteLength(part)).toBeLessThanOrEqual(206);
        expect(part.startsWith('.')).toBe(false);
      }
    }
    // STREAM states keep their order per stream; streams may interleave
    const echoed = states(result.messages);
    expect(echoed.map((m) => m.state.stream.stream_descriptor.name).sort()).toEqual(
      streams.map((s) => s.name).sort(),
    );
    expect(echoed.every((m) => m.state.destinationStats.recordCount === 1)).toBe(true);
  });

  it('refuses a namespace directory that is a symlink leading outside', async () => {
    const dest = tempDir();
    const outside = tempDir();
    symlinkSync(outside, join(dest, 'public'));
    const result = await sync(
      dest,
      [{ name: 'users', namespace: 'public' }],
      lines(record('users', { id: 1 }, 'public'), status('users', 'COMPLETE', 'public')),
    );
    expect(result.code).toBe(1);
    expect(errors(result.messages)[0]?.trace.error.failure_type).toBe('config_error');
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('jsonl write, many streams and states', () => {
  it('writes 300 streams with their states echoed per stream', async () => {
    const dest = tempDir();
    const streams: CatalogStream[] = Array.from({ length: 300 }, (_, i) => ({
      name: `s${i}`,
      namespace: `ns${i % 7}`,
    }));
    const input = lines(
      ...streams.flatMap((s) => [1, 2, 3].map((n) => record(s.name, { n }, s.namespace))),
      ...streams.map((s) => streamState(s.name, { s: s.name }, {}, s.namespace)),
      ...streams.map((s) => status(s.name, 'COMPLETE', s.namespace)),
    );
    const result = await sync(dest, streams, input);
    expect(result.code).toBe(0);
    expect(walk(dest)).toHaveLength(300);
    for (const s of streams) {
      expect(dataOf(fileOf(dest, s.name, s.namespace))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    }
    const echoed = states(result.messages);
    expect(echoed.map((m) => m.state.stream.stream_state.s).sort()).toEqual(
      streams.map((s) => s.name).sort(),
    );
    expect(echoed.every((m) => m.state.destinationStats.recordCount === 3)).toBe(true);
  });

  it('echoes STREAM states once, in order per stream, byte-faithful, with counts', async () => {
    const dest = tempDir();
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
      dest,
      [{ name: 'users', namespace: 'public' }, { name: 'orders' }],
      input,
    );
    expect(result.code).toBe(0);
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
    expect(dataOf(fileOf(dest, 'users', 'public'))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(dataOf(fileOf(dest, 'orders'))).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('echoes GLOBAL states once, in order, with the count of all streams', async () => {
    const dest = tempDir();
    const input = lines(
      record('users', { id: 1 }, 'public'),
      record('orders', { id: 1 }),
      globalState({ lsn: 1 }, ['users', 'orders'], { id: 1 }),
      record('orders', { id: 2 }),
      globalState({ lsn: 2 }, ['users', 'orders'], { id: 2 }),
      status('users', 'COMPLETE', 'public'),
      status('orders', 'COMPLETE'),
    );
    const result = await sync(
      dest,
      [{ name: 'users', namespace: 'public' }, { name: 'orders' }],
      input,
    );
    expect(result.code).toBe(0);
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

  it('echoes a state only once the records it covers are in the file', async () => {
    const dest = tempDir();
    const f = writeJsonFiles({
      'config.json': { destination_path: dest },
      'catalog.json': catalog([{ name: 'users' }]),
    });
    const seenAtEcho: unknown[][] = [];
    const result = await runCli(
      ['jsonl', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        keepStdinOpen: true,
        onStart: (child) => {
          child.stdin!.write(
            lines(record('users', { id: 1 }), record('users', { id: 2 }), streamState('users', {})),
          );
          let buffered = '';
          child.stdout!.on('data', (chunk: string) => {
            buffered += chunk;
            if (seenAtEcho.length === 0 && buffered.includes('"type":"STATE"')) {
              seenAtEcho.push(dataOf(fileOf(dest, 'users')));
              child.stdin!.end(lines(record('users', { id: 3 }), status('users', 'COMPLETE')));
            }
          });
        },
      },
    );
    expect(result.code).toBe(0);
    parseProtocolOutput(result.stdout);
    expect(seenAtEcho).toEqual([[{ id: 1 }, { id: 2 }]]);
    expect(dataOf(fileOf(dest, 'users'))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('persists every batch when batches are small', async () => {
    const dest = tempDir();
    mkdirSync(dest, { recursive: true });
    const f = writeJsonFiles({
      'config.json': { destination_path: dest, destkit: { batch_size_bytes: 1 } },
      'catalog.json': catalog([{ name: 'users' }]),
    });
    const result = await runCli(
      ['jsonl', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        stdin: lines(
          ...Array.from({ length: 50 }, (_, id) => record('users', { id })),
          streamState('users', {}),
          status('users', 'COMPLETE'),
        ),
      },
    );
    expect(result.code).toBe(0);
    parseProtocolOutput(result.stdout);
    expect(dataOf(fileOf(dest, 'users'))).toEqual(Array.from({ length: 50 }, (_, id) => ({ id })));
  });
});
