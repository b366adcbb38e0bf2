/** Small builders of protocol messages and catalogs for tests. */
export function record(stream: string, data: Record<string, unknown>, namespace?: string) {
  return {
    type: 'RECORD',
    record: { stream, data, emitted_at: 1_700_000_000_000, ...(namespace ? { namespace } : {}) },
  };
}

export function streamState(
  stream: string,
  state: unknown,
  extra: Record<string, unknown> = {},
  namespace?: string,
) {
  return {
    type: 'STATE',
    state: {
      type: 'STREAM',
      stream: {
        stream_descriptor: { name: stream, ...(namespace ? { namespace } : {}) },
        stream_state: state,
      },
    },
    ...extra,
  };
}

export function globalState(
  shared: unknown,
  streams: string[],
  extra: Record<string, unknown> = {},
) {
  return {
    type: 'STATE',
    state: {
      type: 'GLOBAL',
      global: {
        shared_state: shared,
        stream_states: streams.map((name) => ({ stream_descriptor: { name }, stream_state: {} })),
      },
    },
    ...extra,
  };
}

export function status(
  stream: string,
  value: 'COMPLETE' | 'INCOMPLETE' | 'STARTED' | 'RUNNING',
  namespace?: string,
) {
  return {
    type: 'TRACE',
    trace: {
      type: 'STREAM_STATUS',
      emitted_at: 1_700_000_000_000,
      stream_status: {
        stream_descriptor: { name: stream, ...(namespace ? { namespace } : {}) },
        status: value,
      },
    },
  };
}

export function catalog(
  streams: {
    name: string;
    namespace?: string;
    mode?: string;
    pk?: string[][];
    cursor?: string[];
    gen?: number;
    minGen?: number;
  }[],
) {
  return {
    streams: streams.map((s) => ({
      stream: {
        name: s.name,
        ...(s.namespace ? { namespace: s.namespace } : {}),
        json_schema: { type: 'object', properties: { id: { type: 'integer' } } },
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: s.mode ?? 'append',
      ...(s.pk ? { primary_key: s.pk } : {}),
      ...(s.cursor ? { cursor_field: s.cursor } : {}),
      ...(s.gen !== undefined
        ? { generation_id: s.gen, minimum_generation_id: s.minGen ?? 0, sync_id: 1 }
        : {}),
    })),
  };
}
