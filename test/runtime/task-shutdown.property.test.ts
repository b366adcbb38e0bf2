/**
 * `shutdown` by terminal condition: on success only until-end-of-sync tasks (and their subtrees)
 * are cancelled; on failure everything but fail tasks (their subtrees and their ancestors, whose
 * return would cancel them). Whatever has not
 * ended when the grace period runs out is reported, and nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';
import type { TerminalCondition } from '../../src/runtime/task.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { ControlledBody, settle } from './task-harness.js';

const node = fc.record({
  terminalCondition: fc.constantFrom<TerminalCondition>(
    'until-end-of-sync',
    'until-failure-only',
    'self-terminating',
  ),
  failTask: fc.boolean(),
  honorsAbort: fc.boolean(),
  abortable: fc.boolean(),
});

describe('TaskRegistry.shutdown', () => {
  it('cancels by terminal condition and reports what outlives the grace period', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('success' as const, 'failure' as const),
        fc.array(fc.record({ child: node, grandchild: fc.option(node, { nil: undefined }) }), {
          maxLength: 6,
        }),
        async (outcome, plan) => {
          const clock = new ManualClock();
          const registry = new TaskRegistry({ clock });
          const root = new ControlledBody();
          const r = registry.start({ kind: 'sync' }, root.body);
          await settle();
          interface Entry {
            body: ControlledBody;
            expectCancel: boolean;
            id: string;
            children: Entry[];
          }
          const all: Entry[] = [];
          for (const { child, grandchild } of plan) {
            const body = new ControlledBody(child.honorsAbort);
            const { honorsAbort: _, ...spec } = child;
            const c = root.ctx!.startChild({ kind: 'child', ...spec }, body.body);
            const cancelChild =
              outcome === 'success'
                ? child.terminalCondition === 'until-end-of-sync'
                : !child.failTask && grandchild?.failTask !== true;
            const entry: Entry = { body, expectCancel: cancelChild, id: c.id, children: [] };
            all.push(entry);
            await settle();
            if (grandchild !== undefined) {
              const g = new ControlledBody(grandchild.honorsAbort);
              const { honorsAbort: __, ...gspec } = grandchild;
              const h = body.ctx!.startChild({ kind: 'grandchild', ...gspec }, g.body);
              const cancelGrandchild =
                outcome === 'success'
                  ? cancelChild || grandchild.terminalCondition === 'until-end-of-sync'
                  : !child.failTask && !grandchild.failTask;
              const sub: Entry = {
                body: g,
                expectCancel: cancelGrandchild,
                id: h.id,
                children: [],
              };
              entry.children.push(sub);
              all.push(sub);
            }
          }
          await settle();
          const result = registry.shutdown(r.id, { outcome, graceMs: 100 });
          await settle();
          for (const t of all) expect(t.body.ctx?.signal.aborted).toBe(t.expectCancel);
          clock.advance(100);
          const { stillRunning } = await result;
          // A task ends once its body has settled and its children have ended.
          const ended = (t: Entry): boolean =>
            t.expectCancel && t.body.settled && t.children.every(ended);
          const unfinished = all.filter((t) => !ended(t)).map((t) => t.id);
          expect(stillRunning.map((s) => s.id).sort()).toEqual(unfinished.sort());
          expect(root.ctx?.signal.aborted).toBe(false);
          // The root's return cancels and joins whatever is left.
          root.complete();
          for (const t of all) t.body.complete();
          expect((await r.done).state).toBe('completed');
        },
      ),
      { numRuns: 200 },
    );
  });
});
