/** Builders for the messages destkit itself writes: error traces, connection status, spec. */
import type { ClassifiedError } from '../errors/classify-error.js';
import type { ConnectorSpecification, OutputMessage, StreamDescriptor } from './messages.js';

/** Trace `stack_trace` is for debugging; cap it so one failure cannot flood the output. */
const MAX_STACK_CHARS = 32_768;

export function errorTraceMessage(
  error: ClassifiedError,
  emittedAt: number = Date.now(),
): OutputMessage {
  const stream: StreamDescriptor | undefined =
    error.stream === undefined
      ? undefined
      : error.stream.namespace
        ? { name: error.stream.name, namespace: error.stream.namespace }
        : { name: error.stream.name };
  return {
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: emittedAt,
      error: {
        message: error.message,
        internal_message: error.internalMessage,
        stack_trace: error.stackTrace.slice(0, MAX_STACK_CHARS),
        failure_type: error.failureType,
        ...(stream === undefined ? {} : { stream_descriptor: stream }),
      },
    },
  };
}

export function connectionStatusMessage(
  status: 'SUCCEEDED' | 'FAILED',
  message?: string,
): OutputMessage {
  return {
    type: 'CONNECTION_STATUS',
    connectionStatus: message === undefined ? { status } : { status, message },
  };
}

export function specMessage(spec: ConnectorSpecification): OutputMessage {
  return { type: 'SPEC', spec };
}
