/**
 * The input worker thread (knob `input_workers` = 1): reads the input (its own file descriptor,
 * or the chunks the InputConsumer posts), splits it into lines, validates every line with the
 * same rules the main thread uses (a plain record line by `recordLineKey`, which does not build
 * its value; any other line by `classifyMessage` of its JSON value, the lines of a chunk parsed
 * together by `parseLines`, one by one if that fails), and groups each stream's records into
 * line runs (line-run.ts) by the in-thread consumer's rules (PendingLines): a stream's run is
 * posted when it reaches STREAM_SEND_BYTES, all runs when the records not posted hold on to
 * `holdBytes` of input (reserved by the main thread from the memory budget), once the oldest
 * waited `maxHoldMs` (reading a descriptor; else when the main thread asks), and before any
 * message that needs them (a STREAM state or a status: its stream's; any other state: all,
 * oldest first). Other messages are posted as lines, in input order, for the main thread to
 * parse and act on. Parsing here is validation only: its objects die in this thread; the record
 * is parsed again, once, where the connector consumes it.
 *
 * The first invalid line (a broken message, a record of a stream not in the catalog or after its
 * stream's terminal status, a line too long) stops the worker: the packet carries what came
 * before it and the error, which the main thread raises after routing them — the same error, for
 * the same line, as the in-thread consumer.
 *
 * Reading its own descriptor, the worker keeps reading while the main thread is busy (a
 * connector parsing a batch), up to `maxUnacknowledged` bytes of posted, unrouted lines.
 *
 * With `describeRecords` (a connector that encodes records, see record-encoder.ts), each run
 * also says where each record's `data` and `emitted_at` are (RecordScans, run-encoder.ts), as the
 * validating scan found them, so that the main thread encodes records without parsing them.
 */
import { createReadStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { LineTooLongError, MalformedMessageError } from '../errors/input-errors.js';
import {
  classifyMessage,
  type InputMessage,
  parseInputLine,
  type RecordInput,
} from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import { describeStream } from '../protocol/messages.js';
import { parseLines } from '../protocol/parse-lines.js';
import {
  recordLineKey,
  type ScannedRecordLine,
  scanRecordLine,
} from '../protocol/record-line-scanner.js';
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
let pending: PendingLines<number, undefined>;
/** Streams whose terminal status (COMPLETE or INCOMPLETE) was read. */
const ended = new Set<number>();

/** With `describeRecords`: each stream's RecordScans entries for its pending records. */
const pendingScans: number[][] = [];

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
    if (!init.describeRecords) {
      items.push({ kind: 'run', stream, buffer: taken.buffer, count });
    } else {
      const scans = Float64Array.from(pendingScans[stream] ?? []).buffer;
      pendingScans[stream] = [];
      items.push({ kind: 'run', stream, buffer: taken.buffer, count, scans });
      transfer.push(scans);
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

/** Validates and routes the lines of a chunk; records with where their parts are, if asked. */
function consumeLines(lines: readonly Line[]): void {
  if (!init.describeRecords) {
    validateLines(lines, recordLineKey, consumeRecord, (message, line) =>
      consumeRecord(message.streamKey, line),
    );
    return;
  }
  validateLines(
    lines,
    scanRecordLine,
    (scan, line) => describeRecord(scan.key, line, scan),
    (message, line) => describeRecord(message.streamKey, line, undefined),
  );
}

/** A record with its RecordScans entry; `scan` undefined: the main thread must parse it. */
function describeRecord(key: string, line: Line, scan: ScannedRecordLine | undefined): void {
  const stream = recordStream(key, line.bytes, line.lineNumber);
  let scans = pendingScans[stream];
  if (scans === undefined) {
    scans = [];
    pendingScans[stream] = scans;
  }
  if (scan === undefined) scans.push(-1, -1, 0);
  else scans.push(scan.dataStart, scan.dataEnd, scan.emittedAt);
  if (pending.add(stream, line.bytes, () => undefined)) postRuns(stream);
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
  try {
    if (chunk !== undefined) {
      // Records held since long ago go before this chunk's lines (see PendingLines.read).
      if (pending.read(chunk.length)) postRuns();
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
    if (request.kind === 'post-held') {
      if (!stopped) postRuns();
      post(undefined, false);
      return;
    }
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
    // `post-held` is chunk mode's: here the worker posts what it holds on its own (`holding`).
    if (request.kind !== 'ack') return;
    unacknowledged -= request.bytes;
    if (unacknowledged < init.maxUnacknowledged && input.isPaused() && !stopped) input.resume();
  });
  const postItems = (): void => {
    if (items.length > 0) unacknowledged += post(undefined, false);
    if (unacknowledged >= init.maxUnacknowledged) input.pause();
  };
  // Records read and not posted go once the oldest waited `maxHoldMs` (a slow source).
  let holding: NodeJS.Timeout | undefined;
  const postHeld = (): void => {
    holding = undefined;
    if (stopped) return;
    postRuns();
    postItems();
  };
  input.on('data', (chunk: Buffer) => {
    if (stopped) return;
    const error = consumeChunk(chunk);
    if (error !== undefined) {
      clearTimeout(holding);
      input.destroy();
      post(error, false);
      return;
    }
    postItems();
    if (holding === undefined && !pending.empty) holding = setTimeout(postHeld, init.maxHoldMs);
  });
  input.on('end', () => {
    clearTimeout(holding);
    if (stopped) return;
    stopped = true;
    post(consumeChunk(undefined), true);
  });
  input.on('error', (error) => {
    clearTimeout(holding);
    if (stopped) return;
    stopped = true;
    post({ kind: 'other', message: `reading the input failed: ${error.message}` }, false);
  });
}

port.once('message', (first: InputWorkerStart) => {
  init = first.init;
  streams = new Map(init.streamKeys.map((key, i) => [key, i]));
  pending = new PendingLines(init.holdBytes);
  splitter = new LineSplitter({ maxLineBytes: init.maxLineBytes });
  if (init.fd === undefined) serveChunks();
  else readDescriptor(init.fd);
});
