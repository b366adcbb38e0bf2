/**
 * The row encoder against the straightforward encoding it replaces (typeRecord with
 * DUCKDB_LIMITS, then encoderFor per value, then node-api's DuckDBDataChunk.setColumns), both
 * appended to real DuckDB tables and compared there row by row: every column of every row must
 * be equal, for any values (valid, invalid, absent, of other types), native and widened columns,
 * source changes and out-of-range emitted_at.
 */
import { randomUUID } from 'node:crypto';
import {
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayoutColumn } from '../../../connectors/destination-duckdb/column-plan.js';
import {
  BatchEncoder,
  CHUNK_ROWS,
  encoderFor,
  extractedAtMicros,
} from '../../../connectors/destination-duckdb/row-encoder.js';
import {
  type DestinationStream,
  makeDestinationStream,
} from '../../../src/catalog/destination-stream.js';
import type { JsonObject, RecordMetaChange } from '../../../src/protocol/messages.js';
import { DUCKDB_NAMING } from '../../../src/schema/naming-rules.js';
import { DUCKDB_LIMITS, typeRecord } from '../../../src/schema/record-typer.js';
import { type StreamColumns, streamColumns } from '../../../src/schema/stream-columns.js';
import type { DestinationRecord } from '../../../src/write/destination-writer.js';
import { tempDb } from './duckdb-helpers.js';

/** Properties: name → [JSON schema, column type]; `*_as_*` are widened columns. */
const PROPERTIES: Record<string, [Record<string, unknown>, string]> = {
  s: [{ type: 'string' }, 'VARCHAR'],
  b: [{ type: 'boolean' }, 'BOOLEAN'],
  i: [{ type: 'integer' }, 'BIGINT'],
  n: [{ type: 'number' }, 'DOUBLE'],
  d: [{ type: 'string', format: 'date' }, 'DATE'],
  tz: [{ type: 'string', format: 'date-time' }, 'TIMESTAMPTZ'],
  ntz: [
    { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    'TIMESTAMP',
  ],
  ttz: [{ type: 'string', format: 'time' }, 'TIMETZ'],
  tntz: [{ type: 'string', format: 'time', airbyte_type: 'time_without_timezone' }, 'TIME'],
  arr: [{ type: 'array', items: { type: 'string' } }, 'JSON'],
  obj: [{ type: 'object', properties: { a: { type: 'integer' } } }, 'JSON'],
  uni: [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, 'JSON'],
  unk: [{}, 'JSON'],
  constructor: [{ type: 'string' }, 'VARCHAR'] as [Record<string, unknown>, string],
  i_as_double: [{ type: 'integer' }, 'DOUBLE'],
  i_as_varchar: [{ type: 'integer' }, 'VARCHAR'],
  b_as_json: [{ type: 'boolean' }, 'JSON'],
  tz_as_varchar: [{ type: 'string', format: 'date-time' }, 'VARCHAR'],
  d_as_json: [{ type: 'string', format: 'date' }, 'JSON'],
  ttz_as_varchar: [{ type: 'string', format: 'time' }, 'VARCHAR'],
  obj_as_varchar: [{ type: 'object' }, 'VARCHAR'],
  n_as_json: [{ type: 'number' }, 'JSON'],
};

/** Two ways the meta columns may be typed: as created, and as widened by an older table. */
const META_TYPES = {
  native: {
    _airbyte_raw_id: 'VARCHAR',
    _airbyte_extracted_at: 'TIMESTAMPTZ',
    _airbyte_meta: 'JSON',
    _airbyte_generation_id: 'BIGINT',
  },
  widened: {
    _airbyte_raw_id: 'VARCHAR',
    _airbyte_extracted_at: 'VARCHAR',
    _airbyte_meta: 'VARCHAR',
    _airbyte_generation_id: 'DOUBLE',
  },
  textual: {
    _airbyte_raw_id: 'VARCHAR',
    _airbyte_extracted_at: 'JSON',
    _airbyte_meta: 'JSON',
    _airbyte_generation_id: 'VARCHAR',
  },
} as const;
type MetaLayout = keyof typeof META_TYPES;

function makeStream(generationId: number | null): DestinationStream {
  return makeDestinationStream({
    name: 'encoded',
    schema: {
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(PROPERTIES).map(([k, [s]]) => [k, s]),
      ) as JsonObject,
    },
    importType: { kind: 'append' },
    generationId,
    minimumGenerationId: null,
    syncId: 5,
  });
}

/** The table's columns: meta, the properties, a column no property writes, the load order. */
function layoutOf(columns: StreamColumns, meta: MetaLayout): LayoutColumn[] {
  return [
    ...columns.metaColumns.map((m) => ({
      identifier: m.column,
      type: META_TYPES[meta][m.name],
      source: { kind: 'meta', name: m.name } as const,
    })),
    ...columns.columns.map((c, index) => ({
      identifier: c.column,
      type: (PROPERTIES[c.name] as [unknown, string])[1],
      source: { kind: 'user', index } as const,
    })),
    { identifier: 'gone', type: 'VARCHAR', source: { kind: 'none' } as const },
    { identifier: 'seq', type: 'BIGINT', source: { kind: 'seq' } as const },
  ];
}

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

// ------------------------------------------------------------------ the reference encoding

/** The encoding as it was before the column buffers: one DuckDBValue per cell. */
function referenceChunks(
  records: readonly DestinationRecord[],
  layout: readonly LayoutColumn[],
  types: readonly DuckDBType[],
  columns: StreamColumns,
  stream: DestinationStream,
): DuckDBDataChunk[] {
  const nulledAt: RecordMetaChange = {
    field: '_airbyte_extracted_at',
    change: 'NULLED',
    reason: 'DESTINATION_SERIALIZATION_ERROR',
  };
  const generation = stream.generationId === null ? null : BigInt(stream.generationId);
  const rows = records.map((record, seq): DuckDBValue[] => {
    const typed = typeRecord(record, columns, DUCKDB_LIMITS);
    const extractedAt = extractedAtMicros(record.emittedAt);
    const meta = JSON.stringify(
      extractedAt === null
        ? { sync_id: typed.meta.sync_id, changes: [...typed.meta.changes, nulledAt] }
        : typed.meta,
    );
    const cell = (column: LayoutColumn): DuckDBValue => {
      const textual = column.type === 'VARCHAR' || column.type === 'JSON';
      const source = column.source;
      if (source.kind === 'none') return null;
      if (source.kind === 'seq') return BigInt(seq);
      if (source.kind === 'user') {
        const schema = columns.columns[source.index]!;
        return encoderFor(schema.type, column.type)!(typed.values[source.index] ?? null);
      }
      if (source.name === '_airbyte_raw_id') return randomUUID();
      if (source.name === '_airbyte_meta') return meta;
      if (source.name === '_airbyte_extracted_at') {
        if (extractedAt === null) return null;
        if (column.type === 'TIMESTAMPTZ') return new DuckDBTimestampTZValue(extractedAt);
        const text = new Date(record.emittedAt).toISOString();
        return column.type === 'JSON' ? JSON.stringify(text) : text;
      }
      if (generation === null) return null;
      if (textual) return generation.toString();
      return column.type === 'DOUBLE' ? Number(generation) : generation;
    };
    return layout.map(cell);
  });
  const chunks: DuckDBDataChunk[] = [];
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const part = rows.slice(start, start + CHUNK_ROWS);
    const chunk = DuckDBDataChunk.create(types, part.length);
    chunk.setColumns(layout.map((_, c) => part.map((row) => row[c] ?? null)));
    chunks.push(chunk);
  }
  return chunks;
}

// ------------------------------------------------------------------ values

const time = fc
  .tuple(
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 60 }),
    fc.option(fc.integer({ min: 0, max: 60 })),
    fc.option(fc.stringMatching(/^\d{1,9}$/)),
    fc.option(
      fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+05:30', '-0800', '+15:59', '+16:00', '-23'),
    ),
  )
  .map(([h, m, s, f, o]) => {
    const p = (n: number) => String(n).padStart(2, '0');
    return `${p(h)}:${p(m)}${s === null ? '' : `:${p(s)}${f === null ? '' : `.${f}`}`}${o ?? ''}`;
  });
const date = fc
  .tuple(
    fc.integer({ min: 0, max: 10_000 }),
    fc.integer({ min: 1, max: 13 }),
    fc.integer({ min: 1, max: 31 }),
    fc.boolean(),
  )
  .map(
    ([y, m, d, bc]) =>
      `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}${bc ? ' BC' : ''}`,
  );
const timestamp = fc
  .tuple(date, fc.constantFrom('T', 't', ' '), time)
  .map(([d, sep, t]) => (d.endsWith(' BC') ? `${d.slice(0, -3)}${sep}${t} BC` : `${d}${sep}${t}`));
const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 2 ** 53, -(2 ** 53), 2 ** 63, -(2 ** 63), 2 ** 64, 1e300, 0.1, 1e-12),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 2 }), numbers, date, timestamp, time);

function valueFor(schema: Record<string, unknown>): fc.Arbitrary<unknown> {
  const specific =
    schema.format === 'date'
      ? date
      : schema.format === 'date-time'
        ? timestamp
        : schema.format === 'time'
          ? time
          : schema.type === 'integer' || schema.type === 'number'
            ? numbers
            : schema.type === 'boolean'
              ? fc.boolean()
              : schema.type === 'array'
                ? fc.array(fc.string(), { maxLength: 3 })
                : schema.type === 'object'
                  ? fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }))
                  : fc.string();
  return fc.oneof({ weight: 4, arbitrary: specific }, anyJson, fc.constant(null));
}

const dataArb: fc.Arbitrary<JsonObject> = fc.record(
  Object.fromEntries(Object.entries(PROPERTIES).map(([k, [s]]) => [k, valueFor(s)])),
  { requiredKeys: [] },
) as fc.Arbitrary<JsonObject>;

interface Generated {
  data: JsonObject;
  emittedAt: number;
  sourceChanges: RecordMetaChange[] | null;
}

const recordArb: fc.Arbitrary<Generated> = fc.record({
  data: dataArb,
  emittedAt: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 2_000_000_000_000 }) },
    fc.double({ min: -1e16, max: 1e16, noNaN: true }),
    fc.constantFrom(Number.NaN, 8.64e15, -8.64e15, 8.64e15 + 1, 9e12 + 0.5),
  ),
  sourceChanges: fc.option(
    fc.array(
      fc.record({
        field: fc.string(),
        change: fc.constantFrom('NULLED', 'TRUNCATED') as fc.Arbitrary<'NULLED' | 'TRUNCATED'>,
        reason: fc.constant('SOURCE_RETRIEVAL_ERROR') as fc.Arbitrary<'SOURCE_RETRIEVAL_ERROR'>,
      }),
      { maxLength: 2 },
    ),
  ),
});

// ------------------------------------------------------------------ the comparison

describe('BatchEncoder', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let table = 0;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(tempDb());
    connection = await instance.connect();
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  /** Appends the records both ways; returns the rows where the two tables differ. */
  async function compare(
    generated: Generated[],
    meta: MetaLayout,
    generationId: number | null,
  ): Promise<{ differences: unknown[]; ids: Record<string, unknown> }> {
    const stream = makeStream(generationId);
    const columns = streamColumns(stream, DUCKDB_NAMING);
    const layout = layoutOf(columns, meta);
    const records = generated.map(
      (g): DestinationRecord => ({
        stream,
        data: g.data,
        emittedAt: g.emittedAt,
        meta: g.sourceChanges === null ? undefined : { changes: g.sourceChanges },
        sizeBytes: 1,
      }),
    );
    const fast = `fast_${++table}`;
    const reference = `reference_${table}`;
    const definition = layout.map((c) => `${quote(c.identifier)} ${c.type}`).join(', ');
    await connection.run(`CREATE TABLE ${fast} (${definition})`);
    await connection.run(`CREATE TABLE ${reference} (${definition})`);
    const types = (await connection.runAndReadAll(`SELECT * FROM ${fast} LIMIT 0`)).columnTypes();

    let seq = 0n;
    const encoded = new BatchEncoder(layout, types, columns, stream, () => seq++).encode(records);
    expect(encoded.rows).toBe(records.length);
    for (const [name, chunks] of [
      [fast, encoded.chunks],
      [reference, referenceChunks(records, layout, types, columns, stream)],
    ] as const) {
      const appender = await connection.createAppender(name);
      for (const chunk of chunks) appender.appendDataChunk(chunk);
      appender.closeSync();
    }

    const compared = layout
      .filter((c) => c.identifier !== '_airbyte_raw_id')
      .map((c) => quote(c.identifier))
      .join(', ');
    const differences = (
      await connection.runAndReadAll(
        `(SELECT 'fast' AS side, ${compared} FROM ${fast} EXCEPT ALL SELECT 'fast', ${compared} FROM ${reference})
         UNION ALL
         (SELECT 'reference', ${compared} FROM ${reference} EXCEPT ALL SELECT 'reference', ${compared} FROM ${fast})
         ORDER BY seq LIMIT 4`,
      )
    ).getRowObjectsJson();
    const ids = (
      await connection.runAndReadAll(
        `SELECT count(*)::INT AS n, count(DISTINCT _airbyte_raw_id)::INT AS distinct_ids,
           count(*) FILTER (WHERE regexp_full_match(_airbyte_raw_id,
             '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'))::INT AS v4
         FROM ${fast}`,
      )
    ).getRowObjectsJson()[0] as Record<string, unknown>;
    return { differences, ids };
  }

  it('writes every cell as typeRecord and encoderFor do, for any record', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 60 }),
        fc.constantFrom<MetaLayout>('native', 'widened', 'textual'),
        fc.constantFrom(null, 0, 7),
        async (generated, meta, generationId) => {
          const { differences, ids } = await compare(generated, meta, generationId);
          expect(differences).toEqual([]);
          const n = generated.length;
          expect(ids).toEqual({ n, distinct_ids: n, v4: n });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps rows, nulls and changes apart across chunk boundaries', async () => {
    const generated = fc.sample(recordArb, { numRuns: 2 * CHUNK_ROWS + 300, seed: 8 });
    // Long runs of records without any change (constant meta vectors) between changed ones.
    for (let i = 0; i < generated.length; i++) {
      if (i % 700 > 20) {
        generated[i] = { data: { s: `row ${i}`, i }, emittedAt: i, sourceChanges: null };
      }
    }
    const { differences, ids } = await compare(generated, 'native', 3);
    expect(differences).toEqual([]);
    expect(ids).toEqual({
      n: generated.length,
      distinct_ids: generated.length,
      v4: generated.length,
    });
  });
});
