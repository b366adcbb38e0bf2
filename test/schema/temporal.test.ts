/** Temporal parsing and epoch arithmetic, checked against JS Date as an independent oracle. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dateToEpochDays,
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
});
