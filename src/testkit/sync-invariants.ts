/**
 * The invariants of a sync (ARCHITECTURE.md "Sync and checkpoint rules"), checked against a
 * SyncModel, the MockBackend and a PipelineRun. Shared by the property tests and their
 * regression examples.
 */
import { existsSync } from 'node:fs';
import { classifyError } from '../errors/classify-error.js';
import { StreamIncompleteFailure } from '../pipeline/destination-task-launcher.js';
import { MissingStreamStatusError, StreamsIncompleteError } from '../pipeline/pipeline-errors.js';
import type { JsonObject } from '../protocol/messages.js';
import { InvalidMemoryRequestError } from '../runtime/memory-budget.js';
import { SyncCancelledError } from '../write/write-errors.js';
import type { ModelStream, SyncModel } from './message-arbitraries.js';
import {
  MOCK_FAILURE_TYPES,
  type MockBackend,
  type MockFailureKind,
  type MockInjection,
  type MockRow,
} from './mock-destination.js';
import type { PipelineRun } from './run-pipeline.js';

/** Rows a test puts in every final table before the sync (an earlier generation). */
export function seedRows(stream: ModelStream): MockRow[] {
  return [0, 1].map((k) => ({
    data: { id: `old-${stream.label}-${k}`, pk: k, cursor: 1 },
    emittedAt: 1_600_000_000_000,
    meta: undefined,
    generationId: 1,
  }));
}

/**
 * Watches state echoes as they are written: each must be a state of the model whose covered
 * records are all in the mock's persist log at that very moment.
 */
export class EchoWatcher {
  readonly problems: string[] = [];
  readonly #ids = new Map<string, string[]>();

  constructor(
    private readonly model: SyncModel,
    private readonly backend: MockBackend,
  ) {
    for (const stream of model.streams) {
      this.#ids.set(
        stream.label,
        stream.records.map((r) => r.id),
      );
    }
  }

  readonly onLine = (line: Buffer): void => {
    let message: JsonObject;
    try {
      message = JSON.parse(line.toString('utf8')) as JsonObject;
    } catch {
      this.problems.push(`a stdout line is not JSON: ${line.toString('utf8')}`);
      return;
    }
    if (message.type !== 'STATE') return;
    const seq = stateSeq(message);
    const state = seq === undefined ? undefined : this.model.states[seq];
    if (state === undefined) {
      this.problems.push(`an echoed state matches no input state: ${line.toString('utf8')}`);
      return;
    }
    for (const [label, count] of state.covers) {
      const persisted = new Set(
        this.backend.persistedEver(label).map((row) => String(row.data.id)),
      );
      const ids = this.#ids.get(label) ?? [];
      for (let i = 0; i < count; i++) {
        if (!persisted.has(ids[i]!)) {
          this.problems.push(
            `state #${seq} echoed before record ${ids[i]} (index ${i} of ${label}) was persisted`,
          );
          break;
        }
      }
    }
  };
}

/** The `seq` the arbitraries put in every state's payload. */
export function stateSeq(message: JsonObject): number | undefined {
  const state = message.state as JsonObject | undefined;
  const stream = state?.stream as JsonObject | undefined;
  const global = state?.global as JsonObject | undefined;
  const payload =
    (stream?.stream_state as JsonObject | undefined) ??
    (global?.shared_state as JsonObject | undefined);
  const seq = payload?.seq;
  return typeof seq === 'number' ? seq : undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** True for a call made on the failure path (with the sync's failure), not a primary call. */
function isFailurePathCall(failure: unknown): boolean {
  return (
    failure !== undefined &&
    !(failure instanceof StreamIncompleteFailure) &&
    !(failure instanceof MissingStreamStatusError) &&
    !(failure instanceof StreamsIncompleteError)
  );
}

/** The injected failures that happened outside the failure path, in order. */
export function primaryInjections(backend: MockBackend): MockInjection[] {
  return backend.injected.filter((i) => !isFailurePathCall(i.call.failure));
}

function ids(rows: readonly MockRow[]): string[] {
  return rows.map((r) => String(r.data.id)).sort();
}

function cursorKey(row: MockRow): [number, number] {
  const c = row.data.cursor;
  return [typeof c === 'number' ? c : Number.NEGATIVE_INFINITY, row.emittedAt];
}

/**
 * Checks a deduped table independently of the mock's algorithm: per primary key, the row kept
 * must be one of the tied best rows (greatest cursor, then emittedAt), absent when that row is
 * a CDC delete. Returns the problems.
 */
function checkDedupe(
  label: string,
  base: readonly MockRow[],
  rows: readonly MockRow[],
  actual: readonly MockRow[],
): string[] {
  const problems: string[] = [];
  const groups = new Map<number, MockRow[]>();
  for (const row of [...base, ...rows]) {
    const pk = row.data.pk as number;
    groups.set(pk, [...(groups.get(pk) ?? []), row]);
  }
  const byPk = new Map<number, MockRow[]>();
  for (const row of actual) {
    const pk = row.data.pk as number;
    byPk.set(pk, [...(byPk.get(pk) ?? []), row]);
  }
  for (const [pk, found] of byPk) {
    if (found.length > 1) problems.push(`${label}: pk ${pk} appears ${found.length} times`);
    if (!groups.has(pk)) problems.push(`${label}: pk ${pk} came from nowhere`);
  }
  for (const [pk, group] of groups) {
    let best: [number, number] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const row of group) {
      const key = cursorKey(row);
      if (key[0] > best[0] || (key[0] === best[0] && key[1] > best[1])) best = key;
    }
    const tied = group.filter((r) => {
      const key = cursorKey(r);
      return key[0] === best[0] && key[1] === best[1];
    });
    const alive = tied.filter(
      (r) => r.data._ab_cdc_deleted_at === undefined || r.data._ab_cdc_deleted_at === null,
    );
    const kept = byPk.get(pk)?.[0];
    if (kept === undefined) {
      if (alive.length === tied.length) problems.push(`${label}: pk ${pk} lost`);
    } else if (!alive.some((r) => r.data.id === kept.data.id)) {
      problems.push(`${label}: pk ${pk} kept ${String(kept.data.id)}, not a best row`);
    }
  }
  return problems;
}

function expectedFinal(
  stream: ModelStream,
  base: readonly MockRow[],
  actual: readonly MockRow[],
): string[] {
  const rows: MockRow[] = stream.records.map((r) => ({
    data: r.data,
    emittedAt: r.emittedAt,
    meta: undefined,
    generationId: 2,
  }));
  const start = stream.truncate ? [] : base;
  if (stream.mode === 'append_dedup') return checkDedupe(stream.label, start, rows, actual);
  const want = ids([...start, ...rows]);
  const got = ids(actual);
  return JSON.stringify(want) === JSON.stringify(got)
    ? []
    : [`${stream.label}: final table ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`];
}

export type KnownBug = 'loader-started-during-failure' | 'state-memory-double-release';

export interface InvariantContext {
  readonly model: SyncModel;
  readonly backend: MockBackend;
  readonly run: PipelineRun;
  readonly watcher: EchoWatcher;
  /** The kind of the (single) failure plan, if any. */
  readonly failureKind: MockFailureKind | undefined;
  /**
   * Known pipeline bugs whose invariant is relaxed so a property run can look further.
   * `loader-started-during-failure`: a loader whose start() ends after the first failure is
   * never closed. `state-memory-double-release`: a state's memory released twice when the sync
   * is cancelled while the state is pinned (InvalidMemoryRequestError in `suppressed`).
   * launcher.test.ts pins both bugs.
   */
  readonly tolerate?: readonly KnownBug[];
  readonly memoryBudgetBytes: number;
  /** The sync was aborted (a stop signal) while it ran, at this MockBackend.tick(). */
  readonly abortedAt?: number;
}

/** Every invariant; returns the list of violations (empty when all hold). */
export function checkInvariants(ctx: InvariantContext): string[] {
  const { model, backend, run, watcher } = ctx;
  const problems: string[] = [...watcher.problems];
  const { outcome } = run;
  const primary = primaryInjections(backend);
  const injectedFirst = primary[0];
  // Anything that may stop the sync early: then only the safety rules must hold.
  const interrupted = injectedFirst !== undefined || ctx.abortedAt !== undefined;

  // ── outcome ──────────────────────────────────────────────────────────────────────────────
  if (injectedFirst !== undefined) {
    if (outcome.status !== 'failed')
      problems.push(`outcome ${outcome.status} after an injected failure`);
    const error = outcome.error;
    const cause = error instanceof Error ? error.cause : undefined;
    if (error !== injectedFirst.error && cause !== injectedFirst.error) {
      problems.push(
        `outcome.error is not the injected failure: ${String(error)} (injected: ${injectedFirst.error.message})`,
      );
    }
    if (
      ctx.failureKind !== undefined &&
      classifyError(error).failureType !== MOCK_FAILURE_TYPES[ctx.failureKind]
    ) {
      problems.push(
        `failure type ${classifyError(error).failureType}, injected ${ctx.failureKind}`,
      );
    }
  } else if (ctx.abortedAt !== undefined) {
    if (outcome.status !== 'cancelled' || !(outcome.error instanceof SyncCancelledError)) {
      problems.push(`expected a cancelled sync, got ${outcome.status} ${String(outcome.error)}`);
    }
  } else if (model.expectedIncompleteness === 'missing-status') {
    if (outcome.status !== 'failed' || !(outcome.error instanceof MissingStreamStatusError)) {
      problems.push(
        `expected MissingStreamStatusError, got ${outcome.status} ${String(outcome.error)}`,
      );
    }
  } else if (model.expectedIncompleteness === 'incomplete') {
    if (outcome.status !== 'failed' || !(outcome.error instanceof StreamsIncompleteError)) {
      problems.push(
        `expected StreamsIncompleteError, got ${outcome.status} ${String(outcome.error)}`,
      );
    }
  } else if (outcome.status !== 'succeeded' || outcome.error !== undefined) {
    problems.push(`expected success, got ${outcome.status}: ${String(outcome.error)}`);
  }
  // Every error reported is explained by the test: an injected failure (perhaps wrapped), the
  // stop signal, or a stream that was not COMPLETE. Anything else is a defect somewhere.
  const injected = new Set<unknown>(backend.injected.map((i) => i.error));
  for (const error of [outcome.error, ...outcome.suppressed]) {
    if (error === undefined) continue;
    const explained =
      injected.has(error) ||
      (error instanceof Error && injected.has(error.cause)) ||
      error instanceof SyncCancelledError ||
      error instanceof MissingStreamStatusError ||
      error instanceof StreamsIncompleteError ||
      (ctx.tolerate?.includes('state-memory-double-release') === true &&
        error instanceof InvalidMemoryRequestError &&
        error !== outcome.error);
    if (!explained) problems.push(`unexplained error: ${describeError(error)}`);
  }
  if (outcome.status !== 'succeeded' && outcome.error === undefined) {
    problems.push('a sync that did not succeed has no error to report');
  }

  // ── state echoes ─────────────────────────────────────────────────────────────────────────
  const echoedSeqs: number[] = [];
  for (const line of run.stdoutLines) {
    const message = JSON.parse(line) as JsonObject;
    if (message.type !== 'STATE') {
      problems.push(`unexpected stdout message ${String(message.type)}`);
      continue;
    }
    const seq = stateSeq(message);
    const state = seq === undefined ? undefined : model.states[seq];
    if (seq === undefined || state === undefined) {
      problems.push(`echo of an unknown state: ${line}`);
      continue;
    }
    echoedSeqs.push(seq);
    const stats = `,"destinationStats":{"recordCount":${state.recordCount}}`;
    const at = line.lastIndexOf(stats);
    const stripped = at < 0 ? undefined : line.slice(0, at) + line.slice(at + stats.length);
    if (stripped !== state.line) {
      problems.push(
        `state #${seq} echo is not byte-faithful with recordCount ${state.recordCount}: ${line}`,
      );
    }
    const parsed = JSON.parse(line) as { state: JsonObject };
    delete parsed.state.destinationStats;
    if (JSON.stringify(parsed) !== JSON.stringify(state.json)) {
      problems.push(`state #${seq} echo differs from its input once parsed`);
    }
  }
  if (new Set(echoedSeqs).size !== echoedSeqs.length) {
    problems.push(`a state was echoed twice: ${JSON.stringify(echoedSeqs)}`);
  }
  if (model.stateMode === 'GLOBAL') {
    if (!echoedSeqs.every((seq, i) => seq === i)) {
      problems.push(
        `GLOBAL states not echoed as an input-order prefix: ${JSON.stringify(echoedSeqs)}`,
      );
    }
  } else if (model.stateMode === 'STREAM') {
    for (const stream of model.streams) {
      const want = model.states.filter((s) => s.stream === stream.label).map((s) => s.seq);
      const got = echoedSeqs.filter((seq) => model.states[seq]?.stream === stream.label);
      if (!got.every((seq, i) => seq === want[i])) {
        problems.push(
          `${stream.label}: STREAM states out of order: ${JSON.stringify(got)} of ${JSON.stringify(want)}`,
        );
      }
    }
  }
  if (!interrupted) {
    if (echoedSeqs.length !== model.states.length) {
      problems.push(
        `${echoedSeqs.length} of ${model.states.length} states echoed without a failure`,
      );
    }
    if (outcome.statesEchoed !== model.states.length)
      problems.push('outcome.statesEchoed is wrong');
    const records = model.streams.reduce((n, s) => n + s.records.length, 0);
    if (outcome.recordsRead !== records)
      problems.push(`recordsRead ${outcome.recordsRead}, expected ${records}`);
  }

  // ── records: persisted, finalized ────────────────────────────────────────────────────────
  for (const stream of model.streams) {
    const persisted = ids(backend.persistedEver(stream.label));
    const known = new Set(stream.records.map((r) => r.id));
    if (new Set(persisted).size !== persisted.length)
      problems.push(`${stream.label}: a record was persisted twice`);
    if (persisted.some((id) => !known.has(id)))
      problems.push(`${stream.label}: a persisted record is not of this stream`);
    if (!interrupted && persisted.length !== known.size) {
      problems.push(`${stream.label}: ${persisted.length} of ${known.size} records persisted`);
    }
    const finalizations = backend.finalized.filter((l) => l === stream.label).length;
    const seed = seedRows(stream);
    const final = backend.finalTable(stream.label);
    if (finalizations > 1) problems.push(`${stream.label}: finalized ${finalizations} times`);
    if (finalizations === 0) {
      if (JSON.stringify(ids(final)) !== JSON.stringify(ids(seed))) {
        problems.push(`${stream.label}: final table changed without finalization`);
      }
      if (!interrupted && stream.status === 'COMPLETE') {
        problems.push(`${stream.label}: COMPLETE stream not finalized`);
      }
    } else {
      if (stream.status !== 'COMPLETE')
        problems.push(`${stream.label}: finalized without COMPLETE (${stream.status})`);
      problems.push(...expectedFinal(stream, seed, final));
    }
    // Every loader that started is closed exactly once.
    const starts = backend.callsOf('start', stream.label).filter((c) => c.outcome === 'ok');
    const closes = backend.callsOf('close', stream.label).length;
    const failedAt = injectedFirst?.call.endedAt ?? ctx.abortedAt ?? Number.POSITIVE_INFINITY;
    const tolerated =
      ctx.tolerate?.includes('loader-started-during-failure') === true &&
      closes === 0 &&
      starts.every((c) => (c.endedAt ?? 0) > failedAt);
    if (closes !== starts.length && !tolerated) {
      problems.push(`${stream.label}: ${starts.length} starts, ${closes} closes`);
    }
  }
  const teardowns = backend.callsOf('teardown').length;
  if (teardowns !== 1) problems.push(`teardown called ${teardowns} times`);
  problems.push(...backend.violations);

  // ── runtime: tasks, budgets, spill directory ─────────────────────────────────────────────
  const live = [
    ...run.registry.list({ internal: true }),
    ...run.registry.recursive(outcome.rootId),
  ].filter((t) => t.state === 'created' || t.state === 'pending' || t.state === 'running');
  if (live.length > 0)
    problems.push(`tasks not terminal: ${live.map((t) => `${t.kind}:${t.state}`).join(', ')}`);
  if (run.memoryHighWater > ctx.memoryBudgetBytes) {
    problems.push(
      `memory high-water ${run.memoryHighWater} above the budget ${ctx.memoryBudgetBytes}`,
    );
  }
  if (!interrupted && (run.memory.reserved !== 0 || run.disk.reserved !== 0)) {
    problems.push(
      `budgets still reserved at the end: memory ${run.memory.reserved}, disk ${run.disk.reserved}`,
    );
  }
  if (existsSync(run.spillDir)) problems.push(`spill directory ${run.spillDir} left behind`);
  return problems;
}
