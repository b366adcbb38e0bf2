/**
 * The errors of the JSONL connector, and the one place where a file-system error becomes one.
 * Messages name the path and the operation, never record data.
 *
 * Mapping (docs/connectors/jsonl.md "Errors"):
 * - EACCES, EPERM, EROFS → JsonlNotWritableError (config_error): the user grants access.
 * - ENOTDIR, EEXIST, EISDIR, ELOOP → JsonlPathConflictError (config_error): something that is
 *   not what the connector expects (a file where a directory belongs, a symlink) is in the way.
 * - ENOSPC, EDQUOT → JsonlNoSpaceError (transient_error): the failed batch is rolled back, no
 *   state past it was echoed, and space often comes back (other jobs finish, log rotation); a
 *   retry resumes from the last echoed state.
 * - EMFILE, ENFILE, EAGAIN, EBUSY, EINTR → JsonlTransientIoError (transient_error).
 * - anything else (EIO, …) → JsonlIoError (system_error).
 */
import {
  ConfigError,
  type DestkitErrorOptions,
  SystemError,
  TransientError,
} from '../../src/errors/destkit-error.js';
import { errnoCode } from '../../src/errors/errno.js';
import type { StreamDescriptor } from '../../src/protocol/messages.js';

/** No permission to write there, or a read-only file system. */
export class JsonlNotWritableError extends ConfigError {
  override readonly code = 'JSONL_NOT_WRITABLE';
}

/** A path is not of the expected kind (e.g. a regular file where a directory belongs). */
export class JsonlPathConflictError extends ConfigError {
  override readonly code = 'JSONL_PATH_CONFLICT';
}

/** The device or the quota is full. */
export class JsonlNoSpaceError extends TransientError {
  override readonly code = 'JSONL_NO_SPACE';
}

/** A temporary resource shortage (file descriptors, a busy file). */
export class JsonlTransientIoError extends TransientError {
  override readonly code = 'JSONL_IO_TRANSIENT';
}

/** Any other I/O failure. */
export class JsonlIoError extends SystemError {
  override readonly code = 'JSONL_IO';
}

/** A computed path would leave destination_path: a bug in the name mapping, never written. */
export class UnsafePathError extends SystemError {
  override readonly code = 'JSONL_UNSAFE_PATH';
}

/**
 * Turns a file-system error of `action` (a verb phrase such as `append to`) on `path` into a
 * typed error; destkit errors pass through unchanged.
 */
export function fileSystemError(
  error: unknown,
  action: string,
  path: string,
  stream?: StreamDescriptor,
): Error {
  if (
    error instanceof ConfigError ||
    error instanceof TransientError ||
    error instanceof SystemError
  ) {
    return error;
  }
  const code = errnoCode(error) ?? 'unknown error';
  const options: DestkitErrorOptions = { cause: error, stream };
  const where = `cannot ${action} ${path}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new JsonlNotWritableError(`${where}: permission denied (${code})`, options);
    case 'EROFS':
      return new JsonlNotWritableError(`${where}: read-only file system (${code})`, options);
    case 'ENOTDIR':
      return new JsonlPathConflictError(
        `${where}: a part of the path is a regular file, not a directory (${code})`,
        options,
      );
    case 'EEXIST':
      return new JsonlPathConflictError(
        `${where}: it exists and is not a directory (${code})`,
        options,
      );
    case 'EISDIR':
      return new JsonlPathConflictError(`${where}: it is a directory (${code})`, options);
    case 'ELOOP':
      return new JsonlPathConflictError(
        `${where}: it is a symbolic link, which the connector does not follow (${code})`,
        options,
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return new JsonlNoSpaceError(`${where}: no space left on the device (${code})`, options);
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
      return new JsonlTransientIoError(
        `${where}: resource temporarily unavailable (${code})`,
        options,
      );
    default:
      return new JsonlIoError(`${where}: ${code}`, options);
  }
}
