import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDestinationStream } from '../../src/catalog/destination-stream.js';
import {
  readSpillFile,
  readSpillFileLines,
  SpillFileCorruptError,
} from '../../src/pipeline/spill-file-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'destkit-spill-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const stream = makeDestinationStream({
  name: 'spilled',
  schema: { type: 'object', properties: {} },
  importType: { kind: 'append' },
  generationId: 0,
  minimumGenerationId: 0,
  syncId: 1,
});

function spillFile(lines: readonly string[], trailingNewline = true): string {
  const path = join(dir, `spill-${files++}.jsonl`);
  writeFileSync(path, lines.join('\n') + (trailingNewline && lines.length > 0 ? '\n' : ''));
  return path;
}

function recordLine(data: object, emittedAt: number): string {
  return JSON.stringify({
    type: 'RECORD',
    record: { stream: 'spilled', emitted_at: emittedAt, data },
  });
}

const record = fc.record({
  data: fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue(), { maxKeys: 5 }),
  emittedAt: fc.nat(),
});

describe('readSpillFile', () => {
  it('gives back every record, in order, whatever the read size', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 400 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.boolean(),
        (records, readBytes, trailingNewline) => {
          const lines = records.map((r) => recordLine(r.data, r.emittedAt));
          const path = spillFile(lines, trailingNewline);
          const read = [...readSpillFile(path, stream, 1 << 20, readBytes)];
          expect(read.map((r) => r.data)).toEqual(
            records.map((r) => JSON.parse(JSON.stringify(r.data))),
          );
          expect(read.map((r) => r.emittedAt)).toEqual(records.map((r) => r.emittedAt));
          expect(read.map((r) => r.sizeBytes)).toEqual(lines.map((l) => Buffer.byteLength(l)));
          expect(read.every((r) => r.stream === stream)).toBe(true);
          rmSync(path);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('names the first line that does not read back, and never quotes it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.constantFrom(
          '{"type":"RECORD","record":{"data":{"secret":1}',
          '7',
          '{"a":1}{"b":2}',
          'null',
        ),
        fc.integer({ min: 16, max: 2048 }),
        (count, at, broken, readBytes) => {
          const lines = Array.from({ length: count }, (_, i) => recordLine({ secret: i }, i));
          const index = at % count;
          lines[index] = broken;
          const path = spillFile(lines);
          let caught: unknown;
          try {
            for (const _ of readSpillFile(path, stream, 1 << 20, readBytes));
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(SpillFileCorruptError);
          expect((caught as Error).message).toBe(
            `spill file ${path} line ${index + 1} cannot be read back`,
          );
          rmSync(path);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects a line longer than the limit', () => {
    const path = spillFile([recordLine({ a: 1 }, 1), recordLine({ a: 'x'.repeat(5000) }, 2)]);
    expect(() => [...readSpillFile(path, stream, 1000, 256)]).toThrow(
      new SpillFileCorruptError(`spill file ${path} line 2 is longer than 1000 bytes`),
    );
  });

  it('reads an empty file as no records', () => {
    expect([...readSpillFile(spillFile([]), stream, 1000)]).toEqual([]);
  });
});

describe('readSpillFileLines', () => {
  /** Lines without a newline inside: as encoded records are. */
  const line = fc.string({ unit: 'grapheme', maxLength: 40 }).map((t) => t.replace(/\n/g, ' '));

  it('gives back the file as chunks of whole lines, whatever the read size', () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 30 }),
        fc.integer({ min: 1, max: 64 }),
        (lines, readBytes) => {
          const path = spillFile(lines);
          const chunks = [...readSpillFileLines(path, lines.length, 1024, readBytes)];
          for (const chunk of chunks) expect(chunk[chunk.length - 1]).toBe(0x0a);
          const text = Buffer.concat(chunks).toString('utf8');
          expect(text).toBe(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
        },
      ),
    );
  });

  it('keeps every chunk as it was: later reads go to new memory', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(i % 7)}`);
    const chunks = [...readSpillFileLines(spillFile(lines), lines.length, 1024, 16)];
    expect(Buffer.concat(chunks).toString()).toBe(`${lines.join('\n')}\n`);
  });

  it('fails on a file with fewer or more lines than the batch, or a last line cut short', () => {
    const path = spillFile(['a', 'b', 'c']);
    expect(() => [...readSpillFileLines(path, 4, 1024)]).toThrow(SpillFileCorruptError);
    expect(() => [...readSpillFileLines(path, 2, 1024)]).toThrow(/ends after 3 of 2 lines/);
    const cut = spillFile(['a', 'b'], false);
    expect(() => [...readSpillFileLines(cut, 2, 1024)]).toThrow(/line 2 has no newline/);
    const long = spillFile(['a', 'x'.repeat(100)]);
    expect(() => [...readSpillFileLines(long, 2, 50, 16)]).toThrow(/longer than 50 bytes/);
  });
});
