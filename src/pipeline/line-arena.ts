/**
 * A stream's batch lines, copied back to back (each followed by `\n`, the spill file format)
 * into a few large buffers. Copying lets the input's chunks go as soon as their lines are
 * routed, however long a batch stays in memory: a batch holds its own bytes, not the chunks of
 * every stream its lines came from.
 */
const NEWLINE = 0x0a;
/** The first buffer of an arena. */
const MIN_CHUNK_BYTES = 8 * 1024;

/** An arena's content: buffers of newline-terminated lines, and where each line ends. */
export interface ArenaContent {
  readonly buffers: readonly Buffer[];
  /** `ends[i]`: the end offsets (exclusive, newline excluded) of the lines in `buffers[i]`. */
  readonly ends: readonly (readonly number[])[];
}

export class LineArena {
  #sealed: Buffer[] = [];
  #sealedEnds: number[][] = [];
  #current: Buffer | undefined;
  #currentEnds: number[] = [];
  #used = 0;
  #lines = 0;
  #bytes = 0;

  /** Size of the next buffer: doubles from MIN_CHUNK_BYTES up to `chunkBytes`. */
  #nextChunk: number;

  /**
   * @param chunkBytes largest buffer lines are copied into (a longer line gets its own). Buffers
   * start small and double, so a stream with few records holds little.
   */
  constructor(private readonly chunkBytes: number) {
    this.#nextChunk = Math.min(MIN_CHUNK_BYTES, chunkBytes);
  }

  /** Lines appended since the last `take`. */
  get lines(): number {
    return this.#lines;
  }

  /** Bytes of those lines, newlines excluded. */
  get bytes(): number {
    return this.#bytes;
  }

  append(line: Buffer): void {
    const need = line.length + 1;
    let current = this.#current;
    if (current === undefined || this.#used + need > current.length) {
      this.seal();
      current = Buffer.allocUnsafe(Math.max(need, this.#nextChunk));
      this.#nextChunk = Math.min(this.#nextChunk * 2, this.chunkBytes);
      this.#current = current;
    }
    line.copy(current, this.#used);
    current[this.#used + line.length] = NEWLINE;
    this.#currentEnds.push(this.#used + line.length);
    this.#used += need;
    this.#lines++;
    this.#bytes += line.length;
  }

  /** The lines appended so far, in order; the arena is empty after. */
  take(): ArenaContent {
    this.seal();
    const taken = { buffers: this.#sealed, ends: this.#sealedEnds };
    this.#sealed = [];
    this.#sealedEnds = [];
    this.#lines = 0;
    this.#bytes = 0;
    return taken;
  }

  private seal(): void {
    if (this.#current !== undefined && this.#used > 0) {
      this.#sealed.push(this.#current.subarray(0, this.#used));
      this.#sealedEnds.push(this.#currentEnds);
    }
    this.#current = undefined;
    this.#currentEnds = [];
    this.#used = 0;
  }
}
