import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLines } from '../../src/protocol/parse-lines.js';

/** JSON text of any value, on one line (JSON.stringify never writes a raw newline). */
const valueLine = fc.jsonValue().map((v) => JSON.stringify(v));

/** Lines cut out of valid JSON at arbitrary places: merges and splits of values. */
const fragmentLines = fc
  .tuple(
    fc.array(fc.jsonValue(), { minLength: 1, maxLength: 6 }),
    fc.array(fc.nat(), { maxLength: 6 }),
  )
  .map(([values, cuts]) => {
    const text = values.map((v) => JSON.stringify(v)).join(',');
    const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
    const parts: string[] = [];
    let from = 0;
    for (const cut of at) {
      parts.push(text.slice(from, cut));
      from = cut;
    }
    parts.push(text.slice(from));
    return parts;
  });

function parsesAlone(line: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch {
    return { ok: false };
  }
}

function check(lines: readonly string[]): void {
  const values = parseLines(lines.map((l) => Buffer.from(l, 'utf8')));
  const alone = lines.map(parsesAlone);
  if (values === undefined) {
    // Only when some line is not one JSON value on its own.
    expect(alone.some((a) => !a.ok)).toBe(true);
    return;
  }
  expect(values).toHaveLength(lines.length);
  alone.forEach((a, i) => {
    expect(a.ok).toBe(true);
    if (a.ok) expect(values[i]).toStrictEqual(a.value);
  });
}

describe(parseLines, () => {
  it('gives what each line parses to alone, for lines of whole values', () => {
    fc.assert(
      fc.property(fc.array(valueLine, { maxLength: 30 }), (lines) => {
        const values = parseLines(lines.map((l) => Buffer.from(l, 'utf8')));
        expect(values).toStrictEqual(lines.map((l) => JSON.parse(l)));
      }),
    );
  });

  it('never accepts a line that is not exactly one value, however the lines were cut', () => {
    fc.assert(fc.property(fragmentLines, check), { numRuns: 500 });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            valueLine,
            fc.string(),
            fragmentLines.map((p) => p.join('')),
          ),
          { maxLength: 12 },
        ),
        (lines) => check(lines.map((l) => l.replace(/\n/g, ' '))),
      ),
      { numRuns: 500 },
    );
  });

  it('rejects merges and splits that keep the count of a plain join', () => {
    // Joined with plain commas these three lines parse as three values.
    for (const lines of [
      ['{"a":[1', '2]}', '{"b":1},{"c":2}'],
      ['"x', 'y"', '1'],
      ['[1', '2]', '3,4'],
      ['{}', '{}],[{}', '[{}'],
    ]) {
      expect(parseLines(lines.map((l) => Buffer.from(l)))).toBeUndefined();
    }
  });

  it('keeps whitespace, unicode and lone surrogates as a line alone gives them', () => {
    const lines = [' {"a":"é\\ud800"}\r', '\t[1, 2]', '"\\u2028"', '{"__proto__":{"x":1}}'];
    expect(parseLines(lines.map((l) => Buffer.from(l)))).toStrictEqual(
      lines.map((l) => JSON.parse(l)),
    );
  });
});
