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

/** The sync was stopped by a signal or an abort; nothing was finalized. */
export class SyncCancelledError extends TransientError {
  override readonly code = 'SYNC_CANCELLED';
}
