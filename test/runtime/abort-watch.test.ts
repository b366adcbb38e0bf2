import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  abortWatch,
  abortWatchable,
  isAborted,
  makeWatchable,
} from '../../src/runtime/abort-watch.js';
import { Channel } from '../../src/runtime/channel.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import { TaskCancelledError } from '../../src/runtime/runtime-errors.js';
import type { TaskContext } from '../../src/runtime/task-context.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { ControlledBody, settle } from './task-harness.js';

function watchableController(): AbortController {
  const controller = new AbortController();
  makeWatchable(controller.signal);
  return controller;
}

describe('abort watching', () => {
  describe('on a watchable signal', () => {
    it('adds no listener, and runs the callbacks once, in order, after the listeners', () => {
      const controller = watchableController();
      const { signal } = controller;
      const calls: string[] = [];
      signal.addEventListener('abort', () => calls.push(`listener aborted=${isAborted(signal)}`));
      const watch = abortWatch(signal);
      const a = () => calls.push('a');
      const b = () => calls.push('b');
      const c = () => calls.push('c');
      watch.add(a);
      watch.add(b);
      watch.remove(a);
      watch.add(c);
      expect(getEventListeners(signal, 'abort')).toHaveLength(1);
      expect(isAborted(signal)).toBe(false);
      abortWatchable(controller, new Error('stop'));
      abortWatchable(controller, new Error('again'));
      expect(calls).toEqual(['listener aborted=true', 'b', 'c']);
      expect(isAborted(signal)).toBe(true);
      expect(signal.reason).toEqual(new Error('stop'));
    });

    it('keeps watching order when the first slot frees up while others wait', () => {
      const controller = watchableController();
      const watch = abortWatch(controller.signal);
      const calls: number[] = [];
      const fns = [0, 1, 2, 3].map((i) => () => calls.push(i));
      watch.add(fns[0]!);
      watch.add(fns[1]!);
      watch.remove(fns[0]!);
      watch.add(fns[2]!);
      watch.add(fns[3]!);
      watch.remove(fns[2]!);
      abortWatchable(controller, 'x');
      expect(calls).toEqual([1, 3]);
    });

    it('skips a callback that an earlier one removed, as a removed listener is', () => {
      const controller = watchableController();
      const watch = abortWatch(controller.signal);
      const calls: string[] = [];
      const second = () => calls.push('second');
      watch.add(() => {
        calls.push('first');
        watch.remove(second);
      });
      watch.add(second);
      abortWatchable(controller, 'x');
      expect(calls).toEqual(['first']);
    });

    it('never calls a callback added after the abort', () => {
      const controller = watchableController();
      abortWatchable(controller, 'x');
      const calls: string[] = [];
      abortWatch(controller.signal).add(() => calls.push('late'));
      abortWatchable(controller, 'y');
      expect(calls).toEqual([]);
    });
  });

  describe('on any other signal', () => {
    it('uses a once listener per wait and removes it', () => {
      const controller = new AbortController();
      const watch = abortWatch(controller.signal);
      const calls: string[] = [];
      const a = () => calls.push('a');
      watch.add(a);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      watch.remove(a);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      watch.add(() => calls.push('b'));
      expect(isAborted(controller.signal)).toBe(false);
      controller.abort('x');
      expect(isAborted(controller.signal)).toBe(true);
      expect(calls).toEqual(['b']);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });
  });

  describe("a task's signal", () => {
    /** Starts a task whose body waits until `release`, and returns its context. */
    async function runningTask(registry: TaskRegistry) {
      const body = new ControlledBody();
      const handle = registry.start({ kind: 'consumer' }, body.body);
      await settle();
      return { handle, body, ctx: body.ctx as TaskContext };
    }

    it('cancels waiting receives and sends without ever holding a listener', async () => {
      const registry = new TaskRegistry();
      const { handle, body, ctx } = await runningTask(registry);
      const empty = new Channel<number>({ name: 'empty', capacity: 1 });
      const full = new Channel<number>({ name: 'full', capacity: 1 });
      full.trySend(0);
      const receives = [empty.receive(ctx.signal), empty.receive(ctx.signal)];
      const sending = full.send(1, ctx.signal);
      const outcomes = Promise.allSettled([...receives, sending]);
      expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
      expect(empty.waitingReceivers).toBe(2);
      expect(full.state).toBe('blocked');

      registry.abort(handle.id, 'user request');
      const settled = await outcomes;
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TaskCancelledError);
      }
      expect(empty.waitingReceivers).toBe(0);
      expect(full.state).toBe('open');
      expect(full.waitingSenders).toBe(0);
      expect(full.in).toBe(1);
      // Already cancelled: rejected at once, nothing waits.
      await expect(empty.receive(ctx.signal)).rejects.toBeInstanceOf(TaskCancelledError);
      await expect(full.send(2, ctx.signal)).rejects.toBeInstanceOf(TaskCancelledError);
      expect(empty.waitingReceivers).toBe(0);
      body.complete();
      expect((await handle.done).state).toBe('cancelled');
    });

    it('delivers to waits that end normally, and a later cancellation changes nothing', async () => {
      const registry = new TaskRegistry();
      const { handle, body, ctx } = await runningTask(registry);
      const channel = new Channel<number>({ capacity: 1 });
      for (let i = 0; i < 3; i++) {
        const receiving = channel.receive(ctx.signal);
        channel.trySend(i);
        await expect(receiving).resolves.toBe(i);
      }
      channel.trySend(9);
      const sending = channel.send(10, ctx.signal);
      expect(channel.tryReceive()).toBe(9);
      await sending;
      registry.abort(handle.id);
      expect(channel.tryReceive()).toBe(10);
      expect(channel.in).toBe(channel.out);
      expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
      body.complete();
      await handle.done;
    });

    it('cancels a waiting memory reservation and lets the waiter behind it in', async () => {
      const registry = new TaskRegistry();
      const { handle, body, ctx } = await runningTask(registry);
      const budget = new MemoryBudget({ capacity: 10 });
      budget.tryReserveSync(8);
      const big = budget.reserveBytes(5, ctx.signal);
      const small = budget.reserveBytes(2);
      expect(budget.waiting).toBe(2);
      expect(getEventListeners(ctx.signal, 'abort')).toHaveLength(0);
      registry.abort(handle.id);
      await expect(big).rejects.toBeInstanceOf(TaskCancelledError);
      await small;
      expect(budget.reserved).toBe(10);
      expect(budget.waiting).toBe(0);
      body.complete();
      await handle.done;
    });
  });
});
