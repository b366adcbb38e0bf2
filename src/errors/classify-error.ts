/**
 * The one place where any thrown value becomes a protocol failure: failure type, a message for
 * people, an internal message and a stack for debugging. Secrets are removed by the caller's
 * redactor before anything is written.
 */

import type { StreamDescriptor } from '../protocol/messages.js';
import { DestkitError, type FailureType } from './destkit-error.js';

export interface ClassifiedError {
  readonly failureType: FailureType;
  /** For people: the first destkit error's message, else the thrown error's message. */
  readonly message: string;
  /** For debugging: every error of the cause chain, `Name: message` joined by ` <- caused by: `. */
  readonly internalMessage: string;
  /** The stack of the thrown error followed by the stacks of its causes. */
  readonly stackTrace: string;
  readonly stream: StreamDescriptor | undefined;
}

const MAX_CAUSE_DEPTH = 16;

/** Walks the cause chain (and AggregateError members), outermost first. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (
    current !== undefined &&
    current !== null &&
    !seen.has(current) &&
    chain.length < MAX_CAUSE_DEPTH
  ) {
    chain.push(current);
    seen.add(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'string') return error;
  return `non-error value thrown (${typeof error})`;
}

/**
 * Classifies a thrown value. The outermost destkit error in the cause chain decides the failure
 * type (a connector may wrap a driver error in a ConfigError, or a TransientError may wrap a
 * ConfigError raised deeper — the outer decision wins). Anything else is a system_error.
 */
export function classifyError(error: unknown): ClassifiedError {
  const chain = causeChain(error);
  const typed = chain.find((e): e is DestkitError => e instanceof DestkitError);
  const failureType: FailureType = typed?.failureType ?? 'system_error';
  const first = chain[0];
  const message =
    typed?.message ?? (first instanceof Error ? first.message : describe(first)) ?? 'unknown error';
  const internalMessage = chain.map(describe).join(' <- caused by: ');
  const stackTrace = chain
    .map((e) => (e instanceof Error ? (e.stack ?? describe(e)) : describe(e)))
    .join('\nCaused by: ');
  return {
    failureType,
    message: message === '' ? describe(first) : message,
    internalMessage,
    stackTrace,
    stream: typed?.stream,
  };
}
