import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abortWatchable, makeWatchable } from '../../src/runtime/abort-watch.js';
import {
  Channel,
  ChannelClosedError,
  EMPTY,
  END,
  type End,
  FifoQueue,
} from '../../src/runtime/channel.js';

/** Lets every pending promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Tracked<T> {
  done: boolean;
  ok: boolean;
  value: T | undefined;
  error: unknown;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { done: false, ok: false, value: undefined, error: undefined };
  promise.then(
    (value) => {
      Object.assign(state, { done: true, ok: true, value });
    },
    (error: unknown) => {
      Object.assign(state, { done: true, error });
    },
  );
  return state;
}

type Op =
  | { kind: 'send' }
  | { kind: 'trySend' }
  | { kind: 'receive' }
  | { kind: 'tryReceive' }
  | { kind: 'abortSend'; pick: number }
  | { kind: 'abortReceive'; pick: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'close' }
  | { kind: 'fail' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'send' as const }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'trySend' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'receive' as const }), weight: 5 },
  { arbitrary: fc.constant({ kind: 'tryReceive' as const }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('abortSend' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('abortReceive' as const), pick: fc.nat() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 50 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'close' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'fail' as const }), weight: 1 },
);

interface Offer {
  value: number;
  status: 'accepted' | 'rejected' | 'pending';
  tracked?: Tracked<void>;
  controller?: AbortController;
}

/**
 * Where the sends and receives get their signals:
 * - `listener`: a fresh AbortController per call (any caller's signal: a listener per wait);
 * - `watchable`: three controllers made watchable, shared round-robin by the calls and aborted
 *   the way the task registry aborts its tasks' signals; they never hold a listener.
 */
type SignalMode = 'listener' | 'watchable';

function signalSource(mode: SignalMode) {
  if (mode === 'listener') {
    return {
      next: () => new AbortController(),
      abort: (controller: AbortController, reason: unknown) => controller.abort(reason),
      all: [] as AbortController[],
    };
  }
  const all = [0, 1, 2].map(() => {
    const controller = new AbortController();
    makeWatchable(controller.signal);
    return controller;
  });
  let turn = 0;
  return {
    next: () => all[turn++ % all.length] as AbortController,
    abort: abortWatchable,
    all,
  };
}

/**
 * Runs `ops` one after another against a channel (one logical producer, one logical consumer,
 * each with many calls in flight) and checks every invariant after every step against a model.
 */
async function runScenario(
  capacity: number,
  ops: readonly Op[],
  mode: SignalMode = 'listener',
): Promise<void> {
  const signals = signalSource(mode);
  const clock = { t: 0 };
  const channel = new Channel<number>({ name: 'model', capacity, now: () => clock.t });
  const failure = new Error('injected failure');
  const offers: Offer[] = [];
  const receives: { tracked: Tracked<number | End>; controller: AbortController; seen: boolean }[] =
    [];
  const received: number[] = [];
  let nextValue = 0;
  let inAtClose: number | undefined;
  let failed = false;
  let expectedBlockedMs = 0;
  let maxBuffered = 0;

  for (const op of ops) {
    let endSeen = false;
    switch (op.kind) {
      case 'send': {
        const controller = signals.next();
        const offer: Offer = { value: nextValue++, status: 'pending', controller };
        offer.tracked = track(channel.send(offer.value, controller.signal));
        offers.push(offer);
        break;
      }
      case 'trySend': {
        const value = nextValue++;
        if (channel.closed) {
          expect(() => channel.trySend(value)).toThrow(failed ? failure : ChannelClosedError);
          offers.push({ value, status: 'rejected' });
        } else {
          offers.push({ value, status: channel.trySend(value) ? 'accepted' : 'rejected' });
        }
        break;
      }
      case 'receive': {
        const controller = signals.next();
        receives.push({
          tracked: track(channel.receive(controller.signal)),
          controller,
          seen: false,
        });
        break;
      }
      case 'tryReceive': {
        if (failed) {
          expect(() => channel.tryReceive()).toThrow(failure);
          break;
        }
        const item = channel.tryReceive();
        if (item === END) endSeen = true;
        else if (item !== EMPTY) received.push(item);
        break;
      }
      case 'abortSend': {
        // Any send, also one already accepted: a late abort must change nothing.
        const sends = offers.filter((o) => o.controller !== undefined);
        const send = sends[op.pick % Math.max(1, sends.length)];
        if (send?.controller !== undefined) signals.abort(send.controller, new Error('abort send'));
        break;
      }
      case 'abortReceive': {
        const receive = receives[op.pick % Math.max(1, receives.length)];
        if (receive !== undefined) signals.abort(receive.controller, new Error('abort receive'));
        break;
      }
      case 'tick':
        if (channel.state === 'blocked') expectedBlockedMs += op.ms;
        clock.t += op.ms;
        break;
      case 'close':
        channel.close();
        inAtClose ??= channel.in;
        break;
      case 'fail':
        if (!failed) {
          const undelivered = channel.fail(failure);
          expect(undelivered.length).toBe(channel.buffered);
          failed = true;
          inAtClose ??= channel.in;
        }
        break;
    }
    await flush();

    // Settle the model from what the channel's promises reported.
    for (const offer of offers) {
      if (offer.status !== 'pending' || !offer.tracked?.done) continue;
      offer.status = offer.tracked.ok ? 'accepted' : 'rejected';
      if (!offer.tracked.ok && inAtClose !== undefined && !offer.controller?.signal.aborted) {
        expect(offer.tracked.error).toSatisfy(
          (e: unknown) => e === failure || e instanceof ChannelClosedError,
        );
      }
    }
    for (const receive of receives) {
      if (!receive.tracked.done || receive.seen) continue;
      receive.seen = true;
      if (!receive.tracked.ok) continue;
      if (receive.tracked.value === END) endSeen = true;
      else received.push(receive.tracked.value as number);
    }

    // Conservation, capacity, high-water mark.
    expect(channel.in).toBe(channel.out + channel.buffered);
    if (!failed) expect(channel.buffered).toBeLessThanOrEqual(capacity);
    maxBuffered = Math.max(maxBuffered, channel.buffered);
    expect(channel.highWaterMark).toBeGreaterThanOrEqual(maxBuffered);
    expect(channel.highWaterMark).toBeLessThanOrEqual(capacity);

    // FIFO for a single producer, each accepted item delivered once.
    const accepted = offers.filter((o) => o.status === 'accepted').map((o) => o.value);
    expect(channel.in).toBe(accepted.length);
    expect(channel.out).toBe(received.length);
    expect(received).toEqual(accepted.slice(0, received.length));

    // Blocked iff a producer is waiting.
    const waitingProducers = offers.filter((o) => o.status === 'pending').length;
    expect(channel.state === 'blocked').toBe(waitingProducers > 0);
    expect(channel.blockedMs).toBe(expectedBlockedMs);

    // Nothing accepted after close; END only once everything accepted was received.
    if (inAtClose !== undefined) {
      expect(channel.state).toBe('closed');
      expect(channel.in).toBe(inAtClose);
    }
    if (endSeen) {
      expect(failed).toBe(false);
      expect(received.length).toBe(channel.in);
    }
    // A call whose signal has aborted is settled: it was accepted (or served) first, or rejected.
    for (const offer of offers) {
      if (offer.controller?.signal.aborted) expect(offer.tracked?.done).toBe(true);
    }
    for (const receive of receives) {
      if (receive.controller.signal.aborted) expect(receive.tracked.done).toBe(true);
    }
    for (const controller of signals.all) {
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    }
    expect(channel.waitingSenders).toBe(waitingProducers);
    expect(channel.snapshot()).toEqual({
      name: 'model',
      state: channel.state,
      in: channel.in,
      out: channel.out,
      buffered: channel.buffered,
      capacity,
      highWaterMark: channel.highWaterMark,
      blockedMs: channel.blockedMs,
      producers: 0,
    });
  }
}

describe(Channel, () => {
  describe('under random sequences of sends, receives, aborts, close and fail', () => {
    it('keeps every invariant at every step', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.array(opArb, { maxLength: 60 }),
          async (capacity, ops) => runScenario(capacity, ops),
        ),
        { numRuns: 300 },
      );
    });

    it('keeps every invariant with the signals of tasks, several waits sharing one', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.array(opArb, { maxLength: 60 }),
          async (capacity, ops) => runScenario(capacity, ops, 'watchable'),
        ),
        { numRuns: 300 },
      );
    });

    // Regression examples: hand-picked corner cases kept as fixed inputs.
    it.each<[string, number, Op[]]>([
      [
        'abort of the only waiting producer unblocks',
        1,
        [
          { kind: 'send' },
          { kind: 'send' },
          { kind: 'tick', ms: 5 },
          { kind: 'abortSend', pick: 0 },
          { kind: 'tick', ms: 7 },
        ],
      ],
      [
        'close with a blocked producer and buffered items',
        1,
        [
          { kind: 'send' },
          { kind: 'send' },
          { kind: 'close' },
          { kind: 'receive' },
          { kind: 'receive' },
          { kind: 'tryReceive' },
        ],
      ],
      [
        'fail with waiting consumers',
        2,
        [{ kind: 'receive' }, { kind: 'receive' }, { kind: 'fail' }, { kind: 'send' }],
      ],
      [
        'aborted consumer does not swallow the next item',
        1,
        [
          { kind: 'receive' },
          { kind: 'abortReceive', pick: 0 },
          { kind: 'send' },
          { kind: 'tryReceive' },
        ],
      ],
    ])('%s', async (_name, capacity, ops) => runScenario(capacity, ops));
  });

  describe('with several producers and consumers under random interleavings', () => {
    it('delivers each item to exactly one consumer, in order per producer, and closes after the last producer', async () => {
      let current: Channel<{ p: number; i: number }> | undefined;
      let maxBuffered = 0;
      const check = () => {
        if (current === undefined) return;
        expect(current.in).toBe(current.out + current.buffered);
        expect(current.buffered).toBeLessThanOrEqual(current.capacity);
        maxBuffered = Math.max(maxBuffered, current.buffered);
        expect(current.highWaterMark).toBeGreaterThanOrEqual(maxBuffered);
        expect(current.state === 'blocked').toBe(current.waitingSenders > 0);
      };
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler({
            act: async (f) => {
              await f();
              check();
            },
          }),
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.record({ items: fc.nat({ max: 6 }), closeTwice: fc.boolean() }), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.integer({ min: 1, max: 3 }),
          async (s, capacity, producerPlans, consumerCount) => {
            const channel = new Channel<{ p: number; i: number }>({ capacity });
            current = channel;
            maxBuffered = 0;
            const handles = channel.addProducers(producerPlans.length);
            let closes = 0;
            const producers = producerPlans.map(async (plan, p) => {
              const handle = handles[p]!;
              for (let i = 0; i < plan.items; i++) {
                await s.schedule(Promise.resolve(), `p${p} sends ${i}`);
                await handle.send({ p, i });
              }
              await s.schedule(Promise.resolve(), `p${p} closes`);
              expect(channel.closed).toBe(false);
              handle.close();
              closes++;
              expect(channel.closed).toBe(closes === producerPlans.length);
              if (plan.closeTwice) {
                handle.close();
                expect(channel.closed).toBe(closes === producerPlans.length);
              }
            });
            const got: { p: number; i: number }[][] = [];
            const consumers = Array.from({ length: consumerCount }, async (_, c) => {
              const mine: { p: number; i: number }[] = [];
              got.push(mine);
              for (;;) {
                await s.schedule(Promise.resolve(), `c${c} receives`);
                const item = await channel.receive();
                if (item === END) {
                  expect(closes).toBe(producerPlans.length);
                  expect(channel.out).toBe(channel.in);
                  return;
                }
                mine.push(item);
              }
            });
            await s.waitFor(Promise.all([...producers, ...consumers]));

            const all = got.flat();
            const expected = producerPlans.flatMap((plan, p) =>
              Array.from({ length: plan.items }, (_, i) => ({ p, i })),
            );
            const key = (x: { p: number; i: number }) => `${x.p}:${x.i}`;
            expect(all.map(key).sort()).toEqual(expected.map(key).sort());
            for (const mine of got) {
              for (let p = 0; p < producerPlans.length; p++) {
                const order = mine.filter((x) => x.p === p).map((x) => x.i);
                expect(order).toEqual([...order].sort((a, b) => a - b));
              }
            }
            expect(channel.snapshot()).toMatchObject({
              state: 'closed',
              in: expected.length,
              out: expected.length,
              buffered: 0,
              producers: 0,
            });
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('with producer handles closed in any order, some repeatedly', () => {
    it('closes exactly when every producer has closed at least once', () => {
      fc.assert(
        fc.property(
          fc
            .integer({ min: 1, max: 5 })
            .chain((n) =>
              fc.tuple(fc.constant(n), fc.array(fc.nat({ max: n - 1 }), { maxLength: 15 })),
            ),
          ([n, closes]) => {
            const channel = new Channel<number>();
            const handles = channel.addProducers(n);
            const closed = new Set<number>();
            for (const index of closes) {
              handles[index]!.close();
              closed.add(index);
              expect(channel.closed).toBe(closed.size === n);
              expect(channel.producers).toBe(n - closed.size);
            }
          },
        ),
      );
    });
  });
});

describe(FifoQueue, () => {
  it('behaves like an array used as a queue', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.integer(), fc.constant('shift' as const), fc.constant('remove' as const)),
        ),
        (ops) => {
          const queue = new FifoQueue<number>(1);
          const model: number[] = [];
          for (const op of ops) {
            if (op === 'shift') {
              if (model.length > 0) expect(queue.shift()).toBe(model.shift());
            } else if (op === 'remove') {
              const victim = model[Math.floor(model.length / 2)];
              if (victim !== undefined) {
                expect(queue.remove(victim)).toBe(true);
                model.splice(model.indexOf(victim), 1);
              }
            } else {
              queue.push(op);
              model.push(op);
            }
            expect(queue.length).toBe(model.length);
            if (model.length > 0) expect(queue.peek()).toBe(model[0]);
          }
          expect(queue.drain()).toEqual(model);
        },
      ),
    );
  });
});
