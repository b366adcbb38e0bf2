/**
 * The ledger of one stream during a sync: how many records were read, which of them are
 * persisted or complete, where the stream's checkpoints fall, and how the stream ended.
 * Pure and synchronous; the launcher calls it under its mutex.
 *
 * Terms (see ARCHITECTURE.md, Glossary):
 * - record index: 0-based position of a record in its stream, handed out by `nextRecordIndex`.
 * - checkpoint index: the number of records read when a state arrived; the state covers
 *   records `[0, index)`.
 * - group: batches sharing a `groupId` advance together — reporting any of them in a state
 *   reports every range of the group in that state (e.g. files committed by one transaction).
 *
 * Two small state machines, each moving forward only:
 *
 *   end of stream:  open ──markEndOfStream(true)──► complete
 *                   open ──markEndOfStream(false)─► incomplete
 *   result:         active ──markSucceeded()──► succeeded   (needs isBatchProcessingComplete)
 *                   active ──markFailed(e)────► failed
 *
 * `open` is the only state that accepts records; a second `markEndOfStream` throws.
 * `succeeded` and `failed` absorb: a late `markFailed` is a no-op that returns false (the first
 * outcome wins), a `markSucceeded` outside `active` throws.
 */
import { describeStream, type StreamDescriptor, streamKey } from '../protocol/messages.js';
import {
  type BatchState,
  isCompleteState,
  isPersistedState,
  laterBatchState,
} from './batch-state.js';
import {
  BatchRangeOutOfBoundsError,
  EndOfStreamTwiceError,
  InvalidRangeError,
  RecordIndexAfterEndError,
  StreamTransitionError,
} from './pipeline-errors.js';
import { type IndexRange, RangeSet } from './range-set.js';

export type EndOfStreamState = 'open' | 'complete' | 'incomplete';

export type StreamResult =
  | { readonly status: 'active' }
  | { readonly status: 'succeeded' }
  | { readonly status: 'failed'; readonly error: unknown };

/** What `markCheckpoint` pins a state to. */
export interface StreamCheckpoint {
  /** Records read so far: the state covers `[0, index)`. */
  readonly index: number;
  /** Records of this stream since its previous checkpoint (`destinationStats.recordCount`). */
  readonly recordsSinceLast: number;
}

interface BatchGroup {
  readonly ranges: RangeSet;
  state: BatchState;
}

const ACTIVE: StreamResult = { status: 'active' };
const SUCCEEDED: StreamResult = { status: 'succeeded' };

export class StreamManager {
  readonly descriptor: StreamDescriptor;
  /** `streamKey(descriptor)`: how the stream is known inside destkit. */
  readonly key: string;
  /** `namespace.name`, for messages. */
  readonly displayName: string;

  #recordCount = 0;
  #lastCheckpointIndex = 0;
  #endOfStream: EndOfStreamState = 'open';
  #result: StreamResult = ACTIVE;
  // COMPLETE ranges are added to both sets: COMPLETE implies PERSISTED.
  readonly #persisted = new RangeSet();
  readonly #complete = new RangeSet();
  readonly #groups = new Map<string, BatchGroup>();

  constructor(descriptor: StreamDescriptor) {
    this.descriptor = descriptor;
    this.key = streamKey(descriptor);
    this.displayName = describeStream(descriptor);
  }

  /** Records read so far. */
  get recordCount(): number {
    return this.#recordCount;
  }

  get endOfStream(): EndOfStreamState {
    return this.#endOfStream;
  }

  get result(): StreamResult {
    return this.#result;
  }

  /** True until the stream succeeded or failed. */
  get isActive(): boolean {
    return this.#result.status === 'active';
  }

  /** How many of the stream's records are persisted (in any order). */
  get persistedCount(): number {
    return this.#persisted.size;
  }

  /** The largest `n` such that records `[0, n)` are persisted. */
  get persistedUntil(): number {
    return this.#persisted.prefixEnd;
  }

  /** Assigns the next record its 0-based index. Throws after the end of stream was marked. */
  nextRecordIndex(): number {
    if (this.#endOfStream !== 'open') throw new RecordIndexAfterEndError(this.descriptor);
    const index = this.#recordCount;
    this.#recordCount = index + 1;
    return index;
  }

  /** Assigns the next `count` records their indexes; returns the first. */
  nextRecordIndexes(count: number): number {
    if (this.#endOfStream !== 'open') throw new RecordIndexAfterEndError(this.descriptor);
    const index = this.#recordCount;
    this.#recordCount = index + count;
    return index;
  }

  /** Records the stream's terminal status (COMPLETE → true, INCOMPLETE → false), exactly once. */
  markEndOfStream(complete: boolean): void {
    if (this.#endOfStream !== 'open') throw new EndOfStreamTwiceError(this.descriptor);
    this.#endOfStream = complete ? 'complete' : 'incomplete';
  }

  /** Pins a state of this stream to the records read so far. Allowed after end of stream. */
  markCheckpoint(): StreamCheckpoint {
    const index = this.#recordCount;
    const recordsSinceLast = index - this.#lastCheckpointIndex;
    this.#lastCheckpointIndex = index;
    return { index, recordsSinceLast };
  }

  /** Records that `ranges` reached `state`; shorthand for an ungrouped `registerBatch`. */
  updateBatchState(ranges: readonly IndexRange[], state: BatchState): void {
    this.registerBatch(ranges, state);
  }

  /**
   * Records that the records in `ranges` reached `state`. With a `groupId`, the ranges join the
   * group, and the group moves to the later of its state and `state`; every range of the group
   * is then recorded in the group's state (a group never moves back). PROCESSED and STAGED are
   * accepted and remembered for groups, but mark nothing by themselves.
   *
   * Every range must lie within the records read so far; the update is all-or-nothing.
   */
  registerBatch(ranges: readonly IndexRange[], state: BatchState, groupId?: string): void {
    for (const [start, end] of ranges) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new InvalidRangeError(start, end);
      }
      if (end > this.#recordCount) {
        throw new BatchRangeOutOfBoundsError(this.descriptor, start, end, this.#recordCount);
      }
    }
    if (groupId === undefined) {
      this.#apply(ranges, state);
      return;
    }
    let group = this.#groups.get(groupId);
    if (group === undefined) {
      group = { ranges: new RangeSet(), state };
      this.#groups.set(groupId, group);
    }
    for (const [start, end] of ranges) group.ranges.add(start, end);
    const groupState = laterBatchState(group.state, state);
    if (groupState !== group.state) {
      group.state = groupState;
      this.#apply(group.ranges.ranges(), groupState);
    } else {
      this.#apply(ranges, groupState);
    }
  }

  #apply(ranges: readonly IndexRange[], state: BatchState): void {
    if (!isPersistedState(state)) return;
    const complete = isCompleteState(state);
    for (const [start, end] of ranges) {
      this.#persisted.add(start, end);
      if (complete) this.#complete.add(start, end);
    }
  }

  /** True when records `[0, index)` are all persisted (always true for 0). */
  areRecordsPersistedUntil(index: number): boolean {
    return this.#persisted.coversPrefix(index);
  }

  /**
   * True once the stream's end was read (COMPLETE or INCOMPLETE) and every record read is
   * COMPLETE; a stream with no records is batch-complete as soon as it ends. This is the moment
   * to close the stream's loader; whether to finalize depends on `endOfStream`.
   */
  isBatchProcessingComplete(): boolean {
    return this.#endOfStream !== 'open' && this.#complete.coversPrefix(this.#recordCount);
  }

  /** Marks the stream succeeded. Throws unless it is active and batch processing is complete. */
  markSucceeded(): void {
    if (this.#result.status !== 'active') {
      throw new StreamTransitionError(this.descriptor, `it already ${this.#result.status}`);
    }
    if (this.#endOfStream === 'open') {
      throw new StreamTransitionError(this.descriptor, 'its end of stream was not received');
    }
    if (!this.#complete.coversPrefix(this.#recordCount)) {
      throw new StreamTransitionError(this.descriptor, 'not all of its records are COMPLETE');
    }
    this.#result = SUCCEEDED;
  }

  /** Marks the stream failed; returns false (and changes nothing) if it already ended. */
  markFailed(error: unknown): boolean {
    if (this.#result.status !== 'active') return false;
    this.#result = { status: 'failed', error };
    return true;
  }
}
