/**
 * The typed errors of the checkpoint ledger (range sets, stream, checkpoint and sync managers).
 * Each has a stable `code`; messages name streams and indexes, never record data.
 *
 * Failure types: an input the platform or source got wrong in a way the user can act on is a
 * `config_error`; a sync that ended without every stream's terminal status is a
 * `transient_error` (a retry resumes from the last echoed state); anything that can only be a
 * defect in destkit or a connector (indexes going backwards, a batch covering unread records,
 * an illegal lifecycle transition) is a `system_error`.
 */
import { ConfigError, SystemError, TransientError } from '../errors/destkit-error.js';
import { describeStream, type StreamDescriptor } from '../protocol/messages.js';

/**
 * The descriptor behind a `streamKey` (`namespace\u0000name`); an empty namespace reads as none.
 * Used to name streams in messages where only the key is known.
 */
export function descriptorFromStreamKey(key: string): StreamDescriptor {
  const separator = key.indexOf('\u0000');
  if (separator < 0) return { name: key };
  const namespace = key.slice(0, separator);
  const name = key.slice(separator + 1);
  return namespace === '' ? { name } : { namespace, name };
}

/** `namespace.name` (or `name`) for a stream key. */
export function describeStreamKey(key: string): string {
  return describeStream(descriptorFromStreamKey(key));
}

/** A range that is not a half-open range of non-negative safe integers with start ≤ end. */
export class InvalidRangeError extends SystemError {
  override readonly code = 'PIPELINE_INVALID_RANGE';
  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    super(
      `invalid index range [${start}, ${end}): indexes must be non-negative safe integers with start <= end`,
    );
  }
}

/**
 * The ledger asked for a record index after the stream's end was marked: an invariant of the
 * StreamManager. Bad input never gets here: the input consumer rejects such a record first, as
 * write-errors' RecordAfterEndOfStreamError (a config error naming the input line).
 */
export class RecordIndexAfterEndError extends SystemError {
  override readonly code = 'PIPELINE_RECORD_AFTER_END_OF_STREAM';
  constructor(stream: StreamDescriptor) {
    super(`a record arrived after the end of stream ${describeStream(stream)}`, { stream });
  }
}

/** A second terminal status for a stream whose end was already marked. */
export class EndOfStreamTwiceError extends SystemError {
  override readonly code = 'PIPELINE_END_OF_STREAM_TWICE';
  constructor(stream: StreamDescriptor) {
    super(`the end of stream ${describeStream(stream)} was already marked`, { stream });
  }
}

/** A batch that claims records the stream has not read yet. */
export class BatchRangeOutOfBoundsError extends SystemError {
  override readonly code = 'PIPELINE_BATCH_RANGE_OUT_OF_BOUNDS';
  constructor(
    stream: StreamDescriptor,
    readonly start: number,
    readonly end: number,
    readonly recordCount: number,
  ) {
    super(
      `a batch of stream ${describeStream(stream)} covers records [${start}, ${end}), ` +
        `but only ${recordCount} records were read`,
      { stream },
    );
  }
}

/** A stream result transition the stream lifecycle does not allow (see StreamManager). */
export class StreamTransitionError extends SystemError {
  override readonly code = 'PIPELINE_INVALID_STREAM_TRANSITION';
  constructor(stream: StreamDescriptor, reason: string) {
    super(`stream ${describeStream(stream)} cannot be marked succeeded: ${reason}`, { stream });
  }
}

/** STREAM states and GLOBAL (or LEGACY) states in the same sync. */
export class MixedStateTypesError extends ConfigError {
  override readonly code = 'PIPELINE_MIXED_STATE_TYPES';
  constructor() {
    super('a sync must not mix STREAM and GLOBAL states (LEGACY states count as GLOBAL)');
  }
}

/** A checkpoint whose index for a stream is lower than an earlier checkpoint's, or invalid. */
export class CheckpointIndexError extends SystemError {
  override readonly code = 'PIPELINE_CHECKPOINT_INDEX';
  constructor(
    streamKey: string,
    readonly index: number,
    readonly previousIndex: number | undefined,
  ) {
    const stream = descriptorFromStreamKey(streamKey);
    super(
      previousIndex === undefined
        ? `a checkpoint of stream ${describeStream(stream)} has an invalid record index ${index}`
        : `a checkpoint of stream ${describeStream(stream)} goes backwards: ` +
            `record index ${index} after ${previousIndex}`,
      { stream },
    );
  }
}

/** A stream key that the configured catalog does not contain. */
export class StreamNotInCatalogError extends ConfigError {
  override readonly code = 'PIPELINE_STREAM_NOT_IN_CATALOG';
  constructor(streamKey: string) {
    const stream = descriptorFromStreamKey(streamKey);
    super(`stream ${describeStream(stream)} is not in the configured catalog`, { stream });
  }
}

/** The same stream twice in the catalog handed to the SyncManager. */
export class DuplicateStreamError extends ConfigError {
  override readonly code = 'PIPELINE_DUPLICATE_STREAM';
  constructor(stream: StreamDescriptor) {
    super(`stream ${describeStream(stream)} appears more than once in the configured catalog`, {
      stream,
    });
  }
}

/** Streams a message names at most; the rest are counted (the error's `streams` has them all). */
const NAMED_STREAMS = 20;

/** `a, b, c` — or, past NAMED_STREAMS names, the first ones and `… and N more`. */
export function streamList(names: readonly string[]): string {
  if (names.length <= NAMED_STREAMS) return names.join(', ');
  return `${names.slice(0, NAMED_STREAMS).join(', ')}, … and ${names.length - NAMED_STREAMS} more`;
}

/** End of input while some streams never received a COMPLETE or INCOMPLETE status. */
export class MissingStreamStatusError extends TransientError {
  override readonly code = 'PIPELINE_MISSING_STREAM_STATUS';
  constructor(readonly streams: readonly StreamDescriptor[]) {
    super(
      'Input was fully read, but some streams did not receive a terminal stream status message: ' +
        streamList(streams.map(describeStream)),
    );
  }
}

/**
 * A sync that read everything and shut down cleanly, but where some streams ended INCOMPLETE:
 * nothing was finalized for them, so the sync must still exit non-zero. Raised by the launcher.
 */
export class StreamsIncompleteError extends TransientError {
  override readonly code = 'PIPELINE_STREAMS_INCOMPLETE';
  constructor(readonly streams: readonly StreamDescriptor[]) {
    super(
      'The sync ended without a COMPLETE status for some streams, which were not finalized: ' +
        streamList(streams.map(describeStream)),
    );
  }
}

/** A sync lifecycle transition the SyncManager does not allow. */
export class SyncTransitionError extends SystemError {
  override readonly code = 'PIPELINE_INVALID_SYNC_TRANSITION';
}
