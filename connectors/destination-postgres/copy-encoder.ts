/**
 * Encodes records as lines of PostgreSQL's COPY text format (pure apart from the random raw
 * id): columns separated by a tab, `\N` for null, and backslash, newline, carriage return and
 * tab escaped with a backslash. Column order: `_airbyte_raw_id`, `_airbyte_extracted_at`,
 * `_airbyte_meta`, `_airbyte_generation_id`, then the stream's columns in schema order.
 *
 * Values are typed by the schema layer (typeRecord with POSTGRES_LIMITS), then written as the
 * input text of the column's type in the target table: text columns take any scalar as its
 * text and containers as JSON text; jsonb columns take the JSON text of any value.
 *
 * What PostgreSQL cannot store: text and jsonb cannot hold U+0000 (NUL), and jsonb rejects an
 * unpaired UTF-16 surrogate (which UTF-8 cannot encode either). Such a field is nulled with
 * `{field, change: NULLED, reason: DESTINATION_SERIALIZATION_ERROR}` — never silently altered.
 * The same characters inside `_airbyte_meta` (a field name with a NUL, say) are replaced by
 * U+FFFD there, since the meta column must always be written.
 */
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { RecordMetaChange } from '../../src/protocol/messages.js';
import {
  type CoercedValue,
  POSTGRES_LIMITS,
  type StreamColumns,
  typeRecord,
} from '../../src/schema/index.js';
import { type AirbyteMeta, airbyteMeta, newRawId } from '../../src/write/airbyte-meta.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';
import { isoTimestamp } from '../../src/write/iso-timestamp.js';
import { isJsonColumn, type PgType } from './postgres-types.js';

export const COPY_NULL = '\\N';

/** Characters text and jsonb cannot hold: NUL and unpaired surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE_CHAR = /[\u0000\p{Cs}]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const UNSTORABLE_CHARS = /[\u0000\p{Cs}]/gu;
/** In JSON text: a `\u0000` or lone-surrogate escape preceded by an even number of backslashes. */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

const COPY_SPECIAL = /[\\\n\r\t]/;
/** Anything a string field needs a closer look for: escaping, or not storable at all. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what is looked for.
const SPECIAL_OR_UNSTORABLE = /[\\\n\r\t\u0000\p{Cs}]/u;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A value as one COPY text field (escaped); `\N` stays the null marker only when passed as is. */
export function copyEscape(text: string): string {
  return COPY_SPECIAL.test(text)
    ? text.replace(COPY_SPECIAL_ALL, (ch) => COPY_ESCAPES[ch] ?? ch)
    : text;
}

/** Reads one COPY text field back (the inverse of copyEscape); for tests and tools. */
export function copyUnescape(field: string): string | null {
  if (field === COPY_NULL) return null;
  return field.replace(/\\(.)/gs, (_m, ch: string) => {
    switch (ch) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      default:
        return ch;
    }
  });
}

/** True when PostgreSQL text cannot hold `text` (it has a NUL or an unpaired surrogate). */
export function isUnstorableText(text: string): boolean {
  return UNSTORABLE_CHAR.test(text);
}

/** True when jsonb would reject this JSON text (a NUL or lone-surrogate escape). */
export function isUnstorableJson(json: string): boolean {
  return json.includes('\\u') && UNSTORABLE_ESCAPE.test(json);
}

/** The input text of a value for a text-like (non-JSON) column, or undefined when unstorable. */
export function renderText(value: CoercedValue): string | undefined {
  switch (typeof value) {
    case 'string':
      return isUnstorableText(value) ? undefined : value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      // Arrays and objects: JSON text, in which NUL and lone surrogates are escapes (storable).
      return JSON.stringify(value);
  }
}

/** The JSON text of a value for a jsonb column, or undefined when jsonb cannot hold it. */
export function renderJson(value: CoercedValue): string | undefined {
  const text = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  if (text === undefined) return undefined;
  return isUnstorableJson(text) ? undefined : text;
}

/** 0001-01-01T00:00:00.000Z (Date.UTC reads years below 100 as 19xx, so set it explicitly). */
const EARLIEST_MS = new Date(0).setUTCFullYear(1, 0, 1);
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** `emitted_at` as timestamptz input text, or undefined outside years 0001–9999. */
export function extractedAtText(emittedAtMs: number): string | undefined {
  const time = Math.trunc(emittedAtMs);
  if (!(time >= EARLIEST_MS && time <= LATEST_MS)) return undefined;
  return isoTimestamp(time) ?? undefined;
}

/** `changes` (created when undefined) with a DESTINATION_SERIALIZATION_ERROR change for `field`. */
function withChange(changes: RecordMetaChange[] | undefined, field: string): RecordMetaChange[] {
  const out = changes ?? [];
  out.push({ field, change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' });
  return out;
}

/** `_airbyte_meta` as JSON text jsonb accepts: unstorable characters become U+FFFD. */
export function metaJson(meta: AirbyteMeta): string {
  const text = JSON.stringify(meta);
  if (!isUnstorableJson(text)) return text;
  return JSON.stringify(storable(meta));
}

/** A copy of a JSON value with unstorable characters in strings and keys replaced by U+FFFD. */
function storable(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UNSTORABLE_CHARS, '\uFFFD');
  if (Array.isArray(value)) return value.map(storable);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k.replace(UNSTORABLE_CHARS, '\uFFFD')] = storable(v);
  }
  return out;
}

/**
 * Encodes the records of one stream for one target table. `columnTypes[i]` is the type of
 * `columns.columns[i]` in the target table.
 */
export class CopyRowEncoder {
  private readonly json: readonly boolean[];
  private readonly generation: string;
  private noChangesMeta: string | undefined;
  private noChangesSyncId: number | null = null;

  constructor(
    readonly stream: DestinationStream,
    readonly columns: StreamColumns,
    columnTypes: readonly PgType[],
  ) {
    this.json = columns.columns.map((_c, i) => isJsonColumn(columnTypes[i] ?? 'text'));
    this.generation = stream.generationId === null ? COPY_NULL : String(stream.generationId);
  }

  /** One record as one COPY line, newline included. Throws KeyTooLargeError only. */
  encode(record: DestinationRecord, rawId: string = newRawId()): string {
    const typed = typeRecord(record, this.columns, POSTGRES_LIMITS);
    let extra: RecordMetaChange[] | undefined;
    let line = '';
    const { columns } = this.columns;
    for (let i = 0; i < columns.length; i++) {
      const value = typed.values[i];
      let field = COPY_NULL;
      if (value !== null && value !== undefined) {
        // Most strings hold nothing to escape and nothing unstorable: one test, as they are.
        if (typeof value === 'string' && !this.json[i] && !SPECIAL_OR_UNSTORABLE.test(value)) {
          line += `\t${value}`;
          continue;
        }
        const text = this.json[i] ? renderJson(value) : renderText(value);
        if (text === undefined) {
          extra = withChange(extra, columns[i]?.name ?? '');
        } else {
          field = copyEscape(text);
        }
      }
      line += `\t${field}`;
    }
    let extractedAt = extractedAtText(record.emittedAt);
    if (extractedAt === undefined) {
      extra = withChange(extra, '_airbyte_extracted_at');
      extractedAt = COPY_NULL;
    }
    const meta =
      extra === undefined ? typed.meta : airbyteMeta(record, [...typed.changes, ...extra]);
    return `${rawId}\t${extractedAt}\t${this.metaField(meta)}\t${this.generation}${line}\n`;
  }

  /** `_airbyte_meta` as a COPY field; the one without changes (most records) is made once. */
  private metaField(meta: AirbyteMeta): string {
    if (meta.changes.length !== 0) return copyEscape(metaJson(meta));
    if (this.noChangesMeta === undefined || this.noChangesSyncId !== meta.sync_id) {
      this.noChangesMeta = copyEscape(metaJson(meta));
      this.noChangesSyncId = meta.sync_id;
    }
    return this.noChangesMeta;
  }
}
