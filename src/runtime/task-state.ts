/**
 * The task lifecycle, written down once: the states, the transition table, and the one function
 * that validates a transition before anything is mutated.
 *
 * A task is `created` when the registry records it and immediately asks for admission, becoming
 * `pending` while it waits for a concurrency token of its kind. With a token it becomes `running`
 * and its body runs. It ends in exactly one of three terminal states, which absorb (no transition
 * leaves them):
 *   - `completed`: the body returned and every cleanup handler succeeded;
 *   - `failed`: the body threw, or a cleanup handler threw;
 *   - `cancelled`: an abort (or the runtime's own shutdown) was requested before the body
 *     settled. A task cancelled while `created` or `pending` never runs its body.
 * `pending → failed` is in the table for admission failures; the registry does not use it today.
 *
 * ```
 * created ──► pending ──► running ──► completed | failed | cancelled
 *    │           │  └──────────────► failed
 *    └───────────┴──────────────────► cancelled
 * ```
 */
import { IllegalTransitionError } from './runtime-errors.js';

export type TaskState = 'created' | 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export type TerminalTaskState = 'completed' | 'failed' | 'cancelled';

/** Every state, in lifecycle order. */
export const TASK_STATES: readonly TaskState[] = [
  'created',
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
];

/** The transition table: for each state, the states it may move to. */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  created: ['pending', 'cancelled'],
  pending: ['running', 'cancelled', 'failed'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function isTerminalState(state: TaskState): state is TerminalTaskState {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** Throws {@link IllegalTransitionError} unless `from → to` is in the table. Call it first. */
export function assertTransition(taskId: string, from: TaskState, to: TaskState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(taskId, from, to);
}
