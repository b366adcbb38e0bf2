/**
 * SpillToDisk (spill-to-disk.ts): its choice of path (a batch stays in memory while the workers
 * keep up; when batches wait for a worker, small ones still wait in memory up to one batch size
 * in all, and the rest take a spill file), and when a batch is flushed (idle flushes, states'
 * flushes that wait while batches wait for a worker).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRun } from '../../src/pipeline/line-run.js';
import {
  idleLoadGauge,
  type PipelineContext,
  type StreamPlumbing,
} from '../../src/pipeline/pipeline-context.js';
import type { FlushReason, SpilledBatch, StreamEvent } from '../../src/pipeline/pipeline-items.js';
import { SpillDirectory } from '../../src/pipeline/spill-directory.js';
import {
  askForIdleFlush,
  askForWaitingCheckpoint,
  idleFlushMinBytes,
  SpillToDisk,
} from '../../src/pipeline/spill-to-disk.js';
import { Channel } from '../../src/runtime/channel.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import type { TaskContext } from '../../src/runtime/task-context.js';

const LINE = Buffer.from(
  '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"v":"x"}}}',
);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** One stream's SpillToDisk with nobody taking batches: what it hands over piles up. */
function setUp(batchSizeBytes: number, capacity = 1024 * 1024 * 1024) {
  const dir = mkdtempSync(join(tmpdir(), 'destkit-spill-test-'));
  dirs.push(dir);
  const files = new Channel<SpilledBatch>({ name: 'files', capacity: 1000 });
  const events = new Channel<StreamEvent>({ name: 'events', capacity: 1000 });
  const memory = new MemoryBudget({ capacity });
  const ctx = {
    knobs: { batchSizeBytes, flushWindowMs: 60_000 },
    memory,
    disk: new MemoryBudget({ capacity: 1024 * 1024 * 1024, name: 'disk' }),
    files,
    spill: new SpillDirectory(dir),
    load: idleLoadGauge(),
  } as unknown as PipelineContext;
  const plumbing = {
    number: 1,
    events,
    stream: { label: 's' },
    openBatchBytes: 0,
    idleFlushAsked: false,
    checkpointWaiting: false,
  } as unknown as StreamPlumbing;
  (ctx as { streams: PipelineContext['streams'] }).streams = new Map([['s', plumbing]]);
  const spill = new SpillToDisk(ctx, plumbing, files.addProducer());
  const producer = events.addProducer();
  const task = {
    signal: new AbortController().signal,
    onCleanup: () => undefined,
    addStats: () => undefined,
  } as unknown as TaskContext;
  const running = spill.run(task);
  let next = 0;
  return {
    ctx,
    files,
    plumbing,
    /** Sends `count` records, reserved as the input reserves them. */
    async records(count: number): Promise<void> {
      const { run } = buildRun(Array<Buffer>(count).fill(LINE), count * LINE.length);
      memory.tryReserveSync(count * LINE.length);
      await producer.send({ kind: 'records', first: next, run, bytes: count * LINE.length });
      next += count;
    },
    /** Sends `count` records, then asks for a flush (by default as a state does). */
    async batch(count: number, reason: FlushReason = 'checkpoint'): Promise<void> {
      await this.records(count);
      await producer.send({ kind: 'flush', reason });
    },
    async end(): Promise<SpilledBatch[]> {
      await producer.send({ kind: 'end' });
      producer.close();
      await running;
      const batches: SpilledBatch[] = [];
      for (let item = files.tryReceive(); typeof item === 'object'; item = files.tryReceive())
        batches.push(item as SpilledBatch);
      return batches;
    },
  };
}

describe('SpillToDisk path choice', () => {
  it('keeps small batches in memory while they wait, up to one batch size in all', async () => {
    const bytes = 10 * LINE.length;
    // Room for 4.5 batches of 10 records in one batch size.
    const sync = setUp(Math.floor(4.5 * bytes));
    for (let i = 0; i < 8; i++) await sync.batch(10);
    const batches = (await sync.end()).filter((b) => b.range[1] > b.range[0]);
    expect(batches.map((b) => (b.runs !== undefined ? 'memory' : 'file'))).toEqual([
      // The first finds nobody waiting for it but nothing buffered either.
      'memory',
      'memory',
      'memory',
      'memory',
      'file',
      'file',
      'file',
      'file',
    ]);
    // The memory batches still wait, and are counted as waiting.
    expect(sync.ctx.load.memoryBatchBytesWaiting).toBe(4 * bytes);
    // The file batches hold no memory: their lines were written out.
    expect(batches.filter((b) => b.path !== undefined).every((b) => !b.memoryReserved)).toBe(true);
  });

  it("does not count the input worker's standing reservation as memory batches hold", async () => {
    // A 64 MiB budget gives the memory path a quarter: a batch size on top of what is held must
    // fit in 16 MiB. The input worker holds 8 MiB of it for as long as it runs.
    const MiB = 1024 * 1024;
    const paths = async (inputWorkerBytes: number): Promise<string[]> => {
      const sync = setUp(8 * MiB, 64 * MiB);
      sync.ctx.memory.tryReserveSync(8 * MiB + 1);
      sync.ctx.load.inputWorkerBytes = inputWorkerBytes;
      await sync.batch(10);
      const batches = (await sync.end()).filter((b) => b.range[1] > b.range[0]);
      sync.ctx.memory.releaseBytes(8 * MiB + 1);
      return batches.map((b) => (b.runs !== undefined ? 'memory' : 'file'));
    };
    expect(await paths(8 * MiB + 1)).toEqual(['memory']);
    // The same bytes held by records: the batch is spilled.
    expect(await paths(0)).toEqual(['file']);
  });

  it('keeps small batches in memory while they wait, up to four batch sizes in all', async () => {
    const bytes = 10 * LINE.length;
    // Batches of 10 records are a 20th of the batch size: small (a 16th or less). Forced
    // flushes cut them (a state's flush of a batch this small waits while batches wait).
    const sync = setUp(20 * bytes);
    for (let i = 0; i < 90; i++) await sync.batch(10, 'forced');
    const batches = (await sync.end()).filter((b) => b.range[1] > b.range[0]);
    const paths = batches.map((b) => (b.runs !== undefined ? 'memory' : 'file'));
    // 80 of them make four batch sizes; the 81st would pass that.
    expect(paths.slice(0, 80).every((p) => p === 'memory')).toBe(true);
    expect(paths.slice(80).every((p) => p === 'file')).toBe(true);
    expect(sync.ctx.load.memoryBatchBytesWaiting).toBe(80 * bytes);
  });

  it('flushes a batch of a 16th of the batch size or more while a worker waits for one', async () => {
    const bytes = 10 * LINE.length;
    for (const waiting of [true, false]) {
      const sync = setUp(16 * bytes);
      const taken: SpilledBatch[] = [];
      const signal = new AbortController();
      // A worker waiting for a batch: it takes one and waits again at once.
      const taking = waiting
        ? (async () => {
            for (;;) {
              const item = await sync.files.receive(signal.signal).catch(() => undefined);
              if (typeof item !== 'object') return;
              taken.push(item as SpilledBatch);
            }
          })()
        : Promise.resolve();
      for (let i = 0; i < 8; i++) await sync.records(10);
      const rest = await sync.end();
      await taking;
      const sizes = [...taken, ...rest]
        .filter((b) => b.range[1] > b.range[0])
        .map((b) => b.range[1] - b.range[0]);
      // No state, no full batch: only a waiting worker makes the batch go early.
      expect(sizes).toEqual(waiting ? [10, 10, 10, 10, 10, 10, 10, 10] : [80]);
    }
  });

  it('takes the memory path while a worker waits for batches', async () => {
    const sync = setUp(100 * LINE.length);
    const taken: SpilledBatch[] = [];
    const taking = (async () => {
      for (;;) {
        const item = await sync.files.receive(new AbortController().signal);
        if (typeof item !== 'object') return;
        taken.push(item as SpilledBatch);
        sync.ctx.load.memoryBatchBytesWaiting -=
          (item as SpilledBatch).runs !== undefined
            ? ((item as SpilledBatch).memoryReserved ?? 0)
            : 0;
      }
    })();
    for (let i = 0; i < 20; i++) await sync.batch(50);
    await sync.end();
    await taking;
    expect(taken.filter((b) => b.range[1] > b.range[0]).every((b) => b.runs !== undefined)).toBe(
      true,
    );
    expect(sync.ctx.load.memoryBatchBytesWaiting).toBe(0);
  });
});

describe('SpillToDisk open batch age', () => {
  it("shows when the open batch opened on the stream's plumbing, and nothing while none is open", async () => {
    const sync = setUp(1 << 20);
    expect(sync.plumbing.openBatchAt).toBeUndefined();
    const before = Date.now();
    await sync.records(3);
    await new Promise((resolve) => setImmediate(resolve));
    const opened = sync.plumbing.openBatchAt;
    expect(opened).toBeGreaterThanOrEqual(before);
    expect(opened).toBeLessThanOrEqual(Date.now());
    await sync.batch(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sync.plumbing.openBatchAt).toBeUndefined();
    await sync.records(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sync.plumbing.openBatchAt).toBeGreaterThanOrEqual(opened as number);
    expect((await sync.end()).map((b) => b.range)).toEqual([
      [0, 5],
      [5, 6],
    ]);
    expect(sync.plumbing.openBatchAt).toBeUndefined();
  });
});

describe('idle flush', () => {
  it('idleFlushMinBytes: a 1024th of the batch size, at least 16 KiB, at most the batch size', () => {
    expect(idleFlushMinBytes(16 * 1024 * 1024)).toBe(16 * 1024);
    expect(idleFlushMinBytes(64 * 1024 * 1024)).toBe(64 * 1024);
    expect(idleFlushMinBytes(1024)).toBe(1024);
  });

  it('askForIdleFlush asks the largest open batch big enough, once until its spill task answers', () => {
    const plumbing = (bytes: number, asked = false) => {
      const events = new Channel<StreamEvent>({ name: 'events', capacity: 10 });
      return { events, openBatchBytes: bytes, idleFlushAsked: asked } as unknown as StreamPlumbing;
    };
    const min = idleFlushMinBytes(1 << 20);
    const streams = new Map([
      ['small', plumbing(min - 1)],
      ['large', plumbing(3 * min)],
      ['larger, asked', plumbing(5 * min, true)],
      ['medium', plumbing(2 * min)],
    ]);
    const ctx = { streams, knobs: { batchSizeBytes: 1 << 20 } } as unknown as PipelineContext;
    const events = (key: string) => {
      const out: unknown[] = [];
      const channel = (streams.get(key) as StreamPlumbing).events;
      for (let e = channel.tryReceive(); typeof e === 'object'; e = channel.tryReceive())
        out.push(e);
      return out;
    };
    expect(askForIdleFlush(ctx)).toBe(true);
    expect(askForIdleFlush(ctx)).toBe(true);
    // Only 'small' (too small) and the asked ones are left.
    expect(askForIdleFlush(ctx)).toBe(false);
    expect(events('large')).toEqual([{ kind: 'flush', reason: 'idle' }]);
    expect(events('medium')).toEqual([{ kind: 'flush', reason: 'idle' }]);
    expect(events('small')).toEqual([]);
    expect(events('larger, asked')).toEqual([]);
  });

  it('an idle flush hands over a batch big enough, and leaves a smaller one open', async () => {
    const min = idleFlushMinBytes(16 << 20);
    const perRecord = LINE.length;
    const sync = setUp(16 << 20);
    const few = Math.ceil(min / perRecord) - 1;
    await sync.records(few);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sync.plumbing.openBatchBytes).toBe(few * perRecord);
    expect(askForIdleFlush(sync.ctx)).toBe(false);
    await sync.records(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(askForIdleFlush(sync.ctx)).toBe(true);
    expect(sync.plumbing.idleFlushAsked).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    // Handed over: the batch left, the ask with it.
    expect(sync.plumbing.openBatchBytes).toBe(0);
    expect(sync.plumbing.idleFlushAsked).toBe(false);
    await sync.records(2);
    expect((await sync.end()).map((b) => b.range)).toEqual([
      [0, few + 1],
      [few + 1, few + 3],
    ]);
  });
});

/** Lets the spill task handle what was sent to it. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("states' flushes that wait", () => {
  const ranges = (batches: readonly SpilledBatch[]) =>
    batches.map((b) => ({ range: b.range, end: b.endOfStream }));

  it('a small batch waits at its state while a batch waits for a worker; later states join it; the ask hands it over', async () => {
    // A 16th of a 1 MiB batch size is 64 KiB: every batch here is small.
    const sync = setUp(1 << 20);
    // Nothing waits for a worker: the state cuts its batch.
    await sync.batch(10);
    await settle();
    expect(sync.files.buffered).toBe(1);
    expect(sync.plumbing.checkpointWaiting).toBe(false);
    // One batch waits: the next states' flushes wait too, and their records make one batch.
    await sync.batch(10);
    await sync.batch(10);
    await settle();
    expect(sync.files.buffered).toBe(1);
    expect(sync.plumbing.checkpointWaiting).toBe(true);
    expect([...sync.ctx.load.checkpointsWaiting]).toEqual([sync.plumbing]);
    // The queue ran dry: a worker asks, once.
    expect(askForWaitingCheckpoint(sync.ctx)).toBe(true);
    expect(askForWaitingCheckpoint(sync.ctx)).toBe(false);
    await settle();
    expect(sync.files.buffered).toBe(2);
    expect(sync.plumbing.checkpointWaiting).toBe(false);
    expect(sync.ctx.load.checkpointsWaiting.size).toBe(0);
    await sync.records(5);
    expect(ranges(await sync.end())).toEqual([
      { range: [0, 10], end: false },
      { range: [10, 30], end: false },
      { range: [30, 35], end: true },
    ]);
  });

  it('a state cuts a batch of a 16th of the batch size or more, even while batches wait', async () => {
    // A 16th of the batch size is 10 records.
    const sync = setUp(160 * LINE.length);
    await sync.batch(10);
    await sync.batch(10);
    await sync.batch(9);
    await settle();
    expect(sync.plumbing.checkpointWaiting).toBe(true);
    expect(ranges(await sync.end())).toEqual([
      { range: [0, 10], end: false },
      { range: [10, 20], end: false },
      // The 9 records waited at their state; the stream's end took them.
      { range: [20, 29], end: true },
    ]);
    expect(sync.plumbing.checkpointWaiting).toBe(false);
    expect(sync.ctx.load.checkpointsWaiting.size).toBe(0);
  });

  it('a waiting batch still goes at its size, and an ask that comes after leaves the next batch open', async () => {
    const sync = setUp(100 * LINE.length);
    await sync.batch(10);
    await sync.batch(5);
    await settle();
    expect(sync.plumbing.checkpointWaiting).toBe(true);
    // The batch fills before the ask is handled (or even made): it goes at its size.
    await sync.records(95);
    await sync.records(3);
    askForWaitingCheckpoint(sync.ctx);
    await settle();
    expect(sync.ctx.load.checkpointsWaiting.size).toBe(0);
    expect(ranges(await sync.end())).toEqual([
      { range: [0, 10], end: false },
      { range: [10, 110], end: false },
      // Not cut by the ask: the 3 records hold no state.
      { range: [110, 113], end: true },
    ]);
  });

  it('a forced flush takes a waiting batch', async () => {
    const sync = setUp(1 << 20);
    await sync.batch(10);
    await sync.batch(4);
    await sync.batch(0, 'forced');
    await settle();
    expect(sync.plumbing.checkpointWaiting).toBe(false);
    expect(sync.ctx.load.checkpointsWaiting.size).toBe(0);
    expect(ranges(await sync.end())).toEqual([
      { range: [0, 10], end: false },
      { range: [10, 14], end: false },
      { range: [14, 14], end: true },
    ]);
  });

  it('askForWaitingCheckpoint asks the largest waiting batch; a closed stream leaves the list, a full channel stays on it', () => {
    const plumbing = (bytes: number, capacity = 10) => {
      const events = new Channel<StreamEvent>({ name: 'events', capacity });
      return {
        events,
        openBatchBytes: bytes,
        checkpointWaiting: true,
      } as unknown as StreamPlumbing;
    };
    const small = plumbing(100);
    const large = plumbing(300);
    const full = plumbing(1000, 1);
    full.events.trySend({ kind: 'end' });
    const closed = plumbing(5000);
    closed.events.close();
    const load = idleLoadGauge();
    const ctx = { load } as unknown as PipelineContext;
    expect(askForWaitingCheckpoint(ctx)).toBe(false);
    for (const p of [small, large, full, closed]) load.checkpointsWaiting.add(p);
    // The largest is closed: it leaves the list, nothing is asked.
    expect(askForWaitingCheckpoint(ctx)).toBe(false);
    expect(load.checkpointsWaiting.has(closed)).toBe(false);
    // The next largest cannot take an event now: it stays, and nothing is asked.
    expect(askForWaitingCheckpoint(ctx)).toBe(false);
    expect(load.checkpointsWaiting.has(full)).toBe(true);
    full.events.tryReceive();
    expect(askForWaitingCheckpoint(ctx)).toBe(true);
    expect(full.checkpointWaiting).toBe(false);
    expect(askForWaitingCheckpoint(ctx)).toBe(true);
    expect(askForWaitingCheckpoint(ctx)).toBe(true);
    expect(askForWaitingCheckpoint(ctx)).toBe(false);
    expect(large.events.tryReceive()).toEqual({ kind: 'flush', reason: 'checkpoint-due' });
    expect(small.events.tryReceive()).toEqual({ kind: 'flush', reason: 'checkpoint-due' });
  });
});
