/**
 * The in-memory mock destination (src/testkit/mock-destination.ts) against the conformance
 * suite. Each test gets its own MockBackend, named in the config; after each test the backend
 * must have seen no breach of the loader contract.
 */
import { ContainerModule } from 'inversify';
import type { JsonObject } from '../../src/protocol/messages.js';
import {
  ConformanceFailure,
  describeDestinationConformance,
  dumpMockTable,
  MOCK_TOKENS,
  MockBackend,
  MockDestinationWriter,
} from '../../src/testkit/index.js';
import { defineConnector } from '../../src/write/connector-definition.js';
import { TOKENS } from '../../src/write/tokens.js';

const backends = new Map<string, MockBackend>();

function backendOf(config: JsonObject): MockBackend {
  const backend = backends.get(config.backend as string);
  if (backend === undefined) throw new Error(`no mock backend ${String(config.backend)}`);
  return backend;
}

const mock = defineConnector({
  name: 'mock',
  spec: {
    supportsIncremental: true,
    supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
    connectionSpecification: {
      type: 'object',
      required: ['backend'],
      properties: { backend: { type: 'string' } },
    },
  },
  module: new ContainerModule(({ bind }) => {
    bind(MOCK_TOKENS.Backend).toDynamicValue((context) =>
      backendOf(context.get<JsonObject>(TOKENS.Config)),
    );
    bind(MOCK_TOKENS.Options).toConstantValue({});
    bind(TOKENS.DestinationWriter).to(MockDestinationWriter).inSingletonScope();
  }),
});

describeDestinationConformance({
  name: 'mock',
  connector: { definition: mock },
  config: ({ namespace }) => {
    backends.set(namespace, new MockBackend());
    return { backend: namespace };
  },
  dumper: async (stream, config) => dumpMockTable(backendOf(config), stream),
  capabilities: {
    dedup: true,
    truncate: true,
    typed: false,
    schemaEvolution: true,
    namespaces: true,
    incrementalCommit: false,
  },
  cleanup: (config) => {
    const backend = backendOf(config);
    backends.delete(config.backend as string);
    if (backend.violations.length > 0)
      throw new ConformanceFailure(`loader contract breached: ${backend.violations.join('; ')}`);
  },
});
