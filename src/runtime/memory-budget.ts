/**
 * MemoryBudget: the one global byte budget of a sync. Bytes are reserved before input is buffered
 * and released when they leave memory, so a slow destination stalls the reader instead of growing
 * the heap. Waiters are served strictly first come, first served.
 *
 * Terms:
 * - **reserved**: bytes held now; never more than `capacity`. `available = capacity - reserved`.
 * - **waiting**: requests queued because their bytes did not fit (or an earlier request waits).
 * - **blocked time**: wall time (by the injected clock) during which at least one request waited.
 *
 * Why not async-mutex's weighted `Semaphore` (PAIN-POINTS.md item 1 suggests it): with weights in
 * bytes it does not fit. (1) Every release runs `_drainUnlockWaiters`, which loops from the current
 * value down to 1, i.e. ~10^8 iterations per release for a 100 MiB budget. (2) A queued acquire
 * cannot be withdrawn alone (`cancel()` rejects every waiter), so an AbortSignal cannot be honoured.
 * (3) A weight above the capacity waits forever instead of failing. (4) Every acquire allocates a
 * promise and a releaser, with no synchronous fast path, and its releaser cannot release part of
 * the weight. The queue below is a few lines, FIFO, abortable, and O(1) per operation.
 */
import { ConfigError, type DestkitErrorOptions, SystemError } from '../errors/destkit-error.js';
import { type AbortWatch, abortWatch, isAborted } from './abort-watch.js';
import { FifoQueue } from './channel.js';

const DEFAULT_BUDGET_NAME = 'memory budget';
const DEFAULT_SETTING = 'memory_budget_bytes / DESTKIT_MEMORY_BUDGET_BYTES';

/** A request larger than the whole budget: it could never be served. */
export class MemoryBudgetExceededError extends ConfigError {
  override readonly code = 'MEMORY_REQUEST_TOO_LARGE';
  constructor(
    readonly requestedBytes: number,
    readonly capacityBytes: number,
    readonly budgetName: string = DEFAULT_BUDGET_NAME,
    readonly setting: string = DEFAULT_SETTING,
  ) {
    super(
      `a reservation of ${requestedBytes} bytes exceeds the whole ${budgetName} of ` +
        `${capacityBytes} bytes; raise ${setting}`,
    );
  }
}

/** A byte count that is not a non-negative safe integer, or a release of bytes not held. */
export class InvalidMemoryRequestError extends SystemError {
  override readonly code = 'MEMORY_INVALID_REQUEST';
  constructor(
    readonly operation: 'reserve' | 'release',
    readonly bytes: number,
    readonly heldBytes?: number,
  ) {
    super(
      heldBytes === undefined
        ? `cannot ${operation} ${bytes} bytes: a byte count must be a non-negative integer`
        : `cannot ${operation} ${bytes} bytes: only ${heldBytes} bytes are held`,
    );
  }
}

/** A budget capacity that is not a positive safe integer (from config or an override). */
export class InvalidMemoryBudgetError extends ConfigError {
  override readonly code = 'MEMORY_BUDGET_INVALID';
  constructor(
    readonly value: unknown,
    options: DestkitErrorOptions = {},
  ) {
    super(
      `the memory budget must be a positive whole number of bytes, got ${String(value)} ` +
        '(check memory_budget_bytes / DESTKIT_MEMORY_BUDGET_BYTES)',
      options,
    );
  }
}

/** Options of {@link MemoryBudget}. */
export interface MemoryBudgetOptions {
  /** The budget in bytes; a positive safe integer. Required (see `defaultMemoryBudget`). */
  readonly capacity: number;
  /** Clock in milliseconds, for blocked time. Default `performance.now()`. */
  readonly now?: () => number;
  /** Names the budget in errors, e.g. `'disk budget'`. Default `'memory budget'`. */
  readonly name?: string;
  /** The setting an error tells the user to raise. Default the memory budget's settings. */
  readonly setting?: string;
}

/** A point-in-time view of the budget, for the status server and the report. */
export interface MemoryBudgetSnapshot {
  capacity: number;
  reserved: number;
  available: number;
  waiting: number;
  highWaterMark: number;
  blockedMs: number;
}

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
  readonly watch: AbortWatch | undefined;
  onAbort: (() => void) | undefined;
}

const RESOLVED: Promise<void> = Promise.resolve();
const defaultNow = (): number => performance.now();

export class MemoryBudget {
  readonly capacity: number;
  readonly name: string;
  readonly #setting: string;
  readonly #now: () => number;
  readonly #waiters = new FifoQueue<Waiter>();
  #reserved = 0;
  #highWaterMark = 0;
  #blockedMs = 0;
  #blockedSince = 0;

  constructor(options: MemoryBudgetOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new InvalidMemoryBudgetError(options.capacity);
    }
    this.capacity = options.capacity;
    this.name = options.name ?? DEFAULT_BUDGET_NAME;
    this.#setting = options.setting ?? DEFAULT_SETTING;
    this.#now = options.now ?? defaultNow;
  }

  get reserved(): number {
    return this.#reserved;
  }

  get available(): number {
    return this.capacity - this.#reserved;
  }

  /** Requests queued right now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** The largest `reserved` seen. */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  /** Total time, in clock milliseconds, during which at least one request waited. */
  get blockedMs(): number {
    return this.#waiters.length > 0
      ? this.#blockedMs + (this.#now() - this.#blockedSince)
      : this.#blockedMs;
  }

  snapshot(): MemoryBudgetSnapshot {
    return {
      capacity: this.capacity,
      reserved: this.#reserved,
      available: this.available,
      waiting: this.#waiters.length,
      highWaterMark: this.#highWaterMark,
      blockedMs: this.blockedMs,
    };
  }

  /**
   * The hot path: reserves `bytes` now if they fit and nobody waits (FIFO), without allocating.
   * Returns false otherwise; fall back to {@link MemoryBudget.reserveBytes}. Release the bytes with
   * {@link MemoryBudget.releaseBytes}. Throws {@link MemoryBudgetExceededError} for a request
   * larger than the whole budget and {@link InvalidMemoryRequestError} for a bad byte count.
   */
  tryReserveSync(bytes: number): boolean {
    const error = this.#validate(bytes);
    if (error !== undefined) throw error;
    return this.#tryTake(bytes);
  }

  /**
   * Reserves `bytes`, waiting behind earlier requests until they fit; release them with
   * {@link MemoryBudget.releaseBytes}. Resolves without allocating when they fit at once. Rejects
   * with {@link MemoryBudgetExceededError} at once for a request larger than the whole budget,
   * and with the signal's reason if `signal` aborts first (nothing is then reserved).
   */
  reserveBytes(bytes: number, signal?: AbortSignal): Promise<void> {
    const error = this.#validate(bytes);
    if (error !== undefined) return Promise.reject(error);
    if (signal !== undefined && isAborted(signal)) return Promise.reject(signal.reason);
    if (this.#tryTake(bytes)) return RESOLVED;
    return new Promise<void>((resolve, reject) => this.#enqueue(bytes, signal, resolve, reject));
  }

  /** Returns `bytes` reserved with `tryReserveSync` or `reserveBytes`, and serves waiters. */
  releaseBytes(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new InvalidMemoryRequestError('release', bytes);
    }
    if (bytes > this.#reserved)
      throw new InvalidMemoryRequestError('release', bytes, this.#reserved);
    this.#reserved -= bytes;
    this.#dispatch();
  }

  /** Like {@link MemoryBudget.reserveBytes}, with a handle that releases the bytes. */
  reserve(bytes: number, signal?: AbortSignal): Promise<Reservation> {
    const error = this.#validate(bytes);
    if (error !== undefined) return Promise.reject(error);
    if (signal !== undefined && isAborted(signal)) return Promise.reject(signal.reason);
    if (this.#tryTake(bytes)) return Promise.resolve(new Reservation(this, bytes));
    return new Promise<Reservation>((resolve, reject) =>
      this.#enqueue(bytes, signal, () => resolve(new Reservation(this, bytes)), reject),
    );
  }

  /** Like {@link MemoryBudget.tryReserveSync}, with a handle; `undefined` when it does not fit. */
  tryReserve(bytes: number): Reservation | undefined {
    return this.tryReserveSync(bytes) ? new Reservation(this, bytes) : undefined;
  }

  #validate(bytes: number): Error | undefined {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      return new InvalidMemoryRequestError('reserve', bytes);
    }
    if (bytes > this.capacity) {
      return new MemoryBudgetExceededError(bytes, this.capacity, this.name, this.#setting);
    }
    return undefined;
  }

  /** Takes `bytes` if nobody waits and they fit. A zero-byte request never waits. */
  #tryTake(bytes: number): boolean {
    if (bytes === 0) return true;
    if (this.#waiters.length > 0 || bytes > this.capacity - this.#reserved) return false;
    this.#take(bytes);
    return true;
  }

  #take(bytes: number): void {
    this.#reserved += bytes;
    if (this.#reserved > this.#highWaterMark) this.#highWaterMark = this.#reserved;
  }

  #enqueue(
    bytes: number,
    signal: AbortSignal | undefined,
    grant: () => void,
    reject: (reason: unknown) => void,
  ): void {
    const watch = signal === undefined ? undefined : abortWatch(signal);
    const waiter: Waiter = { bytes, grant, watch, onAbort: undefined };
    if (signal !== undefined && watch !== undefined) {
      waiter.onAbort = () => {
        waiter.onAbort = undefined;
        this.#waiters.remove(waiter);
        if (this.#waiters.length === 0) this.#blockedMs += this.#now() - this.#blockedSince;
        // The aborted request may have been the head that held back smaller ones behind it.
        else this.#dispatch();
        reject(signal.reason);
      };
      watch.add(waiter.onAbort);
    }
    if (this.#waiters.length === 0) this.#blockedSince = this.#now();
    this.#waiters.push(waiter);
  }

  /** Serves waiters in order while the head fits; a head that does not fit holds the rest. */
  #dispatch(): void {
    if (this.#waiters.length === 0) return;
    while (this.#waiters.length > 0) {
      const head = this.#waiters.peek();
      if (head.bytes > this.capacity - this.#reserved) return;
      this.#waiters.shift();
      if (head.onAbort !== undefined) head.watch?.remove(head.onAbort);
      head.onAbort = undefined;
      this.#take(head.bytes);
      head.grant();
    }
    this.#blockedMs += this.#now() - this.#blockedSince;
  }
}

/**
 * Bytes held from a {@link MemoryBudget}. `release()` returns what is still held and is
 * idempotent; `release(n)` returns part of it.
 */
export class Reservation {
  #held: number;
  readonly #budget: MemoryBudget;

  constructor(budget: MemoryBudget, bytes: number) {
    this.#budget = budget;
    this.#held = bytes;
  }

  /** Bytes still held. */
  get bytes(): number {
    return this.#held;
  }

  /** True once every byte was released. */
  get released(): boolean {
    return this.#held === 0;
  }

  /**
   * Releases `bytes` (default: everything still held). Releasing everything twice is a no-op;
   * releasing more than is held throws {@link InvalidMemoryRequestError}.
   */
  release(bytes: number = this.#held): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new InvalidMemoryRequestError('release', bytes);
    }
    if (bytes > this.#held) throw new InvalidMemoryRequestError('release', bytes, this.#held);
    if (bytes === 0) return;
    this.#held -= bytes;
    this.#budget.releaseBytes(bytes);
  }
}
