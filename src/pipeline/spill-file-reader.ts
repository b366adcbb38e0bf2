/**
 * Reads a spill file (or the raw lines of a batch kept in memory) back as DestinationRecords,
 * lazily and synchronously (256 KiB reads), so a connector iterating them holds one record at a
 * time. Spill files hold the raw input lines that the InputConsumer already validated.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { SystemError } from '../errors/destkit-error.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import type { AirbyteRecord } from '../protocol/messages.js';
import type { DestinationRecord } from '../write/destination-writer.js';
import type { ArenaContent } from './line-arena.js';

const READ_BYTES = 256 * 1024;

export class SpillFileCorruptError extends SystemError {
  override readonly code = 'SPILL_FILE_CORRUPT';
}

/** Parses one validated RECORD line into a DestinationRecord of `stream`. */
export function toDestinationRecord(line: Buffer, stream: DestinationStream): DestinationRecord {
  return recordOf(line.toString('utf8'), line.length, stream);
}

function recordOf(text: string, sizeBytes: number, stream: DestinationStream): DestinationRecord {
  const record = (JSON.parse(text) as { record: AirbyteRecord }).record;
  return { stream, data: record.data, emittedAt: record.emitted_at, meta: record.meta, sizeBytes };
}

function corrupt(where: string, lineNumber: number, cause: unknown): SpillFileCorruptError {
  return new SpillFileCorruptError(`${where} line ${lineNumber} cannot be read back`, { cause });
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

/** The lines of a batch kept in memory, parsed as the connector iterates. */
export function* readArena(
  content: ArenaContent,
  stream: DestinationStream,
): Generator<DestinationRecord, void, undefined> {
  let lineNumber = 0;
  for (let b = 0; b < content.buffers.length; b++) {
    const buffer = content.buffers[b] as Buffer;
    const ends = content.ends[b] as readonly number[];
    let start = 0;
    for (const end of ends) {
      lineNumber++;
      let record: DestinationRecord;
      try {
        record = recordOf(buffer.toString('utf8', start, end), end - start, stream);
      } catch (error) {
        throw corrupt('a batch kept in memory', lineNumber, error);
      }
      yield record;
      start = end + 1;
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
  } catch (error) {
    throw corrupt(where, lineNumber, error);
  }
}
