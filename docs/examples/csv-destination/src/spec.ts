/** The CSV destination's specification: the JSON schema of its config. */
import type { ConnectorSpecification } from 'destkit';

export const CSV_SPEC: ConnectorSpecification = {
  supportsIncremental: true,
  supported_destination_sync_modes: ['append', 'overwrite'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'CSV files destination',
    type: 'object',
    additionalProperties: false,
    required: ['destination_path'],
    properties: {
      destination_path: {
        type: 'string',
        title: 'Destination directory',
        description: 'Directory that receives <namespace or _default>/<stream>.csv',
        minLength: 1,
      },
    },
  },
};
