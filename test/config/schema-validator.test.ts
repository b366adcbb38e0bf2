import { describe, expect, it } from 'vitest';
import { DEV_NULL_SPEC } from '../../connectors/destination-dev-null/spec.js';
import { DUCKDB_SPEC } from '../../connectors/destination-duckdb/spec.js';
import { JSONL_SPEC } from '../../connectors/destination-jsonl/spec.js';
import { POSTGRES_SPEC } from '../../connectors/destination-postgres/spec.js';
import { CONFIGURED_CATALOG_SCHEMA } from '../../src/catalog/catalog-schema.js';
import { specSchemaProblems } from '../../src/config/schema-validator.js';
import type { JsonObject } from '../../src/protocol/messages.js';

// Runs compile schemas without checking them against the meta-schema (start-up time); these
// tests and the test kit's conformance `spec` scenario are where that check happens.
describe(specSchemaProblems, () => {
  it.each([
    ['dev-null', DEV_NULL_SPEC.connectionSpecification],
    ['duckdb', DUCKDB_SPEC.connectionSpecification],
    ['jsonl', JSONL_SPEC.connectionSpecification],
    ['postgres', POSTGRES_SPEC.connectionSpecification],
    ['the configured catalog', CONFIGURED_CATALOG_SCHEMA],
  ])('finds nothing wrong with the schema of %s', (_what, schema) => {
    expect(specSchemaProblems(schema)).toEqual([]);
  });

  it.each<[string, JsonObject, RegExp]>([
    [
      'a misspelt type',
      { type: 'object', properties: { a: { type: 'strnig' } } },
      /properties\.a\.type/,
    ],
    ['required that is not a list', { type: 'object', required: 'a' }, /required/],
    ['a negative minLength', { type: 'string', minLength: -1 }, /minLength/],
    [
      'a pattern that is no regular expression',
      { type: 'string', pattern: '(' },
      /pattern|regular/i,
    ],
  ])('names %s', (_what, schema, problem) => {
    const problems = specSchemaProblems(schema);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(problem);
  });
});
