/** The pure rules of the PostgreSQL connector: types and widening, names, SQL text, errors. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retryPolicyFromEnv } from '../../../connectors/destination-postgres/postgres-config.js';
import {
  isRetryable,
  PostgresConfigError,
  PostgresSystemError,
  PostgresTransientError,
  postgresError,
} from '../../../connectors/destination-postgres/postgres-errors.js';
import {
  finalTableNames,
  helperName,
  schemaIdentifier,
} from '../../../connectors/destination-postgres/postgres-names.js';
import {
  createKeyIndexSql,
  mergeStatements,
  stringLiteral,
} from '../../../connectors/destination-postgres/postgres-sql.js';
import {
  accepts,
  convert,
  PG,
  pgTypeOf,
  widen,
} from '../../../connectors/destination-postgres/postgres-types.js';
import { ConfigError } from '../../../src/errors/destkit-error.js';
import { AirbyteTypes } from '../../../src/schema/index.js';

const MANAGED = Object.values(PG);
const FOREIGN = [
  'integer',
  'smallint',
  'real',
  'double precision',
  'character varying(10)',
  'json',
  'numeric(10,2)',
];
const anyType = fc.constantFrom(...MANAGED, ...FOREIGN);

describe('column types', () => {
  it('maps Airbyte types to exact PostgreSQL types', () => {
    expect(pgTypeOf(AirbyteTypes.Integer)).toBe('bigint');
    expect(pgTypeOf(AirbyteTypes.Number)).toBe('numeric');
    expect(pgTypeOf(AirbyteTypes.TimestampNTZ)).toBe('timestamp without time zone');
    expect(pgTypeOf(AirbyteTypes.TimeTZ)).toBe('time with time zone');
    expect(pgTypeOf(AirbyteTypes.ObjectWithoutSchema)).toBe('jsonb');
  });

  it('widens to a type that takes both the old and the new values, never narrowing', () => {
    fc.assert(
      fc.property(anyType, anyType, (existing, incoming) => {
        const to = widen(existing, incoming);
        expect(accepts(to, incoming)).toBe(true);
        expect(accepts(to, existing)).toBe(true);
        if (accepts(existing, incoming)) expect(to).toBe(existing);
        expect(widen(to, incoming)).toBe(to);
      }),
    );
    expect(widen('bigint', 'numeric')).toBe('numeric');
    expect(widen('integer', 'bigint')).toBe('bigint');
    expect(widen('boolean', 'bigint')).toBe('text');
    expect(widen('date', 'jsonb')).toBe('jsonb');
    expect(widen('numeric', 'bigint')).toBe('numeric');
    expect(widen('timestamp(3) with time zone', 'timestamp with time zone')).toBe(
      'timestamp with time zone',
    );
    expect(widen('numeric(10,2)', 'bigint')).toBe('numeric');
    expect(widen('character varying(10)', 'text')).toBe('text');
    // regression (seed -41696394): real widened to numeric, which must then take real values
    expect(accepts(widen('real', 'numeric'), 'real')).toBe(true);
  });

  it('converts with to_jsonb to jsonb and a cast otherwise', () => {
    expect(convert('"c"', 'date', 'jsonb')).toBe('to_jsonb("c")');
    expect(convert('"c"', 'boolean', 'text')).toBe('("c")::text');
    expect(convert('"c"', 'text', 'text')).toBe('"c"');
  });
});

describe('names', () => {
  it('keeps schema names off the reserved pg_ prefix', () => {
    expect(schemaIdentifier('pg_temp')).toBe('_pg_temp');
    expect(schemaIdentifier('public')).toBe('public');
    expect(schemaIdentifier('PG_x')).toBe('PG_x');
    expect(Buffer.byteLength(schemaIdentifier(`pg_${'é'.repeat(40)}`))).toBeLessThanOrEqual(63);
  });

  it('gives distinct helper tables of at most 63 bytes to distinct final tables', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 80 }), {
          minLength: 2,
          maxLength: 6,
        }),
        (names) => {
          const tables = finalTableNames(
            names.map((name) => ({ name })),
            'public',
          );
          for (const kind of ['tmp', 'stage', 'pk'] as const) {
            const helpers = tables.map((t) => helperName(kind, t));
            expect(new Set(helpers).size).toBe(helpers.length);
            for (const h of helpers) expect(Buffer.byteLength(h)).toBeLessThanOrEqual(63);
          }
        },
      ),
    );
  });
});

describe('SQL text', () => {
  const final = { schema: 's"x', table: 'it\'s "t"' };
  const stage = { schema: 's"x', table: '_airbyte_stage_0123456789_t' };

  it('quotes every identifier and escapes key paths as literals', () => {
    expect(stringLiteral("a'b\\c")).toBe("E'a''b\\\\c'");
    const sql = createKeyIndexSql(
      final,
      [
        { column: 'o"rg', subPath: ["i'd"] },
        { column: 'n', subPath: [] },
      ],
      new Map([
        ['o"rg', 'jsonb'],
        ['n', 'bigint'],
      ]),
    );
    expect(sql).toContain(
      'ON "s""x"."it\'s ""t""" ((("o""rg" #> ARRAY[E\'i\'\'d\']::text[])), "n")',
    );
  });

  it('merges with the newest staged row per key, an existing newer row winning, CDC deletes skipped', () => {
    const types = new Map([
      ['_airbyte_extracted_at', 'timestamp with time zone'],
      ['id', 'bigint'],
      ['u', 'timestamp with time zone'],
      ['_ab_cdc_deleted_at', 'timestamp with time zone'],
    ]);
    const finalTypes = new Map([...types, ['id', 'numeric']]);
    const statements = mergeStatements(
      final,
      stage,
      {
        primaryKey: [{ column: 'id', subPath: [] }],
        cursor: { column: 'u', subPath: [] },
        cdcDeletedAt: '_ab_cdc_deleted_at',
      },
      types,
      finalTypes,
    );
    expect(statements[0]).toContain('SELECT DISTINCT ON (s."id")');
    expect(statements[0]).toContain(
      'ORDER BY s."id", s."u" DESC NULLS LAST, s."_airbyte_extracted_at" DESC NULLS LAST',
    );
    expect(statements[2]).toContain('f."id" = (m."id")::numeric');
    expect(statements[2]).toContain('f."u" > m."u"');
    expect(statements[4]).toContain('WHERE m."_ab_cdc_deleted_at" IS NULL');
    expect(statements[5]).toBe('DROP TABLE "s""x"."_airbyte_stage_0123456789_t"');
  });
});

describe('postgresError', () => {
  const context = { action: 'connect to', target: 'h:5432/db', user: 'u', sslMode: 'require' };
  const server = (code: string, message = 'server says no') =>
    Object.assign(new Error(message), { code, severity: 'FATAL' });
  const node = (code: string) => Object.assign(new Error(`connect ${code} 1.2.3.4:5432`), { code });

  it.each([
    ['28P01', PostgresConfigError, 'POSTGRES_AUTH_FAILED'],
    ['28000', PostgresConfigError, 'POSTGRES_AUTH_FAILED'],
    ['3D000', PostgresConfigError, 'POSTGRES_DATABASE_MISSING'],
    ['42501', PostgresConfigError, 'POSTGRES_PERMISSION_DENIED'],
    ['40001', PostgresTransientError, 'POSTGRES_TRANSIENT'],
    ['40P01', PostgresTransientError, 'POSTGRES_TRANSIENT'],
    ['57P01', PostgresTransientError, 'POSTGRES_TRANSIENT'],
    ['08006', PostgresTransientError, 'POSTGRES_TRANSIENT'],
    ['53300', PostgresTransientError, 'POSTGRES_TRANSIENT'],
    ['42P07', PostgresSystemError, 'POSTGRES_ERROR'],
  ])('classifies SQLSTATE %s', (code, type, stable) => {
    const error = postgresError(server(code), context);
    expect(error).toBeInstanceOf(type);
    expect((error as PostgresConfigError).code).toBe(stable);
    expect(error.message).toContain('h:5432/db');
  });

  it('classifies connection failures as retryable transient errors, unknown hosts and TLS as config', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']) {
      expect(isRetryable(postgresError(node(code), context))).toBe(true);
    }
    expect(
      isRetryable(postgresError(new Error('Connection terminated unexpectedly'), context)),
    ).toBe(true);
    expect(isRetryable(postgresError(new AggregateError([node('ECONNREFUSED')]), context))).toBe(
      true,
    );
    expect(postgresError(node('ENOTFOUND'), context)).toBeInstanceOf(ConfigError);
    const ssl = postgresError(new Error('The server does not support SSL connections'), context);
    expect(ssl).toBeInstanceOf(ConfigError);
    expect(ssl.message).toContain('ssl_mode is require');
    expect(postgresError(node('DEPTH_ZERO_SELF_SIGNED_CERT'), context)).toBeInstanceOf(ConfigError);
    // a statement timeout is transient, but retrying it within the sync would only time out again
    const timeout = postgresError(server('57014'), context);
    expect(timeout).toBeInstanceOf(PostgresTransientError);
    expect(isRetryable(timeout)).toBe(false);
  });

  it('withholds server messages that may quote record values', () => {
    const error = postgresError(
      Object.assign(new Error('invalid input syntax for type bigint: "secret-value"'), {
        code: '22P02',
        severity: 'ERROR',
        column: 'id',
      }),
      context,
    );
    expect(error).toBeInstanceOf(PostgresSystemError);
    expect(error.message).not.toContain('secret-value');
    expect(String((error.cause as Error).message)).not.toContain('secret-value');
    expect(String((error.cause as Error).message)).toContain('22P02');
  });

  it('passes destkit errors through', () => {
    const own = new PostgresConfigError('X', 'mine');
    expect(postgresError(own, context)).toBe(own);
  });
});

describe('retry policy', () => {
  it('reads the environment, defaults to 3 retries from 1 s, and rejects bad values', () => {
    expect(retryPolicyFromEnv({})).toEqual({ retries: 3, baseDelayMs: 1000 });
    expect(
      retryPolicyFromEnv({ DESTKIT_POSTGRES_RETRIES: '0', DESTKIT_POSTGRES_RETRY_DELAY_MS: '5' }),
    ).toEqual({
      retries: 0,
      baseDelayMs: 5,
    });
    expect(() => retryPolicyFromEnv({ DESTKIT_POSTGRES_RETRIES: '-1' })).toThrow(ConfigError);
  });
});
