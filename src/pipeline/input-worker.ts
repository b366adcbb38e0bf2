/**
 * The input worker thread (knob `input_workers` = 1): splits the input chunks the InputConsumer
 * posts into lines, validates every line with the same parser the main thread uses
 * (`parseInputLine`), and posts back blocks of complete lines with what routing needs: the
 * line's stream (by catalog position) for a record, -1 for any other message (the main thread
 * parses those few itself). Parsing here is validation only: its objects die in this thread; the
 * record is parsed again, once, where the connector consumes it.
 *
 * The first invalid line (or a record of a stream not in the catalog, or a line too long) stops
 * the worker: the block carries the lines before it and the error, which the main thread raises
 * after routing them — exactly where the in-thread consumer would have failed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LineTooLongError, MalformedMessageError } from '../errors/input-errors.js';
import { parseInputLine } from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import { describeStream } from '../protocol/messages.js';
import {
  allocateBlock,
  type InputBlock,
  type InputWorkerError,
  type InputWorkerInit,
  type InputWorkerRequest,
  NOT_A_RECORD,
} from './input-worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('input-worker.js runs only as a worker thread');
const init = workerData as InputWorkerInit;
const streams = new Map(init.streamKeys.map((key, i) => [key, i]));
const splitter = new LineSplitter({ maxLineBytes: init.maxLineBytes });
let stopped = false;

class UnknownStream {
  constructor(
    readonly lineNumber: number,
    readonly streamName: string,
  ) {}
}

function code(line: Line): number {
  const message = parseInputLine(line.bytes, line.lineNumber);
  if (message.kind !== 'record') return NOT_A_RECORD;
  const stream = streams.get(message.streamKey);
  if (stream !== undefined) return stream;
  const { record } = message;
  throw new UnknownStream(
    line.lineNumber,
    describeStream({ namespace: record.namespace, name: record.stream }),
  );
}

function describeError(error: unknown): InputWorkerError {
  if (error instanceof MalformedMessageError)
    return { kind: 'malformed', lineNumber: error.lineNumber, problem: error.problem };
  if (error instanceof LineTooLongError)
    return { kind: 'too-long', lineNumber: error.lineNumber, maxLineBytes: error.maxLineBytes };
  if (error instanceof UnknownStream)
    return { kind: 'unknown-stream', lineNumber: error.lineNumber, streamName: error.streamName };
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

function post(lines: Line[], codes: number[], error: InputWorkerError | undefined): void {
  let total = 0;
  for (const line of lines) total += line.bytes.length;
  // One transferable buffer: offsets, codes and line numbers, then the lines' bytes.
  const { block, offsets, codes: codeArray, numbers, bytes } = allocateBlock(lines.length, total);
  let at = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line;
    offsets[i] = at;
    bytes.set(line.bytes, at);
    at += line.bytes.length;
    numbers[i] = line.lineNumber;
    codeArray[i] = codes[i] as number;
  }
  offsets[lines.length] = at;
  const message: InputBlock = {
    block,
    lines: lines.length,
    carry: splitter.bufferedBytes,
    ...(error === undefined ? {} : { error }),
  };
  port?.postMessage(message, [block]);
}

port.on('message', (request: InputWorkerRequest) => {
  const lines: Line[] = [];
  const codes: number[] = [];
  let error: InputWorkerError | undefined;
  if (!stopped) {
    try {
      if (request.chunk !== undefined) {
        splitter.push(Buffer.from(request.chunk));
        for (let line = splitter.next(); line !== undefined; line = splitter.next()) {
          codes.push(code(line));
          lines.push(line);
        }
      } else {
        const last = splitter.end();
        if (last !== undefined) {
          codes.push(code(last));
          lines.push(last);
        }
      }
    } catch (caught) {
      stopped = true;
      error = describeError(caught);
    }
  }
  // Every request gets exactly one block (empty after a stop), so the consumer's count holds.
  post(lines, codes, error);
});
