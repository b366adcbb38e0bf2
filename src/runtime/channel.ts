/**
 * Channel: the bounded async queue between two tasks of the pipeline, with a visible state and
 * counters for the status server and the sync report. It is on the hot path (every record crosses
 * one), so a send or receive that does not have to wait allocates no promise of its own.
 *
 * Terms:
 * - **producer**: whoever sends. A channel may name its producers with handles
 *   ({@link Channel.addProducer}); it then closes when the last handle closes.
 * - **consumer**: whoever receives. Any number may receive concurrently (worker pools); each item
 *   goes to exactly one of them, waiting consumers are served first come, first served.
 * - **in / out / buffered**: items accepted / delivered / accepted and not delivered;
 *   `in = out + buffered` always.
 * - **blocked time**: wall time (by the injected clock) during which at least one producer waited
 *   for room; concurrent waiting producers do not add up.
 */
import { type DestkitErrorOptions, SystemError } from '../errors/destkit-error.js';
import { type AbortWatch, abortWatch, isAborted } from './abort-watch.js';
import type { ChannelSnapshot, ChannelState } from './channel-snapshot.js';

/** Returned by `receive` (and `tryReceive`) once the channel is closed and fully drained. */
export const END: unique symbol = Symbol('destkit.channel.end');
export type End = typeof END;

/** Returned by `tryReceive` when nothing is buffered and the channel is not closed. */
export const EMPTY: unique symbol = Symbol('destkit.channel.empty');
export type Empty = typeof EMPTY;

/**
 * The channel lifecycle: every legal change of {@link ChannelState} (declared with the snapshot),
 * checked before the state is changed.
 *
 * A channel is `idle` until it accepts its first item, then `open`. It is `blocked` while at least
 * one producer waits for room (the buffer is full), and back to `open` when no producer waits any
 * more (room was made, or the waiting sends were aborted). `closed` is absorbing: it is reached by
 * `close()`, by the last producer handle closing, or by `fail()`, from any other state. A closed
 * channel accepts nothing; its consumers still drain the buffer and only then see {@link END}
 * (after `fail()` they see the failure instead, at once).
 *
 * `idle → blocked` is impossible: the capacity is at least 1, so the first item always fits.
 */
export const CHANNEL_TRANSITIONS: Readonly<Record<ChannelState, readonly ChannelState[]>> = {
  idle: ['open', 'closed'],
  open: ['blocked', 'closed'],
  blocked: ['open', 'closed'],
  closed: [],
};

/** Options of {@link Channel}; every field is optional and documents its default. */
export interface ChannelOptions {
  /** Shown in snapshots, errors and the report. Default `'channel'`. */
  readonly name?: string;
  /** The most items buffered before `send` waits; a positive integer. Default 64. */
  readonly capacity?: number;
  /** Clock in milliseconds, for blocked time. Default `performance.now()`. */
  readonly now?: () => number;
}

/** Sending to a closed channel, or through a producer handle that has closed. */
export class ChannelClosedError extends SystemError {
  override readonly code = 'CHANNEL_CLOSED';
  constructor(
    readonly channelName: string,
    readonly producerId?: number,
  ) {
    super(
      producerId === undefined
        ? `cannot send to channel ${channelName}: it is closed`
        : `cannot send to channel ${channelName} through producer ${producerId}: that producer has closed`,
    );
  }
}

/** A defect: a state change that {@link CHANNEL_TRANSITIONS} does not allow. */
export class IllegalChannelTransitionError extends SystemError {
  override readonly code = 'CHANNEL_ILLEGAL_TRANSITION';
  constructor(
    readonly channelName: string,
    readonly from: ChannelState,
    readonly to: ChannelState,
  ) {
    super(`channel ${channelName} cannot go from ${from} to ${to}`);
  }
}

/** A channel option out of range (a defect in the caller: options are validated upstream). */
export class InvalidChannelOptionError extends SystemError {
  override readonly code = 'CHANNEL_INVALID_OPTION';
  constructor(
    readonly channelName: string,
    readonly option: string,
    readonly value: unknown,
    options: DestkitErrorOptions = {},
  ) {
    super(`channel ${channelName}: invalid ${option} ${String(value)}`, options);
  }
}

const RESOLVED: Promise<void> = Promise.resolve();
const RESOLVED_END: Promise<End> = Promise.resolve(END);
const DEFAULT_CAPACITY = 64;
const defaultNow = (): number => performance.now();

/**
 * A FIFO queue on a growable ring buffer: O(1) push and shift, no `Array#shift` copies, slots
 * cleared on shift so taken items can be collected. `remove` is O(n) and only used for aborts.
 * Exported for the other runtime queues (memory budget waiters); not part of the public API.
 */
export class FifoQueue<T> {
  #slots: (T | undefined)[];
  #mask: number;
  #head = 0;
  #size = 0;

  constructor(initialCapacity = 8) {
    let size = 4;
    while (size < initialCapacity) size *= 2;
    this.#slots = new Array<T | undefined>(size).fill(undefined);
    this.#mask = size - 1;
  }

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Takes the oldest item; the caller checks `length > 0` first. */
  shift(): T {
    const item = this.#slots[this.#head] as T;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** The oldest item without taking it; the caller checks `length > 0` first. */
  peek(): T {
    return this.#slots[this.#head] as T;
  }

  /** Removes one occurrence of `item`, keeping the order of the others. */
  remove(item: T): boolean {
    for (let i = 0; i < this.#size; i++) {
      if (this.#slots[(this.#head + i) & this.#mask] !== item) continue;
      for (let j = i; j < this.#size - 1; j++) {
        this.#slots[(this.#head + j) & this.#mask] = this.#slots[(this.#head + j + 1) & this.#mask];
      }
      this.#slots[(this.#head + this.#size - 1) & this.#mask] = undefined;
      this.#size--;
      return true;
    }
    return false;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const items: T[] = [];
    while (this.#size > 0) items.push(this.shift());
    this.#head = 0;
    return items;
  }

  #grow(): void {
    const old = this.#slots;
    const slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#size; i++) slots[i] = old[(this.#head + i) & this.#mask];
    this.#slots = slots;
    this.#mask = slots.length - 1;
    this.#head = 0;
  }
}

interface PendingSend<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly watch: AbortWatch | undefined;
  onAbort: (() => void) | undefined;
}

interface PendingReceive<T> {
  readonly resolve: (value: T | End) => void;
  readonly reject: (reason: unknown) => void;
  readonly watch: AbortWatch | undefined;
  onAbort: (() => void) | undefined;
}

function detach(waiter: { watch: AbortWatch | undefined; onAbort: (() => void) | undefined }) {
  if (waiter.onAbort !== undefined) waiter.watch?.remove(waiter.onAbort);
  waiter.onAbort = undefined;
}

/**
 * A bounded multi-producer, multi-consumer async queue.
 *
 * Fast loop for a consumer (no promise per item while items are buffered):
 * ```ts
 * for (;;) {
 *   let item = channel.tryReceive();
 *   if (item === EMPTY) item = await channel.receive(signal);
 *   if (item === END) break;
 *   handle(item);
 * }
 * ```
 */
export class Channel<T> {
  readonly name: string;
  readonly capacity: number;
  readonly #now: () => number;
  readonly #buffer: FifoQueue<T>;
  readonly #senders = new FifoQueue<PendingSend<T>>();
  readonly #receivers = new FifoQueue<PendingReceive<T>>();
  #state: ChannelState = 'idle';
  #in = 0;
  #out = 0;
  #discarded = 0;
  #highWaterMark = 0;
  #blockedMs = 0;
  #blockedSince = 0;
  #failed = false;
  #failure: unknown;
  #producersAdded = 0;
  #producersOpen = 0;

  constructor(options: ChannelOptions = {}) {
    this.name = options.name ?? 'channel';
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidChannelOptionError(this.name, 'capacity', capacity);
    }
    this.capacity = capacity;
    this.#now = options.now ?? defaultNow;
    this.#buffer = new FifoQueue<T>(Math.min(capacity, 16));
  }

  get state(): ChannelState {
    return this.#state;
  }

  /** True once closed (by `close`, the last producer, or `fail`). */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** True once `fail` was called; `failure` holds the error. */
  get failed(): boolean {
    return this.#failed;
  }

  get failure(): unknown {
    return this.#failure;
  }

  /** Items accepted so far. */
  get in(): number {
    return this.#in;
  }

  /** Items delivered to a consumer so far. */
  get out(): number {
    return this.#out;
  }

  /**
   * Items accepted and not delivered. After `fail` this still counts the undelivered items (handed
   * back by `fail`), so `in = out + buffered` holds in every state.
   */
  get buffered(): number {
    return this.#buffer.length + this.#discarded;
  }

  /** The largest `buffered` seen. */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  /** Total time, in clock milliseconds, during which at least one producer waited for room. */
  get blockedMs(): number {
    return this.#state === 'blocked'
      ? this.#blockedMs + (this.#now() - this.#blockedSince)
      : this.#blockedMs;
  }

  /** Producers waiting for room right now. */
  get waitingSenders(): number {
    return this.#senders.length;
  }

  /** Consumers waiting for an item right now. */
  get waitingReceivers(): number {
    return this.#receivers.length;
  }

  /** Producer handles added and not yet closed (0 for a channel closed by its owner). */
  get producers(): number {
    return this.#producersOpen;
  }

  snapshot(): ChannelSnapshot {
    return {
      name: this.name,
      state: this.#state,
      in: this.#in,
      out: this.#out,
      buffered: this.buffered,
      capacity: this.capacity,
      highWaterMark: this.#highWaterMark,
      blockedMs: this.blockedMs,
      producers: this.#producersOpen,
    };
  }

  /**
   * Sends `item`: resolves at once when there is room (no promise is allocated), else waits for
   * room, first come first served. Rejects with {@link ChannelClosedError} when the channel is or
   * becomes closed before the item is accepted, with the failure after `fail`, and with the
   * signal's reason when `signal` is or becomes aborted before the item is accepted; in every
   * rejected case the item was not enqueued.
   */
  send(item: T, signal?: AbortSignal): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#sendError());
    if (signal !== undefined && isAborted(signal)) return Promise.reject(signal.reason);
    if (this.#accept(item)) return RESOLVED;
    return this.#waitToSend(item, signal);
  }

  /**
   * Sends `item` only if there is room now (and no other producer is waiting): returns whether it
   * was accepted. Throws {@link ChannelClosedError} (or the failure) when the channel is closed.
   */
  trySend(item: T): boolean {
    if (this.#state === 'closed') throw this.#sendError();
    return this.#accept(item);
  }

  /**
   * Receives the oldest item, waiting when none is buffered. Resolves {@link END} once the channel
   * is closed and every accepted item was delivered. Rejects with the failure after `fail`, and
   * with the signal's reason when `signal` is or becomes aborted before an item was handed over.
   */
  receive(signal?: AbortSignal): Promise<T | End> {
    if (this.#failed) return Promise.reject(this.#failure);
    if (this.#buffer.length > 0) return Promise.resolve(this.#take());
    if (this.#state === 'closed') return RESOLVED_END;
    if (signal === undefined) {
      return new Promise<T | End>((resolve, reject) => {
        this.#receivers.push({ resolve, reject, watch: undefined, onAbort: undefined });
      });
    }
    const watch = abortWatch(signal);
    if (watch.aborted) return Promise.reject(signal.reason);
    return new Promise<T | End>((resolve, reject) => {
      const waiter: PendingReceive<T> = { resolve, reject, watch, onAbort: undefined };
      waiter.onAbort = () => {
        waiter.onAbort = undefined;
        this.#receivers.remove(waiter);
        reject(signal.reason);
      };
      watch.add(waiter.onAbort);
      this.#receivers.push(waiter);
    });
  }

  /**
   * Receives the oldest item if one is buffered: the item, {@link EMPTY} when none is buffered
   * and the channel is open, {@link END} when closed and drained. Throws the failure after `fail`.
   */
  tryReceive(): T | Empty | End {
    if (this.#failed) throw this.#failure;
    if (this.#buffer.length > 0) return this.#take();
    return this.#state === 'closed' ? END : EMPTY;
  }

  /** Items until {@link END}; throws the failure after `fail`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item = this.tryReceive();
      if (item === EMPTY) item = await this.receive();
      if (item === END) return;
      yield item;
    }
  }

  /**
   * No more sends: waiting sends are rejected with {@link ChannelClosedError} (their items are not
   * enqueued); consumers drain what is buffered, then see {@link END}. Idempotent.
   */
  close(): void {
    if (this.#state === 'closed') return;
    this.#transition('closed');
    while (this.#senders.length > 0) {
      const sender = this.#senders.shift();
      detach(sender);
      sender.reject(new ChannelClosedError(this.name));
    }
    // Consumers only wait on an empty buffer, so every waiting consumer has reached the end.
    while (this.#receivers.length > 0) {
      const receiver = this.#receivers.shift();
      detach(receiver);
      receiver.resolve(END);
    }
  }

  /**
   * Closes the channel with an error: every waiting producer and consumer, and every later send or
   * receive, gets `error`. Returns the buffered items, which will never be delivered, so that the
   * caller can release what they hold. The first failure wins; later calls return `[]`.
   */
  fail(error: unknown): T[] {
    if (this.#failed) return [];
    this.#failed = true;
    this.#failure = error;
    const undelivered = this.#buffer.drain();
    this.#discarded += undelivered.length;
    if (this.#state !== 'closed') this.#transition('closed');
    while (this.#senders.length > 0) {
      const sender = this.#senders.shift();
      detach(sender);
      sender.reject(error);
    }
    while (this.#receivers.length > 0) {
      const receiver = this.#receivers.shift();
      detach(receiver);
      receiver.reject(error);
    }
    return undelivered;
  }

  /**
   * Adds a named producer. Once producers were added, the channel closes when the last of them
   * closes (`close()` still closes it at once). Add every producer before the first one may close.
   */
  addProducer(): ChannelProducer<T> {
    if (this.#state === 'closed') throw this.#sendError();
    this.#producersAdded++;
    this.#producersOpen++;
    return new ChannelProducer<T>(this, this.#producersAdded, () => this.#producerClosed());
  }

  /** Adds `count` producers at once; see {@link Channel.addProducer}. */
  addProducers(count: number): ChannelProducer<T>[] {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new InvalidChannelOptionError(this.name, 'producer count', count);
    }
    const producers: ChannelProducer<T>[] = [];
    for (let i = 0; i < count; i++) producers.push(this.addProducer());
    return producers;
  }

  /** Closes one producer; the same as `producer.close()`. Idempotent per producer. */
  closeProducer(producer: ChannelProducer<T>): void {
    if (producer.channel !== this) {
      throw new InvalidChannelOptionError(this.name, 'producer of channel', producer.channel.name);
    }
    producer.close();
  }

  #producerClosed(): void {
    this.#producersOpen--;
    if (this.#producersOpen === 0) this.close();
  }

  #sendError(): unknown {
    return this.#failed ? this.#failure : new ChannelClosedError(this.name);
  }

  /** Hands `item` to a waiting consumer, or buffers it; false when there is no room. */
  #accept(item: T): boolean {
    if (this.#receivers.length > 0) {
      const receiver = this.#receivers.shift();
      detach(receiver);
      this.#in++;
      this.#out++;
      if (this.#state === 'idle') this.#transition('open');
      receiver.resolve(item);
      return true;
    }
    // Producers wait only on a full buffer; the second test keeps the order if that ever changes.
    if (this.#buffer.length >= this.capacity || this.#senders.length > 0) return false;
    this.#buffer.push(item);
    this.#in++;
    if (this.#buffer.length > this.#highWaterMark) this.#highWaterMark = this.#buffer.length;
    if (this.#state === 'idle') this.#transition('open');
    return true;
  }

  /** Takes the oldest buffered item (the caller checked there is one) and lets a producer in. */
  #take(): T {
    const item = this.#buffer.shift();
    this.#out++;
    if (this.#senders.length > 0) {
      const sender = this.#senders.shift();
      detach(sender);
      this.#buffer.push(sender.item);
      this.#in++;
      if (this.#senders.length === 0) this.#transition('open');
      sender.resolve();
    }
    return item;
  }

  #waitToSend(item: T, signal: AbortSignal | undefined): Promise<void> {
    const watch = signal === undefined ? undefined : abortWatch(signal);
    return new Promise<void>((resolve, reject) => {
      const waiter: PendingSend<T> = { item, resolve, reject, watch, onAbort: undefined };
      if (signal !== undefined && watch !== undefined) {
        waiter.onAbort = () => {
          waiter.onAbort = undefined;
          this.#senders.remove(waiter);
          if (this.#senders.length === 0 && this.#state === 'blocked') this.#transition('open');
          reject(signal.reason);
        };
        watch.add(waiter.onAbort);
      }
      this.#senders.push(waiter);
      if (this.#state === 'open') this.#transition('blocked');
    });
  }

  #transition(to: ChannelState): void {
    const from = this.#state;
    if (!CHANNEL_TRANSITIONS[from].includes(to)) {
      throw new IllegalChannelTransitionError(this.name, from, to);
    }
    if (from === 'blocked') this.#blockedMs += this.#now() - this.#blockedSince;
    if (to === 'blocked') this.#blockedSince = this.#now();
    this.#state = to;
  }
}

/**
 * One producer's handle on a {@link Channel}. Closing it is idempotent: a second close from the
 * same producer does not count again. Sends through a closed handle are rejected.
 */
export class ChannelProducer<T> {
  #closed = false;
  readonly #onClose: () => void;

  constructor(
    readonly channel: Channel<T>,
    readonly id: number,
    onClose: () => void,
  ) {
    this.#onClose = onClose;
  }

  /** True once this producer has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** See {@link Channel.send}; rejects with {@link ChannelClosedError} once this handle closed. */
  send(item: T, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ChannelClosedError(this.channel.name, this.id));
    return this.channel.send(item, signal);
  }

  /** See {@link Channel.trySend}; throws {@link ChannelClosedError} once this handle closed. */
  trySend(item: T): boolean {
    if (this.#closed) throw new ChannelClosedError(this.channel.name, this.id);
    return this.channel.trySend(item);
  }

  /** This producer is done; the channel closes when the last producer is done. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }
}
