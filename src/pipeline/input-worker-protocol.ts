/**
 * Messages between the InputConsumer and its input worker thread (input-worker.ts), and the
 * client side: posting chunks, receiving packets in order, turning worker errors back into the
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
import type { StreamDescriptor } from '../protocol/messages.js';
import { RecordAfterEndOfStreamError } from '../write/write-errors.js';
import { takeEarlyInputWorker, WORKER_YOUNG_GENERATION_MB } from './early-input-worker.js';

export interface InputWorkerInit {
  readonly maxLineBytes: number;
  /** `streamKey` of every catalog stream, by position: a run names its stream by position. */
  readonly streamKeys: readonly string[];
  /**
   * When set, the worker reads this file descriptor itself (a pipe, socket or regular file) and
   * pauses while `maxUnacknowledged` bytes of the packets it posted are not acknowledged.
   * Otherwise the main thread posts the input's chunks.
   */
  readonly fd?: number;
  readonly maxUnacknowledged: number;
  /**
   * The input the records read and not posted yet may hold on to (PendingLines' limit): the
   * main thread reserved it from the memory budget.
   */
  readonly holdBytes: number;
  /**
   * `fd` mode: records read and not posted are posted once the oldest waited this long (in chunk
   * mode the main thread asks for them, `postHeld`).
   */
  readonly maxHoldMs: number;
  /**
   * When set, each run comes with where each record's `data` lies in its line (`scans`), for
   * the main thread to encode records without parsing them (record-encoder.ts).
   */
  readonly describeRecords?: boolean;
}

/** Main thread → worker, first: what to read. Every later message is an InputWorkerRequest. */
export interface InputWorkerStart {
  readonly kind: 'start';
  readonly init: InputWorkerInit;
}

/** Main thread → worker: a chunk of input (transferred), the end of input, or an acknowledgement. */
export type InputWorkerRequest =
  | { readonly kind: 'chunk'; readonly chunk: ArrayBuffer }
  | { readonly kind: 'end' }
  /** `fd` mode: the main thread routed packets holding this many bytes. */
  | { readonly kind: 'ack'; readonly bytes: number }
  /** Chunk mode: post every run held now (the input paused); one packet, as for a chunk. */
  | { readonly kind: 'post-held' };

/** One item of a packet, in input order. */
export type PacketItem =
  /** Records of one stream: a line run (see line-run.ts) built by `buildRun`, transferred. */
  | {
      readonly kind: 'run';
      readonly stream: number;
      readonly buffer: ArrayBuffer;
      readonly count: number;
      /** With `describeRecords`: a RecordScans buffer (run-encoder.ts), transferred. */
      readonly scans?: ArrayBuffer;
    }
  /** Any other message (state, status, …): its line, for the main thread to parse. */
  | { readonly kind: 'line'; readonly lineNumber: number; readonly bytes: Uint8Array };

export type InputWorkerError =
  | { readonly kind: 'malformed'; readonly lineNumber: number; readonly problem: string }
  | { readonly kind: 'too-long'; readonly lineNumber: number; readonly maxLineBytes: number }
  | { readonly kind: 'unknown-stream'; readonly lineNumber: number; readonly streamName: string }
  | { readonly kind: 'after-end'; readonly lineNumber: number; readonly stream: number }
  | { readonly kind: 'other'; readonly message: string };

/**
 * What the worker posts: the runs and lines ready after a chunk, in input order. Chunk mode posts
 * exactly one packet per request; `fd` mode posts a packet when it has items, and a last one with
 * `end` at the end of input.
 */
export interface InputPacket {
  readonly items: readonly PacketItem[];
  /** Bytes of the items' lines (what an acknowledgement gives back). */
  readonly bytes: number;
  /** Set when the worker stopped at an invalid line (after the items of this packet). */
  readonly error?: InputWorkerError;
  /** `fd` mode: the input ended; every record was posted. */
  readonly end?: boolean;
}

export class InputWorkerFailedError extends SystemError {
  override readonly code = 'INPUT_WORKER_FAILED';
}

/** The error the in-thread consumer raises for the same line. */
export function toInputError(
  error: InputWorkerError,
  streams: readonly { readonly label: string; readonly descriptor: StreamDescriptor }[],
): Error {
  switch (error.kind) {
    case 'malformed':
      return new MalformedMessageError(error.lineNumber, error.problem);
    case 'too-long':
      return new LineTooLongError(error.lineNumber, error.maxLineBytes);
    case 'unknown-stream':
      return new UnknownStreamError(error.lineNumber, error.streamName);
    case 'after-end': {
      const stream = streams[error.stream];
      if (stream === undefined) return new InputWorkerFailedError('the input worker failed');
      return new RecordAfterEndOfStreamError(error.lineNumber, stream.label, stream.descriptor);
    }
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

/**
 * An input worker thread started ahead, waiting for its InputWorkerInit: a connector process starts
 * it before it reads its config and catalog (or takes over the one its launcher started before
 * loading anything, early-input-worker.ts), so the thread's own start-up (~100 ms of loading
 * Node's modules and its script) overlaps with that work. It does not keep the process alive until an
 * InputWorkerClient takes it; whoever starts it terminates it if none does.
 */
export class StartedInputWorker {
  readonly worker: Worker;
  /** Set when the thread failed or exited before a client took it. */
  failure: unknown;
  /** True when this is the thread the executable's launcher started. */
  readonly fromLauncher: boolean;

  constructor() {
    const script = workerScript();
    // The thread the executable's launcher started even earlier, when it runs this script.
    const early = takeEarlyInputWorker(script.href);
    // Its heap holds only the garbage of parsing a few chunks: a small young generation
    // keeps the thread's memory small.
    this.worker =
      early?.worker ??
      new Worker(script, {
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
    this.failure = early?.failure;
    this.fromLauncher = early !== undefined;
    this.worker.removeAllListeners('error');
    this.worker.removeAllListeners('exit');
    this.worker.unref();
    this.worker.on('error', (error) => {
      this.failure ??= error;
    });
    this.worker.on('exit', (code) => {
      this.failure ??= new Error(`exited with code ${code}`);
    });
  }

  /** Stops a thread no client took. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** One input worker thread: chunks (or its own reads) in, packets out, in order. */
export class InputWorkerClient {
  readonly #worker: Worker;
  readonly #arrived: InputPacket[] = [];
  #waiter: { resolve: (packet: InputPacket) => void; reject: (error: unknown) => void } | undefined;
  #failure: unknown;
  #inFlight = 0;

  /** `started`: a thread started ahead, taken over; else a new one. */
  constructor(init: InputWorkerInit, started: StartedInputWorker = new StartedInputWorker()) {
    this.#worker = started.worker;
    this.#worker.removeAllListeners('error');
    this.#worker.removeAllListeners('exit');
    this.#worker.ref();
    if (started.failure !== undefined) {
      this.#failure = new InputWorkerFailedError('the input worker thread failed', {
        cause: started.failure,
      });
    }
    const start: InputWorkerStart = { kind: 'start', init };
    this.#worker.postMessage(start);
    this.#worker.on('message', (packet: InputPacket) => {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter === undefined) this.#arrived.push(packet);
      else waiter.resolve(packet);
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

  /** Chunk mode: requests posted whose packet was not taken yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Chunk mode: posts a copy of `chunk` (the copy is transferred, `chunk` stays the caller's). */
  push(chunk: Buffer): void {
    const copy = new Uint8Array(chunk.length);
    copy.set(chunk);
    this.#post({ kind: 'chunk', chunk: copy.buffer }, [copy.buffer]);
    this.#inFlight++;
  }

  /** Chunk mode: posts the end of input; its packet holds the last line and pending runs. */
  end(): void {
    this.#post({ kind: 'end' });
    this.#inFlight++;
  }

  /** Chunk mode: asks for every run the worker holds; its packet comes in order, as a chunk's. */
  postHeld(): void {
    this.#post({ kind: 'post-held' });
    this.#inFlight++;
  }

  /** `fd` mode: the packets holding `bytes` were routed. */
  ack(bytes: number): void {
    this.#post({ kind: 'ack', bytes });
  }

  #post(request: InputWorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(request, transfer);
  }

  /** A packet has arrived and is not taken yet: `next()` resolves with it at once. */
  get ready(): boolean {
    return this.#arrived.length > 0;
  }

  /** The next packet, in order. */
  next(): Promise<InputPacket> {
    const packet = this.#arrived.shift();
    if (packet !== undefined) {
      this.#inFlight--;
      return Promise.resolve(packet);
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<InputPacket>((resolve, reject) => {
      this.#waiter = {
        resolve: (p) => {
          this.#inFlight--;
          resolve(p);
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
