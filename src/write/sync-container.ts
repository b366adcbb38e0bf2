/**
 * The DI containers: one root container for the process (logger), one child per sync holding
 * the config, catalog, knobs and the connector's module. Bindings are checked at start: a
 * missing one fails naming the token and the module expected to bind it.
 */
import { Container } from 'inversify';
import type { Logger } from 'pino';
import type { DestinationCatalog } from '../catalog/destination-catalog.js';
import type { Knobs } from '../config/knobs.js';
import { SystemError } from '../errors/destkit-error.js';
import type { JsonObject } from '../protocol/messages.js';
import type { ConnectorDefinition } from './connector-definition.js';
import { TOKEN_OWNERS, TOKENS } from './tokens.js';

export class MissingBindingError extends SystemError {
  override readonly code = 'DI_MISSING_BINDING';
}

export function createRootContainer(logger: Logger): Container {
  const root = new Container({ defaultScope: 'Singleton' });
  root.bind(TOKENS.Logger).toConstantValue(logger);
  return root;
}

/** Fails when any of `tokens` is not bound, naming the token and the module that should bind it. */
export function assertBound(
  container: Container,
  tokens: readonly symbol[],
  connector: string,
): void {
  const missing = tokens.filter((t) => !container.isBound(t));
  if (missing.length > 0) {
    const lines = missing.map(
      (t) =>
        `${t.description ?? String(t)} (expected from ${TOKEN_OWNERS.get(t) ?? 'an unknown module'})`,
    );
    throw new MissingBindingError(
      `connector ${connector}: missing DI binding for ${lines.join(', ')}`,
    );
  }
}

export interface SyncScope {
  readonly container: Container;
}

/** A child container for one sync, with the connector's module loaded and checked. */
export async function createSyncContainer(
  root: Container,
  definition: ConnectorDefinition,
  config: JsonObject,
  catalog: DestinationCatalog,
  knobs: Knobs,
): Promise<SyncScope> {
  const container = new Container({ parent: root, defaultScope: 'Singleton' });
  container.bind(TOKENS.Config).toConstantValue(config);
  container.bind(TOKENS.Catalog).toConstantValue(catalog);
  container.bind(TOKENS.Knobs).toConstantValue(knobs);
  await container.loadAsync(definition.module);
  assertBound(
    container,
    [TOKENS.DestinationWriter, TOKENS.Config, TOKENS.Catalog, TOKENS.Logger],
    definition.name,
  );
  return { container };
}
