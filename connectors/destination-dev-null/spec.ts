/** The dev-null connector's specification: modes for benchmarks and fault injection. */
import type { ConnectorSpecification } from '../../src/protocol/messages.js';

export const DEV_NULL_SPEC: ConnectorSpecification = {
  supportsIncremental: true,
  supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'dev-null destination',
    type: 'object',
    additionalProperties: false,
    properties: {
      mode: {
        type: 'string',
        title: 'Mode',
        description:
          'silent: discard records; logging: log metadata of one record in log_every; ' +
          'throttled: sleep millis_per_batch per batch (a slow destination); ' +
          'failing: fail after fail_after_records records with failure_type.',
        enum: ['silent', 'logging', 'throttled', 'failing'],
        default: 'silent',
        order: 0,
      },
      log_every: {
        type: 'integer',
        title: 'Log one record in N (logging mode)',
        minimum: 1,
        default: 1000,
        order: 1,
      },
      millis_per_batch: {
        type: 'integer',
        title: 'Milliseconds to sleep per batch (throttled mode)',
        minimum: 0,
        default: 100,
        order: 2,
      },
      fail_after_records: {
        type: 'integer',
        title: 'Fail once this many records were received (failing mode)',
        minimum: 0,
        order: 3,
      },
      failure_type: {
        type: 'string',
        title: 'Failure type (failing mode)',
        enum: ['config_error', 'transient_error', 'system_error'],
        default: 'system_error',
        order: 4,
      },
      failure_message: {
        type: 'string',
        title: 'Message of the injected failure (failing mode)',
        default: 'dev-null failure injected by configuration',
        order: 5,
      },
      api_key: {
        type: 'string',
        title: 'A secret that does nothing, to exercise secret masking',
        airbyte_secret: true,
        order: 6,
      },
    },
    allOf: [
      {
        if: { properties: { mode: { const: 'failing' } }, required: ['mode'] },
        // biome-ignore lint/suspicious/noThenProperty: a JSON-schema keyword, not a thenable.
        then: { required: ['fail_after_records'] },
      },
    ],
  },
};
