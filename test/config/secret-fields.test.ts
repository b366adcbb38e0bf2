import { describe, expect, it } from 'vitest';
import { findSecretValues } from '../../src/config/secret-fields.js';

describe('findSecretValues', () => {
  it('finds secrets in nested objects, oneOf branches and arrays', () => {
    const schema = {
      type: 'object',
      properties: {
        password: { type: 'string', airbyte_secret: true },
        tunnel: {
          type: 'object',
          oneOf: [
            { properties: { method: { const: 'none' } } },
            {
              properties: {
                method: { const: 'key' },
                private_key: { type: 'string', airbyte_secret: true },
              },
            },
          ],
        },
        accounts: {
          type: 'array',
          items: {
            type: 'object',
            properties: { token: { type: 'string', airbyte_secret: true } },
          },
        },
        port: { type: 'integer', airbyte_secret: true },
        plain: { type: 'string' },
      },
    };
    const config = {
      password: 'a',
      tunnel: { method: 'key', private_key: 'b' },
      accounts: [{ token: 'c' }, { token: 'd' }],
      port: 4711,
      plain: 'not-secret',
    };
    expect(findSecretValues(schema, config).sort()).toEqual(['4711', 'a', 'b', 'c', 'd']);
  });

  it('ignores absent and empty values', () => {
    const schema = {
      type: 'object',
      properties: { password: { type: 'string', airbyte_secret: true } },
    };
    expect(findSecretValues(schema, {})).toEqual([]);
    expect(findSecretValues(schema, { password: '' })).toEqual([]);
  });

  it('takes a whole object marked secret', () => {
    const schema = {
      type: 'object',
      properties: { creds: { type: 'object', airbyte_secret: true } },
    };
    expect(findSecretValues(schema, { creds: { user: 'u', key: 'k' } }).sort()).toEqual(['k', 'u']);
  });
});
