import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, TransientError } from '../../src/errors/destkit-error.js';
import { CheckpointManager } from '../../src/pipeline/checkpoint-manager.js';
import {
  DuplicateStreamError,
  describeStreamKey,
  descriptorFromStreamKey,
  MissingStreamStatusError,
  StreamNotInCatalogError,
  StreamsIncompleteError,
  SyncTransitionError,
} from '../../src/pipeline/pipeline-errors.js';
import { SyncManager } from '../../src/pipeline/sync-manager.js';
import { describeStream, streamKey } from '../../src/protocol/messages.js';

const A = { namespace: 'ns', name: 'a' };
const B = { name: 'b' };
const C = { namespace: 'ns', name: 'c' };

function finish(sync: SyncManager, key: string, complete = true): void {
  const stream = sync.stream(key);
  stream.updateBatchState([[0, stream.recordCount]], 'COMPLETE');
  stream.markEndOfStream(complete);
  stream.markSucceeded();
}

/** What `fn` throws (undefined when it returns). */
function thrownBy(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe(SyncManager, () => {
  describe('constructor', () => {
    describe('when the catalog lists a stream twice', () => {
      it('throws a config error naming it', () => {
        expect(() => new SyncManager([A, B, { namespace: 'ns', name: 'a' }])).toThrow(
          DuplicateStreamError,
        );
        expect(() => new SyncManager([B, { name: 'b', namespace: null }])).toThrow(
          'stream b appears more than once',
        );
      });
    });
  });

  describe('.stream', () => {
    it('returns the stream manager by stream key', () => {
      const sync = new SyncManager([A, B]);
      expect(sync.stream(streamKey(A)).descriptor).toBe(A);
      expect(sync.has(streamKey(B))).toBe(true);
      expect(sync.streams().map((s) => s.displayName)).toEqual(['ns.a', 'b']);
    });

    describe('when the stream is not in the catalog', () => {
      it('throws a config error naming the stream', () => {
        const sync = new SyncManager([A]);
        const lookup = () => sync.stream(streamKey({ namespace: 'other', name: 'x' }));
        expect(lookup).toThrow(StreamNotInCatalogError);
        expect(lookup).toThrow(ConfigError);
        expect(lookup).toThrow('stream other.x is not in the configured catalog');
      });
    });
  });

  describe('.markInputConsumed', () => {
    describe('when streams lack a terminal status', () => {
      it('throws a transient error naming them', () => {
        const sync = new SyncManager([A, B, C]);
        sync.stream(streamKey(C)).markEndOfStream(false);
        const thrown = thrownBy(() => sync.markInputConsumed());
        expect(thrown).toBeInstanceOf(MissingStreamStatusError);
        expect(thrown).toBeInstanceOf(TransientError);
        expect((thrown as MissingStreamStatusError).message).toBe(
          'Input was fully read, but some streams did not receive a terminal stream status message: ns.a, b',
        );
        expect((thrown as MissingStreamStatusError).streams).toEqual([A, B]);
        expect(sync.inputConsumed).toBe(true);
      });
    });

    describe('when a thousand streams lack a terminal status', () => {
      it('names the first twenty in the message, counts the rest, and keeps them all', () => {
        const descriptors = Array.from({ length: 1000 }, (_, i) => ({ name: `s${i}` }));
        const sync = new SyncManager(descriptors);
        const thrown = thrownBy(() => sync.markInputConsumed());
        expect(thrown).toBeInstanceOf(MissingStreamStatusError);
        const named = descriptors.slice(0, 20).map((d) => d.name);
        expect((thrown as MissingStreamStatusError).message).toBe(
          `Input was fully read, but some streams did not receive a terminal stream status message: ${named.join(', ')}, … and 980 more`,
        );
        expect((thrown as MissingStreamStatusError).streams).toEqual(descriptors);
      });
    });

    describe('when every stream ended', () => {
      it('marks the input consumed', () => {
        const sync = new SyncManager([A]);
        sync.stream(streamKey(A)).markEndOfStream(true);
        sync.markInputConsumed();
        expect(sync.inputConsumed).toBe(true);
      });
    });

    describe('when called twice', () => {
      it('throws', () => {
        const sync = new SyncManager([]);
        sync.markInputConsumed();
        expect(() => sync.markInputConsumed()).toThrow(SyncTransitionError);
      });
    });
  });

  describe('.allStreamsComplete', () => {
    it('is true only when every stream received COMPLETE', () => {
      const sync = new SyncManager([A, B]);
      sync.stream(streamKey(A)).markEndOfStream(true);
      expect(sync.allStreamsComplete()).toBe(false);
      expect(sync.incompleteStreams().map((s) => s.displayName)).toEqual(['b']);
      sync.stream(streamKey(B)).markEndOfStream(false);
      expect(sync.allStreamsComplete()).toBe(false);
      expect(sync.incompleteStreams().map((s) => s.displayName)).toEqual(['b']);
    });

    it('is true for an empty catalog and for all-COMPLETE streams', () => {
      expect(new SyncManager([]).allStreamsComplete()).toBe(true);
      const sync = new SyncManager([A, B]);
      for (const s of sync.streams()) s.markEndOfStream(true);
      expect(sync.allStreamsComplete()).toBe(true);
      expect(sync.incompleteStreams()).toEqual([]);
    });
  });

  describe('.hasActiveStreams', () => {
    it('is true while any stream has neither succeeded nor failed', () => {
      expect(new SyncManager([]).hasActiveStreams()).toBe(false);
      const sync = new SyncManager([A, B, C]);
      expect(sync.hasActiveStreams()).toBe(true);
      sync.stream(streamKey(A)).markFailed(new Error('a failed'));
      const c = sync.stream(streamKey(C));
      c.markEndOfStream(true);
      c.markSucceeded();
      expect(sync.hasActiveStreams()).toBe(true);
      sync.stream(streamKey(B)).markFailed(new Error('b failed'));
      expect(sync.hasActiveStreams()).toBe(false);
      expect(sync.activeStreams()).toEqual([]);
    });

    it('agrees with the streams themselves whatever order they end in', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 12 }).chain((count) =>
            fc.tuple(
              fc.constant(count),
              // The streams' ends, in the order they happen: a stream index and its outcome.
              fc.array(fc.tuple(fc.nat({ max: count - 1 }), fc.boolean()), { maxLength: 30 }),
            ),
          ),
          ([count, ends]) => {
            const sync = new SyncManager(
              Array.from({ length: count }, (_, i) => ({ name: `s${i}` })),
            );
            for (const [index, succeeds] of ends) {
              const stream = sync.stream(streamKey({ name: `s${index}` }));
              if (stream.isActive) {
                if (succeeds) {
                  stream.markEndOfStream(true);
                  stream.markSucceeded();
                } else stream.markFailed(new Error('failed'));
              }
              expect(sync.hasActiveStreams()).toBe(sync.streams().some((s) => s.isActive));
            }
          },
        ),
      );
    });
  });

  describe('.markSyncSucceeded', () => {
    describe('while a stream is still active', () => {
      it('refuses, naming the stream', () => {
        const sync = new SyncManager([A, B]);
        finish(sync, streamKey(A));
        sync.stream(streamKey(B)).markEndOfStream(true);
        sync.markInputConsumed();
        expect(() => sync.markSyncSucceeded()).toThrow(
          'the sync cannot succeed while streams are still active: b',
        );
        expect(sync.result).toEqual({ status: 'running' });
      });
    });

    describe('before the input was consumed', () => {
      it('refuses', () => {
        const sync = new SyncManager([A]);
        finish(sync, streamKey(A));
        expect(() => sync.markSyncSucceeded()).toThrow(SyncTransitionError);
      });
    });

    describe('when a stream failed', () => {
      it('refuses', () => {
        const sync = new SyncManager([A]);
        sync.stream(streamKey(A)).markFailed(new Error('loader failed'));
        sync.stream(streamKey(A)).markEndOfStream(true);
        sync.markInputConsumed();
        expect(() => sync.markSyncSucceeded()).toThrow('streams failed: ns.a');
      });
    });

    describe('when every stream succeeded', () => {
      it('succeeds, also with INCOMPLETE streams (the launcher reports those)', () => {
        const sync = new SyncManager([A, B]);
        sync.stream(streamKey(A)).nextRecordIndex();
        finish(sync, streamKey(A));
        finish(sync, streamKey(B), false);
        sync.markInputConsumed();
        sync.markSyncSucceeded();
        expect(sync.result).toEqual({ status: 'succeeded' });
        expect(() => sync.markSyncSucceeded()).toThrow('it already succeeded');
        const incomplete = new StreamsIncompleteError(
          sync.incompleteStreams().map((s) => s.descriptor),
        );
        expect(incomplete.message).toMatch(/were not finalized: b$/);
      });
    });
  });

  describe('.markSyncFailed', () => {
    it('keeps the first failure', () => {
      const sync = new SyncManager([A]);
      const first = new Error('first');
      expect(sync.markSyncFailed(first)).toBe(true);
      expect(sync.markSyncFailed(new Error('second'))).toBe(false);
      expect(sync.result).toEqual({ status: 'failed', error: first });
      expect(() => sync.markSyncSucceeded()).toThrow('it already failed');
    });

    describe('after success', () => {
      it('changes nothing', () => {
        const sync = new SyncManager([]);
        sync.markInputConsumed();
        sync.markSyncSucceeded();
        expect(sync.markSyncFailed(new Error('late'))).toBe(false);
        expect(sync.result.status).toBe('succeeded');
      });
    });
  });

  describe('.markGlobalCheckpoint', () => {
    it('pins every stream and sums the records since the previous checkpoint', () => {
      const sync = new SyncManager([A, B]);
      const a = sync.stream(streamKey(A));
      const b = sync.stream(streamKey(B));
      a.nextRecordIndex();
      a.nextRecordIndex();
      b.nextRecordIndex();
      expect(sync.markGlobalCheckpoint()).toEqual({
        indexes: new Map([
          [streamKey(A), 2],
          [streamKey(B), 1],
        ]),
        recordsSinceLast: 3,
      });
      b.nextRecordIndex();
      expect(sync.markGlobalCheckpoint().recordsSinceLast).toBe(1);
      expect(sync.markGlobalCheckpoint().recordsSinceLast).toBe(0);
    });
  });

  describe('.isPersistedUntil', () => {
    it('asks the stream, and throws for an unknown stream', () => {
      const sync = new SyncManager([A]);
      const check = sync.isPersistedUntil;
      sync.stream(streamKey(A)).nextRecordIndex();
      expect(check(streamKey(A), 1)).toBe(false);
      sync.stream(streamKey(A)).updateBatchState([[0, 1]], 'PERSISTED');
      expect(check(streamKey(A), 1)).toBe(true);
      expect(() => check(streamKey(B), 0)).toThrow(StreamNotInCatalogError);
    });
  });

  // ---------------------------------------------------------------- the ledger as a whole
  describe('properties', () => {
    type Event =
      | { readonly kind: 'record'; readonly stream: number }
      | { readonly kind: 'state'; readonly stream: number }
      | {
          readonly kind: 'batch';
          readonly stream: number;
          readonly startSeed: number;
          readonly length: number;
          readonly complete: boolean;
        }
      | { readonly kind: 'end'; readonly stream: number; readonly complete: boolean }
      | { readonly kind: 'flush' };

    const DESCRIPTORS = [{ namespace: 'ns', name: 's0' }, { name: 's1' }, { name: 's2' }];
    const streamArb = fc.nat({ max: DESCRIPTORS.length - 1 });
    const eventArb: fc.Arbitrary<Event> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('record'), stream: streamArb }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('state'), stream: streamArb }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('batch'),
          stream: streamArb,
          startSeed: fc.nat(),
          length: fc.integer({ min: 1, max: 5 }),
          complete: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('end'),
          stream: streamArb,
          complete: fc.boolean(),
        }),
      },
      { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
    );

    interface Echo {
      readonly sequence: number;
      readonly recordCount: number;
    }

    /**
     * Plays a sync the way the launcher will: records get indexes, states are pinned with
     * `markStreamCheckpoint` / `markGlobalCheckpoint` and queued, batches are registered, ready
     * states are released. A model of booleans per record checks every release.
     */
    function play(mode: 'STREAM' | 'GLOBAL', events: readonly Event[]): void {
      const sync = new SyncManager(DESCRIPTORS);
      const keys = DESCRIPTORS.map(streamKey);
      const checkpoints = new CheckpointManager<Echo>();
      const persisted = new Map<string, boolean[]>(keys.map((k) => [k, []]));
      const completed = new Map<string, boolean[]>(keys.map((k) => [k, []]));
      const ended = new Set<string>();
      const pinned: { indexes: Map<string, number>; recordCount: number }[] = [];
      const sinceLast = new Map<string, number>(keys.map((k) => [k, 0]));
      const statsByStream = new Map<string, number>(keys.map((k) => [k, 0]));
      const released: Echo[] = [];

      const flush = () => {
        for (const echo of checkpoints.flushReady(sync.isPersistedUntil)) {
          const covered = pinned[echo.sequence];
          expect(covered, `unknown state ${echo.sequence}`).toBeDefined();
          for (const [key, index] of covered?.indexes ?? []) {
            const bits = persisted.get(key) ?? [];
            expect(bits.slice(0, index).every(Boolean), `state ${echo.sequence} too early`).toBe(
              true,
            );
          }
          released.push(echo);
        }
      };

      for (const event of events) {
        if (event.kind === 'flush') {
          flush();
          continue;
        }
        const key = keys[event.stream] as string;
        const stream = sync.stream(key);
        if (event.kind === 'record') {
          if (ended.has(key)) {
            expect(() => stream.nextRecordIndex()).toThrow('after the end of stream');
            continue;
          }
          expect(stream.nextRecordIndex()).toBe(persisted.get(key)?.length);
          persisted.get(key)?.push(false);
          completed.get(key)?.push(false);
          sinceLast.set(key, (sinceLast.get(key) ?? 0) + 1);
        } else if (event.kind === 'state') {
          const sequence = pinned.length;
          if (mode === 'STREAM') {
            const { index, recordsSinceLast } = sync.markStreamCheckpoint(key);
            expect(recordsSinceLast).toBe(sinceLast.get(key));
            statsByStream.set(key, (statsByStream.get(key) ?? 0) + recordsSinceLast);
            sinceLast.set(key, 0);
            pinned.push({ indexes: new Map([[key, index]]), recordCount: recordsSinceLast });
            checkpoints.addStreamCheckpoint(key, index, {
              sequence,
              recordCount: recordsSinceLast,
            });
          } else {
            const { indexes, recordsSinceLast } = sync.markGlobalCheckpoint();
            const expected = [...sinceLast.values()].reduce((x, y) => x + y, 0);
            expect(recordsSinceLast).toBe(expected);
            for (const k of keys) {
              statsByStream.set(k, (statsByStream.get(k) ?? 0) + (sinceLast.get(k) ?? 0));
              sinceLast.set(k, 0);
            }
            pinned.push({ indexes, recordCount: recordsSinceLast });
            checkpoints.addGlobalCheckpoint(indexes, { sequence, recordCount: recordsSinceLast });
          }
        } else if (event.kind === 'batch') {
          const bits = persisted.get(key) ?? [];
          if (bits.length === 0) continue;
          const start = event.startSeed % bits.length;
          const end = Math.min(bits.length, start + event.length);
          stream.registerBatch([[start, end]], event.complete ? 'COMPLETE' : 'PERSISTED');
          const completeBits = completed.get(key) ?? [];
          for (let i = start; i < end; i++) {
            bits[i] = true;
            if (event.complete) completeBits[i] = true;
          }
        } else if (!ended.has(key)) {
          stream.markEndOfStream(event.complete);
          ended.add(key);
        }
      }

      // The end of the sync: every stream ends, every record becomes COMPLETE.
      for (const key of keys) {
        const stream = sync.stream(key);
        if (!ended.has(key)) stream.markEndOfStream(true);
        expect(stream.isBatchProcessingComplete()).toBe((completed.get(key) ?? []).every(Boolean));
        stream.registerBatch([[0, stream.recordCount]], 'COMPLETE');
        persisted.get(key)?.fill(true);
        expect(stream.isBatchProcessingComplete()).toBe(true);
        stream.markSucceeded();
      }
      flush();
      sync.markInputConsumed();
      sync.markSyncSucceeded();

      // every state exactly once, in input order per stream (GLOBAL: strictly in input order)
      expect(checkpoints.allFlushed).toBe(true);
      expect(released.map((e) => e.sequence).sort((x, y) => x - y)).toEqual(
        pinned.map((_, i) => i),
      );
      if (mode === 'GLOBAL') {
        expect(released.map((e) => e.sequence)).toEqual(pinned.map((_, i) => i));
      }
      for (const key of keys) {
        const ofStream = released.filter((e) => pinned[e.sequence]?.indexes.has(key));
        const sequences = ofStream.map((e) => e.sequence);
        expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
      }
      // destinationStats: per stream, the counts of its states plus the trailing records add up
      for (const key of keys) {
        const trailing = sinceLast.get(key) ?? 0;
        expect((statsByStream.get(key) ?? 0) + trailing).toBe(sync.stream(key).recordCount);
      }
      const total = sync.streams().reduce((sum, s) => sum + s.recordCount, 0);
      const trailing = [...sinceLast.values()].reduce((x, y) => x + y, 0);
      expect(released.reduce((sum, e) => sum + e.recordCount, 0) + trailing).toBe(total);
    }

    it.each(['STREAM', 'GLOBAL'] as const)(
      'releases %s states safely, once, in order, with exact record counts',
      (mode) => {
        fc.assert(
          fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => play(mode, events)),
          { numRuns: 300 },
        );
      },
    );
  });
});

describe('stream keys in messages', () => {
  it('reads a stream key back as the descriptor it came from', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.includes('\u0000')),
        fc.option(
          fc.string().filter((s) => !s.includes('\u0000')),
          { nil: undefined },
        ),
        (name, namespace) => {
          const descriptor = namespace === undefined ? { name } : { namespace, name };
          expect(describeStreamKey(streamKey(descriptor))).toBe(describeStream(descriptor));
          expect(streamKey(descriptorFromStreamKey(streamKey(descriptor)))).toBe(
            streamKey(descriptor),
          );
        },
      ),
    );
  });
});
