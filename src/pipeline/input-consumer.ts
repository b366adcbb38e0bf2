/**
 * InputConsumer (until failure only): reads stdin, reserves each line's bytes from the memory
 * budget BEFORE parsing it (so a slow destination stalls reading instead of growing the heap),
 * validates and classifies it, assigns record indexes, routes records to their stream's spill
 * task, pins states to the records read before them, and ends streams on their terminal status.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../errors/destkit-error.js';
import { UnknownStreamError } from '../errors/input-errors.js';
import { parseInputLine } from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import { describeStream } from '../protocol/messages.js';
import type { TaskContext } from '../runtime/task-context.js';
import { RecordAfterEndOfStreamError } from '../write/write-errors.js';
import type { PipelineContext } from './pipeline-context.js';
import type { StreamEvent } from './pipeline-items.js';

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

export class InputConsumer {
  readonly stats: InputStats = { lines: 0, records: 0, bytes: 0 };

  constructor(
    private readonly ctx: PipelineContext,
    private readonly input: AsyncIterable<Buffer>,
  ) {}

  async run(task: TaskContext): Promise<void> {
    const { ctx } = this;
    const splitter = new LineSplitter({ maxLineBytes: ctx.knobs.maxLineBytes });
    try {
      for await (const chunk of abortable(this.input, task.signal)) {
        splitter.push(chunk);
        for (let line = splitter.next(); line !== undefined; line = splitter.next()) {
          await this.handle(line, task);
        }
        task.updateProgress(this.stats.records);
      }
      const last = splitter.end();
      if (last !== undefined) await this.handle(last, task);
      task.updateProgress(this.stats.records);
      // Before the channels end: streams without a terminal status are ended INCOMPLETE first,
      // so that draining them can close them (without finalizing anything).
      await ctx.handlers.handleInputConsumed();
    } finally {
      // Every stream's spill task sees the end of its channel, whatever happened here.
      for (const plumbing of ctx.streams.values()) plumbing.events.close();
    }
  }

  private async handle(line: Line, task: TaskContext): Promise<void> {
    const { ctx } = this;
    const size = line.bytes.length;
    if (!ctx.memory.tryReserveSync(size)) await this.waitForMemory(size, task);
    let handedOver = false;
    const handOver = (): void => {
      handedOver = true;
    };
    try {
      await this.route(line, size, task, handOver);
    } finally {
      if (!handedOver) ctx.memory.releaseBytes(size);
    }
  }

  /**
   * Waits for memory; fails instead of waiting forever when the whole budget is held by states
   * whose records cannot be persisted before more input is read (a destination that persists
   * only at the end of a stream, with more pending states than the budget holds).
   */
  private async waitForMemory(size: number, task: TaskContext): Promise<void> {
    const { ctx } = this;
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
          memory.reserved <= load.pendingStateBytes &&
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
   * Handles one reserved line. `handOver` is called the moment its reservation moves on with it
   * (to a spill task or a pending state): from then on someone else releases it, once.
   */
  private async route(
    line: Line,
    size: number,
    task: TaskContext,
    handOver: () => void,
  ): Promise<void> {
    const { ctx } = this;
    const message = parseInputLine(line.bytes, line.lineNumber);
    this.stats.lines++;
    switch (message.kind) {
      case 'record': {
        const { record } = message;
        const plumbing = ctx.streams.get(message.streamKey);
        if (plumbing === undefined) {
          throw new UnknownStreamError(
            line.lineNumber,
            describeStream({ namespace: record.namespace, name: record.stream }),
          );
        }
        const manager = ctx.sync.stream(message.streamKey);
        if (manager.endOfStream !== 'open') {
          throw new RecordAfterEndOfStreamError(
            line.lineNumber,
            plumbing.stream.label,
            plumbing.stream.descriptor,
          );
        }
        const event: StreamEvent = {
          kind: 'record',
          index: manager.nextRecordIndex(),
          bytes: line.bytes,
          reserved: size,
        };
        if (!plumbing.events.trySend(event)) await plumbing.events.send(event, task.signal);
        handOver();
        this.stats.records++;
        this.stats.bytes += size;
        plumbing.bytesRead += size;
        return;
      }
      case 'state': {
        const flush = await ctx.handlers.handleCheckpoint(message, size);
        handOver();
        for (const key of flush) {
          const events = ctx.streams.get(key)?.events;
          if (events !== undefined && !events.closed)
            await events.send({ kind: 'flush', reason: 'checkpoint' }, task.signal);
        }
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
        await plumbing.events.send({ kind: 'end' }, task.signal);
        plumbing.events.close();
        return;
      }
      case 'ignored':
        return;
    }
  }
}
