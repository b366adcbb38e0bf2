/**
 * The bench connector of the STATE echo latency row (`lib/state-latency.ts`): discards records
 * like dev-null, but completes every batch in `processBatch` and notes when (epoch ms, sub-ms
 * precision) and how many records it held. The notes are written to `config.persist_log` (JSON
 * lines) at teardown, not on the way, so that noting costs the sync nothing measurable.
 * Run as `destkit dist/test/bench/persist-clock-connector.js write …`.
 */
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  ContainerModule,
  type DestinationRecord,
  type DestinationStream,
  type DestinationWriter,
  defineConnector,
  type JsonObject,
  type StreamLoader,
  TOKENS,
} from '../../src/index.js';
import type { PersistEvent } from './lib/state-latency.js';

/** A batch that knows how many records it holds, for the persist note. */
interface CountedBatch extends Batch {
  readonly records: number;
}

class PersistClockWriter implements DestinationWriter {
  readonly persists: PersistEvent[] = [];

  constructor(private readonly logPath: string) {}

  async setup(): Promise<void> {}

  createStreamLoader(stream: DestinationStream): StreamLoader {
    return new PersistClockLoader(stream, this.persists);
  }

  async teardown(): Promise<void> {
    await writeFile(this.logPath, this.persists.map((p) => `${JSON.stringify(p)}\n`).join(''));
  }
}

class PersistClockLoader implements StreamLoader, BatchAccumulator {
  constructor(
    readonly stream: DestinationStream,
    private readonly persists: PersistEvent[],
  ) {}

  async start(): Promise<void> {}

  createBatchAccumulator(): BatchAccumulator {
    return this;
  }

  async processRecords(records: Iterable<DestinationRecord>): Promise<Batch> {
    let count = 0;
    for (const _ of records) count++;
    const batch: CountedBatch = { state: 'STAGED', records: count };
    return batch;
  }

  async processBatch(batch: Batch): Promise<Batch> {
    const records = (batch as Partial<CountedBatch>).records;
    if (records === undefined)
      throw new Error('processBatch got a batch processRecords did not make');
    this.persists.push({ at: performance.timeOrigin + performance.now(), records });
    return COMPLETE_BATCH;
  }

  async close(): Promise<void> {}
}

export const connector = defineConnector({
  name: 'persist-clock',
  spec: {
    supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
    connectionSpecification: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 'persist-clock bench destination',
      type: 'object',
      additionalProperties: false,
      required: ['persist_log'],
      properties: {
        persist_log: {
          type: 'string',
          title: 'Where to write the persist notes (JSON lines) at the end of the sync',
          minLength: 1,
        },
      },
    },
  },
  module: new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).toDynamicValue(
      (context) =>
        new PersistClockWriter(context.get<JsonObject>(TOKENS.Config).persist_log as string),
    );
  }),
});

export default connector;
