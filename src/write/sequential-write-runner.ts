/**
 * An in-order write loop over the connector API: the reference behaviour that the task-based
 * pipeline must match, and the runner used until that pipeline exists.
 *
 * Rules it keeps (ARCHITECTURE.md "Sync and checkpoint rules"):
 * - a STATE is echoed only after every record it covers went through the connector to a
 *   PERSISTED or COMPLETE batch; every STATE once, in input order, byte-faithful, with
 *   destinationStats.recordCount (STREAM: records of that stream since its previous state;
 *   GLOBAL/LEGACY: records of all streams since the previous state);
 * - COMPLETE ⇒ flush and close the loader (finalize); INCOMPLETE ⇒ flush and echo, close the
 *   loader with a failure (finalize nothing);
 * - end of input with streams lacking a terminal status ⇒ MissingStreamStatusError;
 * - any failure ⇒ every started loader closed with the failure, teardown with the failure.
 * Memory: records of a stream are held until `batchSizeBytes` of input, then handed over.
 */
import type { Logger } from 'pino';
import type { DestinationCatalog } from '../catalog/destination-catalog.js';
import type { DestinationStream } from '../catalog/destination-stream.js';
import type { Knobs } from '../config/knobs.js';
import { UnknownStreamError } from '../errors/input-errors.js';
import { parseInputLine } from '../protocol/input-message.js';
import { type Line, LineSplitter } from '../protocol/line-splitter.js';
import type { OutputWriter } from '../protocol/output-writer.js';
import { echoStateLine } from '../protocol/state-echo.js';
import type { DestinationRecord, DestinationWriter } from './destination-writer.js';
import {
  type GuardedAccumulator,
  type GuardedStreamLoader,
  GuardedWriter,
} from './guarded-stream-loader.js';
import {
  MissingStreamStatusError,
  RecordAfterEndOfStreamError,
  StreamsIncompleteError,
  SyncCancelledError,
} from './write-errors.js';

export interface WriteRunOptions {
  readonly writer: DestinationWriter;
  readonly catalog: DestinationCatalog;
  readonly input: AsyncIterable<Buffer>;
  readonly output: OutputWriter;
  readonly logger: Logger;
  readonly knobs: Knobs;
  readonly signal?: AbortSignal;
}

/** What a run counted; the report and the logs use it. */
export interface WriteRunStats {
  readonly recordsRead: number;
  readonly bytesRead: number;
  readonly statesEchoed: number;
  readonly perStream: ReadonlyMap<string, { records: number; bytes: number }>;
}

type StreamEnd = 'open' | 'complete' | 'incomplete';

interface StreamSlot {
  readonly stream: DestinationStream;
  readonly loader: GuardedStreamLoader;
  readonly accumulator: GuardedAccumulator;
  pending: DestinationRecord[];
  pendingBytes: number;
  sinceState: number;
  end: StreamEnd;
  records: number;
  bytes: number;
}

class StreamIncompleteFailure extends Error {
  constructor(label: string) {
    super(`stream ${label} ended INCOMPLETE: not finalized`);
  }
}

export async function runSequentialWrite(options: WriteRunOptions): Promise<WriteRunStats> {
  const { catalog, output, logger, knobs, signal } = options;
  const writer = new GuardedWriter(options.writer, knobs.connectorCallTimeoutMs);
  const slots = new Map<string, StreamSlot>();
  let recordsRead = 0;
  let bytesRead = 0;
  let statesEchoed = 0;
  let sinceGlobalState = 0;

  const throwIfCancelled = (): void => {
    if (signal?.aborted) {
      throw new SyncCancelledError(
        'the sync was cancelled before the input was fully processed; nothing was finalized',
        {
          cause: signal.reason,
        },
      );
    }
  };

  /** Hands a stream's pending records to the connector and drives the batch to PERSISTED. */
  const flush = async (slot: StreamSlot, endOfStream: boolean): Promise<void> => {
    if (slot.pending.length === 0 && !endOfStream) return;
    const records = slot.pending;
    const bytes = slot.pendingBytes;
    slot.pending = [];
    slot.pendingBytes = 0;
    let batch = await slot.accumulator.processRecords(records, bytes, endOfStream);
    while (batch.state !== 'PERSISTED' && batch.state !== 'COMPLETE') {
      throwIfCancelled();
      batch = await slot.loader.processBatch(batch);
    }
  };

  const echo = async (raw: Buffer, count: number): Promise<void> => {
    output.writeLine(echoStateLine(raw, count));
    statesEchoed++;
    if (output.blocked) await output.ready();
  };

  const handleLine = async (line: Line): Promise<void> => {
    const message = parseInputLine(line.bytes, line.lineNumber);
    switch (message.kind) {
      case 'record': {
        const { record } = message;
        const stream = catalog.find(record.namespace, record.stream);
        if (stream === undefined)
          throw new UnknownStreamError(line.lineNumber, describe(record.namespace, record.stream));
        const slot = slots.get(stream.key)!;
        if (slot.end !== 'open')
          throw new RecordAfterEndOfStreamError(line.lineNumber, stream.label, stream.descriptor);
        const size = line.bytes.length;
        slot.pending.push({
          stream,
          data: record.data,
          emittedAt: record.emitted_at,
          meta: record.meta,
          sizeBytes: size,
        });
        slot.pendingBytes += size;
        slot.sinceState++;
        slot.records++;
        slot.bytes += size;
        recordsRead++;
        bytesRead += size;
        sinceGlobalState++;
        if (slot.pendingBytes >= knobs.batchSizeBytes) await flush(slot, false);
        return;
      }
      case 'state': {
        const { state } = message;
        if (state.type === 'STREAM') {
          const descriptor = state.stream?.stream_descriptor;
          const stream =
            descriptor === undefined
              ? undefined
              : catalog.find(descriptor.namespace, descriptor.name);
          if (stream === undefined || descriptor === undefined) {
            throw new UnknownStreamError(
              line.lineNumber,
              describe(descriptor?.namespace, descriptor?.name ?? '(none)'),
            );
          }
          const slot = slots.get(stream.key)!;
          await flush(slot, false);
          const count = slot.sinceState;
          slot.sinceState = 0;
          sinceGlobalState -= count;
          await echo(message.raw, count);
        } else {
          for (const slot of slots.values()) {
            await flush(slot, false);
            slot.sinceState = 0;
          }
          const count = sinceGlobalState;
          sinceGlobalState = 0;
          await echo(message.raw, count);
        }
        return;
      }
      case 'stream_status': {
        const { descriptor, status } = message;
        if (status !== 'COMPLETE' && status !== 'INCOMPLETE') return;
        const stream = catalog.find(descriptor.namespace, descriptor.name);
        if (stream === undefined)
          throw new UnknownStreamError(
            line.lineNumber,
            describe(descriptor.namespace, descriptor.name),
          );
        const slot = slots.get(stream.key)!;
        if (slot.end !== 'open') return; // a repeated terminal status changes nothing
        await flush(slot, true);
        slot.end = status === 'COMPLETE' ? 'complete' : 'incomplete';
        await slot.loader.close(
          slot.end === 'complete' ? undefined : new StreamIncompleteFailure(stream.label),
        );
        logger.info({ stream: stream.label, status, records: slot.records }, 'stream ended');
        return;
      }
      case 'ignored':
        return;
    }
  };

  try {
    throwIfCancelled();
    await writer.setup();
    for (const stream of catalog.streams) {
      const loader = await writer.createStreamLoader(stream);
      await loader.start();
      slots.set(stream.key, {
        stream,
        loader,
        accumulator: loader.createBatchAccumulator(),
        pending: [],
        pendingBytes: 0,
        sinceState: 0,
        end: 'open',
        records: 0,
        bytes: 0,
      });
    }
    const splitter = new LineSplitter({ maxLineBytes: knobs.maxLineBytes });
    for await (const chunk of options.input) {
      throwIfCancelled();
      splitter.push(chunk);
      for (let line = splitter.next(); line !== undefined; line = splitter.next())
        await handleLine(line);
    }
    const last = splitter.end();
    if (last !== undefined) await handleLine(last);
    throwIfCancelled();

    const unterminated = [...slots.values()]
      .filter((s) => s.end === 'open')
      .map((s) => s.stream.label);
    if (unterminated.length > 0) throw new MissingStreamStatusError(unterminated);
    await writer.teardown();
    const incomplete = [...slots.values()]
      .filter((s) => s.end === 'incomplete')
      .map((s) => s.stream.label);
    if (incomplete.length > 0) throw new StreamsIncompleteError(incomplete);
  } catch (error) {
    await failAll(slots, writer, error, logger);
    throw error;
  }
  return {
    recordsRead,
    bytesRead,
    statesEchoed,
    perStream: new Map(
      [...slots.values()].map((s) => [s.stream.label, { records: s.records, bytes: s.bytes }]),
    ),
  };
}

/** Closes every started loader and tears down, all with the failure; later errors are logged. */
async function failAll(
  slots: Map<string, StreamSlot>,
  writer: GuardedWriter,
  failure: unknown,
  logger: Logger,
): Promise<void> {
  for (const slot of slots.values()) {
    try {
      await slot.loader.close(failure);
    } catch (error) {
      logger.warn(
        { err: error, stream: slot.stream.label },
        'closing a stream loader after a failure failed too',
      );
    }
  }
  try {
    await writer.teardown(failure);
  } catch (error) {
    logger.warn({ err: error }, 'teardown after a failure failed too');
  }
}

function describe(namespace: string | null | undefined, name: string): string {
  return namespace ? `${namespace}.${name}` : name;
}
