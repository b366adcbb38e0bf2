/**
 * The errors of the DuckDB connector, and the one place where a DuckDB or file-system error
 * becomes one. Messages name the database file, the table and the operation — never record
 * values: an error raised while rows are written keeps only DuckDB's error class (e.g.
 * `Conversion Error`), not its text or cause, because DuckDB may quote a value there.
 *
 * Mapping (docs/connectors/duckdb.md "Errors"):
 * - a lock held by another process → DuckDbLockedError (config_error): stop the other process.
 * - permission, read-only file system, a path that is a directory or lies under a file, a file
 *   that is not a DuckDB database, `:memory:` → DuckDbConfigError (config_error).
 * - no space left, quota → DuckDbNoSpaceError (transient_error).
 * - a transaction conflict still failing after bounded retries, out of memory →
 *   DuckDbTransientError (transient_error).
 * - anything else (catalog, binder, internal errors…) → DuckDbError (system_error).
 */
import {
  ConfigError,
  DestkitError,
  type DestkitErrorOptions,
  SystemError,
  TransientError,
} from '../../src/errors/destkit-error.js';
import { errnoCode } from '../../src/errors/errno.js';
import type { StreamDescriptor } from '../../src/protocol/messages.js';

/** A config the connector cannot use (a path that is no file, no permission…). */
export class DuckDbConfigError extends ConfigError {
  override readonly code: string = 'DUCKDB_CONFIG';
}

/** The database file is locked by another process (DuckDB allows one writer process per file). */
export class DuckDbLockedError extends ConfigError {
  override readonly code = 'DUCKDB_LOCKED';
}

/** A sync mode the connector does not implement (update, soft_delete). */
export class DuckDbUnsupportedModeError extends ConfigError {
  override readonly code = 'DUCKDB_UNSUPPORTED_MODE';
}

/** The device or the quota is full. */
export class DuckDbNoSpaceError extends TransientError {
  override readonly code = 'DUCKDB_NO_SPACE';
}

/** A transaction conflict that outlived its retries, or memory ran out. */
export class DuckDbTransientError extends TransientError {
  override readonly code = 'DUCKDB_TRANSIENT';
}

/** Any other DuckDB failure: most likely a defect of the connector. */
export class DuckDbError extends SystemError {
  override readonly code = 'DUCKDB_ERROR';
}

export interface DuckDbErrorContext {
  /** The database file. */
  readonly path: string;
  readonly stream?: StreamDescriptor | undefined;
  /**
   * True when the failed statement carried record values (appends, merges): then only DuckDB's
   * error class is kept, never its message or the cause chain.
   */
  readonly carriesValues?: boolean;
}

const LOCKED = /Could not set lock on file|Conflicting lock is held/i;
const NO_SPACE = /No space left on device|ENOSPC|EDQUOT|Disk quota exceeded/i;
const CONFIG_IO =
  /Permission denied|Read-only file system|EACCES|EPERM|EROFS|Is a directory|EISDIR|Not a directory|ENOTDIR|No such file or directory|ENOENT|not a valid DuckDB database file|File exists|EEXIST|ELOOP/i;
const IO_CLASS = /^(?:IO|Permission) Error:/;
const CONFLICT = /^TransactionContext Error:|write-write conflict|Conflict on (?:tuple|update)/;
const OUT_OF_MEMORY = /Out of Memory Error/i;

/** True for DuckDB errors worth retrying the whole transaction for. */
export function isTransactionConflict(error: unknown): boolean {
  return error instanceof Error && !(error instanceof DestkitError) && CONFLICT.test(error.message);
}

/** DuckDB's error class, the text before the first colon (`IO Error`, `Conversion Error`…). */
export function duckdbErrorClass(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const head = /^([A-Za-z ]{1,40} Error):/.exec(message);
  return head?.[1] ?? (error instanceof Error ? error.name : 'error');
}

/**
 * Turns an error of `action` (a verb phrase such as `open`, `append rows to "main"."users"`)
 * into a typed error; destkit errors pass through unchanged.
 */
export function duckdbError(error: unknown, action: string, context: DuckDbErrorContext): Error {
  if (error instanceof DestkitError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const detail = context.carriesValues
    ? `${duckdbErrorClass(error)} (details withheld: the statement carried record values)`
    : firstLine(raw);
  const options: DestkitErrorOptions = context.carriesValues
    ? { stream: context.stream }
    : { cause: error, stream: context.stream };
  const where = `cannot ${action} (database ${context.path})`;
  const code = errnoCode(error);
  if (LOCKED.test(raw)) {
    return new DuckDbLockedError(
      `${where}: the database file is locked by another process; DuckDB allows one writing ` +
        `process per file — stop the other process or use another path (${firstLine(raw)})`,
      options,
    );
  }
  if (NO_SPACE.test(raw) || code === 'ENOSPC' || code === 'EDQUOT') {
    return new DuckDbNoSpaceError(`${where}: no space left on the device (${detail})`, options);
  }
  if (
    (IO_CLASS.test(raw) && CONFIG_IO.test(raw)) ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'EROFS' ||
    code === 'ENOTDIR' ||
    code === 'EISDIR' ||
    code === 'EEXIST'
  ) {
    return new DuckDbConfigError(`${where}: ${detail}`, options);
  }
  if (CONFLICT.test(raw)) {
    return new DuckDbTransientError(
      `${where}: a transaction conflict persisted after retries (${detail})`,
      options,
    );
  }
  if (OUT_OF_MEMORY.test(raw)) {
    return new DuckDbTransientError(`${where}: DuckDB ran out of memory (${detail})`, options);
  }
  return new DuckDbError(`${where}: ${detail}`, options);
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? text;
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
