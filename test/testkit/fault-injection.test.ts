import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkProtocolInvariants,
  createMockDestination,
  FAULT_FAILURE_TYPES,
  type FaultPlan,
  faultPlanArbitrary,
  harnessFaults,
  MockBackend,
  runDestination,
  syncMessagesArbitrary,
  withFaults,
} from '../../src/testkit/index.js';
import { catalog, record, status, streamState } from '../helpers/messages.js';

const CATALOG = catalog([{ name: 'a' }, { name: 'b' }]);
const INPUT = [
  record('a', { id: 1 }),
  record('b', { id: 1 }),
  streamState('a', { n: 1 }),
  record('a', { id: 2 }),
  record('b', { id: 2 }),
  status('a', 'COMPLETE'),
  status('b', 'COMPLETE'),
] as any[];
const SMALL_BATCHES = { DESTKIT_BATCH_SIZE_BYTES: '1' };

describe('withFaults', () => {
  it('fails the Nth call of a method, before the connector sees it, with the planned class', async () => {
    const { definition, backend } = createMockDestination();
    const plan: FaultPlan = { kind: 'fail', method: 'processRecords', nth: 2, failure: 'config' };
    const result = await runDestination({
      definition: withFaults(definition, plan),
      catalog: CATALOG,
      messages: INPUT,
      env: SMALL_BATCHES,
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toMatchObject({ failure_type: 'config_error' });
    expect(String(result.errors[0]?.message)).toContain(
      'injected config failure in processRecords #2',
    );
    // The first call reached the mock, the second did not.
    expect(backend.callsOf('processRecords')).toHaveLength(1);
    expect(backend.finalized).toEqual([]);
    expect(
      checkProtocolInvariants({ catalog: CATALOG, messages: INPUT }, result, {
        outcome: 'config_error',
      }),
    ).toEqual([]);
  });

  it('counts per stream when the plan names one', async () => {
    const { definition, backend } = createMockDestination();
    const result = await runDestination({
      definition: withFaults(definition, {
        kind: 'fail',
        method: 'close',
        nth: 1,
        failure: 'transient',
        stream: 'b',
      }),
      catalog: CATALOG,
      messages: INPUT,
    });
    expect(result.errors[0]).toMatchObject({ failure_type: 'transient_error' });
    // b's loader was closed with the injected failure: b was not finalized.
    expect(backend.finalized).not.toContain('b');
    const closeB = backend.callsOf('close', 'b');
    expect(closeB).toHaveLength(1);
    expect(String((closeB[0]!.failure as Error).message)).toContain(
      'injected transient failure in close #1 of stream b',
    );
  });

  it('slows calls down', async () => {
    const { definition } = createMockDestination();
    const started = Date.now();
    const result = await runDestination({
      definition: withFaults(definition, {
        kind: 'slow',
        delayMs: 40,
        methods: ['setup', 'teardown'],
      }),
      catalog: CATALOG,
      messages: INPUT,
    });
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it('leaves kill plans to the harness', () => {
    expect(
      harnessFaults([
        { kind: 'slow', delayMs: 1 },
        { kind: 'kill', afterStates: 2 },
      ]),
    ).toEqual({
      killAfterStates: 2,
    });
    expect(harnessFaults([])).toEqual({});
  });

  it('keeps every protocol invariant under any fault plan (property, mock destination)', async () => {
    await fc.assert(
      fc.asyncProperty(
        syncMessagesArbitrary({ maxStreams: 2, maxRecords: 12, everyType: false }),
        faultPlanArbitrary({ maxNth: 3, maxDelayMs: 3 }),
        async (sync, plan) => {
          const backend = new MockBackend();
          const { definition } = createMockDestination({}, backend);
          const result = await runDestination({
            definition: withFaults(definition, plan),
            catalog: sync.catalog,
            messages: sync.messages,
            env: SMALL_BATCHES,
            ...harnessFaults([plan]),
          });
          const fired = result.errors.some((e) => String(e.message).includes('test kit: injected'));
          const outcome =
            plan.kind === 'fail' && fired ? FAULT_FAILURE_TYPES[plan.failure] : sync.outcome;
          const problems = checkProtocolInvariants(
            { catalog: sync.catalog, messages: sync.messages },
            result,
            result.killed ? {} : { outcome },
          );
          expect(problems).toEqual([]);
          expect(backend.violations).toEqual([]);
          // A stream that was not COMPLETE, or any failure: its final table never changed.
          for (const stream of sync.streams) {
            const finalized = backend.finalized.includes(stream.label);
            if (sync.statuses.get(stream.label) !== 'COMPLETE') expect(finalized).toBe(false);
          }
          if (result.exitCode === 0) {
            for (const stream of sync.streams) expect(backend.finalized).toContain(stream.label);
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});
