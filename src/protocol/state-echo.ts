/**
 * Renders the echo of an input STATE line: the very bytes that were read, with
 * `"destinationStats":{"recordCount":N}` set inside the top-level `state` object. Nothing is
 * parsed and re-serialized: the platform matches echoes by hashing the state's blob, and numbers
 * such as `100.0` or 12345678901234567890 would not survive a JSON round trip (PROTOCOL.md §3).
 *
 * A small scanner (string-, escape- and nesting-aware) finds the value of the last top-level
 * `state` member (the one JSON.parse keeps), then either replaces the value of its last
 * `destinationStats` member or inserts that member before the state's closing brace.
 */
import { SystemError } from '../errors/destkit-error.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const STATE_KEY = Buffer.from('"state"');
const STATS_KEY = Buffer.from('"destinationStats"');

/**
 * Returns the echo of `raw` (one STATE line, as read) with `state.destinationStats` set to
 * `{"recordCount":recordCount}`. Trailing whitespace (a CR, spaces) is dropped; every other byte
 * is kept. The result is a new Buffer that does not reference `raw`.
 * @throws SystemError when `raw` has no top-level `state` object or `recordCount` is not a
 *   non-negative safe integer (the message never includes the line's content).
 */
export function echoStateLine(raw: Buffer, recordCount: number): Buffer {
  if (!Number.isSafeInteger(recordCount) || recordCount < 0) {
    throw new SystemError(
      `cannot echo a state with recordCount ${String(recordCount)}: not a non-negative integer`,
    );
  }
  const end = trimEnd(raw);
  const state = findMember(raw, skipWs(raw, 0, end), end, STATE_KEY, 'state');
  if (state === undefined || raw[state.valueStart] !== LBRACE) {
    throw new SystemError('cannot echo a state line: it has no top-level "state" object');
  }
  const stats = Buffer.from(`{"recordCount":${recordCount}}`);
  const existing = findMember(raw, state.valueStart, state.valueEnd, STATS_KEY, 'destinationStats');
  if (existing !== undefined) {
    return Buffer.concat([
      raw.subarray(0, existing.valueStart),
      stats,
      raw.subarray(existing.valueEnd, end),
    ]);
  }
  const close = state.valueEnd - 1; // the state object's closing brace
  const member = Buffer.from(`${state.isNonEmptyObject ? ',' : ''}"destinationStats":`);
  return Buffer.concat([raw.subarray(0, close), member, stats, raw.subarray(close, end)]);
}

interface MemberValue {
  /** First byte of the matched member's value. */
  readonly valueStart: number;
  /** One past its last byte. */
  readonly valueEnd: number;
  /** True when the value is an object with at least one member (a comma is needed to add one). */
  readonly isNonEmptyObject: boolean;
}

/**
 * Scans the object starting at `open` (a `{`, ending before `limit`) and returns the span of the
 * value of its last member named `name` (`quotedKey` is its plain quoted form), or `undefined`
 * when there is no such member.
 */
function findMember(
  b: Buffer,
  open: number,
  limit: number,
  quotedKey: Buffer,
  name: string,
): MemberValue | undefined {
  if (b[open] !== LBRACE) malformed();
  let found: MemberValue | undefined;
  let i = skipWs(b, open + 1, limit);
  if (b[i] === RBRACE) return undefined;
  for (;;) {
    if (b[i] !== QUOTE) malformed();
    const keyStart = i;
    const keyEnd = skipString(b, i, limit);
    i = skipWs(b, keyEnd, limit);
    if (b[i] !== COLON) malformed();
    const valueStart = skipWs(b, i + 1, limit);
    const valueEnd = skipValue(b, valueStart, limit);
    if (keyEquals(b, keyStart, keyEnd, quotedKey, name)) {
      found = { valueStart, valueEnd, isNonEmptyObject: isNonEmptyObject(b, valueStart, valueEnd) };
    }
    i = skipWs(b, valueEnd, limit);
    if (b[i] === COMMA) {
      i = skipWs(b, i + 1, limit);
      continue;
    }
    if (b[i] === RBRACE) return found;
    malformed();
  }
}

/** For a value `b[start..end)`: true when it is an object other than `{}` (with any whitespace). */
function isNonEmptyObject(b: Buffer, start: number, end: number): boolean {
  return b[start] === LBRACE && skipWs(b, start + 1, end) !== end - 1;
}

/** Compares a quoted key with a name; keys with escapes (`"\u0073tate"`) are decoded first. */
function keyEquals(b: Buffer, start: number, end: number, quoted: Buffer, name: string): boolean {
  const length = end - start;
  // An escaped key is longer than the name it decodes to, so equal lengths compare as bytes.
  if (length === quoted.length) return b.compare(quoted, 0, quoted.length, start, end) === 0;
  if (length < quoted.length || b.subarray(start, end).indexOf(BACKSLASH) === -1) return false;
  try {
    return JSON.parse(b.toString('utf8', start, end)) === name;
  } catch {
    return malformed();
  }
}

/** Index after the string whose opening quote is at `i`. */
function skipString(b: Buffer, i: number, limit: number): number {
  let q = i;
  for (;;) {
    q = b.indexOf(QUOTE, q + 1);
    if (q === -1 || q >= limit) malformed();
    let backslashes = 0;
    while (b[q - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
  }
}

/** Index after the JSON value starting at `i`. */
function skipValue(b: Buffer, i: number, limit: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i, limit);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    while (i < limit) {
      const d = b[i];
      if (d === QUOTE) {
        i = skipString(b, i, limit);
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    malformed();
  }
  // A number, true, false or null: up to the next delimiter.
  const start = i;
  while (i < limit) {
    const d = b[i];
    if (d === COMMA || d === RBRACE || d === RBRACKET || isWs(d)) break;
    i++;
  }
  if (i === start) malformed();
  return i;
}

function skipWs(b: Buffer, i: number, limit: number): number {
  while (i < limit && isWs(b[i])) i++;
  return i;
}

function trimEnd(b: Buffer): number {
  let end = b.length;
  while (end > 0 && isWs(b[end - 1])) end--;
  return end;
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function malformed(): never {
  throw new SystemError('cannot echo a state line: it is not a JSON object');
}
