/**
 * Resolves a configured catalog (wire form) into a DestinationCatalog: validated against the
 * catalog schema, non-empty, every stream unique, import types and generations checked.
 */

import { readJsonFile } from '../config/json-file.js';
import { validateDocument } from '../config/schema-validator.js';
import { ConfigError, SystemError } from '../errors/destkit-error.js';
import { describeStream, streamKey } from '../protocol/messages.js';
import { CONFIGURED_CATALOG_SCHEMA } from './catalog-schema.js';
import type { ConfiguredAirbyteCatalog, ConfiguredAirbyteStream } from './configured-catalog.js';
import {
  type DestinationStream,
  type ImportType,
  makeDestinationStream,
} from './destination-stream.js';

export class InvalidCatalogError extends ConfigError {
  override readonly code = 'CATALOG_INVALID';
}

/** A refresh with 0 < minimum_generation_id < generation_id: not defined by the protocol. */
export class HybridRefreshError extends SystemError {
  override readonly code = 'CATALOG_HYBRID_REFRESH';
}

export class DestinationCatalog {
  private readonly byKey: Map<string, DestinationStream>;

  constructor(readonly streams: readonly DestinationStream[]) {
    this.byKey = new Map(streams.map((s) => [s.key, s]));
  }

  /** The stream for a record's namespace and name, or undefined when not configured. */
  find(namespace: string | null | undefined, name: string): DestinationStream | undefined {
    return this.byKey.get(streamKey({ namespace, name }));
  }

  get(key: string): DestinationStream | undefined {
    return this.byKey.get(key);
  }

  get size(): number {
    return this.streams.length;
  }
}

function importTypeOf(configured: ConfiguredAirbyteStream, field: string): ImportType {
  const pk = configured.primary_key ?? [];
  switch (configured.destination_sync_mode) {
    case 'append':
      return { kind: 'append' };
    case 'overwrite':
      return { kind: 'overwrite' };
    case 'append_dedup':
      if (pk.length === 0 || pk.some((p) => p.length === 0)) {
        throw new InvalidCatalogError(
          `invalid catalog: ${field}.primary_key is required (non-empty) for destination_sync_mode append_dedup`,
        );
      }
      return { kind: 'dedupe', primaryKey: pk, cursor: configured.cursor_field ?? [] };
    case 'update':
    case 'soft_delete':
      return { kind: configured.destination_sync_mode, primaryKey: pk };
  }
}

/** Validates a parsed configured catalog and resolves it. */
export function resolveCatalog(raw: unknown): DestinationCatalog {
  validateDocument('catalog', 'catalog', CONFIGURED_CATALOG_SCHEMA, raw);
  const catalog = raw as ConfiguredAirbyteCatalog;
  const streams: DestinationStream[] = [];
  const seen = new Map<string, number>();
  catalog.streams.forEach((configured, i) => {
    const field = `catalog.streams[${i}]`;
    const { name, namespace } = configured.stream;
    const key = streamKey({ name, namespace });
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new InvalidCatalogError(
        `invalid catalog: ${field} repeats stream ${describeStream({ name, namespace })} (first at catalog.streams[${earlier}]); every stream must be unique`,
      );
    }
    seen.set(key, i);
    const generationId = configured.generation_id ?? null;
    const minimumGenerationId = configured.minimum_generation_id ?? null;
    if (
      generationId !== null &&
      minimumGenerationId !== null &&
      minimumGenerationId !== 0 &&
      minimumGenerationId !== generationId
    ) {
      throw new HybridRefreshError(
        `${field} has minimum_generation_id ${minimumGenerationId} and generation_id ${generationId}: ` +
          'only 0 (keep all generations) or generation_id (truncate) are supported',
      );
    }
    streams.push(
      makeDestinationStream({
        namespace,
        name,
        schema: configured.stream.json_schema,
        importType: importTypeOf(configured, field),
        generationId,
        minimumGenerationId,
        syncId: configured.sync_id ?? null,
      }),
    );
  });
  return new DestinationCatalog(streams);
}

export async function loadCatalog(path: string): Promise<DestinationCatalog> {
  return resolveCatalog(await readJsonFile('catalog', path));
}
