/**
 * Streams of a conformance scenario and the messages about them. A TestStream is immutable: a
 * later sync of "the same stream" with another generation or schema is `stream.with({...})`.
 * Records carry the stream version they were sent with, so the expected rows know their
 * generation, sync id and schema.
 */
import type { ConfiguredAirbyteStream } from '../../catalog/configured-catalog.js';
import {
  type DestinationStream,
  type ImportType,
  makeDestinationStream,
} from '../../catalog/destination-stream.js';
import type { JsonObject, RecordMeta, StreamDescriptor } from '../../protocol/messages.js';
import { describeStream } from '../../protocol/messages.js';

export type TestSyncMode = 'append' | 'append_dedup' | 'overwrite';

export interface TestStreamSpec {
  readonly name: string;
  /** Omitted: the stream has no namespace (the destination's default applies). */
  readonly namespace?: string;
  /** The JSON schema's `properties`. Default `{id: integer}`. */
  readonly properties?: Readonly<Record<string, JsonObject>>;
  /** The whole JSON schema; wins over `properties`. */
  readonly schema?: JsonObject;
  /** Default `append`. */
  readonly mode?: TestSyncMode;
  readonly primaryKey?: readonly (readonly string[])[];
  readonly cursor?: readonly string[];
  /** Default 1. null: a platform without refreshes. */
  readonly generationId?: number | null;
  /** Default 0. */
  readonly minimumGenerationId?: number | null;
  /** Default 1. */
  readonly syncId?: number | null;
}

/** Hands out increasing `emitted_at` values, one second apart. */
export class EmitClock {
  #next = 1_700_000_000_000;

  next(): number {
    const at = this.#next;
    this.#next += 1000;
    return at;
  }
}

/** A record a scenario sent, with the stream version it was sent with. */
export interface SentRecord {
  readonly kind: 'sent-record';
  readonly stream: TestStream;
  readonly data: JsonObject;
  readonly emittedAt: number;
  readonly meta: RecordMeta | undefined;
  readonly message: JsonObject;
}

export function isSentRecord(value: unknown): value is SentRecord {
  return (
    typeof value === 'object' && value !== null && (value as SentRecord).kind === 'sent-record'
  );
}

export class TestStream {
  constructor(
    readonly spec: TestStreamSpec,
    private readonly clock: EmitClock,
  ) {}

  /** The same stream with some settings changed (a later sync). */
  with(changes: Partial<TestStreamSpec>): TestStream {
    return new TestStream({ ...this.spec, ...changes }, this.clock);
  }

  get descriptor(): StreamDescriptor {
    const { name, namespace } = this.spec;
    return namespace === undefined ? { name } : { name, namespace };
  }

  get label(): string {
    return describeStream(this.descriptor);
  }

  get schema(): JsonObject {
    return (
      this.spec.schema ?? {
        type: 'object',
        properties: (this.spec.properties ?? { id: { type: 'integer' } }) as JsonObject,
      }
    );
  }

  get generationId(): number | null {
    return this.spec.generationId === undefined ? 1 : this.spec.generationId;
  }

  get minimumGenerationId(): number | null {
    return this.spec.minimumGenerationId === undefined ? 0 : this.spec.minimumGenerationId;
  }

  get syncId(): number | null {
    return this.spec.syncId === undefined ? 1 : this.spec.syncId;
  }

  /** The configured stream, wire form. */
  configured(): ConfiguredAirbyteStream {
    const { name, namespace, mode, primaryKey, cursor } = this.spec;
    return {
      stream: {
        name,
        ...(namespace === undefined ? {} : { namespace }),
        json_schema: this.schema,
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: mode ?? 'append',
      ...(primaryKey === undefined ? {} : { primary_key: primaryKey.map((p) => [...p]) }),
      ...(cursor === undefined ? {} : { cursor_field: [...cursor] }),
      generation_id: this.generationId,
      minimum_generation_id: this.minimumGenerationId,
      sync_id: this.syncId,
    };
  }

  /** The stream as destkit resolves it (what a dumper is given). */
  resolved(): DestinationStream {
    const mode = this.spec.mode ?? 'append';
    const primaryKey = this.spec.primaryKey ?? [];
    const importType: ImportType =
      mode === 'append_dedup'
        ? { kind: 'dedupe', primaryKey, cursor: this.spec.cursor ?? [] }
        : { kind: mode };
    return makeDestinationStream({
      namespace: this.spec.namespace,
      name: this.spec.name,
      schema: this.schema,
      importType,
      generationId: this.generationId,
      minimumGenerationId: this.minimumGenerationId,
      syncId: this.syncId,
    });
  }

  record(data: JsonObject, options: { emittedAt?: number; meta?: RecordMeta } = {}): SentRecord {
    const emittedAt = options.emittedAt ?? this.clock.next();
    const record: JsonObject = {
      stream: this.spec.name,
      ...(this.spec.namespace === undefined ? {} : { namespace: this.spec.namespace }),
      emitted_at: emittedAt,
      data,
      ...(options.meta === undefined ? {} : { meta: options.meta as JsonObject }),
    };
    return {
      kind: 'sent-record',
      stream: this,
      data,
      emittedAt,
      meta: options.meta,
      message: { type: 'RECORD', record },
    };
  }

  /** A STREAM state of this stream. */
  state(payload: JsonObject): JsonObject {
    return {
      type: 'STATE',
      state: {
        type: 'STREAM',
        stream: { stream_descriptor: this.descriptor as JsonObject, stream_state: payload },
      },
    };
  }

  status(status: 'COMPLETE' | 'INCOMPLETE' | 'STARTED' | 'RUNNING'): JsonObject {
    return {
      type: 'TRACE',
      trace: {
        type: 'STREAM_STATUS',
        emitted_at: this.clock.next(),
        stream_status: { stream_descriptor: this.descriptor as JsonObject, status },
      },
    };
  }

  complete(): JsonObject {
    return this.status('COMPLETE');
  }
}

/** A GLOBAL state over some streams. */
export function globalState(streams: readonly TestStream[], shared: JsonObject): JsonObject {
  return {
    type: 'STATE',
    state: {
      type: 'GLOBAL',
      global: {
        shared_state: shared,
        stream_states: streams.map((s) => ({
          stream_descriptor: s.descriptor as JsonObject,
          stream_state: { at: shared },
        })),
      },
    },
  };
}
