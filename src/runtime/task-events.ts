/**
 * The events a registry emits, in one sequence (`seq` increases by one per event). A state
 * event is emitted after each state change of a task, the first one (`from: null`) when it is
 * created; `status` is the task's status right after that change. Progress events are
 * throttled per task; the last value is always delivered, at the latest just before the task's
 * terminal state event. Events are made only while at least one listener is subscribed (a sync
 * with thousands of batch tasks builds no statuses for nobody): the first event a registry
 * makes has `seq` 1, and a listener that subscribes late still gets each task's last progress.
 */
import type { TaskProgress, TaskStatus } from './task.js';
import type { TaskState } from './task-state.js';

export interface TaskStateEvent {
  readonly type: 'state';
  readonly seq: number;
  readonly taskId: string;
  readonly from: TaskState | null;
  readonly to: TaskState;
  readonly at: number;
  readonly status: TaskStatus;
}

export interface TaskProgressEvent {
  readonly type: 'progress';
  readonly seq: number;
  readonly taskId: string;
  readonly at: number;
  /** The aggregated progress (own + children of the same unit). */
  readonly progress: TaskProgress;
}

export type TaskEvent = TaskStateEvent | TaskProgressEvent;

/** Called synchronously, outside any registry mutation; may call back into the registry. */
export type TaskEventListener = (event: TaskEvent) => void;
