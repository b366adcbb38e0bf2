/**
 * One conformance test's world: its config, its streams, the syncs it runs (each checked against
 * the protocol invariants) and the comparisons of what the destination holds with what it must
 * hold. Framework-free: a failed check throws a ConformanceFailure naming the sync or stream.
 */
import type { DestinationStream } from '../../catalog/destination-stream.js';
import { loadConnector } from '../../cli/first-party.js';
import type { FailureTypeWire, JsonObject } from '../../protocol/messages.js';
import type { AirbyteType } from '../../schema/airbyte-type.js';
import { streamColumns } from '../../schema/stream-columns.js';
import type { ConnectorDefinition } from '../../write/connector-definition.js';
import { type FaultPlan, harnessFaults, withFaults } from '../fault-injection.js';
import { checkProtocolInvariants } from '../protocol-invariants.js';
import {
  type DiffOptions,
  type DumpedRow,
  diffAtLeastOnce,
  diffRecords,
  type ExpectedRow,
} from '../record-differ.js';
import {
  type ConnectorUnderTest,
  type PersistedIds,
  type RunDestinationResult,
  type RunMode,
  runDestination,
} from '../run-destination.js';
import { columnOf, expectedRow, KEEP_NAMES, type TypingOptions } from './expected-rows.js';
import {
  EmitClock,
  isSentRecord,
  type SentRecord,
  TestStream,
  type TestStreamSpec,
} from './test-stream.js';
import { comparableRow } from './typed-values.js';

/** Reads back every row the destination holds for a stream; [] when the stream has no table. */
export type Dumper = (stream: DestinationStream, config: JsonObject) => Promise<DumpedRow[]>;

export interface ConformanceCapabilities {
  /** append_dedup: one row per primary key, the greatest cursor wins, CDC deletes remove it. */
  readonly dedup: boolean;
  /** Truncate refreshes: older generations stay until the new one is COMPLETE, then go. */
  readonly truncate: boolean;
  /** Typed columns (see `typing`); false: the data is kept as sent. */
  readonly typed: boolean;
  /** A later sync of a stream may add, drop and retype columns. */
  readonly schemaEvolution: boolean;
  /** Streams of different namespaces are kept apart. */
  readonly namespaces: boolean;
  /**
   * Rows of an append stream can be read back as soon as a state covering them is echoed
   * (the destination commits incrementally). Default false.
   */
  readonly incrementalCommit?: boolean;
}

export interface ConformanceContext {
  /**
   * A fresh name for this test (lower-case ASCII letters and digits, starting with a letter).
   * Every namespace a test uses starts with it, so a cleanup can drop them by prefix.
   */
  readonly namespace: string;
  readonly testName: string;
}

export interface SessionOptions {
  readonly connector: ConnectorUnderTest;
  readonly capabilities: ConformanceCapabilities;
  readonly dumper: Dumper | undefined;
  readonly typing: TypingOptions | undefined;
  readonly mapExpected: ((row: ExpectedRow, stream: DestinationStream) => ExpectedRow) | undefined;
  readonly mode: RunMode | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly syncTimeoutMs: number;
}

export interface SyncOptions {
  /** Default `success`. */
  readonly expect?: 'success' | 'failure' | FailureTypeWire;
  readonly killAfterStates?: number;
  readonly waitForEchoes?: boolean;
  /** Probe the append streams' rows at each echo (needs a dumper). */
  readonly probePersistence?: boolean;
  /** Fault plans (`fail`, `slow` need the definition in-process; `kill` uses the harness). */
  readonly faults?: readonly FaultPlan[];
  /** Extra environment variables for this sync. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run as a child process when the connector has a module path or a command. */
  readonly preferChildProcess?: boolean;
}

/** A conformance check that failed. */
export class ConformanceFailure extends Error {
  override readonly name = 'ConformanceFailure';
}

const STDERR_TAIL = 2_000;

export class ConformanceSession {
  readonly clock = new EmitClock();
  #syncs = 0;

  constructor(
    readonly options: SessionOptions,
    readonly context: ConformanceContext,
    readonly config: JsonObject,
  ) {}

  get capabilities(): ConformanceCapabilities {
    return this.options.capabilities;
  }

  get hasDumper(): boolean {
    return this.options.dumper !== undefined;
  }

  /** The namespace scenarios use by default: the test's own, when namespaces are supported. */
  get namespace(): string | undefined {
    return this.capabilities.namespaces ? this.context.namespace : undefined;
  }

  /** A stream in this test's namespace (unless `spec` names one). */
  stream(spec: TestStreamSpec): TestStream {
    const namespace = spec.namespace ?? this.namespace;
    return new TestStream(namespace === undefined ? spec : { ...spec, namespace }, this.clock);
  }

  /** A stream without a namespace: the destination's default namespace applies. */
  streamWithoutNamespace(spec: Omit<TestStreamSpec, 'namespace'>): TestStream {
    return new TestStream(spec, this.clock);
  }

  /** Whether faults can be injected (the definition can be had in-process). */
  get canInjectFaults(): boolean {
    const { connector } = this.options;
    return connector.definition !== undefined || connector.modulePath !== undefined;
  }

  private async definitionWithFaults(faults: readonly FaultPlan[]): Promise<ConnectorDefinition> {
    const { connector } = this.options;
    const definition =
      connector.definition ??
      (connector.modulePath === undefined ? undefined : await loadConnector(connector.modulePath));
    if (definition === undefined)
      throw new ConformanceFailure('fault injection needs the connector definition or module path');
    return withFaults(definition, faults);
  }

  /** Runs one `write` and checks the protocol invariants; returns the run. */
  async sync(
    streams: readonly TestStream[],
    messages: readonly (JsonObject | SentRecord)[],
    options: SyncOptions = {},
  ): Promise<RunDestinationResult> {
    const number = ++this.#syncs;
    const catalog = { streams: streams.map((s) => s.configured()) };
    const input = messages.map((m) => (isSentRecord(m) ? m.message : m));
    const faults = options.faults ?? [];
    const loaderFaults = faults.filter((f) => f.kind !== 'kill');
    const { connector } = this.options;
    const canSpawn = connector.modulePath !== undefined || connector.command !== undefined;
    let target: ConnectorUnderTest = connector;
    let mode = this.options.mode;
    if (loaderFaults.length > 0) {
      target = { definition: await this.definitionWithFaults(loaderFaults) };
      mode = 'in-process';
    } else if (options.preferChildProcess === true && canSpawn) {
      mode = 'child-process';
    }
    const dumper = this.options.dumper;
    const probe =
      options.probePersistence === true && dumper !== undefined
        ? async (): Promise<PersistedIds> => {
            const ids = new Map<string, Set<string>>();
            for (const stream of streams) {
              const resolved = stream.resolved();
              if (resolved.importType.kind !== 'append' || resolved.shouldTruncate) continue;
              const idColumn = columnOf(resolved, 'id', this.options.typing);
              const rows = await dumper(resolved, this.config);
              ids.set(resolved.label, new Set(rows.map((r) => idText(r[idColumn]))));
            }
            return ids;
          }
        : undefined;
    const result = await runDestination({
      ...target,
      ...(mode === undefined ? {} : { mode }),
      operation: 'write',
      config: this.config,
      catalog,
      messages: input,
      env: { ...this.options.env, ...options.env },
      ...harnessFaults(faults),
      ...(options.killAfterStates === undefined
        ? {}
        : { killAfterStates: options.killAfterStates }),
      waitForEchoes: options.waitForEchoes === true,
      ...(probe === undefined ? {} : { persistenceProbe: probe }),
      echoTimeoutMs: 15_000,
      timeoutMs: this.options.syncTimeoutMs,
    });
    const problems = checkProtocolInvariants({ catalog, messages: input }, result, {
      outcome: options.expect ?? 'success',
    });
    if (result.lateStates.length > 0) {
      problems.push(
        'a state was not echoed while the input stayed open (the destination must commit and echo within the flush window, not only at the end of the input)',
      );
    }
    const wantKill = options.killAfterStates ?? harnessFaults(faults).killAfterStates;
    if (wantKill !== undefined && !result.killed) {
      problems.push(
        `expected the connector to be killed after ${wantKill} state(s); it never got there`,
      );
    }
    if (problems.length > 0) {
      const first = result.errors[0];
      throw new ConformanceFailure(
        [
          `sync #${number} (${result.mode}, exit ${String(result.exitCode)}) broke the protocol:`,
          ...problems.map((p) => `  - ${p}`),
          ...(first === undefined
            ? []
            : [`first TRACE ERROR: ${String(first.failure_type)}: ${String(first.message)}`]),
          ...(result.stderr.trim() === '' ? [] : [`stderr: ${result.stderr.slice(-STDERR_TAIL)}`]),
        ].join('\n'),
      );
    }
    return result;
  }

  /** The destination's rows of a stream (needs a dumper). */
  async dump(stream: TestStream): Promise<DumpedRow[]> {
    if (this.options.dumper === undefined) throw new ConformanceFailure('no dumper configured');
    return this.options.dumper(stream.resolved(), this.config);
  }

  /** The expected row of a sent record, as this destination stores it. */
  expected(sent: SentRecord, overrides: Partial<ExpectedRow> = {}): ExpectedRow {
    const row = { ...expectedRow(sent, this.options.typing), ...overrides };
    return this.options.mapExpected?.(row, sent.stream.resolved()) ?? row;
  }

  /** The column a field maps to in this destination. */
  column(stream: TestStream, field: string): string {
    return columnOf(stream.resolved(), field, this.options.typing);
  }

  /**
   * Checks that the destination holds exactly these rows for the stream (no-op without a
   * dumper). Sent records are turned into expected rows.
   */
  async expectRows(
    stream: TestStream,
    rows: readonly (SentRecord | ExpectedRow)[],
    options: DiffOptions & { readonly what?: string } = {},
  ): Promise<void> {
    if (this.options.dumper === undefined) return;
    const expected = this.#comparableExpected(stream, rows);
    const actual = await this.#comparableDump(stream);
    const primaryKey = options.primaryKey?.map((path) => [
      this.column(stream, path[0] ?? ''),
      ...path.slice(1),
    ]);
    const problems = diffRecords(expected, actual, {
      ...options,
      ...(primaryKey === undefined ? {} : { primaryKey }),
      ...(options.ignoreFields === undefined
        ? {}
        : { ignoreFields: options.ignoreFields.map((f) => this.column(stream, f)) }),
    });
    this.#fail(stream, options.what, actual.length, expected.length, problems);
  }

  /**
   * Checks at-least-once delivery (no dumper: no-op): every `required` row at least once, and
   * nothing but `required` and `optional` rows.
   */
  async expectAtLeastOnce(
    stream: TestStream,
    required: readonly (SentRecord | ExpectedRow)[],
    options: DiffOptions & {
      readonly optional?: readonly (SentRecord | ExpectedRow)[];
      readonly what?: string;
    } = {},
  ): Promise<void> {
    if (this.options.dumper === undefined) return;
    const want = this.#comparableExpected(stream, required);
    const optional = this.#comparableExpected(stream, options.optional ?? []);
    const actual = await this.#comparableDump(stream);
    const primaryKey = (options.primaryKey ?? [['id']]).map((path) => [
      this.column(stream, path[0] ?? ''),
      ...path.slice(1),
    ]);
    const problems = diffAtLeastOnce(want, actual, { primaryKey, optional });
    this.#fail(stream, options.what, actual.length, want.length, problems);
  }

  /** Checks that the rows are exactly one of the alternatives (no dumper: no-op). */
  async expectRowsOneOf(
    stream: TestStream,
    alternatives: readonly (readonly (SentRecord | ExpectedRow)[])[],
    options: { readonly what?: string } = {},
  ): Promise<void> {
    if (this.options.dumper === undefined) return;
    const actual = await this.#comparableDump(stream);
    const results = alternatives.map((rows) =>
      diffRecords(this.#comparableExpected(stream, rows), actual),
    );
    if (results.some((problems) => problems.length === 0)) return;
    const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
    this.#fail(
      stream,
      `${options.what ?? ''} (none of ${alternatives.length} allowed outcomes)`,
      actual.length,
      Number.NaN,
      closest,
    );
  }

  /** Column types of a typed stream (empty when untyped): values are compared by type. */
  #columnTypes(stream: TestStream): ReadonlyMap<string, AirbyteType> {
    const typing = this.options.typing;
    if (typing === undefined) return new Map();
    const columns = streamColumns(stream.resolved(), typing.naming ?? KEEP_NAMES).columns;
    return new Map(columns.map((c) => [c.column, c.type]));
  }

  #comparableExpected(
    stream: TestStream,
    rows: readonly (SentRecord | ExpectedRow)[],
  ): ExpectedRow[] {
    const types = this.#columnTypes(stream);
    return rows.map((r) => {
      const row = isSentRecord(r) ? this.expected(r) : r;
      return { ...row, data: comparableRow(row.data, types) };
    });
  }

  async #comparableDump(stream: TestStream): Promise<DumpedRow[]> {
    const types = this.#columnTypes(stream);
    return (await this.dump(stream)).map((row) => comparableRow(row, types));
  }

  #fail(
    stream: TestStream,
    what: string | undefined,
    got: number,
    want: number,
    problems: readonly string[],
  ): void {
    if (problems.length === 0) return;
    throw new ConformanceFailure(
      [
        `stream ${stream.label}${what === undefined ? '' : ` ${what}`}: ${got} row(s)${Number.isNaN(want) ? '' : `, ${want} expected`}:`,
        ...problems.slice(0, 30).map((p) => `  - ${p}`),
        ...(problems.length > 30 ? [`  … and ${problems.length - 30} more`] : []),
      ].join('\n'),
    );
  }

  /** Runs `spec` or `check` and checks the protocol invariants; returns the run. */
  async command(
    operation: 'spec' | 'check',
    config: JsonObject = this.config,
  ): Promise<RunDestinationResult> {
    const result = await runDestination({
      ...this.options.connector,
      ...(this.options.mode === undefined ? {} : { mode: this.options.mode }),
      operation,
      config,
      env: this.options.env,
      timeoutMs: this.options.syncTimeoutMs,
    });
    const problems = checkProtocolInvariants({}, result);
    if (problems.length > 0) {
      throw new ConformanceFailure(
        [
          `${operation} broke the protocol:`,
          ...problems.map((p) => `  - ${p}`),
          result.stderr,
        ].join('\n'),
      );
    }
    return result;
  }
}

function idText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value ?? null);
}
