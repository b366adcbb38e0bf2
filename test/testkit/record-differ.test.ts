import { describe, expect, it } from 'vitest';
import { AirbyteTypes } from '../../src/schema/airbyte-type.js';
import {
  comparableValue,
  diffAtLeastOnce,
  diffRecords,
  type ExpectedRow,
  extractedAtMillis,
} from '../../src/testkit/index.js';

const AT = Date.UTC(2023, 10, 14, 22, 13, 20);

function row(id: number, name: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name,
    _airbyte_raw_id: `raw-${id}-${name}`,
    _airbyte_extracted_at: new Date(AT).toISOString(),
    _airbyte_meta: { sync_id: 7, changes: [] },
    _airbyte_generation_id: 1,
    ...extra,
  };
}

function expected(id: number, name: string, overrides: Partial<ExpectedRow> = {}): ExpectedRow {
  return {
    data: { id, name },
    extractedAt: AT,
    generationId: 1,
    syncId: 7,
    changes: [],
    ...overrides,
  };
}

describe('diffRecords', () => {
  it('accepts equal rows in any order, whatever form the meta values take', () => {
    const actual = [
      row(2, 'b', {
        _airbyte_extracted_at: '2023-11-14 22:13:20+00',
        _airbyte_meta: '{"sync_id":7,"changes":[]}',
        _airbyte_generation_id: 1n,
      }),
      row(1, 'a', { id: 1n }),
    ];
    expect(diffRecords([expected(1, 'a'), expected(2, 'b')], actual)).toEqual([]);
  });

  it('names a changed value, a missing row and an unexpected row', () => {
    expect(diffRecords([expected(1, 'a'), expected(2, 'b')], [row(1, 'A'), row(3, 'c')])).toEqual([
      'row {id=1}: name: expected "a", got "A"',
      'missing row {id=2}: {"id":2,"name":"b"}',
      'unexpected row {id=3}: {"id":3,"name":"c"}',
    ]);
  });

  it('checks the meta values it is given', () => {
    const problems = diffRecords(
      [
        expected(1, 'a', {
          generationId: 2,
          syncId: 8,
          extractedAt: AT + 1,
          changes: [{ field: 'name', change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' }],
        }),
      ],
      [row(1, 'a')],
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('_airbyte_extracted_at: expected 2023-11-14T22:13:20.001Z');
    expect(problems[0]).toContain('_airbyte_generation_id: expected 2, got 1');
    expect(problems[0]).toContain('_airbyte_meta.sync_id: expected 8, got 7');
    expect(problems[0]).toContain('_airbyte_meta.changes: expected [{"change":"NULLED"');
  });

  it('treats null and absent alike, ignores what it is told to, and wants distinct raw ids', () => {
    expect(
      diffRecords([{ data: { id: 1, gone: null } }], [{ ...row(1, 'a'), name: undefined }]),
    ).toEqual([]);
    expect(diffRecords([{ data: { id: 1 } }], [row(1, 'a')])).toEqual([
      'row {id=1}: name: expected null, got "a"',
    ]);
    expect(diffRecords([{ data: { id: 1 } }], [row(1, 'a')], { ignoreFields: ['name'] })).toEqual(
      [],
    );
    expect(
      diffRecords(
        [{ data: { id: 1 } }, { data: { id: 1 } }],
        [
          { id: 1, _airbyte_raw_id: 'x' },
          { id: 1, _airbyte_raw_id: 'x' },
        ],
      ),
    ).toEqual(['_airbyte_raw_id x appears twice']);
  });

  it('pairs rows by a composite primary key', () => {
    const problems = diffRecords(
      [{ data: { k1: 1, k2: 'x', v: 1 } }],
      [{ k1: 1, k2: 'x', v: 2, _airbyte_raw_id: 'r' }],
      { primaryKey: [['k1'], ['k2']] },
    );
    expect(problems).toEqual(['row {k1=1, k2="x"}: v: expected 1, got 2']);
  });
});

describe('diffAtLeastOnce', () => {
  it('allows duplicates and optional rows, nothing else', () => {
    const want = [expected(1, 'a')];
    expect(
      diffAtLeastOnce(want, [row(1, 'a'), { ...row(1, 'a'), _airbyte_raw_id: 'dup' }]),
    ).toEqual([]);
    expect(
      diffAtLeastOnce(want, [row(1, 'a'), row(2, 'b')], { optional: [expected(2, 'b')] }),
    ).toEqual([]);
    expect(diffAtLeastOnce(want, [row(2, 'b')])).toEqual([
      'missing row {id=1}: {"id":1,"name":"a"}',
      expect.stringContaining('unexpected row {id=2}'),
    ]);
  });
});

describe('extractedAtMillis and comparableValue', () => {
  it('read timestamps in the forms drivers return', () => {
    for (const v of [
      AT,
      BigInt(AT),
      new Date(AT),
      '2023-11-14T22:13:20Z',
      '2023-11-14 22:13:20+00',
      '2023-11-14 22:13:20.000+00:00',
    ])
      expect(extractedAtMillis(v)).toBe(AT);
    expect(extractedAtMillis('nonsense')).toBeUndefined();
  });

  it('compare typed values by meaning, not by text', () => {
    const same = (kind: keyof typeof AirbyteTypes, a: unknown, b: unknown) =>
      expect(comparableValue(AirbyteTypes[kind], a)).toEqual(
        comparableValue(AirbyteTypes[kind], b),
      );
    same('Integer', 42n, '42');
    same('Integer', 42, 42n);
    same('Number', '1.5', 1.5);
    same('Date', '2021-01-23', new Date('2021-01-23T00:00:00Z'));
    same('TimestampTZ', '2022-11-22T01:23:45.123+00:00', '2022-11-22 02:23:45.123+01');
    same('TimestampTZ', '2022-11-22T01:23:45Z', new Date('2022-11-22T01:23:45Z'));
    same('TimestampNTZ', '2022-11-22T01:23:45.123', '2022-11-22 01:23:45.123');
    same('TimeTZ', '01:23:45Z', '01:23:45+00');
    same('TimeTZ', '01:23:45+05:30', { micros: 5_025_000_000, offset: 19_800 });
    same('TimeNTZ', '01:23:45', 5_025_000_000);
    expect(comparableValue(AirbyteTypes.TimestampTZ, '2022-11-22T01:23:45Z')).not.toEqual(
      comparableValue(AirbyteTypes.TimestampTZ, '2022-11-22T01:23:46Z'),
    );
    expect(comparableValue(AirbyteTypes.TimeTZ, '01:23:45+01:00')).not.toEqual(
      comparableValue(AirbyteTypes.TimeTZ, '00:23:45Z'),
    );
    expect(comparableValue(AirbyteTypes.Integer, 'abc')).toBe('abc');
  });
});
