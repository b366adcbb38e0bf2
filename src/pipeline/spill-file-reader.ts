/**
 * Reads a spill file (or the line runs of a batch kept in memory) back as DestinationRecords,
 * lazily and synchronously (256 KiB reads; a run at a time), so a connector iterating them holds
 * few records at a time. Both hold input lines that the InputConsumer already validated, so the
 * lines of a spill file are parsed a group at a time, like a run (`parseRun`).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { SystemError } from '../errors/destkit-error.js';
import type { AirbyteRecord } from '../protocol/messages.js';
import type { DestinationRecord } from '../write/destination-writer.js';
import { type LineRun, LineRunCorruptError, parseRun, releaseRun } from './line-run.js';

const READ_BYTES = 256 * 1024;
/**
 * Lines of a spill file parsed in one `JSON.parse`: enough to amortize the call, few enough that
 * the parsed records die young (the size of an input run).
 */
const GROUP_LINES = 128;
const NEWLINE = 0x0a;
const OPEN_BRACKET = 0x5b;

export class SpillFileCorruptError extends SystemError {
  override readonly code = 'SPILL_FILE_CORRUPT';
}

/** JSON.parse's message quotes the input: it is not kept as the cause (record data). */
function corrupt(where: string, lineNumber: number, problem = 'cannot be read back') {
  return new SpillFileCorruptError(`${where} line ${lineNumber} ${problem}`);
}

/** Whole lines of a spill file, as `lineChunks` reads them. */
interface LineChunk {
  /** The lines, each followed by its newline; one byte before `data` is free to write. */
  readonly data: Buffer;
  /** Offsets of the newlines in `data`. */
  readonly ends: readonly number[];
  /** The line number of the first line. */
  readonly firstLine: number;
  /** The file's last line, which had no newline: one was put after it. */
  readonly unterminated: boolean;
}

/**
 * A spill file as chunks of whole lines, read `readBytes` at a time (a line longer than that is
 * read in growing pieces, up to `maxLineBytes`). Every chunk is memory of its own.
 */
function* lineChunks(
  fd: number,
  where: string,
  maxLineBytes: number,
  readBytes: number,
): Generator<LineChunk, void, undefined> {
  /** The start of a line whose newline was not read yet. */
  let carry: Buffer | undefined;
  /** The line number of the first line of the next read. */
  let lineNumber = 1;
  for (;;) {
    const carried = carry?.length ?? 0;
    const size = Math.max(readBytes, 2 * carried);
    // One byte before the lines, for the reader (parseRun's `[`).
    const chunk = Buffer.allocUnsafe(size + 1).subarray(1);
    carry?.copy(chunk, 0);
    const read = readSync(fd, chunk, carried, size - carried, null);
    if (read === 0) {
      if (carry !== undefined) {
        chunk[carried] = NEWLINE; // size ≥ 2 × carried: there is room
        const data = chunk.subarray(0, carried + 1);
        yield { data, ends: [carried], firstLine: lineNumber, unterminated: true };
      }
      return;
    }
    const data = chunk.subarray(0, carried + read);
    const ends: number[] = [];
    for (let at = data.indexOf(NEWLINE, carried); at !== -1; at = data.indexOf(NEWLINE, at + 1))
      ends.push(at);
    const last = ends.length === 0 ? -1 : (ends[ends.length - 1] as number);
    carry = last + 1 < data.length ? data.subarray(last + 1) : undefined;
    if (carry !== undefined && carry.length > maxLineBytes)
      throw corrupt(where, lineNumber + ends.length, `is longer than ${maxLineBytes} bytes`);
    if (ends.length > 0) {
      yield { data: data.subarray(0, last + 1), ends, firstLine: lineNumber, unterminated: false };
      lineNumber += ends.length;
    }
  }
}

/**
 * The records of a spill file, in order. `readBytes` is the size of one read (a line longer than
 * that is read in growing pieces, up to `maxLineBytes`).
 */
export function* readSpillFile(
  path: string,
  stream: DestinationStream,
  maxLineBytes: number,
  readBytes = READ_BYTES,
): Generator<DestinationRecord, void, undefined> {
  const where = `spill file ${path}`;
  const fd = openSync(path, 'r');
  try {
    // A last line without its newline: spill files end with one, but it is parsed all the same.
    for (const { data, ends, firstLine } of lineChunks(fd, where, maxLineBytes, readBytes)) {
      for (let first = 0; first < ends.length; first += GROUP_LINES) {
        const start = first === 0 ? 0 : (ends[first - 1] as number) + 1;
        const groupEnds = Int32Array.from(
          ends.slice(first, first + GROUP_LINES),
          (end) => end - start,
        );
        const bytes = data.subarray(start, start + (groupEnds[groupEnds.length - 1] as number) + 1);
        yield* parseGroup(bytes, groupEnds, stream, where, firstLine + first);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Lines of a spill file (each followed by `\n`), parsed together. */
function* parseGroup(
  bytes: Buffer,
  ends: Int32Array,
  stream: DestinationStream,
  where: string,
  firstLineNumber: number,
): Generator<DestinationRecord, void, undefined> {
  let messages: unknown[];
  try {
    // The byte before the group is the chunk's spare byte or the last newline of the group
    // before, which was parsed already: it takes the array's `[`.
    Buffer.from(bytes.buffer, bytes.byteOffset - 1, 1)[0] = OPEN_BRACKET;
    messages = parseRun({ bytes, ends }, where);
  } catch (error) {
    if (!(error instanceof LineRunCorruptError)) throw error;
    throw corrupt(where, firstLineNumber + (error.lineIndex ?? 0));
  }
  for (let i = 0, start = 0; i < messages.length; start = (ends[i] as number) + 1, i++) {
    const record = (messages[i] as { record?: AirbyteRecord } | null)?.record;
    if (typeof record !== 'object' || record === null) throw corrupt(where, firstLineNumber + i);
    yield toDestinationRecord(record, stream, (ends[i] as number) - start);
  }
}

export function toDestinationRecord(
  record: AirbyteRecord,
  stream: DestinationStream,
  sizeBytes: number,
): DestinationRecord {
  return { stream, data: record.data, emittedAt: record.emitted_at, meta: record.meta, sizeBytes };
}

/** The runs of a batch kept in memory, parsed a run at a time as the connector iterates. */
export function* readRuns(
  runs: readonly LineRun[],
  stream: DestinationStream,
): Generator<DestinationRecord, void, undefined> {
  for (const run of runs) {
    const { ends } = run;
    const messages = parseRun(run, 'a batch kept in memory') as { record: AirbyteRecord }[];
    // The records are parsed objects of their own: the run's bytes are not needed any more.
    releaseRun(run);
    for (let i = 0, start = 0; i < messages.length; start = (ends[i] as number) + 1, i++) {
      const { record } = messages[i] as { record: AirbyteRecord };
      yield toDestinationRecord(record, stream, (ends[i] as number) - start);
    }
  }
}

/**
 * The lines of a spill file as they are, for `processEncodedRecords`: chunks of whole lines
 * (each with its newline), read `readBytes` at a time (a longer line in growing pieces, up to
 * `maxLineBytes`). Fails at the end unless the file held exactly `count` lines.
 */
export function* readSpillFileLines(
  path: string,
  count: number,
  maxLineBytes: number,
  readBytes = READ_BYTES,
): Generator<Buffer, void, undefined> {
  const where = `spill file ${path}`;
  const fd = openSync(path, 'r');
  try {
    let lines = 0;
    for (const chunk of lineChunks(fd, where, maxLineBytes, readBytes)) {
      // Spill files end with a newline: a line after the last one is a broken file.
      if (chunk.unterminated) throw corrupt(where, chunk.firstLine, 'has no newline');
      lines += chunk.ends.length;
      yield chunk.data;
    }
    if (lines !== count) throw corrupt(where, lines, `ends after ${lines} of ${count} lines`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The lines of a batch kept in memory as they are, a run at a time; each run is released once
 * the iteration moves on (its memory given back at once, see `releaseRun`).
 */
export function* runLines(runs: readonly LineRun[]): Generator<Buffer, void, undefined> {
  for (const run of runs) {
    yield run.bytes;
    releaseRun(run);
  }
}
