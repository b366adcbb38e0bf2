/** ProcessBatch polls a batch that does not move on without starving the event loop. */
import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/testkit/run-pipeline.js';
import type { Batch, DestinationWriter, StreamLoader } from '../../src/write/destination-writer.js';
import { TOKENS } from '../../src/write/tokens.js';
import { catalog, record, status, streamState } from '../helpers/messages.js';

/**
 * processBatch answers PERSISTED (unchanged) until a timer has fired (200 ms). Polled with
 * growing pauses that is about ten calls; a busy loop makes thousands (or hits `maxCalls`).
 */
function pollingWriter(maxCalls: number, seen: { calls: number; timerFired: boolean }) {
  const loader = (stream: StreamLoader['stream']): StreamLoader => ({
    stream,
    async start() {},
    createBatchAccumulator() {
      return { processRecords: async (): Promise<Batch> => ({ state: 'PERSISTED' }) };
    },
    async processBatch(batch) {
      seen.calls++;
      return seen.timerFired || seen.calls >= maxCalls ? { state: 'COMPLETE' } : batch;
    },
    async close() {},
  });
  const writer: DestinationWriter = {
    async setup() {},
    createStreamLoader: loader,
    async teardown() {},
  };
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).toConstantValue(writer);
  });
}

describe('ProcessBatch', () => {
  it('polls an unchanged batch with growing pauses instead of a busy loop', async () => {
    const seen = { calls: 0, timerFired: false };
    const maxCalls = 100_000;
    const run = runPipeline({
      writerModule: pollingWriter(maxCalls, seen),
      catalog: catalog([{ name: 'orders' }]),
      input: [
        record('orders', { id: 1 }),
        streamState('orders', { c: 1 }),
        status('orders', 'COMPLETE'),
      ].map((m) => JSON.stringify(m)),
    });
    setTimeout(() => {
      seen.timerFired = true;
    }, 200);
    const { outcome, echoedStates } = await run;
    expect(outcome.status).toBe('succeeded');
    expect(seen.timerFired).toBe(true);
    expect(seen.calls).toBeLessThan(1000);
    expect(echoedStates).toHaveLength(1);
  });
});
