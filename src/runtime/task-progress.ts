/**
 * Progress arithmetic, free of I/O. A task's own progress only moves forward: a lower
 * `completed` or `total` than already reported is ignored (concurrent reporters may race), and
 * an update whose `completed` exceeds the resulting total is rejected.
 *
 * Aggregation: a parent's progress is its own plus its children's (same unit only). A
 * contributor without a known total counts its `completed` as its total, so that
 * `completed ≤ total` holds for the sum; the sum has a total as soon as any contributor has one.
 */

/** One task's own progress, in its unit. */
export interface ProgressValue {
  readonly completed: number;
  readonly total: number | undefined;
}

/** A sum of contributions: `bound` = Σ (total ?? completed); `bounded` = any total known. */
export interface ProgressSum {
  readonly completed: number;
  readonly bound: number;
  readonly bounded: boolean;
}

export const ZERO_PROGRESS: ProgressValue = { completed: 0, total: undefined };
export const EMPTY_SUM: ProgressSum = { completed: 0, bound: 0, bounded: false };

/** The next own progress, or a problem description if the update is invalid. */
export function advanceProgress(
  current: ProgressValue,
  completed: number,
  total?: number,
): ProgressValue | string {
  if (!Number.isFinite(completed) || completed < 0) {
    return `completed must be a finite number ≥ 0, got ${completed}`;
  }
  if (total !== undefined && (!Number.isFinite(total) || total < 0)) {
    return `total must be a finite number ≥ 0, got ${total}`;
  }
  const nextCompleted = Math.max(current.completed, completed);
  const nextTotal =
    total === undefined
      ? current.total
      : current.total === undefined
        ? total
        : Math.max(current.total, total);
  if (nextTotal !== undefined && nextCompleted > nextTotal) {
    return `completed ${nextCompleted} exceeds total ${nextTotal}`;
  }
  return { completed: nextCompleted, total: nextTotal };
}

export function contribution(value: ProgressValue): ProgressSum {
  return {
    completed: value.completed,
    bound: value.total ?? value.completed,
    bounded: value.total !== undefined,
  };
}

export function addSums(a: ProgressSum, b: ProgressSum): ProgressSum {
  return {
    completed: a.completed + b.completed,
    bound: a.bound + b.bound,
    bounded: a.bounded || b.bounded,
  };
}

/** The `{completed, total?, unit}` shape of a sum. */
export function sumToProgress(
  sum: ProgressSum,
  unit: string,
): { completed: number; total?: number; unit: string } {
  return sum.bounded
    ? { completed: sum.completed, total: sum.bound, unit }
    : { completed: sum.completed, unit };
}
