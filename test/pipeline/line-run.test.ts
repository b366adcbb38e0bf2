import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildRun,
  headBytes,
  type LineRun,
  LineRunCorruptError,
  lineBytes,
  linesFilling,
  parseRun,
  releaseRun,
  runOf,
  splitRun,
} from '../../src/pipeline/line-run.js';

/** A validated line: one JSON object, possibly with JSON whitespace (no newline) around tokens. */
const objectLine = fc
  .tuple(
    fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
    fc.constantFrom('', ' ', '\t', '\r', ' \r '),
  )
  .map(([value, space]) => Buffer.from(`${space}${JSON.stringify(value)}${space}`, 'utf8'));

function linesOf(run: LineRun): string[] {
  const out: string[] = [];
  for (let i = 0, start = 0; i < run.ends.length; start = (run.ends[i] as number) + 1, i++)
    out.push(run.bytes.toString('utf8', start, run.ends[i]));
  return out;
}

describe('line runs', () => {
  it('keep every line, cut anywhere, and parse to what each line parses to', () => {
    fc.assert(
      fc.property(
        fc.array(objectLine, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.boolean(),
        (lines, cuts, reversed) => {
          const total = lines.reduce((n, l) => n + l.length, 0);
          const { run, buffer } = buildRun(lines, total);
          expect(lineBytes(run)).toBe(total);
          // The transferred form reads back the same.
          expect(linesOf(runOf(buffer, lines.length))).toEqual(lines.map((l) => l.toString()));
          // Cut into parts at arbitrary line counts, as batches do.
          const parts: LineRun[] = [];
          let rest = run;
          for (const cut of cuts) {
            const at = (cut % rest.ends.length) + 1;
            if (at >= rest.ends.length) break;
            const [head, tail] = splitRun(rest, at);
            expect(lineBytes(head)).toBe(headBytes(rest, at));
            parts.push(head);
            rest = tail;
          }
          parts.push(rest);
          expect(parts.flatMap(linesOf)).toEqual(lines.map((l) => l.toString()));
          expect(parts.reduce((n, p) => n + lineBytes(p), 0)).toBe(total);
          // Parts are parsed in any order (batches finish in any order); the first part is
          // decoded in place behind buildRun's `[`, the others by joining strings.
          const order = parts.map((_, i) => i);
          if (reversed) order.reverse();
          const values = new Array<unknown[]>(parts.length);
          for (const i of order) values[i] = parseRun(parts[i] as LineRun, 'test');
          expect(values.flat()).toEqual(lines.map((l) => JSON.parse(l.toString())));
        },
      ),
    );
  });

  it('take the lines that fill a batch, the last one filling it', () => {
    const lines = [Buffer.from('{"a":1}'), Buffer.from('{"bb":22}'), Buffer.from('{}')];
    const { run } = buildRun(lines, 7 + 9 + 2);
    expect(linesFilling(run, 1)).toBe(1);
    expect(linesFilling(run, 7)).toBe(1);
    expect(linesFilling(run, 8)).toBe(2);
    expect(linesFilling(run, 16)).toBe(2);
    expect(linesFilling(run, 17)).toBe(3);
    expect(linesFilling(run, 1000)).toBe(3);
  });

  it('name the line that does not read back, never its content', () => {
    const lines = [Buffer.from('{"a":1}'), Buffer.from('{"secret":"4711"'), Buffer.from('{}')];
    const { run } = buildRun(
      lines,
      lines.reduce((n, l) => n + l.length, 0),
    );
    let caught: unknown;
    try {
      parseRun(run, 'a batch kept in memory');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LineRunCorruptError);
    expect((caught as Error).message).toBe(
      'a batch kept in memory: line 2 of a run cannot be read back',
    );
    expect(String((caught as Error).cause ?? '')).not.toContain('4711');
  });

  it('detect lines that parse as an array but not one value each', () => {
    // Each line alone is broken; joined they would parse: a count check catches it.
    const lines = [Buffer.from('{"a":[1'), Buffer.from('2]}')];
    const { run } = buildRun(
      lines,
      lines.reduce((n, l) => n + l.length, 0),
    );
    expect(() => parseRun(run, 'test')).toThrow(LineRunCorruptError);
  });

  it('give a buffer back only once every part cut from it was released', () => {
    const runs = Array.from({ length: 16 }, (_, i) => {
      const lines = [Buffer.from(`{"i":${i}}`), Buffer.from('{"j":2}'), Buffer.from('{}')];
      return buildRun(
        lines,
        lines.reduce((n, l) => n + l.length, 0),
      ).run;
    });
    const parts = runs.map((run) => splitRun(run, 1));
    // Heads released: every tail still reads.
    for (const [head] of parts) releaseRun(head);
    for (const [, tail] of parts) expect(linesOf(tail)).toEqual(['{"j":2}', '{}']);
    // Tails released: the buffers are given back (moved out, empty here).
    for (const [, tail] of parts) releaseRun(tail);
    for (const run of runs) expect(run.owner.buffer.byteLength).toBe(0);
  });
});
