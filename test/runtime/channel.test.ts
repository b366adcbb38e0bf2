import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_TRANSITIONS,
  Channel,
  ChannelClosedError,
  EMPTY,
  END,
  FifoQueue,
  InvalidChannelOptionError,
} from '../../src/runtime/channel.js';
import type { ChannelState } from '../../src/runtime/channel-snapshot.js';

/** Lets every pending promise reaction run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function settled<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => {
      state.done = true;
      state.value = value;
    },
    (error: unknown) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}

function fakeClock() {
  const clock = { t: 0, now: () => clock.t };
  return clock;
}

describe(Channel, () => {
  describe('a new channel', () => {
    it('is idle with zeroed counters', () => {
      const channel = new Channel<number>({ name: 'records', capacity: 3 });
      expect(channel.snapshot()).toEqual({
        name: 'records',
        state: 'idle',
        in: 0,
        out: 0,
        buffered: 0,
        capacity: 3,
        highWaterMark: 0,
        blockedMs: 0,
        producers: 0,
      });
    });

    it.each([0, -1, 1.5, Number.NaN])('rejects capacity %s', (capacity) => {
      expect(() => new Channel({ capacity })).toThrow(InvalidChannelOptionError);
    });

    it('becomes open on its first item', () => {
      const channel = new Channel<number>({ capacity: 1 });
      expect(channel.trySend(1)).toBe(true);
      expect(channel.state).toBe('open');
    });
  });

  describe('.send', () => {
    it('returns the same settled promise while there is room (no promise per item)', () => {
      const channel = new Channel<number>({ capacity: 2 });
      const first = channel.send(1);
      const second = channel.send(2);
      expect(first).toBe(second);
      expect(channel.buffered).toBe(2);
    });

    describe('when the buffer is full', () => {
      it('waits, marks the channel blocked, and resumes when a consumer makes room', async () => {
        const clock = fakeClock();
        const channel = new Channel<number>({ capacity: 1, now: clock.now });
        await channel.send(1);
        const waiting = settled(channel.send(2));
        clock.t = 10;
        await flush();
        expect(waiting.done).toBe(false);
        expect(channel.state).toBe('blocked');
        expect(channel.waitingSenders).toBe(1);
        expect(channel.blockedMs).toBe(10);

        clock.t = 25;
        expect(channel.tryReceive()).toBe(1);
        await flush();
        expect(waiting.done).toBe(true);
        expect(channel.state).toBe('open');
        expect(channel.blockedMs).toBe(25);
        clock.t = 100;
        expect(channel.snapshot()).toMatchObject({ in: 2, out: 1, buffered: 1, blockedMs: 25 });
      });

      it('rejects with the signal reason on abort and does not enqueue the item', async () => {
        const channel = new Channel<string>({ capacity: 1 });
        await channel.send('a');
        const controller = new AbortController();
        const waiting = channel.send('b', controller.signal);
        const reason = new Error('stop');
        controller.abort(reason);
        await expect(waiting).rejects.toBe(reason);
        expect(channel.state).toBe('open');
        expect(channel.in).toBe(1);
        expect(channel.tryReceive()).toBe('a');
        expect(channel.tryReceive()).toBe(EMPTY);
      });

      it('lets waiting producers in first come, first served', async () => {
        const channel = new Channel<number>({ capacity: 1 });
        await channel.send(0);
        const sends = [channel.send(1), channel.send(2), channel.send(3)];
        expect(channel.trySend(9)).toBe(false);
        const got: (number | typeof END)[] = [];
        for (let i = 0; i < 4; i++) got.push(await channel.receive());
        await Promise.all(sends);
        expect(got).toEqual([0, 1, 2, 3]);
      });
    });

    it('leaves no listener on a long-lived signal once waiting sends and receives complete', async () => {
      const channel = new Channel<number>({ capacity: 1 });
      const signal = new AbortController().signal;
      const receiving = channel.receive(signal);
      await channel.send(0, signal);
      await receiving;
      await channel.send(1, signal);
      const sending = channel.send(2, signal);
      expect(getEventListeners(signal, 'abort')).toHaveLength(1);
      expect(channel.tryReceive()).toBe(1);
      await sending;
      const waiting = channel.send(3, signal).catch(() => 'closed');
      channel.close();
      await waiting;
      const failing = new Channel<number>();
      const failed = failing.receive(signal).catch(() => 'failed');
      failing.fail(new Error('x'));
      await failed;
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    });

    it('rejects at once with an already aborted signal, even with room', async () => {
      const channel = new Channel<number>({ capacity: 4 });
      const controller = new AbortController();
      controller.abort(new Error('gone'));
      await expect(channel.send(1, controller.signal)).rejects.toThrow('gone');
      expect(channel.in).toBe(0);
    });
  });

  describe('.receive', () => {
    it('hands an item straight to a waiting consumer', async () => {
      const channel = new Channel<number>({ capacity: 1 });
      const receiving = channel.receive();
      expect(channel.waitingReceivers).toBe(1);
      expect(channel.trySend(7)).toBe(true);
      await expect(receiving).resolves.toBe(7);
      expect(channel.snapshot()).toMatchObject({ in: 1, out: 1, buffered: 0, state: 'open' });
    });

    it('gives each item to exactly one of several waiting consumers, in arrival order', async () => {
      const channel = new Channel<number>({ capacity: 1 });
      const receivers = [channel.receive(), channel.receive(), channel.receive()];
      await channel.send(1);
      await channel.send(2);
      await channel.send(3);
      expect(await Promise.all(receivers)).toEqual([1, 2, 3]);
    });

    it('rejects with the signal reason on abort, and the next item is not lost', async () => {
      const channel = new Channel<number>({ capacity: 1 });
      const controller = new AbortController();
      const receiving = channel.receive(controller.signal);
      controller.abort(new Error('cancelled'));
      await expect(receiving).rejects.toThrow('cancelled');
      expect(channel.waitingReceivers).toBe(0);
      await channel.send(5);
      expect(channel.tryReceive()).toBe(5);
    });
  });

  describe('.close', () => {
    it('lets consumers drain every buffered item before END', async () => {
      const channel = new Channel<number>({ capacity: 3 });
      await channel.send(1);
      await channel.send(2);
      channel.close();
      expect(channel.state).toBe('closed');
      expect(await channel.receive()).toBe(1);
      expect(channel.tryReceive()).toBe(2);
      expect(await channel.receive()).toBe(END);
      expect(channel.tryReceive()).toBe(END);
    });

    it('refuses later sends with a typed error', async () => {
      const channel = new Channel<number>({ name: 'batches' });
      channel.close();
      await expect(channel.send(1)).rejects.toMatchObject({
        code: 'CHANNEL_CLOSED',
        channelName: 'batches',
      });
      expect(() => channel.trySend(1)).toThrow(ChannelClosedError);
      expect(channel.in).toBe(0);
    });

    it('rejects waiting producers without enqueueing their items', async () => {
      const channel = new Channel<number>({ capacity: 1 });
      await channel.send(1);
      const waiting = channel.send(2);
      channel.close();
      await expect(waiting).rejects.toBeInstanceOf(ChannelClosedError);
      expect(channel.snapshot()).toMatchObject({ in: 1, buffered: 1, state: 'closed' });
      expect(await channel.receive()).toBe(1);
      expect(await channel.receive()).toBe(END);
    });

    it('wakes waiting consumers with END', async () => {
      const channel = new Channel<number>();
      const receivers = [channel.receive(), channel.receive()];
      channel.close();
      expect(await Promise.all(receivers)).toEqual([END, END]);
    });

    it('is idempotent and stops the blocked-time clock', async () => {
      const clock = fakeClock();
      const channel = new Channel<number>({ capacity: 1, now: clock.now });
      await channel.send(1);
      const waiting = channel.send(2).catch(() => undefined);
      clock.t = 4;
      channel.close();
      channel.close();
      clock.t = 50;
      await waiting;
      expect(channel.blockedMs).toBe(4);
    });
  });

  describe('.fail', () => {
    it('wakes producers and consumers with the error and hands back undelivered items', async () => {
      const full = new Channel<number>({ capacity: 2 });
      await full.send(1);
      await full.send(2);
      const producer = full.send(3);
      const error = new Error('loader failed');
      expect(full.fail(error)).toEqual([1, 2]);
      await expect(producer).rejects.toBe(error);
      await expect(full.receive()).rejects.toBe(error);
      expect(() => full.tryReceive()).toThrow(error);
      await expect(full.send(4)).rejects.toBe(error);
      expect(full.snapshot()).toMatchObject({ state: 'closed', in: 2, out: 0, buffered: 2 });

      const empty = new Channel<number>();
      const consumer = empty.receive();
      empty.fail(error);
      await expect(consumer).rejects.toBe(error);
    });

    it('keeps the first failure', async () => {
      const channel = new Channel<number>();
      const first = new Error('first');
      channel.fail(first);
      expect(channel.fail(new Error('second'))).toEqual([]);
      expect(channel.failure).toBe(first);
    });
  });

  describe('async iteration', () => {
    it('yields every item in order and stops at END', async () => {
      const channel = new Channel<number>({ capacity: 2 });
      const produced = (async () => {
        for (let i = 0; i < 5; i++) await channel.send(i);
        channel.close();
      })();
      const got: number[] = [];
      for await (const item of channel) got.push(item);
      await produced;
      expect(got).toEqual([0, 1, 2, 3, 4]);
    });
  });

  describe('producer handles', () => {
    it('closes the channel only when the last producer closes, once per producer', () => {
      const channel = new Channel<number>();
      const [a, b, c] = channel.addProducers(3);
      expect(channel.producers).toBe(3);
      a?.close();
      a?.close();
      b?.close();
      expect(channel.state).toBe('idle');
      expect(channel.producers).toBe(1);
      expect(c?.trySend(1)).toBe(true);
      channel.closeProducer(c!);
      expect(channel.state).toBe('closed');
      expect(channel.producers).toBe(0);
    });

    it('refuses sends through a closed handle while the channel is still open', async () => {
      const channel = new Channel<number>({ name: 'files' });
      const [a, b] = channel.addProducers(2);
      a?.close();
      expect(b?.closed).toBe(false);
      await expect(a?.send(1)).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', producerId: 1 });
      expect(() => a?.trySend(1)).toThrow(ChannelClosedError);
      expect(channel.closed).toBe(false);
    });

    it('refuses a new producer once the channel is closed', () => {
      const channel = new Channel<number>();
      channel.addProducer().close();
      expect(() => channel.addProducer()).toThrow(ChannelClosedError);
    });

    it('refuses to close a producer of another channel', () => {
      const one = new Channel<number>({ name: 'one' });
      const other = new Channel<number>({ name: 'other' });
      const producer = other.addProducer();
      expect(() => one.closeProducer(producer)).toThrow(InvalidChannelOptionError);
      expect(producer.closed).toBe(false);
    });
  });

  describe('CHANNEL_TRANSITIONS', () => {
    it('makes closed absorbing and never goes from idle to blocked', () => {
      expect(CHANNEL_TRANSITIONS.closed).toEqual([]);
      expect(CHANNEL_TRANSITIONS.idle).not.toContain('blocked');
      const states: ChannelState[] = ['idle', 'open', 'blocked', 'closed'];
      for (const from of states) {
        if (from !== 'closed') expect(CHANNEL_TRANSITIONS[from]).toContain('closed');
      }
    });
  });
});

describe(FifoQueue, () => {
  it('keeps order across growth and wrap-around, and removes from the middle', () => {
    const queue = new FifoQueue<number>(4);
    const model: number[] = [];
    for (let i = 0; i < 50; i++) {
      queue.push(i);
      model.push(i);
      if (i % 3 === 0) expect(queue.shift()).toBe(model.shift());
    }
    expect(queue.remove(model[5]!)).toBe(true);
    model.splice(5, 1);
    expect(queue.remove(-1)).toBe(false);
    expect(queue.length).toBe(model.length);
    expect(queue.peek()).toBe(model[0]);
    expect(queue.drain()).toEqual(model);
    expect(queue.length).toBe(0);
  });
});
