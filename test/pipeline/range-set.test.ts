import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRangeError } from '../../src/pipeline/pipeline-errors.js';
import { type IndexRange, RangeSet } from '../../src/pipeline/range-set.js';

/** The naive model: one boolean per integer of [0, universe). */
class BooleanModel {
  readonly bits: boolean[];
  constructor(universe: number) {
    this.bits = new Array<boolean>(universe).fill(false);
  }
  add(start: number, end: number): void {
    for (let i = start; i < end; i++) this.bits[i] = true;
  }
  covers(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (!this.bits[i]) return false;
    return true;
  }
  get size(): number {
    return this.bits.filter(Boolean).length;
  }
  runs(): IndexRange[] {
    const runs: IndexRange[] = [];
    let start = -1;
    for (let i = 0; i <= this.bits.length; i++) {
      const bit = this.bits[i] === true;
      if (bit && start < 0) start = i;
      if (!bit && start >= 0) {
        runs.push([start, i]);
        start = -1;
      }
    }
    return runs;
  }
}

/** Why `ranges` is not merged (sorted, non-empty, neither overlapping nor touching), or ''. */
function mergeViolation(ranges: readonly IndexRange[]): string {
  for (const [i, [start, end]] of ranges.entries()) {
    if (start >= end) return `empty range at ${i}`;
    const next = ranges[i + 1];
    if (next !== undefined && end >= next[0]) return `ranges ${i} and ${i + 1} overlap or touch`;
  }
  return '';
}

const UNIVERSE = 48;
const rangeArb = fc
  .tuple(fc.nat({ max: UNIVERSE }), fc.nat({ max: 12 }))
  .map(([start, length]): IndexRange => [start, Math.min(UNIVERSE, start + length)]);

/** Mostly consecutive ranges, as batches of an append-mostly stream arrive. */
const appendMostlyArb = fc
  .array(fc.tuple(fc.nat({ max: 6 }), fc.nat({ max: 3 }), fc.boolean()), { maxLength: 30 })
  .map((steps) => {
    const ranges: IndexRange[] = [];
    let cursor = 0;
    for (const [length, gap, backtrack] of steps) {
      const start = backtrack ? Math.max(0, cursor - gap * 3) : cursor + (gap === 3 ? 2 : 0);
      const end = Math.min(UNIVERSE, start + length);
      if (start > end) continue;
      ranges.push([start, end]);
      cursor = Math.max(cursor, end);
    }
    return ranges;
  });

// Plain comparisons in the loops (collected into one `expect`): `expect` per check is too slow
// for hundreds of runs.
function checkAgainstModel(adds: readonly IndexRange[]): void {
  const set = new RangeSet();
  const model = new BooleanModel(UNIVERSE);
  const mismatches: string[] = [];
  for (const [start, end] of adds) {
    set.add(start, end);
    model.add(start, end);
    const ranges = set.ranges();
    const violation = mergeViolation(ranges);
    if (violation !== '') mismatches.push(`after add(${start}, ${end}): ${violation}`);
    expect(ranges).toEqual(model.runs());
    if (set.size !== model.size) mismatches.push(`size ${set.size} != ${model.size}`);
    if (set.rangeCount !== ranges.length) mismatches.push(`rangeCount ${set.rangeCount}`);
    for (let n = 0; n <= UNIVERSE + 1; n++) {
      if (set.coversPrefix(n) !== (n <= UNIVERSE && model.covers(0, n))) {
        mismatches.push(`coversPrefix(${n}) after add(${start}, ${end})`);
      }
    }
  }
  for (let start = 0; start <= UNIVERSE; start++) {
    for (let end = start; end <= UNIVERSE; end++) {
      if (set.covers(start, end) !== model.covers(start, end)) {
        mismatches.push(`covers(${start}, ${end})`);
      }
    }
  }
  if (!set.coversPrefix(set.prefixEnd) || set.coversPrefix(set.prefixEnd + 1)) {
    mismatches.push(`prefixEnd ${set.prefixEnd}`);
  }
  expect(mismatches).toEqual([]);
}

describe(RangeSet, () => {
  describe('properties', () => {
    it('agrees with a boolean-array model under random adds', () => {
      fc.assert(fc.property(fc.array(rangeArb, { maxLength: 25 }), checkAgainstModel), {
        numRuns: 400,
      });
    });

    it('agrees with a boolean-array model under append-mostly adds', () => {
      fc.assert(fc.property(appendMostlyArb, checkAgainstModel), { numRuns: 400 });
    });

    it('does not depend on the order of adds', () => {
      fc.assert(
        fc.property(
          fc
            .array(rangeArb, { maxLength: 15 })
            .chain((adds) =>
              fc.tuple(fc.constant(adds), fc.shuffledSubarray(adds, { minLength: adds.length })),
            ),
          ([adds, shuffled]) => {
            expect(RangeSet.of(...shuffled).ranges()).toEqual(RangeSet.of(...adds).ranges());
          },
        ),
      );
    });
  });

  describe('.add', () => {
    it('coalesces adjacent ranges', () => {
      expect(RangeSet.of([0, 3], [3, 5]).ranges()).toEqual([[0, 5]]);
    });

    it('coalesces a range that bridges several ranges', () => {
      const set = RangeSet.of([0, 2], [4, 6], [8, 10], [12, 14]);
      set.add(1, 9);
      expect(set.ranges()).toEqual([
        [0, 10],
        [12, 14],
      ]);
      expect(set.size).toBe(12);
    });

    it('keeps apart ranges with a gap of one', () => {
      expect(RangeSet.of([0, 3], [4, 5]).ranges()).toEqual([
        [0, 3],
        [4, 5],
      ]);
    });

    it('inserts a range before the first one', () => {
      const set = RangeSet.of([10, 12]);
      set.add(2, 4);
      expect(set.ranges()).toEqual([
        [2, 4],
        [10, 12],
      ]);
    });

    it('ignores an empty range', () => {
      const set = RangeSet.of([5, 5]);
      expect(set.ranges()).toEqual([]);
      expect(set.size).toBe(0);
    });

    it.each([
      [-1, 2],
      [3, 2],
      [0.5, 2],
      [0, Number.POSITIVE_INFINITY],
      [0, Number.NaN],
    ])('rejects [%s, %s)', (start, end) => {
      const set = new RangeSet();
      expect(() => set.add(start, end)).toThrow(InvalidRangeError);
      expect(set.size).toBe(0);
    });
  });

  describe('.covers', () => {
    it('is true for an empty range, even in an empty set', () => {
      expect(new RangeSet().covers(7, 7)).toBe(true);
      expect(new RangeSet().coversPrefix(0)).toBe(true);
    });

    it('is false across a gap', () => {
      expect(RangeSet.of([0, 3], [4, 6]).covers(2, 5)).toBe(false);
    });

    it('rejects an invalid range', () => {
      expect(() => new RangeSet().covers(4, 2)).toThrow(InvalidRangeError);
    });
  });

  describe('.prefixEnd', () => {
    it('is 0 when 0 is not in the set', () => {
      expect(RangeSet.of([1, 4]).prefixEnd).toBe(0);
    });

    it('is the end of the range starting at 0', () => {
      expect(RangeSet.of([0, 4], [5, 9]).prefixEnd).toBe(4);
    });
  });

  describe('.ranges', () => {
    it('returns a copy', () => {
      const set = RangeSet.of([0, 2]);
      const ranges = set.ranges() as [number, number][];
      (ranges[0] as [number, number])[1] = 100;
      ranges.push([5, 6]);
      expect(set.ranges()).toEqual([[0, 2]]);
    });
  });
});
