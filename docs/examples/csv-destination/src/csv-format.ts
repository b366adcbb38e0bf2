/**
 * The CSV format of the connector (RFC 4180): a header line, then one line per record with the
 * four meta columns and `_airbyte_data`, the record's data as JSON text. JSON text never holds a
 * raw line break, so every record is exactly one line — a crash can only cut the last one.
 */
import { airbyteMeta, type DestinationRecord, newRawId } from 'destkit';

export const CSV_COLUMNS = [
  '_airbyte_raw_id',
  '_airbyte_extracted_at',
  '_airbyte_generation_id',
  '_airbyte_meta',
  '_airbyte_data',
] as const;

/** One field, quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

export const CSV_HEADER = csvLine(CSV_COLUMNS);

/** The line of one record. */
export function recordLine(record: DestinationRecord): string {
  return csvLine([
    newRawId(),
    new Date(record.emittedAt).toISOString(),
    record.stream.generationId === null ? '' : String(record.stream.generationId),
    JSON.stringify(airbyteMeta(record)),
    JSON.stringify(record.data),
  ]);
}

/** The fields of one line (without its line break). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  fields.push(field);
  return fields;
}
