/** Examples for every row of PROTOCOL.md §4's table, plus the legacy WellKnownTypes refs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AirbyteType,
  arrayOf,
  objectOf,
  AirbyteTypes as T,
  typeKey,
  unionOf,
} from '../../src/schema/airbyte-type.js';
import { jsonSchemaToType } from '../../src/schema/json-schema-to-type.js';

function expectType(schema: unknown, expected: AirbyteType): void {
  expect(typeKey(jsonSchemaToType(schema))).toBe(typeKey(expected));
}

function union(...options: AirbyteType[]): AirbyteType {
  const u = unionOf(options);
  if (u === undefined) throw new Error('empty union');
  return u;
}

describe('jsonSchemaToType', () => {
  describe('scalars', () => {
    it('reads string, ignoring unknown formats', () => {
      expectType({ type: 'string' }, T.String);
      expectType({ type: 'string', format: 'email' }, T.String);
      expectType({ type: 'string', format: 'uuid', airbyte_type: 'whatever' }, T.String);
    });
    it('reads boolean', () => expectType({ type: 'boolean' }, T.Boolean));
    it('reads integer, and number with airbyte_type integer', () => {
      expectType({ type: 'integer' }, T.Integer);
      expectType({ type: 'number', airbyte_type: 'integer' }, T.Integer);
    });
    it('reads number', () => {
      expectType({ type: 'number' }, T.Number);
      expectType({ type: 'number', airbyte_type: 'big_number' }, T.Number);
    });
    it('reads format date', () => expectType({ type: 'string', format: 'date' }, T.Date));
    it('reads date-time: with timezone by default', () => {
      expectType({ type: 'string', format: 'date-time' }, T.TimestampTZ);
      expectType(
        { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
        T.TimestampTZ,
      );
      expectType(
        { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
        T.TimestampNTZ,
      );
    });
    it('reads time: with timezone by default', () => {
      expectType({ type: 'string', format: 'time' }, T.TimeTZ);
      expectType({ type: 'string', format: 'time', airbyte_type: 'time_with_timezone' }, T.TimeTZ);
      expectType(
        { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
        T.TimeNTZ,
      );
    });
    it('needs a format: airbyte_type alone on a string stays String', () => {
      expectType({ type: 'string', airbyte_type: 'timestamp_without_timezone' }, T.String);
    });
  });

  describe('type arrays', () => {
    it('reads "null" as nullability only', () => {
      expectType({ type: ['null', 'string'] }, T.String);
      expectType({ type: ['string', 'null'], format: 'date-time' }, T.TimestampTZ);
      expectType({ type: ['null', 'integer'] }, T.Integer);
    });
    it('reads several non-null types as a Union', () => {
      expectType({ type: ['null', 'string', 'integer'] }, union(T.String, T.Integer));
      expectType({ type: ['number', 'boolean'] }, union(T.Number, T.Boolean));
    });
    it('keeps a repeated type once', () => expectType({ type: ['string', 'string'] }, T.String));
    it('reads only-null and empty type arrays as Unknown', () => {
      expect(jsonSchemaToType({ type: ['null'] }).kind).toBe('Unknown');
      expect(jsonSchemaToType({ type: 'null' }).kind).toBe('Unknown');
      expect(jsonSchemaToType({ type: [] }).kind).toBe('Unknown');
    });
  });

  describe('combinators', () => {
    it('reads oneOf, anyOf and allOf as a Union', () => {
      const options = [{ type: 'string' }, { type: 'integer' }];
      for (const key of ['oneOf', 'anyOf', 'allOf']) {
        expectType({ [key]: options }, union(T.String, T.Integer));
      }
    });
    it('collapses a single option', () => {
      expectType({ oneOf: [{ type: 'string', format: 'date' }] }, T.Date);
      expectType({ anyOf: [{ type: 'null' }, { type: 'boolean' }] }, T.Boolean);
    });
    it('flattens nested unions and drops duplicates', () => {
      expectType(
        {
          oneOf: [
            { type: ['string', 'integer'] },
            { anyOf: [{ type: 'integer' }, { type: 'boolean' }] },
          ],
        },
        union(T.String, T.Integer, T.Boolean),
      );
    });
    it('reads an empty or non-array combinator as Unknown', () => {
      expect(jsonSchemaToType({ oneOf: [] }).kind).toBe('Unknown');
      expect(jsonSchemaToType({ anyOf: { type: 'string' } }).kind).toBe('Unknown');
    });
    it('lets type win over a combinator', () => {
      expectType({ type: 'object', oneOf: [{ type: 'string' }] }, T.ObjectWithoutSchema);
    });
  });

  describe('arrays', () => {
    it('reads items as a schema', () => {
      expectType({ type: 'array', items: { type: 'integer' } }, arrayOf(T.Integer));
    });
    it('reads an items list as a union of its entries, not a tuple', () => {
      expectType(
        { type: 'array', items: [{ type: 'string' }, { type: 'integer' }, { type: 'string' }] },
        arrayOf(union(T.String, T.Integer)),
      );
      expectType({ type: 'array', items: [{ type: 'boolean' }] }, arrayOf(T.Boolean));
      expectType({ type: 'array', items: [] }, T.ArrayWithoutSchema);
    });
    it('reads absent items as an array without schema', () => {
      expectType({ type: 'array' }, T.ArrayWithoutSchema);
      expectType({ type: ['null', 'array'] }, T.ArrayWithoutSchema);
    });
    it('reads nested arrays and objects', () => {
      expectType(
        {
          type: 'array',
          items: {
            type: 'object',
            properties: { a: { type: 'array', items: { type: 'number' } } },
          },
        },
        arrayOf(objectOf([['a', arrayOf(T.Number)]])),
      );
    });
  });

  describe('objects', () => {
    it('reads properties in schema order', () => {
      const t = jsonSchemaToType({
        type: 'object',
        properties: { z: { type: 'string' }, a: { type: 'integer' }, m: { type: 'boolean' } },
      });
      expect(t.kind).toBe('Object');
      if (t.kind === 'Object') expect([...t.properties.keys()]).toEqual(['z', 'a', 'm']);
      expect(typeKey(t)).toBe(
        typeKey(
          objectOf([
            ['z', T.String],
            ['a', T.Integer],
            ['m', T.Boolean],
          ]),
        ),
      );
    });
    it('reads an object without or with empty properties as schemaless', () => {
      expectType({ type: 'object' }, T.ObjectWithoutSchema);
      expectType({ type: 'object', properties: {} }, T.ObjectWithoutSchema);
      expectType({ type: ['object', 'null'], additionalProperties: true }, T.ObjectWithoutSchema);
    });
    it('keeps odd property names as they are', () => {
      expectType(
        JSON.parse(
          '{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"type":"integer"}}}',
        ),
        objectOf([
          ['__proto__', T.String],
          ['constructor', T.Integer],
        ]),
      );
    });
  });

  describe('no type and no combinator (the "Object | anything else: Unknown" row)', () => {
    it('reads a schema with properties as an Object', () => {
      expectType({ properties: { id: { type: 'integer' } } }, objectOf([['id', T.Integer]]));
      expectType({ properties: {} }, T.ObjectWithoutSchema);
    });
    it('reads anything else as Unknown, keeping the schema', () => {
      for (const schema of [{}, { description: 'anything' }, { format: 'date' }, { items: {} }]) {
        const t = jsonSchemaToType(schema);
        expect(t).toEqual({ kind: 'Unknown', jsonSchema: schema });
      }
    });
  });

  describe('legacy WellKnownTypes refs', () => {
    const cases: [string, AirbyteType][] = [
      ['String', T.String],
      ['BinaryData', T.String],
      ['Boolean', T.Boolean],
      ['Integer', T.Integer],
      ['Number', T.Number],
      ['Date', T.Date],
      ['TimestampWithTimezone', T.TimestampTZ],
      ['TimestampWithoutTimezone', T.TimestampNTZ],
      ['TimeWithTimezone', T.TimeTZ],
      ['TimeWithoutTimezone', T.TimeNTZ],
    ];
    it.each(cases)('maps %s', (name, expected) => {
      expectType({ $ref: `WellKnownTypes.json#/definitions/${name}` }, expected);
    });
    it('maps refs inside objects, arrays and unions', () => {
      expectType(
        {
          type: 'object',
          properties: {
            at: { $ref: 'WellKnownTypes.json#/definitions/TimestampWithTimezone' },
            ids: { type: 'array', items: { $ref: 'WellKnownTypes.json#/definitions/Integer' } },
            v: { oneOf: [{ $ref: 'WellKnownTypes.json#/definitions/String' }, { type: 'null' }] },
          },
        },
        objectOf([
          ['at', T.TimestampTZ],
          ['ids', arrayOf(T.Integer)],
          ['v', T.String],
        ]),
      );
    });
    it('reads other refs as Unknown', () => {
      expect(jsonSchemaToType({ $ref: '#/definitions/Thing' }).kind).toBe('Unknown');
      expect(jsonSchemaToType({ $ref: 'WellKnownTypes.json#/definitions/Potato' }).kind).toBe(
        'Unknown',
      );
    });
  });

  describe('weird schemas', () => {
    it('reads unknown type names and ill-typed keywords as Unknown', () => {
      for (const schema of [
        { type: 'potato' },
        { type: ['string', 'potato'] },
        { type: 42 },
        { type: null },
        { type: ['string', 1] },
        true,
        false,
        null,
        'string',
        [],
      ]) {
        expect(jsonSchemaToType(schema).kind).toBe('Unknown');
      }
    });
    it('reads malformed items and properties leniently', () => {
      expectType(
        { type: 'array', items: 'integer' },
        arrayOf({ kind: 'Unknown', jsonSchema: 'integer' }),
      );
      expectType({ type: 'object', properties: [1, 2] }, T.ObjectWithoutSchema);
    });
    it('turns very deep schemas into Unknown instead of overflowing', () => {
      let schema: unknown = { type: 'string' };
      for (let i = 0; i < 10_000; i++) schema = { type: 'array', items: schema };
      expect(() => jsonSchemaToType(schema)).not.toThrow();
    });
    it('never throws, whatever the input', () => {
      fc.assert(
        fc.property(fc.anything(), (schema) => {
          jsonSchemaToType(schema);
        }),
      );
    });
    it('never throws on random schema-shaped input', () => {
      const schemaArb = fc.letrec((tie) => ({
        schema: fc.oneof(
          { maxDepth: 4 },
          fc.constantFrom({}, { type: 'string' }, { type: 'null' }),
          tie('node'),
        ),
        node: fc.record(
          {
            type: fc.oneof(
              fc.constantFrom(
                'string',
                'integer',
                'number',
                'boolean',
                'array',
                'object',
                'null',
                'x',
              ),
              fc.array(fc.constantFrom('string', 'integer', 'null', 'object')),
            ),
            format: fc.constantFrom('date', 'date-time', 'time', 'email'),
            airbyte_type: fc.constantFrom(
              'integer',
              'timestamp_without_timezone',
              'time_without_timezone',
            ),
            items: fc.oneof(tie('schema'), fc.array(tie('schema'), { maxLength: 3 })),
            properties: fc.dictionary(fc.string(), tie('schema'), { maxKeys: 3 }),
            oneOf: fc.array(tie('schema'), { maxLength: 3 }),
            $ref: fc.constantFrom('WellKnownTypes.json#/definitions/Date', '#/x'),
          },
          { requiredKeys: [] },
        ),
      }));
      fc.assert(
        fc.property(schemaArb.schema, (schema) => {
          const t = jsonSchemaToType(schema);
          expect(typeof typeKey(t)).toBe('string');
        }),
      );
    });
  });
});
