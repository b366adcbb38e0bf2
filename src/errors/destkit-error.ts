/**
 * The typed errors of destkit. Every failure that reaches the protocol is one of three failure
 * types (PROTOCOL.md §1): `config_error` (the user can fix it), `transient_error` (a retry may
 * succeed), `system_error` (a bug, the default). The failure type is data on the error, decided
 * where the error is raised; `classifyError` reads it back in one place.
 *
 * Messages never carry record data or secrets: they name fields, streams, line numbers and rules.
 */
import type { StreamDescriptor } from '../protocol/messages.js';

export type FailureType = 'config_error' | 'transient_error' | 'system_error';

export interface DestkitErrorOptions {
  /** The underlying error; kept as the cause chain, reported in `internal_message`. */
  readonly cause?: unknown;
  /** The stream the failure belongs to, reported as the trace's `stream_descriptor`. */
  readonly stream?: StreamDescriptor | undefined;
}

/** Base of every destkit error: a stable `code`, a failure type, an optional stream. */
export abstract class DestkitError extends Error {
  /** A stable machine-readable code, e.g. `CONFIG_INVALID`. */
  abstract readonly code: string;
  abstract readonly failureType: FailureType;
  readonly stream: StreamDescriptor | undefined;

  constructor(message: string, options: DestkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.stream = options.stream;
  }

  /** True when a retry of the same work may succeed. */
  get retryable(): boolean {
    return this.failureType === 'transient_error';
  }
}

/** Something the user can fix: configuration, catalog, credentials, permissions, input shape. */
export class ConfigError extends DestkitError {
  readonly code: string = 'CONFIG';
  readonly failureType = 'config_error' as const;
}

/** Something that may succeed when retried: a lost connection, a timeout, an interrupted sync. */
export class TransientError extends DestkitError {
  readonly code: string = 'TRANSIENT';
  readonly failureType = 'transient_error' as const;
}

/** A defect in destkit or in a connector; the default for anything unclassified. */
export class SystemError extends DestkitError {
  readonly code: string = 'SYSTEM';
  readonly failureType = 'system_error' as const;
}
