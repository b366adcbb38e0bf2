/**
 * The input of a sync when it is a file descriptor (stdin of a connector process). Iterating it
 * opens the descriptor's stream on this thread; the InputConsumer's input worker reads the
 * descriptor itself instead (`readableFd`), and then this thread never opens it.
 */
import { fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StartedInputWorker } from './input-worker-protocol.js';

export class FileDescriptorInput implements AsyncIterable<Buffer> {
  #stream: Readable | undefined;
  #destroyed = false;
  #worker: StartedInputWorker | undefined;

  /**
   * Starts the input worker thread ahead (see StartedInputWorker), for the InputConsumer to take
   * over. Best effort: a thread that cannot be started here is started (and its failure
   * reported) when the sync reads its input.
   */
  startWorker(): void {
    if (this.#worker !== undefined) return;
    try {
      this.#worker = new StartedInputWorker();
    } catch {
      this.#worker = undefined;
    }
  }

  /** Whether the thread started ahead is the one the executable's launcher started. */
  get workerFromLauncher(): boolean {
    return this.#worker?.fromLauncher === true;
  }

  /** The thread started ahead, if any: the caller takes it over. */
  takeWorker(): StartedInputWorker | undefined {
    const worker = this.#worker;
    this.#worker = undefined;
    return worker;
  }

  /** Stops a thread started ahead that nobody took (the sync reads in-thread, or failed first). */
  async dropWorker(): Promise<void> {
    await this.takeWorker()?.terminate();
  }

  /** @param open opens the descriptor's stream on this thread (e.g. `() => process.stdin`). */
  constructor(
    readonly fd: number,
    private readonly open: () => Readable,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.#stream ??= this.open();
    if (this.#destroyed) this.#stream.destroy();
    return this.#stream[Symbol.asyncIterator]();
  }

  /**
   * The descriptor, when another thread can read it: a pipe, a socket or a regular file (not a
   * terminal), and this thread has not opened it.
   */
  readableFd(): number | undefined {
    if (this.#stream !== undefined || this.#destroyed) return undefined;
    try {
      const stat = fstatSync(this.fd);
      return stat.isFIFO() || stat.isSocket() || stat.isFile() ? this.fd : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops reading on this thread (a worker reading the descriptor is stopped by its abort). */
  destroy(): void {
    this.#destroyed = true;
    this.#stream?.destroy();
  }
}
