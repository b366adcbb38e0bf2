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

const CARRIAGE_RETURN = 0x0d;

/**
 * A scanned record: the text of its `data` is decoded from the input line, and `data` parsed
 * from that text, only when read, while the run's bytes are there: during `encodeAround`. Before
 * `encode` the text is decoded (`keepDataText`), so that a record stays whole as it always was.
 */
class ScannedRecord implements DestinationRecord {
  #dataJson: string | undefined;
  #data: JsonObject | undefined;
  readonly meta = undefined;

  constructor(
    readonly stream: DestinationStream,
    readonly emittedAt: number,
    private readonly bytes: Buffer,
    private readonly dataStart: number,
    private readonly dataEnd: number,
    readonly sizeBytes: number,
  ) {}

  get dataJson(): string {
    return this.keepDataText().#dataJson as string;
  }

  get data(): JsonObject {
    this.#data ??= JSON.parse(this.dataJson) as JsonObject;
    return this.#data;
  }

  /** Decodes the data's text now, so that it no longer needs the run's bytes. */
  keepDataText(): this {
    this.#dataJson ??= this.bytes.toString('utf8', this.dataStart, this.dataEnd);
    return this;
  }
}

/** Encodes runs, of any stream, one at a time (its scratch memory is shared by all streams). */
export class RunEncoder {
  /** The encoded lines of the run at hand, reused from run to run (grown when needed). */
  #lines = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  #ends = new Int32Array(1024);
  /** Bytes of `#lines` written for the run at hand. */
  #used = 0;

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
    // The framed form needs data texts without a carriage return: the run is searched once (a
    // memchr), and each record's data only when the run has one.
    const framed = encoder.encodeAround !== undefined;
    const runHasCr = framed && bytes.indexOf(CARRIAGE_RETURN) >= 0;
    this.#used = 0;
    for (let i = 0, start = 0; i < count; start = (ends[i] as number) + 1, i++) {
      const end = ends[i] as number;
      const dataStart = scans[SCAN_ENTRIES * i] as number;
      if (dataStart < 0) {
        this.#put(encodeOne(encoder, parsedRecord(bytes, start, end, stream)), stream);
      } else {
        const from = start + dataStart;
        const to = start + (scans[SCAN_ENTRIES * i + 1] as number);
        const record = new ScannedRecord(
          stream,
          scans[SCAN_ENTRIES * i + 2] as number,
          bytes,
          from,
          to,
          end - start,
        );
        const parts =
          framed && !(runHasCr && bytes.subarray(from, to).includes(CARRIAGE_RETURN))
            ? encodeAroundOne(encoder, record)
            : undefined;
        if (parts === undefined) this.#put(encodeOne(encoder, record.keepDataText()), stream);
        else this.#putAround(parts, bytes, from, to, stream);
      }
      outEnds[i] = this.#used - 1;
    }
    const used = this.#used;
    const encoded = runOfLines(this.#lines.subarray(0, used), outEnds.subarray(0, count));
    // A large record grew the scratch: it is not kept for the rest of the sync.
    if (this.#lines.length > KEEP_SCRATCH_BYTES)
      this.#lines = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    return encoded;
  }

  /** Room for `size` more bytes in the scratch. */
  #reserve(size: number): void {
    const used = this.#used;
    if (this.#lines.length - used >= size) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.#lines.length, used + size));
    this.#lines.copy(grown, 0, 0, used);
    this.#lines = grown;
  }

  /** Appends an encoded line; fails naming the stream unless it holds one newline, at its end. */
  #put(text: string, stream: DestinationStream): void {
    const used = this.#used;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: count exactly only when it may not fit.
    if (this.#lines.length - used < text.length * 3) this.#reserve(Buffer.byteLength(text, 'utf8'));
    const written = this.#lines.write(text, used, 'utf8');
    // One newline, at the end (found with memchr, not on the string): else a clear error.
    if (written === 0 || this.#lines.indexOf(NEWLINE, used) !== used + written - 1)
      checkedLine(text, stream.label);
    this.#used = used + written;
  }

  /**
   * Appends `before`, the data's bytes from the input line, and `after`. The data holds no
   * newline (it comes from one line); `after` must end with the line's one newline, and
   * `before` hold none, else the sync fails naming the stream, as in `#put`.
   */
  #putAround(
    parts: readonly [string, string],
    bytes: Buffer,
    from: number,
    to: number,
    stream: DestinationStream,
  ): void {
    const [before, after] = parts;
    if (typeof before !== 'string' || typeof after !== 'string') {
      throw new RecordEncoderError(
        `the record encoder of stream ${stream.label} returned line parts that are not two strings`,
        { stream: stream.descriptor },
      );
    }
    if (before.includes('\n')) checkedLine(`${before}\n`, stream.label);
    if (after.length === 0 || after.indexOf('\n') !== after.length - 1)
      checkedLine(after, stream.label);
    this.#reserve(3 * (before.length + after.length) + (to - from));
    const lines = this.#lines;
    let at = this.#used;
    at += lines.write(before, at, 'utf8');
    at += bytes.copy(lines, at, from, to);
    at += lines.write(after, at, 'utf8');
    this.#used = at;
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

/** The connector's parts of a line; its failure names the stream, as `encodeOne`. */
function encodeAroundOne(
  encoder: RecordEncoder,
  record: DestinationRecord,
): readonly [string, string] | undefined {
  try {
    return encoder.encodeAround?.(record);
  } catch (error) {
    throw encoderFailure(error, record);
  }
}

/** The connector's line; its failure names the stream (a destkit error passes as it is). */
function encodeOne(encoder: RecordEncoder, record: DestinationRecord): string {
  try {
    const text = encoder.encode(record);
    return typeof text === 'string' ? text : checkedLine(text, record.stream.label);
  } catch (error) {
    throw encoderFailure(error, record);
  }
}

function encoderFailure(error: unknown, record: DestinationRecord): Error {
  if (error instanceof DestkitError) return error;
  const { label, descriptor } = record.stream;
  const message = error instanceof Error ? error.message : String(error);
  return new RecordEncoderError(`the record encoder of stream ${label} failed: ${message}`, {
    cause: error,
    stream: descriptor,
  });
}
