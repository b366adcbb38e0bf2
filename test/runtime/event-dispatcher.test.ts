import { describe, expect, it } from 'vitest';
import { EventDispatcher } from '../../src/runtime/event-dispatcher.js';

describe('EventDispatcher', () => {
  it('delivers events caused by a listener after the current event, in order', () => {
    const dispatcher = new EventDispatcher<string>();
    const seen: string[] = [];
    dispatcher.subscribe((e) => {
      seen.push(`1:${e}`);
      if (e === 'a') {
        dispatcher.enqueue('c');
        dispatcher.flush(); // nested: returns at once, `c` comes after `b`
      }
    });
    dispatcher.subscribe((e) => seen.push(`2:${e}`));
    dispatcher.enqueue('a');
    dispatcher.enqueue('b');
    dispatcher.flush();
    expect(seen).toEqual(['1:a', '2:a', '1:b', '2:b', '1:c', '2:c']);
  });

  it('keeps delivering when a listener throws and reports the error', () => {
    const errors: unknown[] = [];
    const dispatcher = new EventDispatcher<number>((error) => errors.push(error));
    const seen: number[] = [];
    dispatcher.subscribe(() => {
      throw new Error('listener');
    });
    const unsubscribe = dispatcher.subscribe((e) => seen.push(e));
    dispatcher.enqueue(1);
    dispatcher.flush();
    unsubscribe();
    unsubscribe();
    dispatcher.enqueue(2);
    dispatcher.flush();
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(2);
    expect(dispatcher.listenerCount).toBe(1);
  });
});
