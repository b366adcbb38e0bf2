/**
 * Loads one stream into `<destination_path>/<namespace>/<stream>.jsonl`.
 *
 * - Append (append, append_dedup, update, soft_delete — a file cannot deduplicate): the lines go
 *   straight to the stream file.
 * - Truncate (`stream.shouldTruncate`): the lines go to `<stream>.jsonl.gen-<generation>.tmp`
 *   next to it (generation 0 when the catalog has none). `close()` without a failure renames it
 *   over the stream file; `close(failure)` keeps it, so that a retry of the same generation
 *   resumes it; `start()` deletes temp files of other generations.
 *
 * Batches: `processRecords` serializes records into a STAGED batch (CPU only, safe from several
 * workers at once); `processBatch` appends and fdatasyncs it under the stream's mutex and
 * returns COMPLETE. Lines of one batch stay together; batches land in the order they persist.
 * A failed append is cut back to the last persisted byte, and `start()` removes an unterminated
 * last line left by a crash, so the file always holds whole lines.
 */
import { readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Mutex } from 'async-mutex';
import type { Logger } from 'pino';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import { errnoCode } from '../../src/errors/errno.js';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  type DestinationRecord,
  type StreamLoader,
} from '../../src/write/destination-writer.js';
import type { EncodedRecords } from '../../src/write/record-encoder.js';
import {
  appendDurably,
  ensureDirectory,
  repairTail,
  syncDirectory,
  truncateDurably,
} from './durable-files.js';
import { fileSystemError, JsonlIoError } from './jsonl-errors.js';
import { jsonlLines } from './jsonl-line.js';
import {
  type StreamFileLocation,
  streamFileLocation,
  tempFileGeneration,
  tempFileName,
} from './safe-names.js';
import { StagingBuffers } from './staging-buffers.js';

/** What an appended batch holds instead of its lines. */
const APPENDED = Buffer.alloc(0);

/** Serialized lines waiting to be appended. */
class StagedLines implements Batch {
  readonly state = 'STAGED' as const;
  /** Set once appended, so that a repeated processBatch never appends twice. */
  appended = false;

  constructor(
    /** The lines; let go once appended (the batch may be kept a while after). */
    public bytes: Buffer,
    readonly records: number,
    /** The staging buffer `bytes` lies in, given back once appended (none: its own buffer). */
    public staging: Buffer | undefined = undefined,
  ) {}
}

export class JsonlStreamLoader implements StreamLoader, BatchAccumulator {
  readonly location: StreamFileLocation;
  /** The file this sync appends to: the stream file, or the temp file when truncating. */
  readonly target: string;
  private readonly generation: number;
  private readonly logger: Logger;
  /** Serializes appends, rollbacks and the final rename of this stream's file. */
  private readonly mutex = new Mutex();
  /** Bytes of `target` that are durable and whole lines; a failed append is cut back to it. */
  private persistedBytes = 0;
  /** Whether `target` has a durable directory entry. */
  private targetExists = false;
  private recordsWritten = 0;

  constructor(
    readonly stream: DestinationStream,
    destinationPath: string,
    logger: Logger,
    /** Where staged batches' buffers come from and go back to (the writer shares one). */
    private readonly staging: StagingBuffers = new StagingBuffers(),
  ) {
    this.location = streamFileLocation(destinationPath, stream.namespace, stream.name);
    this.generation = stream.generationId ?? 0;
    this.target = stream.shouldTruncate
      ? join(this.location.directory, tempFileName(this.location.baseName, this.generation))
      : this.location.file;
    this.logger = logger.child({ stream: stream.label });
  }

  async start(): Promise<void> {
    const { directory } = this.location;
    try {
      await ensureDirectory(directory, false);
    } catch (error) {
      throw this.fsError(error, 'create the namespace directory', directory);
    }
    if (this.stream.shouldTruncate) await this.discardOtherGenerations();
    let repaired: Awaited<ReturnType<typeof repairTail>>;
    try {
      repaired = await repairTail(this.target);
    } catch (error) {
      throw this.fsError(error, 'open', this.target);
    }
    if (repaired.droppedBytes > 0) {
      this.logger.warn(
        { file: this.target, droppedBytes: repaired.droppedBytes },
        'removed an unterminated last line left by an interrupted earlier write',
      );
    }
    this.persistedBytes = repaired.size;
    this.targetExists = repaired.exists;
    this.logger.info(
      {
        file: this.target,
        truncate: this.stream.shouldTruncate,
        resumedBytes: this.stream.shouldTruncate ? repaired.size : undefined,
      },
      'jsonl stream started',
    );
  }

  createBatchAccumulator(): BatchAccumulator {
    return this; // no per-worker state: serialization is pure, appends are serialized
  }

  async processRecords(
    records: Iterable<DestinationRecord>,
    _sizeBytes: number,
    _endOfStream: boolean,
  ): Promise<Batch> {
    const lines = jsonlLines(records);
    return lines.records === 0 ? COMPLETE_BATCH : new StagedLines(lines.bytes, lines.records);
  }

  /** The lines the record encoder made as records arrived, copied once: a STAGED batch. */
  async processEncodedRecords(
    records: EncodedRecords,
    sizeBytes: number,
    _endOfStream: boolean,
  ): Promise<Batch> {
    if (records.count === 0) return COMPLETE_BATCH;
    // The lines and their newlines: the exact size, unless a caller counts otherwise.
    let bytes = this.staging.take(sizeBytes + records.count);
    let used = 0;
    for (const chunk of records.chunks) {
      if (bytes.length - used < chunk.length) {
        const grown = this.staging.take(Math.max(2 * bytes.length, used + chunk.length));
        bytes.copy(grown, 0, 0, used);
        this.staging.give(bytes);
        bytes = grown;
      }
      used += chunk.copy(bytes, used);
    }
    return new StagedLines(bytes.subarray(0, used), records.count, bytes);
  }

  async processBatch(batch: Batch): Promise<Batch> {
    if (!(batch instanceof StagedLines)) {
      if (batch.state === 'PERSISTED' || batch.state === 'COMPLETE') return batch;
      throw new JsonlIoError(
        `stream ${this.stream.label}: processBatch received a ${batch.state} batch that this loader did not make`,
        { stream: this.stream.descriptor },
      );
    }
    return this.mutex.runExclusive(async () => {
      if (batch.appended) return COMPLETE_BATCH;
      try {
        await appendDurably(this.target, batch.bytes);
        if (!this.targetExists) await syncDirectory(this.location.directory);
      } catch (error) {
        await this.rollBack();
        throw this.fsError(error, 'append to', this.target);
      }
      this.targetExists = true;
      this.persistedBytes += batch.bytes.length;
      this.recordsWritten += batch.records;
      batch.appended = true;
      batch.bytes = APPENDED;
      if (batch.staging !== undefined) this.staging.give(batch.staging);
      batch.staging = undefined;
      return COMPLETE_BATCH;
    });
  }

  async close(failure?: unknown): Promise<void> {
    await this.mutex.runExclusive(async () => {
      if (failure !== undefined) {
        this.logger.info(
          { file: this.target, records: this.recordsWritten, kept: this.stream.shouldTruncate },
          this.stream.shouldTruncate
            ? 'jsonl stream not complete: the stream file is untouched, the temp file is kept for a retry'
            : 'jsonl stream not complete: appended lines stay',
        );
        return;
      }
      const { directory, file } = this.location;
      try {
        // A COMPLETE stream always has its file, an empty one when it had no records.
        if (!this.targetExists) await appendDurably(this.target, Buffer.alloc(0));
        if (this.stream.shouldTruncate) await rename(this.target, file);
        if (!this.targetExists || this.stream.shouldTruncate) await syncDirectory(directory);
      } catch (error) {
        throw this.fsError(error, 'finalize', file);
      }
      this.targetExists = true;
      this.logger.info(
        { file, records: this.recordsWritten, replaced: this.stream.shouldTruncate },
        'jsonl stream complete',
      );
    });
  }

  /** Deletes this stream's temp files of other generations (older refreshes that never ended). */
  private async discardOtherGenerations(): Promise<void> {
    const { directory, baseName } = this.location;
    let entries: string[];
    try {
      entries = await readdir(directory);
    } catch (error) {
      throw this.fsError(error, 'list', directory);
    }
    for (const entry of entries) {
      const generation = tempFileGeneration(baseName, entry);
      if (generation === undefined || generation === this.generation) continue;
      const path = join(directory, entry);
      try {
        await unlink(path);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') continue;
        throw this.fsError(error, 'delete the stale temp file', path);
      }
      this.logger.info({ file: path, generation }, 'deleted the temp file of another generation');
    }
  }

  /** Cuts the target back to its last persisted byte after a failed append; best effort. */
  private async rollBack(): Promise<void> {
    try {
      await truncateDurably(this.target, this.persistedBytes);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      this.logger.warn(
        { file: this.target, err: error },
        'could not cut back a failed append; the next start removes an unterminated line',
      );
    }
  }

  private fsError(error: unknown, action: string, path: string): Error {
    return fileSystemError(error, action, path, this.stream.descriptor);
  }
}
