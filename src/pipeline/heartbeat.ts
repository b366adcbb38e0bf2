/**
 * Heartbeat (until end of sync): asks the spill task of every stream whose open batch is older
 * than the flush window to flush it, forces a flush when the oldest pending state has waited
 * longer than the maximum checkpoint window, lets HeapTrim bound the main thread's garbage, and
 * logs a progress line now and then (no per-record noise).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext } from '../runtime/task-context.js';
import type { HeapTrim } from './heap-trim.js';
import type { PipelineContext } from './pipeline-context.js';

export interface HeartbeatOptions {
  readonly tickMs: number;
  readonly logEveryMs: number;
  /** When the oldest pending state arrived, or undefined when none is pending. */
  readonly oldestPendingSince: () => number | undefined;
  /** Streams whose records hold back the oldest pending state. */
  readonly streamsHoldingCheckpoint: () => readonly string[];
  readonly progress: () => Record<string, unknown>;
  /** Asked once a tick whether the old generation needs a full collection. */
  readonly heapTrim?: HeapTrim;
  readonly now?: () => number;
}

export async function runHeartbeat(
  ctx: PipelineContext,
  options: HeartbeatOptions,
  task: TaskContext,
): Promise<void> {
  const now = options.now ?? Date.now;
  let lastLog = now();
  for (;;) {
    try {
      await sleep(options.tickMs, undefined, { signal: task.signal });
    } catch {
      return; // cancelled at the end of the sync
    }
    const at = now();
    for (const plumbing of ctx.streams.values()) {
      const opened = plumbing.openBatchAt;
      if (opened === undefined || at - opened < ctx.knobs.flushWindowMs) continue;
      if (!plumbing.events.closed) plumbing.events.trySend({ kind: 'flush', reason: 'age' });
    }
    const since = options.oldestPendingSince();
    if (since !== undefined && now() - since >= ctx.knobs.maxCheckpointWindowMs) {
      for (const key of options.streamsHoldingCheckpoint()) {
        const events = ctx.streams.get(key)?.events;
        if (events !== undefined && !events.closed)
          events.trySend({ kind: 'flush', reason: 'forced' });
      }
    }
    if (options.heapTrim?.tick() === true) {
      const { collections, collectMs } = options.heapTrim.stats;
      task.setPayload({ heapCollections: collections, heapCollectMs: Math.round(collectMs) });
    }
    if (now() - lastLog >= options.logEveryMs) {
      lastLog = now();
      ctx.logger.info(options.progress(), 'sync progress');
    }
  }
}
