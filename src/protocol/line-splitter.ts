/**
 * Splits the bytes read on stdin into lines: the hot path of every sync. Works on Buffers only
 * (no readline, no setEncoding, no per-line Promise), so a multi-byte UTF-8 character split
 * across two chunks is simply joined back byte for byte.
 *
 * Terms:
 * - chunk: one Buffer as delivered by the input stream.
 * - line: the bytes between two `\n` (byte 10), without the `\n` and without one `\r` just before
 *   it (CRLF input). The last line of the input may lack its `\n`.
 * - blank line: a line that is empty or holds only JSON whitespace (space, tab, `\r`). Blank lines
 *   are skipped, but they still count in line numbers (JSONL probes in socket mode are blank).
 * - line number: 1-based, counting every line of the input, blank ones included.
 *
 * Ownership: a line that lies inside one chunk is a zero-copy `subarray` of that chunk; a line
 * spanning chunks is a fresh Buffer. Node's readable streams (process.stdin as a pipe, a file or
 * a socket; fs.ReadStream) allocate a new buffer for every chunk and never write to it again once
 * it is delivered, so a consumer may keep a line after the next chunk is pushed. Two caveats:
 * a kept subarray keeps its whole parent chunk (up to 64 KiB) alive, so copy small lines that are
 * kept for long when memory accounting matters; and a caller that pushes buffers it later reuses
 * (its own read loop with one buffer, or net.Socket's `onread` user buffer) must copy lines before
 * reusing the buffer.
 */
import { LineTooLongError } from '../errors/input-errors.js';

/** Default maximum line size: 100 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 104_857_600;

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const EMPTY = Buffer.alloc(0);
/** Partial-line pieces are merged once this many are held, so tiny chunks cannot pile up. */
const MAX_PENDING_PIECES = 1024;

export interface LineSplitterOptions {
  /**
   * Longest line accepted, in bytes, not counting its `\n` or the `\r` of a CRLF. A longer line
   * throws {@link LineTooLongError} as soon as its first max + 1 bytes have been pushed.
   * Default {@link DEFAULT_MAX_LINE_BYTES} (100 MiB).
   */
  readonly maxLineBytes?: number;
}

/** One non-blank input line. */
export interface Line {
  /** The line's bytes, without `\n` or a CRLF's `\r` (see the module header for ownership). */
  readonly bytes: Buffer;
  /** 1-based; blank lines are counted. */
  readonly lineNumber: number;
}

/**
 * A pull-style line splitter. Usage: `push(chunk)`, then call `next()` until it returns
 * `undefined`, then push the next chunk; at the end of input call `end()` once for the last line
 * (one without a trailing `\n`).
 *
 * ```ts
 * const splitter = new LineSplitter();
 * for await (const chunk of process.stdin) {
 *   splitter.push(chunk);
 *   for (let line = splitter.next(); line !== undefined; line = splitter.next()) handle(line);
 * }
 * const last = splitter.end();
 * if (last !== undefined) handle(last);
 * ```
 */
export class LineSplitter {
  readonly maxLineBytes: number;
  /** The chunk being split; `undefined` once every complete line of it was returned. */
  private chunk: Buffer | undefined;
  /** Where the next line of `chunk` starts. */
  private pos = 0;
  /** The start of a line that is not complete yet: tails of earlier chunks, non-empty pieces. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lines = 0;
  private ended = false;

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${String(max)}`);
    }
    this.maxLineBytes = max;
  }

  /** Number of lines completed so far, blank ones included (the last line number handed out). */
  get lineCount(): number {
    return this.lines;
  }

  /** Bytes of the incomplete line held from earlier chunks. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Hands the splitter the next chunk. Call only after `next()` returned `undefined` for the
   * previous chunk (every line of it was taken). Empty chunks are ignored.
   */
  push(chunk: Buffer): void {
    if (this.ended) throw new Error('LineSplitter.push() called after end()');
    if (this.chunk !== undefined) {
      throw new Error(
        'LineSplitter.push() called before the previous chunk was drained: call next() until it returns undefined',
      );
    }
    if (!Buffer.isBuffer(chunk)) {
      throw new TypeError('LineSplitter.push() takes Buffers (do not set an encoding on stdin)');
    }
    if (chunk.length === 0) return;
    this.chunk = chunk;
    this.pos = 0;
  }

  /**
   * The next non-blank complete line of the pushed chunks, or `undefined` when the current chunk
   * holds no further complete line (its tail is kept for the next chunk).
   * @throws LineTooLongError when a line exceeds `maxLineBytes`.
   */
  next(): Line | undefined {
    for (;;) {
      const chunk = this.chunk;
      if (chunk === undefined) return undefined;
      const start = this.pos;
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        this.chunk = undefined;
        this.holdTail(chunk, start);
        return undefined;
      }
      this.pos = nl + 1;
      if (this.pos === chunk.length) this.chunk = undefined;
      const lineNumber = ++this.lines;
      let bytes: Buffer;
      if (this.pendingBytes === 0) {
        let end = nl;
        if (end > start && chunk[end - 1] === CR) end--;
        if (end - start > this.maxLineBytes)
          throw new LineTooLongError(lineNumber, this.maxLineBytes);
        bytes = chunk.subarray(start, end);
      } else {
        bytes = this.joinPending(chunk.subarray(start, nl), lineNumber);
      }
      if (isBlank(bytes)) continue;
      return { bytes, lineNumber };
    }
  }

  /**
   * Ends the input and returns its last line when it had no trailing `\n` (and is not blank).
   * Call once, after `next()` returned `undefined`; later calls return `undefined`.
   * @throws LineTooLongError when that line exceeds `maxLineBytes`.
   */
  end(): Line | undefined {
    if (this.chunk !== undefined) {
      throw new Error('LineSplitter.end() called before the last chunk was drained');
    }
    if (this.ended) return undefined;
    this.ended = true;
    if (this.pendingBytes === 0) return undefined;
    const lineNumber = ++this.lines;
    const bytes = this.joinPending(EMPTY, lineNumber);
    return isBlank(bytes) ? undefined : { bytes, lineNumber };
  }

  /** Keeps `chunk[start..]`, the beginning of a line whose `\n` has not arrived yet. */
  private holdTail(chunk: Buffer, start: number): void {
    const length = chunk.length - start;
    if (length === 0) return;
    const piece = start === 0 ? chunk : chunk.subarray(start);
    const held = this.pendingBytes + length;
    // A trailing `\r` may be the first half of a CRLF: it only counts once a non-`\n` follows.
    if (held - (piece[length - 1] === CR ? 1 : 0) > this.maxLineBytes) {
      throw new LineTooLongError(this.lines + 1, this.maxLineBytes);
    }
    this.pendingBytes = held;
    this.pending.push(piece);
    if (this.pending.length >= MAX_PENDING_PIECES) {
      this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    }
  }

  /** Joins the held pieces with `head` (the rest of the line) and strips a CRLF's `\r`. */
  private joinPending(head: Buffer, lineNumber: number): Buffer {
    const total = this.pendingBytes + head.length;
    const lastPiece = head.length > 0 ? head : this.pending[this.pending.length - 1];
    const cr = lastPiece !== undefined && lastPiece[lastPiece.length - 1] === CR ? 1 : 0;
    if (total - cr > this.maxLineBytes) throw new LineTooLongError(lineNumber, this.maxLineBytes);
    if (head.length > 0) this.pending.push(head);
    const joined =
      this.pending.length === 1 && this.pending[0] !== undefined
        ? this.pending[0]
        : Buffer.concat(this.pending, total);
    this.pending = [];
    this.pendingBytes = 0;
    return cr === 1 ? joined.subarray(0, total - 1) : joined;
  }
}

/** True for an empty line or one of JSON whitespace only (space, tab, `\r`). */
function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== SPACE && b !== TAB && b !== CR) return false;
  }
  return true;
}

/**
 * Reads `stream` to its end and yields the non-blank lines of each chunk as one array (chunks
 * without a complete line yield nothing), then the last line if it had no `\n`. For consumers that
 * do not need the pull API; lines follow the same ownership rules as {@link LineSplitter}.
 * @throws LineTooLongError when a line exceeds `options.maxLineBytes`.
 */
export async function* readLineBatches(
  stream: AsyncIterable<Buffer>,
  options: LineSplitterOptions = {},
): AsyncGenerator<Line[], void, undefined> {
  const splitter = new LineSplitter(options);
  for await (const chunk of stream) {
    splitter.push(chunk);
    const batch: Line[] = [];
    for (let line = splitter.next(); line !== undefined; line = splitter.next()) batch.push(line);
    if (batch.length > 0) yield batch;
  }
  const last = splitter.end();
  if (last !== undefined) yield [last];
}
