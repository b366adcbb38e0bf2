/**
 * SpillToDisk (one per stream): drains the stream's record events into spill files of raw
 * input lines (no re-serialization), and hands each file to the ProcessRecords workers.
 * A file is flushed when it reaches the batch size, when a checkpoint asks for it, when it is
 * older than the flush window, when a forced flush comes, and at the end of the stream.
 *
 * Budgets: a record's memory reservation is released once its bytes are written to the file;
 * its disk reservation (size + newline) is taken before that and released when the worker
 * deletes the file. When the disk budget is exhausted the current file is flushed first, so
 * the wait can always end.
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { SystemError } from '../errors/destkit-error.js';
import type { ChannelProducer } from '../runtime/channel.js';
import { EMPTY, END } from '../runtime/channel.js';
import type { TaskContext } from '../runtime/task-context.js';
import type { PipelineContext, StreamPlumbing } from './pipeline-context.js';
import type { SpilledBatch, StreamEvent } from './pipeline-items.js';

const NEWLINE = Buffer.from('\n');
/** Buffered bytes written to the file at once. */
const WRITE_CHUNK_BYTES = 256 * 1024;

export class RecordIndexGapError extends SystemError {
  override readonly code = 'SPILL_INDEX_GAP';
}

interface OpenFile {
  readonly handle: FileHandle;
  readonly path: string;
  readonly start: number;
  readonly openedAt: number;
  count: number;
  bytes: number;
  /** Records and bytes already added to the task's stats. */
  countedRecords: number;
  countedBytes: number;
  diskReserved: number;
  pending: Buffer[];
  pendingBytes: number;
  pendingReserved: number;
}

export class SpillToDisk {
  #file: OpenFile | undefined;
  #nextIndex = 0;
  #task: TaskContext | undefined;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly plumbing: StreamPlumbing,
    private readonly producer: ChannelProducer<SpilledBatch>,
    private readonly now: () => number = Date.now,
  ) {}

  async run(task: TaskContext): Promise<void> {
    this.#task = task;
    task.onCleanup(() => this.discard());
    try {
      for (;;) {
        let event = this.plumbing.events.tryReceive();
        if (event === EMPTY) {
          // Idle: write what is buffered, so its memory goes back to the input at once.
          if (this.#file !== undefined) await this.writePending(this.#file);
          event = await this.plumbing.events.receive(task.signal);
        }
        // The channel ends after an `end` event, or at the end of input for a stream that got
        // no terminal status: either way the stream's last batch goes out.
        if (event === END || event.kind === 'end') {
          await this.flush(true, task);
          break;
        }
        await this.handle(event, task);
      }
    } finally {
      this.producer.close();
    }
  }

  private async handle(event: StreamEvent, task: TaskContext): Promise<void> {
    const { ctx } = this;
    switch (event.kind) {
      case 'record': {
        if (event.index !== this.#nextIndex) {
          throw new RecordIndexGapError(
            `stream ${this.plumbing.stream.label}: record ${event.index} arrived where ${this.#nextIndex} was expected`,
          );
        }
        this.#nextIndex++;
        const need = event.bytes.length + 1;
        if (!ctx.disk.tryReserveSync(need)) {
          if (this.#file !== undefined) await this.flush(false, task);
          await ctx.disk.reserveBytes(need, task.signal);
        }
        const file = this.#file ?? (await this.openFile(event.index));
        file.diskReserved += need;
        file.pending.push(event.bytes, NEWLINE);
        file.pendingBytes += need;
        file.pendingReserved += event.reserved;
        file.count++;
        file.bytes += event.bytes.length;
        if (file.pendingBytes >= WRITE_CHUNK_BYTES) await this.writePending(file);
        if (file.bytes >= ctx.knobs.batchSizeBytes) await this.flush(false, task);
        return;
      }
      case 'flush': {
        const file = this.#file;
        if (file === undefined) return;
        if (event.reason !== 'age' || this.now() - file.openedAt >= ctx.knobs.flushWindowMs)
          await this.flush(false, task);
        return;
      }
      case 'end':
        return;
    }
  }

  private async openFile(start: number): Promise<OpenFile> {
    const path = this.ctx.spill.nextFile(this.plumbing.number);
    const handle = await open(path, 'w');
    this.#file = {
      handle,
      path,
      start,
      openedAt: this.now(),
      count: 0,
      bytes: 0,
      countedRecords: 0,
      countedBytes: 0,
      diskReserved: 0,
      pending: [],
      pendingBytes: 0,
      pendingReserved: 0,
    };
    return this.#file;
  }

  private async writePending(file: OpenFile): Promise<void> {
    if (file.pending.length === 0) return;
    const buffers = file.pending;
    const reserved = file.pendingReserved;
    file.pending = [];
    file.pendingBytes = 0;
    file.pendingReserved = 0;
    await file.handle.writev(buffers);
    this.ctx.memory.releaseBytes(reserved);
    // Stats per write, not per record: a task's stats are validated on every update.
    this.#task?.addStats({
      records: file.count - file.countedRecords,
      bytes: file.bytes - file.countedBytes,
    });
    file.countedRecords = file.count;
    file.countedBytes = file.bytes;
  }

  /** Closes the current file (if any) and hands it over; at the end of stream always sends one. */
  private async flush(endOfStream: boolean, task: TaskContext): Promise<void> {
    const file = this.#file;
    let batch: SpilledBatch;
    if (file === undefined) {
      if (!endOfStream) return;
      batch = {
        stream: this.plumbing.stream,
        range: [this.#nextIndex, this.#nextIndex],
        sizeBytes: 0,
        endOfStream: true,
        path: undefined,
        diskReserved: 0,
      };
    } else {
      await this.writePending(file);
      await file.handle.close();
      this.#file = undefined;
      batch = {
        stream: this.plumbing.stream,
        range: [file.start, file.start + file.count],
        sizeBytes: file.bytes,
        endOfStream,
        path: file.path,
        diskReserved: file.diskReserved,
      };
    }
    await this.producer.send(batch, task.signal);
  }

  /** On any outcome: an unfinished file is deleted and its reservations returned. */
  private async discard(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    this.ctx.memory.releaseBytes(file.pendingReserved);
    this.ctx.disk.releaseBytes(file.diskReserved);
    await file.handle.close().catch(() => undefined);
    await unlink(file.path).catch(() => undefined);
  }
}
