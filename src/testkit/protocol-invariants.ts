/**
 * The protocol invariants of one connector run (PROTOCOL.md §3), checked from the outside: what
 * went in on stdin and what came out on stdout, plus the exit code. Any connector, any mode.
 *
 * Checked:
 * - output: every stdout line is a JSON object with a known message type, never a RECORD;
 * - states: every echo is an input state, unchanged but for `destinationStats`; each input state
 *   is echoed at most once; per stream (STREAM states) or overall (GLOBAL and LEGACY) the echoes
 *   are the first states of the input, in input order — none skipped, none reordered;
 * - stats: `destinationStats.recordCount` is the number of records since the previous state of
 *   the same stream (STREAM) or of any stream (GLOBAL);
 * - after persistence (when the run had a persistence probe): at each echo, every record the
 *   state covers was in the destination;
 * - exit codes: `spec` and `check` exit 0 with exactly one SPEC / CONNECTION_STATUS; a `write`
 *   that exits 0 echoed every state, reported no error, and every configured stream got a
 *   COMPLETE status; a stream without a terminal status, or INCOMPLETE, makes the run fail; a
 *   failed run exits 1 after at least one TRACE ERROR;
 * - TRACE classes: every TRACE ERROR has a non-empty message and a failure_type of
 *   `config_error`, `transient_error` or `system_error`.
 */
import type { FailureTypeWire, JsonObject } from '../protocol/messages.js';
import { describeStream } from '../protocol/messages.js';
import type { RunDestinationResult } from './run-destination.js';

export interface ProtocolInput {
  /** The configured catalog of a `write` (wire form). */
  readonly catalog?: unknown;
  /** stdin, as given to runDestination. */
  readonly messages?: readonly (JsonObject | string)[];
}

export interface ProtocolExpectations {
  /** `success`: exit 0; `failure`: exit 1 (any class); a failure type: exit 1 with that first. */
  readonly outcome?: 'success' | 'failure' | FailureTypeWire;
  /** The id a persistence probe reports for a record. Default `String(data.id)`. */
  readonly recordId?: (data: JsonObject) => string | undefined;
}

type OutputForCheck = Pick<
  RunDestinationResult,
  'exitCode' | 'killed' | 'timedOut' | 'lines' | 'operation' | 'persistedAtState'
> & { readonly linesFed?: number };

const KNOWN_TYPES = new Set([
  'SPEC',
  'CONNECTION_STATUS',
  'CATALOG',
  'STATE',
  'LOG',
  'TRACE',
  'CONTROL',
  'DESTINATION_CATALOG',
]);
const FAILURE_TYPES = new Set(['config_error', 'transient_error', 'system_error']);

interface InputState {
  readonly index: number;
  /** `stream:<label>` for STREAM states, `global` otherwise. */
  readonly group: string;
  readonly canonical: string;
  readonly recordCount: number;
  /** Per stream label: the ids of its records before this state. */
  readonly covers: ReadonlyMap<string, readonly (string | undefined)[]>;
}

function parse(entry: JsonObject | string): JsonObject | undefined {
  if (typeof entry !== 'string') return entry;
  try {
    const value: unknown = JSON.parse(entry);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

function labelOf(descriptor: JsonObject | undefined): string | undefined {
  if (descriptor === undefined || typeof descriptor.name !== 'string') return undefined;
  const namespace = typeof descriptor.namespace === 'string' ? descriptor.namespace : undefined;
  return describeStream({ name: descriptor.name, namespace });
}

/** The configured stream labels of a wire catalog. */
function configuredLabels(catalog: unknown): string[] {
  const streams = asObject(catalog)?.streams;
  if (!Array.isArray(streams)) return [];
  return streams.flatMap((s) => {
    const label = labelOf(asObject(asObject(s)?.stream));
    return label === undefined ? [] : [label];
  });
}

/** A state message as the comparison sees it: its JSON without `state.destinationStats`. */
function canonicalState(message: JsonObject): string {
  const state = asObject(message.state);
  if (state === undefined || !('destinationStats' in state)) return JSON.stringify(message);
  const { destinationStats: _stats, ...rest } = state;
  return JSON.stringify({ ...message, state: rest });
}

function defaultRecordId(data: JsonObject): string | undefined {
  const id = data.id;
  return id === undefined ? undefined : typeof id === 'string' ? id : JSON.stringify(id);
}

interface InputModel {
  readonly states: InputState[];
  /** Terminal status per stream label (the last one seen). */
  readonly statuses: Map<string, string>;
}

function modelInput(
  messages: readonly (JsonObject | string)[],
  recordId: (data: JsonObject) => string | undefined,
  fed: number,
): InputModel {
  const states: InputState[] = [];
  const statuses = new Map<string, string>();
  const records = new Map<string, (string | undefined)[]>();
  const sinceStream = new Map<string, number>();
  let sinceAny = 0;
  messages.slice(0, fed).forEach((entry) => {
    const message = parse(entry);
    if (message === undefined) return;
    if (message.type === 'RECORD') {
      const record = asObject(message.record);
      const label = labelOf({ name: record?.stream ?? null, namespace: record?.namespace ?? null });
      if (record === undefined || label === undefined) return;
      const data = asObject(record.data) ?? {};
      records.set(label, [...(records.get(label) ?? []), recordId(data)]);
      sinceStream.set(label, (sinceStream.get(label) ?? 0) + 1);
      sinceAny++;
    } else if (message.type === 'STATE') {
      const state = asObject(message.state);
      const kind = state?.type ?? 'LEGACY';
      let group = 'global';
      let recordCount = sinceAny;
      const covers = new Map<string, readonly (string | undefined)[]>();
      if (kind === 'STREAM') {
        const label =
          labelOf(asObject(asObject(state?.stream)?.stream_descriptor)) ?? '<no descriptor>';
        group = `stream:${label}`;
        recordCount = sinceStream.get(label) ?? 0;
        sinceAny -= recordCount;
        sinceStream.set(label, 0);
        covers.set(label, [...(records.get(label) ?? [])]);
      } else {
        sinceAny = 0;
        sinceStream.clear();
        for (const [label, ids] of records) covers.set(label, [...ids]);
      }
      states.push({
        index: states.length,
        group,
        canonical: canonicalState(message),
        recordCount,
        covers,
      });
    } else if (message.type === 'TRACE') {
      const trace = asObject(message.trace);
      const status = asObject(trace?.stream_status);
      if (trace?.type !== 'STREAM_STATUS' || status === undefined) return;
      const label = labelOf(asObject(status.stream_descriptor));
      const value = status.status;
      if (label !== undefined && (value === 'COMPLETE' || value === 'INCOMPLETE'))
        statuses.set(label, value);
    }
  });
  return { states, statuses };
}

/** Returns every violated invariant, as a sentence; empty when the run is correct. */
export function checkProtocolInvariants(
  input: ProtocolInput,
  output: OutputForCheck,
  expectations: ProtocolExpectations = {},
): string[] {
  const problems: string[] = [];
  const messages = input.messages ?? [];
  const fed = output.linesFed ?? messages.length;
  const model = modelInput(messages, expectations.recordId ?? defaultRecordId, fed);

  // ── output lines ─────────────────────────────────────────────────────────────────────────
  const errors: JsonObject[] = [];
  let specs = 0;
  let statuses = 0;
  for (const line of output.lines) {
    const message = line.message;
    if (message === undefined) {
      problems.push(`stdout line is not a JSON object: ${line.raw.slice(0, 200)}`);
      continue;
    }
    if (typeof message.type !== 'string' || !KNOWN_TYPES.has(message.type)) {
      problems.push(`stdout message of unknown type ${JSON.stringify(message.type)}`);
      continue;
    }
    if (message.type === 'SPEC') specs++;
    if (message.type === 'CONNECTION_STATUS') statuses++;
    const trace = asObject(message.trace);
    if (message.type === 'TRACE' && trace?.type === 'ERROR') {
      const error = asObject(trace.error);
      if (error === undefined) {
        problems.push('a TRACE ERROR without an error object');
        continue;
      }
      errors.push(error);
      if (!FAILURE_TYPES.has(String(error.failure_type)))
        problems.push(`TRACE ERROR with failure_type ${JSON.stringify(error.failure_type)}`);
      if (typeof error.message !== 'string' || error.message.trim() === '')
        problems.push('TRACE ERROR without a message');
    }
  }

  // ── states ───────────────────────────────────────────────────────────────────────────────
  const matched = new Set<number>();
  const echoedByGroup = new Map<string, number[]>();
  let echoIndex = -1;
  for (const line of output.lines) {
    if (line.message?.type !== 'STATE') continue;
    echoIndex++;
    const message = line.message;
    const canonical = canonicalState(message);
    const state = model.states.find((s) => s.canonical === canonical && !matched.has(s.index));
    if (state === undefined) {
      const seen = model.states.some((s) => s.canonical === canonical);
      problems.push(
        seen
          ? `state echoed more often than it was sent: ${line.raw.slice(0, 200)}`
          : `echo of a state that was not sent (or was altered): ${line.raw.slice(0, 200)}`,
      );
      continue;
    }
    matched.add(state.index);
    echoedByGroup.set(state.group, [...(echoedByGroup.get(state.group) ?? []), state.index]);
    const stats = asObject(asObject(message.state)?.destinationStats);
    const count = stats?.recordCount;
    if (typeof count !== 'number') {
      problems.push(`state #${state.index} echoed without destinationStats.recordCount`);
    } else if (count !== state.recordCount) {
      problems.push(
        `state #${state.index} echoed with recordCount ${count}, expected ${state.recordCount}`,
      );
    }
    const persisted = output.persistedAtState[echoIndex];
    if (persisted !== undefined) {
      for (const [label, ids] of state.covers) {
        const have = persisted.get(label) ?? new Set<string>();
        const lost = ids.filter((id) => id !== undefined && !have.has(id));
        if (lost.length > 0) {
          problems.push(
            `state #${state.index} was echoed before ${lost.length} record(s) of ${label} it covers were persisted (first: id ${lost[0]})`,
          );
        }
      }
    }
  }
  for (const [group, indexes] of echoedByGroup) {
    const sent = model.states.filter((s) => s.group === group).map((s) => s.index);
    const prefix = sent.slice(0, indexes.length);
    if (JSON.stringify(indexes) !== JSON.stringify(prefix)) {
      problems.push(
        `states of ${group} echoed as input states ${JSON.stringify(indexes)}, expected the input-order prefix ${JSON.stringify(prefix)}`,
      );
    }
  }

  // ── exit code ────────────────────────────────────────────────────────────────────────────
  if (output.timedOut) problems.push('the run timed out');
  if (output.killed || output.timedOut) return problems;
  const exit = output.exitCode;
  const { outcome } = expectations;
  if (output.operation === 'spec' || output.operation === 'check') {
    if (exit !== 0) problems.push(`${output.operation} exited with ${String(exit)}, expected 0`);
    const count = output.operation === 'spec' ? specs : statuses;
    const kind = output.operation === 'spec' ? 'SPEC' : 'CONNECTION_STATUS';
    if (count !== 1)
      problems.push(`${output.operation} wrote ${count} ${kind} messages, expected 1`);
    return problems;
  }
  if (exit === 0) {
    if (errors.length > 0) problems.push(`exit code 0 after ${errors.length} TRACE ERROR(s)`);
    if (matched.size !== model.states.length)
      problems.push(`exit code 0 with ${matched.size} of ${model.states.length} states echoed`);
    for (const label of configuredLabels(input.catalog)) {
      const status = model.statuses.get(label);
      if (status !== 'COMPLETE')
        problems.push(`exit code 0 although stream ${label} was ${status ?? 'without a status'}`);
    }
  } else {
    if (exit !== 1) problems.push(`a failed run exited with ${String(exit)}, expected 1`);
    if (errors.length === 0) problems.push(`exit code ${String(exit)} without a TRACE ERROR`);
  }
  if (outcome === 'success' && exit !== 0) {
    const first = errors[0];
    problems.push(
      `expected success, got exit code ${String(exit)}${first === undefined ? '' : ` (${String(first.failure_type)}: ${String(first.message)})`}`,
    );
  } else if (outcome !== undefined && outcome !== 'success' && exit === 0) {
    problems.push(`expected a failure (${outcome}), got exit code 0`);
  } else if (outcome !== undefined && outcome !== 'success' && outcome !== 'failure') {
    const first = errors[0];
    if (first !== undefined && first.failure_type !== outcome) {
      problems.push(
        `expected the first TRACE ERROR to be ${outcome}, got ${String(first.failure_type)}: ${String(first.message)}`,
      );
    }
  }
  return problems;
}
