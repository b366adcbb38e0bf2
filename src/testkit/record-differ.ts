/**
 * Compares the rows a destination holds (as a dumper reads them back) with the rows a test
 * expects, and says what differs in words a connector author can act on.
 *
 * Terms:
 * - dumped row: a plain object, one key per column: the user's fields plus the meta columns
 *   `_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_meta`, `_airbyte_generation_id`
 *   (and optionally `_airbyte_loaded_at`, never compared).
 * - expected row: the fields to compare, and the meta values to check (an omitted meta value is
 *   not checked).
 *
 * Values are compared after normalization: `undefined` (an absent field) equals null; a bigint
 * equals the number of the same value; a Date is its ISO-8601 text; object keys are unordered.
 * `_airbyte_extracted_at` may be epoch milliseconds, a Date or a timestamp text; `_airbyte_meta`
 * an object or its JSON text. A field an expected row leaves out must be null or absent in the
 * dumped row, unless it is ignored. Rows are paired by primary key (or by `id` when the rows
 * have one), then by content, so a diff names the row it is about.
 */
import type { JsonObject } from '../protocol/messages.js';

export type DumpedRow = Readonly<Record<string, unknown>>;

export interface ExpectedChange {
  readonly field: string;
  readonly change: string;
  readonly reason: string;
}

export interface ExpectedRow {
  /** The user's fields by column name. */
  readonly data: Readonly<Record<string, unknown>>;
  /** `_airbyte_extracted_at` in epoch milliseconds. Omitted: not checked. */
  readonly extractedAt?: number;
  /** `_airbyte_generation_id`. Omitted: not checked. */
  readonly generationId?: number | null;
  /** `_airbyte_meta.sync_id`. Omitted: not checked. */
  readonly syncId?: number | null;
  /** `_airbyte_meta.changes`, in order. Omitted: not checked. */
  readonly changes?: readonly ExpectedChange[];
  /** Fields of this row not compared (e.g. a column whose type changed since). */
  readonly ignoreFields?: readonly string[];
}

export interface DiffOptions {
  /** Primary key paths (into the row's fields), to pair rows and name them. */
  readonly primaryKey?: readonly (readonly string[])[];
  /** Fields not compared at all. */
  readonly ignoreFields?: readonly string[];
  /** Check that every row has a distinct, non-empty `_airbyte_raw_id`. Default true. */
  readonly checkRawIds?: boolean;
}

/** Meta columns: never user fields. */
export const DUMP_META_COLUMNS: readonly string[] = Object.freeze([
  '_airbyte_raw_id',
  '_airbyte_extracted_at',
  '_airbyte_meta',
  '_airbyte_generation_id',
  '_airbyte_loaded_at',
]);
const META = new Set(DUMP_META_COLUMNS);

/** A value in a form where equal values have equal canonical JSON. */
export function normalizeValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') {
    const n = Number(value);
    return BigInt(n) === value ? n : `${value.toString()}n`;
  }
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      out[key] = normalizeValue((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value;
}

/** Canonical JSON of a normalized value (sorted keys). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalizeValue(value));
}

/** `_airbyte_extracted_at` in epoch milliseconds, or undefined when unreadable. */
export function extractedAtMillis(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  let text = value.trim().replace(' ', 'T');
  if (/[+-]\d\d$/.test(text)) text = `${text}:00`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** An integer meta value (a generation, a sync id) as a bigint when it is one, in any form. */
function integerish(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

function metaObject(value: unknown): JsonObject | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as JsonObject)
    : undefined;
}

function valueAt(row: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let current: unknown = row;
  for (const part of path) {
    if (typeof current === 'string' && path.length > 1) current = metaObject(current) ?? current;
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function short(value: unknown): string {
  const text = canonicalJson(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** The differences between one expected row and one dumped row. */
export function diffRow(
  expected: ExpectedRow,
  actual: DumpedRow,
  ignore: ReadonlySet<string> = new Set(),
): string[] {
  const diffs: string[] = [];
  const skip = (key: string) => ignore.has(key) || expected.ignoreFields?.includes(key) === true;
  const fields = new Set<string>();
  for (const key of Object.keys(expected.data)) if (!skip(key)) fields.add(key);
  for (const key of Object.keys(actual)) if (!META.has(key) && !skip(key)) fields.add(key);
  for (const field of fields) {
    const want = canonicalJson(expected.data[field]);
    const got = canonicalJson(actual[field]);
    if (want !== got)
      diffs.push(`${field}: expected ${short(expected.data[field])}, got ${short(actual[field])}`);
  }
  if (expected.extractedAt !== undefined) {
    const got = extractedAtMillis(actual._airbyte_extracted_at);
    if (got !== expected.extractedAt) {
      diffs.push(
        `_airbyte_extracted_at: expected ${new Date(expected.extractedAt).toISOString()}, got ${short(actual._airbyte_extracted_at)}`,
      );
    }
  }
  if (expected.generationId !== undefined) {
    const want = canonicalJson(integerish(expected.generationId));
    const got = canonicalJson(integerish(actual._airbyte_generation_id));
    if (want !== got)
      diffs.push(
        `_airbyte_generation_id: expected ${want}, got ${short(actual._airbyte_generation_id)}`,
      );
  }
  if (expected.syncId !== undefined || expected.changes !== undefined) {
    const meta = metaObject(actual._airbyte_meta);
    if (meta === undefined) {
      diffs.push(`_airbyte_meta: not an object: ${short(actual._airbyte_meta)}`);
    } else {
      if (
        expected.syncId !== undefined &&
        canonicalJson(integerish(expected.syncId)) !== canonicalJson(integerish(meta.sync_id))
      )
        diffs.push(
          `_airbyte_meta.sync_id: expected ${canonicalJson(expected.syncId)}, got ${short(meta.sync_id)}`,
        );
      if (expected.changes !== undefined) {
        const want = canonicalJson(expected.changes);
        const got = canonicalJson(meta.changes ?? []);
        if (want !== got)
          diffs.push(`_airbyte_meta.changes: expected ${want}, got ${short(meta.changes)}`);
      }
    }
  }
  return diffs;
}

/** The user's fields of a dumped row (for messages). */
function fieldsOf(row: DumpedRow): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([key]) => !META.has(key)));
}

function describeRow(
  row: Readonly<Record<string, unknown>>,
  keyPaths: readonly (readonly string[])[],
): string {
  const parts = keyPaths.map((path) => `${path.join('.')}=${short(valueAt(row, path))}`);
  return parts.length > 0 ? `{${parts.join(', ')}}` : short(row);
}

/** The differences between the expected rows and the dumped rows (any order); empty when equal. */
export function diffRecords(
  expected: readonly ExpectedRow[],
  actual: readonly DumpedRow[],
  options: DiffOptions = {},
): string[] {
  const problems: string[] = [];
  const ignore = new Set(options.ignoreFields ?? []);
  if (options.checkRawIds !== false) {
    const seen = new Set<string>();
    for (const row of actual) {
      const id = row._airbyte_raw_id;
      if (typeof id !== 'string' || id === '') {
        problems.push(`row ${short(row)} has no _airbyte_raw_id`);
      } else if (seen.has(id)) {
        problems.push(`_airbyte_raw_id ${id} appears twice`);
      } else {
        seen.add(id);
      }
    }
  }
  const keyPaths =
    options.primaryKey ??
    (expected.length > 0 && expected.every((e) => 'id' in e.data) ? [['id']] : []);
  const groupOf = (row: Readonly<Record<string, unknown>>): string =>
    canonicalJson(keyPaths.map((path) => valueAt(row, path)));
  const groups = new Map<string, { expected: ExpectedRow[]; actual: DumpedRow[] }>();
  const group = (key: string) => {
    let g = groups.get(key);
    if (g === undefined) {
      g = { expected: [], actual: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const row of expected) group(groupOf(row.data)).expected.push(row);
  for (const row of actual) group(groupOf(row)).actual.push(row);

  for (const { expected: want, actual: got } of groups.values()) {
    const left = [...got];
    const unmatched: ExpectedRow[] = [];
    for (const row of want) {
      const at = left.findIndex((candidate) => diffRow(row, candidate, ignore).length === 0);
      if (at >= 0) left.splice(at, 1);
      else unmatched.push(row);
    }
    // Pair what is left in order, so that a changed value reads as a diff, not as two rows.
    const pairs = Math.min(unmatched.length, left.length);
    for (let i = 0; i < pairs; i++) {
      const row = unmatched[i]!;
      problems.push(
        `row ${describeRow(row.data, keyPaths)}: ${diffRow(row, left[i]!, ignore).join('; ')}`,
      );
    }
    for (const row of unmatched.slice(pairs))
      problems.push(`missing row ${describeRow(row.data, keyPaths)}: ${short(row.data)}`);
    for (const row of left.slice(pairs))
      problems.push(`unexpected row ${describeRow(row, keyPaths)}: ${short(fieldsOf(row))}`);
  }
  return problems;
}

/**
 * Checks at-least-once delivery: every expected row is there at least once, and every dumped
 * row is one of the expected rows (duplicates allowed). `optional` rows may be there or not.
 */
export function diffAtLeastOnce(
  required: readonly ExpectedRow[],
  actual: readonly DumpedRow[],
  options: DiffOptions & { readonly optional?: readonly ExpectedRow[] } = {},
): string[] {
  const problems: string[] = [];
  const ignore = new Set(options.ignoreFields ?? []);
  const keyPaths = options.primaryKey ?? [['id']];
  const matches = (row: ExpectedRow, candidate: DumpedRow) =>
    diffRow(row, candidate, ignore).length === 0;
  for (const row of required) {
    if (!actual.some((candidate) => matches(row, candidate)))
      problems.push(`missing row ${describeRow(row.data, keyPaths)}: ${short(row.data)}`);
  }
  const allowed = [...required, ...(options.optional ?? [])];
  for (const candidate of actual) {
    if (!allowed.some((row) => matches(row, candidate)))
      problems.push(
        `unexpected row ${describeRow(candidate, keyPaths)}: ${short(fieldsOf(candidate))}`,
      );
  }
  return problems;
}
