/** The pure parts of the DuckDB connector: type mapping, widening, column plans, SQL text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alignColumns,
  type ExistingColumn,
  planColumns,
  tableLayout,
} from '../../../connectors/destination-duckdb/column-plan.js';
import { toDuckDbConfig } from '../../../connectors/destination-duckdb/duckdb-config.js';
import {
  DuckDbLockedError,
  DuckDbNoSpaceError,
  duckdbError,
} from '../../../connectors/destination-duckdb/duckdb-errors.js';
import {
  columnComment,
  jsonPointer,
  mergeSql,
  propertyOfComment,
  qualified,
  stringLiteral,
} from '../../../connectors/destination-duckdb/duckdb-sql.js';
import {
  duckDbTypeOf,
  normalizeDuckDbType,
  widenedType,
} from '../../../connectors/destination-duckdb/duckdb-types.js';
import {
  encoderFor,
  extractedAtMicros,
} from '../../../connectors/destination-duckdb/row-encoder.js';
import { arrayOf, AirbyteTypes as T } from '../../../src/schema/airbyte-type.js';

const TYPES = [
  'VARCHAR',
  'BOOLEAN',
  'BIGINT',
  'DOUBLE',
  'DATE',
  'TIMESTAMPTZ',
  'TIMESTAMP',
  'TIMETZ',
  'TIME',
  'JSON',
];
const typeArb = fc.oneof(
  fc.constantFrom(...TYPES),
  fc.constantFrom('INTEGER', 'DECIMAL(18,3)', 'UUID'),
);

const col = (identifier: string, type: string, property?: string): ExistingColumn => ({
  identifier,
  type,
  property,
});
const META = [
  { identifier: '_airbyte_raw_id', type: 'VARCHAR' },
  { identifier: '_airbyte_extracted_at', type: 'TIMESTAMPTZ' },
];

describe('duckdb types', () => {
  it('maps destkit types to DuckDB types', () => {
    expect(
      [
        T.String,
        T.Boolean,
        T.Integer,
        T.Number,
        T.Date,
        T.TimestampTZ,
        T.TimestampNTZ,
        T.TimeTZ,
        T.TimeNTZ,
        arrayOf(T.Integer),
        T.ObjectWithoutSchema,
      ].map(duckDbTypeOf),
    ).toEqual([
      'VARCHAR',
      'BOOLEAN',
      'BIGINT',
      'DOUBLE',
      'DATE',
      'TIMESTAMPTZ',
      'TIMESTAMP',
      'TIMETZ',
      'TIME',
      'JSON',
      'JSON',
    ]);
    expect(normalizeDuckDbType('TIMESTAMP WITH TIME ZONE')).toBe('TIMESTAMPTZ');
    expect(normalizeDuckDbType('TIME WITH TIME ZONE')).toBe('TIMETZ');
  });

  it('widens to a type that is commutative, idempotent, and never narrower than either side', () => {
    fc.assert(
      fc.property(typeArb, typeArb, (a, b) => {
        const w = widenedType(a, b);
        expect(widenedType(b, a)).toBe(w);
        expect(widenedType(w, a)).toBe(w);
        expect(widenedType(w, b)).toBe(w);
        if (a === b) expect(w).toBe(a);
        else expect(['VARCHAR', 'JSON', 'DOUBLE']).toContain(w);
      }),
    );
    expect(widenedType('BIGINT', 'DOUBLE')).toBe('DOUBLE');
    expect(widenedType('BOOLEAN', 'BIGINT')).toBe('VARCHAR');
    expect(widenedType('VARCHAR', 'JSON')).toBe('JSON');
  });

  it('has an encoder for every destkit type into its own type, DOUBLE (integers), VARCHAR and JSON', () => {
    for (const t of [
      T.String,
      T.Boolean,
      T.Integer,
      T.Number,
      T.Date,
      T.TimestampTZ,
      T.TimestampNTZ,
      T.TimeTZ,
      T.TimeNTZ,
      arrayOf(T.String),
    ]) {
      expect(encoderFor(t, duckDbTypeOf(t))).toBeDefined();
      expect(encoderFor(t, 'VARCHAR')).toBeDefined();
      expect(encoderFor(t, 'JSON')).toBeDefined();
    }
    expect(encoderFor(T.Integer, 'DOUBLE')?.(5n)).toBe(5);
    expect(encoderFor(T.Boolean, 'VARCHAR')?.(true)).toBe('true');
    expect(encoderFor(T.Integer, 'JSON')?.(9223372036854775807n)).toBe('9223372036854775807');
    expect(encoderFor(T.String, 'JSON')?.('a"b')).toBe('"a\\"b"');
    expect(encoderFor(T.Boolean, 'BIGINT')).toBeUndefined();
  });

  it('turns emitted_at into microseconds, null beyond what a timestamp holds', () => {
    expect(extractedAtMicros(1_700_000_000_000)).toBe(1_700_000_000_000_000n);
    expect(extractedAtMicros(1.5)).toBe(1500n);
    expect(extractedAtMicros(-1.5)).toBe(-1500n);
    expect(extractedAtMicros(Number.NaN)).toBeNull();
    expect(extractedAtMicros(1e17)).toBeNull();
  });
});

describe('planColumns', () => {
  const wanted = (property: string, identifier: string, type: string) => ({
    property,
    identifier,
    type,
  });

  it('creates a new table with the meta columns, then the properties as mapped', () => {
    const plan = planColumns(undefined, META, [
      wanted('id', 'id', 'BIGINT'),
      wanted('Id', 'Id_1', 'VARCHAR'),
    ]);
    expect(plan.actions[0]).toEqual({
      kind: 'create',
      columns: [
        ...META,
        { identifier: 'id', type: 'BIGINT' },
        { identifier: 'Id_1', type: 'VARCHAR' },
      ],
    });
    expect(plan.actions.slice(1)).toEqual([
      { kind: 'comment', identifier: 'id', property: 'id' },
      { kind: 'comment', identifier: 'Id_1', property: 'Id' },
    ]);
    expect([...plan.assignments]).toEqual([
      ['id', 'id'],
      ['Id', 'Id_1'],
    ]);
  });

  it('keeps a property in the column its comment names, when a case twin now comes first', () => {
    const existing = [
      ...META.map((m) => col(m.identifier, m.type)),
      col('name', 'VARCHAR', 'name'),
    ];
    const plan = planColumns(existing, META, [
      wanted('Name', 'Name', 'VARCHAR'),
      wanted('name', 'name_1', 'VARCHAR'),
    ]);
    expect(plan.assignments.get('name')).toBe('name');
    expect(plan.assignments.get('Name')).toBe('Name_1');
    expect(plan.actions).toEqual([
      { kind: 'add', column: { identifier: 'Name_1', type: 'VARCHAR' } },
      { kind: 'comment', identifier: 'Name_1', property: 'Name' },
    ]);
  });

  it('adopts an uncommented column of the same name, widens changed types, keeps removed columns', () => {
    const existing = [
      ...META.map((m) => col(m.identifier, m.type)),
      col('id', 'BIGINT'),
      col('gone', 'VARCHAR', 'gone'),
      col('amount', 'BIGINT', 'amount'),
    ];
    const plan = planColumns(existing, META, [
      wanted('id', 'id', 'BIGINT'),
      wanted('amount', 'amount', 'DOUBLE'),
      wanted('gone2', 'gone', 'JSON'),
    ]);
    expect(plan.assignments.get('gone2')).toBe('gone_1');
    expect(plan.actions).toEqual([
      { kind: 'add', column: { identifier: 'gone_1', type: 'JSON' } },
      { kind: 'widen', identifier: 'amount', from: 'BIGINT', to: 'DOUBLE' },
      { kind: 'comment', identifier: 'id', property: 'id' },
      { kind: 'comment', identifier: 'gone_1', property: 'gone2' },
    ]);
  });

  it('never gives a property a reserved identifier', () => {
    const plan = planColumns(
      undefined,
      META,
      [wanted('_destkit_seq', '_destkit_seq', 'BIGINT')],
      ['_destkit_seq'],
    );
    expect(plan.assignments.get('_destkit_seq')).toBe('_destkit_seq_1');
  });

  it('maps every property to a distinct column, whatever the existing table', () => {
    const name = fc.constantFrom('a', 'A', 'a_1', 'b', 'B_1', '_airbyte_raw_id', 'x');
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { maxLength: 6 }),
        fc.array(
          fc.record({
            identifier: name,
            type: typeArb,
            property: fc.option(name, { nil: undefined }),
          }),
          { maxLength: 6 },
        ),
        (properties, table) => {
          const existing = table.filter(
            (c, i) =>
              table.findIndex((d) => d.identifier.toLowerCase() === c.identifier.toLowerCase()) ===
              i,
          );
          const plan = planColumns(
            existing,
            META,
            properties.map((p) =>
              wanted(p, p === '_airbyte_raw_id' ? '_airbyte_raw_id_1' : p, 'VARCHAR'),
            ),
          );
          const identifiers = [...plan.assignments.values()].map((i) => i.toLowerCase());
          expect(new Set(identifiers).size).toBe(properties.length);
          for (const i of identifiers) expect(META.map((m) => m.identifier)).not.toContain(i);
        },
      ),
    );
  });
});

describe('alignColumns and tableLayout', () => {
  it('adds missing columns on both sides and widens both to a common type', () => {
    const target = [col('a', 'BIGINT'), col('b', 'VARCHAR')];
    const stage = [col('A', 'DOUBLE'), col('c', 'JSON'), col('_destkit_seq', 'BIGINT')];
    expect(alignColumns(target, stage, ['_destkit_seq'])).toEqual({
      a: [
        { kind: 'widen', identifier: 'a', from: 'BIGINT', to: 'DOUBLE' },
        { kind: 'add', column: { identifier: 'c', type: 'JSON' } },
      ],
      b: [{ kind: 'add', column: { identifier: 'b', type: 'VARCHAR' } }],
    });
  });

  it('gives every column its value source, ignoring case', () => {
    const layout = tableLayout(
      [
        col('_AIRBYTE_META', 'JSON'),
        col('X', 'VARCHAR'),
        col('old', 'VARCHAR'),
        col('_destkit_seq', 'BIGINT'),
      ],
      new Map([['x', 'x']]),
      [{ name: 'x', column: 'x', type: T.String }],
      [{ name: '_airbyte_meta', column: '_airbyte_meta' }],
      '_destkit_seq',
    );
    expect(layout.map((c) => c.source)).toEqual([
      { kind: 'meta', name: '_airbyte_meta' },
      { kind: 'user', index: 0 },
      { kind: 'none' },
      { kind: 'seq' },
    ]);
  });
});

describe('duckdb sql', () => {
  it('quotes identifiers and literals, and refuses NUL', () => {
    expect(qualified({ catalog: 'db', schema: 'we"ird', table: 'a;b' })).toBe(
      '"db"."we""ird"."a;b"',
    );
    expect(stringLiteral("it's")).toBe("'it''s'");
    expect(() => stringLiteral('a\u0000b')).toThrow(/NUL/);
    expect(jsonPointer(['a', 'b/c', 'd~e'])).toBe('/a/b~1c/d~0e');
  });

  it('round-trips any property name through a column comment', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (name) => {
        const comment = columnComment(name);
        expect(comment.includes('\u0000')).toBe(false);
        expect(propertyOfComment(comment)).toBe(name);
      }),
    );
    expect(propertyOfComment('a user comment')).toBeUndefined();
    expect(propertyOfComment(null)).toBeUndefined();
  });

  it('builds a merge keyed on every primary key part, cursor first, then extraction, then load order', () => {
    const table = (t: string) => ({ catalog: 'db', schema: 'main', table: t });
    const [winners, del, insert, drop] = mergeSql({
      target: table('t'),
      stage: table('t_destkit_stage'),
      columns: ['org', 'id', 'v'],
      primaryKey: [
        { column: 'org', subPath: [] },
        { column: 'id', subPath: ['x'] },
      ],
      cursor: { column: 'updated', subPath: [] },
      extractedAt: '_airbyte_extracted_at',
      seq: '_destkit_seq',
      deletedAt: '_ab_cdc_deleted_at',
    });
    expect(winners).toContain(
      `PARTITION BY s."org", json_extract(s."id", '/x') ORDER BY s."updated" DESC NULLS LAST, s."_airbyte_extracted_at" DESC NULLS LAST, s."_destkit_seq" DESC`,
    );
    expect(del).toContain(`t."org" IS NOT DISTINCT FROM w."org"`);
    expect(insert).toContain(`w."_ab_cdc_deleted_at" IS NULL AND NOT EXISTS`);
    expect(drop).toBe('DROP TABLE "temp"."main"."destkit_merge_winners"');
  });
});

describe('duckdb config and errors', () => {
  it('resolves the path and refuses in-memory and remote databases', () => {
    expect(toDuckDbConfig({ path: 'x.duckdb', schema: 's' }).path).toMatch(/^\/.*x\.duckdb$/);
    for (const path of [':memory:', ':memory:name', 'md:db', 'motherduck:db', ' ']) {
      expect(() => toDuckDbConfig({ path })).toThrow(/not a database file/);
    }
  });

  it('classifies DuckDB errors and withholds the text of statements that carried values', () => {
    const locked = duckdbError(
      new Error(
        'IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in node (PID 1)',
      ),
      'open',
      { path: '/x.duckdb' },
    );
    expect(locked).toBeInstanceOf(DuckDbLockedError);
    expect(
      duckdbError(new Error('IO Error: No space left on device'), 'append', { path: 'p' }),
    ).toBeInstanceOf(DuckDbNoSpaceError);
    const withValue = duckdbError(
      new Error("Conversion Error: Could not convert string 'secret value' to INT64"),
      'append rows',
      { path: 'p', carriesValues: true },
    );
    expect(withValue.message).toContain('Conversion Error');
    expect(withValue.message).not.toContain('secret value');
    expect(withValue.cause).toBeUndefined();
    expect(
      duckdbError(new Error('Catalog Error: Table "Permission denied" does not exist'), 'x', {
        path: 'p',
      }).constructor.name,
    ).toBe('DuckDbError');
  });
});
