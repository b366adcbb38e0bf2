/**
 * The wrapper through which destkit calls connector code. It guarantees: `start` once;
 * `close` once and only after a successful `start`; a timeout on every call; and errors
 * classified — a connector's DestkitError passes through as it is, anything else becomes a
 * SystemError that keeps the connector's message and names the call and the stream.
 */
import type { DestinationStream } from '../catalog/destination-stream.js';
import { DestkitError, SystemError, TransientError } from '../errors/destkit-error.js';
import type {
  Batch,
  BatchAccumulator,
  DestinationRecord,
  DestinationWriter,
  StreamLoader,
} from './destination-writer.js';
import type { EncodedRecords, RecordEncoder } from './record-encoder.js';

/** A non-destkit error raised by connector code. */
export class ConnectorCallError extends SystemError {
  override readonly code = 'CONNECTOR_CALL_FAILED';
}

/** A connector call that did not settle within its timeout. */
export class ConnectorTimeoutError extends TransientError {
  override readonly code = 'CONNECTOR_CALL_TIMEOUT';
}

/** Misuse of the loader lifecycle (a destkit bug, never a connector's). */
export class LoaderLifecycleError extends SystemError {
  override readonly code = 'LOADER_LIFECYCLE';
}

/** A connector call's failure: a DestkitError as it is, anything else as ConnectorCallError. */
function connectorFailure(
  where: string,
  stream: DestinationStream | undefined,
  error: unknown,
): DestkitError {
  if (error instanceof DestkitError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectorCallError(`connector call ${where} failed: ${message}`, {
    cause: error,
    stream: stream?.descriptor,
  });
}

/** `what`, and the stream it is for (built only when a message needs it). */
function callSite(what: string, stream: DestinationStream | undefined): string {
  return stream === undefined ? what : `${what} for stream ${stream.label}`;
}

/**
 * Runs one connector call with a timeout and classification. `fn` runs on a later microtask,
 * never inside the caller's own turn. One promise and one timer per call, no `Promise.race`:
 * a sync of many streams makes several calls per stream and per batch (see
 * docs/performance.md).
 */
export function callConnector<T>(
  what: string,
  stream: DestinationStream | undefined,
  timeoutMs: number,
  fn: () => T | Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(
        new ConnectorTimeoutError(
          `connector call ${callSite(what, stream)} did not finish within ${timeoutMs} ms`,
          { stream: stream?.descriptor },
        ),
      );
    }, timeoutMs);
    timer.unref?.();
    const fulfilled = (value: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const failed = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(connectorFailure(callSite(what, stream), stream, error));
    };
    queueMicrotask(() => {
      try {
        Promise.resolve(fn()).then(fulfilled, failed);
      } catch (error) {
        failed(error);
      }
    });
  });
}

type LoaderPhase = 'new' | 'starting' | 'started' | 'start-failed' | 'closed';

export class GuardedStreamLoader {
  private phase: LoaderPhase = 'new';

  constructor(
    private readonly loader: StreamLoader,
    readonly stream: DestinationStream,
    private readonly timeoutMs: number,
  ) {}

  get started(): boolean {
    return this.phase === 'started';
  }

  async start(): Promise<void> {
    if (this.phase !== 'new')
      throw new LoaderLifecycleError(`stream ${this.stream.label}: start called twice`);
    this.phase = 'starting';
    try {
      await callConnector('start', this.stream, this.timeoutMs, () => this.loader.start());
      this.phase = 'started';
    } catch (error) {
      this.phase = 'start-failed';
      throw error;
    }
  }

  createBatchAccumulator(): GuardedAccumulator {
    this.requireStarted('createBatchAccumulator');
    return new GuardedAccumulator(
      this.loader.createBatchAccumulator(),
      this.stream,
      this.timeoutMs,
    );
  }

  async processBatch(batch: Batch): Promise<Batch> {
    this.requireStarted('processBatch');
    return callConnector('processBatch', this.stream, this.timeoutMs, () =>
      this.loader.processBatch(batch),
    );
  }

  /** Closes once; a no-op (returning false) when never started, start failed, or already closed. */
  async close(failure?: unknown): Promise<boolean> {
    if (this.phase !== 'started') return false;
    this.phase = 'closed';
    await callConnector('close', this.stream, this.timeoutMs, () =>
      failure === undefined ? this.loader.close() : this.loader.close(failure),
    );
    return true;
  }

  private requireStarted(what: string): void {
    if (this.phase !== 'started') {
      throw new LoaderLifecycleError(
        `stream ${this.stream.label}: ${what} called while the loader is ${this.phase}`,
      );
    }
  }
}

export class GuardedAccumulator {
  constructor(
    private readonly accumulator: BatchAccumulator,
    private readonly stream: DestinationStream,
    private readonly timeoutMs: number,
  ) {}

  processRecords(
    records: Iterable<DestinationRecord>,
    sizeBytes: number,
    endOfStream: boolean,
  ): Promise<Batch> {
    return callConnector('processRecords', this.stream, this.timeoutMs, () =>
      this.accumulator.processRecords(records, sizeBytes, endOfStream),
    );
  }

  processEncodedRecords(
    records: EncodedRecords,
    sizeBytes: number,
    endOfStream: boolean,
  ): Promise<Batch> {
    return callConnector('processEncodedRecords', this.stream, this.timeoutMs, () => {
      const { accumulator } = this;
      if (accumulator.processEncodedRecords === undefined) {
        throw new ConnectorCallError(
          'the writer has a record encoder, but the batch accumulator has no processEncodedRecords',
          { stream: this.stream.descriptor },
        );
      }
      return accumulator.processEncodedRecords(records, sizeBytes, endOfStream);
    });
  }
}

/** Wraps a DestinationWriter: setup once, teardown once, every call timed and classified. */
export class GuardedWriter {
  private setupDone = false;
  private tornDown = false;

  constructor(
    private readonly writer: DestinationWriter,
    private readonly timeoutMs: number,
  ) {}

  async setup(): Promise<void> {
    await callConnector('setup', undefined, this.timeoutMs, () => this.writer.setup());
    this.setupDone = true;
  }

  async createStreamLoader(stream: DestinationStream): Promise<GuardedStreamLoader> {
    const loader = await callConnector('createStreamLoader', stream, this.timeoutMs, () =>
      this.writer.createStreamLoader(stream),
    );
    return new GuardedStreamLoader(loader, stream, this.timeoutMs);
  }

  /** Tears down once; returns false when it already ran. */
  async teardown(failure?: unknown): Promise<boolean> {
    if (this.tornDown) return false;
    this.tornDown = true;
    await callConnector('teardown', undefined, this.timeoutMs, () =>
      failure === undefined ? this.writer.teardown() : this.writer.teardown(failure),
    );
    return true;
  }

  get wasSetUp(): boolean {
    return this.setupDone;
  }

  /** Whether the writer encodes records itself (`createRecordEncoder`). */
  get encodesRecords(): boolean {
    return typeof this.writer.createRecordEncoder === 'function';
  }

  /**
   * The stream's record encoder (synchronous: called for every stream when the first encoded run
   * arrives); a failure is the connector's, named with the stream.
   */
  createRecordEncoder(stream: DestinationStream): RecordEncoder {
    try {
      const encoder = this.writer.createRecordEncoder?.(stream);
      if (typeof encoder?.encode !== 'function') throw new Error('it returned no encoder');
      return encoder;
    } catch (error) {
      throw connectorFailure(`createRecordEncoder for stream ${stream.label}`, stream, error);
    }
  }
}
