import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInputLine } from '../../src/protocol/input-message.js';
import { streamKey } from '../../src/protocol/messages.js';
import { recordLineKey, scanRecordLine } from '../../src/protocol/record-line-scanner.js';

/** What the full parser says of a line: the record's stream key, 'other' or 'error'. */
function fullVerdict(line: Buffer): string {
  try {
    const message = parseInputLine(line, 1);
    return message.kind === 'record' ? `key:${message.streamKey}` : 'other';
  } catch {
    return 'error';
  }
}

/**
 * `line` copied to `offset` bytes into memory of its own, followed there by bytes of `after`
 * (the scanner reads strings four bytes at a time from 4-byte boundaries of the memory).
 */
function placed(line: Buffer, offset: number, after: number): Buffer {
  const memory = Buffer.alloc(offset + line.length + 7, after);
  line.copy(memory, offset);
  return memory.subarray(offset, offset + line.length);
}

/**
 * The scanner's contract: when it names a key, the full parser accepts the line as a record of
 * that stream. (`undefined` only sends the line to the full parser, so it is always allowed.)
 * The answer is the same wherever the line lies in memory and whatever bytes follow it there.
 */
function checkSound(line: Buffer): string | undefined {
  const key = recordLineKey(line);
  if (key !== undefined) expect(fullVerdict(line)).toBe(`key:${key}`);
  for (let offset = 0; offset < 4; offset++)
    for (const after of [0x22, 0x78, 0x00])
      expect(recordLineKey(placed(line, offset, after))).toBe(key);
  return key;
}

/** JSON text of `value` with random whitespace (space, tab, CR) between tokens. */
function spaced(value: unknown, spaces: readonly string[]): string {
  let k = 0;
  const ws = () => spaces[k++ % spaces.length] ?? '';
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `${ws()}[${v.map((x) => `${ws()}${write(x)}${ws()}`).join(',')}]`;
    if (typeof v === 'object' && v !== null)
      return `${ws()}{${Object.entries(v)
        .map(([key, x]) => `${ws()}${JSON.stringify(key)}${ws()}:${ws()}${write(x)}${ws()}`)
        .join(',')}}${ws()}`;
    return JSON.stringify(v) ?? 'null';
  };
  return write(value);
}

const whitespace = fc.array(fc.constantFrom('', ' ', '\t', '\r', '  '), {
  minLength: 1,
  maxLength: 8,
});

/** Stream names and namespaces, some needing escapes or multi-byte UTF-8. */
const name = fc.oneof(
  fc.constantFrom('users', 'orders', '', 'a"b', 'tab\there', 'é', '\u2028', '\ud83d\ude00'),
  fc.string({ maxLength: 8 }),
);

/** Records as a source writes them: any data object, any finite emitted_at, extra fields. */
const recordValue = fc.record(
  {
    stream: name,
    namespace: fc.oneof(name, fc.constant(null)),
    data: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })),
    emitted_at: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    meta: fc.constant({ changes: [] }),
  },
  { requiredKeys: ['stream', 'data', 'emitted_at'] },
);

const recordMessage = fc
  .tuple(recordValue, fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })))
  .map(([record, extra]) => ({ ...extra, type: 'RECORD', record }));

describe(recordLineKey, () => {
  it('names the stream of every record a source writes, as the full parser does', () => {
    fc.assert(
      fc.property(recordMessage, whitespace, (message, spaces) => {
        for (const text of [JSON.stringify(message), spaced(message, spaces)]) {
          const line = Buffer.from(text);
          const { record } = message;
          const key = checkSound(line);
          // A field name of the message or its record written with escapes is left to the
          // full parser; every other record is named.
          const names = [...Object.keys(message), ...Object.keys(record)];
          if (names.every((n) => JSON.stringify(n) === `"${n}"`))
            expect(key).toBe(streamKey({ name: record.stream, namespace: record.namespace }));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never accepts a line the full parser rejects or reads otherwise (edited records)', () => {
    const edit = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 3 }),
      insert: fc.string({
        unit: fc.constantFrom(
          '"',
          '\\',
          '{',
          '}',
          '[',
          ']',
          ',',
          ':',
          '0',
          '-',
          '.',
          'e',
          'u',
          ' ',
          '\u0001',
          'n',
          'x',
          '"type":"STATE"',
          '"record":1',
          '"stream":2',
          '"data":[]',
          '"emitted_at":1e999',
          '"namespace":true',
          '"t\\u0079pe":"LOG"',
          '"str\\u0065am":"x"',
        ),
        maxLength: 3,
      }),
    });
    fc.assert(
      fc.property(
        recordMessage,
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (message, edits) => {
          let bytes = Buffer.from(JSON.stringify(message));
          for (const { at, remove, insert } of edits) {
            const i = at % (bytes.length + 1);
            bytes = Buffer.concat([
              bytes.subarray(0, i),
              Buffer.from(insert),
              bytes.subarray(Math.min(bytes.length, i + remove)),
            ]);
          }
          checkSound(bytes);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never accepts any other JSON value or arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string(),
          fc.string({ unit: 'binary' }),
        ),
        (text) => {
          checkSound(Buffer.from(text));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never accepts random bytes, which may be invalid UTF-8', () => {
    const prefix = Buffer.from(
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":"',
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (tail) => {
        checkSound(Buffer.concat([prefix, Buffer.from(tail), Buffer.from('"}}}')]));
        checkSound(Buffer.from(tail));
      }),
      { numRuns: 1000 },
    );
  });

  const plain = '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}}}';
  const key = streamKey({ name: 's' });

  it.each([
    ['a plain record', plain, key],
    ['whitespace around the message', ` \t${plain}\r `, key],
    [
      'a namespace',
      '{"type":"RECORD","record":{"namespace":"n","stream":"s","emitted_at":1,"data":{}}}',
      streamKey({ name: 's', namespace: 'n' }),
    ],
    [
      'a null namespace',
      '{"type":"RECORD","record":{"namespace":null,"stream":"s","emitted_at":1,"data":{}}}',
      key,
    ],
    [
      'an escaped stream name',
      '{"type":"RECORD","record":{"stream":"\\u0073\\n","emitted_at":1,"data":{}}}',
      streamKey({ name: 's\n' }),
    ],
    [
      'a later type wins',
      '{"type":"STATE","type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}}}',
      key,
    ],
    [
      'a later record wins',
      '{"type":"RECORD","record":5,"record":{"stream":"s","emitted_at":1,"data":{}}}',
      key,
    ],
    [
      'a later stream wins',
      '{"type":"RECORD","record":{"stream":1,"stream":"s","emitted_at":1,"data":{}}}',
      key,
    ],
    // Undecided: left to the full parser.
    [
      'a later type that is not RECORD',
      '{"type":"RECORD","type":"STATE","record":{"stream":"s","emitted_at":1,"data":{}}}',
      undefined,
    ],
    [
      'a later record that is not an object',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}},"record":[]}',
      undefined,
    ],
    [
      'fields of an earlier record',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}},"record":{}}',
      undefined,
    ],
    [
      'a later type written with escapes',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{}},"t\\u0079pe":"LOG"}',
      undefined,
    ],
    [
      'an escaped field name',
      '{"type":"RECORD","record":{"str\\u0065am":"s","emitted_at":1,"data":{}}}',
      undefined,
    ],
    [
      'an escaped type',
      '{"type":"REC\\u004fRD","record":{"stream":"s","emitted_at":1,"data":{}}}',
      undefined,
    ],
    [
      'emitted_at too large for a double',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1e400,"data":{}}}',
      undefined,
    ],
    [
      'a namespace that is a number',
      '{"type":"RECORD","record":{"namespace":1,"stream":"s","emitted_at":1,"data":{}}}',
      undefined,
    ],
    [
      'data that is an array',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":[]}}',
      undefined,
    ],
    ['a second value', `${plain} {}`, undefined],
    [
      'a trailing comma',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{},}}',
      undefined,
    ],
    [
      'a leading zero',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":01,"data":{}}}',
      undefined,
    ],
    [
      'a bare fraction',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1.,"data":{}}}',
      undefined,
    ],
    [
      'a control character in a string',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":"\u0001"}}}',
      undefined,
    ],
    [
      'a bad escape',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":"\\x"}}}',
      undefined,
    ],
    [
      'a short unicode escape',
      '{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":"\\u12"}}}',
      undefined,
    ],
    ['a byte order mark', `\ufeff${plain}`, undefined],
    [
      'deep nesting',
      `{"type":"RECORD","record":{"stream":"s","emitted_at":1,"data":{"a":${'['.repeat(300)}${']'.repeat(300)}}}}`,
      undefined,
    ],
  ])('%s', (_what, text, expected) => {
    const line = Buffer.from(text);
    expect(recordLineKey(line)).toBe(expected);
    checkSound(line);
  });

  it('names many streams, read in turns, each by its own bytes (keys it remembers)', () => {
    const descriptors: { name: string; namespace?: string | null }[] = [];
    for (let i = 0; i < 300; i++) descriptors.push({ name: `s${String(i).padStart(3, '0')}` });
    descriptors.push(
      { name: 'bc', namespace: 'a' },
      { name: 'c', namespace: 'ab' },
      { name: 'abc' },
      { name: 'abc', namespace: null },
      { name: 'abc', namespace: '' },
      { name: 'abc', namespace: 'x' },
      { name: 'ab\\u0063', namespace: 'x' },
      // Names whose bytes hash alike (31·'A' + 'a' = 31·'B' + 'B'): each keeps its own key.
      { name: 'Aa' },
      { name: 'BB' },
      { name: 'AaAa' },
      { name: 'AaBB' },
      { name: 'BBAa' },
      { name: 'BBBB' },
      { name: 'BB', namespace: 'Aa' },
      { name: 'Aa', namespace: 'BB' },
    );
    for (let round = 0; round < 3; round++) {
      for (const d of round === 1 ? [...descriptors].reverse() : descriptors) {
        // `name` is written into the line as it is: the one with `\u0063` is an escape.
        const namespace =
          d.namespace === undefined ? '' : `,"namespace":${JSON.stringify(d.namespace)}`;
        const line = Buffer.from(
          `{"type":"RECORD","record":{"stream":"${d.name}"${namespace},"emitted_at":1,"data":{}}}`,
        );
        const name = JSON.parse(`"${d.name}"`) as string;
        expect(checkSound(line)).toBe(streamKey({ name, namespace: d.namespace }));
      }
    }
  });

  it('names every stream right past the number of keys it remembers (20,000 streams, twice)', () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20_000; i++) {
        const name = `n${i}`;
        const line = Buffer.from(
          `{"type":"RECORD","record":{"stream":"${name}","emitted_at":1,"data":{}}}`,
        );
        const key = recordLineKey(line);
        if (key !== streamKey({ name })) expect(key).toBe(streamKey({ name }));
      }
    }
  });

  it('reads invalid UTF-8 inside a string as the full parser does (replaced, still valid)', () => {
    const line = Buffer.concat([
      Buffer.from('{"type":"RECORD","record":{"stream":"s'),
      Buffer.from([0xc3]),
      Buffer.from('","emitted_at":1,"data":{"a":"'),
      Buffer.from([0xff, 0xe2, 0x82]),
      Buffer.from('"}}}'),
    ]);
    expect(recordLineKey(line)).toBe(streamKey({ name: 's\ufffd' }));
    checkSound(line);
  });
});

describe(scanRecordLine, () => {
  /** The full parser's record of a line, or undefined. */
  function fullRecord(line: Buffer) {
    try {
      const message = parseInputLine(line, 1);
      return message.kind === 'record' ? message : undefined;
    } catch {
      return undefined;
    }
  }

  it('finds the data and emitted_at of every record without meta, as the full parser reads them', () => {
    fc.assert(
      fc.property(recordMessage, whitespace, fc.boolean(), (message, spaces, withMeta) => {
        const { meta: _meta, ...bare } = message.record;
        const source = { ...message, record: withMeta ? message.record : bare };
        for (const text of [JSON.stringify(source), spaced(source, spaces)]) {
          const line = Buffer.from(text);
          const scan = scanRecordLine(line);
          const key = recordLineKey(line);
          if (scan === undefined) {
            // Left to the full parser: a line recordLineKey is unsure of, or one with meta.
            expect(key === undefined || 'meta' in source.record).toBe(true);
            continue;
          }
          const full = fullRecord(line);
          expect(full).toBeDefined();
          expect(scan.key).toBe(key);
          expect(scan.key).toBe(full?.streamKey);
          expect(scan.emittedAt).toBe(full?.record.emitted_at);
          const dataText = line.toString('utf8', scan.dataStart, scan.dataEnd);
          expect(JSON.parse(dataText)).toEqual(full?.record.data);
          expect('meta' in source.record).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('takes the last data field, as JSON.parse does, and leaves meta of any value to the full parser', () => {
    const twice = Buffer.from(
      '{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":5,"data":{"b":2}}}',
    );
    const scan = scanRecordLine(twice);
    expect(scan).toBeDefined();
    expect(twice.toString('utf8', scan?.dataStart, scan?.dataEnd)).toBe('{"b":2}');
    for (const meta of ['null', '{}', '{"changes":[]}', '1'])
      expect(
        scanRecordLine(
          Buffer.from(
            `{"type":"RECORD","record":{"stream":"s","data":{},"meta":${meta},"emitted_at":5}}`,
          ),
        ),
      ).toBeUndefined();
  });
});
