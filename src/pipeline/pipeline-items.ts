/**
 * What flows between the pipeline's tasks.
 *
 * Terms:
 * - stream event: what the InputConsumer sends a stream's SpillToDisk task — consecutive records
 *   (a run of their input lines and the index of the first), a flush request, or the end of the
 *   stream.
 * - spilled batch: a contiguous range of one stream's records, handed by SpillToDisk to the
 *   ProcessRecords workers: a spill file of raw record lines, the same bytes kept in memory
 *   (the memory path, taken while the workers keep up), or neither for an empty range (the end of a
 *   stream whose records were all flushed before).
 * - batch envelope: a connector Batch with the stream and the index ranges it covers.
 */
import { unlink } from 'node:fs/promises';
import type { DestinationStream } from '../catalog/destination-stream.js';
import type { Batch } from '../write/destination-writer.js';
import type { LineRun } from './line-run.js';
import type { PipelineContext } from './pipeline-context.js';
import type { IndexRange } from './range-set.js';

/**
 * `memory`: the input waits for memory — records held in memory go to a spill file. `idle`: the
 * input and a ProcessRecords worker both wait, and this stream holds the largest open batch (see
 * `askForIdleFlush`).
 */
export type FlushReason = 'checkpoint' | 'age' | 'forced' | 'memory' | 'idle' | 'checkpoint-due';

export type StreamEvent =
  | {
      readonly kind: 'records';
      /** Index of the first record; the others follow without gaps. */
      readonly first: number;
      /** The records' input lines (validated). */
      readonly run: LineRun;
      /** The lines' bytes (`lineBytes(run)`): reserved from the memory budget. */
      readonly bytes: number;
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
  /** The spill file; undefined for an empty range and for records kept in memory. */
  readonly path: string | undefined;
  /** The records' lines, when kept in memory instead of a spill file. */
  readonly runs?: readonly LineRun[];
  /** Bytes of the memory budget held by `runs`; released once the connector processed them. */
  readonly memoryReserved?: number;
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

/**
 * A batch left the queue of spill files (taken by a worker, drained, or never sent): a memory-path
 * batch no longer counts as waiting in memory (`LoadGauge.memoryBatchBytesWaiting`).
 */
export function leftFileQueue(
  load: { memoryBatchBytesWaiting: number },
  batch: SpilledBatch,
): void {
  if (batch.runs !== undefined) load.memoryBatchBytesWaiting -= batch.memoryReserved ?? 0;
}

/**
 * A batch nobody reads any more (processed, or never to be): its memory reservation back, its
 * spill file deleted, its disk reservation back.
 */
export async function releaseBatch(
  ctx: Pick<PipelineContext, 'memory' | 'disk'>,
  batch: SpilledBatch,
): Promise<void> {
  ctx.memory.releaseBytes(batch.memoryReserved ?? 0);
  if (batch.path !== undefined) await unlink(batch.path).catch(() => undefined);
  ctx.disk.releaseBytes(batch.diskReserved);
}
