/**
 * The test kit's arbitraries agree with destkit itself: valid values are accepted by the typing
 * layer and broken ones are not; generated catalogs resolve; generated syncs end as their model
 * says on the mock destination, with every protocol invariant kept.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveCatalog } from '../../src/catalog/destination-catalog.js';
import { jsonSchemaToType } from '../../src/schema/json-schema-to-type.js';
import { coerceValue } from '../../src/schema/value-coercer.js';
import {
  brokenValueArbitrary,
  catalogArbitrary,
  checkProtocolInvariants,
  createMockDestination,
  dumpMockTable,
  MockBackend,
  PROPERTY_KINDS,
  PROPERTY_SCHEMAS,
  propertiesArbitrary,
  runDestination,
  syncMessagesArbitrary,
  validValueArbitrary,
} from '../../src/testkit/index.js';

describe('catalog arbitraries', () => {
  it('map every property kind to a distinct Airbyte type', () => {
    const kinds = PROPERTY_KINDS.map((k) => jsonSchemaToType(PROPERTY_SCHEMAS[k]).kind);
    expect(new Set(kinds)).toEqual(
      new Set([
        'String',
        'Boolean',
        'Integer',
        'Number',
        'Date',
        'TimestampTZ',
        'TimestampNTZ',
        'TimeTZ',
        'TimeNTZ',
        'Object',
        'ObjectWithoutSchema',
        'Array',
        'ArrayWithoutSchema',
        'Union',
        'Unknown',
      ]),
    );
  });

  it('give values the typing layer accepts, and broken values it rejects', () => {
    for (const kind of PROPERTY_KINDS) {
      const type = jsonSchemaToType(PROPERTY_SCHEMAS[kind]);
      fc.assert(
        fc.property(validValueArbitrary(kind), (value) => {
          expect(coerceValue(type, value).ok, `${kind}: ${JSON.stringify(value)}`).toBe(true);
        }),
        { numRuns: 50 },
      );
      const broken = brokenValueArbitrary(kind);
      // Strings are lenient (other kinds become their text): only the other kinds can break.
      if (broken === undefined || kind === 'string') continue;
      fc.assert(
        fc.property(broken, (value) => {
          expect(coerceValue(type, value).ok, `${kind}: ${JSON.stringify(value)}`).toBe(false);
        }),
        { numRuns: 20 },
      );
    }
  });

  it('give schemas with every kind, and catalogs destkit resolves', () => {
    fc.assert(
      fc.property(propertiesArbitrary(), (properties) => {
        for (const kind of PROPERTY_KINDS) expect(properties[kind]).toBe(kind);
      }),
      { numRuns: 20 },
    );
    fc.assert(
      fc.property(catalogArbitrary({ funkyNames: true }), ({ catalog, streams }) => {
        const resolved = resolveCatalog(catalog);
        expect(resolved.size).toBe(streams.length);
      }),
      { numRuns: 50 },
    );
  });
});

describe('generated syncs on the mock destination', () => {
  it('end as the model says, keep every invariant, and land every record of a COMPLETE append stream', async () => {
    await fc.assert(
      fc.asyncProperty(syncMessagesArbitrary({ maxStreams: 3, maxRecords: 25 }), async (sync) => {
        const backend = new MockBackend();
        const { definition } = createMockDestination({}, backend);
        const result = await runDestination({
          definition,
          catalog: sync.catalog,
          messages: sync.messages,
        });
        expect(
          checkProtocolInvariants({ catalog: sync.catalog, messages: sync.messages }, result, {
            outcome: sync.outcome,
          }),
        ).toEqual([]);
        if (sync.outcome !== 'success') return;
        const resolved = resolveCatalog(sync.catalog);
        for (const stream of resolved.streams) {
          if (stream.importType.kind !== 'append') continue;
          const ids = dumpMockTable(backend, stream).map((row) => row.id);
          const sent = (sync.records.get(stream.label) ?? []).map((data) => data.id);
          expect(ids).toEqual(sent);
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
