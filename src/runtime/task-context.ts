/**
 * The ambient task context: inside a task body (and its cleanup handlers), `currentTask()`
 * returns the running task's context through `AsyncLocalStorage`, so code deep in a call chain
 * can report progress or check for cancellation without threading a parameter. Each body runs in
 * its own store, so concurrent tasks never see each other's context across awaits.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { NoCurrentTaskError } from './runtime-errors.js';
import type { TaskBody, TaskHandle, TaskSpec } from './task.js';
import type { StatsDelta } from './task-stats.js';

/** A cleanup handler; may be async. */
export type CleanupHandler = () => unknown;

/** A running task's view of itself. Call its methods on it (`task.addStats(…)`), not detached. */
export interface TaskContext {
  readonly id: string;
  readonly kind: string;
  /** Fires when the task is cancelled; its `reason` is a `TaskCancelledError`. */
  readonly signal: AbortSignal;
  /** True once a cancellation was requested. */
  isCancelled(): boolean;
  /** Throws `TaskCancelledError` if a cancellation was requested. */
  throwIfCancelled(): void;
  /**
   * Reports own progress. Monotonic: a `completed` or `total` lower than already reported is
   * ignored; `completed` above the (resulting) total throws `InvalidMeasurementError`.
   */
  updateProgress(completed: number, total?: number): void;
  /** Adds to the task's counters (records, bytes, blocked time). */
  addStats(delta: StatsDelta): void;
  /**
   * SHALLOW MERGE into the payload: each key of `patch` replaces the key of the same name
   * (nested objects are replaced, not merged); a key whose value is `undefined` is removed.
   */
  setPayload(patch: Readonly<Record<string, unknown>>): void;
  /**
   * Registers a cleanup handler. Handlers run once the body has settled and the task's children
   * have ended, whatever the outcome: exactly once each, last registered first, all of them even
   * if some throw. A failing handler makes the task `failed`.
   */
  onCleanup(fn: CleanupHandler): void;
  /** Starts a child of this task (see `TaskRegistry.start`). */
  startChild(spec: Omit<TaskSpec, 'parentId'>, body: TaskBody): TaskHandle;
}

const storage = new AsyncLocalStorage<TaskContext>();

/** The context of the task whose body is running; throws `NoCurrentTaskError` outside one. */
export function currentTask(): TaskContext {
  const ctx = storage.getStore();
  if (ctx === undefined) throw new NoCurrentTaskError();
  return ctx;
}

/** Like {@link currentTask}, but returns undefined outside a task. */
export function findCurrentTask(): TaskContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `ctx` as the ambient task context. For the registry's use. */
export function runInTaskContext<T>(ctx: TaskContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/**
 * Runs `fn` outside any task context, for a registry without an ambient context. Costs nothing
 * while no registry has ever run a body in a context: the storage is then not enabled, and
 * Node runs no promise hook for it.
 */
export function runOutsideTaskContext<T>(fn: () => T): T {
  return storage.exit(fn);
}
