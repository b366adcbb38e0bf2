import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { SecretRedactor } from '../../src/config/secret-redactor.js';
import { buildSyncReport } from '../../src/pipeline/sync-report.js';
import type { TaskStatus } from '../../src/runtime/task.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { createMockDestination, MockBackend } from '../../src/testkit/mock-destination.js';
import { runPipeline } from '../../src/testkit/run-pipeline.js';
import { catalog, record, status } from '../helpers/messages.js';

describe(buildSyncReport, () => {
  describe('when more tasks finished than the registry keeps folded statuses of', () => {
    // Regression, fixed: the report read each stream task's times with `registry.find`, which
    // knows a finished child only among the last `foldedStatusLimit` folded tasks. With many
    // batch tasks the earlier streams' statuses were evicted and they reported 0 ms.
    it("reports every stream's queue, run and blocked times from its task", async () => {
      const registry = new TaskRegistry({ foldedStatusLimit: 3 });
      const finished = new Map<string, TaskStatus>();
      registry.subscribe((event) => {
        if (event.type === 'state' && event.status.kind === 'stream' && event.to === 'completed')
          finished.set(event.taskId, event.status);
      });
      const names = ['a', 'b', 'c', 'd', 'e'];
      const messages: unknown[] = [];
      for (const name of names) {
        for (let id = 0; id < 4; id++) messages.push(record(name, { id }));
        messages.push(status(name, 'COMPLETE'));
      }
      const backend = new MockBackend();
      const { definition } = createMockDestination(
        { delayMs: (call) => (call.method === 'processRecords' ? 2 : 0) },
        backend,
      );
      const run = await runPipeline({
        definition,
        catalog: catalog(names.map((name) => ({ name }))),
        input: messages.map((m) => JSON.stringify(m)),
        knobs: { batchSizeBytes: 1 },
        registry,
      });
      registry.close();
      expect(run.outcome.status).toBe('succeeded');

      const summaries = run.launcher.streamSummaries();
      // The premise: the registry no longer knows some of the stream tasks.
      expect(summaries.filter((s) => registry.find(s.taskId ?? '') === undefined)).not.toEqual([]);
      const report = buildSyncReport({
        connector: 'mock',
        startedAt: 0,
        endedAt: 1,
        outcome: run.outcome,
        streams: summaries,
        registry,
        rootId: run.outcome.rootId,
        channels: [],
        memory: undefined,
        redactor: new SecretRedactor(),
      });
      expect(report.streams.map((s) => s.name)).toEqual(names);
      const expected = summaries.map((s) => {
        const task = finished.get(s.taskId ?? '');
        expect(task).toBeDefined();
        return {
          name: s.stream.name,
          queueMs: Math.round(task!.foldedStats.queueMs + task!.stats.queueMs),
          runMs: Math.round(task!.foldedStats.runMs),
          blockedMs: Math.round(task!.foldedStats.blockedMs + task!.stats.blockedMs),
        };
      });
      expect(
        report.streams.map(({ name, queueMs, runMs, blockedMs }) => ({
          name,
          queueMs,
          runMs,
          blockedMs,
        })),
      ).toEqual(expected);
      // Four processRecords calls of at least 2 ms each ran under every stream.
      for (const s of report.streams) expect(s.runMs).toBeGreaterThanOrEqual(8);
    });
  });
});
