/**
 * Holds the states (checkpoints) a sync received until the records they cover are persisted,
 * then releases each exactly once. Pure and synchronous; generic over the payload the launcher
 * echoes (the raw state line). Rules: ARCHITECTURE.md "Sync and checkpoint rules",
 * PROTOCOL.md §3.
 *
 * Terms:
 * - checkpoint: a received state with the record indexes it covers — one stream's index for a
 *   STREAM state, every stream's index for a GLOBAL (or LEGACY) state.
 * - sequence: the 0-based position of a checkpoint among all checkpoints of the sync (input
 *   order).
 * - ready: every record a checkpoint covers is persisted, as told by the caller's
 *   `isPersistedUntil(streamKey, index)`.
 *
 * Release order:
 * - GLOBAL: one FIFO; the head is released once ready, and nothing passes a head that is not
 *   ready (strict input order).
 * - STREAM: one FIFO per stream, released the same way, so each stream's states come out in
 *   input order. Streams do not wait for each other: a state of stream B received after a
 *   not-yet-ready state of stream A may be released first. The protocol orders STREAM states
 *   per stream only (PROTOCOL.md §3 rule 2), and holding B behind a slow A would delay B's
 *   states for nothing (PAIN-POINTS.md item 2). Within one `flushReady` call the released
 *   states are returned in input order.
 *
 * A sync uses one kind: the first checkpoint decides, and the other kind then throws
 * MixedStateTypesError. Indexes of a stream never go backwards (CheckpointIndexError).
 */
import { CheckpointIndexError, MixedStateTypesError } from './pipeline-errors.js';

export type CheckpointMode = 'none' | 'STREAM' | 'GLOBAL';

/** Tells whether records `[0, index)` of a stream are persisted. */
export type PersistedUntil = (streamKey: string, index: number) => boolean;

/** A checkpoint not yet released, as reported to a watchdog or a forced flush. */
export interface PendingCheckpoint<T> {
  /** Position among all checkpoints of the sync, 0-based. */
  readonly sequence: number;
  readonly kind: 'STREAM' | 'GLOBAL';
  /** For each stream it covers, the number of records that must be persisted. */
  readonly indexes: ReadonlyMap<string, number>;
  readonly payload: T;
}

interface StreamEntry<T> {
  readonly sequence: number;
  readonly index: number;
  readonly payload: T;
}

interface GlobalEntry<T> {
  readonly sequence: number;
  readonly indexes: ReadonlyMap<string, number>;
  readonly payload: T;
}

/** An array queue with an O(1) amortized `drop` from the head. */
class Fifo<E> {
  #items: E[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: E): void {
    this.#items.push(item);
  }

  /** The item `offset` places behind the head, if any. */
  peek(offset = 0): E | undefined {
    return this.#items[this.#head + offset];
  }

  /** Removes `count` items from the head. */
  drop(count: number): void {
    this.#head += count;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

function assertValidIndex(streamKey: string, index: number, previous: number | undefined): void {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new CheckpointIndexError(streamKey, index, undefined);
  }
  if (previous !== undefined && index < previous) {
    throw new CheckpointIndexError(streamKey, index, previous);
  }
}

export class CheckpointManager<T> {
  #mode: CheckpointMode = 'none';
  #nextSequence = 0;
  #pending = 0;
  /** Highest index added so far, per stream (for the never-backwards check). */
  readonly #lastIndex = new Map<string, number>();
  /** STREAM mode: the non-empty FIFOs, one per stream. */
  readonly #streamQueues = new Map<string, Fifo<StreamEntry<T>>>();
  /** GLOBAL mode. */
  readonly #globalQueue = new Fifo<GlobalEntry<T>>();

  /** The kind of checkpoint this sync uses; 'none' until the first one arrives. */
  get mode(): CheckpointMode {
    return this.#mode;
  }

  /** Checkpoints received and not yet released. */
  get pendingCount(): number {
    return this.#pending;
  }

  /** Checkpoints received so far. */
  get receivedCount(): number {
    return this.#nextSequence;
  }

  /** True when every checkpoint received so far was released. */
  get allFlushed(): boolean {
    return this.#pending === 0;
  }

  /** Queues a STREAM state covering records `[0, index)` of the stream. */
  addStreamCheckpoint(streamKey: string, index: number, payload: T): void {
    this.#enterMode('STREAM');
    assertValidIndex(streamKey, index, this.#lastIndex.get(streamKey));
    this.#lastIndex.set(streamKey, index);
    let queue = this.#streamQueues.get(streamKey);
    if (queue === undefined) {
      queue = new Fifo();
      this.#streamQueues.set(streamKey, queue);
    }
    queue.push({ sequence: this.#nextSequence++, index, payload });
    this.#pending++;
  }

  /**
   * Queues a GLOBAL or LEGACY state covering, for each stream in `indexesByStream`, records
   * `[0, index)`. The map is copied.
   */
  addGlobalCheckpoint(indexesByStream: ReadonlyMap<string, number>, payload: T): void {
    this.#enterMode('GLOBAL');
    for (const [key, index] of indexesByStream) {
      assertValidIndex(key, index, this.#lastIndex.get(key));
    }
    for (const [key, index] of indexesByStream) this.#lastIndex.set(key, index);
    this.#globalQueue.push({
      sequence: this.#nextSequence++,
      indexes: new Map(indexesByStream),
      payload,
    });
    this.#pending++;
  }

  #enterMode(mode: 'STREAM' | 'GLOBAL'): void {
    if (this.#mode === 'none') this.#mode = mode;
    else if (this.#mode !== mode) throw new MixedStateTypesError();
  }

  /**
   * Removes and returns the payloads of the checkpoints that are ready, in input order (see the
   * file header for the order across streams). Each checkpoint is returned exactly once. If
   * `isPersistedUntil` throws, nothing is removed.
   *
   * `only` (STREAM mode; ignored in GLOBAL mode) names the one stream that may have become
   * ready since the last call (its records were persisted, or it got a checkpoint): the other
   * streams' queues are not looked at, so a sync with many streams does not check them all on
   * every batch. Whoever passes it must call without it after any other change.
   */
  flushReady(isPersistedUntil: PersistedUntil, only?: string): T[] {
    if (this.#mode === 'GLOBAL') return this.#flushGlobal(isPersistedUntil);
    if (only === undefined) return this.#flushStreams(isPersistedUntil, this.#streamQueues);
    const queue = this.#streamQueues.get(only);
    return queue === undefined ? [] : this.#flushStreams(isPersistedUntil, [[only, queue]]);
  }

  #flushGlobal(isPersistedUntil: PersistedUntil): T[] {
    const released: T[] = [];
    for (;;) {
      const head = this.#globalQueue.peek(released.length);
      if (head === undefined || !isGlobalReady(head, isPersistedUntil)) break;
      released.push(head.payload);
    }
    this.#globalQueue.drop(released.length);
    this.#pending -= released.length;
    return released;
  }

  /** The ready checkpoints of the given streams' queues, in input order. */
  #flushStreams(
    isPersistedUntil: PersistedUntil,
    queues: Iterable<readonly [string, Fifo<StreamEntry<T>>]>,
  ): T[] {
    // Decide everything first, then remove, so a throwing callback loses nothing.
    const ready: { key: string; queue: Fifo<StreamEntry<T>>; count: number }[] = [];
    const entries: StreamEntry<T>[] = [];
    for (const [key, queue] of queues) {
      let count = 0;
      for (;;) {
        const head = queue.peek(count);
        if (head === undefined || !isPersistedUntil(key, head.index)) break;
        entries.push(head);
        count++;
      }
      if (count > 0) ready.push({ key, queue, count });
    }
    for (const { key, queue, count } of ready) {
      queue.drop(count);
      if (queue.length === 0) this.#streamQueues.delete(key);
    }
    if (ready.length > 1) entries.sort((a, b) => a.sequence - b.sequence);
    this.#pending -= entries.length;
    return entries.map((entry) => entry.payload);
  }

  /** The earliest-received checkpoint not yet released (for a watchdog or a forced flush). */
  oldestPending(): PendingCheckpoint<T> | undefined {
    if (this.#mode === 'GLOBAL') {
      const head = this.#globalQueue.peek();
      return head === undefined
        ? undefined
        : { sequence: head.sequence, kind: 'GLOBAL', indexes: head.indexes, payload: head.payload };
    }
    let oldest: { key: string; entry: StreamEntry<T> } | undefined;
    for (const [key, queue] of this.#streamQueues) {
      const head = queue.peek();
      if (head !== undefined && (oldest === undefined || head.sequence < oldest.entry.sequence)) {
        oldest = { key, entry: head };
      }
    }
    if (oldest === undefined) return undefined;
    const { key, entry } = oldest;
    return {
      sequence: entry.sequence,
      kind: 'STREAM',
      indexes: new Map([[key, entry.index]]),
      payload: entry.payload,
    };
  }

  /**
   * For each stream with a pending checkpoint, the number of records that must be persisted
   * before its next checkpoint can be released: what a forced flush should push out.
   */
  nextFlushIndexes(): Map<string, number> {
    if (this.#mode === 'GLOBAL') return new Map(this.#globalQueue.peek()?.indexes ?? []);
    const indexes = new Map<string, number>();
    for (const [key, queue] of this.#streamQueues) {
      const head = queue.peek();
      if (head !== undefined) indexes.set(key, head.index);
    }
    return indexes;
  }
}

function isGlobalReady<T>(entry: GlobalEntry<T>, isPersistedUntil: PersistedUntil): boolean {
  for (const [key, index] of entry.indexes) {
    if (!isPersistedUntil(key, index)) return false;
  }
  return true;
}
