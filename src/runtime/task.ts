/**
 * The task model: what a caller asks for (`TaskSpec`) and what a status read returns
 * (`TaskStatus`). Every status is a fresh copy, JSON-serializable when the payload is; holding
 * one never pins or changes the task (payload values are shared: treat them as read-only).
 *
 * Terms:
 * - **task**: one unit of work run by the {@link TaskRegistry}, with a body (an async function).
 * - **root**: a task without a parent (a sync). Finished roots are kept for a TTL.
 * - **kind**: what the task does (`setup`, `process-records`…); admission limits are per kind.
 * - **scope**: the level of the tree it works at (`sync`, `stream`, `batch`…); informative only.
 * - **token**: the right to run, one per running task of a limited kind (see AdmissionControl).
 * - **folding**: when a non-root task finishes, its stats and progress are added into its parent
 *   ("folded stats"/"folded progress") and it leaves the listings, unless it failed or has a
 *   failed descendant: such tasks stay reachable with their path from the root.
 * - **terminal condition**: when the task is expected to end (see {@link TerminalCondition}).
 * - **user-started**: started by a person through an API; kept for `userTtlMs` instead of `ttlMs`.
 */
import type { FailureType } from '../errors/destkit-error.js';
import type { TaskContext } from './task-context.js';
import type { TaskState } from './task-state.js';

/**
 * When a task is expected to end, which decides what `shutdown` does with it:
 * - `until-end-of-sync`: runs until told to stop (flush ticks, heartbeat); cancelled on success
 *   and on failure;
 * - `until-failure-only`: cancelled on failure, must end by itself on success (input consumer);
 * - `self-terminating`: ends by itself (setup, open/close stream, teardown, fail tasks); joined,
 *   and cancelled on failure unless it is a fail task.
 */
export type TerminalCondition = 'until-end-of-sync' | 'until-failure-only' | 'self-terminating';

/** The stream a task works on. */
export interface StreamKey {
  readonly name: string;
  readonly namespace?: string | undefined;
}

/** Progress in one unit. `total` is absent while unknown; `completed ≤ total` when present. */
export interface TaskProgress {
  readonly completed: number;
  readonly total?: number;
  readonly unit: string;
}

/** Statistics of one task. Times are milliseconds; the rest are counts. */
export interface TaskStats {
  /** Time from creation to start (or to the end, for a task cancelled before it started). */
  readonly queueMs: number;
  /** Time from start to end (to now, while running); 0 if it never started. */
  readonly runMs: number;
  /** Time spent blocked on backpressure, as reported by the task. */
  readonly blockedMs: number;
  readonly records: number;
  readonly bytes: number;
}

/** The recorded (redacted) error of a failed task. */
export interface TaskError {
  readonly message: string;
  /** The thrown error's `code`, when it has a string one (destkit errors always do). */
  readonly code?: string;
  readonly failureType?: FailureType;
  /** Later failures (cleanup handlers), attached to the first, never lost. */
  readonly suppressed?: readonly TaskError[];
}

/** How a cancellation reached the task. */
export interface TaskCancellation {
  /** `before-start`: the body never ran. `while-running`: the AbortSignal fired. */
  readonly phase: 'before-start' | 'while-running';
  readonly reason: string;
}

export interface TaskSpec {
  /** Required, non-empty: what the task does. */
  readonly kind: string;
  /** The level of the tree. Default `'task'`. */
  readonly scope?: string;
  /** The parent task; absent or null for a root. The parent must be running. */
  readonly parentId?: string | null;
  /** The stream the task works on. Default: none. */
  readonly stream?: StreamKey;
  /** Whether `abort()` (and the status server) may cancel it. Default `true`. */
  readonly abortable?: boolean;
  /** Hidden from `list()` unless asked for. Default `false`. */
  readonly internal?: boolean;
  /** The unit of its progress; a parent sums only children of its own unit. Default `'items'`. */
  readonly unit?: string;
  /** The initial progress total. Default: unknown. */
  readonly total?: number;
  /** The initial payload. Default `{}`. */
  readonly payload?: Readonly<Record<string, unknown>>;
  /** While a task with this key is active, `start` returns that task instead. Default: none. */
  readonly idempotencyKey?: string;
  /** Default `'self-terminating'`. */
  readonly terminalCondition?: TerminalCondition;
  /** Started by a person through an API (kept for `userTtlMs`). Default `false`. */
  readonly userStarted?: boolean;
  /** A fail task: `shutdown` on failure leaves it (and its subtree) running. Default `false`. */
  readonly failTask?: boolean;
}

/** The body of a task. Its return value is ignored: results go in the payload. */
export type TaskBody = (ctx: TaskContext) => unknown;

export interface TaskStatus {
  readonly id: string;
  readonly kind: string;
  readonly scope: string;
  readonly parentId: string | null;
  readonly stream: StreamKey | null;
  readonly state: TaskState;
  readonly abortable: boolean;
  readonly internal: boolean;
  readonly userStarted: boolean;
  readonly failTask: boolean;
  readonly terminalCondition: TerminalCondition;
  readonly idempotencyKey: string | null;
  /** Own progress plus the progress of every child of the same unit (live or folded). */
  readonly progress: TaskProgress;
  /** The task's own reported progress. */
  readonly ownProgress: TaskProgress;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Set when (and only when) the task failed. */
  readonly error: TaskError | null;
  /** Set when a cancellation was requested before the body settled. */
  readonly cancellation: TaskCancellation | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  /** The task's own statistics. */
  readonly stats: TaskStats;
  /** Sum of the statistics (own + folded) of its finished children. */
  readonly foldedStats: TaskStats;
  /** True for a finished child: its stats and progress were folded into its parent. */
  readonly folded: boolean;
  /** Ids of the children still registered: live ones and failure paths. */
  readonly children: readonly string[];
  /** How many children (ever started) are in each state, folded ones included. */
  readonly childCounts: Readonly<Record<TaskState, number>>;
}

/** What `start` returns. `done` never rejects: it resolves with the final status. */
export interface TaskHandle {
  readonly id: string;
  readonly done: Promise<TaskStatus>;
  /** True when an active task with the same idempotency key was returned instead. */
  readonly deduplicated: boolean;
}
