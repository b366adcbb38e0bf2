/**
 * SpillToDisk (one per stream): drains the stream's record events into batches and hands each
 * batch to the ProcessRecords workers. A batch is flushed when it reaches the batch size, when a
 * checkpoint asks for it (InputConsumer asks once per packet or chunk of input, for all the
 * states in it, and not at all when the stream's end came in it too: the end flushes; a small
 * batch's checkpoint waits while other batches wait for a worker, `checkpointCanWait`), when it
 * is older than the flush window, when a forced flush comes, when a worker waits for a batch and
 * this one holds a 16th of the batch size (so that the connector starts early and keeps busy),
 * when the input and a worker both wait and this is the largest open batch (`askForIdleFlush`),
 * and at the end of the stream.
 *
 * Two paths, one batch at a time:
 * - memory path (while the workers keep up): the batch keeps the line runs it was sent (each
 *   holds only its own records' lines) and, at flush, if a worker is free, hands them over
 *   directly: no disk round trip. The worker parses a run at a time as the connector iterates,
 *   so parsed records die young. The lines keep their memory reservation until the connector
 *   processed them.
 * - spill path: the runs are written to a spill file as they are (no re-serialization) and the
 *   worker reads them back. A batch takes this path when it opens or is flushed while workers
 *   are behind (memory batches waiting for a worker already hold a batch size), and when the
 *   input waits for memory (a `memory` flush): its lines are written out and their memory goes
 *   back to the input.
 *
 * Budgets: a record's line reservation is released once its bytes are written to the file (on
 * the memory path: once the connector processed it); its disk reservation (size + newline) is taken before that and
 * released when the worker deletes the file. When the disk budget is exhausted the current file
 * is flushed first, so the wait can always end.
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { SystemError } from '../errors/destkit-error.js';
import type { ChannelProducer } from '../runtime/channel.js';
import { EMPTY, END } from '../runtime/channel.js';
import type { TaskContext } from '../runtime/task-context.js';
import { type LineRun, lineBytes, linesFilling, releaseRun, splitRun } from './line-run.js';
import type { PipelineContext, StreamPlumbing } from './pipeline-context.js';
import {
  leftFileQueue,
  releaseBatch,
  type SpilledBatch,
  type StreamEvent,
} from './pipeline-items.js';

/** Buffered bytes written to the file at once. */
const WRITE_CHUNK_BYTES = 256 * 1024;
/** Share of the memory budget the memory path may use (see `workersKeepUp`). */
const MEMORY_PATH_BUDGET_SHARE = 0.25;
/** A batch this share of the batch size or larger is flushed when a worker waits for one. */
const IDLE_FLUSH_SHARE = 1 / 16;
/** A batch this share of the batch size or smaller is small (see `workersKeepUp`)… */
const SMALL_BATCH_SHARE = 1 / 16;
/** …and small batches may wait in memory up to this many batch sizes in all. */
const SMALL_BATCHES_WAITING = 4;

/** An idle worker asks for a batch of this share of the batch size or more… */
const IDLE_ASK_SHARE = 1 / 1024;
/** …and of at least this many bytes (a batch costs its own bookkeeping besides its records). */
const IDLE_ASK_MIN_BYTES = 16 * 1024;

/** The smallest open batch an idle worker asks for (see `askForIdleFlush`). */
export function idleFlushMinBytes(batchSizeBytes: number): number {
  return Math.min(batchSizeBytes, Math.max(IDLE_ASK_MIN_BYTES, batchSizeBytes * IDLE_ASK_SHARE));
}

/**
 * The input has waited a turn of the event loop for more and a ProcessRecords worker waits with
 * no batch ready (InputConsumer and ProcessRecords call this then): asks the stream with the
 * largest open batch (of `idleFlushMinBytes` or more, not asked already) to flush it now. With
 * many streams no batch reaches the batch size and states come late, so the thread would sit
 * idle while the input is read; this keeps it on the largest batches instead. Returns whether
 * it asked.
 */
export function askForIdleFlush(ctx: PipelineContext): boolean {
  const min = idleFlushMinBytes(ctx.knobs.batchSizeBytes);
  let best: StreamPlumbing | undefined;
  for (const plumbing of ctx.streams.values()) {
    if (plumbing.idleFlushAsked || plumbing.openBatchBytes < min) continue;
    if (best === undefined || plumbing.openBatchBytes > best.openBatchBytes) best = plumbing;
  }
  if (best === undefined || best.events.closed) return false;
  if (!best.events.trySend({ kind: 'flush', reason: 'idle' })) return false;
  best.idleFlushAsked = true;
  return true;
}

/** The flush event `askForWaitingCheckpoint` sends (one object: events are never changed). */
const CHECKPOINT_DUE: StreamEvent = Object.freeze({ kind: 'flush', reason: 'checkpoint-due' });

/**
 * The queue of batches ran dry (a ProcessRecords worker took the last one, or is about to wait
 * for one): asks the stream with the largest open batch among those holding a state that waited
 * (`checkpointsWaiting`) to flush it now. Returns whether it asked.
 */
export function askForWaitingCheckpoint(ctx: PipelineContext): boolean {
  const waiting = ctx.load.checkpointsWaiting;
  if (waiting.size === 0) return false;
  let best: StreamPlumbing | undefined;
  for (const plumbing of waiting) {
    if (best === undefined || plumbing.openBatchBytes > best.openBatchBytes) best = plumbing;
  }
  if (best === undefined) return false;
  // A full event channel keeps the stream waiting: its batch still goes at its size, its age,
  // the next ask or its end.
  if (!best.events.closed && !best.events.trySend(CHECKPOINT_DUE)) return false;
  waiting.delete(best);
  best.checkpointWaiting = false;
  return !best.events.closed;
}

export class RecordIndexGapError extends SystemError {
  override readonly code = 'SPILL_INDEX_GAP';
}

interface SpillFile {
  readonly handle: FileHandle;
  readonly path: string;
}

interface OpenBatch {
  readonly start: number;
  readonly openedAt: number;
  count: number;
  bytes: number;
  /** Records and bytes already added to the task's stats. */
  countedRecords: number;
  countedBytes: number;
  /** True while the batch is on the memory path. */
  inMemory: boolean;
  /** Spill path: the file, opened at the first write. */
  file: SpillFile | undefined;
  diskReserved: number;
  /** Runs not yet written or handed over; their line bytes are reserved from the memory budget. */
  pending: LineRun[];
  /** Line bytes of `pending`. */
  pendingBytes: number;
}

export class SpillToDisk {
  #batch: OpenBatch | undefined;
  /** The open batch holds a state's records whose flush waits (see `checkpointCanWait`). */
  #checkpointWaits = false;
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
          // Idle: a spilling batch writes what is buffered, so its memory goes back to the
          // input at once. A memory batch waits (a `memory` flush comes when memory is short).
          const batch = this.#batch;
          if (batch !== undefined && !batch.inMemory) await this.writePending(batch);
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
      case 'records': {
        if (event.first !== this.#nextIndex) {
          throw new RecordIndexGapError(
            `stream ${this.plumbing.stream.label}: record ${event.first} arrived where ${this.#nextIndex} was expected`,
          );
        }
        this.#nextIndex += event.run.ends.length;
        // The run is cut where a batch reaches the batch size: a batch ends with the record that
        // fills it, whatever the input chunks were.
        let rest: LineRun | undefined = event.run;
        let first = event.first;
        while (rest !== undefined) {
          const room = ctx.knobs.batchSizeBytes - (this.#batch?.bytes ?? 0);
          const take = linesFilling(rest, room);
          let part = rest;
          rest = undefined;
          if (take < part.ends.length) [part, rest] = splitRun(part, take);
          // Disk: the lines and their newlines.
          const need = part.bytes.length;
          if (!ctx.disk.tryReserveSync(need)) {
            if (this.#batch !== undefined) await this.flush(false, task);
            await ctx.disk.reserveBytes(need, task.signal);
          }
          const batch = this.#batch ?? this.openBatch(first);
          batch.diskReserved += need;
          this.add(batch, part);
          first += take;
          if (!batch.inMemory && batch.pendingBytes >= WRITE_CHUNK_BYTES)
            await this.writePending(batch);
          if (batch.bytes >= ctx.knobs.batchSizeBytes) await this.flush(false, task);
        }
        // A worker waits with nothing to do (the sync is starting, or the destination keeps
        // up): a batch worth a worker's while goes now instead of at its state or its size.
        const batch = this.#batch;
        if (
          batch !== undefined &&
          batch.bytes >= ctx.knobs.batchSizeBytes * IDLE_FLUSH_SHARE &&
          ctx.files.waitingReceivers > 0
        )
          await this.flush(false, task);
        return;
      }
      case 'flush': {
        const batch = this.#batch;
        if (batch === undefined) return;
        if (event.reason === 'memory') {
          batch.inMemory = false;
          await this.writePending(batch);
          return;
        }
        if (event.reason === 'idle') {
          this.plumbing.idleFlushAsked = false;
          if (batch.bytes >= idleFlushMinBytes(ctx.knobs.batchSizeBytes))
            await this.flush(false, task);
          return;
        }
        if (event.reason === 'checkpoint' && this.checkpointCanWait(batch)) {
          this.#checkpointWaits = true;
          this.plumbing.checkpointWaiting = true;
          ctx.load.checkpointsWaiting.add(this.plumbing);
          return;
        }
        // Asked for a batch that has flushed since (at its size, say): the new one has no state.
        if (event.reason === 'checkpoint-due' && !this.#checkpointWaits) return;
        if (event.reason !== 'age' || this.now() - batch.openedAt >= ctx.knobs.flushWindowMs)
          await this.flush(false, task);
        return;
      }
      case 'end':
        return;
    }
  }

  /**
   * A state's flush of a small batch (under a 16th of the batch size) waits while other batches
   * wait for a worker: cut now, the batch would only wait behind them, and would cost a batch's
   * bookkeeping for a few records. It goes when the queue runs dry (`askForWaitingCheckpoint`),
   * or at its size, its age, a forced flush or the stream's end, whichever comes first; later
   * states of the stream join it meanwhile.
   */
  private checkpointCanWait(batch: OpenBatch): boolean {
    const { files, knobs } = this.ctx;
    return files.buffered > 0 && batch.bytes < knobs.batchSizeBytes * IDLE_FLUSH_SHARE;
  }

  /** The memory path while no batch waits for a worker; the spill path otherwise. */
  private openBatch(start: number): OpenBatch {
    const batch: OpenBatch = {
      start,
      openedAt: this.now(),
      count: 0,
      bytes: 0,
      countedRecords: 0,
      countedBytes: 0,
      inMemory: this.workersKeepUp(0),
      file: undefined,
      diskReserved: 0,
      pending: [],
      pendingBytes: 0,
    };
    this.#setBatch(batch);
    return batch;
  }

  /** Sets (or clears) the open batch; the heartbeat and idle workers read it on the plumbing. */
  #setBatch(batch: OpenBatch | undefined): void {
    this.#batch = batch;
    const { plumbing } = this;
    plumbing.openBatchAt = batch?.openedAt;
    plumbing.openBatchBytes = batch?.bytes ?? 0;
    plumbing.idleFlushAsked = false;
    this.#checkpointWaits = false;
    if (plumbing.checkpointWaiting) {
      plumbing.checkpointWaiting = false;
      this.ctx.load.checkpointsWaiting.delete(plumbing);
    }
  }

  /**
   * The memory path is taken while the memory budget is mostly free and the workers keep up: no
   * batch waits for a worker, or the batches in memory that wait, with this one (`bytes` so
   * far), hold at most one batch size — up to SMALL_BATCHES_WAITING batch sizes when this one is
   * small (at most SMALL_BATCH_SHARE of a batch size). A batch in memory holds its reservation
   * until the connector processed it, so under a slow destination the spill path, which gives
   * memory back as it writes, keeps the budget (and the process) small. A small batch (a state
   * every few records, many streams) would cost more as a file of its own (open, write, close,
   * read, delete on this thread) than the memory it gives back.
   */
  private workersKeepUp(bytes: number): boolean {
    const { files, memory, knobs, load } = this.ctx;
    // The input worker's standing reservation is not memory any batch holds.
    const held = memory.reserved - load.inputWorkerBytes;
    if (held + knobs.batchSizeBytes > memory.capacity * MEMORY_PATH_BUDGET_SHARE) return false;
    if (files.buffered === 0 || files.waitingReceivers > 0) return true;
    const waiting = load.memoryBatchBytesWaiting + bytes;
    if (waiting <= knobs.batchSizeBytes) return true;
    return (
      bytes <= knobs.batchSizeBytes * SMALL_BATCH_SHARE &&
      waiting <= knobs.batchSizeBytes * SMALL_BATCHES_WAITING
    );
  }

  private add(batch: OpenBatch, run: LineRun): void {
    const bytes = lineBytes(run);
    batch.pending.push(run);
    batch.pendingBytes += bytes;
    batch.count += run.ends.length;
    batch.bytes += bytes;
    this.plumbing.openBatchBytes = batch.bytes;
  }

  /** The pending runs, taken out of the batch (their reservation goes with them). */
  private takePending(batch: OpenBatch): LineRun[] {
    const runs = batch.pending;
    batch.pending = [];
    batch.pendingBytes = 0;
    return runs;
  }

  private async writePending(batch: OpenBatch): Promise<void> {
    if (batch.pending.length === 0) return;
    const reserved = batch.pendingBytes;
    const runs = this.takePending(batch);
    batch.file ??= await this.openFile();
    await batch.file.handle.writev(runs.map((run) => run.bytes));
    for (const run of runs) releaseRun(run);
    this.ctx.memory.releaseBytes(reserved);
    this.countStats(batch);
  }

  /** Stats per write or hand-over, not per record: a task's stats are validated on every update. */
  private countStats(batch: OpenBatch): void {
    this.#task?.addStats({
      records: batch.count - batch.countedRecords,
      bytes: batch.bytes - batch.countedBytes,
    });
    batch.countedRecords = batch.count;
    batch.countedBytes = batch.bytes;
  }

  private async openFile(): Promise<SpillFile> {
    const path = this.ctx.spill.nextFile(this.plumbing.number);
    return { handle: await open(path, 'w'), path };
  }

  /** Hands the current batch over (if any); at the end of stream always sends one. */
  private async flush(endOfStream: boolean, task: TaskContext): Promise<void> {
    const batch = this.#batch;
    const { stream } = this.plumbing;
    // Each batch is written out as one literal: on Node 20 a literal that spreads an object and
    // then adds properties costs about a microsecond per property (see docs/performance.md).
    if (batch === undefined) {
      if (!endOfStream) return;
      const at = this.#nextIndex;
      await this.producer.send(
        { stream, endOfStream, range: [at, at], sizeBytes: 0, path: undefined, diskReserved: 0 },
        task.signal,
      );
      return;
    }
    const range: [number, number] = [batch.start, batch.start + batch.count];
    if (batch.inMemory && this.workersKeepUp(batch.bytes)) {
      this.#setBatch(undefined);
      this.ctx.disk.releaseBytes(batch.diskReserved);
      this.countStats(batch);
      const memoryReserved = batch.pendingBytes;
      const handOver: SpilledBatch = {
        stream,
        endOfStream,
        range,
        sizeBytes: batch.bytes,
        path: undefined,
        diskReserved: 0,
        memoryReserved,
        runs: this.takePending(batch),
      };
      this.ctx.load.memoryBatchBytesWaiting += memoryReserved;
      await this.handOver(handOver, task);
      return;
    }
    batch.inMemory = false;
    await this.writePending(batch);
    const file = batch.file as SpillFile;
    this.#setBatch(undefined);
    await file.handle.close();
    const spilled: SpilledBatch = {
      stream,
      endOfStream,
      range,
      sizeBytes: batch.bytes,
      path: file.path,
      diskReserved: batch.diskReserved,
    };
    await this.handOver(spilled, task);
  }

  /** Sends a batch to the workers; a batch that cannot be sent gives its reservations back. */
  private async handOver(batch: SpilledBatch, task: TaskContext): Promise<void> {
    try {
      if (!this.producer.trySend(batch)) await this.producer.send(batch, task.signal);
    } catch (error) {
      leftFileQueue(this.ctx.load, batch);
      await releaseBatch(this.ctx, batch);
      throw error;
    }
  }

  /** On any outcome: an unfinished batch is dropped, its file deleted, its reservations returned. */
  private async discard(): Promise<void> {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#setBatch(undefined);
    this.ctx.memory.releaseBytes(batch.pendingBytes);
    this.ctx.disk.releaseBytes(batch.diskReserved);
    if (batch.file === undefined) return;
    await batch.file.handle.close().catch(() => undefined);
    await unlink(batch.file.path).catch(() => undefined);
  }
}
