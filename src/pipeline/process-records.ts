/**
 * ProcessRecords (a pool of workers): takes spilled batches (a spill file, or records kept in
 * memory), waits for the stream's loader, feeds the records to this worker's accumulator of
 * that stream, deletes the file (or releases the records' memory), and reports the resulting
 * batch. Each file is one unit of work: a `process-records` task under its stream.
 * A batch that is not COMPLETE (and not part of a group) goes on to the ProcessBatch workers.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ChannelProducer } from '../runtime/channel.js';
import { END } from '../runtime/channel.js';
import type { TaskContext } from '../runtime/task-context.js';
import type { TaskRegistry } from '../runtime/task-registry.js';
import type { Batch, DestinationRecord } from '../write/destination-writer.js';
import type { GuardedAccumulator } from '../write/guarded-stream-loader.js';
import type { PipelineContext } from './pipeline-context.js';
import {
  type BatchEnvelope,
  leftFileQueue,
  releaseBatch,
  requiresProcessing,
  type SpilledBatch,
} from './pipeline-items.js';
import { readRuns, readSpillFile, readSpillFileLines, runLines } from './spill-file-reader.js';
import { askForIdleFlush, askForWaitingCheckpoint } from './spill-to-disk.js';

const NO_RECORDS: readonly DestinationRecord[] = Object.freeze([]);
const NO_LINES: readonly Buffer[] = Object.freeze([]);

export class ProcessRecordsWorker {
  /** One accumulator per stream for this worker (connectors may keep per-worker state). */
  readonly #accumulators = new Map<string, GuardedAccumulator>();

  constructor(
    private readonly ctx: PipelineContext,
    private readonly registry: TaskRegistry,
    private readonly producer: ChannelProducer<BatchEnvelope>,
  ) {}

  async run(task: TaskContext): Promise<void> {
    try {
      for (;;) {
        // One batch per turn of the event loop: a chain of batches ready at once would run as
        // promise continuations only, and the input (the worker's packets, stdin) would wait
        // for all of them.
        await nextTurn();
        // About to wait with nothing to do while the input waits too: the largest open batch is
        // worth more now than later.
        const { files, load } = this.ctx;
        if (files.buffered === 0 && !askForWaitingCheckpoint(this.ctx) && load.inputIdle)
          askForIdleFlush(this.ctx);
        const item = await files.receive(task.signal);
        if (item === END) break;
        // Took the last batch waiting: a state's batch that waited behind it goes now, so that it
        // is ready when this one is done.
        if (files.buffered === 0) askForWaitingCheckpoint(this.ctx);
        leftFileQueue(this.ctx.load, item);
        let started = false;
        const parentId = this.ctx.streams.get(item.stream.key)?.taskId ?? task.id;
        const [start, end] = item.range;
        try {
          const handle = this.registry.start(
            {
              kind: 'process-records',
              scope: 'batch',
              parentId,
              stream: item.stream.descriptor.namespace
                ? { name: item.stream.name, namespace: item.stream.descriptor.namespace }
                : { name: item.stream.name },
              unit: 'records',
              total: end - start,
              payload: {
                range: [start, end],
                bytes: item.sizeBytes,
                endOfStream: item.endOfStream,
              },
            },
            (unit) => {
              started = true;
              return this.process(item, unit);
            },
          );
          await handle.done;
        } finally {
          // A unit cancelled before it started leaves its batch to nobody: give it back.
          if (!started) await releaseBatch(this.ctx, item);
        }
      }
    } finally {
      this.producer.close();
    }
  }

  /** Gives a batch's records to the connector: as lines when they were encoded as they arrived. */
  private processBatchRecords(item: SpilledBatch, accumulator: GuardedAccumulator): Promise<Batch> {
    const { knobs, recordEncoders } = this.ctx;
    if (recordEncoders === undefined) {
      const records =
        item.runs !== undefined
          ? readRuns(item.runs, item.stream)
          : item.path === undefined
            ? NO_RECORDS
            : readSpillFile(item.path, item.stream, knobs.maxLineBytes);
      return accumulator.processRecords(records, item.sizeBytes, item.endOfStream);
    }
    const count = item.range[1] - item.range[0];
    const chunks =
      item.runs !== undefined
        ? runLines(item.runs)
        : item.path === undefined
          ? NO_LINES
          : readSpillFileLines(item.path, count, knobs.maxLineBytes);
    return accumulator.processEncodedRecords({ chunks, count }, item.sizeBytes, item.endOfStream);
  }

  private async process(item: SpilledBatch, unit: TaskContext): Promise<void> {
    const { ctx } = this;
    const key = item.stream.key;
    ctx.load.activeUnits++;
    try {
      // A started loader is taken as it is: waiting on the unit's signal costs a signal.
      const loader = ctx.loaders.started(key) ?? (await ctx.loaders.get(key, unit.signal));
      let accumulator = this.#accumulators.get(key);
      if (accumulator === undefined) {
        accumulator = loader.createBatchAccumulator();
        this.#accumulators.set(key, accumulator);
      }
      const batch = await this.processBatchRecords(item, accumulator);
      const plumbing = ctx.streams.get(key);
      if (plumbing !== undefined) plumbing.batches++;
      const [start, end] = item.range;
      unit.updateProgress(end - start);
      unit.addStats({ records: end - start, bytes: item.sizeBytes });
      unit.setPayload({ state: batch.state });
      const ranges = end > start ? [item.range] : [];
      await ctx.handlers.handleNewBatch(item.stream, ranges, batch, item.endOfStream);
      if (requiresProcessing(batch)) {
        await this.producer.send(
          { stream: item.stream, ranges, batch, endOfStream: item.endOfStream },
          unit.signal,
        );
      }
    } catch (error) {
      await ctx.handlers.handleException(error);
      throw error;
    } finally {
      ctx.load.activeUnits--;
      await releaseBatch(this.ctx, item);
    }
  }
}
