/**
 * Parses many complete input lines in one `JSON.parse`, for the input worker's validation: one
 * call over a few hundred lines costs less than a call per line. Each line must still be
 * validated as exactly one JSON value on its own, which a plain join (`[l1,l2,…]`) does not
 * check: a broken line can merge with its neighbours into valid JSON (`{"a":[1` and `2]}`), and
 * another can split in two (`{},{}`) so the count still matches.
 *
 * So the lines are joined with a separator holding a number chosen at random per process,
 * `\n,N,\n`, and the result must be exactly `[v1, N, v2, N, …, vk]`. Every separator's N then
 * stands at the top level of the array (the input cannot hold N where it would be needed without
 * knowing it), so every separator's commas are top-level commas, and the text between two of
 * them — one line — is exactly one JSON value. A raw newline cannot occur inside a JSON string,
 * so no string spans a separator either. Anything else (a parse error, another shape) returns
 * `undefined`, and the caller parses those lines one by one to name the first broken one.
 *
 * The values are what `JSON.parse` of each line alone gives.
 */
import { randomBytes } from 'node:crypto';

/** 2^52 plus 52 random bits: an integer exact as a double, printed as 16 digits. */
function randomMarker(): number {
  const bytes = randomBytes(8);
  return 2 ** 52 + (bytes.readUInt32BE(0) & 0xfffff) * 2 ** 32 + bytes.readUInt32BE(4);
}

const MARKER = randomMarker();
const SEPARATOR = Buffer.from(`\n,${MARKER},\n`, 'latin1');

/** The JSON value of every line, in order; `undefined` when some line is not one value. */
export function parseLines(lines: readonly Buffer[]): unknown[] | undefined {
  const count = lines.length;
  if (count === 0) return [];
  let size = 2 + SEPARATOR.length * (count - 1);
  for (const line of lines) size += line.length;
  const text = Buffer.allocUnsafe(size);
  text[0] = 0x5b; // [
  let at = 1;
  for (let i = 0; i < count; i++) {
    if (i > 0) at += SEPARATOR.copy(text, at);
    at += (lines[i] as Buffer).copy(text, at);
  }
  text[at] = 0x5d; // ]
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 * count - 1) return undefined;
  const values = new Array<unknown>(count);
  for (let i = 0; i < count; i++) {
    if (i > 0 && parsed[2 * i - 1] !== MARKER) return undefined;
    values[i] = parsed[2 * i];
  }
  return values;
}
