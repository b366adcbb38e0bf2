/**
 * AdmissionControl, driven by random requests, withdrawals, releases and limit raises: holders
 * never exceed the limit, grants are FIFO per kind and happen exactly once, and once everything
 * is released no token is held.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdmissionControl, type AdmissionTicket } from '../../src/runtime/admission-control.js';

type Op =
  | { op: 'request'; kind: string }
  | { op: 'cancel'; pick: number }
  | { op: 'release'; pick: number }
  | { op: 'raise'; kind: string; by: number };

const kind = fc.constantFrom('x', 'y');
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('request' as const), kind }), weight: 3 },
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat(20) }),
  { arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat(20) }), weight: 2 },
  fc.record({ op: fc.constant('raise' as const), kind, by: fc.integer({ min: 1, max: 2 }) }),
);

describe('AdmissionControl', () => {
  it('keeps holders within the limit, grants FIFO and exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { maxLength: 80 }), (limit, ops) => {
        const admission = new AdmissionControl({ x: limit, y: limit });
        const limits: Record<string, number> = { x: limit, y: limit };
        const waiting: { ticket: AdmissionTicket; n: number }[] = [];
        const holders: { kind: string; n: number }[] = [];
        const grants: number[] = [];
        const grantsByKind: Record<string, number[]> = { x: [], y: [] };
        let next = 0;
        for (const o of ops) {
          if (o.op === 'request') {
            const n = next++;
            const ticket = admission.request(o.kind, () => {
              grants.push(n);
              grantsByKind[o.kind]!.push(n);
              holders.push({ kind: o.kind, n });
              const at = waiting.findIndex((w) => w.n === n);
              if (at >= 0) waiting.splice(at, 1);
            });
            if (!holders.some((h) => h.n === n)) waiting.push({ ticket, n });
          } else if (o.op === 'cancel') {
            const w = waiting[o.pick % Math.max(1, waiting.length)];
            if (w !== undefined) {
              expect(admission.cancel(w.ticket)).toBe(true);
              waiting.splice(waiting.indexOf(w), 1);
              expect(admission.cancel(w.ticket)).toBe(false);
            }
          } else if (o.op === 'release') {
            const h = holders[o.pick % Math.max(1, holders.length)];
            if (h !== undefined) {
              holders.splice(holders.indexOf(h), 1);
              admission.release(h.kind);
            }
          } else {
            limits[o.kind] = (limits[o.kind] ?? 0) + o.by;
            admission.setLimit(o.kind, limits[o.kind]!);
          }
          for (const row of admission.snapshot()) {
            expect(row.held).toBeLessThanOrEqual(row.limit);
            expect(row.held).toBe(holders.filter((h) => h.kind === row.kind).length);
            const queued = waiting.filter((w) => w.ticket.kind === row.kind);
            expect(row.waiting).toBe(queued.length);
            // Nobody waits while a token of the kind is free.
            if (row.held < row.limit) expect(row.waiting).toBe(0);
          }
        }
        expect(new Set(grants).size).toBe(grants.length);
        // FIFO: per kind, grants happen in request order (withdrawn requests are skipped).
        for (const granted of Object.values(grantsByKind)) {
          expect(granted).toEqual([...granted].sort((a, b) => a - b));
        }
        // Every token comes back: releasing all holders (and those they admit) leaves none held.
        for (const w of [...waiting]) admission.cancel(w.ticket);
        waiting.length = 0;
        for (let h = holders.shift(); h !== undefined; h = holders.shift())
          admission.release(h.kind);
        for (const row of admission.snapshot()) expect(row).toMatchObject({ held: 0, waiting: 0 });
      }),
      { numRuns: 300 },
    );
  });

  it('treats 0 as unlimited and refuses negative limits', () => {
    const admission = new AdmissionControl();
    let granted = 0;
    for (let i = 0; i < 100; i++) admission.request('z', () => granted++);
    expect(granted).toBe(100);
    expect(() => admission.setLimit('z', -1)).toThrow(RangeError);
    expect(() => admission.release('unknown')).toThrow();
  });
});
