import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abortWatchable, makeWatchable } from '../../src/runtime/abort-watch.js';
import {
  MemoryBudget,
  MemoryBudgetExceededError,
  type Reservation,
} from '../../src/runtime/memory-budget.js';

/** Lets every pending promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Op =
  | { kind: 'reserve'; bytes: number }
  | { kind: 'tryReserve'; bytes: number }
  | { kind: 'release'; pick: number; part: number | undefined }
  | { kind: 'releaseTwice'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'tick'; ms: number };

const CAPACITY = 20;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      // Mostly within the budget, sometimes larger than all of it.
      bytes: fc.oneof(
        { arbitrary: fc.integer({ min: 0, max: CAPACITY }), weight: 9 },
        { arbitrary: fc.integer({ min: CAPACITY + 1, max: 3 * CAPACITY }), weight: 1 },
      ),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('tryReserve' as const),
      bytes: fc.integer({ min: 0, max: CAPACITY }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      pick: fc.nat(),
      part: fc.option(fc.integer({ min: 0, max: CAPACITY }), { nil: undefined }),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('releaseTwice' as const), pick: fc.nat() }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 20 }),
    }),
    weight: 1,
  },
);

interface Request {
  bytes: number;
  status: 'pending' | 'granted' | 'aborted' | 'tooLarge';
  reservation: Reservation | undefined;
  controller: AbortController;
  /** Its signal had aborted before the request (a shared signal): rejected at once. */
  abortedBefore: boolean;
  error: unknown;
}

/**
 * `listener`: a fresh AbortController per request; `watchable`: three controllers made watchable,
 * shared round-robin and aborted as the task registry aborts its tasks' signals.
 */
type SignalMode = 'listener' | 'watchable';

async function runScenario(ops: readonly Op[], mode: SignalMode = 'listener'): Promise<void> {
  const shared = [0, 1, 2].map(() => {
    const controller = new AbortController();
    makeWatchable(controller.signal);
    return controller;
  });
  let turn = 0;
  const nextController = () =>
    mode === 'listener'
      ? new AbortController()
      : (shared[turn++ % shared.length] as AbortController);
  const abort = (controller: AbortController, reason: unknown) =>
    mode === 'listener' ? controller.abort(reason) : abortWatchable(controller, reason);
  const clock = { t: 0 };
  const budget = new MemoryBudget({ capacity: CAPACITY, now: () => clock.t });
  const requests: Request[] = [];
  const held: Reservation[] = [];
  let expectedBlockedMs = 0;
  let maxReserved = 0;

  for (const op of ops) {
    switch (op.kind) {
      case 'reserve': {
        const controller = nextController();
        const request: Request = {
          bytes: op.bytes,
          status: 'pending',
          reservation: undefined,
          controller,
          abortedBefore: controller.signal.aborted,
          error: undefined,
        };
        requests.push(request);
        budget.reserve(op.bytes, request.controller.signal).then(
          (reservation) => {
            request.status = 'granted';
            request.reservation = reservation;
            held.push(reservation);
          },
          (error: unknown) => {
            request.error = error;
            request.status = error instanceof MemoryBudgetExceededError ? 'tooLarge' : 'aborted';
          },
        );
        break;
      }
      case 'tryReserve': {
        const waitingBefore = budget.waiting;
        const fits = op.bytes <= budget.available;
        const reservation = budget.tryReserve(op.bytes);
        // Granted exactly when it fits and nobody waits (a zero-byte request always fits).
        expect(reservation !== undefined).toBe(op.bytes === 0 || (fits && waitingBefore === 0));
        if (reservation !== undefined) held.push(reservation);
        break;
      }
      case 'release': {
        const live = held.filter((r) => !r.released);
        const target = live[op.pick % Math.max(1, live.length)];
        if (target === undefined) break;
        if (op.part === undefined || op.part > target.bytes) target.release();
        else target.release(op.part);
        break;
      }
      case 'releaseTwice': {
        const target = held[op.pick % Math.max(1, held.length)];
        if (target === undefined) break;
        target.release();
        const reserved = budget.reserved;
        target.release();
        expect(budget.reserved).toBe(reserved);
        break;
      }
      case 'abort': {
        // Any request, also one already granted: a late abort must change nothing.
        const request = requests[op.pick % Math.max(1, requests.length)];
        if (request !== undefined) abort(request.controller, new Error('abort'));
        break;
      }
      case 'tick':
        if (budget.waiting > 0) expectedBlockedMs += op.ms;
        clock.t += op.ms;
        break;
    }
    await flush();

    // Never more than the capacity; exactly what the live handles hold.
    expect(budget.reserved).toBeLessThanOrEqual(CAPACITY);
    expect(budget.reserved).toBe(held.reduce((sum, r) => sum + r.bytes, 0));
    expect(budget.available).toBe(CAPACITY - budget.reserved);
    maxReserved = Math.max(maxReserved, budget.reserved);
    expect(budget.highWaterMark).toBe(maxReserved);

    // Oversize requests fail with the sizes; aborted requests hold nothing.
    for (const request of requests) {
      expect(request.status === 'tooLarge').toBe(request.bytes > CAPACITY);
      if (request.status === 'tooLarge') {
        expect(request.error).toMatchObject({
          requestedBytes: request.bytes,
          capacityBytes: CAPACITY,
        });
      }
      if (request.status === 'aborted') expect(request.reservation).toBeUndefined();
      // A request whose signal has aborted was granted first, or was rejected.
      if (request.controller.signal.aborted) expect(request.status).not.toBe('pending');
    }
    if (mode === 'watchable') {
      for (const controller of shared) {
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      }
    }

    // FIFO: the granted requests are a prefix of the live ones, in request order (a zero-byte
    // request is granted at once: it takes nothing from anyone).
    const live = requests.filter(
      (r) => r.bytes > 0 && (r.status === 'pending' || r.status === 'granted'),
    );
    const firstPending = live.findIndex((r) => r.status === 'pending');
    if (firstPending >= 0) {
      expect(live.slice(firstPending).every((r) => r.status === 'pending')).toBe(true);
      // Progress: the head waits only because it does not fit.
      expect(live[firstPending]!.bytes).toBeGreaterThan(budget.available);
    }
    expect(budget.waiting).toBe(live.filter((r) => r.status === 'pending').length);
    expect(
      requests.every((r) => r.bytes > 0 || r.status === (r.abortedBefore ? 'aborted' : 'granted')),
    ).toBe(true);
    expect(budget.blockedMs).toBe(expectedBlockedMs);
  }

  // Releasing everything serves every waiter.
  for (;;) {
    const live = held.filter((r) => !r.released);
    if (live.length === 0) break;
    for (const r of live) r.release();
    await flush();
  }
  expect(requests.filter((r) => r.status === 'pending')).toEqual([]);
  expect(budget.reserved).toBe(0);
  expect(budget.waiting).toBe(0);
}

describe(MemoryBudget, () => {
  describe('under random sequences of reserve, release, abort', () => {
    it('keeps the budget, the order and the accounts at every step', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), (ops) => runScenario(ops)),
        { numRuns: 300 },
      );
    });

    it('keeps them with the signals of tasks, several requests sharing one', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), (ops) =>
          runScenario(ops, 'watchable'),
        ),
        { numRuns: 300 },
      );
    });

    // Regression examples: hand-picked corner cases kept as fixed inputs.
    it.each<[string, Op[]]>([
      [
        'aborting the head lets a smaller waiter behind it in',
        [
          { kind: 'reserve', bytes: 15 },
          { kind: 'reserve', bytes: 10 },
          { kind: 'reserve', bytes: 5 },
          { kind: 'abort', pick: 0 },
        ],
      ],
      [
        'a zero-byte request never waits',
        [
          { kind: 'reserve', bytes: 20 },
          { kind: 'reserve', bytes: 1 },
          { kind: 'reserve', bytes: 0 },
          { kind: 'tick', ms: 4 },
        ],
      ],
      [
        'a late abort of a request that waited and was then granted changes nothing',
        [
          { kind: 'reserve', bytes: 20 },
          { kind: 'reserve', bytes: 5 },
          { kind: 'tick', ms: 3 },
          { kind: 'release', pick: 0, part: undefined },
          { kind: 'tick', ms: 4 },
          { kind: 'abort', pick: 1 },
        ],
      ],
      [
        'partial releases add up before a waiter is served',
        [
          { kind: 'reserve', bytes: 20 },
          { kind: 'reserve', bytes: 6 },
          { kind: 'release', pick: 0, part: 3 },
          { kind: 'release', pick: 0, part: 3 },
        ],
      ],
    ])('%s', async (_name, ops) => runScenario(ops));
  });

  describe('with concurrent tasks under random interleavings', () => {
    it('never exceeds the budget, serves every waiter and leaks nothing, aborts included', async () => {
      let current: { budget: MemoryBudget; live: Set<Reservation> } | undefined;
      const check = () => {
        if (current === undefined) return;
        const { budget, live } = current;
        expect(budget.reserved).toBeLessThanOrEqual(budget.capacity);
        // A task records its reservation a microtask after the grant, so its set may lag behind.
        let sum = 0;
        for (const r of live) sum += r.bytes;
        expect(budget.reserved).toBeGreaterThanOrEqual(sum);
      };
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler({
            act: async (f) => {
              await f();
              check();
            },
          }),
          fc.integer({ min: 1, max: 32 }),
          fc.array(
            fc.record({
              sizes: fc.array(fc.nat({ max: 32 }), { minLength: 1, maxLength: 4 }),
              abortAfter: fc.option(fc.nat({ max: 4 }), { nil: undefined }),
              partial: fc.boolean(),
            }),
            { minLength: 1, maxLength: 5 },
          ),
          async (s, capacity, plans) => {
            const budget = new MemoryBudget({ capacity });
            const live = new Set<Reservation>();
            current = { budget, live };
            const tasks = plans.map(async (plan, t) => {
              const controller = new AbortController();
              if (plan.abortAfter !== undefined) {
                const steps = plan.abortAfter;
                void (async () => {
                  for (let i = 0; i < steps; i++) await s.schedule(Promise.resolve(), `t${t} wait`);
                  controller.abort(new Error('abort'));
                })();
              }
              for (const size of plan.sizes) {
                const bytes = Math.min(size, capacity);
                await s.schedule(Promise.resolve(), `t${t} reserve ${bytes}`);
                let reservation: Reservation;
                try {
                  reservation = await budget.reserve(bytes, controller.signal);
                } catch (error) {
                  expect(controller.signal.aborted).toBe(true);
                  expect(error).toEqual(new Error('abort'));
                  return;
                }
                live.add(reservation);
                await s.schedule(Promise.resolve(), `t${t} holds ${bytes}`);
                if (plan.partial && bytes > 1) reservation.release(1);
                await s.schedule(Promise.resolve(), `t${t} releases`);
                reservation.release();
                reservation.release();
                live.delete(reservation);
              }
            });
            await s.waitFor(Promise.all(tasks));
            await s.waitAll();
            expect(budget.reserved).toBe(0);
            expect(budget.waiting).toBe(0);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
