/**
 * Messages between the InputConsumer and its input worker thread (input-worker.ts), and the
 * client side: posting chunks, receiving blocks in order, turning worker errors back into the
 * errors the in-thread consumer raises.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SystemError } from '../errors/destkit-error.js';
import {
  LineTooLongError,
  MalformedMessageError,
  UnknownStreamError,
} from '../errors/input-errors.js';

/** Young generation of the input worker's heap. */
const WORKER_YOUNG_GENERATION_MB = 8;

/** `codes[i]` of a line that is not a record (the main thread parses it). */
export const NOT_A_RECORD = -1;

export interface InputWorkerInit {
  readonly maxLineBytes: number;
  /** `streamKey` of every catalog stream, by position: a record's code is its stream's position. */
  readonly streamKeys: readonly string[];
}

/** A chunk of input (transferred), or the end of input (no chunk). */
export interface InputWorkerRequest {
  readonly chunk?: ArrayBuffer;
}

export type InputWorkerError =
  | { readonly kind: 'malformed'; readonly lineNumber: number; readonly problem: string }
  | { readonly kind: 'too-long'; readonly lineNumber: number; readonly maxLineBytes: number }
  | { readonly kind: 'unknown-stream'; readonly lineNumber: number; readonly streamName: string }
  | { readonly kind: 'other'; readonly message: string };

/** The complete lines of one request, in order: one transferred buffer (see `blockViews`). */
export interface InputBlock {
  readonly block: ArrayBuffer;
  /** Number of lines. */
  readonly lines: number;
  /** Bytes of an incomplete line the worker holds after this block. */
  readonly carry: number;
  /** Set when the worker stopped at an invalid line (after the lines of this block). */
  readonly error?: InputWorkerError;
}

/** The views of a block of `lines` lines. */
export interface BlockViews {
  readonly block: ArrayBuffer;
  /** 1-based input line numbers. */
  readonly numbers: Float64Array;
  /** Line `i` is `bytes[offsets[i], offsets[i + 1])`. */
  readonly offsets: Int32Array;
  /** Stream position of a record line, or NOT_A_RECORD. */
  readonly codes: Int32Array;
  /** The lines' bytes, back to back (no newlines). */
  readonly bytes: Buffer;
}

/** Layout: numbers (8-byte aligned first), offsets, codes, then the bytes. */
export function blockViews(block: ArrayBuffer, lines: number): BlockViews {
  const numbers = new Float64Array(block, 0, lines);
  const offsets = new Int32Array(block, 8 * lines, lines + 1);
  const codes = new Int32Array(block, 8 * lines + 4 * (lines + 1), lines);
  const start = 8 * lines + 4 * (2 * lines + 1);
  return { block, numbers, offsets, codes, bytes: Buffer.from(block, start) };
}

export function allocateBlock(lines: number, bytes: number): BlockViews {
  return blockViews(new ArrayBuffer(8 * lines + 4 * (2 * lines + 1) + bytes), lines);
}

export class InputWorkerFailedError extends SystemError {
  override readonly code = 'INPUT_WORKER_FAILED';
}

export function toInputError(error: InputWorkerError): Error {
  switch (error.kind) {
    case 'malformed':
      return new MalformedMessageError(error.lineNumber, error.problem);
    case 'too-long':
      return new LineTooLongError(error.lineNumber, error.maxLineBytes);
    case 'unknown-stream':
      return new UnknownStreamError(error.lineNumber, error.streamName);
    case 'other':
      return new InputWorkerFailedError(`the input worker failed: ${error.message}`);
  }
}

/**
 * The worker's script. From the built package it sits next to this module; when destkit runs
 * from its TypeScript sources (its own test suite), the built copy under dist/ is used.
 */
function workerScript(): URL {
  const sibling = new URL('./input-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return sibling;
  const built = new URL('../../dist/src/pipeline/input-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new InputWorkerFailedError(
    'the input worker runs from the built package: run `npm run build` first, or set input_workers to 0',
  );
}

/** One input worker thread: chunks in, blocks out, in order. */
export class InputWorkerClient {
  readonly #worker: Worker;
  readonly #arrived: InputBlock[] = [];
  #waiter: { resolve: (block: InputBlock) => void; reject: (error: unknown) => void } | undefined;
  #failure: unknown;
  #inFlight = 0;

  constructor(init: InputWorkerInit) {
    // Its heap holds only the garbage of parsing a few chunks: a small young generation
    // keeps the thread's memory small.
    this.#worker = new Worker(workerScript(), {
      workerData: init,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    this.#worker.on('message', (block: InputBlock) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter === undefined) this.#arrived.push(block);
      else waiter.resolve(block);
    });
    const fail = (error: unknown): void => {
      this.#failure ??= new InputWorkerFailedError('the input worker thread failed', {
        cause: error,
      });
      this.#waiter?.reject(this.#failure);
      this.#waiter = undefined;
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
  }

  /** Requests posted whose block was not taken yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Posts a copy of `chunk` (the copy is transferred, `chunk` stays the caller's). */
  push(chunk: Buffer): void {
    const copy = new Uint8Array(chunk.length);
    copy.set(chunk);
    this.#worker.postMessage({ chunk: copy.buffer } satisfies InputWorkerRequest, [copy.buffer]);
    this.#inFlight++;
  }

  /** Posts the end of input: its block holds the last line, if it had no newline. */
  end(): void {
    this.#worker.postMessage({} satisfies InputWorkerRequest);
    this.#inFlight++;
  }

  /** The next block, in request order. */
  next(): Promise<InputBlock> {
    const block = this.#arrived.shift();
    if (block !== undefined) {
      this.#inFlight--;
      return Promise.resolve(block);
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<InputBlock>((resolve, reject) => {
      this.#waiter = {
        resolve: (b) => {
          this.#inFlight--;
          resolve(b);
        },
        reject,
      };
    });
  }

  async terminate(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    this.#worker.removeAllListeners('error');
    this.#worker.on('error', () => undefined);
    await this.#worker.terminate();
  }
}
