import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  InvalidMemoryBudgetError,
  InvalidMemoryRequestError,
  MemoryBudget,
  MemoryBudgetExceededError,
  type Reservation,
} from '../../src/runtime/memory-budget.js';

/** Lets every pending promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function settled<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

describe(MemoryBudget, () => {
  it.each([0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects capacity %s', (capacity) => {
    expect(() => new MemoryBudget({ capacity })).toThrow(InvalidMemoryBudgetError);
  });

  describe('.tryReserveSync', () => {
    it('reserves when the bytes fit and refuses when they do not', () => {
      const budget = new MemoryBudget({ capacity: 100 });
      expect(budget.tryReserveSync(60)).toBe(true);
      expect(budget.tryReserveSync(50)).toBe(false);
      expect(budget.snapshot()).toEqual({
        capacity: 100,
        reserved: 60,
        available: 40,
        waiting: 0,
        highWaterMark: 60,
        blockedMs: 0,
      });
      budget.releaseBytes(60);
      expect(budget.reserved).toBe(0);
      expect(budget.highWaterMark).toBe(60);
    });

    it('refuses while an earlier request waits, even if the bytes would fit', async () => {
      const budget = new MemoryBudget({ capacity: 10 });
      budget.tryReserveSync(8);
      const large = settled(budget.reserveBytes(5));
      expect(budget.waiting).toBe(1);
      expect(budget.tryReserveSync(1)).toBe(false);
      expect(budget.tryReserveSync(0)).toBe(true);
      budget.releaseBytes(8);
      await flush();
      expect(large.done).toBe(true);
      expect(budget.tryReserveSync(1)).toBe(true);
    });

    it.each([-1, 1.5, Number.NaN])('rejects a byte count of %s', (bytes) => {
      const budget = new MemoryBudget({ capacity: 10 });
      expect(() => budget.tryReserveSync(bytes)).toThrow(InvalidMemoryRequestError);
    });
  });

  describe('.reserveBytes', () => {
    it('resolves with the same settled promise while bytes fit (no promise per call)', () => {
      const budget = new MemoryBudget({ capacity: 10 });
      expect(budget.reserveBytes(1)).toBe(budget.reserveBytes(2));
      expect(budget.reserved).toBe(3);
    });
  });

  describe('a request larger than the whole budget', () => {
    it('fails at once with an error naming both sizes', async () => {
      const budget = new MemoryBudget({ capacity: 104857600 });
      const expected =
        'a reservation of 150000000 bytes exceeds the whole memory budget of 104857600 bytes; ' +
        'raise memory_budget_bytes / DESTKIT_MEMORY_BUDGET_BYTES';
      await expect(budget.reserve(150000000)).rejects.toThrow(expected);
      await expect(budget.reserveBytes(150000000)).rejects.toMatchObject({
        code: 'MEMORY_REQUEST_TOO_LARGE',
        failureType: 'config_error',
        requestedBytes: 150000000,
        capacityBytes: 104857600,
      });
      expect(() => budget.tryReserveSync(104857601)).toThrow(MemoryBudgetExceededError);
      const disk = new MemoryBudget({
        capacity: 1000,
        name: 'disk budget',
        setting: 'disk_budget_bytes',
      });
      expect(() => disk.tryReserveSync(1001)).toThrow(
        'a reservation of 1001 bytes exceeds the whole disk budget of 1000 bytes; raise disk_budget_bytes',
      );
      expect(budget.waiting).toBe(0);
      expect(budget.reserved).toBe(0);
    });
  });

  describe('.reserve', () => {
    it('waits until released bytes make room, and counts the blocked time', async () => {
      const clock = { t: 0 };
      const budget = new MemoryBudget({ capacity: 10, now: () => clock.t });
      const first = await budget.reserve(7);
      const second = settled(budget.reserve(5));
      clock.t = 3;
      await flush();
      expect(second.done).toBe(false);
      expect(budget.waiting).toBe(1);
      expect(budget.blockedMs).toBe(3);
      clock.t = 9;
      first.release(2);
      await flush();
      expect(second.done).toBe(true);
      expect(second.value?.bytes).toBe(5);
      expect(budget.reserved).toBe(10);
      clock.t = 20;
      expect(budget.blockedMs).toBe(9);
    });

    it('serves a large waiting request before smaller later ones (first come, first served)', async () => {
      const budget = new MemoryBudget({ capacity: 10 });
      const held = await budget.reserve(8);
      const order: string[] = [];
      const large = budget.reserve(6).then((r) => {
        order.push('large');
        return r;
      });
      const small = budget.reserve(1).then((r) => {
        order.push('small');
        return r;
      });
      held.release(3);
      await flush();
      expect(order).toEqual([]);
      held.release();
      await flush();
      expect(order).toEqual(['large', 'small']);
      (await large).release();
      (await small).release();
      expect(budget.reserved).toBe(0);
    });

    describe('when aborted while waiting', () => {
      it('rejects with the reason and leaves nothing reserved', async () => {
        const budget = new MemoryBudget({ capacity: 10 });
        const held = await budget.reserve(10);
        const controller = new AbortController();
        const waiting = budget.reserve(4, controller.signal);
        controller.abort(new Error('sync cancelled'));
        await expect(waiting).rejects.toThrow('sync cancelled');
        expect(budget.waiting).toBe(0);
        held.release();
        expect(budget.reserved).toBe(0);
      });

      it('lets the requests behind the aborted head in', async () => {
        const budget = new MemoryBudget({ capacity: 10 });
        await budget.reserve(5);
        const controller = new AbortController();
        const head = budget.reserve(9, controller.signal).catch(() => 'aborted');
        const behind = settled(budget.reserve(3));
        controller.abort();
        expect(await head).toBe('aborted');
        await flush();
        expect(behind.done).toBe(true);
        expect(budget.reserved).toBe(8);
      });
    });

    it('leaves no listener on a long-lived signal once a waiting request is served', async () => {
      const budget = new MemoryBudget({ capacity: 10 });
      const signal = new AbortController().signal;
      for (let i = 0; i < 3; i++) {
        const held = await budget.reserve(10, signal);
        const waiting = budget.reserve(10, signal);
        expect(getEventListeners(signal, 'abort')).toHaveLength(1);
        held.release();
        (await waiting).release();
      }
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    });

    it('rejects at once with an already aborted signal', async () => {
      const budget = new MemoryBudget({ capacity: 10 });
      const controller = new AbortController();
      controller.abort(new Error('no'));
      await expect(budget.reserve(1, controller.signal)).rejects.toThrow('no');
      expect(budget.reserved).toBe(0);
    });
  });

  describe('.releaseBytes', () => {
    it('refuses to release more than is reserved', () => {
      const budget = new MemoryBudget({ capacity: 10 });
      budget.tryReserveSync(4);
      expect(() => budget.releaseBytes(5)).toThrow(
        expect.objectContaining({ code: 'MEMORY_INVALID_REQUEST', heldBytes: 4 }),
      );
      expect(budget.reserved).toBe(4);
    });
  });
});

describe('Reservation', () => {
  async function reservation(bytes: number): Promise<[MemoryBudget, Reservation]> {
    const budget = new MemoryBudget({ capacity: 100 });
    return [budget, await budget.reserve(bytes)];
  }

  it('releases everything once, however often release() is called', async () => {
    const [budget, held] = await reservation(40);
    budget.tryReserveSync(10);
    held.release();
    held.release();
    expect(held.released).toBe(true);
    expect(budget.reserved).toBe(10);
  });

  it('releases part of the bytes, then the rest', async () => {
    const [budget, held] = await reservation(40);
    held.release(15);
    expect(held.bytes).toBe(25);
    expect(held.released).toBe(false);
    expect(budget.reserved).toBe(25);
    held.release();
    expect(budget.reserved).toBe(0);
  });

  it('refuses to release more than it holds', async () => {
    const [budget, held] = await reservation(40);
    expect(() => held.release(41)).toThrow(InvalidMemoryRequestError);
    expect(budget.reserved).toBe(40);
  });

  it('comes from tryReserve only when the bytes fit', () => {
    const budget = new MemoryBudget({ capacity: 10 });
    expect(budget.tryReserve(10)?.bytes).toBe(10);
    expect(budget.tryReserve(1)).toBeUndefined();
  });
});
