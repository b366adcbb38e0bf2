/**
 * The first-party connectors `destkit <name>` knows, and how a connector is loaded: lazily, so
 * that a command loads only what it needs (a plain `spec` loads only the connector's spec module).
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors/destkit-error.js';
import type { ConnectorSpecification } from '../protocol/messages.js';
import {
  type ConnectorDefinition,
  type ConnectorEntry,
  isConnectorDefinition,
} from '../write/connector-definition.js';
import type { CliIo } from './cli-io.js';

export interface FirstPartyConnector {
  readonly description: string;
  /** Loads only the connector's spec module. */
  readonly loadSpec: () => Promise<ConnectorSpecification>;
  /** Loads the connector's module, which exports its definition. */
  readonly load: () => Promise<unknown>;
  /**
   * Loads the connector's command line (`entry.js`): from the built package, its bundle, which
   * starts without resolving the hundreds of modules of its packages one by one.
   */
  readonly loadCommand: () => Promise<ConnectorCommand>;
}

/** A connector's command line: the arguments after its name → the exit code. */
export type ConnectorCommand = (args: readonly string[], io: CliIo) => Promise<number>;

export const FIRST_PARTY_CONNECTORS: Readonly<Record<string, FirstPartyConnector>> = {
  'dev-null': {
    description: 'discards records (benchmarks, fault injection)',
    loadSpec: async () =>
      (await import('../../connectors/destination-dev-null/spec.js')).DEV_NULL_SPEC,
    load: () => import('../../connectors/destination-dev-null/index.js'),
    loadCommand: async () =>
      (await import('../../connectors/destination-dev-null/entry.js')).runCommand,
  },
  jsonl: {
    description: 'one JSON-lines file per stream in a local directory',
    loadSpec: async () => (await import('../../connectors/destination-jsonl/spec.js')).JSONL_SPEC,
    load: () => import('../../connectors/destination-jsonl/index.js'),
    loadCommand: async () =>
      (await import('../../connectors/destination-jsonl/entry.js')).runCommand,
  },
  duckdb: {
    description: 'typed tables in a local DuckDB database file',
    loadSpec: async () => (await import('../../connectors/destination-duckdb/spec.js')).DUCKDB_SPEC,
    load: () => import('../../connectors/destination-duckdb/index.js'),
    loadCommand: async () =>
      (await import('../../connectors/destination-duckdb/entry.js')).runCommand,
  },
  postgres: {
    description: 'one table per stream in a PostgreSQL database, loaded with COPY',
    loadSpec: async () =>
      (await import('../../connectors/destination-postgres/spec.js')).POSTGRES_SPEC,
    load: () => import('../../connectors/destination-postgres/index.js'),
    loadCommand: async () =>
      (await import('../../connectors/destination-postgres/entry.js')).runCommand,
  },
};

export class UnknownConnectorError extends ConfigError {
  override readonly code = 'CLI_UNKNOWN_CONNECTOR';
}

/** The definition a connector module exports (as `default`, `connector` or `default.connector`). */
export function definitionFrom(module: unknown, where: string): ConnectorDefinition {
  const m = (typeof module === 'object' && module !== null ? module : {}) as Record<
    string,
    unknown
  >;
  for (const candidate of [
    m.default,
    m.connector,
    (m.default as Record<string, unknown> | undefined)?.connector,
  ]) {
    if (isConnectorDefinition(candidate)) return candidate;
  }
  throw new UnknownConnectorError(
    `${where} does not export a connector definition (export it as \`default\` or \`connector\`; see docs/writing-a-connector.md)`,
  );
}

/**
 * Loads `reflect-metadata` before any connector module: connectors declare their classes with
 * inversify's decorators.
 */
export async function loadDecoratorSupport(): Promise<void> {
  await import('reflect-metadata');
}

/** The definition of a connector given as one, or as an entry: then it is loaded now. */
export async function definitionOf(
  connector: ConnectorDefinition | ConnectorEntry,
): Promise<ConnectorDefinition> {
  await loadDecoratorSupport();
  if (isConnectorDefinition(connector)) return connector;
  const loaded = await connector.load();
  return isConnectorDefinition(loaded)
    ? loaded
    : definitionFrom(loaded, 'the module loaded by the connector entry');
}

/** A first-party name (`dev-null`) or a path to a module exporting a connector definition. */
export async function loadConnector(reference: string): Promise<ConnectorDefinition> {
  const known = FIRST_PARTY_CONNECTORS[reference];
  if (known !== undefined) {
    await loadDecoratorSupport();
    return definitionFrom(await known.load(), `connector ${reference}`);
  }
  if (!reference.includes('/') && !reference.includes('\\') && !reference.includes('.')) {
    throw new UnknownConnectorError(
      `unknown connector ${reference}; first-party connectors: ${Object.keys(FIRST_PARTY_CONNECTORS).join(', ')} (or give a path to a module)`,
    );
  }
  const path = resolve(reference);
  let module: unknown;
  try {
    await loadDecoratorSupport();
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new UnknownConnectorError(
      `cannot load connector module ${path}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  return definitionFrom(module, `module ${path}`);
}
