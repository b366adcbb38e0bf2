/**
 * The conformance `spec` scenario is where a connector's broken JSON schema is found (runs
 * compile it without the meta-schema check): one connector with a sound schema passes it, one
 * with a misspelt type fails it, naming the field.
 */
import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/protocol/messages.js';
import { ConformanceSession } from '../../src/testkit/conformance/conformance-session.js';
import { SCENARIOS } from '../../src/testkit/conformance/scenarios.js';
import { MOCK_TOKENS, MockBackend, MockDestinationWriter } from '../../src/testkit/index.js';
import { defineConnector } from '../../src/write/connector-definition.js';
import { TOKENS } from '../../src/write/tokens.js';

function connectorWith(connectionSpecification: JsonObject) {
  return defineConnector({
    name: 'spec-probe',
    spec: { supported_destination_sync_modes: ['append'], connectionSpecification },
    module: new ContainerModule(({ bind }) => {
      bind(MOCK_TOKENS.Backend).toConstantValue(new MockBackend());
      bind(MOCK_TOKENS.Options).toConstantValue({});
      bind(TOKENS.DestinationWriter).to(MockDestinationWriter).inSingletonScope();
    }),
  });
}

async function runSpecScenario(connectionSpecification: JsonObject): Promise<void> {
  const scenario = SCENARIOS.find((s) => s.id === 'spec');
  if (scenario === undefined) throw new Error('no spec scenario');
  const session = new ConformanceSession(
    {
      connector: { definition: connectorWith(connectionSpecification) },
      capabilities: {
        dedup: false,
        truncate: false,
        typed: false,
        schemaEvolution: false,
        namespaces: false,
        incrementalCommit: false,
      },
      dumper: undefined,
      typing: undefined,
      mapExpected: undefined,
      mode: undefined,
      env: {},
      syncTimeoutMs: 30_000,
    },
    { namespace: 'specprobe', testName: 'spec probe' },
    {},
  );
  await scenario.run(session);
}

describe('conformance spec scenario', () => {
  it('passes a connector whose connection specification is a sound schema', async () => {
    await runSpecScenario({ type: 'object', properties: { path: { type: 'string' } } });
  });

  it('fails a connector whose connection specification is a broken schema, naming the field', async () => {
    await expect(
      runSpecScenario({ type: 'object', properties: { path: { type: 'strnig' } } }),
    ).rejects.toThrow(/not a valid JSON schema: .*properties\.path\.type/);
  });
});
