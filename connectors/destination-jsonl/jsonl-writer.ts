/**
 * The JSONL files destination: one directory, one JSON-lines file per stream
 * (`<destination_path>/<namespace or _default>/<stream>.jsonl`), fdatasync'ed before a batch
 * counts as persisted. See docs/connectors/jsonl.md.
 */
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import type { DestinationWriter, StreamLoader } from '../../src/write/destination-writer.js';
import type { RecordEncoder } from '../../src/write/record-encoder.js';
import { TOKENS } from '../../src/write/tokens.js';
import { ensureDirectory } from './durable-files.js';
import { type JsonlConfig, toJsonlConfig } from './jsonl-config.js';
import { fileSystemError } from './jsonl-errors.js';
import { jsonlLine, jsonlLineAround } from './jsonl-line.js';
import { JsonlStreamLoader } from './jsonl-stream-loader.js';
import { StagingBuffers } from './staging-buffers.js';

const JSONL_ENCODER: RecordEncoder = {
  encode: (record) => jsonlLine(record),
  encodeAround: (record) => jsonlLineAround(record),
};

/** Creates `destination_path` when missing; fails with a typed error naming it. */
export async function prepareDestination(destinationPath: string): Promise<void> {
  try {
    await ensureDirectory(destinationPath, true);
  } catch (error) {
    throw fileSystemError(error, 'create the destination directory', destinationPath);
  }
}

@injectable()
export class JsonlWriter implements DestinationWriter {
  readonly config: JsonlConfig;
  /** Shared by every stream's loader: a few buffers for all the sync's staged batches. */
  readonly #staging = new StagingBuffers();

  constructor(
    @inject(TOKENS.Config) config: JsonObject,
    @inject(TOKENS.Logger) readonly logger: Logger,
  ) {
    this.config = toJsonlConfig(config);
  }

  async setup(): Promise<void> {
    await prepareDestination(this.config.destinationPath);
    this.logger.info({ destinationPath: this.config.destinationPath }, 'jsonl destination ready');
  }

  /**
   * Each record's line is made as it arrives, from its data's text (see record-encoder.ts), and
   * reaches the loader as bytes (processEncodedRecords).
   */
  createRecordEncoder(_stream: DestinationStream): RecordEncoder {
    return JSONL_ENCODER;
  }

  createStreamLoader(stream: DestinationStream): StreamLoader {
    return new JsonlStreamLoader(stream, this.config.destinationPath, this.logger, this.#staging);
  }

  async teardown(failure?: unknown): Promise<void> {
    this.logger.info({ failed: failure !== undefined }, 'jsonl destination done');
  }
}
