/**
 * dev-null: receives every record parsed and validated exactly as any connector does, then
 * drops it. Modes add logging (metadata only), a slow destination, or an injected failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import {
  ConfigError,
  type DestkitError,
  SystemError,
  TransientError,
} from '../../src/errors/destkit-error.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import type {
  Batch,
  BatchAccumulator,
  DestinationRecord,
  DestinationWriter,
  StreamLoader,
} from '../../src/write/destination-writer.js';
import { TOKENS } from '../../src/write/tokens.js';
import { type DevNullConfig, toDevNullConfig } from './dev-null-config.js';

const PERSISTED: Batch = Object.freeze({ state: 'COMPLETE' });

function injectedFailure(config: DevNullConfig): DestkitError {
  const message = config.failureMessage;
  switch (config.failureType) {
    case 'config_error':
      return new ConfigError(message);
    case 'transient_error':
      return new TransientError(message);
    case 'system_error':
      return new SystemError(message);
  }
}

@injectable()
export class DevNullWriter implements DestinationWriter {
  readonly config: DevNullConfig;
  /** Records received over all streams; the failing mode counts against it. */
  received = 0;

  constructor(
    @inject(TOKENS.Config) config: JsonObject,
    @inject(TOKENS.Logger) readonly logger: Logger,
  ) {
    this.config = toDevNullConfig(config);
  }

  async setup(): Promise<void> {
    this.logger.info({ mode: this.config.mode }, 'dev-null ready');
  }

  createStreamLoader(stream: DestinationStream): StreamLoader {
    return new DevNullStreamLoader(stream, this);
  }

  async teardown(failure?: unknown): Promise<void> {
    this.logger.info({ received: this.received, failed: failure !== undefined }, 'dev-null done');
  }
}

class DevNullStreamLoader implements StreamLoader, BatchAccumulator {
  constructor(
    readonly stream: DestinationStream,
    private readonly writer: DevNullWriter,
  ) {}

  async start(): Promise<void> {}

  createBatchAccumulator(): BatchAccumulator {
    return this;
  }

  async processRecords(
    records: Iterable<DestinationRecord>,
    _sizeBytes: number,
    _endOfStream: boolean,
  ): Promise<Batch> {
    const { config, logger } = this.writer;
    for (const record of records) {
      this.writer.received++;
      if (config.mode === 'failing' && this.writer.received > config.failAfterRecords) {
        throw injectedFailure(config);
      }
      if (config.mode === 'logging' && this.writer.received % config.logEvery === 0) {
        // Metadata only: record data is never logged.
        logger.info(
          {
            stream: this.stream.label,
            received: this.writer.received,
            emittedAt: record.emittedAt,
            bytes: record.sizeBytes,
          },
          'dev-null record',
        );
      }
    }
    if (config.mode === 'throttled' && config.millisPerBatch > 0)
      await sleep(config.millisPerBatch);
    return PERSISTED;
  }

  async processBatch(batch: Batch): Promise<Batch> {
    return batch;
  }

  async close(): Promise<void> {}
}
