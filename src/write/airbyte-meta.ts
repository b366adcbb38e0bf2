/**
 * The meta columns every destination writes with a record (PROTOCOL.md §3):
 * `_airbyte_raw_id` (a random UUID), `_airbyte_extracted_at` (the record's emitted_at),
 * `_airbyte_meta` (`{sync_id, changes}` — the source's changes followed by the destination's),
 * `_airbyte_generation_id` (the catalog's generation, null before refreshes).
 */
import { randomUUID } from 'node:crypto';
import type { RecordMetaChange } from '../protocol/messages.js';
import type { DestinationRecord } from './destination-writer.js';

export const META_COLUMNS = [
  '_airbyte_raw_id',
  '_airbyte_extracted_at',
  '_airbyte_meta',
  '_airbyte_generation_id',
] as const;

export interface AirbyteMeta {
  sync_id: number | null;
  changes: RecordMetaChange[];
}

/** `_airbyte_meta` of a record: source changes kept, destination changes appended. */
export function airbyteMeta(
  record: DestinationRecord,
  destinationChanges: readonly RecordMetaChange[] = [],
): AirbyteMeta {
  const source = record.meta?.changes ?? [];
  return {
    sync_id: record.stream.syncId,
    changes: destinationChanges.length === 0 ? [...source] : [...source, ...destinationChanges],
  };
}

export function newRawId(): string {
  return randomUUID();
}
