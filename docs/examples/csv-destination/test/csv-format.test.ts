import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeSegment } from '../src/csv-files.js';
import { csvLine, parseCsvLine } from '../src/csv-format.js';

describe('csv format', () => {
  it('reads back every line it writes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 6 }),
        (fields) => {
          const line = csvLine(fields);
          expect(line.endsWith('\n')).toBe(true);
          expect(parseCsvLine(line.slice(0, -1))).toEqual(fields);
        },
      ),
    );
  });

  it('maps names to distinct, safe path segments', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(safeSegment(a)).toMatch(/^[\p{L}\p{N}_%-]+$/u);
        if (a !== b) expect(safeSegment(a)).not.toBe(safeSegment(b));
      }),
    );
  });
});
