/**
 * The configured catalog a destination receives with `write --catalog` (PROTOCOL.md §2).
 * These are the wire shapes; `destination-catalog.ts` resolves them into DestinationStreams.
 */
import type {
  DestinationSyncMode,
  Extensible,
  JsonObject,
  SyncMode,
} from '../protocol/messages.js';

export interface AirbyteStream extends Extensible {
  name: string;
  namespace?: string | null;
  json_schema: JsonObject;
  supported_sync_modes: SyncMode[];
  source_defined_cursor?: boolean;
  default_cursor_field?: string[];
  source_defined_primary_key?: string[][];
  is_resumable?: boolean;
  is_file_based?: boolean;
}

export interface ConfiguredAirbyteStream extends Extensible {
  stream: AirbyteStream;
  sync_mode: SyncMode;
  destination_sync_mode: DestinationSyncMode;
  cursor_field?: string[];
  primary_key?: string[][];
  destination_object_name?: string;
  generation_id?: number | null;
  minimum_generation_id?: number | null;
  sync_id?: number | null;
  include_files?: boolean;
}

export interface ConfiguredAirbyteCatalog extends Extensible {
  streams: ConfiguredAirbyteStream[];
}
