/** Size limits and typeRecord: field and record nulling, untouchable keys, `_airbyte_meta`. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ImportType, makeDestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject, RecordMetaChange } from '../../src/protocol/messages.js';
import { DUCKDB_NAMING } from '../../src/schema/naming-rules.js';
import { DUCKDB_LIMITS, POSTGRES_LIMITS, typeRecord } from '../../src/schema/record-typer.js';
import { KeyTooLargeError } from '../../src/schema/schema-errors.js';
import {
  applySizeLimits,
  MAX_VALUE_GROWTH,
  type SizeLimits,
  valueSizeBytes,
} from '../../src/schema/size-limits.js';
import { streamColumns } from '../../src/schema/stream-columns.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';

const schema: JsonObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    cursor: { type: 'integer' },
    bio: { type: 'string' },
    doc: { type: 'object' },
    n: { type: 'number' },
  },
};
const dedupe: ImportType = { kind: 'dedupe', primaryKey: [['id']], cursor: ['cursor'] };

function destinationStream(importType: ImportType = dedupe) {
  return makeDestinationStream({
    name: 'people',
    schema,
    importType,
    generationId: 3,
    minimumGenerationId: 0,
    syncId: 4711,
  });
}

function record(
  data: JsonObject,
  importType?: ImportType,
  meta?: RecordMetaChange[],
): DestinationRecord {
  return {
    stream: destinationStream(importType),
    data,
    emittedAt: 1_700_000_000_000,
    meta: meta === undefined ? undefined : { changes: meta },
    sizeBytes: 0,
  };
}

const columns = streamColumns(destinationStream(), DUCKDB_NAMING);
const appendColumns = streamColumns(destinationStream({ kind: 'append' }), DUCKDB_NAMING);

describe('valueSizeBytes', () => {
  it('measures UTF-8 text, JSON text and fixed scalars', () => {
    expect(valueSizeBytes('héllo')).toBe(6);
    expect(valueSizeBytes({ a: [1, 'é'] })).toBe(Buffer.byteLength('{"a":[1,"é"]}'));
    expect(valueSizeBytes(12n)).toBe(8);
    expect(valueSizeBytes(1.5)).toBe(8);
    expect(valueSizeBytes(true)).toBe(1);
    expect(valueSizeBytes(null)).toBe(0);
  });
});

describe('applySizeLimits', () => {
  const fieldLimits: SizeLimits = { maxFieldBytes: { String: 10, ObjectWithoutSchema: 12 } };

  it('nulls fields over their type limit with DESTINATION_FIELD_SIZE_LIMITATION', () => {
    const values = ['k1', 5n, 'x'.repeat(11), { a: 'bcdefghij' }, 1.5];
    const result = applySizeLimits(values, columns, fieldLimits);
    expect(result.values).toEqual(['k1', 5n, null, null, 1.5]);
    expect(result.changes).toEqual([
      { field: 'bio', change: 'NULLED', reason: 'DESTINATION_FIELD_SIZE_LIMITATION' },
      { field: 'doc', change: 'NULLED', reason: 'DESTINATION_FIELD_SIZE_LIMITATION' },
    ]);
    expect(values[2]).toBe('x'.repeat(11));
  });

  it('keeps only key fields and adds `all` when the record is still too large', () => {
    const limits: SizeLimits = { maxRecordBytes: 20 };
    const result = applySizeLimits(['k1', 5n, 'x'.repeat(9), { a: 1 }, 1.5], columns, limits);
    expect(result.values).toEqual(['k1', 5n, null, null, null]);
    expect(result.changes).toEqual([
      { field: 'all', change: 'NULLED', reason: 'DESTINATION_RECORD_SIZE_LIMITATION' },
    ]);
    const fits = applySizeLimits(['k1', 5n, 'x', null, 1.5], columns, limits);
    expect(fits.changes).toEqual([]);
  });

  it('nulls everything in append streams, which have no keys', () => {
    const result = applySizeLimits(['k1', 5n, 'long text', null, 1.5], appendColumns, {
      maxRecordBytes: 4,
    });
    expect(result.values).toEqual([null, null, null, null, null]);
  });

  it('never nulls a key field: a key over its limit is a KeyTooLargeError', () => {
    expect(() =>
      applySizeLimits(['x'.repeat(11), 5n, null, null, null], columns, fieldLimits),
    ).toThrow(KeyTooLargeError);
    expect(() =>
      applySizeLimits(['x'.repeat(30), 5n, 'y', null, null], columns, { maxRecordBytes: 20 }),
    ).toThrow(/primary key \/ cursor field\(s\) \["id","cursor"\] take 38 bytes/);
  });

  it('changes list exactly the fields it nulled, or `all`; keys are never nulled', () => {
    const valueArb = fc.oneof(
      fc.constant(null),
      fc.string({ maxLength: 30 }),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    const limitsArb = fc.record(
      {
        maxFieldBytes: fc.record(
          { String: fc.nat(30), ObjectWithoutSchema: fc.nat(40) },
          { requiredKeys: [] },
        ),
        maxRecordBytes: fc.nat(80),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.tuple(
          fc.string({ maxLength: 4 }),
          fc.bigInt({ min: 0n, max: 9n }),
          valueArb,
          valueArb,
          valueArb,
        ),
        limitsArb,
        (values, limits) => {
          let result: ReturnType<typeof applySizeLimits>;
          try {
            result = applySizeLimits(values, columns, limits);
          } catch (error) {
            expect(error).toBeInstanceOf(KeyTooLargeError);
            return;
          }
          expect(result.values[0]).toBe(values[0]);
          expect(result.values[1]).toBe(values[1]);
          const all = result.changes.some((c) => c.field === 'all');
          const nulled = columns.columns
            .filter((_, i) => values[i] !== null && result.values[i] === null)
            .map((c) => c.name);
          const fieldChanges = result.changes.filter((c) => c.field !== 'all').map((c) => c.field);
          if (all) {
            expect(result.values.slice(2)).toEqual([null, null, null]);
            for (const f of fieldChanges) expect(nulled).toContain(f);
          } else {
            expect(fieldChanges).toEqual(nulled);
          }
          if (limits.maxRecordBytes !== undefined) {
            const size = result.values.reduce<number>((a, v) => a + valueSizeBytes(v), 0);
            expect(size).toBeLessThanOrEqual(limits.maxRecordBytes);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('typeRecord', () => {
  it('coerces, applies limits and builds _airbyte_meta with source changes first', () => {
    const source: RecordMetaChange[] = [
      { field: 'bio', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' },
    ];
    const typed = typeRecord(
      record({ id: 'k', cursor: '7', bio: 'b', doc: [], n: 2, extra: true }, dedupe, source),
      columns,
      DUCKDB_LIMITS,
    );
    expect(typed.values).toEqual(['k', null, 'b', null, 2]);
    const destination = [
      { field: 'cursor', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
      { field: 'doc', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' },
    ];
    expect(typed.changes).toEqual(destination);
    expect(typed.meta).toEqual({ sync_id: 4711, changes: [...source, ...destination] });
  });

  it('rejects dates before 4714-11-24 BC for PostgreSQL', () => {
    const s = makeDestinationStream({
      name: 'd',
      schema: { type: 'object', properties: { d: { type: 'string', format: 'date' } } },
      importType: { kind: 'append' },
      generationId: null,
      minimumGenerationId: null,
      syncId: null,
    });
    const cols = streamColumns(s, DUCKDB_NAMING);
    const type = (d: string) =>
      typeRecord(
        { stream: s, data: { d }, emittedAt: 0, meta: undefined, sizeBytes: 0 },
        cols,
        POSTGRES_LIMITS,
      ).values[0];
    expect(type('4714-11-24 BC')).toBe('4714-11-24 BC');
    expect(type('4714-11-23 BC')).toBeNull();
    expect(type('9999-12-31')).toBe('9999-12-31');
  });
});

describe('fields not measured below MAX_VALUE_GROWTH × the input line', () => {
  const kinds = makeDestinationStream({
    name: 'kinds',
    schema: {
      type: 'object',
      properties: {
        s: { type: 'string' },
        i: { type: 'integer' },
        n: { type: 'number' },
        d: { type: 'string', format: 'date' },
        ts: { type: 'string', format: 'date-time' },
        t: { type: 'string', format: 'time' },
        a: { type: 'array' },
        o: { type: 'object' },
        u: {},
      },
    },
    importType: { kind: 'append' },
    generationId: null,
    minimumGenerationId: null,
    syncId: null,
  });
  const kindColumns = streamColumns(kinds, DUCKDB_NAMING);
  /** JSON texts, with the numbers that grow most when written back (`1e20` → 21 digits). */
  const valueText = fc.oneof(
    fc.json({ maxDepth: 2 }),
    fc.constantFrom('1e20', '-1e20', '9e9', '1E21', '[1e20,1e20]', '{"a":1e20}', '0.0000001'),
    fc.constantFrom('"2026-1-1"', '"2026-01-01T00:00Z"', '"0:0"', '"1:2:3+5"', '"9999-12-31 BC"'),
  );
  const fieldNames = ['s', 'i', 'n', 'd', 'ts', 't', 'a', 'o', 'u'] as const;

  it('gives what measuring every field gives', () => {
    fc.assert(
      fc.property(
        fc.array(valueText, { minLength: fieldNames.length, maxLength: fieldNames.length }),
        fc.double({ min: 0, max: 8, noNaN: true }),
        (texts, factor) => {
          const data = `{${texts.map((text, i) => `"${fieldNames[i]}":${text}`).join(',')}}`;
          const line = `{"type":"RECORD","record":{"stream":"kinds","emitted_at":0,"data":${data}}}`;
          const sizeBytes = Buffer.byteLength(line);
          const record: DestinationRecord = {
            stream: kinds,
            data: (JSON.parse(line) as { record: { data: JsonObject } }).record.data,
            emittedAt: 0,
            meta: undefined,
            sizeBytes,
          };
          const values = typeRecord(record, kindColumns, DUCKDB_LIMITS).values;
          for (const value of values)
            expect(valueSizeBytes(value)).toBeLessThanOrEqual(MAX_VALUE_GROWTH * sizeBytes);
          const limit = Math.floor(factor * sizeBytes);
          const limits: SizeLimits = {
            maxFieldBytes: Object.fromEntries(
              [
                'String',
                'Integer',
                'Number',
                'Date',
                'TimestampTZ',
                'TimeNTZ',
                'TimeTZ',
                'Array',
                'ArrayWithoutSchema',
                'Object',
                'ObjectWithoutSchema',
                'Unknown',
                'Union',
              ].map((kind) => [kind, limit]),
            ),
          };
          const measured = applySizeLimits(values, kindColumns, limits);
          expect(applySizeLimits(values, kindColumns, limits, undefined, sizeBytes)).toEqual(
            measured,
          );
          const typed = typeRecord(record, kindColumns, {
            values: DUCKDB_LIMITS.values,
            sizes: limits,
          });
          expect(typed.values).toEqual(measured.values);
          expect(
            typed.changes.filter((c) => c.reason !== 'DESTINATION_SERIALIZATION_ERROR'),
          ).toEqual(measured.changes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
