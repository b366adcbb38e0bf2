/**
 * The input worker thread (knob `input_workers` = 1): reads the input (its own file descriptor,
 * or the chunks the InputConsumer posts), splits it into lines, validates every line with the
 * same rules the main thread uses (a plain record line by `recordLineKey`, which does not build
 * its value; any other line by `classifyMessage` of its JSON value, the lines of a chunk parsed
 * together by `parseLines`, one by one if that fails), and groups each stream's records into
 * line runs (line-run.ts) exactly as the in-thread consumer groups them: a stream's run is posted
 * when it reaches `streamSendBytes`, all runs when they reach `totalSendBytes`, and before any
 * message that needs them (a STREAM state or a status: its stream's; any other state: all, oldest
 * first). Other messages are posted as lines, in input order, for the main thread to parse and
 * act on. Parsing here is validation only: its objects die in this thread; the record is parsed
 * again, once, where the connector consumes it.
 *
 * The first invalid line (a broken message, a record of a stream not in the catalog or after its
 * stream's terminal status, a line too long) stops the worker: the packet carries what came
 * before it and the error, which the main thread raises after routing them — the same error, for
 * the same line, as the in-thread consumer.
 *
 * Reading its own descriptor, the worker keeps reading while the main thread is busy (a
 * connector parsing a batch), up to `maxUnacknowledged` bytes of posted, unrouted lines.
 *
 * With a record encoder (`init.encoder`, see record-encoder.ts) each record is encoded here by
 * its stream's encoder, and the runs hold the encoded lines: the main thread does not parse the
 * record at all, it only moves bytes.
 */
import { createReadStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { LineTooLongError, MalformedMessageError } from '../errors/input-errors.js';
import {
  classifyMessage,
  type InputMessage,
  parseInputLine,
  type RecordInput,
} from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import { describeStream, type JsonObject } from '../protocol/messages.js';
import { parseLines } from '../protocol/parse-lines.js';
import {
  recordLineKey,
  type ScannedRecordLine,
  scanRecordLine,
} from '../protocol/record-line-scanner.js';
import type { DestinationRecord } from '../write/destination-writer.js';
import {
  checkedLine,
  type RecordEncoder,
  type RecordEncoderModule,
} from '../write/record-encoder.js';
import type {
  InputPacket,
  InputWorkerError,
  InputWorkerInit,
  InputWorkerRequest,
  InputWorkerStart,
  PacketItem,
} from './input-worker-protocol.js';
import { concernedStreams, PendingLines } from './pending-lines.js';

const port = parentPort;
if (port === null) throw new Error('input-worker.js runs only as a worker thread');
/** Set by the first message (the thread may be started before its sync knows its streams). */
let init: InputWorkerInit;
let streams: Map<string, number>;
let splitter: LineSplitter;
/** File reads: large enough to be cheap, small enough that pending lines hold little. */
const FILE_READ_BYTES = 256 * 1024;

class StopAt {
  constructor(readonly error: InputWorkerError) {}
}

/** Records read and not posted yet, by stream position (views of the input chunks). */
const pending = new PendingLines<number, undefined>();
/** Streams whose terminal status (COMPLETE or INCOMPLETE) was read. */
const ended = new Set<number>();

/** Each stream's record encoder, by position, when records are encoded here. */
let encoders: readonly RecordEncoder[] | undefined;
/** The catalog streams by position, when records are encoded here. */
let encoderStreams: readonly DestinationStream[] = [];
/** Set when the encoder module could not be loaded: the first answer reports it. */
let encoderFailure: InputWorkerError | undefined;
/** Input bytes of each stream's pending (encoded) records, by position. */
const pendingInputBytes: number[] = [];
/**
 * Encoded lines are written here, back to back, and pending lines are views of it (a new slab
 * when full; the views keep the old one), so that a line costs no allocation of its own.
 */
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;
const SLAB_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

let items: PacketItem[] = [];
let transfer: ArrayBuffer[] = [];
let itemBytes = 0;
let stopped = false;

/** Posts the runs due (see PendingLines.due). */
function postRuns(only?: number): void {
  for (const stream of pending.due(only)) {
    const taken = pending.take(stream);
    if (taken === undefined) continue;
    const count = taken.run.ends.length;
    if (encoders === undefined) {
      items.push({ kind: 'run', stream, buffer: taken.buffer, count });
    } else {
      const inputBytes = pendingInputBytes[stream] ?? 0;
      pendingInputBytes[stream] = 0;
      items.push({ kind: 'run', stream, buffer: taken.buffer, count, inputBytes });
    }
    transfer.push(taken.buffer);
    itemBytes += taken.bytes;
  }
}

/**
 * Validates the lines of a chunk and acts on each, in order. A plain record line is checked by
 * `scan` without being parsed (`undefined`: not sure) and goes to `onScanned`; the other lines
 * are parsed together when they all parse, one by one otherwise (which names the first broken
 * one): their records go to `onRecord`, any other message to `consume`.
 */
function validateLines<S>(
  lines: readonly Line[],
  scan: (line: Buffer) => S | undefined,
  onScanned: (scanned: S, line: Line) => void,
  onRecord: (message: RecordInput, line: Line) => void,
): void {
  const count = lines.length;
  const scans = new Array<S | undefined>(count);
  const unsure: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const scanned = scan((lines[i] as Line).bytes);
    scans[i] = scanned;
    if (scanned === undefined) unsure.push((lines[i] as Line).bytes);
  }
  const values = unsure.length > 1 ? parseLines(unsure) : undefined;
  for (let i = 0, u = 0; i < count; i++) {
    const line = lines[i] as Line;
    const scanned = scans[i];
    if (scanned !== undefined) {
      onScanned(scanned, line);
      continue;
    }
    const { bytes, lineNumber } = line;
    const message =
      values === undefined
        ? parseInputLine(bytes, lineNumber)
        : classifyMessage(values[u], bytes, lineNumber);
    u++;
    if (message.kind === 'record') onRecord(message, line);
    else consume(message, bytes, lineNumber);
  }
}

/** Validates and routes the lines of a chunk: records as they are, or encoded. */
function consumeLines(lines: readonly Line[]): void {
  if (encoders === undefined) {
    validateLines(lines, recordLineKey, consumeRecord, (message, line) =>
      consumeRecord(message.streamKey, line),
    );
    return;
  }
  // A plain record line is not parsed here either: its encoder gets the text of its data
  // (`dataJson`), and its `data` only when it reads it.
  validateLines(lines, scanRecordLine, encodeScanned, encodeParsed);
}

function encodeScanned(scan: ScannedRecordLine, { bytes, lineNumber }: Line): void {
  const stream = recordStream(scan.key, bytes, lineNumber);
  const dataJson = bytes.toString('utf8', scan.dataStart, scan.dataEnd);
  const target = encoderStreams[stream] as DestinationStream;
  encodeRecord(stream, bytes, new ScannedRecord(target, scan.emittedAt, dataJson, bytes.length));
}

function encodeParsed({ streamKey, record }: RecordInput, { bytes, lineNumber }: Line): void {
  const stream = recordStream(streamKey, bytes, lineNumber);
  // The record as the main thread's readers make it (spill-file-reader.ts).
  encodeRecord(stream, bytes, {
    stream: encoderStreams[stream] as DestinationStream,
    data: record.data,
    emittedAt: record.emitted_at,
    meta: record.meta,
    sizeBytes: bytes.length,
  });
}

/** A plain record line's record: `data` is parsed from its text when read. */
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

/** Encodes a record of stream position `stream` (`input` its line) into the stream's pending run. */
function encodeRecord(stream: number, input: Buffer, record: DestinationRecord): void {
  const text = (encoders?.[stream] as RecordEncoder).encode(record);
  if (typeof text !== 'string') checkedLine(text, record.stream.label);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: count exactly only when it may not fit.
  if (slab.length - slabUsed < text.length * 3) {
    const size = Buffer.byteLength(text, 'utf8');
    if (slab.length - slabUsed < size) {
      slab = Buffer.allocUnsafeSlow(Math.max(size, SLAB_BYTES));
      slabUsed = 0;
    }
  }
  const start = slabUsed;
  const end = start + slab.write(text, start, 'utf8');
  // One newline, at the end: what a run's line needs (found with memchr, not on the string).
  if (end === start || slab.indexOf(NEWLINE, start) !== end - 1)
    checkedLine(text, record.stream.label);
  slabUsed = end;
  pendingInputBytes[stream] = (pendingInputBytes[stream] ?? 0) + input.length;
  // A run holds lines without their newline, as input lines come.
  if (pending.add(stream, slab.subarray(start, end - 1), () => undefined)) postRuns(stream);
}

/** The position of a record's stream; stops at a stream not in the catalog or ended. */
function recordStream(key: string, bytes: Buffer, lineNumber: number): number {
  const stream = streams.get(key);
  if (stream === undefined) {
    const { record } = parseInputLine(bytes, lineNumber) as RecordInput;
    throw new StopAt({
      kind: 'unknown-stream',
      lineNumber,
      streamName: describeStream({ namespace: record.namespace, name: record.stream }),
    });
  }
  if (ended.has(stream)) throw new StopAt({ kind: 'after-end', lineNumber, stream });
  return stream;
}

function consumeRecord(key: string, { bytes, lineNumber }: Line): void {
  const stream = recordStream(key, bytes, lineNumber);
  if (pending.add(stream, bytes, () => undefined)) postRuns(stream);
}

function consume(
  message: Exclude<InputMessage, RecordInput>,
  bytes: Buffer,
  lineNumber: number,
): void {
  // The records a message concerns go before it.
  const concerned = concernedStreams(message);
  if (concerned === 'all') postRuns();
  else if (concerned !== undefined) {
    const stream = streams.get(concerned.key);
    if (stream !== undefined) postRuns(stream);
  }
  if (
    message.kind === 'stream_status' &&
    (message.status === 'COMPLETE' || message.status === 'INCOMPLETE')
  ) {
    const stream = streams.get(message.streamKey);
    if (stream !== undefined) ended.add(stream);
  }
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  items.push({ kind: 'line', lineNumber, bytes: copy });
  transfer.push(copy.buffer);
  itemBytes += bytes.length;
}

function describeError(error: unknown): InputWorkerError {
  if (error instanceof StopAt) return error.error;
  if (error instanceof MalformedMessageError)
    return { kind: 'malformed', lineNumber: error.lineNumber, problem: error.problem };
  if (error instanceof LineTooLongError)
    return { kind: 'too-long', lineNumber: error.lineNumber, maxLineBytes: error.maxLineBytes };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

/** Consumes a chunk (or, without one, the end of input); false once stopped. */
function consumeChunk(chunk: Buffer | undefined): InputWorkerError | undefined {
  if (encoderFailure !== undefined) {
    stopped = true;
    return encoderFailure;
  }
  try {
    if (chunk !== undefined) {
      splitter.push(chunk);
      const lines: Line[] = [];
      try {
        for (let line = splitter.next(); line !== undefined; line = splitter.next())
          lines.push(line);
      } finally {
        // A line too long stops the splitter: the lines before it still count.
        consumeLines(lines);
      }
    } else {
      const last = splitter.end();
      if (last !== undefined) consumeLines([last]);
      postRuns();
    }
    return undefined;
  } catch (caught) {
    stopped = true;
    return describeError(caught);
  }
}

function post(error: InputWorkerError | undefined, end: boolean): number {
  const packet: InputPacket = {
    items,
    bytes: itemBytes,
    ...(error === undefined ? {} : { error }),
    ...(end ? { end } : {}),
  };
  const bytes = itemBytes;
  port?.postMessage(packet, transfer);
  items = [];
  transfer = [];
  itemBytes = 0;
  return bytes;
}

/** Chunk mode: one packet per request (empty after a stop), so the consumer's count holds. */
function serveChunks(): void {
  port?.on('message', (request: InputWorkerRequest) => {
    if (request.kind === 'ack') return;
    const error = stopped
      ? undefined
      : consumeChunk(request.kind === 'chunk' ? Buffer.from(request.chunk) : undefined);
    post(error, false);
  });
}

/** The descriptor as a stream: a socket for a pipe or socket, a file stream for a file. */
function openInput(fd: number): Readable {
  const stat = fstatSync(fd);
  if (stat.isFIFO() || stat.isSocket()) return new Socket({ fd, readable: true, writable: false });
  return createReadStream('', { fd, autoClose: false, highWaterMark: FILE_READ_BYTES });
}

/** `fd` mode: reads until the end of input, pausing while too much is unacknowledged. */
function readDescriptor(fd: number): void {
  let unacknowledged = 0;
  let input: Readable;
  try {
    input = openInput(fd);
  } catch (error) {
    post(describeError(error), false);
    return;
  }
  port?.on('message', (request: InputWorkerRequest) => {
    if (request.kind !== 'ack') return;
    unacknowledged -= request.bytes;
    if (unacknowledged < init.maxUnacknowledged && input.isPaused() && !stopped) input.resume();
  });
  input.on('data', (chunk: Buffer) => {
    if (stopped) return;
    const error = consumeChunk(chunk);
    if (error !== undefined) {
      input.destroy();
      post(error, false);
      return;
    }
    if (items.length > 0) unacknowledged += post(undefined, false);
    if (unacknowledged >= init.maxUnacknowledged) input.pause();
  });
  input.on('end', () => {
    if (stopped) return;
    stopped = true;
    post(consumeChunk(undefined), true);
  });
  input.on('error', (error) => {
    if (stopped) return;
    stopped = true;
    post({ kind: 'other', message: `reading the input failed: ${error.message}` }, false);
  });
}

function begin(): void {
  if (init.fd === undefined) serveChunks();
  else readDescriptor(init.fd);
}

/** Imports the encoder module and makes each stream's encoder. */
async function loadEncoders(encoder: NonNullable<InputWorkerInit['encoder']>): Promise<void> {
  try {
    const module = (await import(encoder.module)) as Partial<RecordEncoderModule>;
    if (typeof module.createRecordEncoder !== 'function')
      throw new Error('the module exports no createRecordEncoder function');
    const create = module.createRecordEncoder;
    encoders = encoder.streams.map((stream) => create(stream));
    encoderStreams = encoder.streams;
  } catch (error) {
    encoderFailure = {
      kind: 'other',
      message: `cannot load the record encoder ${encoder.module}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  }
}

port.once('message', (first: InputWorkerStart) => {
  init = first.init;
  streams = new Map(init.streamKeys.map((key, i) => [key, i]));
  splitter = new LineSplitter({ maxLineBytes: init.maxLineBytes });
  if (init.encoder === undefined) {
    begin();
    return;
  }
  // Requests that come while the encoder module loads are answered after it, in order.
  const early: InputWorkerRequest[] = [];
  const hold = (request: InputWorkerRequest): void => {
    early.push(request);
  };
  port.on('message', hold);
  void loadEncoders(init.encoder).then(() => {
    port.off('message', hold);
    begin();
    for (const request of early) port.emit('message', request);
  });
});
