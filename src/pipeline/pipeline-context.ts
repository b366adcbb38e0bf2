/**
 * The shared state of one sync's pipeline, handed to every task: the catalog and its ledger,
 * the channels between tasks, the budgets, and the launcher's serialized handlers.
 */
import type { Logger } from 'pino';
import type { DestinationCatalog } from '../catalog/destination-catalog.js';
import type { DestinationStream } from '../catalog/destination-stream.js';
import type { Knobs } from '../config/knobs.js';
import type { StateInput } from '../protocol/input-message.js';
import type { Channel, ChannelProducer } from '../runtime/channel.js';
import type { MemoryBudget } from '../runtime/memory-budget.js';
import type { Batch } from '../write/destination-writer.js';
import type { RecordEncoder } from '../write/record-encoder.js';
import type { BatchEnvelope, SpilledBatch, StreamEvent } from './pipeline-items.js';
import type { IndexRange } from './range-set.js';
import type { SpillDirectory } from './spill-directory.js';
import type { StreamLoaders } from './stream-loaders.js';
import type { SyncManager } from './sync-manager.js';

/** What the launcher decides, serialized under its mutex. */
export interface LauncherHandlers {
  /** Pins a STATE to the records read so far; returns the streams whose spill should flush. */
  handleCheckpoint(message: StateInput, reserved: number): Promise<readonly string[]>;
  /** End of input: marks it consumed (fails when a stream lacks a terminal status). */
  handleInputConsumed(): Promise<void>;
  /** Records a batch's state; echoes the states it releases; closes a finished stream. */
  handleNewBatch(
    stream: DestinationStream,
    ranges: readonly IndexRange[],
    batch: Batch,
    endOfStream: boolean,
  ): Promise<void>;
  /** The first failure starts the failure path; later ones are attached to it. */
  handleException(error: unknown): Promise<void>;
}

/** One stream's plumbing. */
export interface StreamPlumbing {
  readonly stream: DestinationStream;
  /** Position of the stream in the catalog (names spill files). */
  readonly number: number;
  /** InputConsumer → SpillToDisk. */
  readonly events: Channel<StreamEvent>;
  /** The stream's task (parent of its units of work). */
  taskId: string | undefined;
  /** Input bytes of the stream's records. */
  bytesRead: number;
  /** Batches the connector made of the stream's records (processRecords calls). */
  batches: number;
  /** The end-of-stream batch needs no more work (COMPLETE, or left to its group). */
  endBatchDone: boolean;
  /**
   * When the stream's open batch opened (SpillToDisk's clock, the wall clock by default), or
   * undefined while none is open: the heartbeat asks only a stream whose batch is older than the
   * flush window to flush, instead of waking every stream's spill task every tick.
   */
  openBatchAt: number | undefined;
  /** Line bytes of the open batch (0 while none is open), for `askForIdleFlush`. */
  openBatchBytes: number;
  /** An `idle` flush was sent to the open batch and not handled yet. */
  idleFlushAsked: boolean;
  /**
   * A state asked the open batch to flush while batches already waited for a worker, and it has
   * not flushed since: it is in `LoadGauge.checkpointsWaiting` (see `askForWaitingCheckpoint`).
   */
  checkpointWaiting: boolean;
}

export interface PipelineContext {
  readonly catalog: DestinationCatalog;
  readonly sync: SyncManager;
  readonly loaders: StreamLoaders;
  readonly streams: ReadonlyMap<string, StreamPlumbing>;
  /** SpillToDisk (one producer per stream) → ProcessRecords workers. */
  readonly files: Channel<SpilledBatch>;
  readonly fileProducers: ReadonlyMap<string, ChannelProducer<SpilledBatch>>;
  /** ProcessRecords workers (one producer each) → ProcessBatch workers. */
  readonly batches: Channel<BatchEnvelope>;
  readonly memory: MemoryBudget;
  readonly disk: MemoryBudget;
  readonly spill: SpillDirectory;
  readonly knobs: Knobs;
  readonly logger: Logger;
  readonly handlers: LauncherHandlers;
  /** Live counts the input consumer reads to tell a slow load from one that cannot go on. */
  readonly load: LoadGauge;
  /**
   * Makes a stream's record encoder when records are encoded as they arrive (record-encoder.ts):
   * runs and spill files then hold encoded lines, and ProcessRecords calls
   * `processEncodedRecords`. Set when the writer has encoders and the input worker runs.
   */
  readonly recordEncoders: ((stream: DestinationStream) => RecordEncoder) | undefined;
}

export interface LoadGauge {
  /** process-records and process-batch units running. */
  activeUnits: number;
  /** Bytes of the memory budget held by states waiting for their records to persist. */
  pendingStateBytes: number;
  pendingStates: number;
  /**
   * Line bytes of memory-path batches handed to the ProcessRecords workers and not taken by one
   * yet (SpillToDisk lets batches wait in memory up to one batch size in all).
   */
  memoryBatchBytesWaiting: number;
  /**
   * The input waits for its next packet and has waited at least one turn of the event loop: this
   * thread has nothing else to do (see `askForIdleFlush`).
   */
  inputIdle: boolean;
  /**
   * Bytes of the memory budget reserved for the input worker while it runs (the input it may run
   * ahead and hold in records not posted yet): a standing reservation, not records of a batch.
   */
  inputWorkerBytes: number;
  /**
   * Streams whose open batch holds a state's records and waits to flush until the queue of
   * batches runs dry (see `askForWaitingCheckpoint`).
   */
  readonly checkpointsWaiting: Set<StreamPlumbing>;
}

/** A gauge of a sync that has not started: nothing running, pending or waiting. */
export function idleLoadGauge(): LoadGauge {
  return {
    activeUnits: 0,
    pendingStateBytes: 0,
    pendingStates: 0,
    memoryBatchBytesWaiting: 0,
    inputIdle: false,
    inputWorkerBytes: 0,
    checkpointsWaiting: new Set(),
  };
}
