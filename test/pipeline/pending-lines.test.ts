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
});
