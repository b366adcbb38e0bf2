/** Identifier mapping: hostile names by example, and legality/distinctness/determinism as properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  collisionKey,
  isLegalIdentifier,
  lengthOf,
  mapNames,
  mapTableNames,
  sanitizeName,
} from '../../src/schema/name-mapper.js';
import {
  DUCKDB_NAMING,
  type NamingRules,
  POSTGRES_NAMING,
  SQL_SAFE_NAMING,
} from '../../src/schema/naming-rules.js';
import { RESERVED_COLUMN_NAMES } from '../../src/schema/stream-columns.js';
import { hostileNameArb } from './arbitraries.js';

const ALL_RULES: readonly NamingRules[] = [POSTGRES_NAMING, DUCKDB_NAMING, SQL_SAFE_NAMING];

/** A rules object with a tiny length limit and upper-case folding, to stress the algorithm. */
const TINY_UPPER: NamingRules = {
  ...SQL_SAFE_NAMING,
  dialect: 'tiny-upper',
  maxLength: 8,
  lengthUnit: 'chars',
  caseFolding: 'upper',
  allowedChar: /^[A-Z0-9_]$/,
  firstChar: /^[A-Z_]$/,
};

describe('sanitizeName', () => {
  it('keeps ordinary names for quoted dialects', () => {
    for (const rules of [POSTGRES_NAMING, DUCKDB_NAMING]) {
      expect(sanitizeName('userId', rules)).toBe('userId');
      expect(sanitizeName('select', rules)).toBe('select');
      expect(sanitizeName('a "quoted"; name', rules)).toBe('a "quoted"; name');
      expect(sanitizeName('日本語', rules)).toBe('日本語');
    }
  });
  it('replaces NUL and lone surrogates, and names the empty string', () => {
    expect(sanitizeName('a\u0000b', POSTGRES_NAMING)).toBe('a_b');
    expect(sanitizeName('x\uD800', DUCKDB_NAMING)).toBe('x_');
    expect(sanitizeName('', POSTGRES_NAMING)).toBe('_');
  });
  it('cuts PostgreSQL names to 63 bytes on a character boundary', () => {
    const name = sanitizeName('é'.repeat(100), POSTGRES_NAMING);
    expect(name).toBe('é'.repeat(31));
    expect(Buffer.byteLength(name)).toBe(62);
    expect(sanitizeName('x'.repeat(1000), POSTGRES_NAMING)).toBe('x'.repeat(63));
  });
  it('makes plain SQL names for SQL_SAFE_NAMING', () => {
    expect(sanitizeName('User Name', SQL_SAFE_NAMING)).toBe('user_name');
    expect(sanitizeName('Crème Brûlée', SQL_SAFE_NAMING)).toBe('creme_brulee');
    expect(sanitizeName('1st', SQL_SAFE_NAMING)).toBe('_1st');
    expect(sanitizeName('SELECT', SQL_SAFE_NAMING)).toBe('select_');
    expect(sanitizeName("'; DROP TABLE x; --", SQL_SAFE_NAMING)).toBe('___drop_table_x____');
    expect(sanitizeName('🦆', SQL_SAFE_NAMING)).toBe('_');
  });
});

describe('mapNames', () => {
  it('keeps the first of names that collide and suffixes the later ones', () => {
    expect(mapNames(['id', 'ID', 'Id'], DUCKDB_NAMING)).toEqual(['id', 'ID_1', 'Id_2']);
    expect(mapNames(['id', 'ID', 'Id'], POSTGRES_NAMING)).toEqual(['id', 'ID', 'Id']);
    expect(mapNames(['a b', 'a_b', 'A-B'], SQL_SAFE_NAMING)).toEqual(['a_b', 'a_b_1', 'a_b_2']);
  });
  it('never lets a renamed name take a name that another keeps', () => {
    expect(mapNames(['a', 'A', 'a_1'], DUCKDB_NAMING)).toEqual(['a', 'A_2', 'a_1']);
  });
  it('renames user names equal to reserved meta columns', () => {
    expect(mapNames(['_airbyte_raw_id', 'x'], POSTGRES_NAMING, RESERVED_COLUMN_NAMES)).toEqual([
      '_airbyte_raw_id_1',
      'x',
    ]);
    expect(mapNames(['_AIRBYTE_META'], DUCKDB_NAMING, RESERVED_COLUMN_NAMES)).toEqual([
      '_AIRBYTE_META_1',
    ]);
    expect(mapNames(['_AIRBYTE_META'], POSTGRES_NAMING, RESERVED_COLUMN_NAMES)).toEqual([
      '_AIRBYTE_META',
    ]);
  });
  it('settles collisions made by truncation within the limit', () => {
    const long = 'x'.repeat(1000);
    const names = mapNames([long, `${long}y`, `${long}z`], POSTGRES_NAMING);
    expect(names).toEqual(['x'.repeat(63), `${'x'.repeat(61)}_1`, `${'x'.repeat(61)}_2`]);
  });
  it('treats Unicode normalization forms as one name in case-insensitive dialects', () => {
    expect(mapNames(['é', 'e\u0301'], DUCKDB_NAMING)).toEqual(['é', 'e\u0301_1']);
    expect(mapNames(['é', 'e\u0301'], POSTGRES_NAMING)).toEqual(['é', 'e\u0301']);
  });

  describe.each(ALL_RULES.concat(TINY_UPPER))('with $dialect rules', (rules) => {
    it('yields legal, distinct identifiers for any set of hostile names, deterministically', () => {
      fc.assert(
        fc.property(fc.array(hostileNameArb, { maxLength: 25 }), (names) => {
          const mapped = mapNames(names, rules, RESERVED_COLUMN_NAMES);
          expect(mapped).toHaveLength(names.length);
          for (const id of mapped) {
            expect(isLegalIdentifier(id, rules), JSON.stringify(id)).toBe(true);
            expect(lengthOf(id, rules) <= rules.maxLength).toBe(true);
          }
          // Independent of collisionKey: how the engines compare identifiers.
          const engineKey = (id: string) =>
            rules.caseInsensitive ? id.normalize('NFC').toLowerCase() : id;
          const keys = mapped.map(engineKey);
          expect(new Set(keys).size).toBe(keys.length);
          const reserved = RESERVED_COLUMN_NAMES.map((r) => engineKey(sanitizeName(r, rules)));
          for (const key of keys) expect(reserved).not.toContain(key);
          expect(mapNames(names, rules, RESERVED_COLUMN_NAMES)).toEqual(mapped);
        }),
        { numRuns: 300 },
      );
    });
    it('keeps a name unchanged when it is already legal and unique', () => {
      fc.assert(
        fc.property(fc.uniqueArray(hostileNameArb, { maxLength: 10 }), (names) => {
          const mapped = mapNames(names, rules);
          names.forEach((name, i) => {
            const unique =
              names.filter(
                (n) =>
                  collisionKey(sanitizeName(n, rules), rules) ===
                  collisionKey(sanitizeName(name, rules), rules),
              ).length === 1;
            if (isLegalIdentifier(name, rules) && unique) expect(mapped[i]).toBe(name);
          });
        }),
      );
    });
  });
});

describe('quoteIdentifier', () => {
  it('double-quotes and doubles inner quotes', () => {
    for (const rules of ALL_RULES) {
      expect(rules.quoteIdentifier('a"b')).toBe('"a""b"');
      expect(rules.quoteIdentifier('"; DROP TABLE x; --')).toBe('"""; DROP TABLE x; --"');
    }
  });
  it('refuses NUL', () => {
    expect(() => POSTGRES_NAMING.quoteIdentifier('a\u0000')).toThrow(/NUL/);
  });
  it('round-trips through the SQL quoting rule', () => {
    fc.assert(
      fc.property(fc.array(hostileNameArb, { maxLength: 10 }), (names) => {
        for (const id of mapNames(names, POSTGRES_NAMING)) {
          const quoted = POSTGRES_NAMING.quoteIdentifier(id);
          expect(quoted.slice(1, -1).replaceAll('""', '"')).toBe(id);
          expect(quoted.slice(1, -1).replaceAll('""', '')).not.toContain('"');
        }
      }),
    );
  });
});

describe('mapTableNames', () => {
  it('maps namespaces and keeps tables distinct within a schema', () => {
    const tables = mapTableNames(
      [
        { namespace: 'Sales', name: 'Orders' },
        { namespace: 'sales', name: 'orders' },
        { name: 'orders' },
        { namespace: null, name: 'ORDERS' },
      ],
      DUCKDB_NAMING,
      'main',
    );
    expect(tables).toEqual([
      { schema: 'Sales', table: 'Orders' },
      { schema: 'sales', table: 'orders_1' },
      { schema: 'main', table: 'orders' },
      { schema: 'main', table: 'ORDERS_1' },
    ]);
  });
});
