import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchStatusTree,
  renderStatusTree,
  StatusRequestError,
} from '../../src/runtime/status-client.js';
import { StatusServer } from '../../src/runtime/status-server.js';
import type { TaskStatus } from '../../src/runtime/task.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { ControlledBody, settle } from './task-harness.js';

function status(partial: Partial<TaskStatus> & Pick<TaskStatus, 'id' | 'kind'>): TaskStatus {
  return {
    scope: 'task',
    parentId: null,
    stream: null,
    state: 'running',
    abortable: true,
    internal: false,
    userStarted: false,
    failTask: false,
    terminalCondition: 'self-terminating',
    idempotencyKey: null,
    progress: { completed: 0, unit: 'items' },
    ownProgress: { completed: 0, unit: 'items' },
    payload: {},
    error: null,
    cancellation: null,
    createdAt: 0,
    startedAt: 0,
    endedAt: null,
    stats: { queueMs: 0, runMs: 0, blockedMs: 0, records: 0, bytes: 0 },
    foldedStats: { queueMs: 0, runMs: 0, blockedMs: 0, records: 0, bytes: 0 },
    folded: false,
    children: [],
    childCounts: { created: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
    ...partial,
  };
}

describe('renderStatusTree', () => {
  it('draws children under their parent, indented, with kind, state, progress and id', () => {
    const text = renderStatusTree([
      status({ id: 'R', kind: 'sync', progress: { completed: 120, total: 500, unit: 'records' } }),
      status({
        id: 'S1',
        kind: 'stream',
        parentId: 'R',
        stream: { namespace: 'public', name: 'users' },
        progress: { completed: 100, total: 300, unit: 'records' },
      }),
      status({
        id: 'B1',
        kind: 'batch',
        parentId: 'S1',
        state: 'failed',
        error: { message: 'disk full' },
      }),
      status({ id: 'S2', kind: 'stream', parentId: 'R', stream: { name: 'orders' } }),
      status({ id: 'X', kind: 'orphan', parentId: 'missing', state: 'completed' }),
    ]);
    expect(text).toBe(
      [
        'sync [running] 120/500 records R',
        '  stream public.users [running] 100/300 records S1',
        '    batch [failed] 0 items B1 error: disk full',
        '  stream orders [running] 0 items S2',
        'orphan [completed] 0 items X',
      ].join('\n'),
    );
  });

  it('renders nothing for no tasks', () => {
    expect(renderStatusTree([])).toBe('');
  });
});

describe('fetchStatusTree', () => {
  const registry = new TaskRegistry({ progressIntervalMs: 0 });
  const root = new ControlledBody();
  let server: StatusServer;
  let rootId = '';
  let childId = '';
  let internalId = '';

  beforeAll(async () => {
    server = await StatusServer.start({ registry });
    rootId = registry.start({ kind: 'sync' }, root.body).id;
    await settle();
    childId = root.ctx!.startChild({ kind: 'stream' }, () => new Promise(() => {})).id;
    internalId = root.ctx!.startChild(
      { kind: 'tick', internal: true },
      () => new Promise(() => {}),
    ).id;
    await settle();
  });

  afterAll(async () => {
    await server.close();
    registry.close();
  });

  it('fetches one task, a subtree, the visible tasks or every task', async () => {
    const ids = (tasks: TaskStatus[]) => tasks.map((t) => t.id);
    expect(ids(await fetchStatusTree(server.port, childId))).toEqual([childId]);
    expect(ids(await fetchStatusTree(server.port, rootId, { recursive: true }))).toEqual([
      rootId,
      childId,
      internalId,
    ]);
    expect(ids(await fetchStatusTree(server.port))).toEqual([rootId, childId]);
    expect(ids(await fetchStatusTree(server.port, undefined, { recursive: true }))).toEqual([
      rootId,
      childId,
      internalId,
    ]);
  });

  it('throws StatusRequestError with the server message for an unknown task', async () => {
    const error = await fetchStatusTree(server.port, 'nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatusRequestError);
    expect(error).toMatchObject({ httpStatus: 404, message: expect.stringContaining('nope') });
  });

  it('throws StatusRequestError when nothing listens on the port', async () => {
    const other = await StatusServer.start({ registry });
    const port = other.port;
    await other.close();
    const error = await fetchStatusTree(port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatusRequestError);
    expect(error).toMatchObject({ httpStatus: undefined, code: 'RUNTIME_STATUS_REQUEST_FAILED' });
  });
});
