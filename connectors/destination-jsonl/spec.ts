/** The JSONL connector's specification: one directory, one JSON-lines file per stream. */
import type { ConnectorSpecification } from '../../src/protocol/messages.js';

export const JSONL_SPEC: ConnectorSpecification = {
  supportsIncremental: true,
  supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'JSONL files destination',
    type: 'object',
    additionalProperties: false,
    required: ['destination_path'],
    properties: {
      destination_path: {
        type: 'string',
        title: 'Destination directory',
        description:
          'Directory that receives <namespace or _default>/<stream>.jsonl; created when missing. ' +
          'A relative path is resolved against the working directory of the connector.',
        minLength: 1,
        examples: ['/local/jsonl'],
        order: 0,
      },
    },
  },
};
