/** Temporal parsing and epoch arithmetic, checked against JS Date as an independent oracle. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dateToEpochDays,
  type ParsedTimestamp,
  parseDate,
  parseTimestamp,
  timestampToEpochMicros,
  timeToMicros,
} from '../../src/schema/temporal.js';
import {
  civilDateArb,
  civilTimeArb,
  formatCivilDate,
  formatCivilTime,
  formatCivilTimestamp,
  oracleEpochDays,
  oracleEpochMicros,
} from './arbitraries.js';

describe('temporal', () => {
  describe('dateToEpochDays', () => {
    it('counts days from 1970-01-01', () => {
      expect(dateToEpochDays('1970-01-01')).toBe(0);
      expect(dateToEpochDays('1970-01-02')).toBe(1);
      expect(dateToEpochDays('1969-12-31')).toBe(-1);
      expect(dateToEpochDays('2000-03-01')).toBe(11_017);
      expect(dateToEpochDays('0001-01-01')).toBe(-719_162);
      // 1 BC is astronomical year 0: one leap year (366 days) before 0001-01-01.
      expect(dateToEpochDays('0001-01-01 BC')).toBe(-719_162 - 366);
      expect(dateToEpochDays('2021-02-29')).toBeUndefined();
    });
    it('agrees with JS Date on every valid date, AD and BC', () => {
      fc.assert(
        fc.property(civilDateArb, (d) => {
          expect(dateToEpochDays(formatCivilDate(d))).toBe(oracleEpochDays(d));
        }),
      );
    });
  });

  describe('timestampToEpochMicros', () => {
    it('applies the offset and keeps microseconds', () => {
      expect(timestampToEpochMicros('1970-01-01T00:00:00Z')).toBe(0n);
      expect(timestampToEpochMicros('1970-01-01T01:00:00+01:00')).toBe(0n);
      expect(timestampToEpochMicros('1969-12-31T23:59:59.999999Z')).toBe(-1n);
      expect(timestampToEpochMicros('2022-01-23T01:23:45.1234569Z')).toBe(1_642_901_025_123_456n);
      expect(timestampToEpochMicros('9999-12-31T23:59:59.999999Z')).toBe(253_402_300_799_999_999n);
      expect(timestampToEpochMicros('2022-01-23T01:23:45')).toBe(1_642_901_025_000_000n);
    });
    it('agrees with JS Date on every valid timestamp, with and without offset', () => {
      fc.assert(
        fc.property(civilDateArb, civilTimeArb, (d, t) => {
          expect(timestampToEpochMicros(formatCivilTimestamp(d, t, true))).toBe(
            oracleEpochMicros(d, t, true),
          );
          expect(timestampToEpochMicros(formatCivilTimestamp(d, t, false))).toBe(
            oracleEpochMicros(d, t, false),
          );
        }),
      );
    });
    it('keeps the parsed fields', () => {
      expect(parseTimestamp('0044-03-15T12:00:00.5+01:30 BC')).toEqual({
        year: 44,
        month: 3,
        day: 15,
        bc: true,
        hour: 12,
        minute: 0,
        second: 0,
        fraction: '5',
        offsetSeconds: 5400,
      });
    });
  });

  describe('timeToMicros', () => {
    it('counts microseconds since midnight and reports the offset', () => {
      expect(timeToMicros('00:00:00')).toEqual({ micros: 0, offsetSeconds: 0 });
      expect(timeToMicros('01:02:03.5-02:00')).toEqual({
        micros: 3_723_500_000,
        offsetSeconds: -7200,
      });
      expect(timeToMicros('25:00:00')).toBeUndefined();
    });
    it('agrees with arithmetic on every valid time', () => {
      fc.assert(
        fc.property(civilTimeArb, (t) => {
          const micros =
            (t.hour * 3600 + t.minute * 60 + t.second) * 1_000_000 +
            (t.fraction === '' ? 0 : Number(t.fraction.padEnd(6, '0')));
          expect(timeToMicros(formatCivilTime(t, true))).toEqual({
            micros,
            offsetSeconds: t.offsetSeconds ?? 0,
          });
        }),
      );
    });
  });

  describe('parseTimestamp and parseDate without the regular expression', () => {
    // The grammar as one regular expression (what parseTimestamp used alone before it read the
    // common shapes by hand): the oracle of the hand-written path.
    const TIMESTAMP =
      /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?|[+-]\d:\d{2})?( BC)?$/;
    const DATE = /^(\d{4})-(\d{2})-(\d{2})( BC)?$/;
    const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const validDay = (year: number, month: number, day: number, bc: boolean) => {
      const y = bc ? 1 - year : year;
      const days = [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
      return year >= 1 && days !== undefined && day >= 1 && day <= days;
    };
    function oracleOffset(text: string): number | null {
      if (text === 'Z' || text === 'z') return 0;
      const sign = text.startsWith('-') ? -1 : 1;
      const digits = text.slice(1).replace(':', '');
      const hours = Number(digits.length === 3 ? digits.slice(0, 1) : digits.slice(0, 2));
      const minutes = Number(digits.length === 3 ? digits.slice(1) : digits.slice(2) || '0');
      return hours > 23 || minutes > 59 ? null : sign * (hours * 3600 + minutes * 60);
    }
    function oracleTimestamp(text: string): ParsedTimestamp | undefined {
      const m = TIMESTAMP.exec(text);
      if (m === null) return undefined;
      const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const bc = m[9] !== undefined;
      const [hour, minute, second] = [
        Number(m[4]),
        Number(m[5]),
        m[6] === undefined ? 0 : Number(m[6]),
      ];
      const offsetSeconds = m[8] === undefined ? undefined : oracleOffset(m[8]);
      if (!validDay(year, month, day, bc) || hour > 23 || minute > 59 || second > 59)
        return undefined;
      if (offsetSeconds === null) return undefined;
      const fraction = (m[7] ?? '').slice(0, 6);
      return { year, month, day, bc, hour, minute, second, fraction, offsetSeconds };
    }

    /** Timestamp-like texts: a valid one, then a few characters replaced, inserted or removed. */
    const nearTimestampArb = fc
      .tuple(
        civilDateArb,
        civilTimeArb,
        fc.boolean(),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom('replace', 'insert', 'delete'),
            fc.constantFrom(...'0123456789-:.TtZz+- BC9'),
          ),
          { maxLength: 3 },
        ),
      )
      .map(([d, t, withOffset, edits]) => {
        let text = formatCivilTimestamp(d, t, withOffset);
        for (const [at, edit, c] of edits) {
          const i = at % (text.length + 1);
          if (edit === 'insert') text = text.slice(0, i) + c + text.slice(i);
          else if (edit === 'delete') text = text.slice(0, i) + text.slice(i + 1);
          else text = text.slice(0, i) + c + text.slice(i + 1);
        }
        return text;
      });

    it('reads every text as the regular expression does', () => {
      fc.assert(
        fc.property(nearTimestampArb, (text) => {
          expect(parseTimestamp(text)).toEqual(oracleTimestamp(text));
        }),
        { numRuns: 3000 },
      );
      for (const text of [
        '2026-01-01T00:00:00Z',
        '2026-01-01t00:00:00z',
        '2026-01-01 00:00:00',
        '2026-01-01T00:00:00.1234567-00:00',
        '2026-01-01T00:00:00+0530',
        '2026-01-01T00:00:00+05',
        '2026-01-01T00:00:00+24:00',
        '2026-01-01T00:00:00+05:60',
        '2026-02-29T00:00:00Z',
        '2024-02-29T23:59:59Z',
        '2024-02-29T24:00:00Z',
        '2026-01-01T00:00:00.Z',
        '2026-01-01T00:00:00+5:30',
        '2026-01-01T00:00Z',
        '2026-01-01T00:00:00Z BC',
        '0000-01-01T00:00:00Z',
        '２０２６-01-01T00:00:00Z',
      ]) {
        expect(parseTimestamp(text), text).toEqual(oracleTimestamp(text));
      }
    });

    it('reads every date as the regular expression does', () => {
      const oracleDate = (text: string) => {
        const m = DATE.exec(text);
        if (m === null) return undefined;
        const [year, month, day, bc] = [
          Number(m[1]),
          Number(m[2]),
          Number(m[3]),
          m[4] !== undefined,
        ];
        return validDay(year, month, day, bc) ? { year, month, day, bc } : undefined;
      };
      fc.assert(
        fc.property(nearTimestampArb, (text) => {
          const date = text.slice(0, 10 + (text.length % 4));
          expect(parseDate(date)).toEqual(oracleDate(date));
        }),
        { numRuns: 2000 },
      );
    });
  });
});
