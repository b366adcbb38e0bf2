/**
 * The buffers staged batches copy their lines into, reused. A batch's lines are copied into one
 * buffer (up to the batch size, 16 MiB by default) that lives until `processBatch` appended it.
 * A fresh buffer that large is fresh memory from the system every time (a page fault per 4 KiB
 * touched), and external memory that brings V8's next full collection closer; a few buffers
 * used again are neither. Shared by the streams of one writer: it keeps at most `keep` buffers,
 * the largest ones, and none larger than `maxBytes`.
 */

const MiB = 1024 * 1024;
/** Smaller batches take a buffer of their own (exactly their size), as before. */
const POOLED_FROM_BYTES = MiB;

export class StagingBuffers {
  readonly #free: Buffer[] = [];

  constructor(
    private readonly keep = 2,
    private readonly maxBytes = 32 * MiB,
  ) {}

  /** A buffer of `size` bytes or more, not zeroed: a free one that fits, else a new one. */
  take(size: number): Buffer {
    if (size < POOLED_FROM_BYTES) return Buffer.allocUnsafe(size);
    const free = this.#free;
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      const length = (free[i] as Buffer).length;
      if (length >= size && (best < 0 || length < (free[best] as Buffer).length)) best = i;
    }
    if (best >= 0) return free.splice(best, 1)[0] as Buffer;
    // Whole MiBs: the next batches, of about the same size, fit in it.
    return Buffer.allocUnsafeSlow(Math.ceil(size / MiB) * MiB);
  }

  /** Gives back a buffer from `take` that nothing reads any more. */
  give(buffer: Buffer): void {
    if (buffer.length < POOLED_FROM_BYTES || buffer.length > this.maxBytes) return;
    const free = this.#free;
    if (free.length < this.keep) {
      free.push(buffer);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < free.length; i++) {
      if ((free[i] as Buffer).length < (free[smallest] as Buffer).length) smallest = i;
    }
    if ((free[smallest] as Buffer).length < buffer.length) free[smallest] = buffer;
  }

  /** Buffers kept, for tests. */
  get kept(): number {
    return this.#free.length;
  }
}
