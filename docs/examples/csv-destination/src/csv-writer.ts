/**
 * The CSV destination: one file per stream, `<destination_path>/<namespace>/<stream>.csv`.
 *
 * - Append: lines are appended to the stream file and fsync'ed in `processBatch`, which then
 *   returns COMPLETE — destkit echoes a state only after that.
 * - Truncate refresh (`stream.shouldTruncate`): lines go to a temp file of the generation;
 *   `close()` without a failure renames it over the stream file; `close(failure)` keeps it, so
 *   the next attempt of the same generation resumes it.
 * - Deduplication is not supported: an append_dedup stream is a config_error.
 */
import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  ConfigError,
  type DestinationRecord,
  type DestinationStream,
  type DestinationWriter,
  type JsonObject,
  type Logger,
  type StreamLoader,
} from 'destkit';
import {
  appendDurably,
  deleteOtherGenerations,
  ensureDirectory,
  repairTail,
  streamFile,
  tempFile,
} from './csv-files.js';
import { CSV_HEADER, recordLine } from './csv-format.js';

/** Records serialized by `processRecords`, appended by `processBatch`. */
class CsvLines implements Batch {
  readonly state = 'STAGED' as const;
  constructor(readonly text: string) {}
}

export class CsvStreamLoader implements StreamLoader, BatchAccumulator {
  readonly file: string;
  /** The file this sync appends to: the stream file, or the temp file of a refresh. */
  readonly target: string;

  constructor(
    readonly stream: DestinationStream,
    root: string,
    private readonly logger: Logger,
  ) {
    this.file = streamFile(root, stream.namespace, stream.name);
    this.target = stream.shouldTruncate ? tempFile(this.file, stream.generationId ?? 0) : this.file;
  }

  async start(): Promise<void> {
    await ensureDirectory(dirname(this.file));
    if (this.stream.shouldTruncate)
      await deleteOtherGenerations(this.file, this.stream.generationId ?? 0);
    // A new (or emptied) file starts with the header; an existing one is resumed.
    if ((await repairTail(this.target)) <= 0) await appendDurably(this.target, CSV_HEADER);
  }

  createBatchAccumulator(): BatchAccumulator {
    return this;
  }

  async processRecords(records: Iterable<DestinationRecord>): Promise<Batch> {
    let text = '';
    for (const record of records) text += recordLine(record);
    return text === '' ? COMPLETE_BATCH : new CsvLines(text);
  }

  async processBatch(batch: Batch): Promise<Batch> {
    if (batch instanceof CsvLines) await appendDurably(this.target, batch.text);
    return COMPLETE_BATCH;
  }

  async close(failure?: unknown): Promise<void> {
    if (failure !== undefined) {
      this.logger.info({ file: this.target }, 'csv stream not complete: nothing finalized');
      return;
    }
    if (this.stream.shouldTruncate) await rename(this.target, this.file);
    this.logger.info({ file: this.file }, 'csv stream complete');
  }
}

export class CsvWriter implements DestinationWriter {
  readonly root: string;

  constructor(
    config: JsonObject,
    private readonly logger: Logger,
  ) {
    this.root = config.destination_path as string;
  }

  async setup(): Promise<void> {
    await ensureDirectory(this.root);
  }

  createStreamLoader(stream: DestinationStream): StreamLoader {
    if (stream.importType.kind === 'dedupe') {
      throw new ConfigError(
        `stream ${stream.label}: the CSV destination cannot deduplicate; use append`,
      );
    }
    return new CsvStreamLoader(stream, this.root, this.logger);
  }

  async teardown(): Promise<void> {}
}
