/**
 * The heartbeat's age flush (heartbeat.ts): only a stream whose open batch is older than the
 * flush window is asked to flush; streams without a batch or with a young one are not woken.
 */
import { describe, expect, it } from 'vitest';
import { runHeartbeat } from '../../src/pipeline/heartbeat.js';
import type { PipelineContext, StreamPlumbing } from '../../src/pipeline/pipeline-context.js';
import type { StreamEvent } from '../../src/pipeline/pipeline-items.js';
import { Channel } from '../../src/runtime/channel.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';

const WINDOW_MS = 1_000;
const NOW = 1_000_000;

function plumbing(name: string, openBatchAt: number | undefined): StreamPlumbing {
  const events = new Channel<StreamEvent>({ name, capacity: 100 });
  return { events, openBatchAt } as unknown as StreamPlumbing;
}

function received(p: StreamPlumbing): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (let item = p.events.tryReceive(); typeof item === 'object'; item = p.events.tryReceive())
    out.push(item as StreamEvent);
  return out;
}

describe('heartbeat', () => {
  it('asks only the streams whose open batch is older than the flush window to flush', async () => {
    const streams = new Map([
      ['old', plumbing('old', NOW - WINDOW_MS)],
      ['young', plumbing('young', NOW - WINDOW_MS + 1)],
      ['none', plumbing('none', undefined)],
    ]);
    const ctx = {
      streams,
      knobs: { flushWindowMs: WINDOW_MS, maxCheckpointWindowMs: 3_600_000 },
    } as unknown as PipelineContext;
    const registry = new TaskRegistry();
    let ticks = 0;
    const handle = registry.start({ kind: 'heartbeat' }, (task) =>
      runHeartbeat(
        ctx,
        {
          tickMs: 5,
          logEveryMs: 3_600_000,
          oldestPendingSince: () => {
            ticks++;
            return undefined;
          },
          streamsHoldingCheckpoint: () => [],
          progress: () => ({}),
          now: () => NOW,
        },
        task,
      ),
    );
    while (ticks < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    registry.abort(handle.id);
    await handle.done;
    const old = received(streams.get('old') as StreamPlumbing);
    expect(old.length).toBeGreaterThanOrEqual(3);
    expect(old.every((e) => e.kind === 'flush' && e.reason === 'age')).toBe(true);
    expect(received(streams.get('young') as StreamPlumbing)).toEqual([]);
    expect(received(streams.get('none') as StreamPlumbing)).toEqual([]);
  });
});
