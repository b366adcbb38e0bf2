/**
 * Parses one input line into the few kinds of message a destination acts on: records, states and
 * stream statuses; everything else a destination may receive is classified as ignored.
 * Validation is hand-written and checks only what destkit relies on. Error messages name the
 * line number, the field and the rule, never the line's content (records hold user data).
 */
import { MalformedMessageError } from '../errors/input-errors.js';
import {
  type AirbyteRecord,
  type AirbyteState,
  MESSAGE_TYPES,
  type MessageType,
  type StateType,
  type StreamDescriptor,
  type StreamStatus,
  streamKey,
} from './messages.js';

/** A RECORD message. */
export interface RecordInput {
  readonly kind: 'record';
  readonly record: AirbyteRecord;
  /** `streamKey` of the record's stream. */
  readonly streamKey: string;
  /** The line's bytes (a view of the input chunk; see line-splitter.ts for ownership). */
  readonly raw: Buffer;
  readonly lineNumber: number;
}

/** A STATE message; `raw` is kept for the byte-faithful echo (state-echo.ts). */
export interface StateInput {
  readonly kind: 'state';
  readonly state: AirbyteState;
  /** The state's type, LEGACY when the message has none. */
  readonly stateType: StateType;
  readonly raw: Buffer;
  readonly lineNumber: number;
}

/** A TRACE of type STREAM_STATUS. */
export interface StreamStatusInput {
  readonly kind: 'stream_status';
  readonly descriptor: StreamDescriptor;
  readonly status: StreamStatus;
  readonly streamKey: string;
  readonly lineNumber: number;
}

/** Any other known message (LOG, CONTROL, other TRACE types, …): read and dropped. */
export interface IgnoredInput {
  readonly kind: 'ignored';
  readonly type: MessageType;
  /** For a TRACE: its `trace.type`. */
  readonly traceType?: string;
  readonly lineNumber: number;
}

export type InputMessage = RecordInput | StateInput | StreamStatusInput | IgnoredInput;

const STREAM_STATUSES: ReadonlySet<string> = new Set<StreamStatus>([
  'STARTED',
  'RUNNING',
  'COMPLETE',
  'INCOMPLETE',
]);
const KNOWN_TYPES: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);
/** An unknown `type` is named in the error only when it looks like a protocol identifier. */
const IDENTIFIER = /^[A-Z_]{1,40}$/;

type Obj = Record<string, unknown>;

/**
 * Parses and classifies one non-blank input line.
 * @throws MalformedMessageError naming the line number and the broken rule (never the content).
 */
export function parseInputLine(line: Buffer, lineNumber: number): InputMessage {
  let message: unknown;
  try {
    message = JSON.parse(line.toString('utf8'));
  } catch {
    // JSON.parse's message quotes the input: it is deliberately dropped, not kept as the cause.
    throw new MalformedMessageError(lineNumber, 'not valid JSON');
  }
  return classifyMessage(message, line, lineNumber);
}

/**
 * Classifies the JSON value of one input line (`line`, as parsed from it alone).
 * @throws MalformedMessageError naming the line number and the broken rule (never the content).
 */
export function classifyMessage(message: unknown, line: Buffer, lineNumber: number): InputMessage {
  if (!isObject(message)) {
    throw new MalformedMessageError(
      lineNumber,
      `the line is JSON ${jsonType(message)}, not an object`,
    );
  }
  const type = message.type;
  if (typeof type !== 'string') {
    throw new MalformedMessageError(lineNumber, describe('the message', 'type', type, 'a string'));
  }
  switch (type) {
    case 'RECORD':
      return parseRecord(message, line, lineNumber);
    case 'STATE':
      return parseState(message, line, lineNumber);
    case 'TRACE':
      return parseTrace(message, lineNumber);
    default:
      if (KNOWN_TYPES.has(type)) return { kind: 'ignored', type: type as MessageType, lineNumber };
      throw new MalformedMessageError(
        lineNumber,
        IDENTIFIER.test(type) ? `unknown message type ${type}` : 'unknown message type',
      );
  }
}

function parseRecord(message: Obj, raw: Buffer, lineNumber: number): RecordInput {
  const record = object(message, 'record', 'RECORD', 'record', lineNumber);
  const stream = record.stream;
  if (typeof stream !== 'string') {
    fail(lineNumber, describe('RECORD', 'record.stream', stream, 'a string'));
  }
  const data = record.data;
  if (!isObject(data)) fail(lineNumber, describe('RECORD', 'record.data', data, 'an object'));
  const emittedAt = record.emitted_at;
  if (typeof emittedAt !== 'number' || !Number.isFinite(emittedAt)) {
    fail(lineNumber, describe('RECORD', 'record.emitted_at', emittedAt, 'a finite number'));
  }
  const namespace = record.namespace;
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') {
    fail(lineNumber, describe('RECORD', 'record.namespace', namespace, 'a string or null'));
  }
  return {
    kind: 'record',
    record: record as AirbyteRecord,
    streamKey: streamKey({ name: stream, namespace }),
    raw,
    lineNumber,
  };
}

function parseState(message: Obj, raw: Buffer, lineNumber: number): StateInput {
  const state = object(message, 'state', 'STATE', 'state', lineNumber);
  const type = state.type;
  let stateType: StateType;
  if (type === undefined || type === null || type === 'LEGACY') {
    stateType = 'LEGACY';
  } else if (type === 'STREAM') {
    stateType = 'STREAM';
    const stream = object(state, 'stream', 'STATE', 'state.stream', lineNumber);
    descriptor(stream, 'STATE', 'state.stream.stream_descriptor', lineNumber);
  } else if (type === 'GLOBAL') {
    stateType = 'GLOBAL';
    const global = object(state, 'global', 'STATE', 'state.global', lineNumber);
    const streamStates = global.stream_states;
    if (!Array.isArray(streamStates)) {
      fail(lineNumber, describe('STATE', 'state.global.stream_states', streamStates, 'an array'));
    }
    for (let i = 0; i < streamStates.length; i++) {
      const path = `state.global.stream_states[${i}]`;
      const entry: unknown = streamStates[i];
      if (!isObject(entry)) fail(lineNumber, describe('STATE', path, entry, 'an object'));
      descriptor(entry, 'STATE', `${path}.stream_descriptor`, lineNumber);
    }
  } else {
    fail(lineNumber, 'STATE field state.type must be STREAM, GLOBAL or LEGACY');
  }
  return { kind: 'state', state: state as AirbyteState, stateType, raw, lineNumber };
}

function parseTrace(message: Obj, lineNumber: number): StreamStatusInput | IgnoredInput {
  const trace = object(message, 'trace', 'TRACE', 'trace', lineNumber);
  const traceType = trace.type;
  if (typeof traceType !== 'string') {
    fail(lineNumber, describe('TRACE', 'trace.type', traceType, 'a string'));
  }
  if (traceType !== 'STREAM_STATUS')
    return { kind: 'ignored', type: 'TRACE', traceType, lineNumber };
  const streamStatus = object(trace, 'stream_status', 'TRACE', 'trace.stream_status', lineNumber);
  const desc = descriptor(
    streamStatus,
    'TRACE',
    'trace.stream_status.stream_descriptor',
    lineNumber,
  );
  const status = streamStatus.status;
  if (typeof status !== 'string' || !STREAM_STATUSES.has(status)) {
    fail(
      lineNumber,
      status === undefined
        ? 'TRACE is missing the string field trace.stream_status.status'
        : 'TRACE field trace.stream_status.status must be one of STARTED, RUNNING, COMPLETE, INCOMPLETE',
    );
  }
  return {
    kind: 'stream_status',
    descriptor: desc,
    status: status as StreamStatus,
    streamKey: streamKey(desc),
    lineNumber,
  };
}

/** Checks `parent.stream_descriptor` (`name` a string, `namespace` absent, null or a string). */
function descriptor(
  parent: Obj,
  messageType: string,
  path: string,
  lineNumber: number,
): StreamDescriptor {
  const desc = object(parent, 'stream_descriptor', messageType, path, lineNumber);
  const name = desc.name;
  if (typeof name !== 'string') {
    fail(lineNumber, describe(messageType, `${path}.name`, name, 'a string'));
  }
  const namespace = desc.namespace;
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') {
    fail(lineNumber, describe(messageType, `${path}.namespace`, namespace, 'a string or null'));
  }
  return desc as StreamDescriptor;
}

/** `parent[key]` when it is a JSON object (not null, not an array); throws otherwise. */
function object(parent: Obj, key: string, messageType: string, path: string, lineNumber: number) {
  const value = parent[key];
  if (!isObject(value)) fail(lineNumber, describe(messageType, path, value, 'an object'));
  return value;
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "X is missing the string field a.b" or "X field a.b must be a string, not a number". */
function describe(messageType: string, path: string, value: unknown, rule: string): string {
  if (value === undefined) {
    // "a string" → "string field", "an object" → "object field", "a string or null" → …
    const kind = rule.replace(/^an? /, '');
    return `${messageType} is missing the ${kind} field ${path}`;
  }
  return `${messageType} field ${path} must be ${rule}, not ${withArticle(jsonType(value))}`;
}

/** The JSON type of a parsed value: never its content. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'non-finite number';
  return typeof value;
}

function withArticle(type: string): string {
  return type === 'null' ? 'null' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function fail(lineNumber: number, problem: string): never {
  throw new MalformedMessageError(lineNumber, problem);
}
