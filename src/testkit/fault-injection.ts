/**
 * Fault plans for any connector: make the Nth call of a writer or loader method fail, make calls
 * slow, or kill the process after the Kth echoed state. `withFaults` wraps a connector
 * definition so that its DestinationWriter (and every StreamLoader and BatchAccumulator it hands
 * out) obeys the `fail` and `slow` plans; `kill` plans are carried out by the harness
 * (`runDestination({killAfterStates})`, see `harnessFaults`).
 *
 * What an injected failure does, by method:
 * - setup, createStreamLoader, start, processRecords, processBatch: throws before the
 *   connector's method runs, so nothing of that call happens;
 * - close, teardown: first calls the connector's method *with the injected failure* (so it
 *   finalizes nothing and releases what it holds), then throws.
 * Counting is per sync (per DI container): the Nth call of the method, or of the method for one
 * stream when the plan names a stream label.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerModule } from 'inversify';
import type { DestinationStream } from '../catalog/destination-stream.js';
import { ConfigError, SystemError, TransientError } from '../errors/destkit-error.js';
import type { ConnectorDefinition } from '../write/connector-definition.js';
import type {
  Batch,
  BatchAccumulator,
  DestinationRecord,
  DestinationWriter,
  StreamLoader,
} from '../write/destination-writer.js';
import { TOKENS } from '../write/tokens.js';

export type ConnectorMethod =
  | 'setup'
  | 'createStreamLoader'
  | 'start'
  | 'processRecords'
  | 'processBatch'
  | 'close'
  | 'teardown';

export const CONNECTOR_METHODS: readonly ConnectorMethod[] = Object.freeze([
  'setup',
  'createStreamLoader',
  'start',
  'processRecords',
  'processBatch',
  'close',
  'teardown',
]);

/** The class of an injected failure: ConfigError, TransientError, SystemError or a plain Error. */
export type FaultFailureKind = 'config' | 'transient' | 'system' | 'plain';

/** The TRACE failure_type each kind must end up as. */
export const FAULT_FAILURE_TYPES = Object.freeze({
  config: 'config_error',
  transient: 'transient_error',
  system: 'system_error',
  plain: 'system_error',
} as const);

export type FaultPlan =
  | {
      readonly kind: 'fail';
      readonly method: ConnectorMethod;
      /** 1-based. */
      readonly nth: number;
      readonly failure: FaultFailureKind;
      /** Count only the calls for this stream label (`namespace.name` or `name`). */
      readonly stream?: string;
    }
  | {
      readonly kind: 'slow';
      /** Milliseconds added before each call. */
      readonly delayMs: number;
      /** The methods to slow down. Default: every loader method. */
      readonly methods?: readonly ConnectorMethod[];
    }
  | {
      readonly kind: 'kill';
      /** Kill the connector process once this many states were echoed. */
      readonly afterStates: number;
    };

/** Errors thrown by fault plans carry this code. */
export const INJECTED_FAULT_CODE = 'TESTKIT_INJECTED_FAULT';

export class InjectedConfigError extends ConfigError {
  override readonly code = INJECTED_FAULT_CODE;
}
export class InjectedTransientError extends TransientError {
  override readonly code = INJECTED_FAULT_CODE;
}
export class InjectedSystemError extends SystemError {
  override readonly code = INJECTED_FAULT_CODE;
}

/** The classes of the failure kinds that are destkit errors (`plain` is a plain Error). */
export interface FailureClasses {
  readonly config: new (message: string) => Error;
  readonly transient: new (message: string) => Error;
  readonly system: new (message: string) => Error;
}

/** An error of `kind`, made with `classes`. */
export function failureOfKind(
  kind: FaultFailureKind,
  message: string,
  classes: FailureClasses,
): Error {
  return kind === 'plain' ? new Error(message) : new classes[kind](message);
}

const INJECTED_CLASSES: FailureClasses = {
  config: InjectedConfigError,
  transient: InjectedTransientError,
  system: InjectedSystemError,
};

/** The error a `fail` plan throws; its message names the call. */
export function injectedFault(kind: FaultFailureKind, where: string): Error {
  return failureOfKind(kind, `test kit: injected ${kind} failure in ${where}`, INJECTED_CLASSES);
}

/** The harness options a list of plans asks for (the `kill` plan). */
export function harnessFaults(plans: readonly FaultPlan[]): { killAfterStates?: number } {
  const kill = plans.find((p) => p.kind === 'kill');
  return kill === undefined ? {} : { killAfterStates: kill.afterStates };
}

/** Counts calls and decides, per call, what the plans say. One per sync. */
class FaultInjector {
  readonly #counts = new Map<string, number>();
  readonly #fired = new Set<FaultPlan>();

  constructor(private readonly plans: readonly FaultPlan[]) {}

  /** Counts the call, waits when slowed, and returns the error to throw, if any. */
  async enter(method: ConnectorMethod, stream: string | undefined): Promise<Error | undefined> {
    const n = this.#bump(method, undefined);
    const perStream = stream === undefined ? undefined : this.#bump(method, stream);
    for (const plan of this.plans) {
      if (plan.kind === 'slow' && (plan.methods ?? CONNECTOR_METHODS).includes(method))
        await sleep(plan.delayMs);
    }
    for (const plan of this.plans) {
      if (plan.kind !== 'fail' || plan.method !== method || this.#fired.has(plan)) continue;
      if (plan.stream !== undefined && plan.stream !== stream) continue;
      const count = plan.stream === undefined ? n : perStream;
      if (count === plan.nth) {
        this.#fired.add(plan);
        const where = `${method} #${plan.nth}${stream === undefined ? '' : ` of stream ${stream}`}`;
        return injectedFault(plan.failure, where);
      }
    }
    return undefined;
  }

  #bump(method: ConnectorMethod, stream: string | undefined): number {
    const key = stream === undefined ? method : `${method}\u0000${stream}`;
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    return n;
  }
}

class FaultyWriter implements DestinationWriter {
  constructor(
    private readonly inner: DestinationWriter,
    private readonly faults: FaultInjector,
  ) {}

  async setup(): Promise<void> {
    const error = await this.faults.enter('setup', undefined);
    if (error !== undefined) throw error;
    await this.inner.setup();
  }

  async createStreamLoader(stream: DestinationStream): Promise<StreamLoader> {
    const error = await this.faults.enter('createStreamLoader', stream.label);
    if (error !== undefined) throw error;
    return new FaultyLoader(await this.inner.createStreamLoader(stream), this.faults);
  }

  async teardown(failure?: unknown): Promise<void> {
    const error = await this.faults.enter('teardown', undefined);
    const cause = failure ?? error;
    await (cause === undefined ? this.inner.teardown() : this.inner.teardown(cause));
    if (error !== undefined) throw error;
  }
}

class FaultyLoader implements StreamLoader {
  readonly stream: DestinationStream;

  constructor(
    private readonly inner: StreamLoader,
    private readonly faults: FaultInjector,
  ) {
    this.stream = inner.stream;
  }

  async start(): Promise<void> {
    const error = await this.faults.enter('start', this.stream.label);
    if (error !== undefined) throw error;
    await this.inner.start();
  }

  createBatchAccumulator(): BatchAccumulator {
    return new FaultyAccumulator(this.inner.createBatchAccumulator(), this.stream, this.faults);
  }

  async processBatch(batch: Batch): Promise<Batch> {
    const error = await this.faults.enter('processBatch', this.stream.label);
    if (error !== undefined) throw error;
    return this.inner.processBatch(batch);
  }

  async close(failure?: unknown): Promise<void> {
    const error = await this.faults.enter('close', this.stream.label);
    const cause = failure ?? error;
    await (cause === undefined ? this.inner.close() : this.inner.close(cause));
    if (error !== undefined) throw error;
  }
}

class FaultyAccumulator implements BatchAccumulator {
  constructor(
    private readonly inner: BatchAccumulator,
    private readonly stream: DestinationStream,
    private readonly faults: FaultInjector,
  ) {}

  async processRecords(
    records: Iterable<DestinationRecord>,
    sizeBytes: number,
    endOfStream: boolean,
  ): Promise<Batch> {
    const error = await this.faults.enter('processRecords', this.stream.label);
    if (error !== undefined) throw error;
    return this.inner.processRecords(records, sizeBytes, endOfStream);
  }
}

/** The definition with its writer wrapped by the `fail` and `slow` plans. */
export function withFaults(
  definition: ConnectorDefinition,
  plans: FaultPlan | readonly FaultPlan[],
): ConnectorDefinition {
  const list: readonly FaultPlan[] = Array.isArray(plans) ? plans : [plans as FaultPlan];
  return {
    ...definition,
    module: new ContainerModule(async (options) => {
      await definition.module.load(options);
      options.onActivation<DestinationWriter>(
        TOKENS.DestinationWriter,
        (_context, writer) => new FaultyWriter(writer, new FaultInjector(list)),
      );
    }),
  };
}
