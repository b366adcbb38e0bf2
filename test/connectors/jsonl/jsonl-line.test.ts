/**
 * The JSONL line format: `jsonlLine` and `jsonlLines` give exactly the bytes of `JSON.stringify`
 * of the whole line object (the reference below), `jsonlLineAround` the same line around the
 * data's text, and `extractedAt` exactly the string of `Date#toISOString`, for every input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extractedAt,
  jsonlLine,
  jsonlLineAround,
  jsonlLines,
} from '../../../connectors/destination-jsonl/jsonl-line.js';
import {
  type DestinationStream,
  makeDestinationStream,
} from '../../../src/catalog/destination-stream.js';
import type { JsonObject, JsonValue, RecordMetaChange } from '../../../src/protocol/messages.js';
import { airbyteMeta, newRawId } from '../../../src/write/airbyte-meta.js';
import type { DestinationRecord } from '../../../src/write/destination-writer.js';

// ---- the reference: the line as JSON.stringify of the whole object ----

const REFERENCE_NULLED: readonly RecordMetaChange[] = [
  { field: '_airbyte_extracted_at', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
];

function referenceExtractedAt(emittedAtMs: number): string | null {
  const date = new Date(emittedAtMs);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function referenceLine(record: DestinationRecord, rawId: string): string {
  const at = referenceExtractedAt(record.emittedAt);
  return `${JSON.stringify({
    _airbyte_raw_id: rawId,
    _airbyte_extracted_at: at,
    _airbyte_generation_id: record.stream.generationId,
    _airbyte_meta: airbyteMeta(record, at === null ? REFERENCE_NULLED : []),
    _airbyte_data: record.data,
  })}\n`;
}

function referenceLines(records: readonly DestinationRecord[], rawIds: readonly string[]): Buffer {
  return Buffer.from(records.map((r, i) => referenceLine(r, rawIds[i]!)).join(''), 'utf8');
}

/** The raw ids of `jsonlLines` output, in order (a JSON line never holds a raw newline). */
function rawIdsOf(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => (JSON.parse(l) as { _airbyte_raw_id: string })._airbyte_raw_id);
}

// ---- arbitraries ----

/** One UTF-16 piece: any code point, a lone surrogate, or a character JSON escapes. */
const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('"', '\\', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u001f', '\u007f', '\u2028'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);
const text = fc.string({ unit, maxLength: 20 });

const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(), // NaN, ±Infinity and -0 included: JSON.stringify writes null and 0
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const data: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.dictionary(text, jsonValue, { maxKeys: 6 }),
  fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }) as fc.Arbitrary<JsonObject>,
);

const MAX_DATE_MS = 8.64e15;
const emittedAt = fc.oneof(
  fc.double(), // anything, incl. NaN, ±Infinity, -0, fractional and far out of range
  fc.double({ min: -MAX_DATE_MS - 2000, max: MAX_DATE_MS + 2000 }),
  fc.integer({ min: -2_000_000, max: 2_000_000 }).map((d) => 1_700_000_000_000 + d),
  fc.integer({ min: -5000, max: 5000 }).map((d) => d / 4), // around the epoch, fractional
  fc.constantFrom(
    MAX_DATE_MS,
    -MAX_DATE_MS,
    MAX_DATE_MS + 1,
    -MAX_DATE_MS - 1,
    MAX_DATE_MS - 1,
    -MAX_DATE_MS + 1,
    -1,
    -0,
    -0.5,
    -999.5,
    -1000,
    -1001,
    253_402_300_799_999, // 9999-12-31T23:59:59.999Z
    253_402_300_800_000, // +010000-01-01T00:00:00.000Z
    -62_167_219_200_001, // -000001-12-31T23:59:59.999Z
  ),
);

const change: fc.Arbitrary<RecordMetaChange> = fc.record(
  {
    field: text,
    change: fc.constantFrom('NULLED', 'TRUNCATED'),
    reason: fc.constantFrom('SOURCE_RECORD_SIZE_LIMITATION', 'DESTINATION_SERIALIZATION_ERROR'),
    extra: jsonValue,
  },
  { requiredKeys: ['field', 'change', 'reason'] },
) as fc.Arbitrary<RecordMetaChange>;

/** The source's meta; the protocol reader does not check it, so odd shapes are included. */
const meta = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.record({}),
  fc.record({ changes: fc.constantFrom([], null, undefined) }),
  fc.record({ changes: text }), // spread into characters, as before
  fc.record({ changes: fc.array(change, { maxLength: 3 }), other: text }, { requiredKeys: [] }),
) as fc.Arbitrary<DestinationRecord['meta']>;

const id = fc.oneof(fc.constant(null), fc.integer(), fc.double());

function streamOf(generationId: number | null, syncId: number | null): DestinationStream {
  return makeDestinationStream({
    name: 'users',
    schema: {},
    importType: { kind: 'append' },
    generationId,
    minimumGenerationId: null,
    syncId,
  });
}

const stream: fc.Arbitrary<DestinationStream> = fc
  .record({ generationId: id, syncId: id })
  .map(({ generationId, syncId }) => streamOf(generationId, syncId));

function recordOf(
  s: DestinationStream,
  fields: { data: JsonObject; emittedAt: number; meta: DestinationRecord['meta'] },
): DestinationRecord {
  return { stream: s, ...fields, sizeBytes: 1 };
}

const record: fc.Arbitrary<DestinationRecord> = fc
  .record({ stream, data, emittedAt, meta })
  .map(({ stream: s, ...fields }) => recordOf(s, fields));

/** Records of one stream, with emitted_at values close together, as sources send them. */
const batch: fc.Arbitrary<DestinationRecord[]> = fc
  .tuple(
    stream,
    emittedAt,
    fc.array(
      fc.record({ data, step: fc.integer({ min: -1500, max: 1500 }), meta, repeat: fc.boolean() }),
      { maxLength: 30 },
    ),
  )
  .map(([s, start, items]) => {
    let at = start;
    return items.map(({ data: d, step, meta: m, repeat }) => {
      if (!repeat) at += step;
      return recordOf(s, { data: d, emittedAt: at, meta: m });
    });
  });

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ---- tests ----

describe('extractedAt', () => {
  it('is Date#toISOString, or null where no Date exists, in any order of calls', () => {
    fc.assert(
      fc.property(fc.array(emittedAt, { minLength: 1, maxLength: 40 }), (values) => {
        for (const value of values) expect(extractedAt(value)).toBe(referenceExtractedAt(value));
      }),
      { numRuns: 500 },
    );
  });

  it('formats the boundaries of the Date range, of a second and of year 0', () => {
    const values = [
      0,
      -0,
      0.9,
      -0.9,
      -1,
      999,
      1000,
      1001,
      -999,
      -1000,
      -1001,
      1_700_000_000_000,
      1_700_000_000_999,
      1_700_000_001_000,
      MAX_DATE_MS,
      -MAX_DATE_MS,
      MAX_DATE_MS + 1,
      -MAX_DATE_MS - 1,
      MAX_DATE_MS + 0.5,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -62_167_219_200_000,
      -62_167_219_200_001,
      253_402_300_799_999,
      253_402_300_800_000,
    ];
    for (const value of values) expect(extractedAt(value)).toBe(referenceExtractedAt(value));
    expect(extractedAt(MAX_DATE_MS)).toBe('+275760-09-13T00:00:00.000Z');
    expect(extractedAt(-1)).toBe('1969-12-31T23:59:59.999Z');
    expect(extractedAt(MAX_DATE_MS + 1)).toBeNull();
  });
});

describe('jsonlLine', () => {
  it('is JSON.stringify of the whole line object, for any record and raw id', () => {
    fc.assert(
      fc.property(record, fc.string({ unit }), (r, rawId) => {
        expect(jsonlLine(r, rawId)).toBe(referenceLine(r, rawId));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives a fresh UUID v4 raw id when none is given', () => {
    fc.assert(
      fc.property(record, (r) => {
        const line = jsonlLine(r);
        const rawId = (JSON.parse(line) as { _airbyte_raw_id: string })._airbyte_raw_id;
        expect(rawId).toMatch(UUID_V4);
        expect(line).toBe(referenceLine(r, rawId));
      }),
      { numRuns: 200 },
    );
  });

  it('writes changes, generation and a nulled extracted_at like the reference', () => {
    const s = streamOf(7, 42);
    const changes: RecordMetaChange[] = [
      { field: 'name', change: 'TRUNCATED', reason: 'SOURCE_RECORD_SIZE_LIMITATION' },
    ];
    const r = recordOf(s, { data: { a: 'é\u2028"' }, emittedAt: 9e15, meta: { changes } });
    const line = jsonlLine(r, 'id');
    expect(line).toBe(referenceLine(r, 'id'));
    expect(JSON.parse(line)).toEqual({
      _airbyte_raw_id: 'id',
      _airbyte_extracted_at: null,
      _airbyte_generation_id: 7,
      _airbyte_meta: { sync_id: 42, changes: [...changes, ...REFERENCE_NULLED] },
      _airbyte_data: { a: 'é\u2028"' },
    });
  });

  it('is the reference for ids and data outside their types too', () => {
    const odd: unknown[] = [undefined, '7', { n: 1 }, [1], true];
    for (const generationId of [...odd, 3, null]) {
      for (const syncId of [...odd, 42, null]) {
        const s = { ...streamOf(3, 42), generationId, syncId } as unknown as DestinationStream;
        for (const d of [{ a: 1 }, undefined]) {
          const r = recordOf(s, { data: d as JsonObject, emittedAt: 1, meta: undefined });
          expect(jsonlLine(r, 'id')).toBe(referenceLine(r, 'id'));
        }
      }
    }
  });

  it('serializes a raw id of newRawId without escapes', () => {
    for (let i = 0; i < 100; i++) {
      const rawId = newRawId();
      expect(JSON.stringify(rawId)).toBe(`"${rawId}"`);
    }
  });
});

describe('jsonlLineAround', () => {
  it('is the reference line around the data text, for any record and raw id', () => {
    fc.assert(
      fc.property(record, fc.string({ unit }), (r, rawId) => {
        const parts = jsonlLineAround(r, rawId);
        // Plain ids (numbers or null) always have the framed form.
        expect(parts).toBeDefined();
        const [before, after] = parts as readonly [string, string];
        expect(`${before}${JSON.stringify(r.data)}${after}`).toBe(referenceLine(r, rawId));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives a fresh UUID v4 raw id when none is given', () => {
    fc.assert(
      fc.property(record, (r) => {
        const [before, after] = jsonlLineAround(r) as readonly [string, string];
        const line = `${before}${JSON.stringify(r.data)}${after}`;
        const rawId = (JSON.parse(line) as { _airbyte_raw_id: string })._airbyte_raw_id;
        expect(rawId).toMatch(UUID_V4);
        expect(line).toBe(referenceLine(r, rawId));
      }),
      { numRuns: 200 },
    );
  });

  it('leaves ids outside their types to jsonlLine (no framed form)', () => {
    for (const generationId of ['7', { n: 1 }, true]) {
      const s = { ...streamOf(3, 42), generationId } as unknown as DestinationStream;
      const r = recordOf(s, { data: { a: 1 }, emittedAt: 1, meta: undefined });
      expect(jsonlLineAround(r, 'id')).toBeUndefined();
    }
  });
});

describe('jsonlLines', () => {
  it('is the UTF-8 of the reference lines, for any batch', () => {
    fc.assert(
      fc.property(batch, (records) => {
        const { bytes, records: count } = jsonlLines(records);
        expect(count).toBe(records.length);
        const rawIds = rawIdsOf(bytes);
        expect(rawIds).toHaveLength(records.length);
        for (const rawId of rawIds) expect(rawId).toMatch(UUID_V4);
        expect(new Set(rawIds).size).toBe(rawIds.length);
        expect(bytes.equals(referenceLines(records, rawIds))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('is the reference across many chunks, with multi-byte text and a line bigger than a chunk', () => {
    const s = streamOf(null, null);
    const pieces = ['x', 'é', '€', '😀', '\ud800', '\n', '"'];
    const records: DestinationRecord[] = [];
    for (let i = 0; i < 6000; i++) {
      const note = pieces[i % pieces.length]!.repeat(i % 301);
      records.push(
        recordOf(s, { data: { id: i, note }, emittedAt: 1_700_000_000_000 + i, meta: undefined }),
      );
      if (i === 3000) {
        records.push(
          recordOf(s, { data: { big: '😀'.repeat(300_000) }, emittedAt: i, meta: undefined }),
        );
      }
    }
    const { bytes, records: count } = jsonlLines(records);
    expect(count).toBe(records.length);
    const rawIds = rawIdsOf(bytes);
    expect(bytes.equals(referenceLines(records, rawIds))).toBe(true);
    expect(bytes.length).toBeGreaterThan(4 * 1024 * 1024); // many chunks, growing
  });

  it('is the reference when a line just fits, or just does not fit, the end of a chunk', () => {
    const s = streamOf(null, 42);
    const sizeOf = (r: DestinationRecord) => Buffer.byteLength(jsonlLine(r, 'x'.repeat(36)));
    const withText = (t: string) => recordOf(s, { data: { t }, emittedAt: 1, meta: undefined });
    const base = sizeOf(withText(''));
    for (const piece of ['a', '€']) {
      for (let gap = 400; gap <= 406; gap++) {
        for (let delta = -4; delta <= 4; delta++) {
          // The first line fills the 64 KiB chunk up to `gap` bytes; the second needs gap + delta.
          const filler = withText('f'.repeat(64 * 1024 - gap - base));
          const pieceBytes = Buffer.byteLength(piece);
          const room = gap + delta - base;
          const second = withText(
            'a'.repeat(room % pieceBytes) + piece.repeat(Math.floor(room / pieceBytes)),
          );
          expect(sizeOf(filler)).toBe(64 * 1024 - gap);
          expect(sizeOf(second)).toBe(gap + delta);
          const records = [filler, second, withText('end')];
          const { bytes } = jsonlLines(records);
          expect(bytes.equals(referenceLines(records, rawIdsOf(bytes)))).toBe(true);
        }
      }
    }
  });

  it('gives no bytes for no records', () => {
    const { bytes, records } = jsonlLines([]);
    expect(records).toBe(0);
    expect(bytes.length).toBe(0);
  });
});
