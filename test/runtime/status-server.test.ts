import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelSnapshot } from '../../src/runtime/channel-snapshot.js';
import { StatusServer } from '../../src/runtime/status-server.js';
import type { TaskStatus } from '../../src/runtime/task.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { ControlledBody, settle } from './task-harness.js';

const channel: ChannelSnapshot = {
  name: 'records:public.users',
  state: 'blocked',
  in: 10,
  out: 4,
  buffered: 6,
  capacity: 6,
  highWaterMark: 6,
  blockedMs: 12,
  producers: 1,
};

let registry: TaskRegistry;
let server: StatusServer;
const bodies: ControlledBody[] = [];

async function call(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method,
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, json: await response.json(), headers: response.headers };
}

/** A running sync with a stream child (abortable) and a non-abortable internal child. */
async function startTree() {
  const root = new ControlledBody(true);
  const stream = new ControlledBody(true);
  const internal = new ControlledBody(true);
  bodies.push(root, stream, internal);
  const r = registry.start({ kind: 'sync', scope: 'sync' }, root.body);
  await settle();
  const s = root.ctx!.startChild(
    { kind: 'stream', scope: 'stream', stream: { namespace: 'public', name: 'users' } },
    stream.body,
  );
  const i = root.ctx!.startChild(
    { kind: 'heartbeat', internal: true, abortable: false },
    internal.body,
  );
  await settle();
  return { root: r, stream: s, internal: i };
}

beforeEach(async () => {
  registry = new TaskRegistry({ progressIntervalMs: 0, limits: { stream: 4 } });
  server = await StatusServer.start({ registry, listChannels: () => [channel] });
});

afterEach(async () => {
  for (const b of bodies.splice(0)) b.complete();
  await server.close();
  registry.close();
});

describe('StatusServer', () => {
  it('binds to 127.0.0.1 on the port it picked', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
  });

  it('GET /kinds lists kinds with limits and counts', async () => {
    await startTree();
    const { status, json } = await call('GET', '/kinds');
    expect(status).toBe(200);
    expect(json).toEqual([
      { kind: 'heartbeat', limit: 0, running: 1, pending: 0, tokens: 1 },
      { kind: 'stream', limit: 4, running: 1, pending: 0, tokens: 1 },
      { kind: 'sync', limit: 0, running: 1, pending: 0, tokens: 1 },
    ]);
  });

  it('GET /tasks hides internal tasks unless asked and filters by kind and stream', async () => {
    const { root, stream, internal } = await startTree();
    const ids = async (q: string) =>
      ((await call('GET', `/tasks${q}`)).json as TaskStatus[]).map((t) => t.id);
    expect(await ids('')).toEqual([root.id, stream.id]);
    expect(await ids('?internal=true')).toEqual([root.id, stream.id, internal.id]);
    expect(await ids('?kind=stream')).toEqual([stream.id]);
    expect(await ids('?stream=users&namespace=public')).toEqual([stream.id]);
    expect(await ids('?stream=users&namespace=other')).toEqual([]);
    expect((await call('GET', '/tasks?internal=yes')).status).toBe(400);
    expect((await call('GET', '/tasks?namespace=public')).status).toBe(400);
  });

  it('GET /tasks/:id returns a task with id, parentId, kind, state and progress; 404 when unknown', async () => {
    const { root, stream } = await startTree();
    const { status, json } = await call('GET', `/tasks/${stream.id}`);
    expect(status).toBe(200);
    expect(json).toMatchObject({
      id: stream.id,
      parentId: root.id,
      kind: 'stream',
      state: 'running',
      progress: { completed: 0, unit: 'items' },
    });
    const missing = await call('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: expect.stringContaining('01ARZ3NDEKTSV4RRFFQ69G5FAV') });
  });

  it('GET /tasks/:id/recursive lists the subtree breadth-first', async () => {
    const { root, stream, internal } = await startTree();
    const { json } = await call('GET', `/tasks/${root.id}/recursive`);
    expect((json as TaskStatus[]).map((t) => t.id)).toEqual([root.id, stream.id, internal.id]);
    const children = await call('GET', `/tasks/${root.id}/children`);
    expect((children.json as TaskStatus[]).map((t) => t.id)).toEqual([stream.id, internal.id]);
  });

  it('GET /tasks/:id/wait times out with the current status or returns the final one', async () => {
    const { stream } = await startTree();
    const timed = await call('GET', `/tasks/${stream.id}/wait?timeout=1`);
    expect(timed.json).toMatchObject({ timedOut: true, status: { state: 'running' } });
    const waiting = call('GET', `/tasks/${stream.id}/wait`);
    bodies[1]!.complete();
    expect((await waiting).json).toMatchObject({ timedOut: false, status: { state: 'completed' } });
    expect((await call('GET', `/tasks/${stream.id}/wait?timeout=soon`)).status).toBe(400);
  });

  it('POST /tasks/:id/abort answers 200, 409 when not abortable, 404 when unknown', async () => {
    const { stream, internal } = await startTree();
    const refused = await call('POST', `/tasks/${internal.id}/abort`);
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({ error: expect.stringContaining('not abortable') });
    expect(registry.get(internal.id).cancellation).toBeNull();
    const ok = await call(
      'POST',
      `/tasks/${stream.id}/abort`,
      JSON.stringify({ reason: 'operator' }),
    );
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ aborted: true });
    expect((await stream.done).cancellation).toEqual({
      phase: 'while-running',
      reason: 'operator',
    });
    expect((await call('POST', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV/abort')).status).toBe(404);
    expect((await call('POST', `/tasks/${stream.id}/abort`, '{"reason": 3}')).status).toBe(400);
    const wrong = await call('GET', `/tasks/${stream.id}/abort`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('GET /channels serves the channel snapshots', async () => {
    expect(await call('GET', '/channels')).toMatchObject({ status: 200, json: [channel] });
  });

  it('GET and PUT /ttl read and change retention; bad input is a 400', async () => {
    expect((await call('GET', '/ttl')).json).toEqual({ ttlMs: 3_600_000, userTtlMs: 3_600_000 });
    const put = await call('PUT', '/ttl', JSON.stringify({ ttlMs: 5_000 }));
    expect(put).toMatchObject({ status: 200, json: { ttlMs: 5_000, userTtlMs: 3_600_000 } });
    expect(registry.getTtl().ttlMs).toBe(5_000);
    expect((await call('PUT', '/ttl', '{"ttlMs": -1}')).status).toBe(400);
    expect((await call('PUT', '/ttl', '{"ttl": 1}')).status).toBe(400);
    expect((await call('PUT', '/ttl', 'not json')).status).toBe(400);
  });

  it('POST /drain removes finished roots only', async () => {
    const done = registry.start({ kind: 'sync' }, () => {});
    await done.done;
    const { root } = await startTree();
    const { json } = await call('POST', '/drain');
    expect(json).toEqual({ drained: [done.id] });
    expect(registry.find(done.id)).toBeUndefined();
    expect(registry.find(root.id)).toBeDefined();
  });

  it('answers 404 for unknown routes', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect((await call('GET', '/tasks/x/y/z')).status).toBe(404);
  });

  it('GET /events streams task events as server-sent events until close', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/events`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const first = await reader.read(); // the opening comment: the subscription is live
    text += first.value ?? '';
    const handle = registry.start({ kind: 'setup' }, () => {});
    await handle.done;
    while (!text.includes(`"taskId":"${handle.id}","from":"running","to":"completed"`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const frames = text.split('\n\n').filter((f) => f.startsWith('id: '));
    expect(frames.map((f) => f.split('\n')[1])).toEqual([
      'event: state',
      'event: state',
      'event: state',
      'event: state',
    ]);
    const tos = frames.map((f) => JSON.parse(f.split('\n')[2]!.slice('data: '.length)).to);
    expect(tos).toEqual(['created', 'pending', 'running', 'completed']);
    await server.close();
    let ended = false;
    for (;;) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) {
        ended = true;
        break;
      }
    }
    expect(ended).toBe(true);
  });
});
