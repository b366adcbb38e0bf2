import { ContainerModule, inject, injectable } from 'inversify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveCatalog } from '../../src/catalog/destination-catalog.js';
import { DEFAULT_KNOBS } from '../../src/config/knobs.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import { defineConnector } from '../../src/write/connector-definition.js';
import type { DestinationWriter, StreamLoader } from '../../src/write/destination-writer.js';
import {
  createRootContainer,
  createSyncContainer,
  MissingBindingError,
} from '../../src/write/sync-container.js';
import { TOKENS } from '../../src/write/tokens.js';
import { catalog } from '../helpers/messages.js';

const logger = pino({ level: 'silent' });
const cat = resolveCatalog(catalog([{ name: 'a' }]));

@injectable()
class ConfiguredWriter implements DestinationWriter {
  constructor(
    @inject(TOKENS.Config) readonly config: JsonObject,
    @inject(TOKENS.Knobs) readonly knobs: typeof DEFAULT_KNOBS,
  ) {}
  async setup(): Promise<void> {}
  createStreamLoader(): StreamLoader {
    throw new Error('not used');
  }
  async teardown(): Promise<void> {}
}

describe('createSyncContainer', () => {
  it('injects the config and knobs into the connector writer', async () => {
    const definition = defineConnector({
      name: 'test',
      spec: { connectionSpecification: {} },
      module: new ContainerModule(({ bind }) => {
        bind(TOKENS.DestinationWriter).to(ConfiguredWriter);
      }),
    });
    const { container } = await createSyncContainer(
      createRootContainer(logger),
      definition,
      { a: 1 },
      cat,
      DEFAULT_KNOBS,
    );
    const writer = container.get<DestinationWriter>(TOKENS.DestinationWriter);
    expect((writer as ConfiguredWriter).config).toEqual({ a: 1 });
    expect((writer as ConfiguredWriter).knobs).toBe(DEFAULT_KNOBS);
  });

  it('fails at start naming the missing token and the module expected to bind it', async () => {
    const definition = defineConnector({
      name: 'forgetful',
      spec: { connectionSpecification: {} },
      module: new ContainerModule(() => {}),
    });
    const attempt = createSyncContainer(
      createRootContainer(logger),
      definition,
      {},
      cat,
      DEFAULT_KNOBS,
    );
    await expect(attempt).rejects.toThrow(MissingBindingError);
    await expect(
      createSyncContainer(createRootContainer(logger), definition, {}, cat, DEFAULT_KNOBS),
    ).rejects.toThrow(
      "connector forgetful: missing DI binding for destkit.DestinationWriter (expected from the connector's DI module (ConnectorDefinition.module))",
    );
  });

  it('gives each sync its own child container', async () => {
    const definition = defineConnector({
      name: 'test',
      spec: { connectionSpecification: {} },
      module: new ContainerModule(({ bind }) => {
        bind(TOKENS.DestinationWriter).to(ConfiguredWriter);
      }),
    });
    const root = createRootContainer(logger);
    const one = await createSyncContainer(root, definition, { n: 1 }, cat, DEFAULT_KNOBS);
    const two = await createSyncContainer(root, definition, { n: 2 }, cat, DEFAULT_KNOBS);
    expect(one.container.get<ConfiguredWriter>(TOKENS.DestinationWriter).config).toEqual({ n: 1 });
    expect(two.container.get<ConfiguredWriter>(TOKENS.DestinationWriter).config).toEqual({ n: 2 });
    expect(root.isBound(TOKENS.Config)).toBe(false);
  });
});
