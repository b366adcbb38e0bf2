/** The public API of the task runtime. */
export type { ChannelSnapshot, ChannelState } from './channel-snapshot.js';
export { type Clock, systemClock, type Timer } from './clock.js';
export { ManualClock } from './manual-clock.js';
export {
  CleanupFailedError,
  IllegalTransitionError,
  InvalidMeasurementError,
  NoCurrentTaskError,
  NotAbortableError,
  ParentNotRunningError,
  TaskCancelledError,
  TaskFinishedError,
  TaskNotFoundError,
} from './runtime-errors.js';
export {
  fetchStatusTree,
  renderStatusTree,
  type StatusClientOptions,
  StatusRequestError,
} from './status-client.js';
export { STATUS_SERVER_HOST, StatusServer, type StatusServerOptions } from './status-server.js';
export type {
  StreamKey,
  TaskBody,
  TaskCancellation,
  TaskError,
  TaskHandle,
  TaskProgress,
  TaskSpec,
  TaskStats,
  TaskStatus,
  TerminalCondition,
} from './task.js';
export {
  type CleanupHandler,
  currentTask,
  findCurrentTask,
  type TaskContext,
} from './task-context.js';
export type {
  TaskEvent,
  TaskEventListener,
  TaskProgressEvent,
  TaskStateEvent,
} from './task-events.js';
export {
  type KindStatus,
  type ShutdownOptions,
  type ShutdownResult,
  type TaskListFilter,
  TaskRegistry,
  type TaskRegistryOptions,
  type TtlSettings,
  type WaitResult,
} from './task-registry.js';
export {
  isTerminalState,
  TASK_STATES,
  TASK_TRANSITIONS,
  type TaskState,
  type TerminalTaskState,
} from './task-state.js';
export type { StatsDelta } from './task-stats.js';
