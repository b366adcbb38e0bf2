/**
 * Runs an operation again after a transient failure, with exponential backoff, a bounded number
 * of times (RetryPolicy). The operation must be safe to repeat: a transaction that rolled back,
 * or DDL that looks at the current state first. The last error is thrown typed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RetryPolicy } from './postgres-config.js';
import { type ErrorContext, isRetryable, postgresError } from './postgres-errors.js';

export async function withRetry<T>(
  policy: RetryPolicy,
  logger: Logger,
  context: ErrorContext,
  operation: (attempt: number) => Promise<T>,
  /** Asked before each retry; false gives up at once (e.g. a batch that cannot be replayed). */
  canRetry: () => boolean = () => true,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (raw) {
      const error = postgresError(raw, context);
      if (!isRetryable(error)) throw error;
      if (attempt >= policy.retries) {
        if (attempt > 0) error.message = `${error.message} (gave up after ${attempt + 1} attempts)`;
        throw error;
      }
      if (!canRetry()) {
        error.message = `${error.message} (not retried: the batch was too large to keep for a replay)`;
        throw error;
      }
      const delayMs = policy.baseDelayMs * 2 ** attempt;
      logger.warn(
        { attempt: attempt + 1, retryInMs: delayMs, reason: error.message },
        `postgres: cannot ${context.action} the server; retrying`,
      );
      await sleep(delayMs);
    }
  }
}
