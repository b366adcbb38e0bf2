/**
 * Values of typed columns in one comparable form, whatever form a database driver returns them
 * in, so a dumper of a typed destination can return its rows as the driver gives them:
 * - Integer: a bigint, a number or a decimal string — compared by value;
 * - Number: a number, a bigint or a numeric string — compared by value;
 * - Date: `YYYY-MM-DD` text (anything after the date is ignored) or a Date at UTC midnight;
 * - TimestampTZ: timestamp text with an offset (`T` or a space, `+00` or `+00:00` or `Z`) or a
 *   Date — compared as instants, to the microsecond;
 * - TimestampNTZ: timestamp text (an offset is ignored) or a Date whose UTC fields are the wall
 *   clock — compared as wall clocks;
 * - TimeTZ: time text with an offset, or `{micros, offset}` (offset in seconds) — compared by
 *   time of day and offset; TimeNTZ: time text or microseconds since midnight.
 * JSON kinds (objects, arrays, unions, unknown) are compared as JSON values: a dumper of a
 * destination that stores JSON as text parses it. String and Boolean values are compared as
 * they are. A value that cannot be read is compared as it is (and so differs).
 */
import type { AirbyteType } from '../../schema/airbyte-type.js';
import {
  epochMicros,
  formatDate,
  parseDate,
  parseTime,
  parseTimestamp,
} from '../../schema/temporal.js';

const MICROS_PER_MS = 1000n;

function text(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return typeof value === 'string' ? value.trim() : undefined;
}

/** `+05` → `+05:00` (the short offsets databases print). */
function fullOffset(value: string): string {
  return /[+-]\d\d$/.test(value) ? `${value}:00` : value;
}

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

function fraction6(fraction: string): string {
  return fraction.padEnd(6, '0').slice(0, 6);
}

function utcFromMicros(micros: bigint): string | undefined {
  const ms = micros / MICROS_PER_MS - (micros % MICROS_PER_MS < 0n ? 1n : 0n);
  const rest = micros - ms * MICROS_PER_MS;
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 23)}${pad(rest, 3)}Z`;
}

function timestampMicros(value: string, keepOffset: boolean): bigint | undefined {
  const parsed = parseTimestamp(fullOffset(value.replace(' ', 'T')));
  if (parsed === undefined) return undefined;
  return epochMicros(keepOffset ? parsed : { ...parsed, offsetSeconds: undefined });
}

function timeOfDay(micros: bigint | number): string {
  const m = BigInt(micros);
  const seconds = m / 1_000_000n;
  return `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}.${pad(m % 1_000_000n, 6)}`;
}

function offsetText(seconds: number): string {
  const sign = seconds < 0 ? '-' : '+';
  const abs = Math.abs(seconds);
  return `${sign}${pad(Math.floor(abs / 3600), 2)}:${pad(Math.floor((abs % 3600) / 60), 2)}`;
}

function timeValue(value: unknown, withOffset: boolean): string | undefined {
  if (typeof value === 'number' || typeof value === 'bigint')
    return `${timeOfDay(value)}${withOffset ? '+00:00' : ''}`;
  if (typeof value === 'object' && value !== null && 'micros' in value) {
    const { micros, offset } = value as { micros: unknown; offset?: unknown };
    if (typeof micros !== 'number' && typeof micros !== 'bigint') return undefined;
    const seconds = typeof offset === 'number' ? offset : 0;
    return `${timeOfDay(micros)}${withOffset ? offsetText(seconds) : ''}`;
  }
  const t = text(value);
  const parsed = t === undefined ? undefined : parseTime(fullOffset(t));
  if (parsed === undefined) return undefined;
  const micros =
    BigInt((parsed.hour * 3600 + parsed.minute * 60 + parsed.second) * 1_000_000) +
    BigInt(fraction6(parsed.fraction));
  return `${timeOfDay(micros)}${withOffset ? offsetText(parsed.offsetSeconds ?? 0) : ''}`;
}

/** The comparable form of a value of a column of `type` (see the file header). */
export function comparableValue(type: AirbyteType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'Integer': {
      if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
      if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
      return value;
    }
    case 'Number': {
      if (typeof value === 'bigint') return Number(value);
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
        return Number(value);
      return value;
    }
    case 'Date': {
      const t = text(value);
      const parsed =
        t === undefined ? undefined : parseDate(t.endsWith(' BC') ? t : t.slice(0, 10));
      return parsed === undefined ? value : formatDate(parsed);
    }
    case 'TimestampTZ':
    case 'TimestampNTZ': {
      const t = text(value);
      const micros = t === undefined ? undefined : timestampMicros(t, type.kind === 'TimestampTZ');
      const utc = micros === undefined ? undefined : utcFromMicros(micros);
      if (utc === undefined) return value;
      return type.kind === 'TimestampTZ' ? utc : utc.slice(0, -1);
    }
    case 'TimeTZ':
    case 'TimeNTZ':
      return timeValue(value, type.kind === 'TimeTZ') ?? value;
    default:
      return value;
  }
}

/** A row with every value of a typed column in its comparable form. */
export function comparableRow<T extends Readonly<Record<string, unknown>>>(
  row: T,
  types: ReadonlyMap<string, AirbyteType>,
): T {
  const out: Record<string, unknown> = { ...row };
  for (const [column, type] of types) {
    if (column in out) out[column] = comparableValue(type, out[column]);
  }
  return out as T;
}
