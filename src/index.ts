/**
 * destkit's public API for connector authors: the connector API (what a connector implements),
 * the DI tokens a connector may inject, the runner for a connector's executable, the typed
 * errors, the protocol types and the typing layer for SQL destinations. Internals (pipeline,
 * runtime) are not importable; the test kit is `destkit/testkit`.
 */
import 'reflect-metadata';

// The DI container of destkit: connectors build their module with destkit's own inversify, so
// that the ContainerModule and decorators they use are the ones the runner loads.
export { ContainerModule, inject, injectable } from 'inversify';
export type { Logger } from 'pino';

export type {
  AirbyteStream,
  ConfiguredAirbyteCatalog,
  ConfiguredAirbyteStream,
} from './catalog/configured-catalog.js';
export type { DestinationCatalog } from './catalog/destination-catalog.js';
export type { DestinationStream, ImportType } from './catalog/destination-stream.js';
export { type CliIo, processIo } from './cli/cli-io.js';
export { runConnectorMain } from './cli/connector-main.js';
export { runConnector } from './cli/run-connector.js';
export type { Knobs } from './config/knobs.js';
export { MASK, SecretRedactor } from './config/secret-redactor.js';
export { type ClassifiedError, classifyError } from './errors/classify-error.js';
export {
  ConfigError,
  DestkitError,
  type DestkitErrorOptions,
  type FailureType,
  SystemError,
  TransientError,
} from './errors/destkit-error.js';
export type * from './protocol/messages.js';
export { describeStream, streamKey } from './protocol/messages.js';
export * as schema from './schema/index.js';
export { type AirbyteMeta, airbyteMeta, META_COLUMNS, newRawId } from './write/airbyte-meta.js';
export {
  type CheckContext,
  type CheckFunction,
  type ConnectorDefinition,
  type ConnectorEntry,
  defineConnector,
} from './write/connector-definition.js';
export {
  type Batch,
  type BatchAccumulator,
  type BatchState,
  COMPLETE_BATCH,
  type DestinationRecord,
  type DestinationWriter,
  type StreamLoader,
} from './write/destination-writer.js';
export {
  type EncodedRecords,
  type RecordEncoder,
  RecordEncoderError,
} from './write/record-encoder.js';
export { TOKENS } from './write/tokens.js';
