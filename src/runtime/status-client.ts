/**
 * The client side of the status server, for `destkit status --port N [TASK_ID] [--recursive]`:
 * fetches task statuses from 127.0.0.1 and renders them as an indented text tree.
 */
import { SystemError } from '../errors/destkit-error.js';
import { STATUS_SERVER_HOST } from './status-server.js';
import type { TaskStatus } from './task.js';

export interface StatusClientOptions {
  /** With a task id: the task and all its descendants. Without: internal tasks too. */
  readonly recursive?: boolean;
  /** Aborts the request. Default: none. */
  readonly signal?: AbortSignal;
}

/** The status server answered with an error, or could not be reached. */
export class StatusRequestError extends SystemError {
  override readonly code = 'RUNTIME_STATUS_REQUEST_FAILED';
  constructor(
    message: string,
    readonly httpStatus: number | undefined,
    cause?: unknown,
  ) {
    super(message, { cause });
  }
}

/**
 * Fetches statuses from the server on `port`: one task (`taskId`), its subtree (`taskId` and
 * `recursive`), the visible tasks (neither), or every task including internal ones (`recursive`).
 */
export async function fetchStatusTree(
  port: number,
  taskId?: string,
  options: StatusClientOptions = {},
): Promise<TaskStatus[]> {
  const recursive = options.recursive ?? false;
  const path =
    taskId === undefined
      ? `/tasks${recursive ? '?internal=true' : ''}`
      : `/tasks/${encodeURIComponent(taskId)}${recursive ? '/recursive' : ''}`;
  const url = `http://${STATUS_SERVER_HOST}:${port}${path}`;
  let response: Response;
  try {
    response = await fetch(url, options.signal === undefined ? {} : { signal: options.signal });
  } catch (error) {
    throw new StatusRequestError(
      `cannot reach the status server on ${STATUS_SERVER_HOST}:${port}`,
      undefined,
      error,
    );
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const message =
      typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
        ? body.error
        : `HTTP ${response.status}`;
    throw new StatusRequestError(`status server: ${message}`, response.status);
  }
  if (Array.isArray(body)) return body as TaskStatus[];
  if (typeof body === 'object' && body !== null) return [body as TaskStatus];
  throw new StatusRequestError('status server: unexpected response body', response.status);
}

/**
 * Renders statuses as a tree, two spaces of indent per level, one line per task:
 * `kind [state] progress id`, plus the stream and the error when there is one. Tasks whose
 * parent is not in the list are drawn as roots; input order is kept among siblings.
 */
export function renderStatusTree(tasks: readonly TaskStatus[]): string {
  const ids = new Set(tasks.map((t) => t.id));
  const byParent = new Map<string | null, TaskStatus[]>();
  for (const task of tasks) {
    const parent = task.parentId !== null && ids.has(task.parentId) ? task.parentId : null;
    const siblings = byParent.get(parent) ?? [];
    siblings.push(task);
    byParent.set(parent, siblings);
  }
  const lines: string[] = [];
  const drawn = new Set<string>();
  const draw = (task: TaskStatus, depth: number): void => {
    if (drawn.has(task.id)) return;
    drawn.add(task.id);
    lines.push(`${'  '.repeat(depth)}${describeTask(task)}`);
    for (const child of byParent.get(task.id) ?? []) draw(child, depth + 1);
  };
  for (const root of byParent.get(null) ?? []) draw(root, 0);
  return lines.join('\n');
}

function describeTask(task: TaskStatus): string {
  const p = task.progress;
  const progress =
    p.total === undefined ? `${p.completed} ${p.unit}` : `${p.completed}/${p.total} ${p.unit}`;
  const parts = [task.kind, `[${task.state}]`, progress, task.id];
  if (task.stream !== null) {
    const s = task.stream;
    parts.splice(1, 0, s.namespace === undefined ? s.name : `${s.namespace}.${s.name}`);
  }
  if (task.error !== null) parts.push(`error: ${task.error.message}`);
  return parts.join(' ');
}
