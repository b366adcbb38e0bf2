/**
 * What a destination allows in an identifier, as data: name-mapper.ts turns any UTF-8 name into
 * an identifier legal under these rules. Presets for DuckDB, PostgreSQL and a portable
 * "plain SQL" style. Both engines' presets assume destkit always quotes identifiers.
 */
import { InvalidIdentifierError } from './schema-errors.js';

export interface NamingRules {
  /** For messages, e.g. `postgres`. */
  readonly dialect: string;
  /** Longest identifier, in `lengthUnit`s; `Infinity` when the engine sets no limit. */
  readonly maxLength: number;
  /** `bytes`: UTF-8 bytes (PostgreSQL's NAMEDATALEN); `chars`: Unicode code points. */
  readonly lengthUnit: 'bytes' | 'chars';
  /** Applied to every name first; `none` keeps the case as written. */
  readonly caseFolding: 'none' | 'lower' | 'upper';
  /**
   * True when the engine compares identifiers ignoring case even when quoted (DuckDB): names
   * that differ only in case (or in Unicode normalization) then collide.
   */
  readonly caseInsensitive: boolean;
  /** Decompose and drop combining marks first (`é` → `e`), for ASCII-only rules. */
  readonly transliterate: boolean;
  /** Matches one legal code point; any other becomes `_`. NUL and lone surrogates never pass. */
  readonly allowedChar: RegExp;
  /** Matches a legal first code point; otherwise `_` is put in front. */
  readonly firstChar: RegExp;
  /** Words, lower case, that an identifier may not be (ignoring case); they get a `_` suffix. */
  readonly reservedWords: ReadonlySet<string>;
  /** The identifier as SQL text. */
  quoteIdentifier(identifier: string): string;
}

/** `"name"` with inner double quotes doubled; the form PostgreSQL and DuckDB both read. */
export function quoteIdentifierDoubleQuoted(identifier: string, dialect = 'SQL'): string {
  if (identifier.includes('\u0000')) throw new InvalidIdentifierError(dialect);
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Any code point; the mapper always excludes NUL and lone surrogates on top of the rules. */
const ANY_CODE_POINT = /^.$/su;

/**
 * PostgreSQL, quoted identifiers: any character but NUL, case kept and significant, at most
 * 63 bytes (NAMEDATALEN - 1; longer names would be silently truncated by the server).
 * Assumes a UTF-8 server encoding.
 */
export const POSTGRES_NAMING: NamingRules = Object.freeze({
  dialect: 'postgres',
  maxLength: 63,
  lengthUnit: 'bytes',
  caseFolding: 'none',
  caseInsensitive: false,
  transliterate: false,
  allowedChar: ANY_CODE_POINT,
  firstChar: ANY_CODE_POINT,
  reservedWords: new Set<string>(),
  quoteIdentifier: (identifier: string) => quoteIdentifierDoubleQuoted(identifier, 'postgres'),
});

/**
 * DuckDB, quoted identifiers: any character but NUL, case kept but compared case-insensitively
 * even when quoted (so `Id` and `id` collide), no documented length limit.
 */
export const DUCKDB_NAMING: NamingRules = Object.freeze({
  dialect: 'duckdb',
  maxLength: Number.POSITIVE_INFINITY,
  lengthUnit: 'chars',
  caseFolding: 'none',
  caseInsensitive: true,
  transliterate: false,
  allowedChar: ANY_CODE_POINT,
  firstChar: ANY_CODE_POINT,
  reservedWords: new Set<string>(),
  quoteIdentifier: (identifier: string) => quoteIdentifierDoubleQuoted(identifier, 'duckdb'),
});

/**
 * Reserved words of PostgreSQL (reserved, and reserved as function or type names) plus DuckDB's
 * own; an unquoted identifier may not be one of them.
 */
export const SQL_RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    'all analyse analyze and anti any array as asc asof asymmetric authorization binary both ' +
    'case cast check collate collation column concurrently constraint create cross ' +
    'current_catalog current_date current_role current_schema current_time ' +
    'current_timestamp current_user default deferrable desc describe distinct do else end ' +
    'except false fetch for foreign freeze from full grant group having ilike in initially ' +
    'inner intersect into is isnull join lambda lateral leading left like limit localtime ' +
    'localtimestamp natural not notnull null offset on only or order outer overlaps pivot ' +
    'pivot_longer pivot_wider placing positional primary qualify references returning right ' +
    'select semi session_user show similar some summarize symmetric system_user table ' +
    'tablesample then to trailing true union unique unpivot user using variadic verbose when ' +
    'where window with'
  ).split(' '),
);

/**
 * Plain SQL names that need no quoting anywhere: lower-case ASCII letters, digits and `_`, not
 * starting with a digit, no reserved word, at most 63 bytes. Accents are dropped (`é` → `e`).
 */
export const SQL_SAFE_NAMING: NamingRules = Object.freeze({
  dialect: 'sql-safe',
  maxLength: 63,
  lengthUnit: 'bytes',
  caseFolding: 'lower',
  caseInsensitive: true,
  transliterate: true,
  allowedChar: /^[a-z0-9_]$/,
  firstChar: /^[a-z_]$/,
  reservedWords: SQL_RESERVED_WORDS,
  quoteIdentifier: (identifier: string) => quoteIdentifierDoubleQuoted(identifier, 'sql-safe'),
});
