/**
 * A set of non-negative integers stored as merged half-open ranges: the record indexes of a
 * stream that reached some batch state. Pure, no I/O.
 *
 * Terms:
 * - range: `[start, end)` of record indexes; empty when `start === end`.
 * - merged: the stored ranges are sorted, non-empty, and neither overlap nor touch — adding
 *   `[0, 3)` and `[3, 5)` leaves the single range `[0, 5)`.
 *
 * Batches mostly arrive in index order, so `add` appends or extends the last range in O(1);
 * anything else costs a binary search plus one splice.
 */
import { InvalidRangeError } from './pipeline-errors.js';

/** A half-open range `[start, end)` of record indexes. */
export type IndexRange = readonly [start: number, end: number];

function assertValidRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new InvalidRangeError(start, end);
  }
}

/** The first position whose value is ≥ `value` in an ascending array (the length if none). */
function lowerBound(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((values[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The first position whose value is > `value` in an ascending array (the length if none). */
function upperBound(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((values[middle] as number) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class RangeSet {
  // Parallel arrays: range i is [starts[i], ends[i]). Both ascending, and ends[i] < starts[i + 1].
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #size = 0;

  /** Builds a set from ranges in any order; overlapping and adjacent ones are merged. */
  static of(...ranges: readonly IndexRange[]): RangeSet {
    const set = new RangeSet();
    for (const [start, end] of ranges) set.add(start, end);
    return set;
  }

  /** The number of integers in the set (not the number of ranges; see `rangeCount`). */
  get size(): number {
    return this.#size;
  }

  /** The number of merged ranges. */
  get rangeCount(): number {
    return this.#starts.length;
  }

  /** The end of the range that starts at 0, i.e. the largest `n` with `coversPrefix(n)`. */
  get prefixEnd(): number {
    return this.#starts[0] === 0 ? (this.#ends[0] as number) : 0;
  }

  /** Adds `[start, end)`; an empty range is a no-op. Throws InvalidRangeError on bad bounds. */
  add(start: number, end: number): void {
    assertValidRange(start, end);
    if (start === end) return;
    const starts = this.#starts;
    const ends = this.#ends;
    const last = starts.length - 1;

    // Fast paths for append-mostly input: past the last range, or touching it from inside.
    if (last < 0 || start > (ends[last] as number)) {
      starts.push(start);
      ends.push(end);
      this.#size += end - start;
      return;
    }
    if (start >= (starts[last] as number)) {
      const lastEnd = ends[last] as number;
      if (end > lastEnd) {
        ends[last] = end;
        this.#size += end - lastEnd;
      }
      return;
    }

    // Ranges first..past-1 touch or overlap [start, end); everything else is left alone.
    const first = lowerBound(ends, start);
    const past = upperBound(starts, end);
    if (first >= past) {
      starts.splice(first, 0, start);
      ends.splice(first, 0, end);
      this.#size += end - start;
      return;
    }
    const mergedStart = Math.min(start, starts[first] as number);
    const mergedEnd = Math.max(end, ends[past - 1] as number);
    let absorbed = 0;
    for (let i = first; i < past; i++) absorbed += (ends[i] as number) - (starts[i] as number);
    starts.splice(first, past - first, mergedStart);
    ends.splice(first, past - first, mergedEnd);
    this.#size += mergedEnd - mergedStart - absorbed;
  }

  /** True when every integer of `[start, end)` is in the set; always true for an empty range. */
  covers(start: number, end: number): boolean {
    assertValidRange(start, end);
    if (start === end) return true;
    // Ranges are merged, so a covered range lies inside the one range that contains `start`.
    const candidate = upperBound(this.#starts, start) - 1;
    return candidate >= 0 && (this.#ends[candidate] as number) >= end;
  }

  /** True when `[0, n)` is covered (`covers(0, n)`). */
  coversPrefix(n: number): boolean {
    return this.covers(0, n);
  }

  /** The merged ranges in ascending order (a copy). */
  ranges(): IndexRange[] {
    return this.#starts.map((start, i): IndexRange => [start, this.#ends[i] as number]);
  }

  toString(): string {
    return `RangeSet{${this.ranges()
      .map(([start, end]) => `[${start}, ${end})`)
      .join(', ')}}`;
  }
}
