/**
 * A connector definition: what `destkit <connector>` and a connector's own executable run.
 * A module exporting one (as `default` or as `connector`) can be named by path on the CLI.
 */
import type { ContainerModule } from 'inversify';
import type { Logger } from 'pino';
import type {
  ConnectorSpecification,
  DestinationOperation,
  JsonObject,
} from '../protocol/messages.js';

export interface CheckContext {
  /** The validated config, defaults applied. */
  readonly config: JsonObject;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** A check either returns (SUCCEEDED) or throws; a ConfigError becomes FAILED with its message. */
export type CheckFunction = (context: CheckContext) => Promise<void>;

export interface ConnectorDefinition {
  /** Short name, e.g. `dev-null`; shown in logs and reports. */
  readonly name: string;
  readonly spec: ConnectorSpecification;
  /** Binds TOKENS.DestinationWriter (and whatever else the connector needs). */
  readonly module: ContainerModule;
  readonly check?: CheckFunction;
  readonly discover?: (context: CheckContext) => Promise<DestinationOperation[]>;
}

/**
 * The light form of a connector for its executable: the spec at hand, the definition loaded
 * only when a command needs it. `spec` then prints the spec without loading the definition's
 * modules (its writer, its database driver), so it starts fast:
 * `runConnectorMain({ spec: MY_SPEC, load: () => import('./index.js') })`.
 */
export interface ConnectorEntry {
  /** The spec `spec` prints: the same object as the definition's `spec`. */
  readonly spec: ConnectorSpecification;
  /**
   * Loads the connector: a module that exports the definition (as `default` or `connector`),
   * or the definition itself.
   */
  readonly load: () => Promise<unknown>;
}

/** Identity helper that type-checks a definition. */
export function defineConnector(definition: ConnectorDefinition): ConnectorDefinition {
  return definition;
}

export function isConnectorDefinition(value: unknown): value is ConnectorDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    typeof v.spec === 'object' &&
    v.spec !== null &&
    typeof v.module === 'object' &&
    v.module !== null
  );
}
