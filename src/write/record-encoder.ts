/**
 * Record encoders: a connector's own per-record serialization, done as records arrive instead
 * of after a parse in `processRecords`.
 *
 * Without an encoder, the input worker thread (knob `input_workers` 1) validates each record
 * line and the main thread parses it again to give it to `processRecords`, which turns records
 * into the destination's format (JSON lines, COPY text, …). For a connector whose format is a
 * line per record, the worker also notes where each record's `data` lies in its line while it
 * validates it, and the main thread encodes the record as it arrives, from that text, without
 * parsing it (`DestinationRecord.dataJson`; `data` is parsed only when an encoder reads it). The
 * encoded lines then travel through batching and spill files, and reach
 * `processEncodedRecords` as bytes.
 *
 * An encoder must depend on its stream alone (not on the destination's state at run time) and be
 * pure apart from random ids: records are encoded before the stream's loader has started. Its
 * lines must hold what `processRecords` would have made of the same records, since without the
 * input worker (`input_workers` 0) destkit calls `processRecords`.
 */
import { SystemError } from '../errors/destkit-error.js';
import type { DestinationRecord } from './destination-writer.js';

export interface RecordEncoder {
  /**
   * One record as one line: a string ending with its newline, with no other newline in it
   * (destkit keeps encoded records one per line, as it keeps input lines). Throwing fails the
   * sync; the message must not quote record data.
   */
  encode(record: DestinationRecord): string;
  /**
   * Optional, for lines that hold the record's `data` as the input spelled it (`dataJson`): the
   * line's text before and after that data text, so that the line is exactly
   * `before + record.dataJson + after`, the line `encode` would make; or undefined to have
   * `encode` make it. destkit then copies the data's bytes straight from the input line into the
   * encoded run, without making a string of the data or of the line. It is called only for
   * records whose data text the input worker found and that holds no carriage return (the one
   * JSON whitespace some line readers take for a line end: such records go through `encode`);
   * reading `record.dataJson` or `record.data` there works, but costs what this form saves. The
   * record is whole during the call only: its data's text is read from the input line, which
   * is released after the run is encoded.
   */
  encodeAround?(record: DestinationRecord): readonly [before: string, after: string] | undefined;
}

/**
 * The encoded lines of a batch, for `processEncodedRecords`: chunks of whole lines (each ending
 * with `\n`), in input order, `count` lines in all; `sizeBytes` (the call's other argument) is
 * their size without the newlines. A chunk is valid until the iteration moves on (its memory is
 * then given back at once): copy what must outlive the step.
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
