/** Columns of a stream: schema order, mapped identifiers, meta columns, resolved keys. */
import { describe, expect, it } from 'vitest';
import { type ImportType, makeDestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import { AirbyteTypes as T, typeKey } from '../../src/schema/airbyte-type.js';
import { DUCKDB_NAMING, POSTGRES_NAMING } from '../../src/schema/naming-rules.js';
import { KeyFieldNotFoundError } from '../../src/schema/schema-errors.js';
import { columnsOfSchema, streamColumns } from '../../src/schema/stream-columns.js';

function stream(schema: JsonObject, importType: ImportType = { kind: 'append' }) {
  return makeDestinationStream({
    namespace: 'public',
    name: 'users',
    schema,
    importType,
    generationId: 1,
    minimumGenerationId: 0,
    syncId: 42,
  });
}

const schema: JsonObject = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    Id: { type: 'string' },
    updated_at: { type: 'string', format: 'date-time' },
    org: { type: 'object', properties: { id: { type: 'integer' } } },
    _airbyte_raw_id: { type: 'string' },
  },
};

describe('streamColumns', () => {
  it('lists top-level properties in schema order with mapped identifiers and types', () => {
    const { columns } = streamColumns(stream(schema), DUCKDB_NAMING);
    expect(columns.map((c) => [c.name, c.column, typeKey(c.type)])).toEqual([
      ['id', 'id', 'Integer'],
      ['Id', 'Id_1', 'String'],
      ['updated_at', 'updated_at', 'TimestampTZ'],
      ['org', 'org', 'Object{"id":Integer}'],
      ['_airbyte_raw_id', '_airbyte_raw_id_1', 'String'],
    ]);
    const pg = streamColumns(stream(schema), POSTGRES_NAMING).columns.map((c) => c.column);
    expect(pg).toEqual(['id', 'Id', 'updated_at', 'org', '_airbyte_raw_id_1']);
  });

  it('adds the meta columns', () => {
    const { metaColumns } = streamColumns(stream(schema), POSTGRES_NAMING);
    expect(metaColumns.map((c) => [c.name, c.column, c.type.kind])).toEqual([
      ['_airbyte_raw_id', '_airbyte_raw_id', 'String'],
      ['_airbyte_extracted_at', '_airbyte_extracted_at', 'TimestampTZ'],
      ['_airbyte_meta', '_airbyte_meta', 'Object'],
      ['_airbyte_generation_id', '_airbyte_generation_id', 'Integer'],
    ]);
  });

  it('has no user columns for schemaless or non-object streams', () => {
    expect(columnsOfSchema({ type: 'object' }, POSTGRES_NAMING)).toEqual([]);
    expect(columnsOfSchema({}, POSTGRES_NAMING)).toEqual([]);
    expect(columnsOfSchema({ type: 'string' }, POSTGRES_NAMING)).toEqual([]);
    expect(columnsOfSchema({ properties: { a: { type: 'boolean' } } }, POSTGRES_NAMING)).toEqual([
      { name: 'a', column: 'a', type: T.Boolean },
    ]);
  });

  it('resolves the primary key and cursor of a dedupe stream', () => {
    const s = streamColumns(
      stream(schema, { kind: 'dedupe', primaryKey: [['id'], ['Id']], cursor: ['updated_at'] }),
      DUCKDB_NAMING,
    );
    expect(s.primaryKey.map((k) => [k.index, k.column.column, k.subPath])).toEqual([
      [0, 'id', []],
      [1, 'Id_1', []],
    ]);
    expect(s.cursor?.column.name).toBe('updated_at');
  });

  it('resolves a nested key path to its top-level column, keeping the rest of the path', () => {
    const s = streamColumns(
      stream(schema, { kind: 'dedupe', primaryKey: [['org', 'id']], cursor: [] }),
      POSTGRES_NAMING,
    );
    expect(s.primaryKey[0]).toMatchObject({ path: ['org', 'id'], index: 3, subPath: ['id'] });
    expect(s.cursor).toBeUndefined();
  });

  it('has no keys for append streams; update streams have a primary key only', () => {
    expect(streamColumns(stream(schema), POSTGRES_NAMING).primaryKey).toEqual([]);
    const update = streamColumns(
      stream(schema, { kind: 'update', primaryKey: [['id']] }),
      POSTGRES_NAMING,
    );
    expect(update.primaryKey.map((k) => k.column.name)).toEqual(['id']);
  });

  it('fails with a config error when a key names no top-level property', () => {
    const missing = () =>
      streamColumns(
        stream(schema, { kind: 'dedupe', primaryKey: [['nope']], cursor: [] }),
        POSTGRES_NAMING,
      );
    expect(missing).toThrow(KeyFieldNotFoundError);
    try {
      missing();
    } catch (error) {
      expect(error).toMatchObject({
        failureType: 'config_error',
        code: 'SCHEMA_KEY_FIELD_NOT_FOUND',
      });
    }
    expect(() =>
      streamColumns(
        stream(schema, { kind: 'dedupe', primaryKey: [[]], cursor: [] }),
        POSTGRES_NAMING,
      ),
    ).toThrow(KeyFieldNotFoundError);
    expect(() =>
      streamColumns(
        stream(schema, { kind: 'dedupe', primaryKey: [['id']], cursor: ['missing'] }),
        POSTGRES_NAMING,
      ),
    ).toThrow(/cursor field \["missing"\]/);
  });
});
