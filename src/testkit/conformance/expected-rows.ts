/**
 * The row a destination must hold for a record it was sent.
 *
 * - Untyped destinations keep the record's data as sent (undeclared fields included) and
 *   `_airbyte_meta.changes` is the source's changes.
 * - Typed destinations hold what destkit's typing layer makes of the record (docs/typing.md):
 *   one column per declared top-level property, named by the destination's NamingRules, values
 *   coerced (Integer as bigint, temporal values as canonical text, JSON kinds as they are),
 *   invalid values nulled with a DESTINATION_SERIALIZATION_ERROR change after the source's
 *   changes, undeclared fields dropped, size limits applied.
 * In both, `_airbyte_extracted_at` is the record's `emitted_at`, `_airbyte_generation_id` and
 * `_airbyte_meta.sync_id` come from the catalog the record was sent with.
 */
import type { DestinationStream } from '../../catalog/destination-stream.js';
import type { NamingRules } from '../../schema/naming-rules.js';
import { type DestinationLimits, typeRecord } from '../../schema/record-typer.js';
import { streamColumns } from '../../schema/stream-columns.js';
import { airbyteMeta } from '../../write/airbyte-meta.js';
import type { DestinationRecord } from '../../write/destination-writer.js';
import type { ExpectedRow } from '../record-differ.js';
import type { SentRecord } from './test-stream.js';

/** How a typed destination names and types columns. */
export interface TypingOptions {
  /** The destination's identifier rules. Default: names kept as they are. */
  readonly naming?: NamingRules;
  /** The destination's value and size limits. Default: none beyond the type rules. */
  readonly limits?: DestinationLimits;
}

const ANY_CODE_POINT = /^.$/su;

/** Rules that keep every name as it is (destinations whose columns are the field names). */
export const KEEP_NAMES: NamingRules = Object.freeze({
  dialect: 'field names',
  maxLength: Number.POSITIVE_INFINITY,
  lengthUnit: 'chars',
  caseFolding: 'none',
  caseInsensitive: false,
  transliterate: false,
  allowedChar: ANY_CODE_POINT,
  firstChar: ANY_CODE_POINT,
  reservedWords: new Set<string>(),
  quoteIdentifier: (identifier: string) => JSON.stringify(identifier),
});

const NO_LIMITS: DestinationLimits = Object.freeze({ values: {}, sizes: {} });

function destinationRecord(sent: SentRecord, stream: DestinationStream): DestinationRecord {
  return {
    stream,
    data: sent.data,
    emittedAt: sent.emittedAt,
    meta: sent.meta,
    sizeBytes: Buffer.byteLength(JSON.stringify(sent.message)),
  };
}

/** The expected row of one sent record. `typing` undefined: an untyped destination. */
export function expectedRow(sent: SentRecord, typing: TypingOptions | undefined): ExpectedRow {
  const stream = sent.stream.resolved();
  const record = destinationRecord(sent, stream);
  const common = {
    extractedAt: sent.emittedAt,
    generationId: stream.generationId,
    syncId: stream.syncId,
  };
  if (typing === undefined) {
    return { ...common, data: { ...sent.data }, changes: airbyteMeta(record).changes };
  }
  const columns = streamColumns(stream, typing.naming ?? KEEP_NAMES);
  const typed = typeRecord(record, columns, typing.limits ?? NO_LIMITS);
  const data: Record<string, unknown> = {};
  columns.columns.forEach((column, i) => {
    data[column.column] = typed.values[i] ?? null;
  });
  return { ...common, data, changes: typed.meta.changes };
}

/** The column a field of the stream maps to (the field itself when untyped). */
export function columnOf(
  stream: DestinationStream,
  field: string,
  typing: TypingOptions | undefined,
): string {
  if (typing === undefined) return field;
  const column = streamColumns(stream, typing.naming ?? KEEP_NAMES).columns.find(
    (c) => c.name === field,
  );
  return column?.column ?? field;
}
