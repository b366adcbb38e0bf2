/**
 * Reads a spill file (or the line runs of a batch kept in memory) back as DestinationRecords,
 * lazily and synchronously (256 KiB reads; a run at a time), so a connector iterating them holds
 * few records at a time. Both hold input lines that the InputConsumer already validated.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { SystemError } from '../errors/destkit-error.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import type { AirbyteRecord } from '../protocol/messages.js';
import type { DestinationRecord } from '../write/destination-writer.js';
import { type LineRun, parseRun, releaseRun } from './line-run.js';

const READ_BYTES = 256 * 1024;

export class SpillFileCorruptError extends SystemError {
  override readonly code = 'SPILL_FILE_CORRUPT';
}

/** Parses one validated RECORD line into a DestinationRecord of `stream`. */
export function toDestinationRecord(line: Buffer, stream: DestinationStream): DestinationRecord {
  const record = (JSON.parse(line.toString('utf8')) as { record: AirbyteRecord }).record;
  return {
    stream,
    data: record.data,
    emittedAt: record.emitted_at,
    meta: record.meta,
    sizeBytes: line.length,
  };
}

/** JSON.parse's message quotes the input: it is not kept as the cause (record data). */
function corrupt(where: string, lineNumber: number): SpillFileCorruptError {
  return new SpillFileCorruptError(`${where} line ${lineNumber} cannot be read back`);
}

export function* readSpillFile(
  path: string,
  stream: DestinationStream,
  maxLineBytes: number,
): Generator<DestinationRecord, void, undefined> {
  const fd = openSync(path, 'r');
  try {
    yield* recordsOf(fileChunks(fd), stream, maxLineBytes, `spill file ${path}`);
  } finally {
    closeSync(fd);
  }
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
      yield {
        stream,
        data: record.data,
        emittedAt: record.emitted_at,
        meta: record.meta,
        sizeBytes: (ends[i] as number) - start,
      };
    }
  }
}

function* fileChunks(fd: number): Generator<Buffer, void, undefined> {
  for (;;) {
    const chunk = Buffer.allocUnsafe(READ_BYTES);
    const read = readSync(fd, chunk, 0, READ_BYTES, null);
    if (read === 0) return;
    yield chunk.subarray(0, read);
  }
}

function* recordsOf(
  chunks: Iterable<Buffer>,
  stream: DestinationStream,
  maxLineBytes: number,
  where: string,
): Generator<DestinationRecord, void, undefined> {
  const splitter = new LineSplitter({ maxLineBytes });
  for (const chunk of chunks) {
    splitter.push(chunk);
    for (let line = splitter.next(); line !== undefined; line = splitter.next()) {
      yield parseSpilled(line.bytes, stream, where, line.lineNumber);
    }
  }
  const last = splitter.end();
  if (last !== undefined) yield parseSpilled(last.bytes, stream, where, last.lineNumber);
}

function parseSpilled(
  bytes: Buffer,
  stream: DestinationStream,
  where: string,
  lineNumber: number,
): DestinationRecord {
  try {
    return toDestinationRecord(bytes, stream);
  } catch {
    throw corrupt(where, lineNumber);
  }
}
