/** How file-system errors become typed JSONL errors. */
import { describe, expect, it } from 'vitest';
import { fileSystemError } from '../../../connectors/destination-jsonl/jsonl-errors.js';
import { classifyError } from '../../../src/errors/classify-error.js';
import { ConfigError } from '../../../src/errors/destkit-error.js';

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: something, open '/x'`), { code });
}

describe('fileSystemError', () => {
  it.each([
    ['EACCES', 'config_error', 'JSONL_NOT_WRITABLE'],
    ['EPERM', 'config_error', 'JSONL_NOT_WRITABLE'],
    ['EROFS', 'config_error', 'JSONL_NOT_WRITABLE'],
    ['ENOTDIR', 'config_error', 'JSONL_PATH_CONFLICT'],
    ['EEXIST', 'config_error', 'JSONL_PATH_CONFLICT'],
    ['EISDIR', 'config_error', 'JSONL_PATH_CONFLICT'],
    ['ELOOP', 'config_error', 'JSONL_PATH_CONFLICT'],
    ['ENOSPC', 'transient_error', 'JSONL_NO_SPACE'],
    ['EDQUOT', 'transient_error', 'JSONL_NO_SPACE'],
    ['EMFILE', 'transient_error', 'JSONL_IO_TRANSIENT'],
    ['EIO', 'system_error', 'JSONL_IO'],
  ])('maps %s to %s (%s), naming the path and the action', (code, failureType, jsonlCode) => {
    const error = fileSystemError(errno(code), 'append to', '/data/out/public/users.jsonl', {
      name: 'users',
      namespace: 'public',
    });
    const classified = classifyError(error);
    expect(classified.failureType).toBe(failureType);
    expect((error as Error & { code: string }).code).toBe(jsonlCode);
    expect(classified.message).toMatch(/^cannot append to \/data\/out\/public\/users\.jsonl: /);
    expect(classified.message).toContain(code);
    expect(classified.stream).toEqual({ name: 'users', namespace: 'public' });
    expect(classified.internalMessage).toContain('caused by');
  });

  it('passes a destkit error through unchanged', () => {
    const original = new ConfigError('already typed');
    expect(fileSystemError(original, 'open', '/x')).toBe(original);
  });

  it('maps a value without an errno code to a system error', () => {
    expect(classifyError(fileSystemError('boom', 'open', '/x')).failureType).toBe('system_error');
  });
});
