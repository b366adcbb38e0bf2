/**
 * A configured stream as destkit works with it: descriptor, schema, import type, generations.
 *
 * Import types (PROTOCOL.md §2):
 * - append: add records.
 * - dedupe: keep one row per primary key — the greatest cursor wins (ties by extracted_at).
 * - overwrite: the legacy wire mode; behaves as append with truncate at the end of the sync.
 * - update / soft_delete: data-activation modes, passed to the connector as they are.
 * Truncation ("this sync replaces older generations") is separate from the import type:
 * `shouldTruncate` is true for overwrite, and for any mode with minimum_generation_id ==
 * generation_id > 0 (a refresh).
 */
import type { JsonObject, StreamDescriptor } from '../protocol/messages.js';
import { describeStream, streamKey } from '../protocol/messages.js';

export type ImportType =
  | { readonly kind: 'append' }
  | {
      readonly kind: 'dedupe';
      /** Paths of the primary key columns, e.g. [["id"], ["org", "id"]]. */
      readonly primaryKey: readonly (readonly string[])[];
      /** Path of the cursor column; empty when the stream has no cursor. */
      readonly cursor: readonly string[];
    }
  | { readonly kind: 'overwrite' }
  | { readonly kind: 'update'; readonly primaryKey: readonly (readonly string[])[] }
  | { readonly kind: 'soft_delete'; readonly primaryKey: readonly (readonly string[])[] };

export interface DestinationStream {
  /** `namespace\u0000name`; unique within a catalog. */
  readonly key: string;
  readonly descriptor: StreamDescriptor;
  readonly namespace: string | undefined;
  readonly name: string;
  /** `namespace.name` for messages. */
  readonly label: string;
  readonly schema: JsonObject;
  readonly importType: ImportType;
  /** null when the platform does not support refreshes: then nothing is ever deleted. */
  readonly generationId: number | null;
  readonly minimumGenerationId: number | null;
  readonly syncId: number | null;
  /** True when the older generations go once this sync's data is complete. */
  readonly shouldTruncate: boolean;
}

export function makeDestinationStream(args: {
  namespace?: string | null | undefined;
  name: string;
  schema: JsonObject;
  importType: ImportType;
  generationId: number | null;
  minimumGenerationId: number | null;
  syncId: number | null;
}): DestinationStream {
  const namespace = args.namespace ?? undefined;
  const descriptor: StreamDescriptor =
    namespace === undefined ? { name: args.name } : { name: args.name, namespace };
  const truncate =
    args.importType.kind === 'overwrite' ||
    (args.generationId !== null &&
      args.minimumGenerationId !== null &&
      args.minimumGenerationId === args.generationId &&
      args.generationId > 0);
  return {
    key: streamKey(descriptor),
    descriptor,
    namespace,
    name: args.name,
    label: describeStream(descriptor),
    schema: args.schema,
    importType: args.importType,
    generationId: args.generationId,
    minimumGenerationId: args.minimumGenerationId,
    syncId: args.syncId,
    shouldTruncate: truncate,
  };
}
