/**
 * One record as one JSONL line (pure apart from the random raw id):
 * `{"_airbyte_raw_id","_airbyte_extracted_at","_airbyte_generation_id","_airbyte_meta","_airbyte_data"}`.
 * `_airbyte_extracted_at` is the record's `emitted_at` (epoch ms) as an ISO-8601 UTC string
 * with millisecond precision (`2023-11-14T22:13:20.000Z`); an emitted_at outside the range of
 * a JavaScript Date is written as null with a DESTINATION_SERIALIZATION_ERROR change.
 *
 * The line is exactly `JSON.stringify` of that object plus `\n` (but for `_airbyte_data` taken
 * as the input spelled it, see `dataText`), built from pre-serialized constant parts: only
 * `_airbyte_data`, a raw id given by the caller and an `_airbyte_meta` with changes go through
 * `JSON.stringify`. (Serializing an object is the concatenation of its
 * serialized members in key order, so the bytes are the same; a property test holds the two
 * side by side.)
 */
import type { RecordMetaChange } from '../../src/protocol/messages.js';
import { airbyteMeta, newRawId } from '../../src/write/airbyte-meta.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';
import { isoTimestamp } from '../../src/write/iso-timestamp.js';

const EXTRACTED_AT_NULLED: readonly RecordMetaChange[] = Object.freeze([
  {
    field: '_airbyte_extracted_at',
    change: 'NULLED',
    reason: 'DESTINATION_SERIALIZATION_ERROR',
  },
]);

/**
 * `emitted_at` as an ISO-8601 UTC string, or null when no Date can represent it — the same
 * string as `new Date(emittedAtMs).toISOString()`.
 */
export const extractedAt = isoTimestamp;

/** The serialized constant middle parts of the last (generation id, sync id) pair seen. */
let partsGenerationId: unknown = null;
let partsSyncId: unknown = null;
/** `,"_airbyte_generation_id":G,"_airbyte_meta":` */
let generationPart = ',"_airbyte_generation_id":null,"_airbyte_meta":';
/** The same followed by a meta without changes and the data key. */
let noChangesPart =
  ',"_airbyte_generation_id":null,"_airbyte_meta":{"sync_id":null,"changes":[]},"_airbyte_data":';
/** Whether both ids are numbers or null, as typed; anything else takes the generic path. */
let partsPlain = true;

function isNumberOrNull(value: unknown): value is number | null {
  return value === null || typeof value === 'number';
}

function refreshParts(generationId: unknown, syncId: unknown): void {
  partsGenerationId = generationId;
  partsSyncId = syncId;
  partsPlain = isNumberOrNull(generationId) && isNumberOrNull(syncId);
  if (!partsPlain) return;
  // JSON.stringify of a number or null: its digits, or null when it is not finite.
  generationPart = `,"_airbyte_generation_id":${JSON.stringify(generationId)},"_airbyte_meta":`;
  noChangesPart = `${generationPart}{"sync_id":${JSON.stringify(syncId)},"changes":[]},"_airbyte_data":`;
}

/** The line as `JSON.stringify` of the whole object: the definition, for unusual values. */
function genericLine(record: DestinationRecord, rawId: string, at: string | null): string {
  return `${JSON.stringify({
    _airbyte_raw_id: rawId,
    _airbyte_extracted_at: at,
    _airbyte_generation_id: record.stream.generationId,
    _airbyte_meta: airbyteMeta(record, at === null ? EXTRACTED_AT_NULLED : []),
    _airbyte_data: record.data,
  })}\n`;
}

/**
 * `_airbyte_data` as JSON text: the input's own text of it when the record has it (`dataJson`,
 * when records are encoded as they arrive), else `JSON.stringify`. Both are the same value; the
 * input's text may spell it differently (whitespace, escapes, a number's digits — kept in full,
 * where `JSON.parse` would round past a double's precision). A carriage return can only be
 * whitespace there, but some line readers end a line at one: such a text is serialized anew.
 */
function dataText(record: DestinationRecord): string | undefined {
  const json = record.dataJson;
  if (json !== undefined && !json.includes('\r')) return json;
  return JSON.stringify(record.data) as string | undefined;
}

/**
 * The line of one record up to its data text (`{"_airbyte_raw_id":…,"_airbyte_data":`), the line
 * being that, the data text and `}\n`; undefined when the ids are not plain numbers (the line
 * is then `genericLine`). `quotedRawId` is the raw id already serialized as a JSON string.
 */
function beforeData(record: DestinationRecord, quotedRawId: string): string | undefined {
  const at = extractedAt(record.emittedAt);
  const { generationId, syncId } = record.stream;
  if (generationId !== partsGenerationId || syncId !== partsSyncId) {
    refreshParts(generationId, syncId);
  }
  if (!partsPlain) return undefined;
  const changes = record.meta?.changes;
  let middle = noChangesPart;
  if (at === null || !(changes == null || (Array.isArray(changes) && changes.length === 0))) {
    const meta = airbyteMeta(record, at === null ? EXTRACTED_AT_NULLED : []);
    middle = `${generationPart}${JSON.stringify(meta)},"_airbyte_data":`;
  }
  // An ISO string has nothing to escape.
  return at === null
    ? `{"_airbyte_raw_id":${quotedRawId},"_airbyte_extracted_at":null${middle}`
    : `{"_airbyte_raw_id":${quotedRawId},"_airbyte_extracted_at":"${at}"${middle}`;
}

const AFTER_DATA = '}\n';

/** The line of one record; `quotedRawId` is the raw id already serialized as a JSON string. */
function line(record: DestinationRecord, rawId: string, quotedRawId: string): string {
  const before = beforeData(record, quotedRawId);
  const data = before === undefined ? undefined : dataText(record);
  // `data` outside its type (e.g. undefined): JSON.stringify of the object leaves the key out.
  if (before === undefined || data === undefined) {
    return genericLine(record, rawId, extractedAt(record.emittedAt));
  }
  return `${before}${data}${AFTER_DATA}`;
}

/**
 * The line of a record around its data text, for `RecordEncoder.encodeAround`: the same line as
 * `jsonlLine` (with its own random raw id), the data text being the input's (`dataJson`).
 */
export function jsonlLineAround(
  record: DestinationRecord,
  rawId?: string,
): readonly [string, string] | undefined {
  const before =
    rawId === undefined
      ? beforeData(record, `"${newRawId()}"`) // a UUID has nothing to escape
      : beforeData(record, JSON.stringify(rawId));
  return before === undefined ? undefined : [before, AFTER_DATA];
}

/** The line of one record, newline included. */
export function jsonlLine(record: DestinationRecord, rawId?: string): string {
  if (rawId !== undefined) return line(record, rawId, JSON.stringify(rawId));
  const id = newRawId();
  return line(record, id, `"${id}"`); // a UUID has nothing to escape
}

/** A batch's bytes grow in chunks: the first this big, each next one as big as all before it. */
const FIRST_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNK_BYTES = 8 * 1024 * 1024;
const NO_BYTES = Buffer.alloc(0);

/** The lines of some records as one buffer, and how many records it holds. */
export function jsonlLines(records: Iterable<DestinationRecord>): {
  bytes: Buffer;
  records: number;
} {
  // Each line is encoded into a chunk as soon as it is made, so no line outlives its record;
  // the chunks are copied once, into one buffer of the exact size, at the end.
  const chunks: Buffer[] = [];
  let chunk = NO_BYTES;
  let used = 0;
  let total = 0;
  let count = 0;
  for (const record of records) {
    const id = newRawId();
    const text = line(record, id, `"${id}"`); // a UUID has nothing to escape
    count++;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: count exactly only when it may not fit.
    if (chunk.length - used < text.length * 3) {
      const size = Buffer.byteLength(text, 'utf8');
      if (chunk.length - used < size) {
        if (used > 0) chunks.push(chunk.subarray(0, used));
        total += used;
        const next = Math.min(Math.max(total, FIRST_CHUNK_BYTES), MAX_CHUNK_BYTES);
        chunk = Buffer.allocUnsafe(Math.max(size, next));
        used = 0;
      }
    }
    used += chunk.write(text, used, 'utf8');
  }
  if (used > 0) chunks.push(chunk.subarray(0, used));
  total += used;
  return { bytes: Buffer.concat(chunks, total), records: count };
}
