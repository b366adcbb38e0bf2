/**
 * JSON schema of the configured catalog as a destination receives it (PROTOCOL.md §2), written
 * for destkit from the protocol's definitions. Extra properties are allowed everywhere.
 */
import type { JsonObject } from '../protocol/messages.js';

const stringPath = { type: 'array', items: { type: 'string' } };

export const CONFIGURED_CATALOG_SCHEMA: JsonObject = {
  type: 'object',
  required: ['streams'],
  properties: {
    streams: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['stream', 'sync_mode', 'destination_sync_mode'],
        properties: {
          stream: {
            type: 'object',
            required: ['name', 'json_schema', 'supported_sync_modes'],
            properties: {
              name: { type: 'string', minLength: 1 },
              namespace: { type: ['string', 'null'] },
              json_schema: { type: 'object' },
              supported_sync_modes: {
                type: 'array',
                items: { enum: ['full_refresh', 'incremental'] },
              },
            },
          },
          sync_mode: { enum: ['full_refresh', 'incremental'] },
          destination_sync_mode: {
            enum: ['append', 'overwrite', 'append_dedup', 'update', 'soft_delete'],
          },
          cursor_field: stringPath,
          primary_key: { type: 'array', items: stringPath },
          generation_id: { type: ['integer', 'null'], minimum: 0 },
          minimum_generation_id: { type: ['integer', 'null'], minimum: 0 },
          sync_id: { type: ['integer', 'null'] },
        },
      },
    },
  },
};
