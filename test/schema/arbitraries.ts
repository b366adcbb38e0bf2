/** fast-check arbitraries for the schema layer: types, valid values per type, hostile names. */
import fc from 'fast-check';
import {
  type AirbyteType,
  AirbyteTypes,
  arrayOf,
  objectOf,
  type ScalarKind,
  unionOf,
  unknownType,
} from '../../src/schema/airbyte-type.js';

export const SCALAR_KINDS: readonly ScalarKind[] = [
  'String',
  'Boolean',
  'Integer',
  'Number',
  'Date',
  'TimestampTZ',
  'TimestampNTZ',
  'TimeTZ',
  'TimeNTZ',
];

/** Any Airbyte type, nested a little. */
export const typeArb: fc.Arbitrary<AirbyteType> = fc.letrec<{ type: AirbyteType }>((tie) => ({
  type: fc.oneof(
    { maxDepth: 3 },
    fc.constantFrom<AirbyteType>(
      ...SCALAR_KINDS.map((k) => AirbyteTypes[k]),
      AirbyteTypes.ArrayWithoutSchema,
      AirbyteTypes.ObjectWithoutSchema,
      unknownType({}),
    ),
    tie('type').map(arrayOf),
    fc
      .array(fc.tuple(fc.string({ maxLength: 5 }), tie('type')), { maxLength: 3 })
      .map((entries) => objectOf(entries)),
    fc
      .array(tie('type'), { minLength: 2, maxLength: 3 })
      .map((options) => unionOf(options) ?? AirbyteTypes.String),
  ),
})).type;

/** Anything at all, including values JSON cannot produce. */
export const anyInput = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export interface CivilDate {
  year: number;
  month: number;
  day: number;
  bc: boolean;
}

function daysInMonth(astronomicalYear: number, month: number): number {
  // The 0th day of the next month is the last day of this one; JS Date is proleptic Gregorian.
  const d = new Date(0);
  d.setUTCFullYear(astronomicalYear, month, 0);
  return d.getUTCDate();
}

export const civilDateArb: fc.Arbitrary<CivilDate> = fc
  .record({
    year: fc.integer({ min: 1, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    dayFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    bc: fc.boolean(),
  })
  .map(({ year, month, dayFraction, bc }) => {
    const dim = daysInMonth(bc ? 1 - year : year, month);
    return { year, month, day: 1 + Math.floor(dayFraction * dim), bc };
  });

export interface CivilTime {
  hour: number;
  minute: number;
  second: number;
  /** 0–6 digits. */
  fraction: string;
  /** Seconds east of UTC, or undefined for `Z`. */
  offsetSeconds: number | undefined;
}

export const civilTimeArb: fc.Arbitrary<CivilTime> = fc.record({
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  second: fc.integer({ min: 0, max: 59 }),
  fraction: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 6 }),
  offsetSeconds: fc.option(
    fc
      .tuple(
        fc.constantFrom(1, -1),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
      )
      .filter(([, h, m]) => h !== 0 || m !== 0)
      .map(([sign, h, m]) => sign * (h * 3600 + m * 60)),
    { nil: undefined },
  ),
});

export function formatCivilDate(d: CivilDate): string {
  return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}${d.bc ? ' BC' : ''}`;
}

export function formatCivilTime(t: CivilTime, withOffset: boolean): string {
  const fraction = t.fraction === '' ? '' : `.${t.fraction}`;
  let offset = '';
  if (withOffset) {
    if (t.offsetSeconds === undefined) offset = 'Z';
    else {
      const abs = Math.abs(t.offsetSeconds);
      const sign = t.offsetSeconds < 0 ? '-' : '+';
      offset = `${sign}${pad(Math.floor(abs / 3600), 2)}:${pad((abs % 3600) / 60, 2)}`;
    }
  }
  return `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${fraction}${offset}`;
}

export function formatCivilTimestamp(d: CivilDate, t: CivilTime, withOffset: boolean): string {
  const date = `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
  return `${date}T${formatCivilTime(t, withOffset)}${d.bc ? ' BC' : ''}`;
}

/** Oracle: epoch days through JS Date (proleptic Gregorian, astronomical years). */
export function oracleEpochDays(d: CivilDate): number {
  const date = new Date(0);
  date.setUTCFullYear(d.bc ? 1 - d.year : d.year, d.month - 1, d.day);
  return Math.round(date.getTime() / 86_400_000);
}

/** Oracle: epoch microseconds through JS Date plus the sub-millisecond digits. */
export function oracleEpochMicros(d: CivilDate, t: CivilTime, withOffset: boolean): bigint {
  const date = new Date(0);
  date.setUTCFullYear(d.bc ? 1 - d.year : d.year, d.month - 1, d.day);
  date.setUTCHours(t.hour, t.minute, t.second, 0);
  const micros = t.fraction === '' ? 0 : Number(t.fraction.padEnd(6, '0'));
  const offset = withOffset ? (t.offsetSeconds ?? 0) : 0;
  return BigInt(date.getTime()) * 1000n + BigInt(micros) - BigInt(offset) * 1_000_000n;
}

/** Names built to hurt: quotes, NUL, unicode, case twins, reserved words, very long, empty. */
export const hostileNameArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom(
    '',
    ' ',
    '"',
    '""',
    "'; DROP TABLE users; --",
    'a"b',
    '\u0000',
    'a\u0000b',
    '\uD800',
    'select',
    'SELECT',
    'Select',
    'from',
    'user',
    'ID',
    'id',
    'Id',
    '_airbyte_raw_id',
    '_AIRBYTE_RAW_ID',
    '_airbyte_meta',
    '_airbyte_extracted_at',
    '_airbyte_generation_id',
    'id_1',
    '1abc',
    'é',
    'e\u0301',
    'Straße',
    'STRASSE',
    '🦆',
    '日本語のカラム名',
    'x'.repeat(1000),
    'é'.repeat(1000),
    '🦆'.repeat(300),
  ),
  fc.string({ unit: 'grapheme', minLength: 60, maxLength: 80 }),
);
