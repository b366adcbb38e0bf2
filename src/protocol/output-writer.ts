/**
 * The single owner of stdout: every protocol message destkit prints goes through one
 * OutputWriter, one message per line, so no half line can ever interleave. Lines are coalesced
 * into chunks and written with backpressure: when the stream asks to wait, lines are kept until
 * it drains, and producers can await `ready()` so that a slow reader (the platform) stalls them
 * instead of growing the heap.
 *
 * Terms:
 * - buffered bytes: lines accepted by `write`/`writeLine` and not yet handed to the stream.
 * - in-flight bytes: handed to `stream.write` whose callback has not run yet.
 * - blocked: buffered + in-flight bytes reach the high-water mark; `ready()` waits until not.
 *
 * Secrets: every message but STATE is passed through `SecretRedactor.redactValue` before it is
 * serialized. STATE messages are echoed byte-faithfully (the platform hashes them) and never
 * redacted.
 *
 * Stream failures (EPIPE when the reader went away, a destroyed stream) are captured: later
 * lines are dropped, and `flush()` and `ready()` reject with the first error. The writer listens
 * to the stream's 'error' event, so a failing stdout never becomes an unhandled error.
 */
import type { Writable } from 'node:stream';
import type { SecretRedactor } from '../config/secret-redactor.js';
import { SystemError } from '../errors/destkit-error.js';
import type { OutputMessage } from './messages.js';

/** Default size of a coalesced chunk: 64 KiB. */
export const DEFAULT_OUTPUT_CHUNK_BYTES = 64 * 1024;
/** Default high-water mark of the writer: 1 MiB. */
export const DEFAULT_OUTPUT_HIGH_WATER_MARK = 1024 * 1024;

export interface OutputWriterOptions {
  /**
   * Once this many bytes are buffered they are handed to the stream at once; smaller amounts
   * are handed over on the next `setImmediate`. Default {@link DEFAULT_OUTPUT_CHUNK_BYTES} (64 KiB).
   */
  readonly chunkBytes?: number;
  /**
   * Buffered plus in-flight bytes from which the writer is `blocked` and `ready()` waits.
   * Default {@link DEFAULT_OUTPUT_HIGH_WATER_MARK} (1 MiB).
   */
  readonly highWaterMark?: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

const NEWLINE = Buffer.from('\n');
const LF = 10;

export class OutputWriter {
  private readonly chunkBytes: number;
  private readonly highWaterMark: number;
  private parts: Buffer[] = [];
  private bufferedBytes = 0;
  private inFlightBytes = 0;
  /** `stream.write` returned false and 'drain' has not come yet. */
  private streamBlocked = false;
  private immediate: NodeJS.Immediate | undefined;
  private failure: { readonly error: unknown } | undefined;
  private readyWaiters: Waiter[] = [];
  private flushWaiters: Waiter[] = [];

  constructor(
    private readonly stream: Writable,
    private readonly redactor: SecretRedactor,
    options: OutputWriterOptions = {},
  ) {
    this.chunkBytes = positive('chunkBytes', options.chunkBytes ?? DEFAULT_OUTPUT_CHUNK_BYTES);
    this.highWaterMark = positive(
      'highWaterMark',
      options.highWaterMark ?? DEFAULT_OUTPUT_HIGH_WATER_MARK,
    );
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
  }

  /** True while buffered plus in-flight bytes are at or above the high-water mark. */
  get blocked(): boolean {
    return (
      this.failure === undefined && this.bufferedBytes + this.inFlightBytes >= this.highWaterMark
    );
  }

  /** The first error of the stream, if it failed (later output is dropped). */
  get error(): unknown {
    return this.failure?.error;
  }

  /**
   * Writes one message as one line: `JSON.stringify` of the message, redacted first unless it
   * is a STATE. The line is buffered; see `flush()` and `ready()`.
   */
  write(message: OutputMessage): void {
    const payload = message.type === 'STATE' ? message : this.redactor.redactValue(message);
    this.append(Buffer.from(JSON.stringify(payload), 'utf8'));
  }

  /**
   * Writes one pre-rendered line (a state echo) as is, followed by `\n`. Nothing is redacted.
   * A Buffer is referenced, not copied, until it is handed to the stream: do not modify it.
   * @throws SystemError when the line contains a `\n`.
   */
  writeLine(line: Buffer | string): void {
    const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    if (bytes.indexOf(LF) !== -1) {
      throw new SystemError('OutputWriter.writeLine() takes exactly one line, without "\\n"');
    }
    this.append(bytes);
  }

  /** Resolves once the writer is not `blocked`; rejects if the stream failed. */
  ready(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (!this.blocked) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Hands every buffered line to the stream (as soon as it accepts more) and resolves once the
   * stream has accepted all of them (every write callback ran). Rejects with the stream's error
   * if it failed, now or before.
   */
  flush(): Promise<void> {
    this.writeBuffered();
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ resolve, reject }));
  }

  private append(line: Buffer): void {
    if (this.failure !== undefined) return; // the stream is gone; flush() reports why
    this.parts.push(line, NEWLINE);
    this.bufferedBytes += line.length + 1;
    if (this.bufferedBytes >= this.chunkBytes) this.writeBuffered();
    else if (this.immediate === undefined) this.immediate = setImmediate(this.onImmediate);
  }

  /** Hands all buffered lines to the stream as one chunk, unless it asked to wait. */
  private writeBuffered(): void {
    this.cancelImmediate();
    if (this.streamBlocked || this.failure !== undefined || this.bufferedBytes === 0) return;
    const size = this.bufferedBytes;
    const chunk = Buffer.concat(this.parts, size);
    this.parts = [];
    this.bufferedBytes = 0;
    this.inFlightBytes += size;
    let accepted: boolean;
    try {
      accepted = this.stream.write(chunk, (error) => this.onWritten(size, error));
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!accepted) {
      this.streamBlocked = true;
      this.stream.once('drain', this.onDrain);
    }
  }

  private idle(): boolean {
    return this.bufferedBytes === 0 && this.inFlightBytes === 0;
  }

  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.writeBuffered();
  };

  private readonly onDrain = (): void => {
    this.streamBlocked = false;
    this.writeBuffered();
    this.settle();
  };

  private onWritten(size: number, error: Error | null | undefined): void {
    this.inFlightBytes -= size;
    if (error) this.fail(error);
    else this.settle();
  }

  private readonly onError = (error: unknown): void => {
    this.fail(error);
  };

  private readonly onClose = (): void => {
    if (this.failure === undefined && !this.idle()) {
      this.fail(new SystemError('the output stream closed before all output was written'));
    }
  };

  /** Resolves the waiters whose condition now holds. */
  private settle(): void {
    if (!this.blocked && this.readyWaiters.length > 0) {
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
    if (this.idle() && this.flushWaiters.length > 0) {
      const waiters = this.flushWaiters;
      this.flushWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }

  /** Records the first failure, drops buffered output and rejects every waiter. */
  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = { error };
    this.cancelImmediate();
    this.parts = [];
    this.bufferedBytes = 0;
    const waiters = [...this.readyWaiters, ...this.flushWaiters];
    this.readyWaiters = [];
    this.flushWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private cancelImmediate(): void {
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
  }
}

/**
 * The OutputWriter of the process: the one place in destkit that touches `process.stdout`.
 * Create it once (the CLI does) and hand it to whatever prints protocol messages.
 */
export function createStdoutWriter(
  redactor: SecretRedactor,
  options: OutputWriterOptions = {},
): OutputWriter {
  return new OutputWriter(process.stdout, redactor, options);
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`OutputWriter ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
