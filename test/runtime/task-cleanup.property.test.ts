/**
 * Cleanup handlers on every outcome: each runs exactly once, last registered first, all of them
 * even when some throw (sync or async), and any failure makes the task `failed`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/manual-clock.js';
import { TaskRegistry } from '../../src/runtime/task-registry.js';
import { ControlledBody, settle } from './task-harness.js';

const handler = fc.record({ throws: fc.boolean(), async: fc.boolean() });
const outcome = fc.constantFrom(
  'complete',
  'fail',
  'abort-while-running',
  'abort-then-throw',
  'abort-before-start',
);

describe('TaskContext.onCleanup', () => {
  it('runs every handler once, LIFO, on every outcome', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(handler, { maxLength: 6 }), outcome, async (handlers, how) => {
        const registry = new TaskRegistry({ clock: new ManualClock(), limits: { k: 1 } });
        const log: number[] = [];
        const body = new ControlledBody();
        // A blocker holds the only token so that the task can be aborted before it starts.
        const blocker = new ControlledBody();
        const b = registry.start({ kind: 'k' }, blocker.body);
        const handle = registry.start({ kind: 'k' }, (ctx) => {
          handlers.forEach((h, i) => {
            ctx.onCleanup(
              h.async
                ? async () => {
                    await Promise.resolve();
                    log.push(i);
                    if (h.throws) throw new Error(`cleanup ${i}`);
                  }
                : () => {
                    log.push(i);
                    if (h.throws) throw new Error(`cleanup ${i}`);
                  },
            );
          });
          return body.body(ctx);
        });
        await settle();
        if (how === 'abort-before-start') registry.abort(handle.id);
        blocker.complete();
        await b.done;
        await settle();
        if (how === 'complete') body.complete();
        if (how === 'fail') body.fail();
        if (how === 'abort-while-running') {
          registry.abort(handle.id);
          body.complete();
        }
        if (how === 'abort-then-throw') {
          registry.abort(handle.id);
          body.fail();
        }
        const status = await handle.done;
        await settle();

        if (how === 'abort-before-start') {
          expect(body.started).toBe(false);
          expect(log).toEqual([]);
          expect(status.state).toBe('cancelled');
          return;
        }
        expect(log).toEqual(handlers.map((_, i) => i).reverse());
        const failures = handlers.filter((h) => h.throws).length;
        const expected =
          failures > 0 || how === 'fail'
            ? 'failed'
            : how === 'complete'
              ? 'completed'
              : 'cancelled';
        expect(status.state).toBe(expected);
        expect(status.error?.suppressed?.length ?? 0).toBe(failures);
        if (how === 'fail') expect(status.error?.message).toBe('body failed');
        else if (failures > 0) expect(status.error?.code).toBe('RUNTIME_CLEANUP_FAILED');
        else expect(status.error).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
