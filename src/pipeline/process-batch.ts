/**
 * ProcessBatch (a pool of workers): moves batches forward with `loader.processBatch` until
 * they are COMPLETE, reporting every new state (a PERSISTED batch releases states before it
 * is COMPLETE). A loader that keeps answering with the same state is called again after a
 * growing pause (1 ms doubling up to 1 s): it may be waiting on something (an upload, a copy).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { END } from '../runtime/channel.js';
import type { TaskContext } from '../runtime/task-context.js';
import type { TaskRegistry } from '../runtime/task-registry.js';
import type { PipelineContext } from './pipeline-context.js';
import type { BatchEnvelope } from './pipeline-items.js';

export class ProcessBatchWorker {
  constructor(
    private readonly ctx: PipelineContext,
    private readonly registry: TaskRegistry,
  ) {}

  async run(task: TaskContext): Promise<void> {
    for (;;) {
      const envelope = await this.ctx.batches.receive(task.signal);
      if (envelope === END) return;
      const { stream } = envelope;
      const parentId = this.ctx.streams.get(stream.key)?.taskId ?? task.id;
      const handle = this.registry.start(
        {
          kind: 'process-batch',
          scope: 'batch',
          parentId,
          stream: stream.descriptor.namespace
            ? { name: stream.name, namespace: stream.descriptor.namespace }
            : { name: stream.name },
          payload: {
            ranges: envelope.ranges.map((r) => [r[0], r[1]]),
            state: envelope.batch.state,
          },
        },
        (unit) => this.process(envelope, unit),
      );
      await handle.done;
    }
  }

  private async process(envelope: BatchEnvelope, unit: TaskContext): Promise<void> {
    const { ctx } = this;
    ctx.load.activeUnits++;
    try {
      const loader = await ctx.loaders.get(envelope.stream.key, unit.signal);
      let batch = envelope.batch;
      let idle = 0;
      while (batch.state !== 'COMPLETE') {
        unit.throwIfCancelled();
        const before = batch.state;
        batch = await loader.processBatch(batch);
        // A batch that did not move on is polled with a growing pause (up to 1 s): a loader
        // waiting on something must not keep the event loop busy, or no timer could ever fire.
        idle = batch.state === before ? idle + 1 : 0;
        if (idle > 0)
          await sleep(Math.min(1000, 2 ** Math.min(idle, 10)), undefined, { signal: unit.signal });
        unit.setPayload({ state: batch.state });
        await ctx.handlers.handleNewBatch(
          envelope.stream,
          envelope.ranges,
          batch,
          envelope.endOfStream,
        );
      }
    } catch (error) {
      await ctx.handlers.handleException(error);
      throw error;
    } finally {
      ctx.load.activeUnits--;
    }
  }
}
