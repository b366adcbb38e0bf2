/**
 * Encodes the record runs the input worker posts with a stream's record encoder
 * (record-encoder.ts), as the InputConsumer receives them: from then on the run, its batch and
 * its spill file hold the encoded lines.
 *
 * The worker's validating scan already found where each record's `data` and `emitted_at` are in
 * its line, and posts that with the run (RecordScans): a record is then encoded from the text of
 * its data (`dataJson`), without a parse. A line the scan was not sure of (a field name with
 * escapes, a `meta`, …) was parsed there for validation and is parsed here again.
 */
import type { DestinationStream } from '../catalog/destination-stream.js';
import { DestkitError } from '../errors/destkit-error.js';
import type { AirbyteRecord, JsonObject } from '../protocol/messages.js';
import type { DestinationRecord } from '../write/destination-writer.js';
import { checkedLine, type RecordEncoder, RecordEncoderError } from '../write/record-encoder.js';
import { type LineRun, runOfLines } from './line-run.js';
import { toDestinationRecord } from './spill-file-reader.js';

/**
 * RecordScans: for line `i` of a run, entries `3i`–`3i+2` are the start and end of its `data`
 * in the line (bytes) and its `emitted_at`; a start of -1: the line must be parsed.
 */
export const SCAN_ENTRIES = 3;

const NEWLINE = 0x0a;
/** The encoded lines of a run are written to a scratch buffer this large (grown when needed)… */
const SCRATCH_BYTES = 256 * 1024;
/** …and one grown past this is dropped after its run. */
const KEEP_SCRATCH_BYTES = 4 * 1024 * 1024;

/** A scanned record: `data` is parsed from its text only when read. */
class ScannedRecord implements DestinationRecord {
  #data: JsonObject | undefined;
  readonly meta = undefined;

  constructor(
    readonly stream: DestinationStream,
    readonly emittedAt: number,
    readonly dataJson: string,
    readonly sizeBytes: number,
  ) {}

  get data(): JsonObject {
    this.#data ??= JSON.parse(this.dataJson) as JsonObject;
    return this.#data;
  }
}

/** Encodes runs, of any stream, one at a time (its scratch memory is shared by all streams). */
export class RunEncoder {
  /** The encoded lines of the run at hand, reused from run to run (grown when needed). */
  #lines = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  #ends = new Int32Array(1024);

  /** The records of `run` (validated lines of `stream`) encoded by `encoder`, as a new run. */
  encode(
    run: LineRun,
    scans: Float64Array,
    stream: DestinationStream,
    encoder: RecordEncoder,
  ): LineRun {
    const { bytes, ends } = run;
    const count = ends.length;
    if (this.#ends.length < count)
      this.#ends = new Int32Array(Math.max(count, 2 * this.#ends.length));
    const outEnds = this.#ends;
    let used = 0;
    for (let i = 0, start = 0; i < count; start = (ends[i] as number) + 1, i++) {
      const end = ends[i] as number;
      const dataStart = scans[SCAN_ENTRIES * i] as number;
      const record =
        dataStart < 0
          ? parsedRecord(bytes, start, end, stream)
          : new ScannedRecord(
              stream,
              scans[SCAN_ENTRIES * i + 2] as number,
              bytes.toString(
                'utf8',
                start + dataStart,
                start + (scans[SCAN_ENTRIES * i + 1] as number),
              ),
              end - start,
            );
      const text = encodeOne(encoder, record);
      // UTF-8 takes at most 3 bytes per UTF-16 code unit: count exactly only when it may not fit.
      if (this.#lines.length - used < text.length * 3) {
        const size = Buffer.byteLength(text, 'utf8');
        if (this.#lines.length - used < size) {
          const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.#lines.length, used + size));
          this.#lines.copy(grown, 0, 0, used);
          this.#lines = grown;
        }
      }
      const written = this.#lines.write(text, used, 'utf8');
      // One newline, at the end (found with memchr, not on the string): else a clear error.
      if (written === 0 || this.#lines.indexOf(NEWLINE, used) !== used + written - 1)
        checkedLine(text, stream.label);
      used += written;
      outEnds[i] = used - 1;
    }
    const encoded = runOfLines(this.#lines.subarray(0, used), outEnds.subarray(0, count));
    // A large record grew the scratch: it is not kept for the rest of the sync.
    if (this.#lines.length > KEEP_SCRATCH_BYTES)
      this.#lines = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    return encoded;
  }
}

function parsedRecord(
  bytes: Buffer,
  start: number,
  end: number,
  stream: DestinationStream,
): DestinationRecord {
  const { record } = JSON.parse(bytes.toString('utf8', start, end)) as { record: AirbyteRecord };
  return toDestinationRecord(record, stream, end - start);
}

/** The connector's line; its failure names the stream (a destkit error passes as it is). */
function encodeOne(encoder: RecordEncoder, record: DestinationRecord): string {
  const { label, descriptor } = record.stream;
  try {
    const text = encoder.encode(record);
    return typeof text === 'string' ? text : checkedLine(text, label);
  } catch (error) {
    if (error instanceof DestkitError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RecordEncoderError(`the record encoder of stream ${label} failed: ${message}`, {
      cause: error,
      stream: descriptor,
    });
  }
}
