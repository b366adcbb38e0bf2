/** Errors about the bytes and messages read on stdin. They name line numbers, never content. */
import { ConfigError, type DestkitErrorOptions, SystemError } from './destkit-error.js';

/** A line longer than the configured maximum; the line's content is never included. */
export class LineTooLongError extends SystemError {
  override readonly code = 'INPUT_LINE_TOO_LONG';
  constructor(
    readonly lineNumber: number,
    readonly maxLineBytes: number,
  ) {
    super(
      `input line ${lineNumber} is longer than the maximum line size of ${maxLineBytes} bytes ` +
        '(raise max_line_bytes / DESTKIT_MAX_LINE_BYTES if such records are expected)',
    );
  }
}

/** A line that is not a valid protocol message: not JSON, or missing a required field. */
export class MalformedMessageError extends SystemError {
  override readonly code = 'INPUT_MALFORMED_MESSAGE';
  constructor(
    readonly lineNumber: number,
    readonly problem: string,
    options: DestkitErrorOptions = {},
  ) {
    super(`input line ${lineNumber} is not a valid protocol message: ${problem}`, options);
  }
}

/** A record for a stream that the configured catalog does not contain. */
export class UnknownStreamError extends ConfigError {
  override readonly code = 'INPUT_UNKNOWN_STREAM';
  constructor(
    readonly lineNumber: number,
    readonly streamName: string,
  ) {
    super(
      `input line ${lineNumber} has a record for stream ${streamName}, which is not in the configured catalog`,
    );
  }
}
