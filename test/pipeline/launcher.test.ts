import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { Knobs } from '../../src/config/knobs.js';
import { classifyError } from '../../src/errors/classify-error.js';
import { UnknownStreamError } from '../../src/errors/input-errors.js';
import {
  DestinationTaskLauncher,
  StreamIncompleteFailure,
} from '../../src/pipeline/destination-task-launcher.js';
import {
  MissingStreamStatusError,
  StreamsIncompleteError,
} from '../../src/pipeline/pipeline-errors.js';
import type { TaskStatus } from '../../src/runtime/task.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import {
  createMockDestination,
  MockBackend,
  MockConfigError,
  type MockDestinationOptions,
  type MockRow,
  MockTransientError,
} from '../../src/testkit/mock-destination.js';
import { type PipelineRun, runPipeline } from '../../src/testkit/run-pipeline.js';
import { catalog, globalState, record, status, streamState } from '../helpers/messages.js';

const OLD_ROW: MockRow = {
  data: { id: 'old' },
  emittedAt: 1_600_000_000_000,
  meta: undefined,
  generationId: 1,
};

interface Sync {
  readonly run: PipelineRun;
  readonly backend: MockBackend;
  /** Echoed states' `stream_state` / `shared_state`, in order. */
  readonly echoed: unknown[];
}

interface SyncOptions {
  readonly mock?: MockDestinationOptions;
  readonly streams?: Parameters<typeof catalog>[0];
  readonly knobs?: Partial<Knobs>;
  readonly onLine?: (line: Buffer) => void;
  readonly signal?: AbortSignal;
  readonly backend?: MockBackend;
  readonly registry?: TaskRegistry;
  readonly chunkSizes?: readonly number[];
}

async function sync(messages: readonly unknown[], options: SyncOptions = {}): Promise<Sync> {
  const backend = options.backend ?? new MockBackend();
  const streams = options.streams ?? [{ name: 'users' }];
  for (const s of streams)
    backend.seed(s.namespace ? `${s.namespace}.${s.name}` : s.name, [OLD_ROW]);
  const { definition } = createMockDestination(options.mock ?? {}, backend);
  const run = await runPipeline({
    definition,
    catalog: catalog(streams),
    input: messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))),
    knobs: { batchSizeBytes: 1, ...options.knobs },
    ...(options.onLine === undefined ? {} : { onLine: options.onLine }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.chunkSizes === undefined ? {} : { chunkSizes: options.chunkSizes }),
  });
  const echoed = run.echoedStates.map((m) => {
    const state = m.state as {
      stream?: { stream_state: unknown };
      global?: { shared_state: unknown };
    };
    return state.stream?.stream_state ?? state.global?.shared_state;
  });
  return { run, backend, echoed };
}

/** Messages as one chunk of input: a JSON line each. */
function lines(messages: readonly unknown[]): Buffer {
  return Buffer.from(messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
}

function expectCleanEnd(run: PipelineRun): void {
  const live = [
    ...run.registry.list({ internal: true }),
    ...run.registry.recursive(run.outcome.rootId),
  ].filter((t) => t.state === 'created' || t.state === 'pending' || t.state === 'running');
  expect(live).toEqual([]);
  expect(existsSync(run.spillDir)).toBe(false);
}

function finalIds(backend: MockBackend, stream: string): string[] {
  return backend.finalTable(stream).map((r) => String(r.data.id));
}

describe(DestinationTaskLauncher, () => {
  describe('when every stream is COMPLETE', () => {
    it('echoes every state once, finalizes every stream and succeeds', async () => {
      const { run, backend, echoed } = await sync([
        record('users', { id: 1 }),
        streamState('users', { n: 1 }, { id: 7 }),
        record('users', { id: 2 }),
        status('users', 'COMPLETE'),
        streamState('users', { n: 2 }),
      ]);
      expect(run.outcome).toMatchObject({ status: 'succeeded', statesEchoed: 2, recordsRead: 2 });
      expect(run.outcome.error).toBeUndefined();
      expect(echoed).toEqual([{ n: 1 }, { n: 2 }]);
      expect(run.echoedStates[0]).toMatchObject({
        id: 7,
        state: { destinationStats: { recordCount: 1 } },
      });
      expect(finalIds(backend, 'users')).toEqual(['old', '1', '2']);
      expect(backend.violations).toEqual([]);
      expectCleanEnd(run);
    });
  });

  describe('when several streams close', () => {
    // Regression, fixed: closeStream resolved its stream's `finished` from inside its own task,
    // so the stream task returned first and the runtime cancelled its still-running close-stream
    // (and sometimes a process-records) child with "parent finished".
    it('ends every task of every stream completed, none cancelled', async () => {
      const registry = new TaskRegistry();
      const ended: TaskStatus[] = [];
      registry.subscribe((event) => {
        if (event.type === 'state' && (event.to === 'completed' || event.to === 'cancelled'))
          ended.push(event.status);
      });
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      const messages: unknown[] = [];
      for (const name of names) {
        messages.push(record(name, { id: 1 }), record(name, { id: 2 }));
        messages.push(streamState(name, { n: 1 }), status(name, 'COMPLETE'));
      }
      const { run } = await sync(messages, {
        registry,
        streams: names.map((name) => ({ name })),
      });
      registry.close();
      expect(run.outcome.status).toBe('succeeded');
      expectCleanEnd(run);
      const streamTasks = ended.filter((t) => t.kind === 'stream');
      expect(streamTasks.map((t) => t.state)).toEqual(names.map(() => 'completed'));
      const work = ended.filter((t) => t.parentId !== null && t.kind !== 'heartbeat');
      const byKind = (kind: string) => work.filter((t) => t.kind === kind);
      expect(byKind('close-stream')).toHaveLength(names.length);
      expect(byKind('process-records').length).toBeGreaterThanOrEqual(2 * names.length);
      const cancelled = work
        .filter((t) => t.state === 'cancelled' && t.terminalCondition === 'self-terminating')
        .map((t) => `${t.kind} ${t.stream?.name}: ${t.cancellation?.reason}`);
      expect(cancelled).toEqual([]);
      // The stream tasks' own counts agree: no child of a stream ended cancelled.
      expect(streamTasks.map((t) => t.childCounts.cancelled)).toEqual(names.map(() => 0));
    });
  });

  /**
   * A sync of one stream whose source writes `records`, then waits (up to 5 s) for the connector
   * to get records before it sends their state and the COMPLETE status. `before`: whether the
   * connector got them before the wait ended.
   */
  async function sourceWaitingForRecords(
    records: readonly unknown[],
    knobs: Partial<Knobs>,
    seed: readonly (typeof OLD_ROW)[] = [],
  ) {
    const backend = new MockBackend();
    if (seed.length > 0) backend.seed('users', [...seed]);
    let gotRecords!: () => void;
    const processed = new Promise<void>((resolve) => {
      gotRecords = resolve;
    });
    const { definition } = createMockDestination(
      {
        beforeCall: (call) => {
          if (call.method === 'processRecords') gotRecords();
          return undefined;
        },
      },
      backend,
    );
    let before: boolean | undefined;
    async function* input(): AsyncGenerator<Buffer> {
      yield lines(records);
      before = await Promise.race([
        processed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
      ]);
      yield lines([
        streamState('users', { cursor: records.length - 1 }),
        status('users', 'COMPLETE'),
      ]);
    }
    const run = await runPipeline({
      definition,
      catalog: catalog([{ name: 'users' }]),
      input: input(),
      knobs,
    });
    return { run, backend, before };
  }

  describe('when the input waits with records read and their state not come yet', () => {
    // With many streams no batch reaches its size and states come late: the workers would idle
    // while the input is read. An idle thread hands the largest open batch over.
    it('gives a waiting worker the open batch: the connector gets the records before their state', async () => {
      // 800 records of ~100 bytes: the input worker sends a stream's records on at 64 KiB; above
      // the idle flush's 16 KiB, below a 16th of the batch size (which a waiting worker takes).
      const records = Array.from({ length: 800 }, (_, i) =>
        record('users', { id: i, pad: 'x'.repeat(60) }),
      );
      const { run, backend, before } = await sourceWaitingForRecords(
        records,
        { inputWorkers: 1, batchSizeBytes: 16 << 20 },
        [OLD_ROW],
      );
      expect(run.outcome.error).toBeUndefined();
      expect(before).toBe(true);
      expect(finalIds(backend, 'users')).toEqual(['old', ...records.map((_, i) => String(i))]);
      expect(run.echoedStates).toHaveLength(1);
      expectCleanEnd(run);
    });
  });

  describe('when the input pauses with a few records held', () => {
    // A stream's records are sent on at 64 KiB, or all once they hold on to the allowance of
    // input, or before a message that needs them. A source that writes a few records and then
    // waits (here: for them to reach the connector) would leave them held (in the input worker,
    // or pending on the main thread): they go once the oldest waited min(1 s, flush window).
    it.each([1, 0])(
      'the connector gets them within the flush window, before more input comes (input_workers %i)',
      async (inputWorkers) => {
        const records = Array.from({ length: 10 }, (_, i) => record('users', { id: i }));
        const { run, backend, before } = await sourceWaitingForRecords(records, {
          inputWorkers,
          flushWindowMs: 200,
        });
        expect(run.outcome.error).toBeUndefined();
        expect(before).toBe(true);
        expect(finalIds(backend, 'users')).toEqual(records.map((_, i) => String(i)));
        expect(run.echoedStates).toHaveLength(1);
        expectCleanEnd(run);
      },
    );
  });

  describe('when states come while batches wait for a worker', () => {
    // A state's flush of a small batch waits while another batch waits for a worker (it would
    // only queue behind it): the states that come meanwhile join its batch, and it goes once the
    // queue runs dry, while the input is still open (not at the flush window, not at the end).
    it.each([1, 0])(
      'joins their records into one batch and echoes every state before the input ends (input_workers %i)',
      async (inputWorkers) => {
        const STATES = 8;
        const backend = new MockBackend();
        let release!: () => void;
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const { definition } = createMockDestination(
          {
            // The first two batches keep both ProcessRecords workers busy until released.
            beforeCall: (call) =>
              call.method === 'processRecords' && call.n <= 2 ? released : undefined,
          },
          backend,
        );
        let echoes = 0;
        let allEchoed!: () => void;
        const echoedAll = new Promise<void>((resolve) => {
          allEchoed = resolve;
        });
        let before: boolean | undefined;
        async function* input(): AsyncGenerator<Buffer> {
          for (let i = 0; i < STATES; i++) {
            yield lines([record('users', { id: i }), streamState('users', { n: i })]);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          release();
          before = await Promise.race([
            echoedAll.then(() => true),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
          ]);
          yield lines([status('users', 'COMPLETE')]);
        }
        const run = await runPipeline({
          definition,
          catalog: catalog([{ name: 'users' }]),
          input: input(),
          knobs: { inputWorkers, batchSizeBytes: 1 << 20, flushWindowMs: 60_000 },
          onLine: (line) => {
            if (line.includes('"STATE"') && ++echoes === STATES) allEchoed();
          },
        });
        expect(run.outcome.error).toBeUndefined();
        expect(before).toBe(true);
        expect(
          run.echoedStates.map(
            (m) => (m.state as { stream: { stream_state: unknown } }).stream.stream_state,
          ),
        ).toEqual(Array.from({ length: STATES }, (_, n) => ({ n })));
        expect(finalIds(backend, 'users')).toEqual(
          Array.from({ length: STATES }, (_, i) => String(i)),
        );
        // Two batches held, one waiting, the rest joined into one, and the end: five; a batch
        // per state would make nine.
        const records = backend.callsOf('processRecords').length;
        expect(records).toBeLessThan(STATES);
        expect(run.launcher.streamSummaries()[0]?.batches).toBe(records);
        expectCleanEnd(run);
      },
    );
  });

  describe('when states and a terminal status are read together', () => {
    // The flushes states ask for wait for the end of the packet (or chunk) they came in: the
    // states read together end one batch of their stream, and a terminal status read with them
    // flushes the same records (a source ends a stream with its last state), so a stream's
    // last records and its end are one batch, not a batch and an empty one.
    const messages = [
      record('users', { id: 1 }),
      streamState('users', { n: 1 }),
      record('users', { id: 2 }),
      streamState('users', { n: 2 }),
      record('users', { id: 3 }),
      streamState('users', { n: 3 }),
      status('users', 'COMPLETE'),
    ];
    const lines = messages.map((m) => `${JSON.stringify(m)}\n`);
    /** Bytes of the first `n` lines. */
    const upTo = (n: number): number => Buffer.byteLength(lines.slice(0, n).join(''));

    it.each([
      { inputWorkers: 1, input: 'one chunk', chunkSizes: undefined, batches: 1 },
      { inputWorkers: 0, input: 'one chunk', chunkSizes: undefined, batches: 1 },
      // The first two states in one chunk, the last state and the status in the next.
      { inputWorkers: 1, input: 'two chunks', chunkSizes: [upTo(4), 1 << 20], batches: 2 },
      { inputWorkers: 0, input: 'two chunks', chunkSizes: [upTo(4), 1 << 20], batches: 2 },
      // The status alone in the last chunk: the last state ends a batch, the end another.
      { inputWorkers: 1, input: 'the status apart', chunkSizes: [upTo(6), 1 << 20], batches: 2 },
      { inputWorkers: 0, input: 'the status apart', chunkSizes: [upTo(6), 1 << 20], batches: 2 },
    ])(
      'input_workers $inputWorkers, $input: echoes every state in order, loads every record, in $batches batch(es)',
      async ({ inputWorkers, chunkSizes, batches }) => {
        const { run, backend, echoed } = await sync(messages, {
          knobs: { inputWorkers, batchSizeBytes: 1 << 20 },
          ...(chunkSizes === undefined ? {} : { chunkSizes }),
        });
        expect(run.outcome.error).toBeUndefined();
        expect(run.outcome.status).toBe('succeeded');
        expect(echoed).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
        expect(finalIds(backend, 'users')).toEqual(['old', '1', '2', '3']);
        expect(run.launcher.streamSummaries()[0]).toMatchObject({
          recordsPersisted: 3,
          batches,
        });
        expectCleanEnd(run);
      },
    );
  });

  describe('with an input worker and a memory budget smaller than a run', () => {
    // Found by pipeline.property.test.ts (seed -335530712): the input worker groups a stream's
    // records into runs of up to 64 KiB; a run must be reserved in pieces that fit the budget.
    it('routes the run in pieces and loads every record', async () => {
      const records = Array.from({ length: 40 }, (_, i) =>
        record('users', { id: i, pad: 'x'.repeat(250) }),
      );
      const { run, backend } = await sync([...records, status('users', 'COMPLETE')], {
        knobs: { inputWorkers: 1, memoryBudgetBytes: 4099, batchSizeBytes: 1000 },
      });
      expect(run.outcome.error).toBeUndefined();
      expect(run.outcome).toMatchObject({ status: 'succeeded', recordsRead: 40 });
      expect(finalIds(backend, 'users')).toEqual(['old', ...records.map((_, i) => String(i))]);
      expectCleanEnd(run);
    });
  });

  describe('when setup fails', () => {
    it('opens no stream, runs no processRecords and fails with the setup error', async () => {
      const { run, backend } = await sync(
        [record('users', { id: 1 }), streamState('users', { n: 1 }), status('users', 'COMPLETE')],
        { mock: { failures: [{ method: 'setup', nth: 1, kind: 'config' }] } },
      );
      expect(run.outcome.status).toBe('failed');
      expect(run.outcome.error).toBeInstanceOf(MockConfigError);
      expect(classifyError(run.outcome.error).failureType).toBe('config_error');
      expect(backend.callsOf('createStreamLoader')).toEqual([]);
      expect(backend.callsOf('processRecords')).toEqual([]);
      expect(backend.callsOf('teardown')).toHaveLength(1);
      expect(backend.callsOf('teardown')[0]?.failure).toBe(run.outcome.error);
      expect(run.echoedStates).toEqual([]);
      expect(finalIds(backend, 'users')).toEqual(['old']);
      expectCleanEnd(run);
    });
  });

  describe('when processBatch throws a ConfigError', () => {
    it('reports config_error first and attaches the later close failure', async () => {
      const { run, backend } = await sync(
        [record('users', { id: 1 }), streamState('users', { n: 1 }), status('users', 'COMPLETE')],
        {
          mock: {
            failures: [
              { method: 'processBatch', nth: 1, kind: 'config' },
              { method: 'close', nth: 1, kind: 'transient' },
            ],
          },
        },
      );
      expect(run.outcome.status).toBe('failed');
      expect(run.outcome.error).toBeInstanceOf(MockConfigError);
      expect(classifyError(run.outcome.error).failureType).toBe('config_error');
      expect(run.outcome.suppressed.some((e) => e instanceof MockTransientError)).toBe(true);
      // The records never got persisted: their state must not be echoed.
      expect(run.echoedStates).toEqual([]);
      expect(backend.callsOf('close')[0]?.failure).toBe(run.outcome.error);
      expect(finalIds(backend, 'users')).toEqual(['old']);
      expectCleanEnd(run);
    });
  });

  describe('when a stream ends INCOMPLETE', () => {
    it('echoes its states, finalizes nothing and fails with a transient error', async () => {
      const { run, backend, echoed } = await sync(
        [
          record('users', { id: 1 }),
          streamState('users', { n: 1 }),
          record('users', { id: 2 }),
          status('users', 'INCOMPLETE'),
          streamState('users', { n: 2 }),
        ],
        { streams: [{ name: 'users', mode: 'overwrite' }] },
      );
      expect(run.outcome.status).toBe('failed');
      expect(run.outcome.error).toBeInstanceOf(StreamsIncompleteError);
      expect(classifyError(run.outcome.error).failureType).toBe('transient_error');
      expect(echoed).toEqual([{ n: 1 }, { n: 2 }]);
      // Truncate: the old generation stays readable.
      expect(finalIds(backend, 'users')).toEqual(['old']);
      expect(backend.persistedRows('users').map((r) => r.data.id)).toEqual([1, 2]);
      expect(backend.callsOf('close')[0]?.failure).toBeInstanceOf(StreamIncompleteFailure);
      expectCleanEnd(run);
    });
  });

  describe('when a stream gets no terminal status', () => {
    it('echoes its states, finalizes nothing and fails with MissingStreamStatusError', async () => {
      const { run, backend, echoed } = await sync(
        [
          record('users', { id: 1 }),
          record('orders', { id: 10 }),
          streamState('users', { n: 1 }),
          status('orders', 'COMPLETE'),
        ],
        { streams: [{ name: 'users' }, { name: 'orders' }] },
      );
      expect(run.outcome.status).toBe('failed');
      expect(run.outcome.error).toBeInstanceOf(MissingStreamStatusError);
      expect(classifyError(run.outcome.error).failureType).toBe('transient_error');
      expect(echoed).toEqual([{ n: 1 }]);
      expect(finalIds(backend, 'users')).toEqual(['old']);
      expect(finalIds(backend, 'orders')).toEqual(['old', '10']);
      expectCleanEnd(run);
    });
  });

  describe('with GLOBAL states', () => {
    it('holds a state until every stream persisted the records it covers', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const echoes: string[] = [];
      const backend = new MockBackend();
      const syncing = sync(
        [
          record('users', { id: 1 }),
          record('orders', { id: 10 }),
          globalState({ g: 1 }, ['users', 'orders']),
          status('users', 'COMPLETE'),
          status('orders', 'COMPLETE'),
        ],
        {
          backend,
          streams: [{ name: 'users' }, { name: 'orders' }],
          // users holds two batches; a third worker keeps orders moving (see below).
          knobs: { processBatchWorkers: 3 },
          mock: {
            beforeCall: (call) =>
              call.method === 'processBatch' && call.stream === 'users' ? held : undefined,
          },
          onLine: (line) => echoes.push(line.toString()),
        },
      );
      // orders is persisted (and complete), users is held in processBatch.
      await vi.waitFor(
        () => {
          expect(backend.persistedEver('orders')).toHaveLength(1);
          expect(backend.callsOf('processBatch', 'users').length).toBeGreaterThan(0);
        },
        { timeout: 2_000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(backend.persistedEver('users')).toEqual([]);
      expect(echoes).toEqual([]);
      release();
      const { run, echoed } = await syncing;
      expect(run.outcome.status).toBe('succeeded');
      expect(echoed).toEqual([{ g: 1 }]);
      expect(run.echoedStates[0]).toMatchObject({
        state: { destinationStats: { recordCount: 2 } },
      });
    });
  });

  describe('with STREAM states', () => {
    /** `usersRecords` records of users (one batch each) come before orders' record. */
    async function heldUsers(processBatchWorkers: number, usersRecords = 1): Promise<void> {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const echoes: string[] = [];
      const syncing = sync(
        [
          ...Array.from({ length: usersRecords }, (_, i) => record('users', { id: i + 1 })),
          streamState('users', { u: 1 }),
          record('orders', { id: 10 }),
          streamState('orders', { o: 1 }),
          status('users', 'COMPLETE'),
          status('orders', 'COMPLETE'),
        ],
        {
          streams: [{ name: 'users' }, { name: 'orders' }],
          knobs: { processBatchWorkers },
          mock: {
            beforeCall: (call) =>
              call.method === 'processBatch' && call.stream === 'users' ? held : undefined,
          },
          onLine: (line) => echoes.push(line.toString()),
        },
      );
      try {
        await vi.waitFor(() => expect(echoes).toHaveLength(1), { timeout: 1_000 });
        expect(echoes[0]).toContain('"o":1');
      } finally {
        release();
      }
      const { run, echoed } = await syncing;
      expect(run.outcome.status).toBe('succeeded');
      expect(echoed).toEqual([{ o: 1 }, { u: 1 }]);
    }

    it("echoes one stream's state while another stream is held", async () => {
      // users holds two batches (its record and its empty end-of-stream batch).
      await heldUsers(3);
    });

    // Head-of-line blocking (design limitation, reported to the lead): the ProcessBatch pool is
    // shared by all streams with no per-stream cap, so a slow stream with as many batches in
    // processBatch as there are workers stalls every other stream, and their STREAM states wait
    // for it — what CheckpointManager's per-stream release was meant to avoid.
    it.fails("echoes one stream's state while another stream holds every batch worker", async () => {
      // users' two record batches take both workers before orders' batch arrives.
      await heldUsers(2, 2);
    });
  });

  describe('when a record names a stream not in the catalog', () => {
    it('fails with config_error and finalizes nothing', async () => {
      const { run, backend } = await sync([
        record('users', { id: 1 }),
        record('ghosts', { id: 2 }),
        status('users', 'COMPLETE'),
      ]);
      expect(run.outcome.status).toBe('failed');
      expect(run.outcome.error).toBeInstanceOf(UnknownStreamError);
      expect(classifyError(run.outcome.error).failureType).toBe('config_error');
      expect(finalIds(backend, 'users')).toEqual(['old']);
      expectCleanEnd(run);
    });
  });

  describe('when a stream ends with an empty batch the loader stages', () => {
    // Found by pipeline.property.test.ts (seed 1537583133): the stream was closed as soon as
    // its records were COMPLETE while its last, empty, STAGED batch still went to processBatch,
    // which then failed with LoaderLifecycleError ("processBatch called while the loader is
    // closed"). Fixed by waiting for the end-of-stream batch (endBatchDone).
    it('closes the loader only after that batch is done', async () => {
      for (const processBatchWorkers of [1, 2, 3]) {
        const { run, backend } = await sync(
          [
            record('users', { id: 1 }),
            streamState('users', { n: 1 }),
            status('users', 'COMPLETE'),
            status('orders', 'COMPLETE'),
          ],
          { streams: [{ name: 'users' }, { name: 'orders' }], knobs: { processBatchWorkers } },
        );
        expect(run.outcome.error).toBeUndefined();
        expect(backend.violations).toEqual([]);
      }
    });
  });

  describe('when the sync fails while a loader is starting', () => {
    // Regression, fixed (found by pipeline.property.test.ts, seed 945899321, path "53:8:6:10:0:1:4:1:1:0:1:
    // 1:1:0:0:2:0:0:0:0:0:0:0:0:0:0:0:0:0:0:5:0:0:2:2:2:2:2:3:3:2:2:3:3:2:2:2:2:2"; shrunk:
    // three empty COMPLETE streams, group batches, processRecords #1 throws while another
    // stream's start() is still running): runFailurePath calls `loaders.fail(key)` for every
    // stream before the shutdown waits for the open-stream tasks, so when the in-flight start()
    // then succeeds, `register` is a no-op, `started(key)` stays undefined and fail-stream never
    // closes that loader: a started loader is leaked (its resources are never released).
    it('closes a loader whose start was in flight when the sync failed', async () => {
      const backend = new MockBackend();
      const failed = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (backend.injected.length > 0) {
            clearInterval(check);
            setTimeout(resolve, 10);
          }
        }, 1);
      });
      const { run } = await sync(
        [record('orders', { id: 1 }), status('orders', 'COMPLETE'), status('users', 'COMPLETE')],
        {
          backend,
          streams: [{ name: 'users' }, { name: 'orders' }],
          mock: {
            failures: [{ method: 'processRecords', nth: 1, kind: 'transient' }],
            beforeCall: (call) =>
              call.method === 'start' && call.stream === 'users' ? failed : undefined,
          },
        },
      );
      expect(run.outcome.error).toBeInstanceOf(MockTransientError);
      expect(backend.callsOf('start', 'users')[0]?.outcome).toBe('ok');
      expect(backend.callsOf('close', 'users')).toHaveLength(1);
    });
  });

  describe('when unwritten spill buffers hold the whole memory budget', () => {
    // Regression (fixed: an idle spill task now writes its buffer). SpillToDisk wrote a stream's buffered records (whose memory stays reserved until
    // written) only once 256 KiB are pending or the file is flushed (batch size, checkpoint,
    // age, end of stream). With a budget below 256 KiB x streams and no state or status coming,
    // the InputConsumer waits for memory that only the age flush (flush_window_ms, 60 s by
    // default) frees: the sync stalls a whole flush window, again and again. Measured: 30
    // records of 200 bytes, budget 2 KiB, window 5 s -> 15 s. Here the window is an hour.
    it('keeps reading without waiting for the flush window', async () => {
      const messages: unknown[] = [];
      for (let i = 0; i < 30; i++) messages.push(record('users', { id: i, pad: 'x'.repeat(150) }));
      messages.push(status('users', 'COMPLETE'));
      const { run } = await sync(messages, {
        knobs: { memoryBudgetBytes: 2048, batchSizeBytes: 1 << 20, flushWindowMs: 3_600_000 },
        signal: AbortSignal.timeout(2_000),
      });
      expect(run.outcome.status).toBe('succeeded');
    });
  });

  describe('when pending states hold the whole memory budget', () => {
    // Regression (a hang before; now detected and failed with config_error): a state's memory stays reserved until it is echoed, and a state is echoed only once
    // its records are persisted. A loader that persists only when a stream ends (batches of one
    // group, committed by the end-of-stream batch — a legal Batch protocol) never persists
    // before the COMPLETE status is read, but reading it needs memory the pending states hold:
    // the sync deadlocks for good (no timeout, the forced checkpoint flush cannot help). Seen
    // with 40 STREAM states of ~260 bytes and a 4 KiB budget.
    it('fails with a config_error instead of hanging when a loader persists only at the end of the stream', async () => {
      const messages: unknown[] = [];
      for (let i = 0; i < 40; i++) {
        messages.push(record('users', { id: i }));
        messages.push(streamState('users', { n: i, pad: 'y'.repeat(200) }));
      }
      messages.push(status('users', 'COMPLETE'));
      const { run } = await sync(messages, {
        mock: { groupBatches: true },
        knobs: { memoryBudgetBytes: 4096, flushWindowMs: 20, maxCheckpointWindowMs: 50 },
        signal: AbortSignal.timeout(20_000),
      });
      expect(run.outcome.status).toBe('failed');
      expect(classifyError(run.outcome.error)).toMatchObject({ failureType: 'config_error' });
      expect((run.outcome.error as Error).message).toMatch(
        /memory budget of 4096 bytes is held by \d+ states/,
      );
    });
  });

  describe('when the sync fails while a state is being pinned', () => {
    // Regression, fixed (found by pipeline.property.test.ts, seed 2030991791, path "350:17:1:2:2:6:6:6:7:1:2:
    // 2:3:2:3:2:2:3:5:2:3:2:2:3:4:3:2:2:2:3:3:3:2:2:2:2:2:3:3:3:3:3:3:3:3"; shrunk to this
    // input, setup failing after 3 microtask yields): InputConsumer.route('state') hands the
    // line's reservation to the checkpoint (handleCheckpoint), then awaits `events.send(flush)`;
    // when the sync is cancelled meanwhile, send rejects, `keep` stays false and handle()'s
    // finally releases the bytes — which the pending checkpoint releases again when it is
    // echoed. The second release throws InvalidMemoryRequestError (a system_error in
    // `suppressed`) inside flushCheckpoints, after the echo was written: statesEchoed misses it
    // and the other states released by that flush are dropped without an echo. When other
    // bytes are held the double release passes silently and the budget under-counts.
    it('releases the memory of a state exactly once', async () => {
      const { run } = await sync(
        [
          status('orders', 'COMPLETE'),
          status('orders', 'COMPLETE', 'sales'),
          status('users', 'COMPLETE'),
          streamState('items', { seq: 0 }, {}, 'sales'),
          status('items', 'INCOMPLETE', 'sales'),
        ],
        {
          streams: [
            { name: 'users' },
            { name: 'items', namespace: 'sales', mode: 'overwrite' },
            { name: 'orders', namespace: 'sales' },
            { name: 'orders' },
          ],
          mock: {
            groupBatches: true,
            yieldTicks: 3,
            failures: [{ method: 'setup', nth: 1, kind: 'config' }],
          },
          knobs: { memoryBudgetBytes: 4096, processRecordsWorkers: 1, processBatchWorkers: 1 },
        },
      );
      expect(run.outcome.error).toBeInstanceOf(MockConfigError);
      expect(run.outcome.suppressed.map((e) => (e as Error).name)).toEqual([]);
      expect(run.outcome.statesEchoed).toBe(run.echoedStates.length);
    });
  });
});
