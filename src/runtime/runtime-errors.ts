/**
 * The typed errors of the task runtime. Each has a stable `code` and structured fields; messages
 * name task ids and kinds, never payloads. All are system errors (defects or misuse), except
 * {@link TaskCancelledError}, which is the reason handed to a cancelled task's AbortSignal.
 */
import { SystemError } from '../errors/destkit-error.js';
import type { TaskState } from './task-state.js';

/** A state change that the transition table does not allow. Nothing was mutated. */
export class IllegalTransitionError extends SystemError {
  override readonly code = 'RUNTIME_ILLEGAL_TRANSITION';
  constructor(
    readonly taskId: string,
    readonly from: TaskState,
    readonly to: TaskState,
  ) {
    super(`task ${taskId} cannot move from ${from} to ${to}`);
  }
}

/** No task with this id is registered (never was, or it was drained or expired). */
export class TaskNotFoundError extends SystemError {
  override readonly code = 'RUNTIME_TASK_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`task ${taskId} not found (unknown, drained, past its TTL, or folded long ago)`);
  }
}

/** An abort request for a task whose `abortable` flag is false. Nothing was changed. */
export class NotAbortableError extends SystemError {
  override readonly code = 'RUNTIME_TASK_NOT_ABORTABLE';
  constructor(
    readonly taskId: string,
    readonly kind: string,
  ) {
    super(`task ${taskId} (${kind}) is not abortable`);
  }
}

/** `currentTask()` was called outside the body or a cleanup handler of a task. */
export class NoCurrentTaskError extends SystemError {
  override readonly code = 'RUNTIME_NO_CURRENT_TASK';
  constructor() {
    super('currentTask() was called outside a task body (no task context is active)');
  }
}

/** An operation that needs a live task was applied to a finished one. */
export class TaskFinishedError extends SystemError {
  override readonly code = 'RUNTIME_TASK_FINISHED';
  constructor(
    readonly taskId: string,
    readonly operation: string,
  ) {
    super(`cannot ${operation}: task ${taskId} has already finished`);
  }
}

/** A child was started under a task that has not started running yet. */
export class ParentNotRunningError extends SystemError {
  override readonly code = 'RUNTIME_PARENT_NOT_RUNNING';
  constructor(
    readonly taskId: string,
    readonly state: TaskState,
  ) {
    super(`cannot start a child under task ${taskId}: it is ${state}, not running`);
  }
}

/**
 * A progress or statistics update that is not a valid measurement: negative, not finite, or a
 * completed count above the total.
 */
export class InvalidMeasurementError extends SystemError {
  override readonly code = 'RUNTIME_INVALID_MEASUREMENT';
  constructor(
    readonly taskId: string,
    readonly problem: string,
  ) {
    super(`invalid measurement for task ${taskId}: ${problem}`);
  }
}

/** One or more cleanup handlers threw. `errors` holds every failure, in the order they ran. */
export class CleanupFailedError extends SystemError {
  override readonly code = 'RUNTIME_CLEANUP_FAILED';
  constructor(
    readonly taskId: string,
    readonly errors: readonly unknown[],
  ) {
    super(
      `${errors.length} cleanup handler(s) of task ${taskId} failed: ${errors
        .map((e) => (e instanceof Error ? e.message : String(e)))
        .join('; ')}`,
      { cause: errors[0] },
    );
  }
}

/** The reason of a cancelled task's AbortSignal; thrown by `throwIfCancelled()`. */
export class TaskCancelledError extends SystemError {
  override readonly code = 'RUNTIME_TASK_CANCELLED';
  constructor(
    readonly taskId: string,
    readonly reason: string,
  ) {
    super(`task ${taskId} was cancelled: ${reason}`);
  }
}
