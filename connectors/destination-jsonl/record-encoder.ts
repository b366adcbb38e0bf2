/**
 * The JSONL record encoder (src/write/record-encoder.ts): the input worker thread turns each
 * record into its JSONL line, the same line `processRecords` makes (`jsonlLine`), so that the
 * main thread only appends bytes.
 */
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { RecordEncoder } from '../../src/write/record-encoder.js';
import { jsonlLine } from './jsonl-line.js';

const ENCODER: RecordEncoder = { encode: (record) => jsonlLine(record) };

export function createRecordEncoder(_stream: DestinationStream): RecordEncoder {
  return ENCODER;
}

/**
 * This module's URL for `DestinationWriter.recordEncoder`. A worker thread runs JavaScript only:
 * when destkit's own tests run the connector from its TypeScript sources, the built module is
 * named instead.
 */
export const RECORD_ENCODER_URL: URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/connectors/destination-jsonl/record-encoder.js', import.meta.url)
  : // By name, not `import.meta.url`: in the connector's bundle this code sits in a shared chunk.
    new URL('./record-encoder.js', import.meta.url);
