/**
 * destkit's own types for the Airbyte protocol messages a destination reads or writes
 * (airbyte_protocol.yaml 0.18.0). Every object in the protocol allows additional properties:
 * the index signatures keep unknown fields, and echoed messages preserve them.
 *
 * Terms:
 * - message: one JSON object on one line of stdin or stdout, with a `type` and one payload key.
 * - stream descriptor: `{name, namespace?}`; an absent or null namespace is the destination's default.
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Unknown fields are allowed everywhere in the protocol. */
export interface Extensible {
  [key: string]: unknown;
}

export interface StreamDescriptor extends Extensible {
  name: string;
  namespace?: string | null | undefined;
}

export const MESSAGE_TYPES = [
  'RECORD',
  'STATE',
  'LOG',
  'SPEC',
  'CONNECTION_STATUS',
  'CATALOG',
  'TRACE',
  'CONTROL',
  'DESTINATION_CATALOG',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

// ---------------------------------------------------------------- RECORD
export type ChangeKind = 'NULLED' | 'TRUNCATED';
export type ChangeReason =
  | 'SOURCE_RECORD_SIZE_LIMITATION'
  | 'DESTINATION_RECORD_SIZE_LIMITATION'
  | 'PLATFORM_RECORD_SIZE_LIMITATION'
  | 'SOURCE_FIELD_SIZE_LIMITATION'
  | 'DESTINATION_FIELD_SIZE_LIMITATION'
  | 'PLATFORM_FIELD_SIZE_LIMITATION'
  | 'SOURCE_SERIALIZATION_ERROR'
  | 'DESTINATION_SERIALIZATION_ERROR'
  | 'PLATFORM_SERIALIZATION_ERROR'
  | 'SOURCE_RETRIEVAL_ERROR'
  | 'DESTINATION_TYPECAST_ERROR';

export interface RecordMetaChange extends Extensible {
  field: string;
  change: ChangeKind;
  reason: ChangeReason;
}

export interface RecordMeta extends Extensible {
  changes?: RecordMetaChange[];
}

export interface FileReference extends Extensible {
  staging_file_url?: string;
  source_file_relative_path?: string;
  file_size_bytes?: number;
}

export interface AirbyteRecord extends Extensible {
  namespace?: string | null;
  stream: string;
  data: JsonObject;
  /** Epoch milliseconds. */
  emitted_at: number;
  meta?: RecordMeta;
  file_reference?: FileReference;
}

// ---------------------------------------------------------------- STATE
export type StateType = 'STREAM' | 'GLOBAL' | 'LEGACY';

export interface StateStats extends Extensible {
  recordCount?: number;
  rejectedRecordCount?: number;
}

export interface StreamState extends Extensible {
  stream_descriptor: StreamDescriptor;
  stream_state?: JsonObject;
}

export interface GlobalState extends Extensible {
  shared_state?: JsonObject;
  stream_states: StreamState[];
}

export interface AirbyteState extends Extensible {
  /** Absent means LEGACY. */
  type?: StateType;
  stream?: StreamState;
  global?: GlobalState;
  data?: JsonObject;
  sourceStats?: StateStats;
  destinationStats?: StateStats;
}

// ---------------------------------------------------------------- LOG
export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';
export interface AirbyteLog extends Extensible {
  level: LogLevel;
  message: string;
  stack_trace?: string;
}

// ---------------------------------------------------------------- TRACE
export type TraceType = 'ERROR' | 'ESTIMATE' | 'STREAM_STATUS' | 'ANALYTICS';
export type FailureTypeWire = 'system_error' | 'config_error' | 'transient_error';

export interface ErrorTrace extends Extensible {
  message: string;
  internal_message?: string;
  stack_trace?: string;
  failure_type?: FailureTypeWire;
  stream_descriptor?: StreamDescriptor;
}

export interface EstimateTrace extends Extensible {
  name: string;
  type: 'STREAM' | 'SYNC';
  namespace?: string;
  row_estimate?: number;
  byte_estimate?: number;
}

export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
export interface StreamStatusReason extends Extensible {
  type: 'RATE_LIMITED';
  rate_limited?: { quota_reset?: number };
}
export interface StreamStatusTrace extends Extensible {
  stream_descriptor: StreamDescriptor;
  status: StreamStatus;
  reasons?: StreamStatusReason[];
}

export interface AnalyticsTrace extends Extensible {
  type: string;
  value?: string;
}

export interface AirbyteTrace extends Extensible {
  type: TraceType;
  /** Epoch milliseconds (a number, may be fractional). */
  emitted_at: number;
  error?: ErrorTrace;
  estimate?: EstimateTrace;
  stream_status?: StreamStatusTrace;
  analytics?: AnalyticsTrace;
}

// ---------------------------------------------------------------- SPEC, CONNECTION_STATUS
export type DestinationSyncMode =
  | 'append'
  | 'overwrite'
  | 'append_dedup'
  | 'update'
  | 'soft_delete';
export type SyncMode = 'full_refresh' | 'incremental';

export interface ConnectorSpecification extends Extensible {
  documentationUrl?: string;
  changelogUrl?: string;
  connectionSpecification: JsonObject;
  supportsIncremental?: boolean;
  supportsNormalization?: boolean;
  supportsDBT?: boolean;
  supported_destination_sync_modes?: DestinationSyncMode[];
  protocol_version?: string;
}

export interface ConnectionStatus extends Extensible {
  status: 'SUCCEEDED' | 'FAILED';
  message?: string;
}

// ---------------------------------------------------------------- CONTROL, DESTINATION_CATALOG
export interface AirbyteControl extends Extensible {
  type: 'CONNECTOR_CONFIG';
  emitted_at: number;
  connectorConfig?: { config: JsonObject };
}

export interface DestinationOperation extends Extensible {
  object_name: string;
  sync_mode: DestinationSyncMode;
  json_schema: JsonObject;
  matching_keys?: string[][];
}

export interface DestinationCatalogMessage extends Extensible {
  operations: DestinationOperation[];
}

// ---------------------------------------------------------------- envelope
export type AirbyteMessage =
  | ({ type: 'RECORD'; record: AirbyteRecord } & Extensible)
  | ({ type: 'STATE'; state: AirbyteState } & Extensible)
  | ({ type: 'LOG'; log: AirbyteLog } & Extensible)
  | ({ type: 'SPEC'; spec: ConnectorSpecification } & Extensible)
  | ({ type: 'CONNECTION_STATUS'; connectionStatus: ConnectionStatus } & Extensible)
  | ({ type: 'TRACE'; trace: AirbyteTrace } & Extensible)
  | ({ type: 'CONTROL'; control: AirbyteControl } & Extensible)
  | ({ type: 'DESTINATION_CATALOG'; destination_catalog: DestinationCatalogMessage } & Extensible);

/** Messages destkit writes on stdout (RECORD and CATALOG are never written by a destination). */
export type OutputMessage = Exclude<AirbyteMessage, { type: 'RECORD' }>;

/** The key under which a stream is known inside destkit: `namespace\u0000name` (null namespace → ''). */
export function streamKey(descriptor: {
  name: string;
  namespace?: string | null | undefined;
}): string {
  return `${descriptor.namespace ?? ''}\u0000${descriptor.name}`;
}

/** A readable stream name for messages: `namespace.name`, or `name` without a namespace. */
export function describeStream(descriptor: {
  name: string;
  namespace?: string | null | undefined;
}): string {
  return descriptor.namespace ? `${descriptor.namespace}.${descriptor.name}` : descriptor.name;
}
