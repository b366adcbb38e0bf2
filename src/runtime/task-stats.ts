/** Statistics arithmetic for tasks, free of I/O. */
import type { TaskStats } from './task.js';

/** What a task body may add to its statistics; every field defaults to 0. */
export interface StatsDelta {
  readonly records?: number;
  readonly bytes?: number;
  readonly blockedMs?: number;
}

export const EMPTY_STATS: TaskStats = { queueMs: 0, runMs: 0, blockedMs: 0, records: 0, bytes: 0 };

export function addStats(a: TaskStats, b: TaskStats): TaskStats {
  return {
    queueMs: a.queueMs + b.queueMs,
    runMs: a.runMs + b.runMs,
    blockedMs: a.blockedMs + b.blockedMs,
    records: a.records + b.records,
    bytes: a.bytes + b.bytes,
  };
}

/** A problem description if any field of `delta` is negative or not finite, else undefined. */
export function statsDeltaProblem(delta: StatsDelta): string | undefined {
  // A `for…in` over own keys, not Object.entries: no array per call (every batch adds stats).
  for (const field in delta) {
    if (!Object.hasOwn(delta, field)) continue;
    const value: unknown = (delta as Record<string, unknown>)[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      return `${field} must be a finite number ≥ 0, got ${String(value)}`;
    }
  }
  return undefined;
}
