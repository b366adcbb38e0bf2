/**
 * One record as one JSONL line (pure apart from the random raw id):
 * `{"_airbyte_raw_id","_airbyte_extracted_at","_airbyte_generation_id","_airbyte_meta","_airbyte_data"}`.
 * `_airbyte_extracted_at` is the record's `emitted_at` (epoch ms) as an ISO-8601 UTC string
 * with millisecond precision (`2023-11-14T22:13:20.000Z`); an emitted_at outside the range of
 * a JavaScript Date is written as null with a DESTINATION_SERIALIZATION_ERROR change.
 */
import type { RecordMetaChange } from '../../src/protocol/messages.js';
import { airbyteMeta, newRawId } from '../../src/write/airbyte-meta.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';

const EXTRACTED_AT_NULLED: readonly RecordMetaChange[] = Object.freeze([
  {
    field: '_airbyte_extracted_at',
    change: 'NULLED',
    reason: 'DESTINATION_SERIALIZATION_ERROR',
  },
]);

/** `emitted_at` as an ISO-8601 UTC string, or null when no Date can represent it. */
export function extractedAt(emittedAtMs: number): string | null {
  const date = new Date(emittedAtMs);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The line of one record, newline included. */
export function jsonlLine(record: DestinationRecord, rawId: string = newRawId()): string {
  const at = extractedAt(record.emittedAt);
  return `${JSON.stringify({
    _airbyte_raw_id: rawId,
    _airbyte_extracted_at: at,
    _airbyte_generation_id: record.stream.generationId,
    _airbyte_meta: airbyteMeta(record, at === null ? EXTRACTED_AT_NULLED : []),
    _airbyte_data: record.data,
  })}\n`;
}

/** The lines of some records as one buffer, and how many records it holds. */
export function jsonlLines(records: Iterable<DestinationRecord>): {
  bytes: Buffer;
  records: number;
} {
  const lines: string[] = [];
  for (const record of records) lines.push(jsonlLine(record));
  return { bytes: Buffer.from(lines.join(''), 'utf8'), records: lines.length };
}
