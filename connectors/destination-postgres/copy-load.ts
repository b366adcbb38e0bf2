/**
 * Streams the COPY data of one batch into PostgreSQL while it is being encoded: records are
 * encoded into chunks of about CHUNK_BYTES bytes, each written to the COPY stream as soon as it
 * is ready; the encoder waits only when the connection's buffers are full. So the connector
 * encodes the next chunk on one core while the server parses the previous one on another.
 *
 * Each line is written as UTF-8 into the chunk's buffer as soon as it is encoded, so the line
 * strings die young (a chunk built as one string kept ~500 lines alive across minor garbage
 * collections, and had to be flattened and encoded again when written).
 *
 * The chunks of a batch are kept (up to a limit) so that a retry after a lost connection can
 * send them again: the records come from a one-pass iterator and cannot be read twice.
 */
import { finished } from 'node:stream/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DestinationRecord } from '../../src/write/destination-writer.js';
import type { CopyRowEncoder } from './copy-encoder.js';

/** Bytes per chunk written to the COPY stream. */
export const CHUNK_BYTES = 256 * 1024;
/** The COPY stream buffers up to this many bytes before the writer waits. */
const COPY_HIGH_WATER_MARK = 1024 * 1024;
/** Chunks written without waiting before the encoder yields to the event loop. */
const CHUNKS_PER_YIELD = 8;
/** Bytes of encoded chunks kept per batch for a replay; beyond it, no retry. */
export const DEFAULT_REPLAY_LIMIT_BYTES = 32 * 1024 * 1024;

/** The encoded chunks of one batch: produced lazily from the records, kept for a replay. */
export class EncodedBatch {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private keeping = true;
  private produced = 0;
  private pending: DestinationRecord | undefined;
  /** An encoded line that did not fit in the last chunk: the next chunk starts with it. */
  private pendingLine: string | undefined;
  /** Records encoded so far. */
  records = 0;

  constructor(
    first: DestinationRecord,
    private readonly rest: Iterator<DestinationRecord>,
    private readonly encoder: CopyRowEncoder,
    private readonly chunkBytes = CHUNK_BYTES,
    private readonly replayLimitBytes = DEFAULT_REPLAY_LIMIT_BYTES,
  ) {
    this.pending = first;
  }

  /** Whether another attempt can send the whole batch again. */
  get replayable(): boolean {
    return this.keeping || this.produced === 0;
  }

  /** The chunks of one attempt: the kept ones first, then new ones until the records end. */
  *chunks(): Generator<Buffer, void, undefined> {
    for (const chunk of this.kept) yield chunk;
    for (;;) {
      const chunk = this.produce();
      if (chunk === undefined) return;
      yield chunk;
    }
  }

  private produce(): Buffer | undefined {
    let chunk = Buffer.allocUnsafeSlow(this.chunkBytes);
    let used = 0;
    while (used < this.chunkBytes) {
      let line = this.pendingLine;
      this.pendingLine = undefined;
      if (line === undefined) {
        let record = this.pending;
        this.pending = undefined;
        if (record === undefined) {
          const next = this.rest.next();
          if (next.done === true) break;
          record = next.value;
        }
        line = this.encoder.encode(record);
        this.records++;
      }
      // UTF-8 takes at most 3 bytes per UTF-16 unit: measure only when that might not fit.
      const room = chunk.length - used;
      if (3 * line.length > room) {
        const size = Buffer.byteLength(line, 'utf8');
        if (size > room) {
          // A line that does not fit starts the next chunk; one larger than a chunk gets a
          // chunk of its own size.
          if (used > 0) {
            this.pendingLine = line;
            break;
          }
          chunk = Buffer.allocUnsafeSlow(size);
        }
      }
      used += chunk.write(line, used, 'utf8');
    }
    if (used === 0) return undefined;
    const out = chunk.subarray(0, used);
    this.produced++;
    if (this.keeping) {
      this.kept.push(out);
      this.keptBytes += used;
      if (this.keptBytes > this.replayLimitBytes) {
        this.keeping = false;
        this.kept.length = 0;
      }
    }
    return out;
  }
}

/** Resolves once `stream` drained; rejects when it fails or closes first. */
function drained(stream: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed === true) {
      reject(new Error('Connection terminated: the COPY stream closed'));
      return;
    }
    const cleanup = (): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('Connection terminated: the COPY stream closed'));
    };
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Runs `COPY … FROM STDIN` on `client` with the given chunks and waits until the server has
 * taken them all (CommandComplete). The caller owns the transaction around it.
 */
export async function copyChunks(
  client: PoolClient,
  sql: string,
  chunks: Iterable<Buffer | string>,
): Promise<void> {
  const copy = client.query(copyFrom(sql, { highWaterMark: COPY_HIGH_WATER_MARK }));
  let failure: unknown;
  copy.on('error', (error) => {
    failure ??= error;
  });
  let unwaited = 0;
  for (const chunk of chunks) {
    if (failure !== undefined) throw failure;
    if (!copy.write(chunk)) {
      await drained(copy);
      unwaited = 0;
    } else if (++unwaited >= CHUNKS_PER_YIELD) {
      await yieldToEventLoop();
      unwaited = 0;
    }
  }
  if (failure !== undefined) throw failure;
  copy.end();
  await finished(copy);
}
