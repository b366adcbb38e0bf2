import fc from 'fast-check';
import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';
import { pooledRandom, taskIdFactory } from '../../src/runtime/task-id.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';

describe('task ids', () => {
  it('are ULIDs of their creation time, unique and sorting in creation order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 600 }),
        (steps) => {
          const next = taskIdFactory();
          let time = 1_767_225_600_000;
          let latest = 0;
          const ids: string[] = [];
          for (const step of steps) {
            // Time stands still, moves on, or goes back (a clock set back).
            time += step;
            latest = Math.max(latest, time);
            const id = next(time);
            expect(isValid(id)).toBe(true);
            expect(decodeTime(id)).toBe(latest);
            ids.push(id);
          }
          expect(new Set(ids).size).toBe(ids.length);
          expect([...ids].sort()).toEqual(ids);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('draw a fresh random part in each new millisecond, from more than one pool fill', () => {
    const next = taskIdFactory();
    // 16 random characters per new millisecond: 1,000 ids go through the 4 KiB pool 3 times.
    const randoms = Array.from({ length: 1000 }, (_, i) => next(1_000_000 + i).slice(10));
    expect(new Set(randoms).size).toBe(randoms.length);
  });

  it('get random values uniform in [0, 1) in steps of 1/256', () => {
    const random = pooledRandom();
    const counts = new Array<number>(32).fill(0);
    let outside = 0;
    for (let i = 0; i < 32 * 4096; i++) {
      const value = random();
      if (value < 0 || value >= 1 || !Number.isInteger(value * 256)) outside++;
      else counts[Math.floor(value * 32)]! += 1;
    }
    expect(outside).toBe(0);
    // Each of the 32 base-32 characters about 4,096 times. A count is binomial with a standard
    // deviation of sqrt(131072 · 1/32 · 31/32) ≈ 63: the band of 7 deviations (441) fails a sound
    // source with a chance of about 1e-10 over the 32 counts, and any real skew at once.
    for (const count of counts) expect(Math.abs(count - 4096)).toBeLessThan(441);
  });

  it('of a registry sort in creation order, with the clock standing still', async () => {
    const registry = new TaskRegistry({ clock: new ManualClock(1_767_225_600_000) });
    const handles = Array.from({ length: 50 }, () => registry.start({ kind: 'x' }, () => {}));
    const ids = handles.map((h) => h.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => decodeTime(id) === 1_767_225_600_000)).toBe(true);
    await Promise.all(handles.map((h) => h.done));
  });
});
