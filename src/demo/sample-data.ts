/**
 * Generates sample syncs: a configured catalog and the protocol messages a source would send —
 * records of several streams interleaved, a STREAM state every N records per stream, and a
 * COMPLETE status per stream at the end. Deterministic for a seed. Used by the README demo and
 * by the benchmarks; records are about `recordBytes` long on the wire.
 */
import type { ConfiguredAirbyteCatalog } from '../catalog/configured-catalog.js';

export interface SampleOptions {
  /** Total records over all streams. */
  readonly records: number;
  /** Number of streams (named after a small fixed list, then `stream_N`). Default 3. */
  readonly streams?: number;
  /** A STREAM state every this many records of a stream. Default 10,000. */
  readonly stateEvery?: number;
  /** Approximate size of one RECORD line in bytes. Default 500. */
  readonly recordBytes?: number;
  readonly namespace?: string;
  readonly seed?: number;
}

const NAMES = ['users', 'orders', 'events', 'payments', 'sessions'];
const EMITTED_AT = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export function sampleStreamNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => NAMES[i] ?? `stream_${i}`);
}

const SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    email: { type: 'string' },
    amount: { type: 'number' },
    active: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    day: { type: 'string', format: 'date' },
    tags: { type: 'array', items: { type: 'string' } },
    attributes: {
      type: 'object',
      properties: { plan: { type: 'string' }, score: { type: 'integer' } },
    },
    notes: { type: 'string' },
  },
};

export function sampleCatalog(options: SampleOptions): ConfiguredAirbyteCatalog {
  return {
    streams: sampleStreamNames(options.streams ?? 3).map((name) => ({
      stream: {
        name,
        ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
        json_schema: SCHEMA,
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: 'append',
      cursor_field: ['created_at'],
      primary_key: [['id']],
      generation_id: 1,
      minimum_generation_id: 0,
      sync_id: 1,
    })),
  };
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
];

/** Yields the protocol lines (without newlines) of a sample sync. */
export function* sampleMessages(options: SampleOptions): Generator<string> {
  const names = sampleStreamNames(options.streams ?? 3);
  const stateEvery = options.stateEvery ?? 10_000;
  const recordBytes = options.recordBytes ?? 500;
  const random = prng(options.seed ?? 1);
  const ns =
    options.namespace === undefined ? '' : `"namespace":${JSON.stringify(options.namespace)},`;
  const counts = names.map(() => 0);
  const prefixes = names.map(
    (n) => `{"type":"RECORD","record":{${ns}"stream":${JSON.stringify(n)},"emitted_at":`,
  );
  for (let i = 0; i < options.records; i++) {
    const s = Math.floor(random() * names.length);
    const id = counts[s]!++;
    const word = WORDS[id % WORDS.length]!;
    const data =
      `{"id":${id},"name":"${word} ${id}","email":"${word}.${id}@example.com","amount":${(random() * 1000).toFixed(2)},` +
      `"active":${id % 3 !== 0},"created_at":"2026-01-01T00:00:${String(id % 60).padStart(2, '0')}Z","day":"2026-01-0${1 + (id % 9)}",` +
      `"tags":["${word}","t${id % 7}"],"attributes":{"plan":"${id % 2 === 0 ? 'pro' : 'free'}","score":${id % 100}},"notes":"`;
    const head = `${prefixes[s]}${EMITTED_AT + id},"data":${data}`;
    const tail = '"}}}';
    const pad = Math.max(0, recordBytes - head.length - tail.length);
    yield `${head}${'x'.repeat(pad)}${tail}`;
    if ((id + 1) % stateEvery === 0) {
      yield `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{${ns}"name":${JSON.stringify(names[s])}},"stream_state":{"cursor":${id}}},"sourceStats":{"recordCount":${stateEvery}.0}}}`;
    }
  }
  for (let s = 0; s < names.length; s++) {
    yield `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{${ns}"name":${JSON.stringify(names[s])}},"stream_state":{"cursor":${counts[s]}}}}}`;
    yield `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":${EMITTED_AT},"stream_status":{"stream_descriptor":{${ns}"name":${JSON.stringify(names[s])}},"status":"COMPLETE"}}}`;
  }
}
