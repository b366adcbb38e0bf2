import { describe, expect, it } from 'vitest';
import { causeChain, classifyError } from '../../src/errors/classify-error.js';
import { ConfigError, SystemError, TransientError } from '../../src/errors/destkit-error.js';
import {
  LineTooLongError,
  MalformedMessageError,
  UnknownStreamError,
} from '../../src/errors/input-errors.js';

describe('classifyError', () => {
  it.each([
    [new ConfigError('bad'), 'config_error'],
    [new TransientError('later'), 'transient_error'],
    [new SystemError('bug'), 'system_error'],
    [new Error('plain'), 'system_error'],
    ['a string', 'system_error'],
    [42, 'system_error'],
    [new LineTooLongError(3, 10), 'system_error'],
    [new MalformedMessageError(3, 'not valid JSON'), 'system_error'],
    [new UnknownStreamError(3, 'x'), 'config_error'],
  ])('classifies %s as %s', (error, expected) => {
    expect(classifyError(error).failureType).toBe(expected);
  });

  it('finds a destkit error deeper in the cause chain', () => {
    const error = new Error('driver wrapper', { cause: new TransientError('connection reset') });
    const classified = classifyError(error);
    expect(classified.failureType).toBe('transient_error');
    expect(classified.message).toBe('connection reset');
    expect(classified.internalMessage).toBe(
      'Error: driver wrapper <- caused by: TransientError: connection reset',
    );
    expect(classified.stackTrace).toContain('Caused by: TransientError: connection reset');
  });

  it('lets the outermost destkit error decide', () => {
    const error = new TransientError('retry me', { cause: new ConfigError('inner') });
    expect(classifyError(error).failureType).toBe('transient_error');
  });

  it('keeps the stream of the error', () => {
    expect(
      classifyError(new ConfigError('x', { stream: { name: 's', namespace: 'n' } })).stream,
    ).toEqual({ name: 's', namespace: 'n' });
  });

  it('gives stable codes', () => {
    expect(new LineTooLongError(1, 1).code).toBe('INPUT_LINE_TOO_LONG');
    expect(new TransientError('x').retryable).toBe(true);
    expect(new ConfigError('x').retryable).toBe(false);
  });

  it('stops on cyclic causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(causeChain(a)).toHaveLength(2);
  });
});
