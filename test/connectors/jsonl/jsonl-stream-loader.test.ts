/** JsonlStreamLoader in process, against real temp directories. */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { JsonlStreamLoader } from '../../../connectors/destination-jsonl/jsonl-stream-loader.js';
import { StagingBuffers } from '../../../connectors/destination-jsonl/staging-buffers.js';
import {
  type DestinationStream,
  type ImportType,
  makeDestinationStream,
} from '../../../src/catalog/destination-stream.js';
import { ConfigError } from '../../../src/errors/destkit-error.js';
import type { JsonObject } from '../../../src/protocol/messages.js';
import type { Batch, DestinationRecord } from '../../../src/write/destination-writer.js';

const logger = pino({ level: 'silent' });

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'destkit-jsonl-'));
}

function stream(
  options: {
    name?: string;
    namespace?: string;
    importType?: ImportType;
    generationId?: number | null;
    minimumGenerationId?: number | null;
  } = {},
): DestinationStream {
  return makeDestinationStream({
    name: options.name ?? 'users',
    namespace: options.namespace ?? 'public',
    schema: {},
    importType: options.importType ?? { kind: 'append' },
    generationId: options.generationId ?? null,
    minimumGenerationId: options.minimumGenerationId ?? null,
    syncId: 42,
  });
}

function records(s: DestinationStream, data: JsonObject[]): DestinationRecord[] {
  return data.map((d) => ({
    stream: s,
    data: d,
    emittedAt: 1_700_000_000_000,
    meta: undefined,
    sizeBytes: 10,
  }));
}

function readLines(path: string): Record<string, unknown>[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function dataOf(path: string): unknown[] {
  return readLines(path).map((l) => l._airbyte_data);
}

async function load(loader: JsonlStreamLoader, data: JsonObject[]): Promise<Batch> {
  let batch = await loader
    .createBatchAccumulator()
    .processRecords(records(loader.stream, data), 0, false);
  while (batch.state !== 'PERSISTED' && batch.state !== 'COMPLETE') {
    batch = await loader.processBatch(batch);
  }
  return batch;
}

describe('JsonlStreamLoader', () => {
  describe('in append mode', () => {
    it('writes one line per record with the meta columns, in this key order', async () => {
      const root = tempDir();
      const loader = new JsonlStreamLoader(stream({ generationId: 3 }), root, logger);
      await loader.start();
      await load(loader, [{ id: 1, name: 'a' }]);
      await loader.close();
      const text = readFileSync(join(root, 'public', 'users.jsonl'), 'utf8');
      const [line] = readLines(join(root, 'public', 'users.jsonl'));
      expect(Object.keys(line!)).toEqual([
        '_airbyte_raw_id',
        '_airbyte_extracted_at',
        '_airbyte_generation_id',
        '_airbyte_meta',
        '_airbyte_data',
      ]);
      expect(line).toMatchObject({
        _airbyte_extracted_at: '2023-11-14T22:13:20.000Z',
        _airbyte_generation_id: 3,
        _airbyte_meta: { sync_id: 42, changes: [] },
        _airbyte_data: { id: 1, name: 'a' },
      });
      expect(line?._airbyte_raw_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(text.split('\n')).toHaveLength(2);
    });

    it('stages in processRecords and persists only in processBatch', async () => {
      const root = tempDir();
      const loader = new JsonlStreamLoader(stream(), root, logger);
      await loader.start();
      const staged = await loader.processRecords(records(loader.stream, [{ id: 1 }]), 0, false);
      expect(staged.state).toBe('STAGED');
      expect(existsSync(loader.target) && readFileSync(loader.target, 'utf8') !== '').toBe(false);
      expect((await loader.processBatch(staged)).state).toBe('COMPLETE');
      expect(dataOf(loader.target)).toEqual([{ id: 1 }]);
      // a repeated processBatch of the same batch appends nothing
      await loader.processBatch(staged);
      expect(dataOf(loader.target)).toEqual([{ id: 1 }]);
    });

    it('keeps every batch whole when accumulators and batches run concurrently', async () => {
      const root = tempDir();
      const loader = new JsonlStreamLoader(stream(), root, logger);
      await loader.start();
      const workers = [loader.createBatchAccumulator(), loader.createBatchAccumulator()];
      const batches = await Promise.all(
        Array.from({ length: 40 }, (_, b) =>
          workers[b % 2]!.processRecords(
            records(
              loader.stream,
              Array.from({ length: 25 }, (_, i) => ({ b, i, pad: 'x'.repeat(2000) })),
            ),
            0,
            false,
          ),
        ),
      );
      await Promise.all(batches.map((batch) => loader.processBatch(batch)));
      await loader.close();
      const data = dataOf(loader.location.file) as { b: number; i: number }[];
      expect(data).toHaveLength(40 * 25);
      // lines of one batch are contiguous and in order
      for (let start = 0; start < data.length; start += 25) {
        const b = data[start]!.b;
        expect(data.slice(start, start + 25)).toEqual(
          Array.from({ length: 25 }, (_, i) => expect.objectContaining({ b, i })),
        );
      }
      expect(new Set(data.map((d) => d.b)).size).toBe(40);
    });

    it('appends whole batches when their staging buffers are used again', async () => {
      // Batches of a MiB or more copy their lines into staging buffers that go back to the
      // writer's pool once appended: a buffer used again holds the next batch's lines only.
      const root = tempDir();
      const staging = new StagingBuffers(2);
      const loader = new JsonlStreamLoader(stream(), root, logger, staging);
      await loader.start();
      const line = (b: number, i: number): string =>
        `${JSON.stringify({ _airbyte_data: { b, i, pad: 'x'.repeat(1000 - b * 40) } })}\n`;
      const encoded = (b: number, count: number) => {
        const lines = Array.from({ length: count }, (_, i) => Buffer.from(line(b, i)));
        const size = lines.reduce((n, l) => n + l.length - 1, 0);
        return { records: { chunks: lines, count }, size };
      };
      const used = new Set<Buffer>();
      // Two at a time, as two ProcessRecords workers stage them, then appended in order.
      for (let b = 0; b < 6; b += 2) {
        const staged: Batch[] = [];
        for (const k of [b, b + 1]) {
          const { records: batch, size } = encoded(k, 1500 - k * 20);
          staged.push(await loader.processEncodedRecords(batch, size, false));
        }
        for (const batch of staged) {
          used.add((batch as unknown as { staging: Buffer }).staging);
          expect((await loader.processBatch(batch)).state).toBe('COMPLETE');
        }
      }
      await loader.close();
      // Six batches (1.0–1.5 MB, each in a 2 MiB buffer) through two buffers.
      expect(used.size).toBe(2);
      expect(staging.kept).toBe(2);
      const data = dataOf(loader.location.file) as { b: number; i: number }[];
      const expected = [0, 1, 2, 3, 4, 5].flatMap((b) =>
        Array.from({ length: 1500 - b * 20 }, (_, i) => expect.objectContaining({ b, i })),
      );
      expect(data).toEqual(expected);
    });

    it('removes an unterminated last line left by an interrupted write, then appends', async () => {
      const root = tempDir();
      mkdirSync(join(root, 'public'));
      const file = join(root, 'public', 'users.jsonl');
      writeFileSync(file, '{"_airbyte_data":{"id":0}}\n{"_airbyte_data":{"id":');
      const loader = new JsonlStreamLoader(stream(), root, logger);
      await loader.start();
      await load(loader, [{ id: 1 }]);
      await loader.close();
      expect(dataOf(file)).toEqual([{ id: 0 }, { id: 1 }]);
    });

    it('creates an empty file for a COMPLETE stream without records', async () => {
      const root = tempDir();
      const loader = new JsonlStreamLoader(stream(), root, logger);
      await loader.start();
      await loader.close();
      expect(readFileSync(join(root, 'public', 'users.jsonl'), 'utf8')).toBe('');
    });

    it('writes a null extracted_at and a change for an emitted_at no Date can hold', async () => {
      const root = tempDir();
      const loader = new JsonlStreamLoader(stream(), root, logger);
      await loader.start();
      const batch = await loader.processRecords(
        [{ stream: loader.stream, data: {}, emittedAt: 1e20, meta: undefined, sizeBytes: 1 }],
        1,
        true,
      );
      await loader.processBatch(batch);
      expect(readLines(loader.target)[0]).toMatchObject({
        _airbyte_extracted_at: null,
        _airbyte_meta: {
          changes: [
            {
              field: '_airbyte_extracted_at',
              change: 'NULLED',
              reason: 'DESTINATION_SERIALIZATION_ERROR',
            },
          ],
        },
      });
    });

    it('rejects a STAGED batch it did not make, and passes a persisted one through', async () => {
      const root = tempDir();
      const loader = new JsonlStreamLoader(stream(), root, logger);
      await loader.start();
      await expect(loader.processBatch({ state: 'STAGED' })).rejects.toThrow(/did not make/);
      const done: Batch = { state: 'PERSISTED' };
      expect(await loader.processBatch(done)).toBe(done);
    });
  });

  describe('never writes through a symbolic link', () => {
    it('refuses a namespace directory that is a symlink', async () => {
      const root = tempDir();
      const outside = tempDir();
      symlinkSync(outside, join(root, 'public'));
      const loader = new JsonlStreamLoader(stream(), root, logger);
      const error = await loader.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(join(root, 'public'));
      expect(readdirSync(outside)).toEqual([]);
    });

    it('refuses a stream file that is a symlink', async () => {
      const root = tempDir();
      const outside = join(tempDir(), 'target.jsonl');
      writeFileSync(outside, '');
      mkdirSync(join(root, 'public'));
      symlinkSync(outside, join(root, 'public', 'users.jsonl'));
      const loader = new JsonlStreamLoader(stream(), root, logger);
      const error = await loader.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/symbolic link/);
      expect(readFileSync(outside, 'utf8')).toBe('');
    });
  });

  describe('in truncate mode', () => {
    const refresh = (generation: number) =>
      stream({ generationId: generation, minimumGenerationId: generation });

    it('keeps the old file until close(), keeps the temp file after close(failure), and resumes it', async () => {
      const root = tempDir();
      mkdirSync(join(root, 'public'));
      const file = join(root, 'public', 'users.jsonl');
      writeFileSync(file, '{"_airbyte_data":{"old":1}}\n');

      const first = new JsonlStreamLoader(refresh(5), root, logger);
      expect(first.target).toBe(join(root, 'public', 'users.jsonl.gen-5.tmp'));
      await first.start();
      await load(first, [{ id: 1 }]);
      await first.close(new Error('incomplete'));
      expect(dataOf(file)).toEqual([{ old: 1 }]);
      expect(dataOf(first.target)).toEqual([{ id: 1 }]);

      const retry = new JsonlStreamLoader(refresh(5), root, logger);
      await retry.start();
      await load(retry, [{ id: 2 }]);
      expect(dataOf(file)).toEqual([{ old: 1 }]);
      await retry.close();
      expect(dataOf(file)).toEqual([{ id: 1 }, { id: 2 }]);
      expect(readdirSync(join(root, 'public'))).toEqual(['users.jsonl']);
    });

    it('discards a temp file of another generation at start', async () => {
      const root = tempDir();
      mkdirSync(join(root, 'public'));
      writeFileSync(
        join(root, 'public', 'users.jsonl.gen-4.tmp'),
        '{"_airbyte_data":{"stale":1}}\n',
      );
      writeFileSync(join(root, 'public', 'other.jsonl.gen-4.tmp'), 'not ours\n');
      const loader = new JsonlStreamLoader(refresh(5), root, logger);
      await loader.start();
      expect(readdirSync(join(root, 'public')).sort()).toEqual(['other.jsonl.gen-4.tmp']);
      await load(loader, [{ id: 1 }]);
      await loader.close();
      expect(dataOf(join(root, 'public', 'users.jsonl'))).toEqual([{ id: 1 }]);
    });

    it('replaces the file with an empty one when the stream has no records', async () => {
      const root = tempDir();
      mkdirSync(join(root, 'public'));
      const file = join(root, 'public', 'users.jsonl');
      writeFileSync(file, '{"_airbyte_data":{"old":1}}\n');
      const loader = new JsonlStreamLoader(refresh(2), root, logger);
      await loader.start();
      await loader.close();
      expect(readFileSync(file, 'utf8')).toBe('');
    });

    it('uses generation 0 for a legacy overwrite without generations', () => {
      const loader = new JsonlStreamLoader(
        stream({ importType: { kind: 'overwrite' } }),
        tempDir(),
        logger,
      );
      expect(loader.target.endsWith('users.jsonl.gen-0.tmp')).toBe(true);
    });
  });
});
