/**
 * Watching an AbortSignal for the length of one wait (a channel send or receive, a memory
 * reservation), without an event listener when the signal is a task's.
 *
 * With many streams, a stream's task waits on its channel for almost every event it gets: tens
 * of thousands of waits per sync, each resolved a few microseconds later. An `abort` listener
 * added and removed per wait costs more than the rest of the wait (Node's EventTarget allocates
 * and validates on both calls), and so does reading `signal.aborted` on a thousand different
 * signals. So the signals the task registry creates for its tasks are *watchable*: a wait on one
 * records its callback in a small object kept beside the signal, and the registry, which alone
 * aborts those signals, runs the callbacks right after the signal's own listeners
 * ({@link abortWatchable}). Any other signal is watched with a `once` listener, removed when the
 * wait ends.
 *
 * Either way a callback runs at most once, only if the signal aborts while it is watched,
 * callbacks run in the order they started watching, and nothing stays registered on the signal
 * once the wait has ended.
 */

/** One wait's view of its signal: `abortWatch(signal)`, then `add` and later `remove`. */
export interface AbortWatch {
  /** `signal.aborted`, read without touching a watchable signal. */
  readonly aborted: boolean;
  /** Calls `onAbort` once if the signal aborts before `remove(onAbort)`; not if it already has. */
  add(onAbort: () => void): void;
  /** Stops watching; a no-op if `onAbort` already ran or was not added. */
  remove(onAbort: () => void): void;
}

/**
 * The callbacks watching one watchable signal. A signal is almost always watched by one wait at
 * a time (its task's), so one callback has a slot of its own and a set is made only for more.
 * `first`, when set, started watching before every callback in `more` (a set keeps insertion
 * order), so callbacks run in watching order.
 */
class WatchableSignal implements AbortWatch {
  aborted = false;
  #first: (() => void) | undefined;
  #more: Set<() => void> | undefined;

  add(onAbort: () => void): void {
    if (this.aborted) return;
    if (this.#first === undefined && (this.#more === undefined || this.#more.size === 0)) {
      this.#first = onAbort;
      return;
    }
    this.#more ??= new Set();
    this.#more.add(onAbort);
  }

  remove(onAbort: () => void): void {
    if (this.#first === onAbort) this.#first = undefined;
    else this.#more?.delete(onAbort);
  }

  /** Runs the callbacks in order; one removed by an earlier one is skipped, as a listener is. */
  fire(): void {
    for (;;) {
      let callback = this.#first;
      if (callback !== undefined) {
        this.#first = undefined;
      } else if (this.#more !== undefined && this.#more.size > 0) {
        callback = this.#more.values().next().value as () => void;
        this.#more.delete(callback);
      } else {
        return;
      }
      try {
        callback();
      } catch (error) {
        // As for a throwing event listener: reported as uncaught, the other callbacks still run.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }
}

/** Any other signal: one `once` listener per wait. */
class ListenerWatch implements AbortWatch {
  constructor(private readonly signal: AbortSignal) {}

  get aborted(): boolean {
    return this.signal.aborted;
  }

  add(onAbort: () => void): void {
    this.signal.addEventListener('abort', onAbort, { once: true });
  }

  remove(onAbort: () => void): void {
    this.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Where a watchable signal keeps its WatchableSignal: a property of the signal under a symbol
 * of this module's own, not a WeakMap (each task made a WeakMap entry, which cost more to add
 * and to collect than the rest of its signal's bookkeeping).
 */
const WATCH = Symbol('destkit.abortWatch');
type WithWatch = AbortSignal & { [WATCH]?: WatchableSignal };

function watchable(signal: AbortSignal): WatchableSignal | undefined {
  return (signal as WithWatch)[WATCH];
}

/**
 * Makes `signal` watchable: waits on it register without a listener. The caller owns the
 * signal's controller and must abort it only through {@link abortWatchable}. Idempotent.
 */
export function makeWatchable(signal: AbortSignal): void {
  (signal as WithWatch)[WATCH] ??= new WatchableSignal();
}

/**
 * Aborts `controller` with `reason`, then runs the callbacks still watching its signal, in
 * watching order. A callback removed by an earlier one is skipped.
 */
export function abortWatchable(controller: AbortController, reason: unknown): void {
  const watch = watchable(controller.signal);
  // Set first: the signal's own listeners run inside `abort`, and a wait one of them starts
  // must see the signal aborted (its reason is set before they run).
  if (watch !== undefined) watch.aborted = true;
  controller.abort(reason);
  watch?.fire();
}

/** `signal.aborted`, read without touching a watchable signal. */
export function isAborted(signal: AbortSignal): boolean {
  const watch = watchable(signal);
  return watch === undefined ? signal.aborted : watch.aborted;
}

/** The watch of `signal` for one wait; check its `aborted` first. */
export function abortWatch(signal: AbortSignal): AbortWatch {
  return watchable(signal) ?? new ListenerWatch(signal);
}
