/**
 * The errors of the PostgreSQL connector, and the one place where a driver error becomes one.
 * Messages name the server, the table and the operation, never record data or secrets.
 *
 * Mapping (docs/connectors/postgres.md "Errors"):
 * - config_error: bad credentials (28P01, 28000), missing database (3D000) or schema (3F000),
 *   permission denied (42501), dependent objects (2BP01), wrong object kind (42809), an unknown
 *   host, TLS failures (no SSL on the server, certificate not trusted).
 * - transient_error (retried first, see retry.ts): lost or refused connections (ECONNREFUSED,
 *   ECONNRESET, EPIPE, ETIMEDOUT, "Connection terminated"), connect timeouts, class 08
 *   (connection exception), 40001 (serialization failure), 40P01 (deadlock), 55P03 (lock not
 *   available), class 53 (insufficient resources), 57P01/57P02/57P03 (server shutting down,
 *   crashed, starting up), 57014 (statement timeout; not retried: it would time out again).
 * - system_error: anything else.
 * Errors of class 22 (data exception) and 23 (integrity) may quote values of a record; their
 * server message is replaced by its SQLSTATE, column and routine before it is kept as a cause.
 */
import {
  ConfigError,
  type DestkitErrorOptions,
  SystemError,
  TransientError,
} from '../../src/errors/destkit-error.js';

/** Something the user fixes: credentials, database, permissions, TLS, objects in the way. */
export class PostgresConfigError extends ConfigError {
  override readonly code: string;
  constructor(code: string, message: string, options?: DestkitErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A failure a retry may fix; `retryable` false when retrying inside the sync is pointless. */
export class PostgresTransientError extends TransientError {
  override readonly code: string;
  constructor(
    code: string,
    message: string,
    options?: DestkitErrorOptions,
    /** False when the connector must not retry by itself (the platform still may). */
    readonly retryWithinSync = true,
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Any other database failure. */
export class PostgresSystemError extends SystemError {
  override readonly code: string;
  constructor(code: string, message: string, options?: DestkitErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export type PostgresError = PostgresConfigError | PostgresTransientError | PostgresSystemError;

/** The fields of a driver error this module reads. */
interface DriverErrorFields {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly errors?: unknown;
  readonly column?: unknown;
  readonly routine?: unknown;
  readonly severity?: unknown;
}

function fieldsOf(error: unknown): DriverErrorFields {
  return typeof error === 'object' && error !== null ? (error as DriverErrorFields) : {};
}

/** The SQLSTATE of a server error (five characters), else undefined. */
export function sqlState(error: unknown): string | undefined {
  const { code, severity } = fieldsOf(error);
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && severity !== undefined
    ? code
    : undefined;
}

/** The Node.js system error code (ECONNREFUSED…), also inside an AggregateError. */
export function systemCode(error: unknown): string | undefined {
  const { code, errors } = fieldsOf(error);
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = systemCode(inner);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function messageOf(error: unknown): string {
  const { message } = fieldsOf(error);
  return typeof message === 'string' ? message : String(error);
}

const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '57P05']);

/** Driver messages without a code that mean the connection is gone. */
const CONNECTION_LOST = [
  /Connection terminated/i,
  /timeout expired/i,
  /Query read timeout/i,
  /Client has encountered a connection error/i,
  /Client was closed and is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /socket hang up/i,
];

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/**
 * A copy of a server error whose message may quote record values (classes 22 and 23): only the
 * SQLSTATE, the column and the server routine are kept.
 */
function scrubbed(error: unknown, state: string): unknown {
  if (!state.startsWith('22') && !state.startsWith('23')) return error;
  const { column, routine } = fieldsOf(error);
  const parts = [`SQLSTATE ${state}`];
  if (typeof column === 'string') parts.push(`column ${JSON.stringify(column)}`);
  if (typeof routine === 'string') parts.push(`routine ${routine}`);
  return new Error(
    `server data error (message withheld: it may quote record values): ${parts.join(', ')}`,
  );
}

export interface ErrorContext {
  /** What was being done, as a verb phrase: `connect to`, `load a batch into "s"."t" on`. */
  readonly action: string;
  /** `host:port/database`. */
  readonly target: string;
  /** The user name, for authentication messages. */
  readonly user?: string;
  /** The SSL mode, for TLS messages. */
  readonly sslMode?: string;
  readonly stream?: DestkitErrorOptions['stream'];
}

/**
 * Turns anything thrown by the driver into a typed error; destkit errors pass through. The
 * message is for people: what failed, why, and what to do.
 */
export function postgresError(error: unknown, context: ErrorContext): Error {
  if (
    error instanceof ConfigError ||
    error instanceof TransientError ||
    error instanceof SystemError
  ) {
    return error;
  }
  const state = sqlState(error);
  const sys = systemCode(error);
  const message = messageOf(error);
  const where = `cannot ${context.action} PostgreSQL at ${context.target}`;
  const cause = state === undefined ? error : scrubbed(error, state);
  const options: DestkitErrorOptions = { cause, stream: context.stream };
  const config = (code: string, why: string) =>
    new PostgresConfigError(code, `${where}: ${why}`, options);
  const transient = (code: string, why: string, retry = true) =>
    new PostgresTransientError(code, `${where}: ${why}`, options, retry);

  if (state !== undefined) {
    const server = state.startsWith('22') || state.startsWith('23') ? '' : `: ${message}`;
    switch (state) {
      case '28P01':
        return config(
          'POSTGRES_AUTH_FAILED',
          `the server rejected the password of user ${JSON.stringify(context.user ?? '')} (28P01); check username and password`,
        );
      case '28000':
        return config(
          'POSTGRES_AUTH_FAILED',
          `the server refused user ${JSON.stringify(context.user ?? '')} (28000${server}); check the user name, and that pg_hba.conf allows this host, user and database`,
        );
      case '3D000':
        return config(
          'POSTGRES_DATABASE_MISSING',
          `the database does not exist (3D000${server}); create it or fix the database setting`,
        );
      case '3F000':
        return config('POSTGRES_SCHEMA_MISSING', `the schema does not exist (3F000${server})`);
      case '42501':
        return config(
          'POSTGRES_PERMISSION_DENIED',
          `permission denied (42501${server}); grant the user CREATE on the database and on the target schemas`,
        );
      case '2BP01':
        return config(
          'POSTGRES_DEPENDENT_OBJECTS',
          `other objects depend on the table (2BP01${server}); drop or recreate them (e.g. views) or use an append mode`,
        );
      case '42809':
        return config(
          'POSTGRES_WRONG_OBJECT_TYPE',
          `an object of the wrong kind is in the way (42809${server}); rename or drop it`,
        );
      case '42939':
        return config('POSTGRES_RESERVED_NAME', `a reserved name was used (42939${server})`);
      case '57014':
        return transient(
          'POSTGRES_STATEMENT_TIMEOUT',
          `a statement was cancelled (57014${server}); raise statement_timeout_ms or lower the load`,
          false,
        );
    }
    if (TRANSIENT_STATES.has(state) || state.startsWith('08') || state.startsWith('53')) {
      return transient('POSTGRES_TRANSIENT', `a temporary server condition (${state}${server})`);
    }
    return new PostgresSystemError(
      'POSTGRES_ERROR',
      `${where}: the server reported ${state}${server}`,
      options,
    );
  }

  if (/does not support SSL/i.test(message)) {
    return config(
      'POSTGRES_SSL_UNAVAILABLE',
      `ssl_mode is ${context.sslMode ?? 'set'} but the server does not support SSL connections; enable SSL on the server or set ssl_mode to disable`,
    );
  }
  const tlsCode = fieldsOf(error).code;
  if (typeof tlsCode === 'string' && TLS_CODES.has(tlsCode)) {
    return config(
      'POSTGRES_SSL_CERTIFICATE',
      `the server certificate was not accepted (${tlsCode}: ${message}); check ssl_ca and ssl_mode`,
    );
  }
  if (sys === 'ENOTFOUND') {
    return config(
      'POSTGRES_HOST_NOT_FOUND',
      `the host name does not resolve (ENOTFOUND); check host`,
    );
  }
  if (sys !== undefined && TRANSIENT_SYSTEM_CODES.has(sys)) {
    return transient(
      'POSTGRES_CONNECTION',
      `the connection failed (${sys}); is the server up and reachable?`,
    );
  }
  if (CONNECTION_LOST.some((pattern) => pattern.test(message))) {
    return transient('POSTGRES_CONNECTION', `the connection was lost or timed out (${message})`);
  }
  return new PostgresSystemError('POSTGRES_ERROR', `${where}: ${message}`, options);
}

/** True when the connector itself should retry after this (already typed) error. */
export function isRetryable(error: unknown): boolean {
  return error instanceof PostgresTransientError && error.retryWithinSync;
}
