/**
 * Progress: the arithmetic (monotonic own progress, sums that keep completed ≤ total) and the
 * throttled progress events (at most one per task per interval, the last value always
 * delivered: after the interval, and at the latest just before the terminal state event).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';
import type { TaskProgress } from '../../src/runtime/task.js';
import type { TaskEvent } from '../../src/runtime/task-events.js';
import {
  addSums,
  advanceProgress,
  contribution,
  EMPTY_SUM,
  type ProgressValue,
  sumToProgress,
  ZERO_PROGRESS,
} from '../../src/runtime/task-progress.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { ControlledBody, settle } from './task-harness.js';

const update = fc.record({
  completed: fc.oneof(fc.nat(50), fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY)),
  total: fc.option(fc.oneof(fc.nat(60), fc.constant(-3)), { nil: undefined }),
});

describe('advanceProgress', () => {
  it('only moves forward, keeps completed ≤ total, and rejects invalid input unchanged', () => {
    fc.assert(
      fc.property(fc.array(update, { maxLength: 30 }), (updates) => {
        let current: ProgressValue = ZERO_PROGRESS;
        for (const u of updates) {
          const next = advanceProgress(current, u.completed, u.total);
          if (typeof next === 'string') {
            const valid =
              Number.isFinite(u.completed) &&
              u.completed >= 0 &&
              (u.total === undefined || u.total >= 0);
            const total =
              u.total === undefined ? current.total : Math.max(current.total ?? 0, u.total);
            expect(
              !valid || (total !== undefined && Math.max(current.completed, u.completed) > total),
            ).toBe(true);
            continue;
          }
          expect(next.completed).toBeGreaterThanOrEqual(current.completed);
          if (current.total !== undefined) expect(next.total).toBeGreaterThanOrEqual(current.total);
          if (next.total !== undefined) expect(next.completed).toBeLessThanOrEqual(next.total);
          current = next;
        }
      }),
    );
  });

  it('sums contributions so that completed ≤ total whenever a total is known', () => {
    const value = fc
      .tuple(fc.nat(100), fc.option(fc.nat(100), { nil: undefined }))
      .map(
        ([a, b]): ProgressValue =>
          b === undefined
            ? { completed: a, total: undefined }
            : { completed: Math.min(a, b), total: b },
      );
    fc.assert(
      fc.property(fc.array(value), (values) => {
        const sum = values.map(contribution).reduce(addSums, EMPTY_SUM);
        const p = sumToProgress(sum, 'u');
        expect(p.completed).toBe(values.reduce((n, v) => n + v.completed, 0));
        expect(p.total === undefined).toBe(values.every((v) => v.total === undefined));
        if (p.total !== undefined) expect(p.completed).toBeLessThanOrEqual(p.total);
      }),
    );
  });
});

type Op = { op: 'own' | 'child'; inc: number; raise: boolean } | { op: 'tick'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('own' as const, 'child' as const),
    inc: fc.integer({ min: 1, max: 4 }),
    raise: fc.boolean(),
  }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }) }),
);

describe('progress events', () => {
  it('are throttled per task, monotonic, and end with the final value before the terminal event', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 5, 20),
        fc.array(op, { maxLength: 40 }),
        async (interval, ops) => {
          const clock = new ManualClock(0);
          const registry = new TaskRegistry({ clock, progressIntervalMs: interval });
          const events: TaskEvent[] = [];
          registry.subscribe((e) => events.push(e));
          const root = new ControlledBody();
          const r = registry.start({ kind: 'sync', unit: 'records' }, root.body);
          await settle();
          const child = new ControlledBody();
          const c = root.ctx!.startChild({ kind: 'stream', unit: 'records' }, child.body);
          await settle();
          const own: Record<'root' | 'child', { completed: number; total: number | undefined }> = {
            root: { completed: 0, total: undefined },
            child: { completed: 0, total: undefined },
          };
          let lastUpdateAt = 0;
          for (const o of ops) {
            if (o.op === 'tick') {
              clock.advance(o.ms);
              await settle();
              if (interval > 0 && clock.now() - lastUpdateAt >= interval) {
                // Eventual delivery: the interval has passed since the last change.
                for (const id of [r.id, c.id]) {
                  expect(lastProgress(events, id) ?? { completed: 0, unit: 'records' }).toEqual(
                    registry.get(id).progress,
                  );
                }
              }
              continue;
            }
            const target = o.op === 'own' ? own.root : own.child;
            const ctx = o.op === 'own' ? root.ctx! : child.ctx!;
            target.completed += o.inc;
            if (o.raise || (target.total ?? 0) < target.completed) {
              target.total = Math.max(target.total ?? 0, target.completed + o.inc);
            }
            ctx.updateProgress(target.completed, target.total);
            lastUpdateAt = clock.now();
            await settle();
          }
          child.complete();
          await c.done;
          root.complete();
          const final = await r.done;
          for (const id of [r.id, c.id]) {
            const progressEvents = events.filter(
              (e): e is Extract<TaskEvent, { type: 'progress' }> =>
                e.type === 'progress' && e.taskId === id,
            );
            const terminalEvent = events.find(
              (e) => e.type === 'state' && e.taskId === id && e.to === 'completed',
            );
            for (let i = 1; i < progressEvents.length; i++) {
              const [a, b] = [progressEvents[i - 1]!, progressEvents[i]!];
              // The terminal flush is the one exception to the throttle.
              const flushedAtEnd = i === progressEvents.length - 1 && b.at === terminalEvent?.at;
              if (!flushedAtEnd) expect(b.at - a.at).toBeGreaterThanOrEqual(interval);
              expect(b.progress.completed).toBeGreaterThanOrEqual(a.progress.completed);
              expect(b.progress.total ?? 0).toBeGreaterThanOrEqual(a.progress.total ?? 0);
            }
            const terminalAt = events.findIndex(
              (e) => e.type === 'state' && e.taskId === id && e.to === 'completed',
            );
            const lastBefore = events
              .slice(0, terminalAt)
              .filter((e) => e.type === 'progress' && e.taskId === id)
              .at(-1);
            const expected =
              id === r.id
                ? final.progress
                : (events[terminalAt] as { status: { progress: TaskProgress } }).status.progress;
            if (expected.completed > 0) {
              expect(lastBefore?.type === 'progress' ? lastBefore.progress : undefined).toEqual(
                expected,
              );
            }
            expect(
              events.slice(terminalAt + 1).some((e) => e.type === 'progress' && e.taskId === id),
            ).toBe(false);
          }
          // The root sums its own progress and the child's (same unit), folded or not.
          const totals = [own.root, own.child];
          expect(final.progress).toEqual({
            completed: own.root.completed + own.child.completed,
            ...(totals.every((t) => t.total === undefined)
              ? {}
              : { total: totals.reduce((n, t) => n + (t.total ?? t.completed), 0) }),
            unit: 'records',
          });
          registry.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});

function lastProgress(events: readonly TaskEvent[], id: string): TaskProgress | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'progress' && e.taskId === id) return e.progress;
  }
  return undefined;
}
