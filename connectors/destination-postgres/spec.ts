/** The PostgreSQL connector's specification: where to connect and how. */
import type { ConnectorSpecification } from '../../src/protocol/messages.js';

export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export const POSTGRES_SPEC: ConnectorSpecification = {
  supportsIncremental: true,
  supported_destination_sync_modes: ['append', 'overwrite', 'append_dedup'],
  connectionSpecification: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'PostgreSQL destination',
    type: 'object',
    additionalProperties: false,
    required: ['host', 'database', 'username'],
    properties: {
      host: {
        type: 'string',
        title: 'Host',
        description: 'Host name or IP address of the PostgreSQL server.',
        minLength: 1,
        examples: ['db.example.com', '127.0.0.1'],
        order: 0,
      },
      port: {
        type: 'integer',
        title: 'Port',
        minimum: 1,
        maximum: 65_535,
        default: 5432,
        order: 1,
      },
      database: {
        type: 'string',
        title: 'Database',
        description: 'The database to write to; it must exist.',
        minLength: 1,
        order: 2,
      },
      schema: {
        type: 'string',
        title: 'Default schema',
        description:
          'Schema of the streams without a namespace; a stream with a namespace goes to the ' +
          'schema of that name. Missing schemas are created.',
        minLength: 1,
        default: 'public',
        order: 3,
      },
      username: {
        type: 'string',
        title: 'User',
        minLength: 1,
        order: 4,
      },
      password: {
        type: 'string',
        title: 'Password',
        airbyte_secret: true,
        order: 5,
      },
      ssl_mode: {
        type: 'string',
        title: 'SSL mode',
        description:
          'disable: no TLS; require: TLS without verifying the certificate; verify-ca: TLS, the ' +
          'certificate must be signed by ssl_ca; verify-full: as verify-ca, and the certificate ' +
          'must name the host.',
        enum: [...SSL_MODES],
        default: 'require',
        order: 6,
      },
      ssl_ca: {
        type: 'string',
        title: 'CA certificate (PEM)',
        description:
          'The certificate authority that signed the server certificate; required for verify-ca and verify-full.',
        multiline: true,
        order: 7,
      },
      connect_timeout_seconds: {
        type: 'integer',
        title: 'Connect timeout (seconds)',
        minimum: 1,
        default: 30,
        order: 8,
      },
      statement_timeout_ms: {
        type: 'integer',
        title: 'Statement timeout (milliseconds)',
        description: 'The server cancels any statement running longer; 0 means no limit.',
        minimum: 0,
        default: 0,
        order: 9,
      },
    },
    allOf: [
      {
        if: {
          properties: { ssl_mode: { enum: ['verify-ca', 'verify-full'] } },
          required: ['ssl_mode'],
        },
        // biome-ignore lint/suspicious/noThenProperty: a JSON-schema keyword, not a thenable.
        then: { required: ['ssl_ca'] },
      },
    ],
  },
};
