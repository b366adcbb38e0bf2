/** The COPY text encoding of the PostgreSQL connector (pure). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COPY_NULL,
  CopyRowEncoder,
  copyEscape,
  copyUnescape,
  extractedAtText,
  isUnstorableJson,
  isUnstorableText,
  metaJson,
  renderJson,
  renderText,
} from '../../../connectors/destination-postgres/copy-encoder.js';
import { EncodedBatch } from '../../../connectors/destination-postgres/copy-load.js';
import { pgTypeOf } from '../../../connectors/destination-postgres/postgres-types.js';
import { makeDestinationStream } from '../../../src/catalog/destination-stream.js';
import type { JsonObject, JsonValue } from '../../../src/protocol/messages.js';
import { POSTGRES_NAMING, streamColumns } from '../../../src/schema/index.js';
import type { DestinationRecord } from '../../../src/write/destination-writer.js';

/** Strings rich in what COPY and PostgreSQL care about. */
const trickyText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\\', '\n', '\r', '\t', '\u0000', '\ud800', '\udfff', 'N', '.', '"', 'u'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 40,
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the point.
const UNSTORABLE = /[\u0000\p{Cs}]/u;

function stream(properties: JsonObject, generationId: number | null = 7) {
  return makeDestinationStream({
    name: 'users',
    schema: { type: 'object', properties },
    importType: { kind: 'append' },
    generationId,
    minimumGenerationId: 0,
    syncId: 42,
  });
}

function destinationRecord(
  s: ReturnType<typeof stream>,
  data: JsonObject,
  emittedAt = 1_700_000_000_000,
): DestinationRecord {
  return { stream: s, data, emittedAt, meta: undefined, sizeBytes: 1 };
}

describe('copyEscape', () => {
  it('round-trips any text and leaves no raw tab, newline or carriage return', () => {
    fc.assert(
      fc.property(trickyText, (text) => {
        const escaped = copyEscape(text);
        expect(escaped).not.toMatch(/[\n\r\t]/);
        expect(copyUnescape(escaped)).toBe(text);
        // an escaped value is never read as the null marker
        if (text === '\\N') expect(escaped).not.toBe(COPY_NULL);
      }),
    );
  });
});

describe('renderText and renderJson', () => {
  it('refuse exactly the text PostgreSQL cannot store', () => {
    fc.assert(
      fc.property(trickyText, (text) => {
        expect(isUnstorableText(text)).toBe(UNSTORABLE.test(text));
        expect(renderText(text) === undefined).toBe(UNSTORABLE.test(text));
        expect(isUnstorableJson(JSON.stringify(text))).toBe(UNSTORABLE.test(text));
      }),
    );
  });

  it('writes any storable JSON value as JSON text that reads back the same', () => {
    const hasUnstorable = (v: unknown): boolean =>
      typeof v === 'string'
        ? UNSTORABLE.test(v)
        : Array.isArray(v)
          ? v.some(hasUnstorable)
          : typeof v === 'object' && v !== null
            ? Object.entries(v).some(([k, x]) => UNSTORABLE.test(k) || hasUnstorable(x))
            : false;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), trickyText, (value, text) => {
        for (const v of [value, { [text]: value }, [text]]) {
          const json = renderJson(v as JsonValue);
          expect(json === undefined).toBe(hasUnstorable(v));
          if (json !== undefined) expect(JSON.stringify(JSON.parse(json))).toBe(JSON.stringify(v));
        }
      }),
    );
  });

  it('writes scalars as PostgreSQL input text', () => {
    expect(renderText(12_345_678_901_234_567n)).toBe('12345678901234567');
    expect(renderText(1e21)).toBe('1e+21');
    expect(renderText(false)).toBe('false');
    expect(renderText({ a: [1] })).toBe('{"a":[1]}');
    expect(renderJson(12_345_678_901_234_567n)).toBe('12345678901234567');
    expect(renderJson('2024-01-01')).toBe('"2024-01-01"');
    expect(renderJson({ a: 'nul \u0000' })).toBeUndefined();
    expect(renderJson('back\\u0000slash')).toBe('"back\\\\u0000slash"');
  });
});

describe('extractedAtText and metaJson', () => {
  it('writes emitted_at as an ISO timestamp within years 0001–9999, else nothing', () => {
    expect(extractedAtText(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(extractedAtText(-62_135_596_800_000)).toBe('0001-01-01T00:00:00.000Z');
    expect(extractedAtText(-62_135_596_800_001)).toBeUndefined();
    expect(extractedAtText(253_402_300_800_000)).toBeUndefined();
    expect(extractedAtText(Number.NaN)).toBeUndefined();
  });

  it('is Date#toISOString within that range, in any order of calls', () => {
    const earliest = -62_135_596_800_000;
    const latest = 253_402_300_799_999;
    const reference = (ms: number) => {
      const time = new Date(ms).getTime();
      return time >= earliest && time <= latest ? new Date(ms).toISOString() : undefined;
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.double({ min: earliest - 2000, max: latest + 2000, noNaN: true }),
            fc.integer({ min: -3000, max: 3000 }),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        (values) => {
          for (const value of values) expect(extractedAtText(value)).toBe(reference(value));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('replaces unstorable characters of _airbyte_meta by U+FFFD, keys included', () => {
    const meta = {
      sync_id: 1,
      changes: [
        {
          field: 'a\u0000b\ud800',
          change: 'NULLED' as const,
          reason: 'DESTINATION_SERIALIZATION_ERROR' as const,
          'k\u0000': 1,
        },
      ],
    };
    const text = metaJson(meta);
    expect(isUnstorableJson(text)).toBe(false);
    expect(JSON.parse(text).changes[0]).toEqual({
      field: 'a\uFFFDb\uFFFD',
      change: 'NULLED',
      reason: 'DESTINATION_SERIALIZATION_ERROR',
      'k\uFFFD': 1,
    });
  });
});

describe('CopyRowEncoder', () => {
  const properties: JsonObject = {
    id: { type: 'integer' },
    name: { type: 'string' },
    tags: { type: 'array' },
    'tab\tcol': { type: 'string' },
  };

  it('writes meta columns first, then the columns in schema order, one line per record', () => {
    const s = stream(properties);
    const columns = streamColumns(s, POSTGRES_NAMING);
    const encoder = new CopyRowEncoder(
      s,
      columns,
      columns.columns.map((c) => pgTypeOf(c.type)),
    );
    const line = encoder.encode(
      destinationRecord(s, { id: 5, name: 'a\tb\nc', tags: ['x'], 'tab\tcol': null }),
      '00000000-0000-4000-8000-000000000001',
    );
    expect(line).toBe(
      `${[
        '00000000-0000-4000-8000-000000000001',
        '2023-11-14T22:13:20.000Z',
        '{"sync_id":42,"changes":[]}',
        '7',
        '5',
        'a\\tb\\nc',
        '["x"]',
        '\\N',
      ].join('\t')}\n`,
    );
  });

  it('nulls unstorable values and an impossible emitted_at, recording each in _airbyte_meta', () => {
    const s = stream(properties, null);
    const columns = streamColumns(s, POSTGRES_NAMING);
    const types = columns.columns.map((c) => pgTypeOf(c.type));
    // `name` lives in a jsonb column here (a widened column): a lone surrogate is refused too.
    types[1] = 'jsonb';
    const encoder = new CopyRowEncoder(s, columns, types);
    const line = encoder.encode(
      destinationRecord(s, { id: 'x', name: 'lone \ud800', tags: ['nul\u0000'] }, 1e20),
      'id',
    );
    const fields = line.slice(0, -1).split('\t');
    expect(fields.slice(1)).toEqual([
      '\\N',
      JSON.stringify({
        sync_id: 42,
        changes: ['id', 'name', 'tags', '_airbyte_extracted_at'].map((field) => ({
          field,
          change: 'NULLED',
          reason: 'DESTINATION_SERIALIZATION_ERROR',
        })),
      }),
      '\\N',
      '\\N',
      '\\N',
      '\\N',
      '\\N',
    ]);
  });

  it('always makes one line with one field per column, whatever the values', () => {
    const s = stream({ a: { type: 'string' }, b: {}, c: { type: 'number' } });
    const columns = streamColumns(s, POSTGRES_NAMING);
    const encoder = new CopyRowEncoder(s, columns, ['text', 'jsonb', 'numeric']);
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.oneof(trickyText, fc.jsonValue())),
        (data) => {
          const line = encoder.encode(destinationRecord(s, data as JsonObject));
          expect(line.endsWith('\n')).toBe(true);
          expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
          const fields = line.slice(0, -1).split('\t');
          expect(fields).toHaveLength(7);
          for (const field of fields) expect(UNSTORABLE.test(field)).toBe(false);
        },
      ),
    );
  });
});

describe('EncodedBatch', () => {
  const s = stream({ id: { type: 'integer' } });
  const columns = streamColumns(s, POSTGRES_NAMING);
  const encoder = new CopyRowEncoder(s, columns, ['bigint']);
  const records = (n: number) => Array.from({ length: n }, (_, id) => destinationRecord(s, { id }));

  function batch(n: number, chunkBytes: number, limit: number): EncodedBatch {
    const [first, ...rest] = records(n);
    return new EncodedBatch(first!, rest[Symbol.iterator](), encoder, chunkBytes, limit);
  }

  it('sends the same chunks again on a retry, then the rest of the records', () => {
    const b = batch(10, 100, 1_000_000);
    const firstAttempt = b.chunks();
    const sent = [firstAttempt.next().value, firstAttempt.next().value];
    expect(b.replayable).toBe(true);
    const retry = [...b.chunks()];
    expect(retry.slice(0, 2)).toEqual(sent);
    const text = Buffer.concat(retry).toString('utf8');
    expect(
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')[4]),
    ).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    expect(b.records).toBe(10);
  });

  it('writes each line whole as UTF-8, lines longer than a chunk included', () => {
    const t = stream({ s: { type: 'string' } });
    const textEncoder = new CopyRowEncoder(t, streamColumns(t, POSTGRES_NAMING), ['text']);
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((x) => `${x}é€😀`),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        fc.integer({ min: 1, max: 200 }),
        (texts, chunkBytes) => {
          const [first, ...rest] = texts.map((text) => destinationRecord(t, { s: text }));
          const b = new EncodedBatch(first!, rest[Symbol.iterator](), textEncoder, chunkBytes);
          const chunks = [...b.chunks()];
          // Every chunk ends at the end of a line; a line that does not fit starts the next
          // chunk, so only a chunk of one line is larger than the chunk size.
          for (const chunk of chunks) {
            expect(chunk[chunk.length - 1]).toBe(0x0a);
            if (chunk.length > chunkBytes) expect(chunk.indexOf(0x0a)).toBe(chunk.length - 1);
          }
          const lines = Buffer.concat(chunks).toString('utf8').split('\n').slice(0, -1);
          expect(lines.map((l) => copyUnescape(l.split('\t')[4] ?? ''))).toEqual(
            texts.map((text) => (text.includes('\u0000') ? null : text)), // NUL: unstorable
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('cannot be replayed once its chunks exceeded the replay limit', () => {
    const b = batch(50, 100, 300);
    expect(
      Buffer.concat([...b.chunks()])
        .toString('utf8')
        .split('\n'),
    ).toHaveLength(51);
    expect(b.replayable).toBe(false);
    expect(batch(1, 100, 300).replayable).toBe(true);
  });
});
