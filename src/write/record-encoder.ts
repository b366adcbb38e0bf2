/**
 * Record encoders: a connector's own per-record serialization, run by destkit in the input
 * worker thread (knob `input_workers` ≥ 1) instead of on the main thread.
 *
 * Without an encoder, the input worker only validates the input, and the main thread parses each
 * record and runs the connector's `processRecords`, which turns records into the destination's
 * format (JSON lines, COPY text, …). For a connector whose format is a line per record, both the
 * parse and that encoding can move to the worker, which then parses each record once and
 * encodes it; the main thread hands the encoded lines to `processEncodedRecords` as bytes.
 *
 * The encoder lives in a module of its own, named by URL (`DestinationWriter.recordEncoder`),
 * since a worker thread cannot share functions with the main thread: the worker imports it and
 * calls its `createRecordEncoder` once per stream. An encoder must depend on its stream alone
 * (not on the destination's state at run time) and be pure apart from random ids: records are
 * encoded before the stream's loader has started. Its lines must be what `processRecords` would
 * have made of the same records, since with `input_workers` 0 destkit calls `processRecords`.
 */
import type { DestinationStream } from '../catalog/destination-stream.js';
import { SystemError } from '../errors/destkit-error.js';
import type { DestinationRecord } from './destination-writer.js';

export interface RecordEncoder {
  /**
   * One record as one line: a string ending with its newline, with no other newline in it
   * (destkit keeps encoded records one per line, as it keeps input lines). Throwing fails the
   * sync; the message must not quote record data.
   */
  encode(record: DestinationRecord): string;
}

/** What the module named by `DestinationWriter.recordEncoder` exports. */
export interface RecordEncoderModule {
  createRecordEncoder(stream: DestinationStream): RecordEncoder;
}

/**
 * The encoded lines of a batch, for `processEncodedRecords`: chunks of whole lines (each ending
 * with `\n`), in input order, `count` lines in all. Each chunk is a buffer of its own that
 * nothing else writes to: the connector may keep it (no copy needed) as long as it needs it.
 */
export interface EncodedRecords {
  readonly chunks: Iterable<Buffer>;
  readonly count: number;
}

export class RecordEncoderError extends SystemError {
  override readonly code = 'RECORD_ENCODER_FAILED';
}

const NEWLINE = 10;

/**
 * Checks an encoder's line: it ends with a newline and holds no other. Returns the line.
 * `where` names the stream (never the record) in the error.
 */
export function checkedLine(line: unknown, where: string): string {
  if (
    typeof line !== 'string' ||
    line.charCodeAt(line.length - 1) !== NEWLINE ||
    line.indexOf('\n') !== line.length - 1
  ) {
    throw new RecordEncoderError(
      `the record encoder of stream ${where} returned ${
        typeof line !== 'string'
          ? `a ${typeof line}, not a string`
          : line.length === 0 || line.charCodeAt(line.length - 1) !== NEWLINE
            ? 'a line without its closing newline'
            : 'a line with a newline inside'
      }`,
    );
  }
  return line;
}
