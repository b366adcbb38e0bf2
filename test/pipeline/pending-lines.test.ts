import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PendingLines,
  STREAM_SEND_BYTES,
  TOTAL_SEND_BYTES,
} from '../../src/pipeline/pending-lines.js';

const line = (bytes: number, fill = 'x') => Buffer.from(fill.repeat(bytes));

describe(PendingLines, () => {
  it('is due for a stream at STREAM_SEND_BYTES and for every stream at TOTAL_SEND_BYTES', () => {
    const pending = new PendingLines<string, number>();
    pending.read(20);
    expect(pending.add('a', line(10), () => 0)).toBe(false);
    expect(pending.add('b', line(10), () => 5)).toBe(false);
    expect(pending.due('b')).toEqual(['b']);
    expect(pending.due('c')).toEqual([]);
    expect(pending.due()).toEqual(['a', 'b']); // oldest first
    pending.read(STREAM_SEND_BYTES);
    expect(pending.add('b', line(STREAM_SEND_BYTES), () => 9)).toBe(true);
    expect(pending.due('b')).toEqual(['b']);
    // Enough in all: every stream is due, whatever `only` says.
    for (let n = 0; (n * STREAM_SEND_BYTES) / 2 < TOTAL_SEND_BYTES; n++) {
      pending.read(STREAM_SEND_BYTES / 2);
      pending.add('c', line(STREAM_SEND_BYTES / 2), () => 1);
    }
    expect(pending.due('b')).toEqual(['a', 'b', 'c']);
  });

  it('sends every stream once the pending lines hold on to `limit` bytes of input, however few their own bytes', () => {
    // A sparse stream's one line keeps its whole chunk: the limit is on the input held, from the
    // chunk of the oldest pending line on, not on the lines' bytes.
    const pending = new PendingLines<string, number>(1000);
    pending.read(100);
    expect(pending.add('sparse', line(5), () => 0)).toBe(false);
    // A busy stream is sent at STREAM_SEND_BYTES and taken each time: the sparse line stays.
    for (let i = 0; i < 9; i++) {
      pending.read(100);
      expect(pending.add('busy', line(10), () => i)).toBe(false);
      pending.take('busy');
    }
    expect(pending.due('busy')).toEqual([]);
    pending.read(100);
    // 1,000 bytes read since the sparse line's chunk: both are due, though 15 bytes are pending.
    expect(pending.add('busy', line(10), () => 9)).toBe(true);
    expect(pending.due('busy')).toEqual(['sparse', 'busy']);
    pending.take('sparse');
    // The oldest line is now the busy one's, read 100 bytes ago.
    expect(pending.due('busy')).toEqual(['busy']);
    pending.take('busy');
    expect(pending.empty).toBe(true);
  });

  it('takes a stream out as one run with the data of its first line', () => {
    const pending = new PendingLines<string, number>();
    pending.add('a', line(3, 'p'), () => 7);
    pending.add('a', line(2, 'q'), () => 8);
    const taken = pending.take('a');
    expect(taken?.data).toBe(7);
    expect(taken?.bytes).toBe(5);
    expect(taken?.run.bytes.toString()).toBe('ppp\nqq\n');
    expect(pending.take('a')).toBeUndefined();
    expect(pending.due()).toEqual([]);
    pending.add('b', line(4), () => 0);
    expect(pending.clear()).toBe(4);
    expect(pending.due()).toEqual([]);
  });

  it("property: every line goes out once, in its stream's order, and what is pending never holds on to the limit", () => {
    // An owner as both consumers are: it reads chunks (sending all when `read` says so), adds
    // each line (a view of its chunk) and sends what is due at once. Streams interleave at random;
    // a chunk may hold no record at all (other messages).
    const limit = 4 * 1024;
    const chunkOf = fc.record({
      size: fc.integer({ min: 16, max: 2048 }),
      lines: fc.array(
        fc.record({
          stream: fc.integer({ min: 0, max: 7 }),
          size: fc.integer({ min: 8, max: 64 }),
        }),
        { maxLength: 12 },
      ),
    });
    fc.assert(
      fc.property(fc.array(chunkOf, { maxLength: 60 }), (chunks) => {
        const pending = new PendingLines<number, undefined>(limit);
        const added = new Map<number, string[]>();
        const sent = new Map<number, string[]>();
        /** Input read when each stream's oldest pending line came. */
        const since = new Map<number, number>();
        let read = 0;
        let seq = 0;
        const send = (streams: readonly number[]) => {
          for (const stream of streams) {
            const taken = pending.take(stream);
            if (taken === undefined) continue;
            const lines = taken.run.bytes.toString().split('\n').slice(0, -1);
            sent.set(stream, [...(sent.get(stream) ?? []), ...lines]);
            since.delete(stream);
          }
        };
        for (const chunk of chunks) {
          const bytes = Buffer.alloc(chunk.size, 0x2e);
          read += bytes.length;
          if (pending.read(bytes.length)) send(pending.due());
          let at = 0;
          for (const { stream, size } of chunk.lines) {
            if (at + size > bytes.length) break;
            bytes.write(`${stream}:${seq++}`.slice(0, size), at);
            const line = bytes.subarray(at, at + size);
            at += size;
            added.set(stream, [...(added.get(stream) ?? []), line.toString()]);
            if (!since.has(stream)) since.set(stream, read);
            if (pending.add(stream, line, () => undefined)) send(pending.due(stream));
          }
          // The oldest pending line's chunk was read less than `limit` bytes ago.
          if (since.size > 0) expect(read - Math.min(...since.values())).toBeLessThan(limit);
        }
        send(pending.due());
        expect(pending.empty).toBe(true);
        expect(sent).toEqual(added);
      }),
      // Found by this property before `read` could say that all were due: a record, then chunks
      // of other messages only, held on to the limit until the next record came.
      {
        examples: [
          [
            [
              { size: 16, lines: [{ stream: 0, size: 3 }] },
              { size: 876, lines: [] },
              { size: 1344, lines: [] },
              { size: 1876, lines: [] },
            ],
          ],
        ],
      },
    );
  });
});
