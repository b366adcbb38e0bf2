/**
 * The status server on a real sync: a throttled dev-null run as a child process with
 * --status-port and --report; the test reads the live task tree, aborts the root through the
 * API, and checks the exit, the TRACE and the report.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog, record, streamState } from '../helpers/messages.js';
import { parseProtocolOutput } from '../helpers/protocol-schema.js';
import { runCli, writeJsonFiles } from '../helpers/run-cli.js';

type Task = {
  id: string;
  parentId: string | null;
  kind: string;
  state: string;
  progress: { completed: number };
};

async function waitForPort(stderr: () => string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const match = /"port":(\d+)[^\n]*status server listening/.exec(stderr());
    if (match) return Number(match[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the status server did not start');
}

describe('write --status-port', () => {
  it('serves the live task tree and cancels the sync through POST /tasks/:id/abort', async () => {
    const f = writeJsonFiles({
      'config.json': { mode: 'throttled', millis_per_batch: 200 },
      'catalog.json': catalog([{ name: 'users' }, { name: 'orders' }]),
    });
    const reportPath = join(f['config.json']!, '..', 'report.json');
    const input: string[] = [];
    for (let i = 0; i < 200; i++) {
      input.push(JSON.stringify(record(i % 2 ? 'users' : 'orders', { id: i })));
      if (i % 20 === 19) input.push(JSON.stringify(streamState(i % 2 ? 'users' : 'orders', { i })));
    }
    let stderr = '';
    let tree: Task[] = [];
    let abortStatus = 0;
    const result = await runCli(
      [
        'dev-null',
        'write',
        '--config',
        f['config.json']!,
        '--catalog',
        f['catalog.json']!,
        '--status-port',
        '0',
        '--report',
        reportPath,
      ],
      {
        keepStdinOpen: true,
        env: { DESTKIT_BATCH_SIZE_BYTES: '1' },
        onStart: (child) => {
          child.stderr!.on('data', (d: Buffer) => {
            stderr += d.toString();
          });
          // stdin stays open: the sync cannot end by itself
          child.stdin!.write(`${input.join('\n')}\n`);
          void (async () => {
            const port = await waitForPort(() => stderr);
            const base = `http://127.0.0.1:${port}`;
            let roots: Task[] = [];
            while (roots.length === 0)
              roots = (await (await fetch(`${base}/tasks?kind=sync`)).json()) as Task[];
            const rootId = roots[0]!.id;
            // wait until some records were processed, then read the tree
            for (;;) {
              tree = (await (await fetch(`${base}/tasks/${rootId}/recursive`)).json()) as Task[];
              if (tree.some((t) => t.kind === 'process-records')) break;
              await new Promise((r) => setTimeout(r, 50));
            }
            const abort = await fetch(`${base}/tasks/${rootId}/abort`, { method: 'POST' });
            abortStatus = abort.status;
          })();
        },
      },
    );
    expect(abortStatus).toBe(200);
    // breadth-first: every parent before its children, ids unique
    const seen = new Set<string>();
    expect(tree[0]?.kind).toBe('sync');
    for (const task of tree) {
      expect(seen.has(task.id)).toBe(false);
      if (task !== tree[0]) expect(seen.has(task.parentId!)).toBe(true);
      seen.add(task.id);
      expect(task).toHaveProperty('progress');
      expect(task).toHaveProperty('state');
    }
    expect(tree.map((t) => t.kind)).toEqual(
      expect.arrayContaining(['stream', 'input-consumer', 'process-records']),
    );

    expect(result.code).toBe(1);
    const messages = parseProtocolOutput(result.stdout) as any[];
    const traces = messages.filter((m) => m.type === 'TRACE');
    expect(traces).toHaveLength(1);
    expect(traces[0].trace.error.failure_type).toBe('transient_error');
    expect(traces[0].trace.error.message).toContain('cancelled');

    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.outcome).toBe('cancelled');
    expect(report.error.failureType).toBe('transient_error');
    expect(report.streams.map((s: { name: string }) => s.name).sort()).toEqual(['orders', 'users']);
    expect(report.totals.recordsRead).toBeGreaterThan(0);
    expect(stderr).toContain('destkit: sync cancelled');
  });
});
