/** The matching of echoed STATEs with the persists that released them (bench helper, no timing). */
import { describe, expect, it } from 'vitest';
import { batchSizeFor, percentile, stateLatencies } from './state-latency.js';

describe('stateLatencies', () => {
  it('measures each STATE from the persist that completed its records', () => {
    const persists = [
      { at: 1000, records: 10 },
      { at: 2000, records: 10 },
    ];
    expect(stateLatencies(persists, [1002.5, 2001], 10)).toEqual([2.5, 1]);
  });

  it('takes the persist that reached the count when a group took several batches', () => {
    const persists = [
      { at: 1000, records: 4 },
      { at: 1010, records: 6 },
      { at: 2000, records: 10 },
    ];
    expect(stateLatencies(persists, [1012, 2003], 10)).toEqual([2, 3]);
  });

  it('orders persists by time, whatever order the log has', () => {
    const persists = [
      { at: 2000, records: 10 },
      { at: 1000, records: 10 },
    ];
    expect(stateLatencies(persists, [1001, 2001], 10)).toEqual([1, 1]);
  });

  it('uses the same persist for two STATEs released by one batch', () => {
    const persists = [{ at: 1000, records: 20 }];
    expect(stateLatencies(persists, [1001, 1002], 10)).toEqual([1, 2]);
  });

  it('rejects a STATE echoed before its records were persisted', () => {
    expect(() => stateLatencies([{ at: 1000, records: 10 }], [1001, 1500], 10)).toThrow(
      /STATE 2 arrived while only 10 of its 20 records were persisted/,
    );
    expect(() => stateLatencies([{ at: 1000, records: 10 }], [999], 10)).toThrow(/STATE 1/);
  });
});

describe('percentile', () => {
  it('is the nearest-rank percentile', () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i); // 20 … 1
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 100)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 95)).toBeNaN();
  });
});

describe('batchSizeFor', () => {
  it('closes a batch on the last record of a group, newline counted or not', () => {
    const size = batchSizeFor(200, 500);
    for (const lineBytes of [500, 501]) {
      expect(199 * lineBytes).toBeLessThan(size);
      expect(200 * lineBytes).toBeGreaterThanOrEqual(size);
    }
  });
});
