/**
 * The started StreamLoader of each stream, or the reason there is none. Workers that need a
 * loader wait here until OpenStream registered it; a failed open or a failed stream rejects
 * every waiter, so nothing waits forever.
 */
import type { GuardedStreamLoader } from '../write/guarded-stream-loader.js';

interface Slot {
  readonly promise: Promise<GuardedStreamLoader>;
  resolve(loader: GuardedStreamLoader): void;
  reject(error: unknown): void;
  loader: GuardedStreamLoader | undefined;
  settled: boolean;
}

export class StreamLoaders {
  readonly #slots = new Map<string, Slot>();

  #slot(key: string): Slot {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      let resolve!: (loader: GuardedStreamLoader) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<GuardedStreamLoader>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A rejection nobody awaits is not an unhandled one: the failure is handled elsewhere.
      promise.catch(() => undefined);
      slot = { promise, resolve, reject, loader: undefined, settled: false };
      this.#slots.set(key, slot);
    }
    return slot;
  }

  /** Resolves once the stream's loader started; rejects when opening it failed or `signal` aborts. */
  get(key: string, signal?: AbortSignal): Promise<GuardedStreamLoader> {
    const { promise } = this.#slot(key);
    if (signal === undefined) return promise;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<GuardedStreamLoader>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (loader) => {
          signal.removeEventListener('abort', onAbort);
          resolve(loader);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** The loader if it started, for closing. */
  started(key: string): GuardedStreamLoader | undefined {
    return this.#slots.get(key)?.loader;
  }

  /** Registers a started loader; false when the stream already failed (the caller closes it). */
  register(key: string, loader: GuardedStreamLoader): boolean {
    const slot = this.#slot(key);
    if (slot.settled) return false;
    slot.settled = true;
    slot.loader = loader;
    slot.resolve(loader);
    return true;
  }

  /** Makes every waiter for the stream fail (open failed, or the sync is failing). */
  fail(key: string, error: unknown): void {
    const slot = this.#slot(key);
    if (slot.settled) return;
    slot.settled = true;
    slot.reject(error);
  }
}
