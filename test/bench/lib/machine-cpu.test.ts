import { describe, expect, it } from 'vitest';
import { machineCpuSeconds } from './machine-cpu.js';

describe(machineCpuSeconds, () => {
  it('adds the busy fields of the first line (not idle or iowait), in seconds', () => {
    const stat = 'cpu  100 20 30 5000 70 8 9 3 0 0\ncpu0 50 10 15 2500 35 4 4 1 0 0\n';
    // user 100 + nice 20 + system 30 + irq 8 + softirq 9 + steal 3 = 170 ticks
    expect(machineCpuSeconds(() => stat)).toBeCloseTo(1.7, 10);
  });

  it('is undefined when the file cannot be read or is not /proc/stat', () => {
    expect(
      machineCpuSeconds(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
    expect(machineCpuSeconds(() => 'intr 1 2 3\n')).toBeUndefined();
    expect(machineCpuSeconds(() => 'cpu 1 2 x 4 5 6 7 8\n')).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('reads this machine, busier after a busy loop', () => {
    const first = machineCpuSeconds();
    expect(first).toBeGreaterThan(0);
    // 100 ms of one core busy: at least one tick (10 ms) more on the machine's counters.
    const until = Date.now() + 100;
    let spins = 0;
    while (Date.now() < until) spins++;
    expect(spins).toBeGreaterThan(0);
    expect(machineCpuSeconds()).toBeGreaterThan(first as number);
  });
});
