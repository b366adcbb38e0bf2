/** Errors of the write path that concern stream lifecycle, not bytes. */
import { ConfigError, TransientError } from '../errors/destkit-error.js';
import type { StreamDescriptor } from '../protocol/messages.js';

/** A record for a stream after that stream's terminal status. */
export class RecordAfterEndOfStreamError extends ConfigError {
  override readonly code = 'INPUT_RECORD_AFTER_END_OF_STREAM';
  constructor(lineNumber: number, label: string, stream: StreamDescriptor) {
    super(
      `input line ${lineNumber} has a record for stream ${label} after its terminal stream status`,
      { stream },
    );
  }
}

/** Input ended while some streams had no terminal status: nothing of them is finalized. */
export class MissingStreamStatusError extends TransientError {
  override readonly code = 'INPUT_MISSING_STREAM_STATUS';
  constructor(readonly streams: readonly string[]) {
    super(
      `Input was fully read, but some streams did not receive a terminal stream status message: ${streams.join(', ')}. ` +
        'Their data was persisted up to the last echoed state but not finalized.',
    );
  }
}

/** The sync succeeded, but some streams ended INCOMPLETE: their data is not finalized. */
export class StreamsIncompleteError extends TransientError {
  override readonly code = 'STREAMS_INCOMPLETE';
  constructor(readonly streams: readonly string[]) {
    super(
      `the source reported these streams INCOMPLETE: ${streams.join(', ')}. ` +
        'Their states were echoed but the streams were not finalized.',
    );
  }
}

/** The sync was stopped by a signal or an abort; nothing was finalized. */
export class SyncCancelledError extends TransientError {
  override readonly code = 'SYNC_CANCELLED';
}
