/**
 * What flows between the pipeline's tasks.
 *
 * Terms:
 * - stream event: what the InputConsumer sends a stream's SpillToDisk task — a record (its raw
 *   input bytes and index), a flush request, or the end of the stream.
 * - spilled batch: a contiguous range of one stream's records, handed by SpillToDisk to the
 *   ProcessRecords workers: a spill file of raw record lines, or no file for an empty range
 *   (the end of a stream whose records were all flushed before).
 * - batch envelope: a connector Batch with the stream and the index ranges it covers.
 */
import type { DestinationStream } from '../catalog/destination-stream.js';
import type { Batch } from '../write/destination-writer.js';
import type { IndexRange } from './range-set.js';

export type FlushReason = 'checkpoint' | 'age' | 'forced';

export type StreamEvent =
  | {
      readonly kind: 'record';
      readonly index: number;
      /** The record's input line, without the newline. */
      readonly bytes: Buffer;
      /** Bytes reserved from the memory budget for it; released once written to a spill file. */
      readonly reserved: number;
    }
  | { readonly kind: 'flush'; readonly reason: FlushReason }
  | { readonly kind: 'end' };

export interface SpilledBatch {
  readonly stream: DestinationStream;
  /** Record indexes `[start, end)` of the stream. Empty only for the end-of-stream marker. */
  readonly range: IndexRange;
  /** Input bytes of the records. */
  readonly sizeBytes: number;
  /** True for the stream's last batch (after COMPLETE or INCOMPLETE). */
  readonly endOfStream: boolean;
  /** The spill file; undefined for an empty range. */
  readonly path: string | undefined;
  /** Bytes reserved from the disk budget for the file; released when it is deleted. */
  readonly diskReserved: number;
}

export interface BatchEnvelope {
  readonly stream: DestinationStream;
  readonly ranges: readonly IndexRange[];
  readonly batch: Batch;
  /** The batch of the stream's last processRecords call (endOfStream true). */
  readonly endOfStream: boolean;
}

/** A batch needs `processBatch` until COMPLETE, unless it belongs to a group. */
export function requiresProcessing(batch: Batch): boolean {
  return batch.state !== 'COMPLETE' && batch.groupId === undefined;
}
