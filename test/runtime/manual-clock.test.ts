import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';

describe('ManualClock', () => {
  it('fires due timers in due order, including timers scheduled while advancing', () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimer(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimer(() => fired.push('never'), 15);
    cancelled.cancel();
    clock.advance(14);
    expect(fired).toEqual(['a@110']);
    expect(clock.now()).toBe(114);
    clock.advance(100);
    expect(fired).toEqual(['a@110', 'c@115', 'b@120']);
    expect(clock.now()).toBe(214);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires timers of equal due time in scheduling order and refuses to go back', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    for (let i = 0; i < 3; i++) clock.setTimer(() => fired.push(i), 0);
    clock.advance(0);
    expect(fired).toEqual([0, 1, 2]);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});
