/**
 * InputConsumer (until failure only): reads stdin, reserves each line's bytes from the memory
 * budget BEFORE parsing it (so a slow destination stalls reading instead of growing the heap),
 * validates and classifies it, assigns record indexes, routes records to their stream's spill
 * task, pins states to the records read before them, and ends streams on their terminal status.
 */

import { UnknownStreamError } from '../errors/input-errors.js';
import { parseInputLine } from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import type { TaskContext } from '../runtime/task-context.js';
import { RecordAfterEndOfStreamError } from '../write/write-errors.js';
import type { PipelineContext } from './pipeline-context.js';
import type { StreamEvent } from './pipeline-items.js';

export interface InputStats {
  lines: number;
  records: number;
  bytes: number;
}

function label(namespace: string | null | undefined, name: string): string {
  return namespace ? `${namespace}.${name}` : name;
}

/**
 * Iterates `source` until it ends or `signal` aborts — a read blocked on stdin does not see an
 * abort by itself. On abort the source's iterator is returned (a Readable is destroyed).
 */
export async function* abortable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    // Not awaited: a Readable's iterator finishes `return()` only after its pending read,
    // which may never come (an open pipe with nothing to say). `return()` destroys the stream.
    void Promise.resolve(iterator.return?.())?.catch(() => undefined);
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
    if (!ctx.memory.tryReserveSync(size)) await ctx.memory.reserveBytes(size, task.signal);
    let keep = false;
    try {
      keep = await this.route(line, size, task);
    } finally {
      if (!keep) ctx.memory.releaseBytes(size);
    }
  }

  /** Handles one reserved line; returns true when its reservation moved on with it. */
  private async route(line: Line, size: number, task: TaskContext): Promise<boolean> {
    const { ctx } = this;
    const message = parseInputLine(line.bytes, line.lineNumber);
    this.stats.lines++;
    switch (message.kind) {
      case 'record': {
        const { record } = message;
        const plumbing = ctx.streams.get(message.streamKey);
        if (plumbing === undefined) {
          throw new UnknownStreamError(line.lineNumber, label(record.namespace, record.stream));
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
        this.stats.records++;
        this.stats.bytes += size;
        plumbing.bytesRead += size;
        return true;
      }
      case 'state': {
        const flush = await ctx.handlers.handleCheckpoint(message, size);
        for (const key of flush) {
          const events = ctx.streams.get(key)?.events;
          if (events !== undefined && !events.closed)
            await events.send({ kind: 'flush', reason: 'checkpoint' }, task.signal);
        }
        return true;
      }
      case 'stream_status': {
        if (message.status !== 'COMPLETE' && message.status !== 'INCOMPLETE') return false;
        const plumbing = ctx.streams.get(message.streamKey);
        if (plumbing === undefined) {
          throw new UnknownStreamError(
            line.lineNumber,
            label(message.descriptor.namespace, message.descriptor.name),
          );
        }
        const manager = ctx.sync.stream(message.streamKey);
        if (manager.endOfStream !== 'open') return false; // a repeated terminal status changes nothing
        manager.markEndOfStream(message.status === 'COMPLETE');
        await plumbing.events.send({ kind: 'end' }, task.signal);
        plumbing.events.close();
        return false;
      }
      case 'ignored':
        return false;
    }
  }
}
