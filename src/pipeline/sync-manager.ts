/**
 * The ledger of one sync: a StreamManager per configured stream, whether the input was fully
 * read, and how the sync ended. Pure and synchronous; the launcher awaits around it and calls
 * it under its mutex.
 *
 * The sync lifecycle:
 *
 *   running ──markSyncSucceeded()──► succeeded   (input consumed; every stream succeeded)
 *   running ──markSyncFailed(e)────► failed
 *
 * Both end states absorb: a late `markSyncFailed` is a no-op returning false (the first outcome
 * wins), `markSyncSucceeded` outside `running` throws. Input consumption is tracked apart from
 * the outcome: `markInputConsumed` may fail the sync (a stream without a terminal status) while
 * the loaders still finish their work.
 */
import type { StreamDescriptor } from '../protocol/messages.js';
import {
  DuplicateStreamError,
  MissingStreamStatusError,
  StreamNotInCatalogError,
  SyncTransitionError,
  streamList,
} from './pipeline-errors.js';
import { type StreamCheckpoint, StreamManager } from './stream-manager.js';

export type SyncResult =
  | { readonly status: 'running' }
  | { readonly status: 'succeeded' }
  | { readonly status: 'failed'; readonly error: unknown };

/** What `markGlobalCheckpoint` pins a GLOBAL or LEGACY state to. */
export interface GlobalCheckpoint {
  /** Per stream key: records read so far, i.e. the state covers `[0, index)` of each stream. */
  readonly indexes: Map<string, number>;
  /** Records of all streams since the previous checkpoint (`destinationStats.recordCount`). */
  readonly recordsSinceLast: number;
}

export class SyncManager {
  readonly #streams = new Map<string, StreamManager>();
  /** The managers in catalog order; the first that may still be active (`hasActiveStreams`). */
  readonly #order: StreamManager[] = [];
  #firstActive = 0;
  #inputConsumed = false;
  #result: SyncResult = { status: 'running' };

  /** One StreamManager per stream of the catalog; a stream listed twice throws. */
  constructor(streams: Iterable<StreamDescriptor>) {
    for (const descriptor of streams) {
      const manager = new StreamManager(descriptor);
      if (this.#streams.has(manager.key)) throw new DuplicateStreamError(descriptor);
      this.#streams.set(manager.key, manager);
      this.#order.push(manager);
    }
  }

  /** The manager of a stream, by `streamKey`. Throws StreamNotInCatalogError when unknown. */
  stream(key: string): StreamManager {
    const manager = this.#streams.get(key);
    if (manager === undefined) throw new StreamNotInCatalogError(key);
    return manager;
  }

  has(key: string): boolean {
    return this.#streams.has(key);
  }

  /** Every stream's manager, in catalog order. */
  streams(): StreamManager[] {
    return [...this.#streams.values()];
  }

  /**
   * `stream(key).areRecordsPersistedUntil(index)`, bound: pass it to
   * `CheckpointManager.flushReady`.
   */
  readonly isPersistedUntil = (key: string, index: number): boolean =>
    this.stream(key).areRecordsPersistedUntil(index);

  /** Pins a STREAM state to the records of its stream read so far. */
  markStreamCheckpoint(key: string): StreamCheckpoint {
    return this.stream(key).markCheckpoint();
  }

  /**
   * Pins a GLOBAL or LEGACY state to the records of every stream read so far. Its record count
   * is the sum over streams of the records since each stream's previous checkpoint.
   */
  markGlobalCheckpoint(): GlobalCheckpoint {
    const indexes = new Map<string, number>();
    let recordsSinceLast = 0;
    for (const [key, manager] of this.#streams) {
      const checkpoint = manager.markCheckpoint();
      indexes.set(key, checkpoint.index);
      recordsSinceLast += checkpoint.recordsSinceLast;
    }
    return { indexes, recordsSinceLast };
  }

  get inputConsumed(): boolean {
    return this.#inputConsumed;
  }

  /**
   * Records that stdin reached its end. Throws MissingStreamStatusError (transient) naming the
   * streams that never received a COMPLETE or INCOMPLETE status; the input still counts as
   * consumed. Calling it twice is a defect (SyncTransitionError).
   */
  markInputConsumed(): void {
    if (this.#inputConsumed) throw new SyncTransitionError('the input was already marked consumed');
    this.#inputConsumed = true;
    const open = this.streams().filter((s) => s.endOfStream === 'open');
    if (open.length > 0) throw new MissingStreamStatusError(open.map((s) => s.descriptor));
  }

  /** True when every stream received a COMPLETE status. */
  allStreamsComplete(): boolean {
    for (const manager of this.#streams.values()) {
      if (manager.endOfStream !== 'complete') return false;
    }
    return true;
  }

  /** The streams that did not receive a COMPLETE status (INCOMPLETE or none yet). */
  incompleteStreams(): StreamManager[] {
    return this.streams().filter((s) => s.endOfStream !== 'complete');
  }

  /**
   * Whether a stream has neither succeeded nor failed yet. The launcher asks after every stream
   * that closes; a stream's outcome never goes back to active, so the streams passed over once
   * are not looked at again (amortized O(1) per call, not O(streams)).
   */
  hasActiveStreams(): boolean {
    const order = this.#order;
    while (this.#firstActive < order.length && !order[this.#firstActive]!.isActive)
      this.#firstActive++;
    return this.#firstActive < order.length;
  }

  /** The streams that have neither succeeded nor failed. */
  activeStreams(): StreamManager[] {
    return this.streams().filter((s) => s.isActive);
  }

  get result(): SyncResult {
    return this.#result;
  }

  /**
   * Marks the sync succeeded. Refuses (SyncTransitionError) unless it is running, the input was
   * consumed and every stream succeeded. INCOMPLETE streams do not block success here: the
   * launcher reports them afterwards (StreamsIncompleteError) so the exit is non-zero.
   */
  markSyncSucceeded(): void {
    if (this.#result.status !== 'running') {
      throw new SyncTransitionError(`the sync cannot succeed: it already ${this.#result.status}`);
    }
    if (!this.#inputConsumed) {
      throw new SyncTransitionError('the sync cannot succeed before its input was fully read');
    }
    const active = this.activeStreams();
    if (active.length > 0) {
      throw new SyncTransitionError(
        `the sync cannot succeed while streams are still active: ${names(active)}`,
      );
    }
    const failed = this.streams().filter((s) => s.result.status === 'failed');
    if (failed.length > 0) {
      throw new SyncTransitionError(`the sync cannot succeed: streams failed: ${names(failed)}`);
    }
    this.#result = { status: 'succeeded' };
  }

  /** Marks the sync failed; returns false (and changes nothing) if it already ended. */
  markSyncFailed(error: unknown): boolean {
    if (this.#result.status !== 'running') return false;
    this.#result = { status: 'failed', error };
    return true;
  }
}

function names(streams: readonly StreamManager[]): string {
  return streamList(streams.map((s) => s.displayName));
}
