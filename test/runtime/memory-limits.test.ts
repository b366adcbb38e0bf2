import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidMemoryBudgetError } from '../../src/runtime/memory-budget.js';
import {
  decideMemoryBudget,
  defaultMemoryBudget,
  describeMemoryBudget,
  GIB,
  type MemoryLimitsSources,
  MIB,
  parseCgroupMemoryLimit,
  readMemoryLimits,
} from '../../src/runtime/memory-limits.js';

function sources(files: Record<string, string>, heap = 4 * GIB, total = 16 * GIB) {
  const read: string[] = [];
  const value: MemoryLimitsSources = {
    readFile: (path) => {
      read.push(path);
      return files[path];
    },
    heapSizeLimit: () => heap,
    totalMemory: () => total,
  };
  return { value, read };
}

describe(decideMemoryBudget, () => {
  describe('without a cgroup limit', () => {
    it('takes a quarter of the V8 heap limit', () => {
      expect(decideMemoryBudget({ cgroupLimitBytes: undefined, heapLimitBytes: 2 * GIB })).toEqual({
        bytes: 512 * MIB,
        source: 'heap',
        limitBytes: 2 * GIB,
        fraction: 0.25,
        clampedTo: undefined,
      });
    });

    it('caps the budget at 1 GiB', () => {
      const decision = decideMemoryBudget({
        cgroupLimitBytes: undefined,
        heapLimitBytes: 16 * GIB,
      });
      expect(decision).toMatchObject({ bytes: GIB, source: 'heap', clampedTo: 'max' });
    });

    it('raises the budget to 32 MiB', () => {
      const decision = decideMemoryBudget({
        cgroupLimitBytes: undefined,
        heapLimitBytes: 64 * MIB,
      });
      expect(decision).toMatchObject({ bytes: 32 * MIB, source: 'heap', clampedTo: 'min' });
    });
  });

  describe('with a cgroup limit', () => {
    it('takes a quarter of the cgroup limit when that is the tighter ceiling', () => {
      const decision = decideMemoryBudget({ cgroupLimitBytes: GIB, heapLimitBytes: 2 * GIB });
      expect(decision).toEqual({
        bytes: 256 * MIB,
        source: 'cgroup',
        limitBytes: GIB,
        fraction: 0.25,
        clampedTo: undefined,
      });
    });

    it('still respects a smaller heap limit', () => {
      const decision = decideMemoryBudget({ cgroupLimitBytes: 8 * GIB, heapLimitBytes: 512 * MIB });
      expect(decision).toMatchObject({ bytes: 128 * MIB, source: 'heap' });
    });

    it('rounds down to whole bytes', () => {
      const decision = decideMemoryBudget({ cgroupLimitBytes: GIB + 3, heapLimitBytes: 8 * GIB });
      expect(decision.bytes).toBe(256 * MIB);
    });
  });

  describe('with an override', () => {
    it('uses the override as given, unclamped', () => {
      const limits = { cgroupLimitBytes: GIB, heapLimitBytes: GIB };
      expect(decideMemoryBudget(limits, 5 * MIB)).toMatchObject({
        bytes: 5 * MIB,
        source: 'override',
      });
      expect(decideMemoryBudget(limits, 3 * GIB).bytes).toBe(3 * GIB);
    });

    it.each([0, -1, 1.5, Number.NaN])('rejects %s with a config error', (override) => {
      const limits = { cgroupLimitBytes: undefined, heapLimitBytes: GIB };
      expect(() => decideMemoryBudget(limits, override)).toThrow(InvalidMemoryBudgetError);
      expect(() => decideMemoryBudget(limits, override)).toThrow(
        expect.objectContaining({ code: 'MEMORY_BUDGET_INVALID', failureType: 'config_error' }),
      );
    });
  });
});

describe(parseCgroupMemoryLimit, () => {
  it.each<[string | undefined, number | undefined]>([
    ['536870912\n', 536870912],
    ['max\n', undefined],
    ['9223372036854771712\n', undefined],
    [String(2 ** 50), undefined],
    ['0', undefined],
    ['', undefined],
    ['12abc', undefined],
    [undefined, undefined],
  ])('reads %j as %s', (text, expected) => {
    expect(parseCgroupMemoryLimit(text)).toBe(expected);
  });
});

describe(readMemoryLimits, () => {
  it('prefers the cgroup v2 file', () => {
    const { value } = sources({
      '/sys/fs/cgroup/memory.max': '1073741824\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': '536870912\n',
    });
    expect(readMemoryLimits(value)).toEqual({ cgroupLimitBytes: GIB, heapLimitBytes: 4 * GIB });
  });

  it('falls back to the cgroup v1 file when v2 has no limit', () => {
    const { value } = sources({
      '/sys/fs/cgroup/memory.max': 'max\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': '536870912\n',
    });
    expect(readMemoryLimits(value).cgroupLimitBytes).toBe(512 * MIB);
  });

  it('ignores a cgroup limit at or above the machine memory', () => {
    const { value } = sources({ '/sys/fs/cgroup/memory.max': String(16 * GIB) }, 4 * GIB, 16 * GIB);
    expect(readMemoryLimits(value).cgroupLimitBytes).toBeUndefined();
  });

  it('reports no cgroup limit when neither file can be read', () => {
    const { value } = sources({});
    expect(readMemoryLimits(value)).toEqual({
      cgroupLimitBytes: undefined,
      heapLimitBytes: 4 * GIB,
    });
  });
});

describe(defaultMemoryBudget, () => {
  it('applies the rule to the limits it reads', () => {
    const { value } = sources({ '/sys/fs/cgroup/memory.max': String(2 * GIB) }, 4 * GIB);
    expect(defaultMemoryBudget(undefined, value)).toMatchObject({
      bytes: 512 * MIB,
      source: 'cgroup',
    });
  });

  it('reads nothing when given an override', () => {
    const { value, read } = sources({});
    expect(defaultMemoryBudget(64 * MIB, value).bytes).toBe(64 * MIB);
    expect(read).toEqual([]);
  });

  it('works on the real process', () => {
    const decision = defaultMemoryBudget();
    expect(decision.bytes).toBeGreaterThanOrEqual(32 * MIB);
    expect(decision.bytes).toBeLessThanOrEqual(GIB);
  });
});

describe(describeMemoryBudget, () => {
  it('names the source, the fraction, the limit and the clamp', () => {
    expect(
      describeMemoryBudget(decideMemoryBudget({ cgroupLimitBytes: GIB, heapLimitBytes: 4 * GIB })),
    ).toBe('memory budget 256 MiB (0.25 of the cgroup memory limit 1024 MiB)');
    expect(
      describeMemoryBudget(
        decideMemoryBudget({ cgroupLimitBytes: undefined, heapLimitBytes: 8 * GIB }),
      ),
    ).toBe(
      'memory budget 1024 MiB (0.25 of the V8 heap limit 8192 MiB, lowered to the maximum 1024 MiB)',
    );
    expect(
      describeMemoryBudget(
        decideMemoryBudget({ cgroupLimitBytes: undefined, heapLimitBytes: 0 }, MIB),
      ),
    ).toBe('memory budget 1 MiB (override)');
  });
});

describe('the default-budget rule over any limits', () => {
  it('stays within [32 MiB, 1 GiB] and never above a quarter of a limit unless raised to the floor', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 1, max: 2 ** 49 }), { nil: undefined }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        (cgroupLimitBytes, heapLimitBytes) => {
          const decision = decideMemoryBudget({ cgroupLimitBytes, heapLimitBytes });
          expect(decision.bytes).toBeGreaterThanOrEqual(32 * MIB);
          expect(decision.bytes).toBeLessThanOrEqual(GIB);
          expect(Number.isSafeInteger(decision.bytes)).toBe(true);
          const tightest = Math.min(heapLimitBytes, cgroupLimitBytes ?? Number.POSITIVE_INFINITY);
          if (decision.clampedTo !== 'min')
            expect(decision.bytes).toBeLessThanOrEqual(tightest / 4);
          expect(decision.limitBytes).toBe(tightest);
        },
      ),
    );
  });
});
