/**
 * The ambient context under arbitrary interleavings (fast-check scheduler): every await of every
 * concurrently running task — and of the children they start — sees its own context.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';
import { NoCurrentTaskError } from '../../src/runtime/runtime-errors.js';
import { currentTask, findCurrentTask } from '../../src/runtime/task-context.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';

describe('currentTask', () => {
  it('is isolated across concurrent awaits, in tasks and their children', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(
          fc.record({ steps: fc.nat(4), childSteps: fc.option(fc.nat(3), { nil: undefined }) }),
          { minLength: 1, maxLength: 5 },
        ),
        async (s, plans) => {
          const registry = new TaskRegistry({ clock: new ManualClock(), progressIntervalMs: 0 });
          const mismatches: string[] = [];
          const check = (expected: string, where: string): void => {
            const actual = findCurrentTask()?.id;
            if (actual !== expected)
              mismatches.push(`${where}: saw ${actual}, expected ${expected}`);
          };
          const run = async (label: string, steps: number): Promise<void> => {
            const id = currentTask().id;
            for (let i = 0; i < steps; i++) {
              await s.schedule(Promise.resolve(), `${label} step ${i}`);
              check(id, `${label} after await ${i}`);
              currentTask().updateProgress(i + 1);
            }
          };
          const handles = plans.map((plan, n) =>
            registry.start({ kind: 'work' }, async (ctx) => {
              ctx.onCleanup(() => check(ctx.id, `task ${n} cleanup`));
              const child =
                plan.childSteps === undefined
                  ? undefined
                  : ctx.startChild({ kind: 'child', unit: 'other' }, () =>
                      run(`task ${n} child`, plan.childSteps ?? 0),
                    );
              await run(`task ${n}`, plan.steps);
              if (child !== undefined) await child.done;
              check(ctx.id, `task ${n} after joining its child`);
            }),
          );
          const statuses = await s.waitFor(Promise.all(handles.map((h) => h.done)));
          expect(mismatches).toEqual([]);
          statuses.forEach((status, n) => {
            expect(status.state).toBe('completed');
            expect(status.ownProgress.completed).toBe(plans[n]!.steps);
          });
          expect(findCurrentTask()).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws outside any task, also after awaiting a task', async () => {
    const registry = new TaskRegistry({ clock: new ManualClock() });
    await registry.start({ kind: 'x' }, async () => {
      await Promise.resolve();
    }).done;
    expect(() => currentTask()).toThrow(NoCurrentTaskError);
  });
});
