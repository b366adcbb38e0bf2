/**
 * Epoch milliseconds as an ISO-8601 UTC string with milliseconds (`2023-11-14T22:13:20.000Z`),
 * the way destinations write `_airbyte_extracted_at`: the same string as
 * `new Date(ms).toISOString()`, but the part up to the seconds is formatted once per second —
 * records come with the same or close `emitted_at` values, and `toISOString` per record was a
 * visible share of a load.
 */

/** The largest distance from the epoch a Date can represent, in ms (ECMAScript TimeClip). */
export const MAX_DATE_MS = 8.64e15;
/** `.000Z` … `.999Z`: how every ISO string of a Date ends. */
const MILLISECOND_SUFFIXES: readonly string[] = Array.from(
  { length: 1000 },
  (_, ms) => `.${String(ms).padStart(3, '0')}Z`,
);
/** The last whole second formatted, and its ISO string up to the seconds (`…T22:13:20`). */
let cachedSecond = Number.NaN;
let cachedSecondPrefix = '';

/** `new Date(epochMs).toISOString()`, or null when no Date can represent `epochMs`. */
export function isoTimestamp(epochMs: number): string | null {
  // TimeClip: NaN beyond ±8.64e15 ms, else truncated towards zero.
  if (!(Math.abs(epochMs) <= MAX_DATE_MS)) return null;
  const ms = Math.trunc(epochMs);
  let millisecond = ms % 1000;
  if (millisecond < 0) millisecond += 1000; // before 1970 the second starts below ms
  const second = ms - millisecond;
  if (second !== cachedSecond) {
    cachedSecondPrefix = new Date(second).toISOString().slice(0, -5);
    cachedSecond = second;
  }
  return cachedSecondPrefix + MILLISECOND_SUFFIXES[millisecond];
}
