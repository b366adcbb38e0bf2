/**
 * The default size of the memory budget: a pure rule over the memory limits of the process, and a
 * small reader of those limits (cgroup files, V8 heap statistics), so that the rule is testable.
 *
 * The rule (also in docs/memory.md):
 *   candidates = 1/4 of the V8 heap limit, and 1/4 of the cgroup memory limit when one is set;
 *   budget     = clamp(smallest candidate, 32 MiB, 1 GiB);
 *   an override (memory_budget_bytes / DESTKIT_MEMORY_BUDGET_BYTES) replaces the rule, unclamped.
 * Both limits are hard ceilings (the kernel kills the container at the cgroup limit, V8 aborts at
 * the heap limit), and buffered records also cost parsing and per-object overhead, hence a quarter.
 * A cgroup limit of "max", 0, unreadable, at least 1 PiB, or at least the machine's memory counts
 * as unset (cgroup v1 reports "unlimited" as a number close to 2^63).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { InvalidMemoryBudgetError } from './memory-budget.js';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

/** The constants of the default-budget rule. */
export const MEMORY_BUDGET_RULE = {
  /** Share of the cgroup memory limit. */
  cgroupFraction: 0.25,
  /** Share of the V8 heap limit (`heap_size_limit`). */
  heapFraction: 0.25,
  /** The smallest default budget. */
  minBytes: 32 * MIB,
  /** The largest default budget. */
  maxBytes: 1 * GIB,
  /** A cgroup limit at or above this is "no limit". */
  unsetCgroupLimitBytes: 2 ** 50,
} as const;

/** cgroup v2, then cgroup v1, memory limit files (as seen from inside a container). */
export const CGROUP_MEMORY_LIMIT_FILES = [
  '/sys/fs/cgroup/memory.max',
  '/sys/fs/cgroup/memory/memory.limit_in_bytes',
] as const;

/** The inputs of the rule. */
export interface MemoryLimits {
  /** The cgroup memory limit in bytes; `undefined` when none is set. */
  readonly cgroupLimitBytes: number | undefined;
  /** V8's `heap_size_limit` in bytes. */
  readonly heapLimitBytes: number;
}

export type MemoryBudgetSource = 'override' | 'cgroup' | 'heap';

/** The budget and how it was derived, for the startup log and the report. */
export interface MemoryBudgetDecision {
  readonly bytes: number;
  readonly source: MemoryBudgetSource;
  /** The limit the fraction was taken of; `undefined` for an override. */
  readonly limitBytes: number | undefined;
  /** The fraction applied; `undefined` for an override. */
  readonly fraction: number | undefined;
  /** Which bound of the clamp applied, if any. */
  readonly clampedTo: 'min' | 'max' | undefined;
}

/** The rule itself: pure. `override`, when given, must be a positive safe integer. */
export function decideMemoryBudget(
  limits: MemoryLimits,
  override?: number | undefined,
): MemoryBudgetDecision {
  if (override !== undefined) {
    if (!Number.isSafeInteger(override) || override < 1) {
      throw new InvalidMemoryBudgetError(override);
    }
    return {
      bytes: override,
      source: 'override',
      limitBytes: undefined,
      fraction: undefined,
      clampedTo: undefined,
    };
  }
  const rule = MEMORY_BUDGET_RULE;
  let source: MemoryBudgetSource = 'heap';
  let limitBytes = limits.heapLimitBytes;
  let fraction: number = rule.heapFraction;
  let raw = limitBytes * fraction;
  if (limits.cgroupLimitBytes !== undefined) {
    const fromCgroup = limits.cgroupLimitBytes * rule.cgroupFraction;
    if (fromCgroup <= raw) {
      source = 'cgroup';
      limitBytes = limits.cgroupLimitBytes;
      fraction = rule.cgroupFraction;
      raw = fromCgroup;
    }
  }
  const floored = Math.floor(raw);
  const bytes = Math.min(rule.maxBytes, Math.max(rule.minBytes, floored));
  const clampedTo = floored < rule.minBytes ? 'min' : floored > rule.maxBytes ? 'max' : undefined;
  return { bytes, source, limitBytes, fraction, clampedTo };
}

/**
 * Parses the content of a cgroup memory limit file: bytes, or `undefined` for no limit ("max",
 * empty, not a number, 0, or at least {@link MEMORY_BUDGET_RULE.unsetCgroupLimitBytes}).
 */
export function parseCgroupMemoryLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const bytes = Number(trimmed);
  if (bytes <= 0 || bytes >= MEMORY_BUDGET_RULE.unsetCgroupLimitBytes) return undefined;
  return bytes;
}

/** Where {@link readMemoryLimits} gets its inputs; replaceable in tests. */
export interface MemoryLimitsSources {
  /** The content of a file, or `undefined` when it cannot be read. */
  readFile(path: string): string | undefined;
  heapSizeLimit(): number;
  /** The machine's memory; a cgroup limit at or above it is no limit. */
  totalMemory(): number;
}

export const processMemoryLimitsSources: MemoryLimitsSources = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  heapSizeLimit: () => getHeapStatistics().heap_size_limit,
  totalMemory: () => totalmem(),
};

/** Reads the inputs of the rule: the first cgroup limit file that sets a limit, and V8's limit. */
export function readMemoryLimits(
  sources: MemoryLimitsSources = processMemoryLimitsSources,
): MemoryLimits {
  let cgroupLimitBytes: number | undefined;
  for (const path of CGROUP_MEMORY_LIMIT_FILES) {
    const bytes = parseCgroupMemoryLimit(sources.readFile(path));
    if (bytes !== undefined && bytes < sources.totalMemory()) {
      cgroupLimitBytes = bytes;
      break;
    }
  }
  return { cgroupLimitBytes, heapLimitBytes: sources.heapSizeLimit() };
}

/** The budget for this process: the override if given, else the rule over the current limits. */
export function defaultMemoryBudget(
  override?: number | undefined,
  sources: MemoryLimitsSources = processMemoryLimitsSources,
): MemoryBudgetDecision {
  // An override needs no limits: skip reading them.
  const limits: MemoryLimits =
    override === undefined
      ? readMemoryLimits(sources)
      : { cgroupLimitBytes: undefined, heapLimitBytes: 0 };
  return decideMemoryBudget(limits, override);
}

/** One line for the startup log, e.g. `memory budget 256 MiB (0.25 of the cgroup memory limit 1024 MiB)`. */
export function describeMemoryBudget(decision: MemoryBudgetDecision): string {
  const mib = (bytes: number) => `${Math.round((bytes / MIB) * 10) / 10} MiB`;
  if (decision.source === 'override') return `memory budget ${mib(decision.bytes)} (override)`;
  const limit = decision.source === 'cgroup' ? 'cgroup memory limit' : 'V8 heap limit';
  const clamp =
    decision.clampedTo === 'min'
      ? `, raised to the minimum ${mib(MEMORY_BUDGET_RULE.minBytes)}`
      : decision.clampedTo === 'max'
        ? `, lowered to the maximum ${mib(MEMORY_BUDGET_RULE.maxBytes)}`
        : '';
  return (
    `memory budget ${mib(decision.bytes)} (${decision.fraction} of the ${limit} ` +
    `${mib(decision.limitBytes ?? 0)}${clamp})`
  );
}
