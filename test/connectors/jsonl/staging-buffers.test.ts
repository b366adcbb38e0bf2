/** StagingBuffers: the buffers JSONL's staged batches copy their lines into, reused. */
import { describe, expect, it } from 'vitest';
import { StagingBuffers } from '../../../connectors/destination-jsonl/staging-buffers.js';

const MiB = 1024 * 1024;

describe(StagingBuffers, () => {
  it('gives a buffer of at least the size asked, in whole MiBs, and the same one once given back', () => {
    const staging = new StagingBuffers();
    const first = staging.take(MiB + 1);
    expect(first.length).toBe(2 * MiB);
    staging.give(first);
    expect(staging.kept).toBe(1);
    expect(staging.take(2 * MiB)).toBe(first);
    expect(staging.kept).toBe(0);
    // Too small for the one kept: a new one.
    staging.give(first);
    expect(staging.take(3 * MiB)).not.toBe(first);
  });

  it('takes the smallest buffer that fits', () => {
    const staging = new StagingBuffers(3);
    const [small, large] = [staging.take(2 * MiB), staging.take(8 * MiB)];
    staging.give(large);
    staging.give(small);
    expect(staging.take(MiB)).toBe(small);
    expect(staging.take(MiB)).toBe(large);
  });

  it('keeps at most `keep` buffers, the largest, and none too large or small', () => {
    const staging = new StagingBuffers(2, 16 * MiB);
    const sizes = [1, 4, 2, 8].map((n) => staging.take(n * MiB));
    for (const buffer of sizes) staging.give(buffer);
    expect(staging.kept).toBe(2);
    expect(staging.take(4 * MiB)).toBe(sizes[1]);
    expect(staging.take(4 * MiB)).toBe(sizes[3]);
    expect(staging.kept).toBe(0);
    staging.give(Buffer.allocUnsafe(32 * MiB));
    staging.give(Buffer.allocUnsafe(1000));
    expect(staging.kept).toBe(0);
    // Below a MiB a batch gets a buffer of its own, exactly its size.
    expect(staging.take(1000).length).toBe(1000);
  });
});
