/**
 * The PostgreSQL connector's config after validation and defaults, the driver settings made
 * from it, and the retry policy (environment overrides for tests and operations).
 */
import type { ClientConfig } from 'pg';
import { ConfigError } from '../../src/errors/destkit-error.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import type { SslMode } from './spec.js';

export interface PostgresConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The schema of streams without a namespace. */
  readonly schema: string;
  readonly username: string;
  readonly password: string | undefined;
  readonly sslMode: SslMode;
  readonly sslCa: string | undefined;
  readonly connectTimeoutMs: number;
  /** 0: no limit. */
  readonly statementTimeoutMs: number;
}

/**
 * How often a failed operation is tried again when the failure is transient (a lost connection,
 * a restarting server, a deadlock): `retries` more times, after `baseDelayMs`, then twice that,
 * and so on (1 s, 2 s, 4 s by default).
 */
export interface RetryPolicy {
  readonly retries: number;
  readonly baseDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ retries: 3, baseDelayMs: 1000 });

/** Environment variables that override the retry policy. */
export const RETRIES_ENV = 'DESTKIT_POSTGRES_RETRIES';
export const RETRY_DELAY_ENV = 'DESTKIT_POSTGRES_RETRY_DELAY_MS';

/** Reads a config that already passed the spec's validation (defaults applied). */
export function toPostgresConfig(config: JsonObject): PostgresConfig {
  const text = (key: string): string | undefined => {
    const value = config[key];
    return typeof value === 'string' ? value : undefined;
  };
  const integer = (key: string, fallback: number): number => {
    const value = config[key];
    return typeof value === 'number' ? value : fallback;
  };
  return {
    host: text('host') ?? 'localhost',
    port: integer('port', 5432),
    database: text('database') ?? '',
    schema: text('schema') ?? 'public',
    username: text('username') ?? '',
    password: text('password'),
    sslMode: (text('ssl_mode') ?? 'require') as SslMode,
    sslCa: text('ssl_ca'),
    connectTimeoutMs: integer('connect_timeout_seconds', 30) * 1000,
    statementTimeoutMs: integer('statement_timeout_ms', 0),
  };
}

export class InvalidRetrySettingError extends ConfigError {
  override readonly code = 'POSTGRES_INVALID_RETRY_SETTING';
}

/** The retry policy, from `DESTKIT_POSTGRES_RETRIES` and `DESTKIT_POSTGRES_RETRY_DELAY_MS`. */
export function retryPolicyFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): RetryPolicy {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidRetrySettingError(`${name} must be an integer >= 0`);
    }
    return n;
  };
  return {
    retries: read(RETRIES_ENV, DEFAULT_RETRY_POLICY.retries),
    baseDelayMs: read(RETRY_DELAY_ENV, DEFAULT_RETRY_POLICY.baseDelayMs),
  };
}

/** `host:port/database`, for messages (never the user or password). */
export function describeTarget(config: PostgresConfig): string {
  return `${config.host}:${config.port}/${config.database}`;
}

/** The TLS settings of the driver for an ssl_mode. */
export function sslOptions(config: PostgresConfig): ClientConfig['ssl'] {
  switch (config.sslMode) {
    case 'disable':
      return false;
    case 'require':
      // Encrypted, certificate not verified (libpq's `require`).
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // The chain must lead to ssl_ca; the host name is not compared.
      return {
        rejectUnauthorized: true,
        ...(config.sslCa === undefined ? {} : { ca: config.sslCa }),
        checkServerIdentity: () => undefined,
      };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        ...(config.sslCa === undefined ? {} : { ca: config.sslCa }),
      };
  }
}

/** The driver's connection settings. Session settings are applied on connect (postgres-session.ts). */
export function clientConfig(config: PostgresConfig): ClientConfig {
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.username,
    // An empty string, not undefined: the driver would otherwise fall back to PGPASSWORD.
    password: config.password ?? '',
    ssl: sslOptions(config),
    connectionTimeoutMillis: config.connectTimeoutMs,
    keepAlive: true,
    application_name: 'destkit-postgres',
    ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
  };
}
