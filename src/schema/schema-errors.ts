/** Errors of the schema layer. Messages name streams, fields and limits, never record values. */
import { ConfigError, SystemError } from '../errors/destkit-error.js';
import type { StreamDescriptor } from '../protocol/messages.js';

/** An identifier that no dialect can quote (it contains NUL); a bug in the caller's mapping. */
export class InvalidIdentifierError extends SystemError {
  override readonly code = 'SCHEMA_INVALID_IDENTIFIER';
  constructor(readonly dialect: string) {
    super(`an identifier for ${dialect} contains a NUL character, which cannot be quoted`);
  }
}

/** A primary key or cursor path that names no top-level property of the stream's schema. */
export class KeyFieldNotFoundError extends ConfigError {
  override readonly code = 'SCHEMA_KEY_FIELD_NOT_FOUND';
  constructor(
    readonly role: 'primary key' | 'cursor',
    readonly path: readonly string[],
    stream: StreamDescriptor,
  ) {
    super(
      `the ${role} field ${JSON.stringify(path)} of stream ${stream.name} is not a top-level ` +
        'property of its schema',
      { stream },
    );
  }
}

/**
 * A record whose primary key or cursor alone exceeds the destination's size limits. Size limits
 * never null key fields (PROTOCOL.md §3), so such a record cannot be written.
 */
export class KeyTooLargeError extends ConfigError {
  override readonly code = 'SCHEMA_KEY_TOO_LARGE';
  constructor(
    readonly fields: readonly string[],
    readonly sizeBytes: number,
    readonly limitBytes: number,
    stream?: StreamDescriptor,
  ) {
    super(
      `the primary key / cursor field(s) ${JSON.stringify(fields)} take ${sizeBytes} bytes, more ` +
        `than the destination's limit of ${limitBytes} bytes; such a record cannot be written`,
      { stream },
    );
  }
}
