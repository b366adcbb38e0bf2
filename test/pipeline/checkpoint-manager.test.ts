import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, SystemError } from '../../src/errors/destkit-error.js';
import { CheckpointManager, type PersistedUntil } from '../../src/pipeline/checkpoint-manager.js';
import { CheckpointIndexError, MixedStateTypesError } from '../../src/pipeline/pipeline-errors.js';
import { streamKey } from '../../src/protocol/messages.js';

const A = streamKey({ namespace: 'ns', name: 'a' });
const B = streamKey({ name: 'b' });

/** `isPersistedUntil` from a fixed "persisted prefix length" per stream. */
function persistedPrefixes(prefixes: Record<string, number>): PersistedUntil {
  return (key, index) => index <= (prefixes[key] ?? 0);
}

describe(CheckpointManager, () => {
  describe('.flushReady', () => {
    describe('with GLOBAL states', () => {
      describe('when a later stream is not persisted', () => {
        it('holds the global state', () => {
          const manager = new CheckpointManager<string>();
          manager.addGlobalCheckpoint(
            new Map([
              [A, 2],
              [B, 3],
            ]),
            'g1',
          );
          expect(manager.flushReady(persistedPrefixes({ [A]: 2, [B]: 2 }))).toEqual([]);
          expect(manager.pendingCount).toBe(1);
          expect(manager.flushReady(persistedPrefixes({ [A]: 2, [B]: 3 }))).toEqual(['g1']);
        });
      });

      describe('when a later global state is ready but an earlier one is not', () => {
        it('releases neither', () => {
          const manager = new CheckpointManager<string>();
          manager.addGlobalCheckpoint(new Map([[A, 2]]), 'g1');
          manager.addGlobalCheckpoint(new Map([[A, 2]]), 'g2');
          // Only possible with a dishonest callback, but order must hold regardless.
          const answers = [false, true];
          expect(manager.flushReady(() => answers.shift() ?? true)).toEqual([]);
        });
      });

      describe('when every stream is persisted', () => {
        it('releases the global states in input order', () => {
          const manager = new CheckpointManager<string>();
          manager.addGlobalCheckpoint(new Map([[A, 1]]), 'g1');
          manager.addGlobalCheckpoint(
            new Map([
              [A, 1],
              [B, 4],
            ]),
            'g2',
          );
          expect(manager.flushReady(() => true)).toEqual(['g1', 'g2']);
          expect(manager.allFlushed).toBe(true);
        });
      });

      describe('when no record was read', () => {
        it('releases a state at index 0 at once', () => {
          const manager = new CheckpointManager<string>();
          manager.addGlobalCheckpoint(
            new Map([
              [A, 0],
              [B, 0],
            ]),
            'g0',
          );
          expect(manager.flushReady(persistedPrefixes({}))).toEqual(['g0']);
        });
      });
    });

    describe('with STREAM states', () => {
      describe('when the head of a stream is not persisted', () => {
        it('holds the later states of that stream', () => {
          const manager = new CheckpointManager<string>();
          manager.addStreamCheckpoint(A, 2, 'a1');
          manager.addStreamCheckpoint(A, 5, 'a2');
          // a dishonest callback: index 5 "persisted", index 2 not
          expect(manager.flushReady((_key, index) => index === 5)).toEqual([]);
          expect(manager.pendingCount).toBe(2);
        });

        it('releases the ready states of other streams', () => {
          const manager = new CheckpointManager<string>();
          manager.addStreamCheckpoint(A, 2, 'a1');
          manager.addStreamCheckpoint(B, 1, 'b1');
          expect(manager.flushReady(persistedPrefixes({ [A]: 1, [B]: 1 }))).toEqual(['b1']);
          expect(manager.flushReady(persistedPrefixes({ [A]: 2, [B]: 1 }))).toEqual(['a1']);
        });
      });

      describe('when several streams become ready at once', () => {
        it('returns their states in input order', () => {
          const manager = new CheckpointManager<string>();
          manager.addStreamCheckpoint(A, 1, 'a1');
          manager.addStreamCheckpoint(B, 1, 'b1');
          manager.addStreamCheckpoint(A, 2, 'a2');
          manager.addStreamCheckpoint(B, 3, 'b2');
          manager.addStreamCheckpoint(A, 3, 'a3');
          expect(manager.flushReady(persistedPrefixes({ [A]: 2, [B]: 3 }))).toEqual([
            'a1',
            'b1',
            'a2',
            'b2',
          ]);
          expect(manager.flushReady(() => true)).toEqual(['a3']);
        });
      });

      describe('when states repeat an index', () => {
        it('releases both', () => {
          const manager = new CheckpointManager<string>();
          manager.addStreamCheckpoint(A, 2, 'a1');
          manager.addStreamCheckpoint(A, 2, 'a2');
          expect(manager.flushReady(persistedPrefixes({ [A]: 2 }))).toEqual(['a1', 'a2']);
        });
      });
    });

    describe('with thousands of states released a few at a time', () => {
      it('releases each once, in input order', () => {
        for (const mode of ['STREAM', 'GLOBAL'] as const) {
          const manager = new CheckpointManager<number>();
          for (let i = 0; i < 5000; i++) {
            if (mode === 'STREAM') manager.addStreamCheckpoint(A, i, i);
            else manager.addGlobalCheckpoint(new Map([[A, i]]), i);
          }
          const released: number[] = [];
          for (let persisted = 0; persisted < 5000; persisted += 7) {
            released.push(...manager.flushReady((_key, index) => index <= persisted));
          }
          released.push(...manager.flushReady(() => true));
          expect(released).toEqual(Array.from({ length: 5000 }, (_, i) => i));
        }
      });
    });

    describe('told the one stream that changed', () => {
      it('releases exactly what a call looking at every stream releases', () => {
        // Each step either queues a STREAM state of a stream or persists more of its records;
        // one manager is then asked about that stream only, the other about all of them.
        const step = fc.record({
          stream: fc.nat({ max: 5 }),
          persist: fc.boolean(),
          by: fc.nat({ max: 3 }),
        });
        fc.assert(
          fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
            const told = new CheckpointManager<number>();
            const full = new CheckpointManager<number>();
            const read = [0, 0, 0, 0, 0, 0];
            const persisted = [0, 0, 0, 0, 0, 0];
            const isPersistedUntil: PersistedUntil = (key, index) =>
              index <= (persisted[Number(key.slice(1))] as number);
            const releasedTold: number[] = [];
            const releasedFull: number[] = [];
            steps.forEach(({ stream, persist, by }, i) => {
              const key = `\u0000${stream}`;
              if (persist) {
                persisted[stream] = Math.min(
                  read[stream] as number,
                  (persisted[stream] as number) + by,
                );
              } else {
                read[stream] = (read[stream] as number) + by;
                told.addStreamCheckpoint(key, read[stream] as number, i);
                full.addStreamCheckpoint(key, read[stream] as number, i);
              }
              releasedTold.push(...told.flushReady(isPersistedUntil, key));
              releasedFull.push(...full.flushReady(isPersistedUntil));
            });
            expect(releasedTold).toEqual(releasedFull);
            expect(told.pendingCount).toBe(full.pendingCount);
          }),
          { numRuns: 300 },
        );
      });
    });

    describe('when called again', () => {
      it('returns nothing twice', () => {
        const manager = new CheckpointManager<string>();
        manager.addStreamCheckpoint(A, 1, 'a1');
        expect(manager.flushReady(() => true)).toEqual(['a1']);
        expect(manager.flushReady(() => true)).toEqual([]);
        expect(manager.receivedCount).toBe(1);
        expect(manager.pendingCount).toBe(0);
      });
    });

    describe('when the callback throws', () => {
      it('keeps every pending state', () => {
        const manager = new CheckpointManager<string>();
        manager.addStreamCheckpoint(A, 1, 'a1');
        manager.addStreamCheckpoint(B, 1, 'b1');
        expect(() =>
          manager.flushReady((key) => {
            if (key === B) throw new Error('lookup failed');
            return true;
          }),
        ).toThrow('lookup failed');
        expect(manager.pendingCount).toBe(2);
        expect(manager.flushReady(() => true)).toEqual(['a1', 'b1']);
      });
    });

    describe('before any state arrived', () => {
      it('returns nothing', () => {
        const manager = new CheckpointManager<string>();
        expect(manager.mode).toBe('none');
        expect(manager.flushReady(() => true)).toEqual([]);
        expect(manager.allFlushed).toBe(true);
      });
    });
  });

  describe('.addStreamCheckpoint', () => {
    describe('after a GLOBAL state', () => {
      it('throws a config error', () => {
        const manager = new CheckpointManager<string>();
        manager.addGlobalCheckpoint(new Map([[A, 0]]), 'g');
        const add = () => manager.addStreamCheckpoint(A, 0, 'a');
        expect(add).toThrow(MixedStateTypesError);
        expect(add).toThrow(ConfigError);
        expect(add).toThrow('a sync must not mix STREAM and GLOBAL states');
        expect(manager.pendingCount).toBe(1);
      });
    });

    describe('when the index goes backwards', () => {
      it('throws a system error naming the stream', () => {
        const manager = new CheckpointManager<string>();
        manager.addStreamCheckpoint(A, 5, 'a1');
        const add = () => manager.addStreamCheckpoint(A, 4, 'a2');
        expect(add).toThrow(CheckpointIndexError);
        expect(add).toThrow(SystemError);
        expect(add).toThrow('a checkpoint of stream ns.a goes backwards: record index 4 after 5');
        expect(manager.pendingCount).toBe(1);
      });
    });

    it.each([-1, 1.5, Number.NaN])('rejects the index %s', (index) => {
      const manager = new CheckpointManager<string>();
      expect(() => manager.addStreamCheckpoint(A, index, 'a')).toThrow(CheckpointIndexError);
    });
  });

  describe('.addGlobalCheckpoint', () => {
    describe('after a STREAM state', () => {
      it('throws a config error', () => {
        const manager = new CheckpointManager<string>();
        manager.addStreamCheckpoint(A, 0, 'a');
        expect(() => manager.addGlobalCheckpoint(new Map(), 'g')).toThrow(MixedStateTypesError);
      });
    });

    describe('when one stream goes backwards', () => {
      it('throws and queues nothing', () => {
        const manager = new CheckpointManager<string>();
        manager.addGlobalCheckpoint(
          new Map([
            [A, 3],
            [B, 3],
          ]),
          'g1',
        );
        expect(() =>
          manager.addGlobalCheckpoint(
            new Map([
              [A, 4],
              [B, 2],
            ]),
            'g2',
          ),
        ).toThrow('a checkpoint of stream b goes backwards');
        expect(manager.pendingCount).toBe(1);
        // A's index was not advanced by the rejected state
        manager.addGlobalCheckpoint(
          new Map([
            [A, 3],
            [B, 3],
          ]),
          'g3',
        );
      });
    });

    it('copies the map', () => {
      const manager = new CheckpointManager<string>();
      const indexes = new Map([[A, 3]]);
      manager.addGlobalCheckpoint(indexes, 'g');
      indexes.set(A, 0);
      expect(manager.flushReady(persistedPrefixes({ [A]: 0 }))).toEqual([]);
    });
  });

  describe('.oldestPending', () => {
    it('is the earliest-received state not yet released', () => {
      const manager = new CheckpointManager<string>();
      expect(manager.oldestPending()).toBeUndefined();
      manager.addStreamCheckpoint(A, 2, 'a1');
      manager.addStreamCheckpoint(B, 1, 'b1');
      expect(manager.oldestPending()).toEqual({
        sequence: 0,
        kind: 'STREAM',
        indexes: new Map([[A, 2]]),
        payload: 'a1',
      });
      manager.flushReady(persistedPrefixes({ [A]: 2 }));
      expect(manager.oldestPending()).toMatchObject({ sequence: 1, payload: 'b1' });
    });

    it('reports a GLOBAL state with all its indexes', () => {
      const manager = new CheckpointManager<string>();
      manager.addGlobalCheckpoint(
        new Map([
          [A, 2],
          [B, 7],
        ]),
        'g',
      );
      expect(manager.oldestPending()).toMatchObject({ kind: 'GLOBAL', payload: 'g' });
      expect(manager.nextFlushIndexes()).toEqual(
        new Map([
          [A, 2],
          [B, 7],
        ]),
      );
    });
  });

  describe('.nextFlushIndexes', () => {
    it('is the index of each stream head', () => {
      const manager = new CheckpointManager<string>();
      manager.addStreamCheckpoint(A, 2, 'a1');
      manager.addStreamCheckpoint(A, 9, 'a2');
      manager.addStreamCheckpoint(B, 1, 'b1');
      expect(manager.nextFlushIndexes()).toEqual(
        new Map([
          [A, 2],
          [B, 1],
        ]),
      );
    });
  });

  describe('properties', () => {
    type Event =
      | { readonly kind: 'record'; readonly stream: number }
      | { readonly kind: 'checkpoint'; readonly stream: number }
      | {
          readonly kind: 'persist';
          readonly stream: number;
          readonly startSeed: number;
          readonly length: number;
        }
      | { readonly kind: 'flush' };

    const STREAMS = 3;
    const eventArb: fc.Arbitrary<Event> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({ kind: fc.constant('record'), stream: fc.nat({ max: STREAMS - 1 }) }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('checkpoint'),
          stream: fc.nat({ max: STREAMS - 1 }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('persist'),
          stream: fc.nat({ max: STREAMS - 1 }),
          startSeed: fc.nat(),
          length: fc.integer({ min: 1, max: 4 }),
        }),
      },
      { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
    );

    interface ModelCheckpoint {
      readonly sequence: number;
      readonly indexes: ReadonlyMap<string, number>;
    }

    /**
     * Drives a CheckpointManager with an event list and checks it against a model built from
     * boolean arrays. Returns a description of the first violation, or '' when there is none.
     */
    function run(mode: 'STREAM' | 'GLOBAL', events: readonly Event[]): string {
      const keys = Array.from({ length: STREAMS }, (_, i) => streamKey({ name: `s${i}` }));
      const persisted = new Map<string, boolean[]>(keys.map((k) => [k, []]));
      const isPersistedUntil: PersistedUntil = (key, index) =>
        (persisted.get(key) ?? []).slice(0, index).length === index &&
        (persisted.get(key) ?? []).slice(0, index).every(Boolean);
      const manager = new CheckpointManager<number>();
      const checkpoints: ModelCheckpoint[] = [];
      const released = new Set<number>();
      const lastReleasedByStream = new Map<string, number>();
      let nextGlobal = 0;

      const unreleased = (key?: string) =>
        checkpoints.filter(
          (c) => !released.has(c.sequence) && (key === undefined || c.indexes.has(key)),
        );
      const ready = (c: ModelCheckpoint) =>
        [...c.indexes].every(([key, index]) => isPersistedUntil(key, index));

      const flush = (): string => {
        const out = manager.flushReady(isPersistedUntil);
        for (const [i, sequence] of out.entries()) {
          if (i > 0 && sequence <= (out[i - 1] as number)) return `not in input order: ${out}`;
          if (released.has(sequence)) return `released twice: ${sequence}`;
          const checkpoint = checkpoints[sequence];
          if (checkpoint === undefined) return `unknown checkpoint ${sequence}`;
          if (!ready(checkpoint)) return `released before its records persisted: ${sequence}`;
          if (mode === 'GLOBAL' && sequence !== nextGlobal++) return `global order: ${sequence}`;
          for (const key of checkpoint.indexes.keys()) {
            if ((lastReleasedByStream.get(key) ?? -1) > sequence)
              return `stream order: ${sequence}`;
            lastReleasedByStream.set(key, sequence);
          }
          released.add(sequence);
        }
        // Nothing ready may stay behind: each stream's (or the global) head is not ready.
        const heads =
          mode === 'GLOBAL'
            ? unreleased().slice(0, 1)
            : keys.flatMap((key) => unreleased(key).slice(0, 1));
        const readyHead = heads.find(ready);
        if (readyHead !== undefined) return `ready checkpoint held back: ${readyHead.sequence}`;
        if (manager.pendingCount !== checkpoints.length - released.size) return 'pendingCount';
        if (manager.oldestPending()?.sequence !== unreleased()[0]?.sequence) return 'oldestPending';
        const expectedNext = new Map(
          mode === 'GLOBAL'
            ? (unreleased()[0]?.indexes ?? [])
            : heads.map((h) => [...h.indexes][0] as [string, number]),
        );
        if (
          JSON.stringify([...manager.nextFlushIndexes()].sort()) !==
          JSON.stringify([...expectedNext].sort())
        ) {
          return 'nextFlushIndexes';
        }
        return '';
      };

      for (const event of events) {
        let problem = '';
        if (event.kind === 'record') {
          persisted.get(keys[event.stream] as string)?.push(false);
        } else if (event.kind === 'checkpoint') {
          const sequence = checkpoints.length;
          if (mode === 'STREAM') {
            const key = keys[event.stream] as string;
            const index = persisted.get(key)?.length ?? 0;
            checkpoints.push({ sequence, indexes: new Map([[key, index]]) });
            manager.addStreamCheckpoint(key, index, sequence);
          } else {
            const indexes = new Map(keys.map((k) => [k, persisted.get(k)?.length ?? 0]));
            checkpoints.push({ sequence, indexes });
            manager.addGlobalCheckpoint(indexes, sequence);
          }
        } else if (event.kind === 'persist') {
          const bits = persisted.get(keys[event.stream] as string) ?? [];
          if (bits.length > 0) {
            const start = event.startSeed % bits.length;
            for (let i = start; i < Math.min(bits.length, start + event.length); i++)
              bits[i] = true;
          }
        } else {
          problem = flush();
        }
        if (problem !== '') return problem;
      }
      // Persist everything: every checkpoint must come out, exactly once.
      for (const bits of persisted.values()) bits.fill(true);
      const problem = flush();
      if (problem !== '') return problem;
      if (released.size !== checkpoints.length) return 'not everything released at the end';
      if (!manager.allFlushed || manager.oldestPending() !== undefined) return 'allFlushed';
      return '';
    }

    it.each(['STREAM', 'GLOBAL'] as const)(
      'releases every %s state once, in order, only after its records persist',
      (mode) => {
        fc.assert(
          fc.property(fc.array(eventArb, { maxLength: 80 }), (events) => {
            expect(run(mode, events)).toBe('');
          }),
          { numRuns: 600 },
        );
      },
    );
  });
});
