/**
 * A fast check of the common input line: a valid RECORD message. `recordLineKey` reads the line's
 * bytes once, checks that they are exactly one JSON value by the grammar `JSON.parse` applies,
 * and picks out the few fields `classifyMessage` rules on, without building the value. Reading
 * is validation only here (the record is parsed where the connector consumes it), so building
 * every string and object of a line that is never used is the cost this avoids.
 *
 * It answers one question: is this line certainly a RECORD that `classifyMessage` accepts, and
 * of which stream? Anything it is not sure of (not a record, a broken line, a field name written
 * with escapes, nesting deeper than MAX_DEPTH, a number too large for a double) gets `undefined`,
 * and the caller parses the line in full, so every message kind and every error stays the full
 * parser's. The rules it must agree with: the line is one JSON value (whitespace around it
 * allowed) and an object; for each field the last occurrence counts (as in `JSON.parse`); `type`
 * is `"RECORD"`; `record` is an object whose `stream` is a string, `data` an object,
 * `emitted_at` a finite number, and `namespace` absent, null or a string.
 *
 * Bytes are read as UTF-8 the way `Buffer.toString('utf8')` reads them: a byte below 0x80 is
 * always its own character (an invalid sequence never swallows one), so the grammar can be
 * checked on bytes; bytes of 0x80 and up are only valid inside strings, where any of them is.
 */
import { streamKey } from './messages.js';

/** Deeper values are left to the full parser. */
const MAX_DEPTH = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** What a field of interest held (the last time it occurred). */
const ABSENT = 0;
const STRING = 1;
const OBJECT = 2;
const NUMBER = 3;
const NULL = 4;
const OTHER = 5;

/** `\` may be followed by these (`u` then needs four hex digits). */
const ESCAPABLE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPABLE[c.charCodeAt(0)] = 1;
/** Hex digits. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const TYPE_FIELD = 1;
const RECORD_FIELD = 2;
const STREAM_FIELD = 3;
const DATA_FIELD = 4;
const EMITTED_AT_FIELD = 5;
const NAMESPACE_FIELD = 6;
const META_FIELD = 7;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Whether any of the four bytes of `word` is a quote, a backslash or below 0x20: each test is
 * the classic "has a byte less than" bit trick (exact about whether any byte matches), on the
 * word itself and on the word XOR the byte looked for (a zero byte there is a match). Byte order
 * does not matter.
 */
function wordNeedsLook(word: number): boolean {
  const quote = word ^ 0x22222222;
  const backslash = word ^ 0x5c5c5c5c;
  const found =
    ((word - 0x20202020) & ~word) |
    ((quote - 0x01010101) & ~quote) |
    ((backslash - 0x01010101) & ~backslash);
  return (found & 0x80808080) !== 0;
}

/** The 32-bit words of the memory behind the last line scanned (`Scan.words`). */
let wordsBuffer: ArrayBufferLike | undefined;
let wordsView: Int32Array<ArrayBufferLike> = new Int32Array(0);
/** A view of a larger memory is not kept after its line's scan. */
const KEEP_WORDS_BYTES = 1024 * 1024;

function wordsOf(buffer: ArrayBufferLike): Int32Array {
  if (buffer !== wordsBuffer) {
    wordsBuffer = buffer;
    wordsView = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  return wordsView;
}

/** A stream key seen before, with the bytes it came from; `next`: another with the same hash. */
interface KnownKey {
  readonly name: Uint8Array;
  readonly namespace: Uint8Array;
  readonly key: string;
  readonly next: KnownKey | undefined;
}
/**
 * Stream keys seen before, by a hash of their bytes (see `Scan.knownKey`): every stream of a
 * catalog of thousands stays known (a cache of a few slots made a sync of 1,000 interleaved
 * streams decode and join the name of almost every record). Forgotten all at once past
 * KNOWN_KEYS_LIMIT keys, which only input naming that many streams reaches.
 */
const KNOWN_KEYS = new Map<number, KnownKey>();
const KNOWN_KEYS_LIMIT = 16_384;
let knownKeyCount = 0;

/** The kind of a (valid) value by its first byte. */
function kindOf(c: number): number {
  if (c === QUOTE) return STRING;
  if (c === OPEN_OBJECT) return OBJECT;
  if (c === 0x6e) return NULL;
  if (c === MINUS || (c >= ZERO && c <= NINE)) return NUMBER;
  return OTHER;
}

/** One line's scan: the bytes and what was found in them (fields, not closures: fast access). */
class Scan {
  /** Whether the last string read held an escape. */
  escaped = false;
  typeKind = ABSENT;
  typeStart = 0;
  typeEnd = 0;
  recordKind = ABSENT;
  streamKind = ABSENT;
  streamStart = 0;
  streamEnd = 0;
  streamEscaped = false;
  dataKind = ABSENT;
  dataStart = 0;
  dataEnd = 0;
  metaKind = ABSENT;
  emittedKind = ABSENT;
  emittedStart = 0;
  emittedEnd = 0;
  namespaceKind = ABSENT;
  namespaceStart = 0;
  namespaceEnd = 0;
  namespaceEscaped = false;

  /** `b.length`. */
  readonly n: number;
  /** The memory behind `b` as 32-bit words, and where `b` starts in it. */
  readonly words: Int32Array;
  readonly base: number;

  constructor(readonly b: Buffer) {
    this.n = b.length;
    this.words = wordsOf(b.buffer);
    this.base = b.byteOffset;
  }

  skipWhitespace(i: number): number {
    const { b, n } = this;
    while (i < n && isWhitespace(b[i] as number)) i++;
    return i;
  }

  /** `i` at an opening quote: the index after the closing one, or -1. Sets `escaped`. */
  string(i: number): number {
    const { b, n, words, base } = this;
    let escaped = false;
    i++;
    for (;;) {
      // Four bytes at a time while none of them needs a look: from a 4-byte boundary of the
      // memory, a word without a quote, a backslash or a control character is skipped whole.
      let at = base + i;
      if ((at & 3) === 0) {
        const last = base + n - 4;
        while (at <= last && !wordNeedsLook(words[at >> 2] as number)) at += 4;
        i = at - base;
      }
      if (i >= n) return -1;
      const c = b[i] as number;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        const e = i + 1 < n ? (b[i + 1] as number) : 0;
        if (e === 0x75) {
          // \uXXXX
          if (i + 5 >= n) return -1;
          if (
            HEX[b[i + 2] as number] === 0 ||
            HEX[b[i + 3] as number] === 0 ||
            HEX[b[i + 4] as number] === 0 ||
            HEX[b[i + 5] as number] === 0
          )
            return -1;
          i += 6;
        } else if (ESCAPABLE[e] === 1) i += 2;
        else return -1;
      } else if (c < 0x20) return -1;
      else i++;
    }
    this.escaped = escaped;
    return i + 1;
  }

  digits(i: number): number {
    const { b, n } = this;
    while (i < n) {
      const c = b[i] as number;
      if (c < ZERO || c > NINE) break;
      i++;
    }
    return i;
  }

  /** `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` from `i`: the index after it, or -1. */
  number(i: number): number {
    const { b, n } = this;
    if (b[i] === MINUS) i++;
    if (i >= n) return -1;
    const first = b[i] as number;
    if (first === ZERO) i++;
    else if (first > ZERO && first <= NINE) i = this.digits(i + 1);
    else return -1;
    if (i < n && b[i] === DOT) {
      const start = i + 1;
      i = this.digits(start);
      if (i === start) return -1;
    }
    if (i < n && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < n && (b[i] === PLUS || b[i] === MINUS)) i++;
      const start = i;
      i = this.digits(start);
      if (i === start) return -1;
    }
    return i;
  }

  /** The bytes at `i` spell `word` (true, false, null): the index after it, or -1. */
  literal(i: number, word: string): number {
    if (i + word.length > this.n) return -1;
    for (let k = 0; k < word.length; k++) if (this.b[i + k] !== word.charCodeAt(k)) return -1;
    return i + word.length;
  }

  /** Any JSON value at `i` (whitespace already skipped): the index after it, or -1. */
  value(i: number, depth: number): number {
    if (i >= this.n) return -1;
    const c = this.b[i] as number;
    if (c === QUOTE) return this.string(i);
    if (c === OPEN_OBJECT) return this.object(i, depth + 1, 0);
    if (c === OPEN_ARRAY) return this.array(i, depth + 1);
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number(i);
    if (c === 0x74) return this.literal(i, 'true');
    if (c === 0x66) return this.literal(i, 'false');
    if (c === 0x6e) return this.literal(i, 'null');
    return -1;
  }

  array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const { b, n } = this;
    i = this.skipWhitespace(i + 1);
    if (i < n && b[i] === CLOSE_ARRAY) return i + 1;
    for (;;) {
      i = this.value(i, depth);
      if (i < 0) return -1;
      i = this.skipWhitespace(i);
      if (i >= n) return -1;
      const c = b[i];
      if (c === CLOSE_ARRAY) return i + 1;
      if (c !== COMMA) return -1;
      i = this.skipWhitespace(i + 1);
    }
  }

  /**
   * An object at `i`: the index after it, or -1. `level` 1 is the message, 2 the message's
   * `record`; their fields of interest are noted (a name with escapes there gives up: -1).
   */
  object(i: number, depth: number, level: number): number {
    if (depth > MAX_DEPTH) return -1;
    const { b, n } = this;
    i = this.skipWhitespace(i + 1);
    if (i < n && b[i] === CLOSE_OBJECT) return i + 1;
    for (;;) {
      if (i >= n || b[i] !== QUOTE) return -1;
      const nameStart = i + 1;
      i = this.string(i);
      if (i < 0) return -1;
      let field = 0;
      if (level !== 0) {
        if (this.escaped) return -1;
        field = this.fieldOf(level, nameStart, i - 1);
      }
      i = this.skipWhitespace(i);
      if (i >= n || b[i] !== COLON) return -1;
      i = this.skipWhitespace(i + 1);
      const start = i;
      if (field === RECORD_FIELD && b[i] === OPEN_OBJECT) {
        this.resetRecord();
        this.recordKind = OBJECT;
        i = this.object(i, depth + 1, 2);
      } else i = this.value(i, depth);
      if (i < 0) return -1;
      if (field !== 0) this.note(field, start, i);
      i = this.skipWhitespace(i);
      if (i >= n) return -1;
      const c = b[i];
      if (c === CLOSE_OBJECT) return i + 1;
      if (c !== COMMA) return -1;
      i = this.skipWhitespace(i + 1);
    }
  }

  /** Whether the bytes `start`–`end` spell `name` (ASCII). */
  named(start: number, end: number, name: string): boolean {
    if (end - start !== name.length) return false;
    for (let k = 0; k < name.length; k++)
      if (this.b[start + k] !== name.charCodeAt(k)) return false;
    return true;
  }

  /** The field of interest a name at `level` is, or 0. */
  fieldOf(level: number, start: number, end: number): number {
    if (level === 1) {
      if (this.named(start, end, 'type')) return TYPE_FIELD;
      if (this.named(start, end, 'record')) return RECORD_FIELD;
      return 0;
    }
    switch (end - start) {
      case 4:
        if (this.named(start, end, 'data')) return DATA_FIELD;
        return this.named(start, end, 'meta') ? META_FIELD : 0;
      case 6:
        return this.named(start, end, 'stream') ? STREAM_FIELD : 0;
      case 9:
        return this.named(start, end, 'namespace') ? NAMESPACE_FIELD : 0;
      case 10:
        return this.named(start, end, 'emitted_at') ? EMITTED_AT_FIELD : 0;
      default:
        return 0;
    }
  }

  /** Notes the value of a field of interest, read from `start` to `end`. */
  note(field: number, start: number, end: number): void {
    const kind = kindOf(this.b[start] as number);
    switch (field) {
      case TYPE_FIELD:
        this.typeKind = kind === STRING && !this.escaped ? STRING : OTHER;
        this.typeStart = start + 1;
        this.typeEnd = end - 1;
        return;
      case RECORD_FIELD:
        // An object was read field by field (object() above); anything else is not a record.
        if (kind !== OBJECT) this.recordKind = OTHER;
        return;
      case STREAM_FIELD:
        this.streamKind = kind;
        this.streamStart = start + 1;
        this.streamEnd = end - 1;
        this.streamEscaped = this.escaped;
        return;
      case DATA_FIELD:
        this.dataKind = kind;
        this.dataStart = start;
        this.dataEnd = end;
        return;
      case META_FIELD:
        this.metaKind = kind;
        return;
      case EMITTED_AT_FIELD:
        this.emittedKind = kind;
        this.emittedStart = start;
        this.emittedEnd = end;
        return;
      case NAMESPACE_FIELD:
        this.namespaceKind = kind;
        this.namespaceStart = start + 1;
        this.namespaceEnd = end - 1;
        this.namespaceEscaped = this.escaped;
        return;
    }
  }

  resetRecord(): void {
    this.streamKind = ABSENT;
    this.dataKind = ABSENT;
    this.metaKind = ABSENT;
    this.emittedKind = ABSENT;
    this.namespaceKind = ABSENT;
  }

  /**
   * Whether the (valid) number at `start`–`end` is finite as a double: always without an
   * exponent and with fewer than 309 characters (the largest double has 309 digits).
   */
  finiteNumber(start: number, end: number): boolean {
    const { b } = this;
    if (end - start < 309) {
      let plain = true;
      for (let k = start; k < end; k++) {
        const c = b[k] as number;
        if (c === 0x65 || c === 0x45) {
          plain = false;
          break;
        }
      }
      if (plain) return true;
    }
    return Number.isFinite(Number(b.toString('latin1', start, end)));
  }

  /** A string field's value (`start`–`end` inside its quotes). */
  text(start: number, end: number, withEscapes: boolean): string {
    return withEscapes
      ? (JSON.parse(this.b.toString('utf8', start - 1, end + 1)) as string)
      : this.b.toString('utf8', start, end);
  }

  /** Whether the bytes `start`–`end` are those of `known`. */
  same(known: Uint8Array, start: number, end: number): boolean {
    if (known.length !== end - start) return false;
    const { b } = this;
    for (let k = 0; k < known.length; k++) if (known[k] !== b[start + k]) return false;
    return true;
  }

  /**
   * The key of a stream name and namespace written without escapes (namespace bytes empty when
   * absent or null, which gives the same key as ""): from KNOWN_KEYS when these bytes were seen
   * before, so the same streams are not decoded and joined again for every line.
   */
  knownKey(nameStart: number, nameEnd: number, namespaceStart: number, namespaceEnd: number) {
    const { b } = this;
    let hash = nameEnd - nameStart;
    for (let k = nameStart; k < nameEnd; k++) hash = (Math.imul(hash, 31) + (b[k] as number)) | 0;
    for (let k = namespaceStart; k < namespaceEnd; k++)
      hash = (Math.imul(hash, 31) + (b[k] as number)) | 0;
    const first = KNOWN_KEYS.get(hash);
    for (let known = first; known !== undefined; known = known.next) {
      if (
        this.same(known.name, nameStart, nameEnd) &&
        this.same(known.namespace, namespaceStart, namespaceEnd)
      )
        return known.key;
    }
    const name = b.toString('utf8', nameStart, nameEnd);
    const namespace = b.toString('utf8', namespaceStart, namespaceEnd);
    const key = streamKey({ name, namespace });
    if (knownKeyCount >= KNOWN_KEYS_LIMIT) {
      KNOWN_KEYS.clear();
      knownKeyCount = 0;
    }
    KNOWN_KEYS.set(hash, {
      name: Uint8Array.prototype.slice.call(b, nameStart, nameEnd),
      namespace: Uint8Array.prototype.slice.call(b, namespaceStart, namespaceEnd),
      key,
      next: knownKeyCount === 0 ? undefined : first,
    });
    knownKeyCount++;
    return key;
  }

  /** See `recordLineKey`. */
  key(): string | undefined {
    const { b, n } = this;
    let i = this.skipWhitespace(0);
    if (i >= n || b[i] !== OPEN_OBJECT) return undefined;
    i = this.object(i, 1, 1);
    if (i < 0 || this.skipWhitespace(i) !== n) return undefined;
    if (
      this.typeKind !== STRING ||
      !this.named(this.typeStart, this.typeEnd, 'RECORD') ||
      this.recordKind !== OBJECT ||
      this.streamKind !== STRING ||
      this.dataKind !== OBJECT ||
      this.emittedKind !== NUMBER ||
      (this.namespaceKind !== ABSENT &&
        this.namespaceKind !== NULL &&
        this.namespaceKind !== STRING)
    )
      return undefined;
    if (!this.finiteNumber(this.emittedStart, this.emittedEnd)) return undefined;
    const hasNamespace = this.namespaceKind === STRING;
    if (!this.streamEscaped && !(hasNamespace && this.namespaceEscaped)) {
      return this.knownKey(
        this.streamStart,
        this.streamEnd,
        hasNamespace ? this.namespaceStart : 0,
        hasNamespace ? this.namespaceEnd : 0,
      );
    }
    const name = this.text(this.streamStart, this.streamEnd, this.streamEscaped);
    const namespace =
      this.namespaceKind === STRING
        ? this.text(this.namespaceStart, this.namespaceEnd, this.namespaceEscaped)
        : undefined;
    return streamKey({ name, namespace });
  }
}

/**
 * `streamKey` of the record when `line` is certainly a RECORD message that `classifyMessage`
 * accepts; `undefined` when the line needs the full parser (see the module header).
 */
export function recordLineKey(line: Buffer): string | undefined {
  const key = new Scan(line).key();
  forgetLargeWords(line);
  return key;
}

function forgetLargeWords(line: Buffer): void {
  if (line.buffer.byteLength > KEEP_WORDS_BYTES) {
    wordsBuffer = undefined;
    wordsView = new Int32Array(0);
  }
}

/** A RECORD line `scanRecordLine` is sure of, and where its parts are. */
export interface ScannedRecordLine {
  /** `streamKey` of the record's stream. */
  readonly key: string;
  /** `record.emitted_at`. */
  readonly emittedAt: number;
  /** The bytes of `record.data` (an object) in the line: `line.subarray(dataStart, dataEnd)`. */
  readonly dataStart: number;
  readonly dataEnd: number;
}

/**
 * As `recordLineKey`, with where the record's parts are, for a RECORD line without `meta`;
 * `undefined` for any other line (the caller parses it in full).
 */
export function scanRecordLine(line: Buffer): ScannedRecordLine | undefined {
  const scan = new Scan(line);
  const key = scan.key();
  forgetLargeWords(line);
  if (key === undefined || scan.metaKind !== ABSENT) return undefined;
  return {
    key,
    // JSON's number grammar is a subset of Number's; the text was checked to be finite.
    emittedAt: Number(line.toString('latin1', scan.emittedStart, scan.emittedEnd)),
    dataStart: scan.dataStart,
    dataEnd: scan.dataEnd,
  };
}
