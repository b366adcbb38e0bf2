import 'reflect-metadata';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Knobs } from '../../src/config/knobs.js';
import { DestinationTaskLauncher } from '../../src/pipeline/destination-task-launcher.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import {
  chunkSizesArbitrary,
  type SyncModel,
  syncArbitrary,
} from '../../src/testkit/message-arbitraries.js';
import {
  createMockDestination,
  MockBackend,
  type MockDestinationOptions,
  type MockFailureKind,
  type MockFailurePlan,
  type MockMethod,
} from '../../src/testkit/mock-destination.js';
import { runPipeline } from '../../src/testkit/run-pipeline.js';
import {
  checkInvariants,
  EchoWatcher,
  type KnownBug,
  seedRows,
} from '../../src/testkit/sync-invariants.js';

interface Behaviour {
  readonly recordsBatchState: 'STAGED' | 'PERSISTED' | 'COMPLETE';
  readonly groupBatches: boolean;
  /** False: an empty end-of-stream batch comes back STAGED and goes through processBatch. */
  readonly completeEmptyBatches: boolean;
  readonly slow: 'none' | 'ticks' | 'ms';
  readonly failure: MockFailurePlan | undefined;
}

const METHODS: readonly MockMethod[] = [
  'setup',
  'createStreamLoader',
  'start',
  'processRecords',
  'processRecords',
  'processBatch',
  'processBatch',
  'close',
  'teardown',
];
const KINDS: readonly MockFailureKind[] = ['config', 'transient', 'system', 'plain'];

const failureArbitrary: fc.Arbitrary<MockFailurePlan> = fc.record({
  method: fc.constantFrom(...METHODS),
  nth: fc.integer({ min: 1, max: 6 }),
  kind: fc.constantFrom(...KINDS),
});

function behaviourArbitrary(failures: boolean): fc.Arbitrary<Behaviour> {
  return fc.record({
    recordsBatchState: fc.constantFrom<Behaviour['recordsBatchState']>(
      'STAGED',
      'STAGED',
      'PERSISTED',
      'COMPLETE',
    ),
    groupBatches: fc.nat({ max: 4 }).map((n) => n === 0),
    completeEmptyBatches: fc.boolean(),
    slow: fc.constantFrom<Behaviour['slow']>('none', 'ticks', 'ms'),
    failure: failures
      ? failureArbitrary.map((f) => f as MockFailurePlan | undefined)
      : fc.constant(undefined),
  });
}

type KnobOverrides = Pick<
  Knobs,
  | 'batchSizeBytes'
  | 'processRecordsWorkers'
  | 'processBatchWorkers'
  | 'fileQueueDepth'
  | 'batchQueueDepth'
  | 'memoryBudgetBytes'
  | 'inputWorkers'
>;

const knobsArbitrary: fc.Arbitrary<KnobOverrides> = fc.record({
  batchSizeBytes: fc.constantFrom(1, 1, 200, 1000, 1 << 20),
  processRecordsWorkers: fc.integer({ min: 1, max: 3 }),
  processBatchWorkers: fc.integer({ min: 1, max: 3 }),
  fileQueueDepth: fc.integer({ min: 1, max: 3 }),
  batchQueueDepth: fc.integer({ min: 1, max: 3 }),
  memoryBudgetBytes: fc.integer({ min: 4096, max: 16_384 }),
  // Both ways to validate the input: on an input worker thread, or on the main thread.
  inputWorkers: fc.integer({ min: 0, max: 1 }),
});

/**
 * Known bug 'does not deadlock when a loader persists only at the end of the stream'
 * (launcher.test.ts; found here with seed 292152368): pending states keep their memory until
 * echoed, so a group-committing loader deadlocks a small budget. Until it is fixed, group
 * syncs get a budget that holds every state.
 */
const AVOID_PENDING_STATE_DEADLOCK = true;

/**
 * Invariants relaxed for known bugs, so the search finds other problems (launcher.test.ts pins
 * each: 'closes a loader whose start was in flight when the sync failed', 'releases the memory
 * of a state exactly once'). Empty it once they are fixed.
 */
const KNOWN_BUGS: readonly KnownBug[] = [];

function mockOptions(behaviour: Behaviour): MockDestinationOptions {
  return {
    completeEmptyBatches: behaviour.completeEmptyBatches,
    recordsBatchState: behaviour.recordsBatchState,
    groupBatches: behaviour.groupBatches,
    ...(behaviour.slow === 'ticks' ? { yieldTicks: 3 } : {}),
    ...(behaviour.slow === 'ms' ? { delayMs: (call) => (call.n * 7) % 3 } : {}),
    ...(behaviour.failure === undefined ? {} : { failures: [behaviour.failure] }),
  };
}

/** Runs one generated sync against the mock and returns the invariant violations. */
async function syncProblems(
  model: SyncModel,
  behaviour: Behaviour,
  knobs: KnobOverrides,
  chunkSizes: readonly number[],
  abortAtCall?: number,
): Promise<string[]> {
  const backend = new MockBackend();
  for (const stream of model.streams) backend.seed(stream.label, seedRows(stream));
  const stop = new AbortController();
  let abortedAt: number | undefined;
  const options: MockDestinationOptions = {
    ...mockOptions(behaviour),
    beforeCall: () => {
      // A stop signal arriving while the connector works on its nth call.
      if (
        abortAtCall !== undefined &&
        abortedAt === undefined &&
        backend.calls.length >= abortAtCall
      ) {
        abortedAt = backend.tick();
        stop.abort();
      }
      return undefined;
    },
  };
  const { definition } = createMockDestination(options, backend);
  let memoryBudgetBytes = knobs.memoryBudgetBytes;
  if (AVOID_PENDING_STATE_DEADLOCK && behaviour.groupBatches) {
    const stateBytes = model.states.reduce((n, s) => n + Buffer.byteLength(s.line), 0);
    memoryBudgetBytes = Math.max(memoryBudgetBytes, stateBytes + 4096);
  }
  const watcher = new EchoWatcher(model, backend);
  const registry = new TaskRegistry();
  const watchdog = new AbortController();
  let hung: string | undefined;
  stop.signal.addEventListener('abort', () => watchdog.abort(), { once: true });
  const timer = setTimeout(() => {
    // A stop signal and the watchdog share the abort: the watchdog wins the report.
    const live = registry
      .list({ internal: true })
      .filter((t) => t.state === 'running' || t.state === 'pending')
      .map((t) => `${t.kind}${t.stream ? `(${t.stream.name})` : ''}`);
    hung = `the sync hung; live tasks: ${live.join(', ')}; last calls: ${backend.calls
      .slice(-5)
      .map((c) => `${c.method}#${c.n}:${c.stream ?? ''}:${c.outcome}`)
      .join(', ')}`;
    watchdog.abort();
  }, HANG_MS);
  const run = await runPipeline({
    definition,
    registry,
    signal: watchdog.signal,
    catalog: model.catalog,
    input: model.lines,
    chunkSizes,
    // A short flush window: the age flush is what frees memory held by unwritten spill
    // buffers (see the regression test of that stall in launcher.test.ts).
    knobs: { ...knobs, memoryBudgetBytes, flushWindowMs: 20, graceTimeoutMs: 5_000 },
    onLine: watcher.onLine,
  });
  clearTimeout(timer);
  registry.close();
  if (hung !== undefined) return [hung];
  return checkInvariants({
    model,
    backend,
    run,
    watcher,
    failureKind: behaviour.failure?.kind,
    tolerate: KNOWN_BUGS,
    ...(abortedAt === undefined ? {} : { abortedAt }),
    memoryBudgetBytes,
  });
}

/** PROP_SEED and PROP_PATH replay one run of a property (as fast-check reports a failure). */
function replay(): { seed?: number; path?: string } {
  const seed = process.env.PROP_SEED;
  if (seed === undefined) return {};
  return { seed: Number(seed), ...(process.env.PROP_PATH ? { path: process.env.PROP_PATH } : {}) };
}

/** A sync of this test takes a few ms; one that runs this long is stuck. */
const HANG_MS = 3_000;

const syncs = syncArbitrary({ maxMessages: Number(process.env.PROP_MESSAGES ?? 40) });

describe(DestinationTaskLauncher, () => {
  describe('over random syncs with a well-behaved destination', () => {
    it('keeps every sync and checkpoint rule', async () => {
      await fc.assert(
        fc.asyncProperty(
          syncs,
          behaviourArbitrary(false),
          knobsArbitrary,
          chunkSizesArbitrary(),
          async (model, behaviour, knobs, chunks) => {
            const problems = await syncProblems(model, behaviour, knobs, chunks);
            expect(problems).toEqual([]);
          },
        ),
        {
          numRuns: Number(process.env.PROP_RUNS ?? 150),
          interruptAfterTimeLimit: Number(process.env.PROP_MS ?? 25_000),
        },
      );
    });
  });

  describe('over random syncs with a failing destination', () => {
    it('reports the injected failure first and keeps the rules', async () => {
      await fc.assert(
        fc.asyncProperty(
          syncs,
          behaviourArbitrary(true),
          knobsArbitrary,
          chunkSizesArbitrary(),
          async (model, behaviour, knobs, chunks) => {
            const problems = await syncProblems(model, behaviour, knobs, chunks);
            expect(problems).toEqual([]);
          },
        ),
        {
          numRuns: Number(process.env.PROP_RUNS ?? 150),
          interruptAfterTimeLimit: Number(process.env.PROP_MS ?? 25_000),
        },
      );
    });
  });

  describe('over random syncs stopped by a signal', () => {
    const stopped = fc.asyncProperty(
      syncs,
      behaviourArbitrary(false),
      knobsArbitrary,
      chunkSizesArbitrary(),
      fc.integer({ min: 1, max: 25 }),
      async (model, behaviour, knobs, chunks, abortAtCall) => {
        const problems = await syncProblems(model, behaviour, knobs, chunks, abortAtCall);
        expect(problems).toEqual([]);
      },
    );

    // Found with seed -88645679: the input consumer began to wait for memory after the abort,
    // whose listener then never fired, and the sync hung.
    it('does not hang when the input waits for memory after the abort (seed -88645679)', async () => {
      await fc.assert(stopped, { seed: -88645679, path: '6:21:0', numRuns: 1 });
    });

    it('cancels, finalizes nothing it should not and cleans up', async () => {
      await fc.assert(stopped, {
        numRuns: Number(process.env.PROP_RUNS ?? 100),
        ...replay(),
        interruptAfterTimeLimit: Number(process.env.PROP_MS ?? 20_000),
      });
    });
  });
});
