/** The first-party connectors `destkit <name>` knows, loaded lazily. */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors/destkit-error.js';
import { type ConnectorDefinition, isConnectorDefinition } from '../write/connector-definition.js';

export const FIRST_PARTY_CONNECTORS: Readonly<
  Record<string, { description: string; load: () => Promise<unknown> }>
> = {
  'dev-null': {
    description: 'discards records (benchmarks, fault injection)',
    load: () => import('../../connectors/destination-dev-null/index.js'),
  },
  jsonl: {
    description: 'one JSON-lines file per stream in a local directory',
    load: () => import('../../connectors/destination-jsonl/index.js'),
  },
  duckdb: {
    description: 'typed tables in a local DuckDB database file',
    load: () => import('../../connectors/destination-duckdb/index.js'),
  },
  postgres: {
    description: 'one table per stream in a PostgreSQL database, loaded with COPY',
    load: () => import('../../connectors/destination-postgres/index.js'),
  },
};

export class UnknownConnectorError extends ConfigError {
  override readonly code = 'CLI_UNKNOWN_CONNECTOR';
}

function pickDefinition(module: unknown, where: string): ConnectorDefinition {
  const m = module as Record<string, unknown>;
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

/** A first-party name (`dev-null`) or a path to a module exporting a connector definition. */
export async function loadConnector(reference: string): Promise<ConnectorDefinition> {
  const known = FIRST_PARTY_CONNECTORS[reference];
  if (known !== undefined) return pickDefinition(await known.load(), `connector ${reference}`);
  if (!reference.includes('/') && !reference.includes('\\') && !reference.includes('.')) {
    throw new UnknownConnectorError(
      `unknown connector ${reference}; first-party connectors: ${Object.keys(FIRST_PARTY_CONNECTORS).join(', ')} (or give a path to a module)`,
    );
  }
  const path = resolve(reference);
  let module: unknown;
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new UnknownConnectorError(
      `cannot load connector module ${path}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  return pickDefinition(module, `module ${path}`);
}
