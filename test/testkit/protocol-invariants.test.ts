import { describe, expect, it } from 'vitest';
import { checkProtocolInvariants } from '../../src/testkit/protocol-invariants.js';
import type { OutputLine, RunDestinationResult } from '../../src/testkit/run-destination.js';
import { catalog, record, status, streamState } from '../helpers/messages.js';

type Output = Parameters<typeof checkProtocolInvariants>[1];

const CATALOG = catalog([{ name: 'a' }, { name: 'b' }]);
const INPUT = [
  record('a', { id: 1 }),
  record('a', { id: 2 }),
  streamState('a', { n: 1 }, { id: 7 }),
  record('b', { id: 1 }),
  streamState('b', { n: 1 }),
  record('a', { id: 3 }),
  streamState('a', { n: 2 }),
  status('a', 'COMPLETE'),
  status('b', 'COMPLETE'),
];

/** The echo of an input state with destinationStats appended, as destkit writes it. */
function echo(message: Record<string, any>, recordCount: number): Record<string, any> {
  const copy = structuredClone(message);
  return { ...copy, state: { ...copy.state, destinationStats: { recordCount } } };
}

function output(
  messages: unknown[],
  overrides: Partial<
    Pick<RunDestinationResult, 'exitCode' | 'killed' | 'operation' | 'timedOut'>
  > = {},
): Output {
  const lines: OutputLine[] = messages.map((m) =>
    typeof m === 'string'
      ? { raw: m, message: undefined }
      : { raw: JSON.stringify(m), message: m as OutputLine['message'] },
  );
  return {
    exitCode: 0,
    killed: false,
    timedOut: false,
    operation: 'write',
    persistedAtState: [],
    lines,
    ...overrides,
  };
}

const GOOD = [echo(INPUT[2]!, 2), echo(INPUT[4]!, 1), echo(INPUT[6]!, 1)];
const ERROR = {
  type: 'TRACE',
  trace: {
    type: 'ERROR',
    emitted_at: 1,
    error: { message: 'boom', failure_type: 'transient_error' },
  },
};

function check(out: Output, expectations = {}) {
  return checkProtocolInvariants({ catalog: CATALOG, messages: INPUT as any }, out, expectations);
}

describe('checkProtocolInvariants', () => {
  it('accepts a correct run', () => {
    expect(check(output(GOOD), { outcome: 'success' })).toEqual([]);
  });

  it('reports a state that was altered', () => {
    const altered = echo(INPUT[2]!, 2);
    altered.state.stream.stream_state = { n: 99 };
    expect(check(output([altered, ...GOOD.slice(1)]))).toContainEqual(
      expect.stringContaining('not sent (or was altered)'),
    );
  });

  it('reports a state echoed twice', () => {
    expect(check(output([...GOOD, GOOD[0]]))).toContainEqual(
      expect.stringContaining('echoed more often than it was sent'),
    );
  });

  it('reports states out of order and skipped states', () => {
    const problems = check(output([GOOD[2], GOOD[1]], { exitCode: 1 }));
    expect(problems).toContainEqual(expect.stringContaining('expected the input-order prefix [0]'));
  });

  it('reports a wrong or missing recordCount', () => {
    expect(check(output([echo(INPUT[2]!, 3), ...GOOD.slice(1)]))).toContainEqual(
      'state #0 echoed with recordCount 3, expected 2',
    );
    expect(check(output([INPUT[2], ...GOOD.slice(1)]))).toContainEqual(
      'state #0 echoed without destinationStats.recordCount',
    );
  });

  it('reports a success that did not echo every state', () => {
    expect(check(output(GOOD.slice(0, 2)))).toContainEqual('exit code 0 with 2 of 3 states echoed');
  });

  it('reports a success although a stream had no terminal status', () => {
    const input = INPUT.slice(0, -1);
    const problems = checkProtocolInvariants(
      { catalog: CATALOG, messages: input as any },
      output(GOOD),
    );
    expect(problems).toContainEqual('exit code 0 although stream b was without a status');
  });

  it('reports a failure without a TRACE ERROR, a bad exit code and a bad failure type', () => {
    expect(check(output(GOOD.slice(0, 1), { exitCode: 1 }))).toContainEqual(
      'exit code 1 without a TRACE ERROR',
    );
    expect(check(output([...GOOD.slice(0, 1), ERROR], { exitCode: 2 }))).toContainEqual(
      'a failed run exited with 2, expected 1',
    );
    const bad = structuredClone(ERROR);
    bad.trace.error.failure_type = 'oops';
    expect(check(output([bad], { exitCode: 1 }))).toContainEqual(
      'TRACE ERROR with failure_type "oops"',
    );
  });

  it('checks the expected outcome', () => {
    expect(check(output([ERROR], { exitCode: 1 }), { outcome: 'success' })).toContainEqual(
      expect.stringContaining('expected success, got exit code 1 (transient_error: boom)'),
    );
    expect(check(output([ERROR], { exitCode: 1 }), { outcome: 'config_error' })).toContainEqual(
      expect.stringContaining('expected the first TRACE ERROR to be config_error'),
    );
    expect(check(output([ERROR], { exitCode: 1 }), { outcome: 'transient_error' })).toEqual([]);
    expect(check(output(GOOD), { outcome: 'failure' })).toContainEqual(
      'expected a failure (failure), got exit code 0',
    );
  });

  it('reports stdout lines that are not protocol messages', () => {
    const problems = check(output(['not json', { type: 'RECORD', record: {} }, ...GOOD]));
    expect(problems).toContainEqual('stdout line is not a JSON object: not json');
    expect(problems).toContainEqual('stdout message of unknown type "RECORD"');
  });

  it('reports a state echoed before the records it covers were persisted', () => {
    const out = {
      ...output(GOOD),
      persistedAtState: [new Map([['a', new Set(['1'])]]), undefined, undefined],
    };
    expect(check(out)).toEqual([
      'state #0 was echoed before 1 record(s) of a it covers were persisted (first: id 2)',
    ]);
  });

  it('checks only the safety rules of a killed run', () => {
    expect(check(output(GOOD.slice(0, 1), { exitCode: null, killed: true }))).toEqual([]);
    expect(check(output([GOOD[1], GOOD[0]], { exitCode: null, killed: true }))).toEqual([]);
    expect(check(output([GOOD[2]], { exitCode: null, killed: true }))).toHaveLength(1);
  });

  it('checks spec and check runs', () => {
    expect(
      checkProtocolInvariants({}, output([{ type: 'SPEC', spec: {} }], { operation: 'spec' })),
    ).toEqual([]);
    expect(checkProtocolInvariants({}, output([], { operation: 'check' }))).toEqual([
      'check wrote 0 CONNECTION_STATUS messages, expected 1',
    ]);
  });
});
