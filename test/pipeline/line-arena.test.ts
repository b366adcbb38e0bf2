import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineArena } from '../../src/pipeline/line-arena.js';

describe('LineArena', () => {
  it('gives back the appended lines, newline-terminated and in order, and is empty after', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a.filter((b) => b !== 10))),
        ),
        fc.integer({ min: 1, max: 64 }),
        (lines, chunkBytes) => {
          const arena = new LineArena(chunkBytes);
          for (const line of lines) arena.append(line);
          expect(arena.lines).toBe(lines.length);
          expect(arena.bytes).toBe(lines.reduce((n, l) => n + l.length, 0));
          const { buffers, ends } = arena.take();
          const expected = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
          expect(Buffer.concat(buffers).equals(expected)).toBe(true);
          // The recorded line ends give back every line.
          const back: Buffer[] = [];
          buffers.forEach((buffer, b) => {
            let start = 0;
            for (const end of ends[b] ?? []) {
              back.push(buffer.subarray(start, end));
              start = end + 1;
            }
          });
          expect(back).toEqual(lines);
          expect(arena.lines).toBe(0);
          expect(arena.bytes).toBe(0);
          expect(arena.take()).toEqual({ buffers: [], ends: [] });
        },
      ),
    );
  });

  it('copies: changing the source line afterwards changes nothing', () => {
    const arena = new LineArena(1024);
    const line = Buffer.from('abc');
    arena.append(line);
    line.write('xyz');
    expect(Buffer.concat(arena.take().buffers).toString()).toBe('abc\n');
  });
});
