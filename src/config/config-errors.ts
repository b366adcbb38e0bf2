/** Errors about the files a connector is started with: the config and the configured catalog. */
import { ConfigError } from '../errors/destkit-error.js';

/** A config or catalog file that cannot be read or is not valid JSON. Content is never quoted. */
export class UnreadableFileError extends ConfigError {
  override readonly code = 'CONFIG_FILE_UNREADABLE';
  constructor(
    readonly what: string,
    readonly path: string,
    readonly problem: string,
    cause?: unknown,
  ) {
    super(`cannot read the ${what} file ${path}: ${problem}`, { cause });
  }
}

/** One violated rule of a JSON schema: where in the document, and which rule. */
export interface SchemaViolation {
  /** A path such as `config.log_every` or `catalog.streams[0].destination_sync_mode`. */
  readonly field: string;
  /** The rule, e.g. `must be >= 1` or `must be one of: silent, logging`. */
  readonly rule: string;
}

/** A config or catalog that does not satisfy its schema; names every field and rule. */
export class InvalidDocumentError extends ConfigError {
  override readonly code = 'CONFIG_INVALID';
  constructor(
    readonly what: string,
    readonly violations: readonly SchemaViolation[],
  ) {
    super(`invalid ${what}: ${violations.map((v) => `${v.field} ${v.rule}`).join('; ')}`);
  }
}
