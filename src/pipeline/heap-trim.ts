/**
 * HeapTrim: bounds the garbage the main thread's old generation holds.
 *
 * A sync's short-lived objects mostly die young, but a steady trickle outlives two minor
 * collections and is promoted: the runs waiting in open batches, their events, finished task
 * records (~1.5 MB/s in a dev-null sync). V8 collects the old generation only once it reaches a
 * limit it sets at its previous full collection, up to ~4× what was live then. So a long sync's
 * resident memory climbs by tens of MiB of dead objects that a short one never reaches: a 10×
 * longer dev-null sync peaked ~20 % higher before this.
 *
 * The heartbeat calls `tick()` about once a second. When the old generation (old and large-object
 * spaces) holds more than `max(slack, floor / 2)` bytes above its floor (what was left after the
 * last full collection), HeapTrim asks V8 for one. Each collection costs about a marking of what
 * is live (10–20 ms for a dev-null sync) and comes only after at least half that many bytes were
 * promoted, so the cost stays within a small factor of V8's own schedule.
 *
 * Such a collection is one pause of the JS thread (V8's own marks incrementally and mostly on
 * other threads): 19 ms for a dev-null sync's ~11 MB live, about 1 ms per MB live. So HeapTrim
 * acts only while the floor is under MAX_FLOOR_BYTES: the small heaps where dead objects are a
 * large share of the process, and where a pause stays about half the 50 ms a STATE echo may
 * take.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Above this much live old generation, V8's own schedule is left alone: a full collection took
 * 12, 21, 32, 68 and 118 ms at 10, 20, 31, 48 and 65 MB live (a script keeping record-like
 * objects, on the development machine).
 */
export const MAX_FLOOR_BYTES = 24 * 1024 * 1024;

/** Runs a full garbage collection of the main thread's heap. */
export type FullCollection = () => void;

/**
 * V8's full collection: `globalThis.gc` when node runs with `--expose-gc`, else the `gc` of a
 * context created with the flag set for that moment only (the main context and later contexts
 * do not get it). Undefined when V8 refuses.
 */
export function fullCollection(): FullCollection | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => void exposed();
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => void gc() : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Bytes in use in the old generation: the old space and the large-object space. */
export function oldGenerationBytes(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'old_space' || space.space_name === 'large_object_space')
      used += space.space_used_size;
  }
  return used;
}

export interface HeapTrimStats {
  /** Full collections HeapTrim asked for. */
  readonly collections: number;
  /** Time spent in them. */
  readonly collectMs: number;
}

export class HeapTrim {
  #floor: number;
  #collections = 0;
  #collectMs = 0;

  constructor(
    /** Garbage allowed above the floor (at least half the floor); must be > 0. */
    private readonly slackBytes: number,
    private readonly collect: FullCollection,
    private readonly used: () => number = oldGenerationBytes,
    private readonly now: () => number = () => performance.now(),
    private readonly maxFloorBytes = MAX_FLOOR_BYTES,
  ) {
    this.#floor = used();
  }

  get stats(): HeapTrimStats {
    return { collections: this.#collections, collectMs: this.#collectMs };
  }

  /** Collects when the old generation outgrew its floor by more than the slack; true if it did. */
  tick(): boolean {
    const used = this.used();
    if (used < this.#floor) {
      // V8 collected on its own since the last tick.
      this.#floor = used;
      return false;
    }
    if (this.#floor > this.maxFloorBytes) return false;
    if (used - this.#floor <= Math.max(this.slackBytes, this.#floor / 2)) return false;
    const started = this.now();
    this.collect();
    this.#collectMs += this.now() - started;
    this.#collections++;
    this.#floor = this.used();
    return true;
  }
}

/** A HeapTrim with `slackBytes` (0 = off: V8's own schedule), or undefined when off or unavailable. */
export function createHeapTrim(slackBytes: number): HeapTrim | undefined {
  if (slackBytes <= 0) return undefined;
  const collect = fullCollection();
  return collect === undefined ? undefined : new HeapTrim(slackBytes, collect);
}
