import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineTooLongError } from '../../src/errors/input-errors.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  type Line,
  LineSplitter,
  readLineBatches,
} from '../../src/protocol/line-splitter.js';

interface Outcome {
  lines: { text: string; bytes: string; lineNumber: number }[];
  error: unknown;
}

/** Runs the pull API over `chunks`, collecting lines until the end or the first error. */
function split(chunks: Buffer[], maxLineBytes?: number): Outcome {
  const splitter = new LineSplitter(maxLineBytes === undefined ? {} : { maxLineBytes });
  const lines: Outcome['lines'] = [];
  const keep = (line: Line) =>
    lines.push({
      text: line.bytes.toString('utf8'),
      bytes: line.bytes.toString('hex'),
      lineNumber: line.lineNumber,
    });
  try {
    for (const chunk of chunks) {
      splitter.push(chunk);
      for (let line = splitter.next(); line !== undefined; line = splitter.next()) keep(line);
    }
    const last = splitter.end();
    if (last !== undefined) keep(last);
  } catch (error) {
    return { lines, error };
  }
  return { lines, error: undefined };
}

const isBlankBytes = (b: Buffer) => b.every((c) => c === 0x20 || c === 0x09 || c === 0x0d);

/**
 * The reference: split the whole input on `\n` bytes, drop one trailing `\r` per line, number
 * every line, skip blank ones; the first line longer than the max ends the output with an error.
 */
function reference(input: Buffer, max: number): Outcome {
  const segments: Buffer[] = [];
  let start = 0;
  for (let i = input.indexOf(10); i !== -1; i = input.indexOf(10, start)) {
    segments.push(input.subarray(start, i));
    start = i + 1;
  }
  if (start < input.length) segments.push(input.subarray(start));
  const lines: Outcome['lines'] = [];
  for (const [index, segment] of segments.entries()) {
    const bytes = segment.at(-1) === 0x0d ? segment.subarray(0, -1) : segment;
    const lineNumber = index + 1;
    if (bytes.length > max) return { lines, error: new LineTooLongError(lineNumber, max) };
    if (isBlankBytes(bytes)) continue;
    lines.push({ text: bytes.toString('utf8'), bytes: bytes.toString('hex'), lineNumber });
  }
  return { lines, error: undefined };
}

/** Cuts `input` at the given positions (any byte offset, inside UTF-8 characters too). */
function chunk(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let previous = 0;
  for (const point of [...points, input.length]) {
    // Fresh copies: the splitter must not rely on chunks sharing one ArrayBuffer.
    chunks.push(Buffer.from(input.subarray(previous, point)));
    previous = point;
  }
  return chunks;
}

const piece = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 2, arbitrary: fc.constantFrom('€', '😀', 'é', '{"a":1}', 'x') },
  { weight: 3, arbitrary: fc.constantFrom('\n', '\r\n', '\r', ' ', '\t', ' \r\n', '\n\n', '') },
);
const inputText = fc.array(piece, { maxLength: 30 }).map((parts) => parts.join(''));

describe(LineSplitter, () => {
  describe('property: same lines as a reference split, whatever the chunking', () => {
    it('returns the same line bytes and line numbers', () => {
      fc.assert(
        fc.property(inputText, fc.array(fc.nat(), { maxLength: 12 }), (text, cuts) => {
          const input = Buffer.from(text, 'utf8');
          const expected = reference(input, DEFAULT_MAX_LINE_BYTES);
          const actual = split(chunk(input, cuts));
          expect(actual.error).toBeUndefined();
          expect(actual.lines).toEqual(expected.lines);
          // And against the string-level split of the brief.
          const viaString = input.toString('utf8').split(/\r?\n/);
          const viaSplitter = actual.lines.map((l) => l.text);
          // A last line ending in a lone `\r` (no `\n`) is stripped by the splitter only.
          expect(viaSplitter).toEqual(
            viaString
              .map((l, i, all) => (i === all.length - 1 ? l.replace(/\r$/, '') : l))
              .filter((l) => !/^[ \t\r]*$/.test(l)),
          );
        }),
        { numRuns: 500 },
      );
    });

    it('throws LineTooLongError at the first long line, with its number and no content', () => {
      fc.assert(
        fc.property(
          inputText,
          fc.array(fc.nat(), { maxLength: 12 }),
          fc.integer({ min: 1, max: 24 }),
          (text, cuts, max) => {
            const input = Buffer.from(text, 'utf8');
            const expected = reference(input, max);
            const actual = split(chunk(input, cuts), max);
            expect(actual.lines).toEqual(expected.lines);
            if (expected.error === undefined) {
              expect(actual.error).toBeUndefined();
            } else {
              expect(actual.error).toBeInstanceOf(LineTooLongError);
              const error = actual.error as LineTooLongError;
              const want = expected.error as LineTooLongError;
              expect(error.lineNumber).toBe(want.lineNumber);
              expect(error.maxLineBytes).toBe(max);
              // Exactly the fixed wording: nothing of the line is in it.
              expect(error.message).toBe(want.message);
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('.next', () => {
    it('returns zero-copy views for lines inside one chunk', () => {
      const chunk = Buffer.from('{"a":1}\n{"b":2}\n');
      const splitter = new LineSplitter();
      splitter.push(chunk);
      const first = splitter.next();
      expect(first?.bytes.toString()).toBe('{"a":1}');
      expect(first?.bytes.buffer).toBe(chunk.buffer);
      expect(first?.bytes.byteOffset).toBe(chunk.byteOffset);
    });

    it('joins a multi-byte character split across chunks', () => {
      const bytes = Buffer.from('{"x":"😀€"}\n');
      const { lines } = split([bytes.subarray(0, 8), bytes.subarray(8, 10), bytes.subarray(10)]);
      expect(lines.map((l) => l.text)).toEqual(['{"x":"😀€"}']);
    });

    it('strips a CRLF whose \\r ends one chunk and whose \\n starts the next', () => {
      const { lines } = split([Buffer.from('ab\r'), Buffer.from('\ncd\r\n')]);
      expect(lines).toEqual([
        { text: 'ab', bytes: Buffer.from('ab').toString('hex'), lineNumber: 1 },
        { text: 'cd', bytes: Buffer.from('cd').toString('hex'), lineNumber: 2 },
      ]);
    });

    it('keeps a lone \\r inside a line', () => {
      const { lines } = split([Buffer.from('a\r'), Buffer.from('b\n')]);
      expect(lines.map((l) => l.text)).toEqual(['a\rb']);
    });

    it('skips blank and whitespace-only lines but counts them', () => {
      const { lines } = split([Buffer.from('\n  \n\t\r\na\n\r\n \nb')]);
      expect(lines.map((l) => [l.text, l.lineNumber])).toEqual([
        ['a', 4],
        ['b', 7],
      ]);
    });

    it('refuses a push before the previous chunk is drained', () => {
      const splitter = new LineSplitter();
      splitter.push(Buffer.from('a\nb\n'));
      splitter.next();
      expect(() => splitter.push(Buffer.from('c\n'))).toThrow(/drained/);
    });

    it('refuses strings (stdin must not have an encoding)', () => {
      const splitter = new LineSplitter();
      expect(() => splitter.push('a\n' as unknown as Buffer)).toThrow(TypeError);
    });
  });

  describe('maxLineBytes', () => {
    it('accepts a line of exactly the max, CRLF included, even when the \\r ends a chunk', () => {
      const { lines, error } = split([Buffer.from('abcd\r'), Buffer.from('\n')], 4);
      expect(error).toBeUndefined();
      expect(lines.map((l) => l.text)).toEqual(['abcd']);
    });

    it('throws as soon as a partial line passes the max, before its end arrives', () => {
      const splitter = new LineSplitter({ maxLineBytes: 10 });
      splitter.push(Buffer.from('ok\nsecret-'));
      expect(splitter.next()?.lineNumber).toBe(1);
      expect(splitter.next()).toBeUndefined();
      splitter.push(Buffer.from('password'));
      let thrown: unknown;
      try {
        splitter.next();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(LineTooLongError);
      expect((thrown as LineTooLongError).lineNumber).toBe(2);
      expect((thrown as Error).message).not.toMatch(/secret|password/);
      expect(splitter.bufferedBytes).toBeLessThanOrEqual(11);
    });

    it('counts blank lines in the line number of the long line', () => {
      const { error } = split([Buffer.from('\n\n{"a":"xxxxxxxx"}\n')], 5);
      expect((error as LineTooLongError).lineNumber).toBe(3);
    });

    it('rejects a max that is not a positive integer', () => {
      expect(() => new LineSplitter({ maxLineBytes: 0 })).toThrow(RangeError);
      expect(() => new LineSplitter({ maxLineBytes: 1.5 })).toThrow(RangeError);
    });
  });

  describe('.end', () => {
    it('returns the last line when it has no newline', () => {
      const splitter = new LineSplitter();
      splitter.push(Buffer.from('a\nb'));
      expect(splitter.next()?.bytes.toString()).toBe('a');
      expect(splitter.next()).toBeUndefined();
      expect(splitter.end()).toEqual({ bytes: Buffer.from('b'), lineNumber: 2 });
      expect(splitter.end()).toBeUndefined();
      expect(() => splitter.push(Buffer.from('c'))).toThrow(/after end/);
    });

    it('returns nothing after a final newline', () => {
      const { lines } = split([Buffer.from('a\n')]);
      expect(lines).toHaveLength(1);
    });
  });
});

describe(readLineBatches, () => {
  it('yields the lines of each chunk, then the last line', async () => {
    const stream = Readable.from([Buffer.from('a\nb'), Buffer.from('c\n\nd\n'), Buffer.from('e')]);
    const batches: string[][] = [];
    for await (const batch of readLineBatches(stream)) {
      batches.push(batch.map((l) => `${l.lineNumber}:${l.bytes.toString()}`));
    }
    expect(batches).toEqual([['1:a'], ['2:bc', '4:d'], ['5:e']]);
  });

  it('propagates LineTooLongError', async () => {
    const stream = Readable.from([Buffer.from('aaaaaaaa')]);
    await expect(async () => {
      for await (const _ of readLineBatches(stream, { maxLineBytes: 4 })) {
        // drain
      }
    }).rejects.toThrow(LineTooLongError);
  });
});
