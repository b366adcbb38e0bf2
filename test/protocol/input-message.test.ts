import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../../src/errors/input-errors.js';
import { parseInputLine } from '../../src/protocol/input-message.js';
import { streamKey } from '../../src/protocol/messages.js';

const line = (value: unknown) => Buffer.from(JSON.stringify(value));
const record = (fields: Record<string, unknown>) => ({
  type: 'RECORD',
  record: { stream: 'users', data: { id: 1 }, emitted_at: 1718000000000, ...fields },
});

/** The problem of the MalformedMessageError thrown for `text`. */
function problemOf(text: string | Buffer, lineNumber = 7): string {
  try {
    parseInputLine(typeof text === 'string' ? Buffer.from(text) : text, lineNumber);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedMessageError);
    expect((error as MalformedMessageError).lineNumber).toBe(lineNumber);
    return (error as MalformedMessageError).problem;
  }
  throw new Error('expected a MalformedMessageError');
}

describe(parseInputLine, () => {
  describe('RECORD', () => {
    it('classifies a record with its stream key and raw bytes', () => {
      const raw = line(record({ namespace: 'public', meta: { changes: [] }, extra: true }));
      const message = parseInputLine(raw, 3);
      expect(message).toEqual({
        kind: 'record',
        record: {
          namespace: 'public',
          stream: 'users',
          data: { id: 1 },
          emitted_at: 1718000000000,
          meta: { changes: [] },
          extra: true,
        },
        streamKey: streamKey({ name: 'users', namespace: 'public' }),
        raw,
        lineNumber: 3,
      });
      if (message.kind === 'record') expect(message.raw).toBe(raw);
    });

    it('accepts a null or absent namespace', () => {
      const message = parseInputLine(line(record({ namespace: null })), 1);
      expect(message.kind === 'record' && message.streamKey).toBe(streamKey({ name: 'users' }));
    });

    it.each([
      [{ stream: undefined }, 'RECORD is missing the string field record.stream'],
      [{ stream: 5 }, 'RECORD field record.stream must be a string, not a number'],
      [{ data: undefined }, 'RECORD is missing the object field record.data'],
      [{ data: null }, 'RECORD field record.data must be an object, not null'],
      [{ data: [1] }, 'RECORD field record.data must be an object, not an array'],
      [{ data: 'x' }, 'RECORD field record.data must be an object, not a string'],
      [{ emitted_at: undefined }, 'RECORD is missing the finite number field record.emitted_at'],
      [{ emitted_at: '1' }, 'RECORD field record.emitted_at must be a finite number, not a string'],
      [{ namespace: 3 }, 'RECORD field record.namespace must be a string or null, not a number'],
    ])('rejects %j: %s', (fields, problem) => {
      expect(problemOf(JSON.stringify(record(fields)))).toBe(problem);
    });

    it('rejects a non-finite emitted_at (1e999 parses to Infinity)', () => {
      expect(
        problemOf('{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":1e999}}'),
      ).toBe('RECORD field record.emitted_at must be a finite number, not a non-finite number');
    });

    it('rejects a missing record payload', () => {
      expect(problemOf('{"type":"RECORD"}')).toBe('RECORD is missing the object field record');
    });
  });

  describe('STATE', () => {
    it('classifies a STREAM state and keeps the raw bytes', () => {
      const raw = Buffer.from(
        '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},"stream_state":{"c":1}},"sourceStats":{"recordCount":100.0},"id":17}}',
      );
      const message = parseInputLine(raw, 2);
      expect(message.kind).toBe('state');
      if (message.kind !== 'state') return;
      expect(message.stateType).toBe('STREAM');
      expect(message.raw).toBe(raw);
      expect(message.state.id).toBe(17);
      expect(message.lineNumber).toBe(2);
    });

    it('classifies a GLOBAL state', () => {
      const message = parseInputLine(
        line({
          type: 'STATE',
          state: {
            type: 'GLOBAL',
            global: { shared_state: {}, stream_states: [{ stream_descriptor: { name: 'a' } }] },
          },
        }),
        1,
      );
      expect(message.kind === 'state' && message.stateType).toBe('GLOBAL');
    });

    it.each([
      [{ data: { cursor: 1 } }],
      [{ type: 'LEGACY', data: { cursor: 1 } }],
      [{ type: null }],
      [{}],
    ])('classifies %j as a LEGACY state', (state) => {
      const message = parseInputLine(line({ type: 'STATE', state }), 1);
      expect(message.kind === 'state' && message.stateType).toBe('LEGACY');
    });

    it.each([
      [{ type: 'STREAM' }, 'STATE is missing the object field state.stream'],
      [
        { type: 'STREAM', stream: {} },
        'STATE is missing the object field state.stream.stream_descriptor',
      ],
      [
        { type: 'STREAM', stream: { stream_descriptor: {} } },
        'STATE is missing the string field state.stream.stream_descriptor.name',
      ],
      [
        { type: 'STREAM', stream: { stream_descriptor: { name: 'a', namespace: 1 } } },
        'STATE field state.stream.stream_descriptor.namespace must be a string or null, not a number',
      ],
      [{ type: 'GLOBAL' }, 'STATE is missing the object field state.global'],
      [
        { type: 'GLOBAL', global: {} },
        'STATE is missing the array field state.global.stream_states',
      ],
      [
        { type: 'GLOBAL', global: { stream_states: {} } },
        'STATE field state.global.stream_states must be an array, not an object',
      ],
      [
        { type: 'GLOBAL', global: { stream_states: [{ stream_descriptor: { name: 'a' } }, {}] } },
        'STATE is missing the object field state.global.stream_states[1].stream_descriptor',
      ],
      [{ type: 'PER_PARTITION' }, 'STATE field state.type must be STREAM, GLOBAL or LEGACY'],
    ])('rejects %j: %s', (state, problem) => {
      expect(problemOf(JSON.stringify({ type: 'STATE', state }))).toBe(problem);
    });

    it('rejects a state that is not an object', () => {
      expect(problemOf('{"type":"STATE","state":[]}')).toBe(
        'STATE field state must be an object, not an array',
      );
    });
  });

  describe('TRACE', () => {
    it('classifies a STREAM_STATUS trace', () => {
      const message = parseInputLine(
        line({
          type: 'TRACE',
          trace: {
            type: 'STREAM_STATUS',
            emitted_at: 1.7e12,
            stream_status: {
              stream_descriptor: { name: 'users', namespace: 'public' },
              status: 'COMPLETE',
            },
          },
        }),
        9,
      );
      expect(message).toEqual({
        kind: 'stream_status',
        descriptor: { name: 'users', namespace: 'public' },
        status: 'COMPLETE',
        streamKey: streamKey({ name: 'users', namespace: 'public' }),
        lineNumber: 9,
      });
    });

    it.each(['ERROR', 'ESTIMATE', 'ANALYTICS', 'SOMETHING_NEW'])('ignores a %s trace', (type) => {
      expect(parseInputLine(line({ type: 'TRACE', trace: { type, emitted_at: 1 } }), 1)).toEqual({
        kind: 'ignored',
        type: 'TRACE',
        traceType: type,
        lineNumber: 1,
      });
    });

    it.each([
      [{}, 'TRACE is missing the string field trace.type'],
      [{ type: 'STREAM_STATUS' }, 'TRACE is missing the object field trace.stream_status'],
      [
        { type: 'STREAM_STATUS', stream_status: { status: 'COMPLETE' } },
        'TRACE is missing the object field trace.stream_status.stream_descriptor',
      ],
      [
        { type: 'STREAM_STATUS', stream_status: { stream_descriptor: { name: 'a' } } },
        'TRACE is missing the string field trace.stream_status.status',
      ],
      [
        {
          type: 'STREAM_STATUS',
          stream_status: { stream_descriptor: { name: 'a' }, status: 'DONE-ish secret' },
        },
        'TRACE field trace.stream_status.status must be one of STARTED, RUNNING, COMPLETE, INCOMPLETE',
      ],
    ])('rejects %j: %s', (trace, problem) => {
      expect(problemOf(JSON.stringify({ type: 'TRACE', trace }))).toBe(problem);
    });
  });

  describe('other messages', () => {
    it.each(['LOG', 'CONTROL', 'SPEC', 'CONNECTION_STATUS', 'CATALOG', 'DESTINATION_CATALOG'])(
      'ignores %s',
      (type) => {
        expect(parseInputLine(line({ type }), 4)).toEqual({ kind: 'ignored', type, lineNumber: 4 });
      },
    );

    it('names an unknown type that looks like an identifier', () => {
      expect(problemOf('{"type":"FOO_BAR"}')).toBe('unknown message type FOO_BAR');
    });

    it('does not name an unknown type that could be content', () => {
      expect(problemOf('{"type":"password=hunter2"}')).toBe('unknown message type');
      expect(problemOf(JSON.stringify({ type: 'A'.repeat(41) }))).toBe('unknown message type');
    });

    it.each([
      ['{"type":', 'not valid JSON'],
      ['{"type":"RECORD","record":{"stream":"s","data":{"pw":"hunter2"},}}', 'not valid JSON'],
      ['[1,2]', 'the line is JSON array, not an object'],
      ['"hunter2"', 'the line is JSON string, not an object'],
      ['{}', 'the message is missing the string field type'],
      ['{"type":7}', 'the message field type must be a string, not a number'],
    ])('rejects %s: %s', (text, problem) => {
      expect(problemOf(text)).toBe(problem);
    });

    it('keeps no cause (JSON.parse quotes the content)', () => {
      try {
        parseInputLine(Buffer.from('{"a":"hunter2"'), 1);
      } catch (error) {
        expect((error as Error).cause).toBeUndefined();
        expect((error as Error).message).not.toContain('hunter2');
      }
      expect.assertions(2);
    });
  });

  describe('property: the content never appears in an error message', () => {
    const secret = fc.string({ unit: 'binary', minLength: 6, maxLength: 20 }).map((s) => `zq${s}`);
    /** A message with a secret placed somewhere and (often) one required field broken. */
    const broken = fc.tuple(secret, fc.nat(), fc.nat()).map(([s, pick, where]) => {
      const payloads: unknown[] = [s, { [s]: s }, [s], Number.NaN, null];
      const value = payloads[where % payloads.length];
      const candidates: unknown[] = [
        { type: 'RECORD', record: { stream: value, data: { s }, emitted_at: 1 } },
        { type: 'RECORD', record: { stream: 'x', data: value, emitted_at: 1 } },
        { type: 'RECORD', record: { stream: 'x', data: { s }, emitted_at: value } },
        { type: 'RECORD', record: { stream: 'x', data: { s }, namespace: { s } } },
        { type: 'STATE', state: { type: value, data: { s } } },
        { type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 1 } }, s } },
        { type: 'STATE', state: { type: 'GLOBAL', global: { stream_states: value } } },
        { type: 'TRACE', trace: { type: 'STREAM_STATUS', stream_status: { status: value } } },
        {
          type: 'TRACE',
          trace: {
            type: 'STREAM_STATUS',
            stream_status: { stream_descriptor: { name: 'a' }, status: value },
          },
        },
        { type: value, record: { s } },
        { [s]: s },
        s,
      ];
      return { s, text: JSON.stringify(candidates[pick % candidates.length]) };
    });
    const truncated = fc.tuple(secret, fc.nat()).map(([s, cut]) => {
      const text = JSON.stringify(record({ data: { password: s } }));
      return { s, text: text.slice(0, text.length - 1 - (cut % 10)) };
    });

    it('holds for broken messages and truncated JSON', () => {
      fc.assert(
        fc.property(fc.oneof(broken, truncated), ({ s, text }) => {
          let message: string | undefined;
          try {
            parseInputLine(Buffer.from(text), 1);
          } catch (error) {
            expect(error).toBeInstanceOf(MalformedMessageError);
            message = (error as Error).message;
          }
          if (message !== undefined) {
            expect(message).not.toContain(s);
            expect(message).not.toContain(s.slice(0, 6));
          }
        }),
        { numRuns: 1000 },
      );
    });
  });
});
