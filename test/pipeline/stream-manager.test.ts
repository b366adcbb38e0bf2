import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SystemError } from '../../src/errors/destkit-error.js';
import {
  BATCH_STATES,
  type BatchState,
  batchStateRank,
  isCompleteState,
  isPersistedState,
  laterBatchState,
} from '../../src/pipeline/batch-state.js';
import {
  BatchRangeOutOfBoundsError,
  EndOfStreamTwiceError,
  RecordIndexAfterEndError,
  StreamTransitionError,
} from '../../src/pipeline/pipeline-errors.js';
import type { IndexRange } from '../../src/pipeline/range-set.js';
import { StreamManager } from '../../src/pipeline/stream-manager.js';
import { streamKey } from '../../src/protocol/messages.js';

const USERS = { namespace: 'public', name: 'users' };

function withRecords(count: number): StreamManager {
  const manager = new StreamManager(USERS);
  for (let i = 0; i < count; i++) manager.nextRecordIndex();
  return manager;
}

describe('BatchState', () => {
  it('orders the states forward', () => {
    expect(BATCH_STATES.map(batchStateRank)).toEqual([0, 1, 2, 3]);
    expect(laterBatchState('COMPLETE', 'STAGED')).toBe('COMPLETE');
    expect(laterBatchState('PROCESSED', 'PERSISTED')).toBe('PERSISTED');
  });

  it('counts only PERSISTED and COMPLETE as persisted, only COMPLETE as complete', () => {
    expect(BATCH_STATES.filter(isPersistedState)).toEqual(['PERSISTED', 'COMPLETE']);
    expect(BATCH_STATES.filter(isCompleteState)).toEqual(['COMPLETE']);
  });
});

// ---------------------------------------------------------------- the event DSL, table-driven
type DslEvent =
  | { readonly kind: 'setRecordCount'; readonly count: number }
  | { readonly kind: 'add'; readonly state: BatchState; readonly range: IndexRange }
  | {
      readonly kind: 'addGrouped';
      readonly state: BatchState;
      readonly range: IndexRange;
      readonly group: string;
    }
  | { readonly kind: 'endOfStream'; readonly complete: boolean }
  | { readonly kind: 'expectPersistedUntil'; readonly index: number; readonly expected: boolean }
  | { readonly kind: 'expectComplete'; readonly expected: boolean };

const setRecordCount = (count: number): DslEvent => ({ kind: 'setRecordCount', count });
const addPersisted = (start: number, end: number): DslEvent => ({
  kind: 'add',
  state: 'PERSISTED',
  range: [start, end],
});
const addComplete = (start: number, end: number): DslEvent => ({
  kind: 'add',
  state: 'COMPLETE',
  range: [start, end],
});
const addStaged = (start: number, end: number): DslEvent => ({
  kind: 'add',
  state: 'STAGED',
  range: [start, end],
});
const addGrouped = (group: string, state: BatchState, start: number, end: number): DslEvent => ({
  kind: 'addGrouped',
  state,
  range: [start, end],
  group,
});
const endOfStream = (complete = true): DslEvent => ({ kind: 'endOfStream', complete });
const expectPersistedUntil = (index: number, expected = true): DslEvent => ({
  kind: 'expectPersistedUntil',
  index,
  expected,
});
const expectComplete = (expected = true): DslEvent => ({ kind: 'expectComplete', expected });

const DSL_CASES: readonly (readonly [string, readonly DslEvent[]])[] = [
  ['no records, not ended', [expectPersistedUntil(0), expectComplete(false)]],
  ['no records, ended', [endOfStream(), expectPersistedUntil(0), expectComplete()]],
  ['no records, ended incomplete', [endOfStream(false), expectComplete()]],
  [
    'records read, nothing persisted',
    [setRecordCount(10), expectPersistedUntil(0), expectPersistedUntil(1, false)],
  ],
  [
    'a persisted prefix',
    [
      setRecordCount(10),
      addPersisted(0, 5),
      expectPersistedUntil(5),
      expectPersistedUntil(6, false),
      expectComplete(false),
    ],
  ],
  [
    'adjacent persisted ranges join',
    [setRecordCount(10), addPersisted(0, 5), addPersisted(5, 10), expectPersistedUntil(10)],
  ],
  [
    'a persisted range after a gap does not count',
    [setRecordCount(10), addPersisted(5, 10), expectPersistedUntil(1, false)],
  ],
  [
    'the gap filled out of order',
    [
      setRecordCount(10),
      addPersisted(5, 10),
      addPersisted(0, 3),
      expectPersistedUntil(4, false),
      addPersisted(3, 5),
      expectPersistedUntil(10),
    ],
  ],
  [
    'complete implies persisted',
    [setRecordCount(10), addComplete(0, 10), expectPersistedUntil(10), expectComplete(false)],
  ],
  [
    'all complete and ended',
    [setRecordCount(10), addComplete(0, 10), endOfStream(), expectComplete()],
  ],
  [
    'all complete, ended incomplete',
    [setRecordCount(10), addComplete(0, 10), endOfStream(false), expectComplete()],
  ],
  [
    'persisted but not complete',
    [setRecordCount(10), addPersisted(0, 10), endOfStream(), expectComplete(false)],
  ],
  [
    'complete with a persisted hole',
    [
      setRecordCount(10),
      addComplete(0, 4),
      addPersisted(4, 6),
      addComplete(6, 10),
      endOfStream(),
      expectPersistedUntil(10),
      expectComplete(false),
      addComplete(4, 6),
      expectComplete(),
    ],
  ],
  [
    'complete, then more records',
    [
      setRecordCount(5),
      addComplete(0, 5),
      setRecordCount(8),
      endOfStream(),
      expectComplete(false),
      addComplete(5, 8),
      expectComplete(),
    ],
  ],
  [
    'staged records are not persisted',
    [setRecordCount(5), addStaged(0, 5), expectPersistedUntil(1, false)],
  ],
  [
    'a group moves together',
    [
      setRecordCount(10),
      addGrouped('g', 'STAGED', 0, 4),
      addGrouped('g', 'STAGED', 4, 10),
      expectPersistedUntil(1, false),
      addGrouped('g', 'PERSISTED', 0, 4),
      expectPersistedUntil(10),
      addGrouped('g', 'COMPLETE', 4, 10),
      endOfStream(),
      expectComplete(),
    ],
  ],
  [
    'a group never moves back',
    [
      setRecordCount(10),
      addGrouped('g', 'COMPLETE', 0, 4),
      addGrouped('g', 'STAGED', 4, 10),
      endOfStream(),
      expectComplete(),
    ],
  ],
  [
    'groups are independent',
    [
      setRecordCount(10),
      addGrouped('a', 'STAGED', 0, 5),
      addGrouped('b', 'STAGED', 5, 10),
      addGrouped('b', 'PERSISTED', 5, 10),
      expectPersistedUntil(1, false),
      addGrouped('a', 'PERSISTED', 0, 0),
      expectPersistedUntil(10),
    ],
  ],
];

function runDsl(events: readonly DslEvent[]): void {
  const manager = new StreamManager(USERS);
  for (const [step, event] of events.entries()) {
    const where = `step ${step} (${event.kind})`;
    switch (event.kind) {
      case 'setRecordCount':
        while (manager.recordCount < event.count) manager.nextRecordIndex();
        break;
      case 'add':
        manager.updateBatchState([event.range], event.state);
        break;
      case 'addGrouped':
        manager.registerBatch([event.range], event.state, event.group);
        break;
      case 'endOfStream':
        manager.markEndOfStream(event.complete);
        break;
      case 'expectPersistedUntil':
        expect(manager.areRecordsPersistedUntil(event.index), where).toBe(event.expected);
        break;
      case 'expectComplete':
        expect(manager.isBatchProcessingComplete(), where).toBe(event.expected);
        break;
    }
  }
}

describe(StreamManager, () => {
  describe('batch state bookkeeping (event table)', () => {
    it.each(DSL_CASES)('%s', (_name, events) => runDsl(events));
  });

  describe('.nextRecordIndex', () => {
    it('hands out 0-based indexes', () => {
      const manager = new StreamManager(USERS);
      expect([manager.nextRecordIndex(), manager.nextRecordIndex()]).toEqual([0, 1]);
      expect(manager.recordCount).toBe(2);
    });

    describe('after the end of stream', () => {
      it('throws a system error naming the stream', () => {
        const manager = withRecords(1);
        manager.markEndOfStream(true);
        const thrown = catchError(() => manager.nextRecordIndex());
        expect(thrown).toBeInstanceOf(RecordIndexAfterEndError);
        expect(thrown).toBeInstanceOf(SystemError);
        expect(thrown).toMatchObject({
          code: 'PIPELINE_RECORD_AFTER_END_OF_STREAM',
          message: 'a record arrived after the end of stream public.users',
          stream: USERS,
        });
        expect(manager.recordCount).toBe(1);
      });
    });
  });

  describe('.markEndOfStream', () => {
    it.each([
      [true, 'complete'],
      [false, 'incomplete'],
    ] as const)('with complete=%s ends the stream %s', (complete, expected) => {
      const manager = new StreamManager(USERS);
      expect(manager.endOfStream).toBe('open');
      manager.markEndOfStream(complete);
      expect(manager.endOfStream).toBe(expected);
    });

    describe('when called twice', () => {
      it('throws and keeps the first status', () => {
        const manager = new StreamManager(USERS);
        manager.markEndOfStream(false);
        expect(() => manager.markEndOfStream(true)).toThrow(EndOfStreamTwiceError);
        expect(manager.endOfStream).toBe('incomplete');
      });
    });
  });

  describe('.markCheckpoint', () => {
    it('pins the records read so far and counts those since the previous checkpoint', () => {
      const manager = withRecords(3);
      expect(manager.markCheckpoint()).toEqual({ index: 3, recordsSinceLast: 3 });
      expect(manager.markCheckpoint()).toEqual({ index: 3, recordsSinceLast: 0 });
      manager.nextRecordIndex();
      manager.nextRecordIndex();
      expect(manager.markCheckpoint()).toEqual({ index: 5, recordsSinceLast: 2 });
    });

    it('is allowed after the end of stream', () => {
      const manager = withRecords(2);
      manager.markEndOfStream(true);
      expect(manager.markCheckpoint()).toEqual({ index: 2, recordsSinceLast: 2 });
    });
  });

  describe('.registerBatch', () => {
    describe('when a range covers records not read yet', () => {
      it('throws and records none of the batch', () => {
        const manager = withRecords(5);
        expect(() =>
          manager.registerBatch(
            [
              [0, 3],
              [3, 6],
            ],
            'PERSISTED',
          ),
        ).toThrow(BatchRangeOutOfBoundsError);
        expect(manager.areRecordsPersistedUntil(1)).toBe(false);
      });
    });

    describe('when a later batch of a group becomes COMPLETE', () => {
      it('completes the earlier batches of the group', () => {
        const manager = withRecords(6);
        manager.registerBatch([[0, 2]], 'PERSISTED', 'tx-1');
        manager.registerBatch([[2, 4]], 'PERSISTED', 'tx-2');
        manager.registerBatch([[4, 6]], 'COMPLETE', 'tx-1');
        manager.markEndOfStream(true);
        expect(manager.isBatchProcessingComplete()).toBe(false);
        manager.registerBatch([], 'COMPLETE', 'tx-2');
        expect(manager.isBatchProcessingComplete()).toBe(true);
      });
    });
  });

  describe('.persistedUntil', () => {
    it('is the length of the persisted prefix', () => {
      const manager = withRecords(9);
      manager.updateBatchState([[3, 9]], 'PERSISTED');
      expect(manager.persistedUntil).toBe(0);
      manager.updateBatchState([[0, 3]], 'COMPLETE');
      expect(manager.persistedUntil).toBe(9);
    });
  });

  describe('.markSucceeded', () => {
    it('succeeds once every record is COMPLETE and the stream ended', () => {
      const manager = withRecords(2);
      manager.updateBatchState([[0, 2]], 'COMPLETE');
      manager.markEndOfStream(true);
      manager.markSucceeded();
      expect(manager.result).toEqual({ status: 'succeeded' });
      expect(manager.isActive).toBe(false);
    });

    it.each([
      ['before the end of stream', (m: StreamManager) => m.updateBatchState([[0, 2]], 'COMPLETE')],
      [
        'while records are only persisted',
        (m: StreamManager) => {
          m.updateBatchState([[0, 2]], 'PERSISTED');
          m.markEndOfStream(true);
        },
      ],
      [
        'after a failure',
        (m: StreamManager) => {
          m.updateBatchState([[0, 2]], 'COMPLETE');
          m.markEndOfStream(true);
          m.markFailed(new Error('boom'));
        },
      ],
    ])('refuses %s', (_when, arrange) => {
      const manager = withRecords(2);
      arrange(manager);
      expect(() => manager.markSucceeded()).toThrow(StreamTransitionError);
    });

    it('refuses a second success', () => {
      const manager = new StreamManager(USERS);
      manager.markEndOfStream(true);
      manager.markSucceeded();
      expect(() => manager.markSucceeded()).toThrow(/already succeeded/);
    });
  });

  describe('.markFailed', () => {
    it('keeps the first failure', () => {
      const manager = new StreamManager(USERS);
      const first = new Error('first');
      expect(manager.markFailed(first)).toBe(true);
      expect(manager.markFailed(new Error('second'))).toBe(false);
      expect(manager.result).toEqual({ status: 'failed', error: first });
    });

    describe('after success', () => {
      it('changes nothing', () => {
        const manager = new StreamManager(USERS);
        manager.markEndOfStream(true);
        manager.markSucceeded();
        expect(manager.markFailed(new Error('late'))).toBe(false);
        expect(manager.result.status).toBe('succeeded');
      });
    });
  });

  it('knows its key', () => {
    expect(new StreamManager(USERS).key).toBe(streamKey(USERS));
    expect(new StreamManager({ name: 'b' }).displayName).toBe('b');
  });

  // ---------------------------------------------------------------- properties
  describe('properties', () => {
    type Step =
      | { readonly kind: 'read'; readonly count: number }
      | {
          readonly kind: 'batch';
          readonly startSeed: number;
          readonly lengthSeed: number;
          readonly state: BatchState;
          readonly group: string | undefined;
        }
      | { readonly kind: 'end'; readonly complete: boolean };

    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('read'), count: fc.nat({ max: 6 }) }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('batch'),
          startSeed: fc.nat(),
          lengthSeed: fc.nat(),
          state: fc.constantFrom(...BATCH_STATES),
          group: fc.option(fc.constantFrom('g1', 'g2', 'g3'), { nil: undefined }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('end'), complete: fc.boolean() }) },
    );

    /** The model: the best state per record index, groups as lists of ranges. */
    class Model {
      readonly rank: number[] = [];
      readonly groups = new Map<string, { ranges: IndexRange[]; rank: number }>();
      ended = false;

      mark(ranges: readonly IndexRange[], rank: number): void {
        for (const [start, end] of ranges) {
          for (let i = start; i < end; i++) this.rank[i] = Math.max(this.rank[i] ?? -1, rank);
        }
      }
      persistedUntil(): number {
        let n = 0;
        while (n < this.rank.length && (this.rank[n] as number) >= 2) n++;
        return n;
      }
      complete(): boolean {
        return this.ended && this.rank.every((r) => r >= 3);
      }
    }

    it('tracks persisted-until monotonically and batch completion exactly as the model', () => {
      fc.assert(
        fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
          const manager = new StreamManager(USERS);
          const model = new Model();
          let previousPersistedUntil = 0;
          for (const step of steps) {
            if (step.kind === 'read') {
              if (model.ended) continue;
              for (let i = 0; i < step.count; i++) {
                model.rank.push(-1);
                manager.nextRecordIndex();
              }
            } else if (step.kind === 'batch') {
              const count = manager.recordCount;
              const start = step.startSeed % (count + 1);
              const range: IndexRange = [start, start + (step.lengthSeed % (count - start + 1))];
              const rank = batchStateRank(step.state);
              manager.registerBatch([range], step.state, step.group);
              if (step.group === undefined) {
                model.mark([range], rank);
              } else {
                const group = model.groups.get(step.group) ?? { ranges: [], rank: -1 };
                group.ranges.push(range);
                group.rank = Math.max(group.rank, rank);
                model.groups.set(step.group, group);
                model.mark(group.ranges, group.rank);
              }
            } else {
              if (model.ended) continue;
              model.ended = true;
              manager.markEndOfStream(step.complete);
            }
            const persistedUntil = manager.persistedUntil;
            if (persistedUntil < previousPersistedUntil) return false;
            previousPersistedUntil = persistedUntil;
            if (persistedUntil !== model.persistedUntil()) return false;
            for (let i = 0; i <= manager.recordCount + 1; i++) {
              if (manager.areRecordsPersistedUntil(i) !== i <= model.persistedUntil()) return false;
            }
            if (manager.isBatchProcessingComplete() !== model.complete()) return false;
          }
          return true;
        }),
        { numRuns: 500 },
      );
    });
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
