/**
 * A line run: some validated record lines of one stream, copied back to back into a buffer of
 * their own, each followed by `\n` (the spill file format), with where each line ends. Records
 * travel from the input to the connector as runs: the input builds them (the main thread, or the
 * input worker thread, which transfers them), SpillToDisk cuts them at batch boundaries and
 * either writes them to a spill file as they are or hands them to a ProcessRecords worker, which
 * parses a whole run at once (`parseRun`).
 *
 * A run owns its bytes: holding it holds no input chunk and no other stream's records.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { SystemError } from '../errors/destkit-error.js';

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export interface LineRun {
  /** The lines, each followed by `\n`; exactly the run's lines. */
  readonly bytes: Buffer;
  /** `ends[i]`: offset in `bytes` of line `i`'s newline. Line `i` starts at `ends[i - 1] + 1`. */
  readonly ends: Int32Array;
  /** The buffer behind the run and the parts cut from it (see `releaseRun`). */
  readonly owner: RunOwner;
}

/** A run's buffer and how many parts of it are not released yet. */
interface RunOwner {
  readonly buffer: ArrayBuffer;
  parts: number;
}

/** Bytes of the run's lines, newlines excluded (what the memory budget counts). */
export function lineBytes(run: LineRun): number {
  return run.bytes.length - run.ends.length;
}

/** A buffer of its own (never the shared pool), so it can be transferred; not zeroed. */
function allocateUnzeroed(size: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
}

/**
 * Copies `lines` (`bytes` long in all) into a new run, in one buffer of its own that the input
 * worker transfers whole: the ends, a `[` (the bracket `parseRun` parses the lines with), then
 * the lines.
 */
export function buildRun(
  lines: readonly Buffer[],
  bytes: number,
): { readonly run: LineRun; readonly buffer: ArrayBuffer } {
  const count = lines.length;
  const run = allocateRun(count, bytes + count);
  const { bytes: out, ends } = run;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const line = lines[i] as Buffer;
    out.set(line, at);
    at += line.length;
    ends[i] = at;
    out[at++] = NEWLINE;
  }
  return { run, buffer: run.owner.buffer };
}

/** A run of `count` lines, `size` bytes with their newlines, laid out but not filled in. */
function allocateRun(count: number, size: number): LineRun {
  const buffer = allocateUnzeroed(4 * count + 1 + size);
  new Uint8Array(buffer, 4 * count, 1)[0] = OPEN_BRACKET;
  return {
    bytes: Buffer.from(buffer, 4 * count + 1, size),
    ends: new Int32Array(buffer, 0, count),
    owner: { buffer, parts: 1 },
  };
}

/**
 * A new run of `lines` (each followed by `\n`, as in a run), `ends[i]` the offset of line `i`'s
 * newline: both copied into one buffer of the run's own, laid out as `buildRun` lays it out.
 */
export function runOfLines(lines: Buffer, ends: Int32Array): LineRun {
  const run = allocateRun(ends.length, lines.length);
  run.ends.set(ends);
  run.bytes.set(lines);
  return run;
}

/** The run whose backing buffer was built by `buildRun` (after a transfer). */
export function runOf(buffer: ArrayBuffer, count: number): LineRun {
  return {
    ends: new Int32Array(buffer, 0, count),
    bytes: Buffer.from(buffer, 4 * count + 1),
    owner: { buffer, parts: 1 },
  };
}

/** Line bytes (newlines excluded) of the first `count` lines. */
export function headBytes(run: LineRun, count: number): number {
  return count === 0 ? 0 : (run.ends[count - 1] as number) + 1 - count;
}

/**
 * How many of the run's first lines hold at least `room` bytes (newlines excluded): the lines a
 * batch with `room` bytes left takes, the last one filling it. All of them when they hold less.
 */
export function linesFilling(run: LineRun, room: number): number {
  const { ends } = run;
  // Line bytes of the first k lines: ends[k - 1] + 1 - k.
  for (let k = 1; k <= ends.length; k++) if ((ends[k - 1] as number) + 1 - k >= room) return k;
  return ends.length;
}

/** How many of the run's first lines fit in `limit` bytes (newlines excluded); at least one. */
export function linesWithin(run: LineRun, limit: number): number {
  const { ends } = run;
  let k = 1;
  while (k < ends.length && (ends[k] as number) - k <= limit) k++;
  return k;
}

/** Splits a run after its first `count` lines (0 < count < lines). Views, no copy of the bytes. */
export function splitRun(run: LineRun, count: number): readonly [LineRun, LineRun] {
  const cut = (run.ends[count - 1] as number) + 1;
  const tailEnds = new Int32Array(run.ends.length - count);
  for (let i = 0; i < tailEnds.length; i++) tailEnds[i] = (run.ends[count + i] as number) - cut;
  const { owner } = run;
  owner.parts++;
  return [
    { bytes: run.bytes.subarray(0, cut), ends: run.ends.subarray(0, count), owner },
    { bytes: run.bytes.subarray(cut), ends: tailEnds, owner },
  ];
}

/** Buffers of released runs are handed to the discard port this many at a time. */
const FREE_AT_ONCE = 16;
let toFree: ArrayBuffer[] = [];
let discardPort: MessagePort | undefined;

/**
 * Releases a run (or a part of one) nobody reads any more: written to a spill file, or parsed.
 * Once every part of its buffer is released, the buffer's memory is given back at once instead
 * of at a full garbage collection: a run usually outlives a few minor collections in its batch,
 * so its buffer object sits in the old generation, and dead buffers there pile up outside the
 * heap until the next major collection. The buffer is moved (transferred) through a message
 * port whose receiver drops it: what is left here is a detached, empty buffer. A run must not be
 * read after its release.
 */
export function releaseRun(run: LineRun): void {
  const { owner } = run;
  owner.parts--;
  if (owner.parts !== 0) return;
  toFree.push(owner.buffer);
  if (toFree.length < FREE_AT_ONCE) return;
  const buffers = toFree;
  toFree = [];
  if (discardPort === undefined) {
    const { port1, port2 } = new MessageChannel();
    // Received and dropped: the moved buffers die young on arrival and are freed promptly.
    port2.on('message', () => undefined);
    port2.unref();
    port1.unref();
    discardPort = port1;
  }
  try {
    discardPort.postMessage(null, buffers);
  } catch {
    // A buffer that cannot be moved (already detached) is left to the garbage collector.
  }
}

export class LineRunCorruptError extends SystemError {
  override readonly code = 'LINE_RUN_CORRUPT';
  /** The index in its run of the first line that does not parse alone, when one was found. */
  lineIndex?: number;
}

/**
 * Parses every line of a run, in one `JSON.parse` of them as an array. This is sound only
 * because every line was validated on its own as one JSON object when it was read: whole JSON
 * values joined by commas are exactly the array of those values. Should the array not parse to
 * one value per line (a defect, not bad input), the lines are parsed one by one to name the first
 * that fails.
 *
 * Consumes the run: its newlines become commas, the last one `]`. When the byte just before the
 * run's bytes (in the same memory) is a `[` that nobody else reads (`buildRun` puts one there),
 * the array's text is decoded in place, without joining strings, which JSON.parse would copy.
 */
export function parseRun(run: Pick<LineRun, 'bytes' | 'ends'>, where: string): unknown[] {
  const { bytes, ends } = run;
  const count = ends.length;
  if (count === 0) return [];
  for (let i = 0; i < count - 1; i++) bytes[ends[i] as number] = COMMA;
  const last = ends[count - 1] as number;
  bytes[last] = CLOSE_BRACKET;
  let values: unknown;
  try {
    const framed =
      bytes.byteOffset > 0 ? Buffer.from(bytes.buffer, bytes.byteOffset - 1, last + 2) : undefined;
    values = JSON.parse(
      framed?.[0] === OPEN_BRACKET
        ? framed.toString('utf8')
        : `[${bytes.toString('utf8', 0, last)}]`,
    );
  } catch {
    values = undefined;
  }
  if (Array.isArray(values) && values.length === count) return values;
  // Find the line that does not parse on its own (JSON.parse's message quotes the input: it is
  // not kept as the cause, record data never goes into an error).
  for (let i = 0, start = 0; i < count; start = (ends[i] as number) + 1, i++) {
    try {
      JSON.parse(bytes.toString('utf8', start, ends[i]));
    } catch {
      const error = new LineRunCorruptError(`${where}: line ${i + 1} of a run cannot be read back`);
      error.lineIndex = i;
      throw error;
    }
  }
  throw new LineRunCorruptError(`${where}: a run of ${count} lines does not read back as ${count}`);
}
