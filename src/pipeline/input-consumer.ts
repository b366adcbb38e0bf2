/**
 * InputConsumer (until failure only): reads stdin, validates and classifies every line,
 * reserves its bytes from the memory budget before this thread parses or routes it (so a slow
 * destination stalls reading instead of growing the heap), assigns record indexes, routes
 * records (their raw lines) to their stream's spill task, pins states to the records read
 * before them, and ends streams on their terminal status.
 *
 * Two ways to split and validate (knob `input_workers`):
 * - 1: an input worker thread (input-worker.ts) reads the input (its file descriptor, when the
 *   input is one), splits and validates every line and groups each stream's records into line
 *   runs, while this thread routes what it posted before and runs the connector. Records are
 *   parsed for validation there (those objects die in the worker's heap) and again, once, where
 *   the connector consumes them; this thread parses only the other messages (states, statuses).
 *   The worker runs at most BYTES_IN_FLIGHT of input ahead, and holds on to at most
 *   WORKER_HOLD_BYTES of input in records it did not post yet: both reserved from the budget.
 * - 0: this thread splits and parses every line, and groups the records the same way.
 * Both raise the same errors for the same line, and route nothing after it.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { ConfigError } from '../errors/destkit-error.js';
import { UnknownStreamError } from '../errors/input-errors.js';
import { type InputMessage, parseInputLine, type RecordInput } from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import { describeStream } from '../protocol/messages.js';
import { recordLineKey } from '../protocol/record-line-scanner.js';
import type { TaskContext } from '../runtime/task-context.js';
import type { RecordEncoder } from '../write/record-encoder.js';
import { RecordAfterEndOfStreamError } from '../write/write-errors.js';
import { FileDescriptorInput } from './file-descriptor-input.js';
import {
  type InputPacket,
  InputWorkerClient,
  InputWorkerFailedError,
  toInputError,
} from './input-worker-protocol.js';
import { type LineRun, lineBytes, linesWithin, releaseRun, runOf, splitRun } from './line-run.js';
import { concernedStreams, PendingLines } from './pending-lines.js';
import type { PipelineContext, StreamPlumbing } from './pipeline-context.js';
import type { StreamEvent } from './pipeline-items.js';
import { RunEncoder } from './run-encoder.js';
import { askForIdleFlush, askForWaitingCheckpoint } from './spill-to-disk.js';

export interface InputStats {
  lines: number;
  records: number;
  bytes: number;
}

/**
 * Iterates `source` until it ends or `signal` aborts — a read blocked on stdin does not see an
 * abort by itself. On abort the source's iterator is returned (a Readable is destroyed).
 * Each read races the abort on its own: racing every read against one long-lived promise would
 * leave a reaction per read on it, keeping every chunk ever read alive.
 */
export async function* abortable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await untilAborted(iterator.next(), signal);
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // Not awaited: a Readable's iterator finishes `return()` only after its pending read,
    // which may never come (an open pipe with nothing to say). `return()` destroys the stream.
    void Promise.resolve(iterator.return?.())?.catch(() => undefined);
  }
}

/**
 * Whether `promise` settles before the time `deadline` (epoch ms); it is not awaited beyond that
 * (its rejection is left to whoever awaits it next).
 */
function arrivesWithin(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  const wait = deadline - Date.now();
  if (wait <= 0) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), wait);
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/** Settles like `promise`, or rejects with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

const STALL_CHECK_MS = 250;
/** How long the memory budget must stay held by unpersistable states before the sync fails. */
const STALL_LIMIT_MS = 2_000;

/** Every byte of the memory budget is held by states that cannot be echoed yet. */
export class MemoryHeldByStatesError extends ConfigError {
  override readonly code = 'MEMORY_HELD_BY_STATES';
  constructor(capacity: number, states: number, bytes: number) {
    super(
      `the memory budget of ${capacity} bytes is held by ${states} states (${bytes} bytes) waiting for ` +
        'their records to be persisted, and no load is in progress: the destination persists records ' +
        'only at the end of a stream. Raise memory_budget_bytes / DESTKIT_MEMORY_BUDGET_BYTES.',
    );
  }
}

/** Every message but a record. */
type OtherMessage = Exclude<InputMessage, RecordInput>;

/** What a stream's pending records need when they are sent as one `records` event. */
interface PendingStream {
  readonly plumbing: StreamPlumbing;
  /** Index of the first pending record. */
  readonly first: number;
}

/** Only reached for a record whose stream key has no plumbing: names the stream from the line. */
function describeKey(line: Buffer, lineNumber: number): string {
  const message = parseInputLine(line, lineNumber);
  return message.kind === 'record'
    ? describeStream({ namespace: message.record.namespace, name: message.record.stream })
    : 'unknown';
}

/** The largest share of the memory budget one reservation of a run takes. */
const RUN_BUDGET_SHARE = 1 / 8;

/** Input bytes the input worker may run ahead of routing (at most this share of the budget). */
const BYTES_IN_FLIGHT = 8 * 1024 * 1024;
/**
 * Input the input worker's records read and not posted may hold on to (PendingLines' limit), at
 * most this share of the budget. With many interleaved streams this sets how many records of a
 * stream travel together: 1,000 streams share 64 MiB as runs of up to 64 KiB each.
 */
const WORKER_HOLD_BYTES = 64 * 1024 * 1024;
const WORKER_BUDGET_SHARE = 1 / 16;
/** Records held are sent once the oldest waited this long (or the flush window, if shorter). */
const MAX_HOLD_MS = 1000;
/** The event of a flush a state asked for (one object: events are never changed). */
const CHECKPOINT_FLUSH: StreamEvent = Object.freeze({ kind: 'flush', reason: 'checkpoint' });

export class InputConsumer {
  readonly stats: InputStats = { lines: 0, records: 0, bytes: 0 };
  /** Records routed but not yet sent, per stream key; their memory stays reserved. */
  readonly #pending = new PendingLines<string, PendingStream>();
  /** With record encoders: the streams and their encoders by catalog position (made with the first run). */
  #encoding: { streams: DestinationStream[]; encoders: RecordEncoder[] } | undefined;
  readonly #runEncoder = new RunEncoder();
  /**
   * Streams a state asked to flush, not yet told: flushes go at the end of the packet (or chunk)
   * that asked for them, and before any wait for memory. A stream whose terminal status comes in
   * the same packet is not told at all: its end flushes the same records, so its last state
   * and its end of stream cost one batch, not two (a source ends a stream with its last state).
   */
  readonly #flushes = new Set<string>();

  constructor(
    private readonly ctx: PipelineContext,
    private readonly input: AsyncIterable<Buffer>,
  ) {}

  async run(task: TaskContext): Promise<void> {
    const { ctx } = this;
    try {
      if (ctx.knobs.inputWorkers > 0) await this.readWithWorker(task);
      else await this.readInThread(task);
      task.updateProgress(this.stats.records);
      // Before the channels end: streams without a terminal status are ended INCOMPLETE first,
      // so that draining them can close them (without finalizing anything).
      await ctx.handlers.handleInputConsumed();
    } finally {
      // Records never sent give their memory back; every stream's spill task sees the end of
      // its channel, whatever happened here.
      ctx.memory.releaseBytes(this.#pending.clear());
      for (const plumbing of ctx.streams.values()) plumbing.events.close();
    }
  }

  /**
   * Splits and parses on this thread, reserving each line's bytes before parsing it. Pending
   * records are sent once the oldest waited min(1 s, flush window) for the next chunk, so that a
   * source that pauses leaves none here.
   */
  private async readInThread(task: TaskContext): Promise<void> {
    const { ctx } = this;
    const splitter = new LineSplitter({ maxLineBytes: ctx.knobs.maxLineBytes });
    const { maxHoldMs } = this;
    const chunks = abortable(this.input, task.signal);
    /** When records became pending (undefined: none are). */
    let heldSince: number | undefined;
    try {
      for (;;) {
        const next = chunks.next();
        if (heldSince !== undefined && !(await arrivesWithin(next, heldSince + maxHoldMs))) {
          await this.sendPending(task);
          heldSince = undefined;
        }
        const read = await next;
        if (read.done === true) break;
        const chunk = read.value;
        // Records held since long ago go before this chunk's lines (see PendingLines.read).
        if (this.#pending.read(chunk.length)) await this.sendPending(task);
        splitter.push(chunk);
        for (let line = splitter.next(); line !== undefined; line = splitter.next()) {
          await this.parseAndRoute(line, task);
        }
        await this.sendFlushes(task);
        task.updateProgress(this.stats.records);
        if (this.#pending.empty) heldSince = undefined;
        else heldSince ??= Date.now();
      }
    } finally {
      // As `for await` would on a failure (the input is closed); not awaited, as a read may
      // still be pending on an input that says nothing.
      chunks.return(undefined).catch(() => undefined);
    }
    const last = splitter.end();
    if (last !== undefined) await this.parseAndRoute(last, task);
    await this.sendPending(task);
    await this.sendFlushes(task);
  }

  private async parseAndRoute(line: Line, task: TaskContext): Promise<void> {
    const size = line.bytes.length;
    // The common case (a record, memory at hand) stays synchronous: records are collected per
    // stream and sent once per chunk.
    if (!this.ctx.memory.tryReserveSync(size)) await this.reserve(size, task);
    // A plain record line is checked without being parsed (record-line-scanner.ts).
    const key = recordLineKey(line.bytes);
    if (key !== undefined) {
      if (this.routeRecord(line.bytes, line.lineNumber, key)) await this.sendPending(task, key);
      return;
    }
    let message: InputMessage;
    try {
      message = parseInputLine(line.bytes, line.lineNumber);
    } catch (error) {
      this.ctx.memory.releaseBytes(size);
      throw error;
    }
    if (message.kind !== 'record') await this.handle(message, line, task);
    else if (this.routeRecord(line.bytes, line.lineNumber, message.streamKey))
      await this.sendPending(task, message.streamKey);
  }

  /**
   * Routes the packets of the input worker (input-worker.ts), which splits and validates the
   * input and groups each stream's records into line runs: a run's bytes are reserved before it
   * is routed. The worker reads the input's file descriptor itself when there is one (so it keeps
   * reading while this thread runs a connector), else this thread posts it the chunks. Either
   * way it runs ahead by at most `inFlight` bytes of input, and the records it read and did not
   * post yet hold on to at most `hold` bytes of input: both are reserved from the memory budget
   * for as long as the worker runs. It parses to validate, and those objects die in its heap.
   */
  private async readWithWorker(task: TaskContext): Promise<void> {
    const { ctx } = this;
    const keys = [...ctx.streams.keys()];
    const share = Math.max(1, Math.floor(ctx.memory.capacity * WORKER_BUDGET_SHARE));
    const inFlight = Math.min(BYTES_IN_FLIGHT, share);
    const hold = Math.min(WORKER_HOLD_BYTES, share);
    const reserved = inFlight + hold;
    if (!ctx.memory.tryReserveSync(reserved)) await ctx.memory.reserveBytes(reserved, task.signal);
    ctx.load.inputWorkerBytes = reserved;
    try {
      const input = this.input instanceof FileDescriptorInput ? this.input : undefined;
      const fd = input?.readableFd();
      const worker = new InputWorkerClient(
        {
          maxLineBytes: ctx.knobs.maxLineBytes,
          streamKeys: keys,
          ...(fd === undefined ? {} : { fd }),
          ...(ctx.recordEncoders === undefined ? {} : { describeRecords: true }),
          maxUnacknowledged: inFlight,
          holdBytes: hold,
          maxHoldMs: this.maxHoldMs,
        },
        input?.takeWorker(),
      );
      try {
        if (fd !== undefined) {
          for (;;) {
            const packet = await untilAborted(this.nextPacket(worker), task.signal);
            await this.routePacket(packet, keys, task);
            if (packet.end === true) break;
            worker.ack(packet.bytes);
            task.updateProgress(this.stats.records);
          }
        } else await this.postChunks(worker, keys, task, inFlight);
      } finally {
        await worker.terminate();
      }
    } finally {
      ctx.load.inputWorkerBytes = 0;
      ctx.memory.releaseBytes(reserved);
    }
  }

  /** Records held for sending go once the oldest waited this long: min(1 s, flush window). */
  private get maxHoldMs(): number {
    return Math.min(MAX_HOLD_MS, this.ctx.knobs.flushWindowMs);
  }

  /**
   * Chunk mode: posts the input's chunks to the worker and routes the packets it sends back (one
   * per chunk, in order) side by side: a packet is routed as soon as it arrives (a source may
   * wait for a state's echo before it writes more), and reading waits only while `inFlight`
   * bytes are posted. While chunks come, every `maxHoldMs` the worker is asked for the records it
   * holds (a source that pauses leaves none there). The first failure of either stops both.
   */
  private async postChunks(
    worker: InputWorkerClient,
    keys: readonly string[],
    task: TaskContext,
    inFlight: number,
  ): Promise<void> {
    const posted: number[] = [];
    let postedBytes = 0;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(task.signal.reason);
    task.signal.addEventListener('abort', onAbort, { once: true });
    if (task.signal.aborted) onAbort();
    let ended = false;
    let space: (() => void) | undefined;
    let holding: NodeJS.Timeout | undefined;
    const postHeld = (): void => {
      holding = undefined;
      if (ended || stop.signal.aborted) return;
      posted.push(0);
      worker.postHeld();
    };
    const reading = async (): Promise<void> => {
      for await (const chunk of abortable(this.input, stop.signal)) {
        if (chunk.length === 0) continue;
        posted.push(chunk.length);
        postedBytes += chunk.length;
        worker.push(chunk);
        holding ??= setTimeout(postHeld, this.maxHoldMs);
        while (postedBytes >= inFlight) {
          await untilAborted(
            new Promise<void>((resolve) => {
              space = resolve;
            }),
            stop.signal,
          );
        }
      }
      posted.push(0);
      worker.end();
      ended = true;
    };
    const routing = async (): Promise<void> => {
      while (!(ended && worker.inFlight === 0)) {
        const packet = await untilAborted(this.nextPacket(worker), stop.signal);
        postedBytes -= posted.shift() ?? 0;
        await this.routePacket(packet, keys, task);
        space?.();
        space = undefined;
        task.updateProgress(this.stats.records);
      }
    };
    const stopOnFailure = (error: unknown): never => {
      stop.abort(error);
      throw error;
    };
    try {
      const [read, routed] = await Promise.allSettled([
        reading().catch(stopOnFailure),
        routing().catch(stopOnFailure),
      ]);
      // The failure that stopped the other side comes first.
      if (stop.signal.aborted) throw stop.signal.reason;
      if (read.status === 'rejected') throw read.reason;
      if (routed.status === 'rejected') throw routed.reason;
    } finally {
      clearTimeout(holding);
      task.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The worker's next packet. When none has come after a turn of the event loop, this thread
   * is idle: `load.inputIdle` is set until the packet comes, and a ProcessRecords worker waiting
   * with nothing to do gets the largest open batch (`askForIdleFlush`), so that the time is used
   * on records already read instead of all of them waiting for their states.
   */
  private nextPacket(worker: InputWorkerClient): Promise<InputPacket> {
    if (worker.ready) return worker.next();
    const { load, files } = this.ctx;
    const idle = setImmediate(() => {
      load.inputIdle = true;
      if (files.waitingReceivers > 0 && !askForWaitingCheckpoint(this.ctx))
        askForIdleFlush(this.ctx);
    });
    const arrived = (): void => {
      clearImmediate(idle);
      load.inputIdle = false;
    };
    const next = worker.next();
    next.then(arrived, arrived);
    return next;
  }

  /** Routes a packet's runs and messages in order, then raises the worker's error, if any. */
  private async routePacket(
    packet: InputPacket,
    keys: readonly string[],
    task: TaskContext,
  ): Promise<void> {
    const { ctx } = this;
    for (const item of packet.items) {
      if (item.kind === 'run') {
        // A run is reserved whole unless it is large for the budget: then in pieces, each as
        // large as a share of the budget (or one line), as the in-thread consumer reserves
        // line by line.
        const limit = Math.max(1, Math.floor(ctx.memory.capacity * RUN_BUDGET_SHARE));
        let rest: LineRun | undefined = runOf(item.buffer, item.count);
        // Encoded lines are not the input's: the input's bytes count with the first part.
        let inputBytes: number | undefined;
        if (item.scans !== undefined) {
          inputBytes = lineBytes(rest);
          rest = this.encodeRun(item.stream, rest, new Float64Array(item.scans));
        }
        while (rest !== undefined) {
          let part = rest;
          rest = undefined;
          if (lineBytes(part) > limit) {
            const lines = linesWithin(part, limit);
            if (lines < part.ends.length) [part, rest] = splitRun(part, lines);
          }
          const size = lineBytes(part);
          if (!ctx.memory.tryReserveSync(size)) await this.reserve(size, task);
          await this.routeRun(part, size, inputBytes ?? size, keys[item.stream] as string, task);
          if (inputBytes !== undefined) inputBytes = 0;
        }
        continue;
      }
      const line = Buffer.from(item.bytes.buffer, item.bytes.byteOffset, item.bytes.length);
      if (!ctx.memory.tryReserveSync(line.length)) await this.reserve(line.length, task);
      let message: InputMessage;
      try {
        message = parseInputLine(line, item.lineNumber);
      } catch (error) {
        ctx.memory.releaseBytes(line.length);
        throw error;
      }
      if (message.kind === 'record') {
        // The worker posts records as runs only.
        ctx.memory.releaseBytes(line.length);
        throw new InputWorkerFailedError('the input worker posted a record as a message');
      }
      await this.handle(message, { bytes: line, lineNumber: item.lineNumber }, task);
    }
    await this.sendFlushes(task);
    if (packet.error !== undefined) {
      const streams = keys.map((key) => {
        const stream = ctx.streams.get(key)?.stream;
        return { label: stream?.label ?? key, descriptor: stream?.descriptor ?? { name: key } };
      });
      throw toInputError(packet.error, streams);
    }
  }

  /**
   * Sends a reserved run of validated records to its stream's spill task as one event (the
   * worker already grouped them), giving the reservation back if it cannot be sent. `size` is
   * the run's line bytes, `inputBytes` what its records took in the input.
   */
  private async routeRun(
    run: LineRun,
    size: number,
    inputBytes: number,
    key: string,
    task: TaskContext,
  ) {
    const { ctx } = this;
    const count = run.ends.length;
    let event: StreamEvent;
    const plumbing = ctx.streams.get(key);
    try {
      if (plumbing === undefined) throw new InputWorkerFailedError('a run of an unknown stream');
      const manager = ctx.sync.stream(key);
      event = { kind: 'records', first: manager.nextRecordIndexes(count), run, bytes: size };
    } catch (error) {
      ctx.memory.releaseBytes(size);
      throw error;
    }
    this.stats.lines += count;
    this.stats.records += count;
    this.stats.bytes += inputBytes;
    plumbing.bytesRead += inputBytes;
    try {
      if (!plumbing.events.trySend(event)) await plumbing.events.send(event, task.signal);
    } catch (error) {
      ctx.memory.releaseBytes(size);
      throw error;
    }
  }

  /** A run of the stream at position `stream`, encoded (run-encoder.ts); the input run is released. */
  private encodeRun(stream: number, run: LineRun, scans: Float64Array): LineRun {
    let encoding = this.#encoding;
    if (encoding === undefined) {
      const create = this.ctx.recordEncoders;
      if (create === undefined) throw new InputWorkerFailedError('a run came with record scans');
      const streams = [...this.ctx.streams.values()].map((plumbing) => plumbing.stream);
      encoding = { streams, encoders: streams.map((s) => create(s)) };
      this.#encoding = encoding;
    }
    const encoder = encoding.encoders[stream];
    const target = encoding.streams[stream];
    if (encoder === undefined || target === undefined)
      throw new InputWorkerFailedError('a run of an unknown stream');
    const encoded = this.#runEncoder.encode(run, scans, target, encoder);
    releaseRun(run);
    return encoded;
  }

  /** Sends what was collected, then waits for `size` bytes of memory. */
  private async reserve(size: number, task: TaskContext): Promise<void> {
    await this.sendPending(task);
    // A state's records must be able to reach the destination while this waits.
    await this.sendFlushes(task);
    // Streams holding records in memory write them out, so the wait can end.
    for (const plumbing of this.ctx.streams.values()) {
      if (!plumbing.events.closed) plumbing.events.trySend({ kind: 'flush', reason: 'memory' });
    }
    await this.waitForMemory(size, task);
  }

  /**
   * Adds a validated, reserved record line to its stream's pending records, which take over its
   * reservation. Returns true when pending records are due (see PendingLines). Throws (after
   * releasing the line's memory) for an unknown or ended stream.
   */
  private routeRecord(line: Buffer, lineNumber: number, key: string): boolean {
    const { ctx } = this;
    const size = line.length;
    try {
      const plumbing = ctx.streams.get(key);
      if (plumbing === undefined) {
        throw new UnknownStreamError(lineNumber, describeKey(line, lineNumber));
      }
      const manager = ctx.sync.stream(key);
      if (manager.endOfStream !== 'open') {
        throw new RecordAfterEndOfStreamError(
          lineNumber,
          plumbing.stream.label,
          plumbing.stream.descriptor,
        );
      }
      const index = manager.nextRecordIndex();
      this.stats.lines++;
      this.stats.records++;
      this.stats.bytes += size;
      return this.#pending.add(key, line, () => ({ plumbing, first: index }));
    } catch (error) {
      ctx.memory.releaseBytes(size);
      throw error;
    }
  }

  /** Tells the streams in `#flushes` to flush their open batch (see `#flushes`). */
  private async sendFlushes(task: TaskContext): Promise<void> {
    if (this.#flushes.size === 0) return;
    const keys = [...this.#flushes];
    this.#flushes.clear();
    for (const key of keys) {
      const events = this.ctx.streams.get(key)?.events;
      if (events === undefined || events.closed) continue;
      if (!events.trySend(CHECKPOINT_FLUSH)) await events.send(CHECKPOINT_FLUSH, task.signal);
    }
  }

  /**
   * Sends pending records as one event per stream: the streams `PendingLines.due(only)` names.
   */
  private async sendPending(task: TaskContext, only?: string): Promise<void> {
    for (const key of this.#pending.due(only)) {
      const taken = this.#pending.take(key);
      if (taken === undefined) continue;
      const { data, run, bytes } = taken;
      const event: StreamEvent = { kind: 'records', first: data.first, run, bytes };
      data.plumbing.bytesRead += bytes;
      try {
        if (!data.plumbing.events.trySend(event))
          await data.plumbing.events.send(event, task.signal);
      } catch (error) {
        this.ctx.memory.releaseBytes(bytes);
        throw error;
      }
    }
  }

  /**
   * A reserved line that is not a record: the pending records it concerns go first (a STREAM
   * state's or a status's stream; every stream for other states), then the message.
   */
  private async handle(message: OtherMessage, line: Line, task: TaskContext): Promise<void> {
    const size = line.bytes.length;
    let handedOver = false;
    try {
      const concerned = concernedStreams(message);
      if (concerned === 'all') await this.sendPending(task);
      else if (concerned !== undefined) await this.sendPending(task, concerned.key);
      this.stats.lines++;
      await this.route(message, line, size, task, () => {
        handedOver = true;
      });
    } finally {
      if (!handedOver) this.ctx.memory.releaseBytes(size);
    }
  }

  /**
   * Waits for memory; fails instead of waiting forever when the whole budget is held by states
   * whose records cannot be persisted before more input is read (a destination that persists
   * only at the end of a stream, with more pending states than the budget holds).
   */
  private async waitForMemory(size: number, task: TaskContext): Promise<void> {
    const { ctx } = this;
    // An abort that came before this wait fires no listener: it ends the wait here.
    task.signal.throwIfAborted();
    const waiting = new AbortController();
    const onAbort = (): void => waiting.abort(task.signal.reason);
    task.signal.addEventListener('abort', onAbort, { once: true });
    const reserved = ctx.memory.reserveBytes(size, waiting.signal);
    let stalledSince: number | undefined;
    try {
      for (;;) {
        const got = await Promise.race([
          reserved.then(() => true),
          sleep(STALL_CHECK_MS).then(() => false),
        ]);
        if (got) return;
        const { load, memory, files, batches } = ctx;
        const stuck =
          load.pendingStates > 0 &&
          memory.reserved - load.inputWorkerBytes <= load.pendingStateBytes &&
          load.activeUnits === 0 &&
          files.buffered === 0 &&
          batches.buffered === 0;
        if (!stuck) {
          stalledSince = undefined;
          continue;
        }
        stalledSince ??= Date.now();
        if (Date.now() - stalledSince >= STALL_LIMIT_MS) {
          waiting.abort();
          throw new MemoryHeldByStatesError(
            memory.capacity,
            load.pendingStates,
            load.pendingStateBytes,
          );
        }
      }
    } finally {
      task.signal.removeEventListener('abort', onAbort);
      reserved.catch(() => undefined);
    }
  }

  /**
   * Handles one reserved non-record message. `handOver` is called the moment its reservation
   * moves on with it (to a pending state): from then on someone else releases it, once.
   */
  private async route(
    message: OtherMessage,
    line: Line,
    size: number,
    task: TaskContext,
    handOver: () => void,
  ): Promise<void> {
    const { ctx } = this;
    switch (message.kind) {
      case 'state': {
        const flush = await ctx.handlers.handleCheckpoint(message, size);
        handOver();
        for (const key of flush) this.#flushes.add(key);
        return;
      }
      case 'stream_status': {
        if (message.status !== 'COMPLETE' && message.status !== 'INCOMPLETE') return;
        const plumbing = ctx.streams.get(message.streamKey);
        if (plumbing === undefined) {
          throw new UnknownStreamError(line.lineNumber, describeStream(message.descriptor));
        }
        const manager = ctx.sync.stream(message.streamKey);
        if (manager.endOfStream !== 'open') return; // a repeated terminal status changes nothing
        manager.markEndOfStream(message.status === 'COMPLETE');
        // The end flushes the stream's last batch: a flush a state asked for is part of it.
        this.#flushes.delete(message.streamKey);
        await plumbing.events.send({ kind: 'end' }, task.signal);
        plumbing.events.close();
        return;
      }
      case 'ignored':
        return;
    }
  }
}
