import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  createHeapTrim,
  fullCollection,
  HeapTrim,
  MAX_FLOOR_BYTES,
  oldGenerationBytes,
} from '../../src/pipeline/heap-trim.js';

const MiB = 1024 * 1024;

/**
 * A HeapTrim over a fake old generation: `collect` drops it to `live`. No cap on the floor
 * unless given (the cap has a test of its own).
 */
function fakeHeap(initial: number, slack: number, maxFloor = Number.POSITIVE_INFINITY) {
  const heap = { used: initial, live: initial, collections: 0 };
  const trim = new HeapTrim(
    slack,
    () => {
      heap.collections++;
      heap.used = heap.live;
    },
    () => heap.used,
    () => 0,
    maxFloor,
  );
  return { heap, trim };
}

describe('HeapTrim', () => {
  it('collects only once the old generation outgrew its floor by max(slack, floor / 2)', () => {
    const { heap, trim } = fakeHeap(20 * MiB, 4 * MiB);
    heap.used = 30 * MiB; // +10 MiB: within max(4, 10)
    expect(trim.tick()).toBe(false);
    heap.used = 30 * MiB + 1;
    expect(trim.tick()).toBe(true);
    expect(heap.collections).toBe(1);
    expect(trim.stats.collections).toBe(1);
    // The floor is now what was left: 20 MiB again.
    heap.used = 29 * MiB;
    expect(trim.tick()).toBe(false);
  });

  it('uses the slack when the floor is small', () => {
    const { heap, trim } = fakeHeap(2 * MiB, 4 * MiB);
    heap.used = 6 * MiB;
    expect(trim.tick()).toBe(false);
    heap.used = 6 * MiB + 1;
    expect(trim.tick()).toBe(true);
  });

  it('follows a collection V8 made on its own (the floor drops)', () => {
    const { heap, trim } = fakeHeap(40 * MiB, 4 * MiB);
    heap.used = 12 * MiB; // V8 collected: the floor is 12 MiB now
    expect(trim.tick()).toBe(false);
    heap.used = 18 * MiB + 1; // > 12 + max(4, 6)
    heap.live = 12 * MiB;
    expect(trim.tick()).toBe(true);
    expect(heap.collections).toBe(1);
  });

  it('a floor that grew (more live objects) raises the next threshold', () => {
    const { heap, trim } = fakeHeap(10 * MiB, 4 * MiB);
    heap.live = 30 * MiB;
    heap.used = 40 * MiB;
    expect(trim.tick()).toBe(true);
    heap.used = 45 * MiB; // +15 MiB over a 30 MiB floor: not yet
    expect(trim.tick()).toBe(false);
    heap.used = 45 * MiB + 1;
    expect(trim.tick()).toBe(true);
    expect(heap.collections).toBe(2);
  });

  it('leaves a large live heap to V8 (one pause would be long)', () => {
    const { heap, trim } = fakeHeap(40 * MiB, 4 * MiB, 32 * MiB);
    heap.used = 200 * MiB;
    expect(trim.tick()).toBe(false);
    // Once V8 brings the floor under the limit, HeapTrim acts again.
    heap.used = 20 * MiB;
    expect(trim.tick()).toBe(false);
    heap.used = 30 * MiB + 1;
    heap.live = 20 * MiB;
    expect(trim.tick()).toBe(true);
    expect(heap.collections).toBe(1);
  });

  it('caps the floor at MAX_FLOOR_BYTES by default', () => {
    let used = MAX_FLOOR_BYTES + 1;
    let collections = 0;
    const over = new HeapTrim(
      4 * MiB,
      () => collections++,
      () => used,
    );
    used = 3 * MAX_FLOOR_BYTES; // far past the threshold: a smaller floor would collect
    expect(over.tick()).toBe(false);
    expect(collections).toBe(0);
  });

  it('is off with a slack of 0', () => {
    expect(createHeapTrim(0)).toBeUndefined();
  });
});

describe('fullCollection (real V8)', () => {
  it('collects old-generation garbage, without exposing gc to the main context or new ones', () => {
    const hadGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
    const collect = fullCollection();
    expect(collect).toBeDefined();
    if (collect === undefined) return;
    expect(typeof (globalThis as { gc?: unknown }).gc === 'function').toBe(hadGc);
    expect(runInNewContext('typeof gc')).toBe('undefined');

    collect();
    const before = oldGenerationBytes();
    // ~16 MiB of strings in arrays, kept alive long enough to be promoted, then dropped.
    let keep: string[][] = [];
    for (let i = 0; i < 64; i++) {
      keep.push(Array.from({ length: 4096 }, (_, j) => `garbage ${i} ${j} ${'x'.repeat(40)}`));
    }
    collect(); // promotes what is still referenced
    const promoted = oldGenerationBytes();
    expect(promoted - before).toBeGreaterThan(8 * MiB);
    expect(keep.length).toBe(64);
    keep = [];
    collect();
    expect(oldGenerationBytes()).toBeLessThan(promoted - 8 * MiB);
  });

  it('a real HeapTrim collects once promoted garbage passes its threshold', () => {
    const collect = fullCollection();
    expect(collect).toBeDefined();
    if (collect === undefined) return;
    collect();
    // No cap on the floor: a test worker's live heap may be larger than MAX_FLOOR_BYTES.
    const trim = new HeapTrim(
      4 * MiB,
      collect,
      oldGenerationBytes,
      () => performance.now(),
      Number.POSITIVE_INFINITY,
    );
    expect(trim.tick()).toBe(false);
    // More garbage than the threshold, max(slack, floor / 2), whatever the floor of this process is.
    const target = oldGenerationBytes() + 8 * MiB;
    let keep: string[][] = [];
    for (let held = 0; held < target; held += 4096 * 64) {
      keep.push(Array.from({ length: 4096 }, (_, j) => `garbage ${held} ${j} ${'x'.repeat(40)}`));
    }
    collect(); // promotes them while they are referenced
    expect(keep.length).toBeGreaterThan(0);
    keep = [];
    const grown = oldGenerationBytes();
    expect(trim.tick()).toBe(true);
    expect(trim.stats.collections).toBe(1);
    expect(oldGenerationBytes()).toBeLessThan(grown - 4 * MiB);
    expect(trim.tick()).toBe(false);
  });
});
