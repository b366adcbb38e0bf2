/**
 * An in-memory mock destination: a real ConnectorDefinition and DestinationWriter whose "tables"
 * live in a MockBackend that tests inspect. It follows the connector contract the way a careful
 * destination does, so tests of the pipeline (and, later, of connector tooling) can check what
 * was staged, persisted and finalized, and inject slow or failing calls.
 *
 * Terms:
 * - staged rows: written by `processRecords` (a STAGED batch); not durable yet.
 * - persisted rows: committed by `processBatch` (or at once, see `recordsBatchState`); durable
 *   but not visible in the final table. They stay there when the stream is closed with a failure.
 * - final table: what users see. Changed only by `close()` without a failure: append adds the
 *   persisted rows, dedupe upserts them by primary key, truncate replaces the table with this
 *   sync's rows (so a failed or incomplete sync never empties a table).
 * - persist log: every row ever persisted, per stream, in commit order (never shrinks), so a
 *   test can check "no state before its records persist" at the moment a state is echoed.
 *
 * Dedupe (PROTOCOL.md §3): one row per primary key; the greatest cursor wins, ties go to the
 * later `emittedAt`, then to the later row; a null cursor loses to any non-null one; when the
 * winner has a non-null `_ab_cdc_deleted_at` the key is deleted. The rows already in the final
 * table take part in the ranking, so a late record with an older cursor never wins.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerModule, inject, injectable } from 'inversify';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { ConfigError, SystemError, TransientError } from '../errors/destkit-error.js';
import type { JsonObject, JsonValue, RecordMeta } from '../protocol/messages.js';
import { newRawId } from '../write/airbyte-meta.js';
import { type ConnectorDefinition, defineConnector } from '../write/connector-definition.js';
import type {
  Batch,
  BatchAccumulator,
  BatchState,
  DestinationRecord,
  DestinationWriter,
  StreamLoader,
} from '../write/destination-writer.js';
import { TOKENS } from '../write/tokens.js';
import {
  FAULT_FAILURE_TYPES,
  type FailureClasses,
  type FaultFailureKind,
  failureOfKind,
} from './fault-injection.js';
import type { DumpedRow } from './record-differ.js';

export type MockMethod =
  | 'setup'
  | 'createStreamLoader'
  | 'start'
  | 'processRecords'
  | 'processBatch'
  | 'close'
  | 'teardown';

/** The class of an injected failure: ConfigError, TransientError, SystemError or a plain Error. */
export type MockFailureKind = FaultFailureKind;

/** Makes the `nth` call (1-based) of `method` throw. */
export interface MockFailurePlan {
  readonly method: MockMethod;
  readonly nth: number;
  readonly kind: MockFailureKind;
  /** Count only the calls for this stream (its label, `namespace.name` or `name`). Default: all. */
  readonly stream?: string;
}

/** What a call looks like to `delayMs` and in the call log. */
export interface MockCallInfo {
  readonly method: MockMethod;
  /** 1-based number of this call among the calls of `method` in this sync. */
  readonly n: number;
  /** The stream's label, for stream calls. */
  readonly stream: string | undefined;
}

export interface MockDestinationOptions {
  /**
   * The state of the batch `processRecords` returns. STAGED (default): rows are staged and
   * `processBatch` persists them (STAGED → PERSISTED → COMPLETE). PERSISTED or COMPLETE: rows
   * are persisted at once.
   */
  readonly recordsBatchState?: 'STAGED' | 'PERSISTED' | 'COMPLETE';
  /**
   * All batches of a stream share one `groupId`: rows stay staged until the stream's last
   * `processRecords` call (`endOfStream`), which commits the whole group and returns COMPLETE.
   * Default false.
   */
  readonly groupBatches?: boolean;
  /**
   * A `processRecords` call without records returns a COMPLETE batch (nothing to commit); in
   * group mode the group still commits at the end of the stream. Default false: such a call is
   * answered like any other.
   */
  readonly completeEmptyBatches?: boolean;
  /** Milliseconds each call waits (real timers) before it acts. Default 0. */
  readonly delayMs?: number | ((call: MockCallInfo) => number);
  /** Microtask yields at the start of each call: a cheap way to interleave. Default 0. */
  readonly yieldTicks?: number;
  /**
   * Awaited at the start of each call (after the delay): return a promise to hold the call until
   * the test releases it. Default: none.
   */
  readonly beforeCall?: (call: MockCallInfo) => Promise<void> | undefined;
  /** Injected failures; each plan throws once, before the call changes anything. */
  readonly failures?: readonly MockFailurePlan[];
}

/** One row as the mock stores it. */
export interface MockRow {
  readonly data: JsonObject;
  readonly emittedAt: number;
  readonly meta: RecordMeta | undefined;
  readonly generationId: number | null;
  /** `_airbyte_raw_id`; set for rows the mock wrote. */
  readonly rawId?: string;
  /** The catalog's sync_id; set for rows the mock wrote. */
  readonly syncId?: number | null;
}

export interface MockCall extends MockCallInfo {
  /** Position in the backend's call log. */
  readonly seq: number;
  /** The backend's event counter when the call started (see MockBackend.tick). */
  readonly startedAt: number;
  /** The failure passed to `close` or `teardown`, if any. */
  readonly failure: unknown;
  /** How the call ended; `pending` while it runs. */
  outcome: 'pending' | 'ok' | 'threw';
  error?: unknown;
  /** The backend's event counter when the call ended (calls start at `seq`'s event). */
  endedAt?: number;
}

/** An error thrown by a failure plan. */
export interface MockInjection {
  readonly call: MockCall;
  readonly error: Error;
}

/** A batch of the mock: its staged rows are found by `stagingId`. */
export interface MockBatch extends Batch {
  readonly stagingId: number;
}

export function isMockBatch(batch: Batch): batch is MockBatch {
  return typeof (batch as Partial<MockBatch>).stagingId === 'number';
}

/** The failure types by plan kind, for assertions (the same as the fault plans'). */
export const MOCK_FAILURE_TYPES = FAULT_FAILURE_TYPES;

/** The injected errors' classes (for `instanceof` checks in tests). */
export class MockConfigError extends ConfigError {
  override readonly code = 'MOCK_CONFIG';
}
export class MockTransientError extends TransientError {
  override readonly code = 'MOCK_TRANSIENT';
}
export class MockSystemError extends SystemError {
  override readonly code = 'MOCK_SYSTEM';
}

const MOCK_CLASSES: FailureClasses = {
  config: MockConfigError,
  transient: MockTransientError,
  system: MockSystemError,
};

function injectedError(kind: MockFailureKind, call: MockCallInfo): Error {
  const where = `${call.method} #${call.n}${call.stream === undefined ? '' : ` (${call.stream})`}`;
  return failureOfKind(
    kind,
    `mock destination: injected ${kind} failure in ${where}`,
    MOCK_CLASSES,
  );
}

/** The value at `path` in `data`, or undefined. */
function valueAt(data: JsonObject, path: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = data;
  for (const part of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as JsonObject)[part];
  }
  return current;
}

/** Orders cursors: null/undefined lowest, then numbers, then strings; -1 / 0 / 1. */
function compareCursor(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const aNull = a === null || a === undefined;
  const bNull = b === null || b === undefined;
  if (aNull || bNull) return aNull === bNull ? 0 : aNull ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * Upserts `incoming` into `existing` by primary key (see the file header). Pure; exported so
 * tests can state expectations with it or check it on its own.
 */
export function dedupeRows(
  existing: readonly MockRow[],
  incoming: readonly MockRow[],
  primaryKey: readonly (readonly string[])[],
  cursor: readonly string[],
): MockRow[] {
  const winners = new Map<string, MockRow>();
  const keyOf = (row: MockRow): string =>
    JSON.stringify(primaryKey.map((path) => valueAt(row.data, path) ?? null));
  for (const row of [...existing, ...incoming]) {
    const key = keyOf(row);
    const current = winners.get(key);
    if (current === undefined) {
      winners.set(key, row);
      continue;
    }
    const byCursor =
      cursor.length === 0
        ? 0
        : compareCursor(valueAt(row.data, cursor), valueAt(current.data, cursor));
    if (byCursor > 0 || (byCursor === 0 && row.emittedAt >= current.emittedAt)) {
      winners.set(key, row);
    }
  }
  const rows: MockRow[] = [];
  for (const row of winners.values()) {
    const deletedAt = row.data._ab_cdc_deleted_at;
    if (deletedAt === undefined || deletedAt === null) rows.push(row);
  }
  return rows;
}

/** Everything the mock destination keeps; shared by the syncs that use it. */
export class MockBackend {
  /** Final tables by stream label. */
  readonly finalTables = new Map<string, MockRow[]>();
  /** Persisted, not finalized rows by stream label. */
  readonly persisted = new Map<string, MockRow[]>();
  /** Every row ever persisted, by stream label (never shrinks). */
  readonly persistLog = new Map<string, MockRow[]>();
  /** Staged rows by staging id. */
  readonly staging = new Map<number, { readonly stream: string; readonly rows: MockRow[] }>();
  readonly calls: MockCall[] = [];
  readonly injected: MockInjection[] = [];
  /** Contract breaches the mock observed (a call after close, close while calls run, …). */
  readonly violations: string[] = [];
  /** Streams whose final table changed, in order of finalization. */
  readonly finalized: string[] = [];
  #nextStagingId = 0;
  #events = 0;

  /** Fills a final table before a sync (e.g. rows of earlier generations). */
  seed(stream: string, rows: readonly MockRow[]): void {
    this.finalTables.set(stream, [...rows]);
  }

  finalTable(stream: string): readonly MockRow[] {
    return this.finalTables.get(stream) ?? [];
  }

  persistedRows(stream: string): readonly MockRow[] {
    return this.persisted.get(stream) ?? [];
  }

  /** Rows ever persisted for the stream (finalized ones included), in commit order. */
  persistedEver(stream: string): readonly MockRow[] {
    return this.persistLog.get(stream) ?? [];
  }

  stagedRows(stream: string): MockRow[] {
    const rows: MockRow[] = [];
    for (const staged of this.staging.values())
      if (staged.stream === stream) rows.push(...staged.rows);
    return rows;
  }

  /** The calls of `method` (optionally of one stream). */
  callsOf(method: MockMethod, stream?: string): MockCall[] {
    return this.calls.filter(
      (c) => c.method === method && (stream === undefined || c.stream === stream),
    );
  }

  stage(stream: string, rows: MockRow[]): number {
    const id = this.#nextStagingId++;
    this.staging.set(id, { stream, rows });
    return id;
  }

  /** Moves staged rows to the persisted area; a staging id commits once. */
  commit(stagingId: number): void {
    const staged = this.staging.get(stagingId);
    if (staged === undefined) return;
    this.staging.delete(stagingId);
    this.persist(staged.stream, staged.rows);
  }

  persist(stream: string, rows: readonly MockRow[]): void {
    if (rows.length === 0) return;
    push(this.persisted, stream, rows);
    push(this.persistLog, stream, rows);
  }

  /** Applies this sync's persisted rows of `stream` to its final table. */
  finalize(stream: DestinationStream): void {
    const rows = this.persisted.get(stream.label) ?? [];
    this.persisted.delete(stream.label);
    const base = stream.shouldTruncate ? [] : (this.finalTables.get(stream.label) ?? []);
    const { importType } = stream;
    const next =
      importType.kind === 'dedupe'
        ? dedupeRows(base, rows, importType.primaryKey, importType.cursor)
        : [...base, ...rows];
    this.finalTables.set(stream.label, next);
    this.finalized.push(stream.label);
  }

  /** Appends a call to the log. */
  /** Advances and returns the event counter, which orders call starts and ends. */
  tick(): number {
    this.#events++;
    return this.#events;
  }

  record(info: MockCallInfo, failure: unknown): MockCall {
    const call: MockCall = {
      ...info,
      seq: this.calls.length,
      startedAt: this.tick(),
      failure,
      outcome: 'pending',
    };
    this.calls.push(call);
    return call;
  }
}

function push(map: Map<string, MockRow[]>, key: string, rows: readonly MockRow[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [...rows]);
  else list.push(...rows);
}

export const MOCK_TOKENS = {
  Backend: Symbol.for('destkit.testkit.MockBackend'),
  Options: Symbol.for('destkit.testkit.MockDestinationOptions'),
} as const;

/** The writer: counts calls, injects delays and failures, hands out loaders. */
@injectable()
export class MockDestinationWriter implements DestinationWriter {
  /** Calls per method, and per method and stream (`method\u0000label`). */
  readonly #counts = new Map<string, number>();
  readonly #fired = new Set<MockFailurePlan>();

  constructor(
    @inject(MOCK_TOKENS.Backend) readonly backend: MockBackend,
    @inject(MOCK_TOKENS.Options) readonly options: MockDestinationOptions,
  ) {}

  async setup(): Promise<void> {
    await this.call('setup', undefined, undefined, () => undefined);
  }

  async createStreamLoader(stream: DestinationStream): Promise<StreamLoader> {
    return this.call(
      'createStreamLoader',
      stream.label,
      undefined,
      () => new MockStreamLoader(stream, this),
    );
  }

  async teardown(failure?: unknown): Promise<void> {
    await this.call('teardown', undefined, failure, () => undefined);
  }

  /**
   * Runs one call: logs it, waits, throws when a plan says so, then runs `body`.
   * @internal used by MockStreamLoader
   */
  async call<T>(
    method: MockMethod,
    stream: string | undefined,
    failure: unknown,
    body: () => T | Promise<T>,
  ): Promise<T> {
    const counted = this.#bump(method, stream);
    const info: MockCallInfo = { method, n: counted.n, stream };
    const call = this.backend.record(info, failure);
    try {
      const ticks = this.options.yieldTicks ?? 0;
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      const delay = this.options.delayMs;
      const ms = typeof delay === 'function' ? delay(info) : (delay ?? 0);
      if (ms > 0) await sleep(ms);
      await this.options.beforeCall?.(info);
      const plan = this.#planFor(method, stream, counted);
      if (plan !== undefined) {
        const error = injectedError(plan.kind, info);
        this.backend.injected.push({ call, error });
        throw error;
      }
      const result = await body();
      call.outcome = 'ok';
      call.endedAt = this.backend.tick();
      return result;
    } catch (error) {
      call.outcome = 'threw';
      call.error = error;
      call.endedAt = this.backend.tick();
      throw error;
    }
  }

  /** Counts the call; returns its 1-based number overall and among the stream's calls. */
  #bump(method: MockMethod, stream: string | undefined): { n: number; nOfStream: number } {
    const n = (this.#counts.get(method) ?? 0) + 1;
    this.#counts.set(method, n);
    let nOfStream = 0;
    if (stream !== undefined) {
      const key = `${method}\u0000${stream}`;
      nOfStream = (this.#counts.get(key) ?? 0) + 1;
      this.#counts.set(key, nOfStream);
    }
    return { n, nOfStream };
  }

  /** The plan for this call — by the call's own numbers, not the counts when it gets here. */
  #planFor(
    method: MockMethod,
    stream: string | undefined,
    counted: { n: number; nOfStream: number },
  ): MockFailurePlan | undefined {
    for (const plan of this.options.failures ?? []) {
      if (plan.method !== method || this.#fired.has(plan)) continue;
      if (plan.stream !== undefined && plan.stream !== stream) continue;
      if ((plan.stream === undefined ? counted.n : counted.nOfStream) === plan.nth) {
        this.#fired.add(plan);
        return plan;
      }
    }
    return undefined;
  }
}

type LoaderPhase = 'new' | 'started' | 'closed';

/** One stream's loader; also its own accumulator (the staging area is shared by workers). */
class MockStreamLoader implements StreamLoader, BatchAccumulator {
  #phase: LoaderPhase = 'new';
  #inFlight = 0;
  /** Group mode: the group's staging ids and whether it was committed. */
  readonly #group: { readonly id: string; readonly stagingIds: number[]; committed: boolean };

  constructor(
    readonly stream: DestinationStream,
    private readonly writer: MockDestinationWriter,
  ) {
    this.#group = { id: `group:${stream.label}`, stagingIds: [], committed: false };
  }

  private get backend(): MockBackend {
    return this.writer.backend;
  }

  start(): Promise<void> {
    return this.run('start', undefined, () => {
      if (this.#phase !== 'new') this.violation(`start called while ${this.#phase}`);
      this.#phase = 'started';
    });
  }

  createBatchAccumulator(): BatchAccumulator {
    if (this.#phase !== 'started')
      this.violation(`createBatchAccumulator called while ${this.#phase}`);
    return this;
  }

  processRecords(
    records: Iterable<DestinationRecord>,
    _sizeBytes: number,
    endOfStream: boolean,
  ): Promise<Batch> {
    return this.run('processRecords', undefined, () => {
      this.requireStarted('processRecords');
      const rows: MockRow[] = [];
      for (const record of records) {
        rows.push({
          data: record.data,
          emittedAt: record.emittedAt,
          meta: record.meta,
          generationId: this.stream.generationId,
          rawId: newRawId(),
          syncId: this.stream.syncId,
        });
      }
      const options = this.writer.options;
      if (options.groupBatches === true) return this.groupBatch(rows, endOfStream);
      if (rows.length === 0 && options.completeEmptyBatches === true) return { state: 'COMPLETE' };
      const state = options.recordsBatchState ?? 'STAGED';
      if (state !== 'STAGED') {
        this.backend.persist(this.stream.label, rows);
        return { state };
      }
      const batch: MockBatch = {
        state: 'STAGED',
        stagingId: this.backend.stage(this.stream.label, rows),
      };
      return batch;
    });
  }

  private groupBatch(rows: MockRow[], endOfStream: boolean): Batch {
    const group = this.#group;
    if (group.committed) {
      // A batch that joins a group already committed: it is committed with it.
      this.backend.persist(this.stream.label, rows);
      return { state: 'COMPLETE', groupId: group.id };
    }
    group.stagingIds.push(this.backend.stage(this.stream.label, rows));
    if (!endOfStream) return { state: 'STAGED', groupId: group.id };
    for (const id of group.stagingIds) this.backend.commit(id);
    group.committed = true;
    return { state: 'COMPLETE', groupId: group.id };
  }

  processBatch(batch: Batch): Promise<Batch> {
    return this.run('processBatch', undefined, () => {
      this.requireStarted('processBatch');
      const next = nextState(batch.state);
      if (next === 'PERSISTED' && isMockBatch(batch)) this.backend.commit(batch.stagingId);
      return { ...batch, state: next };
    });
  }

  close(failure?: unknown): Promise<void> {
    return this.run('close', failure, () => {
      if (this.#phase !== 'started') this.violation(`close called while ${this.#phase}`);
      // This call is counted in #inFlight itself.
      if (this.#inFlight > 1) this.violation(`close called while ${this.#inFlight - 1} calls run`);
      this.#phase = 'closed';
      if (failure === undefined) this.backend.finalize(this.stream);
    });
  }

  private async run<T>(method: MockMethod, failure: unknown, body: () => T): Promise<T> {
    this.#inFlight++;
    try {
      return await this.writer.call(method, this.stream.label, failure, body);
    } finally {
      this.#inFlight--;
    }
  }

  private requireStarted(what: string): void {
    if (this.#phase !== 'started') this.violation(`${what} called while ${this.#phase}`);
  }

  private violation(message: string): void {
    this.backend.violations.push(`stream ${this.stream.label}: ${message}`);
  }
}

function nextState(state: BatchState): BatchState {
  switch (state) {
    case 'PROCESSED':
    case 'STAGED':
      return 'PERSISTED';
    case 'PERSISTED':
    case 'COMPLETE':
      return 'COMPLETE';
  }
}

/**
 * The final table of a stream as a dumper returns it: the record's fields next to the meta
 * columns (`_airbyte_extracted_at` in epoch milliseconds).
 */
export function dumpMockTable(backend: MockBackend, stream: DestinationStream): DumpedRow[] {
  return backend.finalTable(stream.label).map((row) => ({
    ...row.data,
    _airbyte_raw_id: row.rawId,
    _airbyte_extracted_at: row.emittedAt,
    _airbyte_meta: { sync_id: row.syncId ?? null, changes: row.meta?.changes ?? [] },
    _airbyte_generation_id: row.generationId,
  }));
}

export interface MockDestination {
  readonly definition: ConnectorDefinition;
  readonly backend: MockBackend;
}

/** A mock destination connector over `backend` (a fresh one by default). */
export function createMockDestination(
  options: MockDestinationOptions = {},
  backend: MockBackend = new MockBackend(),
): MockDestination {
  const definition = defineConnector({
    name: 'mock',
    spec: {
      supportsIncremental: true,
      supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
      connectionSpecification: { type: 'object', properties: {} },
    },
    module: new ContainerModule(({ bind }) => {
      bind(MOCK_TOKENS.Backend).toConstantValue(backend);
      bind(MOCK_TOKENS.Options).toConstantValue(options);
      bind(TOKENS.DestinationWriter).to(MockDestinationWriter).inSingletonScope();
    }),
  });
  return { definition, backend };
}
