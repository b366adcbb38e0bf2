/**
 * What a connector author implements (ARCHITECTURE.md "Connector API").
 *
 * Terms:
 * - DestinationWriter: one per sync; sets the destination up, makes a StreamLoader per stream,
 *   tears down at the end (with the failure, when the sync failed).
 * - StreamLoader: one per stream; `start` once, `close` once (with the failure when the stream
 *   failed or was not COMPLETE — then nothing may be finalized).
 * - BatchAccumulator: turns records into a Batch; one per worker, so it may keep state.
 * - Batch: what the connector made of some records; its state says how far it is:
 *   PROCESSED → STAGED → PERSISTED → COMPLETE. PERSISTED lets destkit echo the states that the
 *   batch's records cover; COMPLETE means nothing more is needed for those records. A batch
 *   that is not yet PERSISTED is handed to `processBatch` until it is.
 *
 * Connector code never touches stdout; it is always called through GuardedStreamLoader.
 */
import type { DestinationStream } from '../catalog/destination-stream.js';
import type { JsonObject, RecordMeta } from '../protocol/messages.js';
import type { EncodedRecords, RecordEncoder } from './record-encoder.js';

export type BatchState = 'PROCESSED' | 'STAGED' | 'PERSISTED' | 'COMPLETE';

export interface Batch {
  readonly state: BatchState;
  /** Batches that share a group id advance together (e.g. parts of one file upload). */
  readonly groupId?: string;
}

/** One record as a connector receives it: parsed, routed to its stream, not yet typed. */
export interface DestinationRecord {
  readonly stream: DestinationStream;
  readonly data: JsonObject;
  /** `record.emitted_at`, epoch milliseconds. */
  readonly emittedAt: number;
  /** The source's `record.meta` (its `changes` must be kept in `_airbyte_meta`). */
  readonly meta: RecordMeta | undefined;
  /**
   * Size of the record's input line in bytes. Typing relies on it: no value parsed from the line
   * measures more than MAX_VALUE_GROWTH times it, so size limits far above it are not measured.
   */
  readonly sizeBytes: number;
  /**
   * The JSON text of `data` as the input line held it (`JSON.parse(dataJson)` is `data`), when
   * destkit has it at hand: only in a record encoder (record-encoder.ts), for most records. An
   * encoder that writes `data` as JSON may copy it instead of serializing `data`; reading `data`
   * then parses it.
   */
  readonly dataJson?: string;
}

export interface BatchAccumulator {
  /**
   * Processes records of one stream, in input order. `sizeBytes` is the input size of all of
   * them; `endOfStream` is true for the last call of a stream that ended (COMPLETE or not).
   */
  processRecords(
    records: Iterable<DestinationRecord>,
    sizeBytes: number,
    endOfStream: boolean,
  ): Promise<Batch>;
  /**
   * Processes records of one stream that the writer's record encoder already encoded (see
   * record-encoder.ts), in input order; otherwise as `processRecords`. Required when the writer
   * has `createRecordEncoder`: destkit then calls it instead of `processRecords` whenever the
   * input worker runs (knob `input_workers` 1).
   */
  processEncodedRecords?(
    records: EncodedRecords,
    sizeBytes: number,
    endOfStream: boolean,
  ): Promise<Batch>;
}

export interface StreamLoader {
  readonly stream: DestinationStream;
  start(): Promise<void>;
  /** A fresh accumulator per worker; a loader that keeps no per-worker state may return itself. */
  createBatchAccumulator(): BatchAccumulator;
  /** Moves a batch forward (e.g. STAGED → PERSISTED). Called until the batch is PERSISTED. */
  processBatch(batch: Batch): Promise<Batch>;
  /**
   * Called once, only after a successful `start`. Without a failure the stream is COMPLETE:
   * finalize (merge, swap, drop older generations). With a failure, finalize nothing.
   */
  close(failure?: unknown): Promise<void>;
}

export interface DestinationWriter {
  /**
   * Optional: the stream's record encoder (record-encoder.ts). With the input worker, records
   * are then encoded as they arrive and reach `processEncodedRecords` as lines.
   */
  createRecordEncoder?(stream: DestinationStream): RecordEncoder;
  setup(): Promise<void>;
  createStreamLoader(stream: DestinationStream): StreamLoader | Promise<StreamLoader>;
  /** Called once at the end; `failure` is set when the sync failed. */
  teardown(failure?: unknown): Promise<void>;
}

/** A batch that needs no further work; handy for loaders that persist in processRecords. */
export const COMPLETE_BATCH: Batch = Object.freeze({ state: 'COMPLETE' });
