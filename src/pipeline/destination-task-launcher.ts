/**
 * DestinationTaskLauncher: runs one sync as a tree of tasks on the TaskRegistry and decides,
 * on each reported result, what runs next. Its handlers are serialized with a mutex; their
 * critical sections do no I/O except buffered stdout writes.
 *
 * Task tree (kind — terminal condition):
 *   sync (root)
 *   ├─ setup — self-terminating; then open-stream per stream
 *   ├─ input-consumer — until failure only
 *   ├─ heartbeat — until end of sync
 *   ├─ records-worker ×N, batch-worker ×M — end when their channel ends
 *   ├─ stream ×S — ends once its stream closed and its children ended (or the sync failed)
 *   │   ├─ spill-to-disk (internal), open-stream, process-records per file,
 *   │   └─ process-batch per batch, close-stream
 *   ├─ teardown — once every stream closed and the input was consumed
 *   └─ fail-stream ×S, fail-sync — the failure path (fail tasks: never cancelled)
 *
 * Success: every stream batch-complete → close-stream (finalize; an INCOMPLETE stream is closed
 * with a failure, so nothing is finalized) → teardown → the end-of-sync tasks are cancelled.
 * Failure: the first exception wins (later ones are attached): every task but the fail tasks
 * is cancelled, each started loader is closed with the failure, the states whose records are
 * persisted are echoed, teardown runs with the failure.
 */
import { Mutex } from 'async-mutex';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { DestinationCatalog } from '../catalog/destination-catalog.js';
import type { DestinationStream } from '../catalog/destination-stream.js';
import type { Knobs } from '../config/knobs.js';
import { SystemError } from '../errors/destkit-error.js';
import { UnknownStreamError } from '../errors/input-errors.js';
import type { StateInput } from '../protocol/input-message.js';
import { describeStream, type StreamDescriptor, streamKey } from '../protocol/messages.js';
import type { OutputWriter } from '../protocol/output-writer.js';
import { echoStateLine } from '../protocol/state-echo.js';
import { Channel, type ChannelProducer, EMPTY, END } from '../runtime/channel.js';
import type { ChannelRegistry } from '../runtime/channel-registry.js';
import type { MemoryBudget } from '../runtime/memory-budget.js';
import { TaskCancelledError } from '../runtime/runtime-errors.js';
import type { TaskSpec, TaskStats, StreamKey as TaskStreamKey } from '../runtime/task.js';
import type { TaskContext } from '../runtime/task-context.js';
import type { TaskRegistry } from '../runtime/task-registry.js';
import type { Batch } from '../write/destination-writer.js';
import type { GuardedWriter } from '../write/guarded-stream-loader.js';
import { TOKENS } from '../write/tokens.js';
import { SyncCancelledError } from '../write/write-errors.js';
import { CheckpointManager } from './checkpoint-manager.js';
import { createHeapTrim } from './heap-trim.js';
import { runHeartbeat } from './heartbeat.js';
import { InputConsumer } from './input-consumer.js';
import {
  idleLoadGauge,
  type LauncherHandlers,
  type PipelineContext,
  type StreamPlumbing,
} from './pipeline-context.js';
import { MissingStreamStatusError, StreamsIncompleteError } from './pipeline-errors.js';
import {
  type BatchEnvelope,
  leftFileQueue,
  requiresProcessing,
  type SpilledBatch,
  type StreamEvent,
} from './pipeline-items.js';
import { PIPELINE_TOKENS } from './pipeline-tokens.js';
import { ProcessBatchWorker } from './process-batch.js';
import { ProcessRecordsWorker } from './process-records.js';
import type { IndexRange } from './range-set.js';
import { SpillDirectory } from './spill-directory.js';
import { SpillToDisk } from './spill-to-disk.js';
import { StreamLoaders } from './stream-loaders.js';
import { SyncManager } from './sync-manager.js';

/** The payload a checkpoint carries until it is echoed. */
interface PendingState {
  readonly raw: Buffer;
  readonly recordCount: number;
  readonly reserved: number;
  readonly receivedAt: number;
}

/**
 * Events queued for a stream's spill task. An event carries one input chunk's records of the
 * stream (up to a chunk, ~64 KiB), so a stream whose spill task is blocked (a slow destination)
 * holds at most ~2 MiB of queued input: the memory budget is the hard bound, this keeps a slow
 * sync well below it.
 */
const STREAM_EVENTS_CAPACITY = 32;
export interface LauncherDependencies {
  readonly writer: GuardedWriter;
  readonly catalog: DestinationCatalog;
  readonly knobs: Knobs;
  readonly output: OutputWriter;
  readonly logger: Logger;
  readonly registry: TaskRegistry;
  readonly channels: ChannelRegistry;
  readonly memory: MemoryBudget;
  readonly disk: MemoryBudget;
  readonly input: AsyncIterable<Buffer>;
  readonly connector: string;
}

/** How a sync ended; `error` is the first failure (later ones are in `suppressed`). */
export interface SyncOutcome {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly error?: unknown;
  readonly suppressed: readonly unknown[];
  readonly rootId: string;
  readonly statesEchoed: number;
  readonly recordsRead: number;
  readonly bytesRead: number;
}

/** One stream's counts, as the report shows them. */
export interface StreamSummary {
  readonly stream: DestinationStream;
  readonly taskId: string | undefined;
  /** The terminal status received: `open` (none yet), `complete`, `incomplete`, or `missing` at end of input. */
  readonly status: 'open' | 'complete' | 'incomplete' | 'missing';
  /** How processing of the stream ended: `active`, `succeeded` or `failed`. */
  readonly result: string;
  readonly recordsRead: number;
  readonly recordsPersisted: number;
  readonly bytesRead: number;
  readonly batches: number;
  /** The stream task's stats once it finished (absent while it runs). */
  readonly taskStats?: StreamTaskStats;
}

/** A finished stream task's own stats and those folded into it from its children. */
export interface StreamTaskStats {
  readonly own: TaskStats;
  readonly folded: TaskStats;
}

/** A stream that ended INCOMPLETE is closed with this failure: finalize nothing. */
export class StreamIncompleteFailure extends Error {
  constructor(label: string) {
    super(`stream ${label} ended INCOMPLETE: it is not finalized`);
  }
}

function isCancellation(error: unknown): boolean {
  return (
    error instanceof TaskCancelledError || (error instanceof Error && error.name === 'AbortError')
  );
}

/** A section's result: never a promise (a section that awaited could interleave with others). */
type Sync<T> = T extends PromiseLike<unknown> ? never : T;

function taskStream(stream: DestinationStream): TaskStreamKey {
  return stream.namespace === undefined
    ? { name: stream.name }
    : { name: stream.name, namespace: stream.namespace };
}

@injectable()
export class DestinationTaskLauncher implements LauncherHandlers {
  readonly #mutex = new Mutex();
  #inSection = false;
  readonly #deps: LauncherDependencies;
  readonly #sync: SyncManager;
  readonly #checkpoints = new CheckpointManager<PendingState>();
  readonly #loaders = new StreamLoaders();
  readonly #ctx: PipelineContext;
  readonly #plumbing = new Map<string, StreamPlumbing>();
  readonly #streamDone = new Map<string, () => void>();
  readonly #closeStarted = new Set<string>();
  /**
   * Each stream task's stats, kept when it finished: the registry keeps the status of a finished
   * child only for its last `foldedStatusLimit` folded tasks, and the batch tasks evict it.
   */
  readonly #streamStats = new Map<string, StreamTaskStats>();
  readonly #input: InputConsumer;
  #rootId = '';
  #teardownStarted = false;
  #failure: { error: unknown } | undefined;
  readonly #suppressed: unknown[] = [];
  /** Streams that got no terminal status before the end of input. */
  readonly #missingStatus: StreamDescriptor[] = [];
  #failurePath: Promise<void> | undefined;
  #statesEchoed = 0;
  #settle!: (status: 'succeeded' | 'failed') => void;
  #resolveSetup!: (ok: boolean) => void;
  /** Resolves true once setup succeeded, false when it failed or the sync failed first. */
  readonly #setupDone = new Promise<boolean>((resolve) => {
    this.#resolveSetup = resolve;
  });
  readonly #settled: Promise<'succeeded' | 'failed'>;

  constructor(
    @inject(PIPELINE_TOKENS.GuardedWriter) writer: GuardedWriter,
    @inject(TOKENS.Catalog) catalog: DestinationCatalog,
    @inject(TOKENS.Knobs) knobs: Knobs,
    @inject(PIPELINE_TOKENS.OutputWriter) output: OutputWriter,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(PIPELINE_TOKENS.TaskRegistry) registry: TaskRegistry,
    @inject(PIPELINE_TOKENS.ChannelRegistry) channels: ChannelRegistry,
    @inject(PIPELINE_TOKENS.MemoryBudget) memory: MemoryBudget,
    @inject(PIPELINE_TOKENS.DiskBudget) disk: MemoryBudget,
    @inject(PIPELINE_TOKENS.Input) input: AsyncIterable<Buffer>,
    @inject(PIPELINE_TOKENS.ConnectorName) connector: string,
  ) {
    const deps = {
      writer,
      catalog,
      knobs,
      output,
      logger,
      registry,
      channels,
      memory,
      disk,
      input,
      connector,
    };
    this.#deps = deps;
    this.#sync = new SyncManager(catalog.streams.map((s) => s.descriptor));
    this.#settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    const files = new Channel<SpilledBatch>({
      name: 'spill-files',
      capacity: knobs.fileQueueDepth,
    });
    const batches = new Channel<BatchEnvelope>({
      name: 'batches',
      capacity: knobs.batchQueueDepth,
    });
    channels.register(files);
    channels.register(batches);
    const fileProducers = new Map<string, ChannelProducer<SpilledBatch>>();
    catalog.streams.forEach((stream, number) => {
      const events = new Channel<StreamEvent>({
        name: `records:${stream.label}`,
        capacity: STREAM_EVENTS_CAPACITY,
      });
      channels.register(events);
      this.#plumbing.set(stream.key, {
        stream,
        number,
        events,
        taskId: undefined,
        bytesRead: 0,
        batches: 0,
        openBatchAt: undefined,
        openBatchBytes: 0,
        idleFlushAsked: false,
        checkpointWaiting: false,
        endBatchDone: false,
      });
      fileProducers.set(stream.key, files.addProducer());
    });
    this.#ctx = {
      catalog,
      sync: this.#sync,
      loaders: this.#loaders,
      streams: this.#plumbing,
      files,
      fileProducers,
      batches,
      memory: deps.memory,
      disk: deps.disk,
      spill: new SpillDirectory(knobs.tempDir),
      knobs,
      logger: deps.logger,
      handlers: this,
      load: idleLoadGauge(),
      // Records are encoded as they arrive with the input worker only (it finds their data);
      // without it, processRecords as ever.
      recordEncoders:
        knobs.inputWorkers > 0 && writer.encodesRecords
          ? (stream) => writer.createRecordEncoder(stream)
          : undefined,
    };
    this.#input = new InputConsumer(this.#ctx, deps.input);
  }

  /** The spill directory of this sync (removed when the sync ends). */
  get spillDirectory(): string {
    return this.#ctx.spill.path;
  }

  /** Runs the sync to its end; never rejects — the outcome says how it ended. */
  async run(): Promise<SyncOutcome> {
    const { registry, connector } = this.#deps;
    const handle = registry.start(
      {
        kind: 'sync',
        scope: 'sync',
        payload: { connector, streams: this.#deps.catalog.size },
        unit: 'records',
      },
      (task) => this.runRoot(task),
    );
    this.#rootId = handle.id;
    const status = await handle.done;
    if (this.#failure === undefined && status.state !== 'completed') {
      // Only a defect in the launcher itself gets here; report it rather than lose it.
      this.#failure = {
        error: new SystemError(
          `the sync task ended ${status.state}: ${status.error?.message ?? 'no error recorded'}`,
        ),
      };
    }
    const cancelled =
      status.state === 'cancelled' || this.#failure?.error instanceof SyncCancelledError;
    const failed = this.#failure !== undefined;
    let error = this.#failure?.error;
    if (!failed) error = this.incompleteError();
    return {
      status: cancelled ? 'cancelled' : failed || error !== undefined ? 'failed' : 'succeeded',
      ...(error === undefined ? {} : { error }),
      suppressed: [...this.#suppressed],
      rootId: handle.id,
      statesEchoed: this.#statesEchoed,
      recordsRead: this.#input.stats.records,
      bytesRead: this.#input.stats.bytes,
    };
  }

  /** Why a sync that did all its work still failed: streams not COMPLETE. */
  private incompleteError(): Error | undefined {
    if (this.#missingStatus.length > 0) return new MissingStreamStatusError(this.#missingStatus);
    const incomplete = this.#sync.streams().filter((s) => s.endOfStream === 'incomplete');
    return incomplete.length > 0
      ? new StreamsIncompleteError(incomplete.map((s) => s.descriptor))
      : undefined;
  }

  /** Per-stream counts for the report and the progress display; cheap, side-effect free. */
  streamSummaries(): StreamSummary[] {
    return [...this.#plumbing.values()].map((plumbing) => {
      const manager = this.#sync.stream(plumbing.stream.key);
      const missing = this.#missingStatus.some((d) => streamKey(d) === plumbing.stream.key);
      const taskStats = this.#streamStats.get(plumbing.stream.key);
      return {
        stream: plumbing.stream,
        taskId: plumbing.taskId,
        status: missing ? 'missing' : manager.endOfStream,
        result: manager.result.status,
        recordsRead: manager.recordCount,
        recordsPersisted: manager.persistedCount,
        bytesRead: plumbing.bytesRead,
        batches: plumbing.batches,
        ...(taskStats === undefined ? {} : { taskStats }),
      };
    });
  }

  /** Input totals so far. */
  get inputStats(): {
    readonly records: number;
    readonly bytes: number;
    readonly statesEchoed: number;
  } {
    return {
      records: this.#input.stats.records,
      bytes: this.#input.stats.bytes,
      statesEchoed: this.#statesEchoed,
    };
  }

  get rootId(): string {
    return this.#rootId;
  }

  // ── the root task ─────────────────────────────────────────────────────────────────────

  private async runRoot(root: TaskContext): Promise<void> {
    const { knobs, registry } = this.#deps;
    this.#rootId = root.id;
    const onAbort = (): void => {
      const reason = root.signal.reason instanceof Error ? root.signal.reason.message : 'aborted';
      void this.handleException(
        new SyncCancelledError(`the sync was cancelled (${reason}); nothing was finalized`),
      );
    };
    root.signal.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        this.startTasks(root);
      } catch (error) {
        await this.handleException(error);
      }
      const outcome = await this.#settled;
      if (outcome === 'succeeded') {
        const { stillRunning } = await registry.shutdown(root.id, {
          outcome: 'success',
          graceMs: knobs.graceTimeoutMs,
        });
        if (stillRunning.length > 0) {
          this.#deps.logger.warn(
            { tasks: stillRunning.map((t) => `${t.kind}:${t.id}`) },
            'tasks still running after the grace timeout',
          );
        }
      } else {
        await this.#failurePath;
        throw this.#failure?.error;
      }
    } finally {
      root.signal.removeEventListener('abort', onAbort);
      this.releaseUnprocessed();
      this.#ctx.spill.remove();
    }
  }

  /**
   * At the end of a failed sync: records no spill task took and batches no worker took give
   * their memory and disk back, and so do the states that were never echoed.
   */
  private releaseUnprocessed(): void {
    const { files, memory, disk, load } = this.#ctx;
    memory.releaseBytes(load.pendingStateBytes);
    load.pendingStateBytes = 0;
    load.pendingStates = 0;
    for (const { events } of this.#ctx.streams.values()) {
      for (;;) {
        const event = events.failed ? EMPTY : events.tryReceive();
        if (event === EMPTY || event === END) break;
        if (event.kind === 'records') memory.releaseBytes(event.bytes);
      }
    }
    for (;;) {
      const item = files.failed ? EMPTY : files.tryReceive();
      if (item === EMPTY || item === END) return;
      memory.releaseBytes(item.memoryReserved ?? 0);
      leftFileQueue(load, item);
      disk.releaseBytes(item.diskReserved);
    }
  }

  private startTasks(root: TaskContext): void {
    const { knobs, registry } = this.#deps;
    // Bodies start in this order: setup and the input first, so that the input worker reads
    // while the stream tasks start (a thousand streams take a while); the records wait in their
    // streams' channels.
    this.child(root, { kind: 'setup' }, () => this.setup());
    this.child(
      root,
      { kind: 'input-consumer', terminalCondition: 'until-failure-only', unit: 'records read' },
      (t) => this.#input.run(t),
    );
    this.startStreamTasks(root);
    this.child(
      root,
      { kind: 'heartbeat', terminalCondition: 'until-end-of-sync', internal: true },
      (t) => {
        const heapTrim = createHeapTrim(knobs.heapSlackBytes);
        return runHeartbeat(
          this.#ctx,
          {
            tickMs: Math.max(10, Math.min(1000, Math.floor(knobs.flushWindowMs / 2))),
            logEveryMs: 60_000,
            oldestPendingSince: () => this.#checkpoints.oldestPending()?.payload.receivedAt,
            streamsHoldingCheckpoint: () => [...this.#checkpoints.nextFlushIndexes().keys()],
            progress: () => ({
              records: this.#input.stats.records,
              states: this.#statesEchoed,
              memory: this.#deps.memory.snapshot(),
              ...(heapTrim === undefined ? {} : { heapCollections: heapTrim.stats.collections }),
            }),
            ...(heapTrim === undefined ? {} : { heapTrim }),
          },
          t,
        );
      },
    );
    for (const producer of this.#ctx.batches.addProducers(knobs.processRecordsWorkers)) {
      const worker = new ProcessRecordsWorker(this.#ctx, registry, producer);
      this.child(root, { kind: 'records-worker', internal: true }, (t) => worker.run(t), false);
    }
    for (let i = 0; i < knobs.processBatchWorkers; i++) {
      const worker = new ProcessBatchWorker(this.#ctx, registry);
      this.child(root, { kind: 'batch-worker', internal: true }, (t) => worker.run(t), false);
    }
  }

  /** Starts a child task of the root whose failure goes to handleException. */
  private child(
    root: TaskContext,
    spec: TaskSpec,
    body: (task: TaskContext) => Promise<void>,
    report = true,
  ): void {
    this.#deps.registry.start(Object.assign({}, spec, { parentId: root.id }), async (task) => {
      try {
        await body(task);
      } catch (error) {
        if (report) await this.handleException(error);
        throw error;
      }
    });
  }

  private startStreamTasks(root: TaskContext): void {
    const { registry } = this.#deps;
    for (const plumbing of this.#plumbing.values()) {
      const { stream } = plumbing;
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      this.#streamDone.set(stream.key, finish);
      const handle = registry.start(
        {
          kind: 'stream',
          scope: 'stream',
          parentId: root.id,
          stream: taskStream(stream),
          unit: 'records',
        },
        async (task) => {
          task.signal.addEventListener('abort', finish, { once: true });
          if (task.signal.aborted) finish();
          // Children start from inside the body: a task can only have children while it runs.
          const producer = this.#ctx.fileProducers.get(stream.key)!;
          const spill = new SpillToDisk(this.#ctx, plumbing, producer);
          this.streamChild(
            plumbing,
            { kind: 'spill-to-disk', internal: true, unit: 'records' },
            (t) => spill.run(t),
          );
          if (await this.#setupDone) {
            this.streamChild(plumbing, { kind: 'open-stream' }, () => this.openStream(stream));
          }
          await finished;
          // Closed: the close-stream task (which resolved `finished`) and the unit that reported
          // the last batch are still returning. The stream ends after them, or the runtime would
          // cancel them as children of a finished task. On the failure path they are cancelled.
          if (!task.isCancelled()) await this.#deps.registry.childrenEnded(task.id);
        },
      );
      plumbing.taskId = handle.id;
      void handle.done.then((status) => {
        this.#streamStats.set(stream.key, { own: status.stats, folded: status.foldedStats });
      });
    }
  }

  private streamChild(
    plumbing: StreamPlumbing,
    spec: TaskSpec,
    body: (task: TaskContext) => Promise<void>,
  ): void {
    // Object.assign, not a spread with properties after it: the latter is several times slower
    // on Node 20 (see docs/performance.md), and a thousand streams start four tasks each.
    const parentId = plumbing.taskId ?? this.#rootId;
    this.#deps.registry.start(
      Object.assign({}, spec, { parentId, stream: taskStream(plumbing.stream) }),
      async (task) => {
        try {
          await body(task);
        } catch (error) {
          await this.handleException(error);
          throw error;
        }
      },
    );
  }

  // ── setup, open, close, teardown ──────────────────────────────────────────────────────

  private async setup(): Promise<void> {
    try {
      await this.#deps.writer.setup();
      this.#resolveSetup(true);
    } catch (error) {
      this.#resolveSetup(false);
      throw error;
    }
  }

  private async openStream(stream: DestinationStream): Promise<void> {
    try {
      const loader = await this.#deps.writer.createStreamLoader(stream);
      await loader.start();
      if (!this.#loaders.register(stream.key, loader)) {
        // The sync failed while this loader was starting: nobody else will close it.
        await loader.close(
          this.#failure?.error ??
            new SyncCancelledError('the sync ended while the stream was opening'),
        );
      }
    } catch (error) {
      this.#loaders.fail(stream.key, error);
      throw error;
    }
  }

  private async closeStream(stream: DestinationStream): Promise<void> {
    const manager = this.#sync.stream(stream.key);
    const loader = await this.#loaders.get(stream.key);
    const failure =
      manager.endOfStream === 'incomplete' ? new StreamIncompleteFailure(stream.label) : undefined;
    await loader.close(failure);
    await this.#exclusive(() => {
      if (this.#failure !== undefined) return;
      manager.markSucceeded();
      this.#deps.logger.info(
        { stream: stream.label, records: manager.recordCount, status: manager.endOfStream },
        'stream closed',
      );
      this.#streamDone.get(stream.key)?.();
      this.maybeTeardown();
    });
  }

  /** Starts teardown once the input is consumed and every stream closed. Call under the mutex. */
  private maybeTeardown(): void {
    if (this.#teardownStarted || this.#failure !== undefined || !this.#sync.inputConsumed) return;
    if (this.#sync.hasActiveStreams()) return;
    this.#teardownStarted = true;
    this.#deps.registry.start({ kind: 'teardown', parentId: this.#rootId }, async () => {
      try {
        await this.#exclusive(() => this.flushCheckpoints());
        // A writer learns that some streams were not finalized through the failure it gets.
        await this.#deps.writer.teardown(this.incompleteError());
        await this.#exclusive(() => {
          if (this.#failure !== undefined) return;
          this.#sync.markSyncSucceeded();
          this.#settle('succeeded');
        });
      } catch (error) {
        await this.handleException(error);
        throw error;
      }
    });
  }

  /**
   * Runs a section under the mutex. Every section is synchronous, so one that finds the mutex
   * free runs at once: nothing can interleave with it, and nothing waits before it. Otherwise
   * it queues behind the sections waiting, in order. The mutex is almost always free, and
   * async-mutex's path costs a few microseconds and two microtask turns per call, several
   * times per STATE.
   */
  #exclusive<T>(section: () => Sync<T>): Sync<T> | Promise<Sync<T>> {
    // A section started from inside another one queues, as it did behind the mutex.
    if (this.#inSection || this.#mutex.isLocked()) return this.#mutex.runExclusive(section);
    this.#inSection = true;
    try {
      return section();
    } finally {
      this.#inSection = false;
    }
  }

  // ── handlers (serialized) ─────────────────────────────────────────────────────────────

  async handleCheckpoint(message: StateInput, reserved: number): Promise<readonly string[]> {
    return this.#exclusive(() => {
      const payload = (recordCount: number): PendingState => ({
        raw: message.raw,
        recordCount,
        reserved,
        receivedAt: Date.now(),
      });
      let flush: string[];
      if (message.stateType === 'STREAM') {
        const descriptor = message.state.stream!.stream_descriptor;
        const key = streamKey(descriptor);
        if (!this.#sync.has(key)) {
          throw new UnknownStreamError(message.lineNumber, describeStream(descriptor));
        }
        const { index, recordsSinceLast } = this.#sync.markStreamCheckpoint(key);
        this.#checkpoints.addStreamCheckpoint(key, index, payload(recordsSinceLast));
        flush = [key];
      } else {
        const { indexes, recordsSinceLast } = this.#sync.markGlobalCheckpoint();
        this.#checkpoints.addGlobalCheckpoint(indexes, payload(recordsSinceLast));
        flush = [...indexes.keys()];
      }
      this.#ctx.load.pendingStateBytes += reserved;
      this.#ctx.load.pendingStates++;
      // A STREAM state can only make its own stream's queue ready.
      this.flushCheckpoints(message.stateType === 'STREAM' ? flush[0] : undefined);
      return flush;
    });
  }

  async handleInputConsumed(): Promise<void> {
    await this.#exclusive(() => {
      // Streams without a terminal status drain like INCOMPLETE ones: persisted and echoed,
      // never finalized; the sync then fails with a transient_error naming them.
      for (const manager of this.#sync.streams()) {
        if (manager.endOfStream !== 'open') continue;
        manager.markEndOfStream(false);
        this.#missingStatus.push(manager.descriptor);
      }
      this.#sync.markInputConsumed();
      this.flushCheckpoints();
      this.maybeTeardown();
    });
  }

  async handleNewBatch(
    stream: DestinationStream,
    ranges: readonly IndexRange[],
    batch: Batch,
    endOfStream: boolean,
  ): Promise<void> {
    await this.#exclusive(() => {
      const manager = this.#sync.stream(stream.key);
      const plumbing = this.#plumbing.get(stream.key)!;
      // The last batch must be done before the loader closes, even when it covers no records.
      if (endOfStream && !requiresProcessing(batch)) plumbing.endBatchDone = true;
      if (ranges.length > 0 || batch.groupId !== undefined)
        manager.registerBatch(ranges, batch.state, batch.groupId);
      if (batch.state === 'PERSISTED' || batch.state === 'COMPLETE')
        this.flushCheckpoints(stream.key);
      if (
        this.#failure === undefined &&
        plumbing.endBatchDone &&
        !this.#closeStarted.has(stream.key) &&
        manager.isBatchProcessingComplete()
      ) {
        this.#closeStarted.add(stream.key);
        this.streamChild(plumbing, { kind: 'close-stream' }, () => this.closeStream(stream));
      }
    });
  }

  async handleException(error: unknown): Promise<void> {
    await this.#exclusive(() => {
      if (this.#failure !== undefined) {
        if (!isCancellation(error) && error !== this.#failure.error) {
          this.#suppressed.push(error);
          this.#deps.logger.warn(
            { err: error },
            'a further failure after the first one (the first is reported)',
          );
        }
        return;
      }
      const first = isCancellation(error)
        ? new SyncCancelledError('the sync was cancelled; nothing was finalized', { cause: error })
        : error;
      this.#failure = { error: first };
      this.#resolveSetup(false);
      this.#sync.markSyncFailed(first);
      this.#failurePath = this.runFailurePath(first);
      this.#failurePath.finally(() => this.#settle('failed')).catch(() => undefined);
    });
  }

  /**
   * Echoes every state whose records are persisted, in order; with `only`, the states of that
   * stream, the only one that changed (see `CheckpointManager.flushReady`). Call under the mutex.
   */
  private flushCheckpoints(only?: string): void {
    const ready = this.#checkpoints.flushReady(this.#sync.isPersistedUntil, only);
    for (const state of ready) {
      this.#deps.output.writeLine(echoStateLine(state.raw, state.recordCount));
      this.#deps.memory.releaseBytes(state.reserved);
      this.#ctx.load.pendingStateBytes -= state.reserved;
      this.#ctx.load.pendingStates--;
      this.#statesEchoed++;
    }
  }

  // ── the failure path ──────────────────────────────────────────────────────────────────

  private async runFailurePath(error: unknown): Promise<void> {
    const { registry, knobs, logger, writer } = this.#deps;
    // Nothing may wait for a loader any more: waiters fail at once instead of at the grace timeout.
    for (const plumbing of this.#plumbing.values()) this.#loaders.fail(plumbing.stream.key, error);
    // Let the handler that reported the failure return before everything is cancelled.
    await Promise.resolve();
    const { stillRunning } = await registry.shutdown(this.#rootId, {
      outcome: 'failure',
      graceMs: knobs.graceTimeoutMs,
    });
    if (stillRunning.length > 0) {
      logger.warn(
        { tasks: stillRunning.map((t) => `${t.kind}:${t.id}`) },
        'tasks still running after the grace timeout',
      );
    }
    for (const plumbing of this.#plumbing.values()) plumbing.events.close();
    const failStreams = [...this.#plumbing.values()].map(
      (plumbing) =>
        registry.start(
          {
            kind: 'fail-stream',
            parentId: this.#rootId,
            stream: taskStream(plumbing.stream),
            failTask: true,
            abortable: false,
          },
          async () => {
            const key = plumbing.stream.key;
            this.#loaders.fail(key, error);
            this.#sync.stream(key).markFailed(error);
            this.#streamDone.get(key)?.();
            const loader = this.#loaders.started(key);
            try {
              await loader?.close(error);
            } catch (closeError) {
              this.#suppressed.push(closeError);
              logger.warn(
                { err: closeError, stream: plumbing.stream.label },
                'closing a stream loader after the failure failed too',
              );
            }
          },
        ).done,
    );
    await Promise.all(failStreams);
    await registry.start(
      { kind: 'fail-sync', parentId: this.#rootId, failTask: true, abortable: false },
      async () => {
        await this.#exclusive(() => this.flushCheckpoints());
        try {
          await writer.teardown(error);
        } catch (teardownError) {
          this.#suppressed.push(teardownError);
          logger.warn({ err: teardownError }, 'teardown after the failure failed too');
        }
      },
    ).done;
  }
}
