/**
 * Task ids: ULIDs (26 Crockford base-32 characters: a 48-bit millisecond time, then 80 random
 * bits), monotonic per registry, so that ids sort in creation order (the status server documents
 * it). An id in a millisecond already used by the registry, or earlier than its last one,
 * increments the last id's random part, as `ulid`'s `monotonicFactory` does.
 *
 * The random part comes from a pool of random bytes refilled from the system's CSPRNG 4 KiB at a
 * time: `ulid`'s default generator makes one `crypto.getRandomValues` call per character (16 per
 * new millisecond), which was ~3 % of a sync that starts thousands of batch tasks. Each
 * character still takes the top 5 bits of one fresh random byte, as the default does.
 */
import { getRandomValues } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const POOL_BYTES = 4096;

/** A `ulid` PRNG: uniform in [0, 1), in steps of 1/256, from a pooled CSPRNG buffer. */
export function pooledRandom(): () => number {
  const pool = new Uint8Array(POOL_BYTES);
  let next = POOL_BYTES;
  return () => {
    if (next === POOL_BYTES) {
      getRandomValues(pool);
      next = 0;
    }
    return (pool[next++] as number) / 256;
  };
}

/** Returns a generator of monotonic ULIDs; `seedTime` is the creation time in epoch ms. */
export function taskIdFactory(): (seedTime: number) => string {
  return monotonicFactory(pooledRandom());
}
