/**
 * The time source of the runtime. Everything time-based in the registry (timestamps, TTL
 * expiry, progress throttling, wait timeouts) goes through a `Clock`, so that tests can drive
 * time with a {@link ManualClock} instead of sleeping.
 */

/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin). */
  now(): number;
  /** Calls `fn` once, `delayMs` from now. */
  setTimer(fn: () => void, delayMs: number): Timer;
}

/** The wall clock. Its timers are unref'd: they never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
