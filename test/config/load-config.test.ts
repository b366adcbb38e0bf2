import { describe, expect, it } from 'vitest';
import { connector as devNull } from '../../connectors/destination-dev-null/index.js';
import { InvalidDocumentError, UnreadableFileError } from '../../src/config/config-errors.js';
import { loadConfig, resolveConfig } from '../../src/config/load-config.js';
import { SecretRedactor } from '../../src/config/secret-redactor.js';
import { classifyError } from '../../src/errors/classify-error.js';
import type { ConnectorSpecification } from '../../src/protocol/messages.js';
import { writeJsonFiles } from '../helpers/run-cli.js';

const spec: ConnectorSpecification = {
  connectionSpecification: {
    type: 'object',
    required: ['host'],
    properties: {
      host: { type: 'string' },
      port: { type: 'integer', default: 5432, minimum: 1, maximum: 65535 },
      password: { type: 'string', airbyte_secret: true },
      ssl: {
        type: 'object',
        oneOf: [
          { properties: { mode: { const: 'disable' } }, required: ['mode'] },
          {
            properties: {
              mode: { const: 'verify-ca' },
              ca: { type: 'string', airbyte_secret: true },
            },
            required: ['mode', 'ca'],
          },
        ],
      },
    },
  },
};

describe('resolveConfig', () => {
  it('applies the defaults of the spec', () => {
    const config = resolveConfig(spec, { host: 'db' }, new SecretRedactor());
    expect(config).toEqual({ host: 'db', port: 5432 });
  });

  it('does not modify the object it was given', () => {
    const raw = { host: 'db' };
    resolveConfig(spec, raw, new SecretRedactor());
    expect(raw).toEqual({ host: 'db' });
  });

  it('names every violated field and rule, as a config_error', () => {
    const error = (() => {
      try {
        resolveConfig(spec, { port: 0, password: 12 }, new SecretRedactor());
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidDocumentError);
    const message = (error as Error).message;
    expect(message).toContain('config.host is required');
    expect(message).toContain('config.port must be >= 1');
    expect(message).toContain('config.password must be string');
    expect(classifyError(error).failureType).toBe('config_error');
  });

  it('never quotes a value in its errors', () => {
    const redactor = new SecretRedactor();
    try {
      resolveConfig(spec, { host: 'db', port: 'value-4711' }, redactor);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('value-4711');
      expect((error as Error).message).toContain('config.port must be integer');
    }
  });

  it('registers secrets before validating, so a failing config still masks them', () => {
    const redactor = new SecretRedactor();
    expect(() =>
      resolveConfig(
        spec,
        { password: 'pw-123', ssl: { mode: 'verify-ca', ca: 'ca-cert' } },
        redactor,
      ),
    ).toThrow();
    expect(redactor.redactText('pw-123 and ca-cert')).toBe('**** and ****');
  });

  it('refuses a config that is not an object', () => {
    expect(() => resolveConfig(spec, [1], new SecretRedactor())).toThrow(
      'invalid config: config must be a JSON object',
    );
  });

  it('validates the dev-null spec with its conditional rule', () => {
    expect(() => resolveConfig(devNull.spec, { mode: 'failing' }, new SecretRedactor())).toThrow(
      'invalid config: config.fail_after_records is required',
    );
    expect(resolveConfig(devNull.spec, {}, new SecretRedactor())).toMatchObject({
      mode: 'silent',
      log_every: 1000,
    });
  });
});

describe('loadConfig', () => {
  it('names a missing file', async () => {
    await expect(
      loadConfig(spec, '/nonexistent/config.json', new SecretRedactor()),
    ).rejects.toThrow('cannot read the config file /nonexistent/config.json: no such file');
  });

  it('names a file that is not JSON without quoting it', async () => {
    const f = writeJsonFiles({ 'config.json': '{"password": "pw-9"' });
    const error = await loadConfig(spec, f['config.json']!, new SecretRedactor()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnreadableFileError);
    expect((error as Error).message).toMatch(/it is not valid JSON$/);
    expect((error as Error).message).not.toContain('pw-9');
  });

  it('reads, defaults and validates a file', async () => {
    const f = writeJsonFiles({ 'config.json': { host: 'h', password: 'p' } });
    const redactor = new SecretRedactor();
    await expect(loadConfig(spec, f['config.json']!, redactor)).resolves.toEqual({
      host: 'h',
      port: 5432,
      password: 'p',
    });
    expect(redactor.redactText('p')).toBe('****');
  });
});
