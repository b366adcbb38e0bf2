/**
 * fast-check arbitraries for connector tests: catalogs whose schemas use every type, records
 * that match or break their schema, message streams with any interleaving, and fault plans.
 *
 * Terms:
 * - property kind: one of PROPERTY_KINDS, a JSON schema for one top-level field (every Airbyte
 *   type: scalars, temporal types, containers with and without schemas, unions, unknown).
 * - broken value: a value of the wrong kind for its schema (`"true"` for a boolean, a string for
 *   an integer, an impossible date, a string for an object, …). Typed destinations null it and
 *   add a change; untyped destinations keep it. Unions and unknown types cannot be broken.
 * - generated sync: a catalog plus the stdin of one `write`, with the outcome a correct
 *   destination must reach: success when every stream got COMPLETE, else a transient_error.
 */
import fc from 'fast-check';
import type {
  ConfiguredAirbyteCatalog,
  ConfiguredAirbyteStream,
} from '../catalog/configured-catalog.js';
import type { JsonObject, JsonValue, StreamDescriptor } from '../protocol/messages.js';
import { describeStream } from '../protocol/messages.js';
import {
  CONNECTOR_METHODS,
  type ConnectorMethod,
  type FaultFailureKind,
  type FaultPlan,
} from './fault-injection.js';

export type PropertyKind =
  | 'string'
  | 'boolean'
  | 'integer'
  | 'number'
  | 'date'
  | 'timestamp_tz'
  | 'timestamp_ntz'
  | 'time_tz'
  | 'time_ntz'
  | 'object'
  | 'object_without_schema'
  | 'array'
  | 'array_without_items'
  | 'union'
  | 'one_of'
  | 'unknown';

/** The JSON schema of each property kind. */
export const PROPERTY_SCHEMAS: Readonly<Record<PropertyKind, JsonObject>> = Object.freeze({
  string: { type: 'string' },
  boolean: { type: 'boolean' },
  integer: { type: 'integer' },
  number: { type: 'number' },
  date: { type: 'string', format: 'date' },
  timestamp_tz: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
  timestamp_ntz: {
    type: 'string',
    format: 'date-time',
    airbyte_type: 'timestamp_without_timezone',
  },
  time_tz: { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' },
  time_ntz: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
  object: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } } },
  object_without_schema: { type: 'object' },
  array: { type: 'array', items: { type: 'integer' } },
  array_without_items: { type: 'array' },
  union: { type: ['null', 'string', 'integer'] },
  one_of: {
    oneOf: [{ type: 'string' }, { type: 'object', properties: { a: { type: 'integer' } } }],
  },
  unknown: {},
});

export const PROPERTY_KINDS: readonly PropertyKind[] = Object.freeze(
  Object.keys(PROPERTY_SCHEMAS) as PropertyKind[],
);

/** Kinds a value can break (any value fits a union or an unknown type). */
const BREAKABLE: ReadonlySet<PropertyKind> = new Set(
  PROPERTY_KINDS.filter((k) => k !== 'union' && k !== 'one_of' && k !== 'unknown'),
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');

const dateArb = fc
  .record({
    y: fc.integer({ min: 1, max: 9999 }),
    m: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 28 }),
  })
  .map(({ y, m, d }) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`);
const timeArb = fc
  .record({
    h: fc.integer({ min: 0, max: 23 }),
    m: fc.integer({ min: 0, max: 59 }),
    s: fc.integer({ min: 0, max: 59 }),
    f: fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }),
  })
  .map(
    ({ h, m, s, f }) =>
      `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${f === undefined ? '' : `.${pad(f, 6)}`}`,
  );
const offsetArb = fc.constantFrom('Z', '+00:00', '+05:30', '-08:00', '+14:00');

const jsonArb: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>;

/** A value that fits a property of `kind`. */
export function validValueArbitrary(kind: PropertyKind): fc.Arbitrary<JsonValue> {
  switch (kind) {
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 });
    case 'date':
      return dateArb;
    case 'timestamp_tz':
      return fc.tuple(dateArb, timeArb, offsetArb).map(([d, t, o]) => `${d}T${t}${o}`);
    case 'timestamp_ntz':
      return fc.tuple(dateArb, timeArb).map(([d, t]) => `${d}T${t}`);
    case 'time_tz':
      return fc.tuple(timeArb, offsetArb).map(([t, o]) => `${t}${o}`);
    case 'time_ntz':
      return timeArb;
    case 'object':
      return fc.record({ a: fc.integer(), b: fc.string({ maxLength: 5 }) }, { requiredKeys: [] });
    case 'object_without_schema':
      return fc.dictionary(fc.string({ maxLength: 4 }), jsonArb, { maxKeys: 3 });
    case 'array':
      return fc.array(fc.integer(), { maxLength: 4 });
    case 'array_without_items':
      return fc.array(jsonArb, { maxLength: 3 });
    case 'union':
      return fc.oneof(fc.string({ maxLength: 6 }), fc.integer());
    case 'one_of':
      return fc.oneof(fc.string({ maxLength: 6 }), fc.record({ a: fc.integer() }));
    case 'unknown':
      return jsonArb;
  }
}

/** A value of the wrong kind for a property of `kind` (undefined for unbreakable kinds). */
export function brokenValueArbitrary(kind: PropertyKind): fc.Arbitrary<JsonValue> | undefined {
  switch (kind) {
    case 'string':
      return fc.oneof(fc.array(fc.integer(), { maxLength: 2 }), fc.record({ s: fc.string() }));
    case 'boolean':
      return fc.constantFrom('true', 'false', 1, 0, 'yes');
    case 'integer':
      return fc.oneof(
        fc.constantFrom('42', 1.5, 1e20, true),
        fc.string({ minLength: 1, maxLength: 4 }),
      );
    case 'number':
      return fc.constantFrom('1.5', 'NaN', true, [1]);
    case 'date':
      return fc.constantFrom('2021-13-45', '2021-02-30', 'yesterday', 20210101, '2021/01/01');
    case 'timestamp_tz':
    case 'timestamp_ntz':
      return fc.constantFrom('not a timestamp', 1_700_000_000, '2021-01-01T25:00:00Z', false);
    case 'time_tz':
    case 'time_ntz':
      return fc.constantFrom('25:61:00', '1 pm', 3600, true);
    case 'object':
    case 'object_without_schema':
      return fc.constantFrom('not an object', 5, [1, 2], true);
    case 'array':
    case 'array_without_items':
      return fc.constantFrom('not an array', { a: 1 }, 3);
    default:
      return undefined;
  }
}

/** Field names, optionally hostile (quotes, spaces, unicode, SQL keywords, dots). */
export function fieldNameArbitrary(funky = false): fc.Arbitrary<string> {
  const plain = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
  if (!funky) return plain;
  return fc.oneof(
    plain,
    fc.constantFrom(
      'select',
      'from',
      'with space',
      'quote"d',
      "it's",
      'ünïcödé',
      'emoji😀',
      'dot.ted',
      '$x',
      'UPPER',
    ),
  );
}

export interface SchemaArbitraryOptions {
  /** Include one property of every kind (named after the kind). Default true. */
  readonly everyType?: boolean;
  /** Most extra properties of random kinds. Default 3. */
  readonly maxExtra?: number;
  /** Hostile extra field names. Default false. */
  readonly funkyNames?: boolean;
}

/** Top-level properties, `id: integer` first; with `everyType`, one of each PropertyKind. */
export function propertiesArbitrary(
  options: SchemaArbitraryOptions = {},
): fc.Arbitrary<Record<string, PropertyKind>> {
  const base: Record<string, PropertyKind> = { id: 'integer' };
  if (options.everyType !== false) for (const kind of PROPERTY_KINDS) base[kind] = kind;
  return fc
    .array(fc.tuple(fieldNameArbitrary(options.funkyNames), fc.constantFrom(...PROPERTY_KINDS)), {
      maxLength: options.maxExtra ?? 3,
    })
    .map((extra) => {
      const properties = { ...base };
      for (const [name, kind] of extra) {
        if (!(name in properties) && name.toLowerCase() !== 'id') properties[`x_${name}`] = kind;
      }
      return properties;
    });
}

/** The JSON schema of some properties. */
export function schemaOf(properties: Readonly<Record<string, PropertyKind>>): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const [name, kind] of Object.entries(properties)) out[name] = PROPERTY_SCHEMAS[kind];
  return { type: 'object', properties: out };
}

/** Record data for some properties: fields may be absent, null, valid, or (at `breakRate`) broken. */
export function recordDataArbitrary(
  properties: Readonly<Record<string, PropertyKind>>,
  options: { readonly breakRate?: number } = {},
): fc.Arbitrary<{ data: JsonObject; broken: string[] }> {
  const rate = options.breakRate ?? 0.1;
  const entries = Object.entries(properties).filter(([name]) => name !== 'id');
  const field = (kind: PropertyKind) => {
    const broken = brokenValueArbitrary(kind);
    const choices: fc.WeightedArbitrary<{ value: JsonValue | undefined; broken: boolean }>[] = [
      { weight: 1, arbitrary: fc.constant({ value: undefined, broken: false }) },
      { weight: 1, arbitrary: fc.constant({ value: null, broken: false }) },
      {
        weight: 6,
        arbitrary: validValueArbitrary(kind).map((value) => ({ value, broken: false })),
      },
    ];
    if (broken !== undefined && BREAKABLE.has(kind) && rate > 0) {
      choices.push({
        weight: Math.max(1, Math.round(rate * 10)),
        arbitrary: broken.map((value) => ({ value, broken: true })),
      });
    }
    return fc.oneof(...choices);
  };
  return fc.tuple(...entries.map(([, kind]) => field(kind))).map((values) => {
    const data: JsonObject = {};
    const broken: string[] = [];
    values.forEach((v, i) => {
      const name = entries[i]![0];
      if (v.value !== undefined) data[name] = v.value;
      if (v.broken) broken.push(name);
    });
    return { data, broken };
  });
}

export interface GeneratedStream {
  readonly descriptor: StreamDescriptor;
  readonly label: string;
  readonly properties: Readonly<Record<string, PropertyKind>>;
  readonly configured: ConfiguredAirbyteStream;
}

export interface CatalogArbitraryOptions {
  /** Default 3. */
  readonly maxStreams?: number;
  /** Namespaces to pick from (undefined: none). Default `[undefined, 'ns_a', 'ns_b']`. */
  readonly namespaces?: readonly (string | undefined)[];
  /** Import types to pick from. Default all three. */
  readonly modes?: readonly ('append' | 'append_dedup' | 'overwrite')[];
  /** Schemas with a property of every kind. Default true. */
  readonly everyType?: boolean;
  /** Hostile stream and field names. Default false. */
  readonly funkyNames?: boolean;
}

const STREAM_NAMES = ['users', 'orders', 'events', 'items', 'Ünïcode stream', 'with space'];

/**
 * A configured catalog: distinct streams with namespaces, schemas using every type, import types
 * (dedup with a primary key of one or two columns and an optional cursor), generations (none,
 * append with min 0, or a truncate refresh with min = gen).
 */
export function catalogArbitrary(
  options: CatalogArbitraryOptions = {},
): fc.Arbitrary<{ catalog: ConfiguredAirbyteCatalog; streams: GeneratedStream[] }> {
  const names = options.funkyNames === true ? STREAM_NAMES : STREAM_NAMES.slice(0, 4);
  const stream = fc
    .record({
      name: fc.constantFrom(...names),
      namespace: fc.constantFrom(...(options.namespaces ?? [undefined, 'ns_a', 'ns_b'])),
      properties: propertiesArbitrary({
        everyType: options.everyType ?? true,
        funkyNames: options.funkyNames ?? false,
      }),
      mode: fc.constantFrom(
        ...(options.modes ?? (['append', 'append_dedup', 'overwrite'] as const)),
      ),
      compositeKey: fc.boolean(),
      cursor: fc.boolean(),
      generation: fc.constantFrom<'none' | 'keep' | 'refresh'>('none', 'keep', 'refresh'),
      generationId: fc.integer({ min: 1, max: 50 }),
      syncId: fc.integer({ min: 1, max: 1_000_000 }),
    })
    .map((s): GeneratedStream => {
      const descriptor: StreamDescriptor =
        s.namespace === undefined ? { name: s.name } : { name: s.name, namespace: s.namespace };
      const dedup = s.mode === 'append_dedup';
      const configured: ConfiguredAirbyteStream = {
        stream: {
          name: s.name,
          ...(s.namespace === undefined ? {} : { namespace: s.namespace }),
          json_schema: schemaOf(s.properties),
          supported_sync_modes: ['full_refresh', 'incremental'],
        },
        sync_mode: 'incremental',
        destination_sync_mode: s.mode,
        ...(dedup
          ? {
              primary_key:
                s.compositeKey && 'string' in s.properties ? [['id'], ['string']] : [['id']],
            }
          : {}),
        ...(dedup && s.cursor && 'integer' in s.properties ? { cursor_field: ['integer'] } : {}),
        ...(s.generation === 'none'
          ? {}
          : {
              generation_id: s.generationId,
              minimum_generation_id: s.generation === 'refresh' ? s.generationId : 0,
              sync_id: s.syncId,
            }),
      };
      return {
        descriptor,
        label: describeStream(descriptor),
        properties: s.properties,
        configured,
      };
    });
  return fc
    .uniqueArray(stream, {
      minLength: 1,
      maxLength: Math.max(1, options.maxStreams ?? 3),
      selector: (s) => s.label,
    })
    .map((streams) => ({ catalog: { streams: streams.map((s) => s.configured) }, streams }));
}

export type GeneratedStatus = 'COMPLETE' | 'INCOMPLETE' | 'missing';

export interface GeneratedSync {
  readonly catalog: ConfiguredAirbyteCatalog;
  readonly streams: readonly GeneratedStream[];
  /** stdin, one message per entry. */
  readonly messages: readonly JsonObject[];
  /** Per stream label: its records' data in input order. */
  readonly records: ReadonlyMap<string, readonly JsonObject[]>;
  readonly statuses: ReadonlyMap<string, GeneratedStatus>;
  readonly stateMode: 'STREAM' | 'GLOBAL' | 'none';
  /** What a correct destination must do: succeed, or fail with a transient_error. */
  readonly outcome: 'success' | 'transient_error';
  /** Labels and ids of the records whose data breaks the schema. */
  readonly broken: readonly {
    readonly stream: string;
    readonly id: number;
    readonly fields: readonly string[];
  }[];
}

export interface SyncMessagesOptions extends CatalogArbitraryOptions {
  /** Most records over all streams. Default 20. */
  readonly maxRecords?: number;
  /** Share of broken values among present fields. Default 0.1. */
  readonly breakRate?: number;
  /** Statuses to pick from (weighted towards COMPLETE). Default all three. */
  readonly statuses?: readonly GeneratedStatus[];
  /** State modes to pick from. Default all three. */
  readonly stateModes?: readonly ('STREAM' | 'GLOBAL' | 'none')[];
}

type Step =
  | {
      readonly kind: 'record';
      readonly stream: number;
      readonly data: JsonObject;
      readonly broken: string[];
    }
  | { readonly kind: 'state'; readonly stream: number };

/**
 * A whole sync: a catalog, records that match or break their schema (ids unique per stream),
 * any interleaving of streams, STREAM or GLOBAL states (or none), terminal statuses COMPLETE,
 * INCOMPLETE or missing (after the stream's last record), and streams that stay empty.
 */
export function syncMessagesArbitrary(
  options: SyncMessagesOptions = {},
): fc.Arbitrary<GeneratedSync> {
  const statuses = options.statuses ?? ['COMPLETE', 'INCOMPLETE', 'missing'];
  const statusArb = fc.oneof(
    ...statuses.map((s) => ({ weight: s === 'COMPLETE' ? 6 : 1, arbitrary: fc.constant(s) })),
  );
  return catalogArbitrary(options).chain(({ catalog, streams }) => {
    const step: fc.Arbitrary<Step> = fc.nat({ max: streams.length - 1 }).chain((i) =>
      fc.oneof(
        {
          weight: 4,
          arbitrary: recordDataArbitrary(streams[i]!.properties, {
            breakRate: options.breakRate ?? 0.1,
          }).map(({ data, broken }): Step => ({ kind: 'record', stream: i, data, broken })),
        },
        { weight: 1, arbitrary: fc.constant<Step>({ kind: 'state', stream: i }) },
      ),
    );
    return fc
      .record({
        steps: fc.array(step, { maxLength: options.maxRecords ?? 20 }),
        statuses: fc.array(statusArb, { minLength: streams.length, maxLength: streams.length }),
        stateMode: fc.constantFrom(
          ...(options.stateModes ?? (['STREAM', 'GLOBAL', 'none'] as const)),
        ),
      })
      .map(({ steps, statuses: ends, stateMode }) =>
        buildSync(catalog, streams, steps, ends, stateMode),
      );
  });
}

function buildSync(
  catalog: ConfiguredAirbyteCatalog,
  streams: readonly GeneratedStream[],
  steps: readonly Step[],
  ends: readonly GeneratedStatus[],
  stateMode: 'STREAM' | 'GLOBAL' | 'none',
): GeneratedSync {
  const messages: JsonObject[] = [];
  const records = new Map<string, JsonObject[]>(streams.map((s) => [s.label, []]));
  const broken: { stream: string; id: number; fields: string[] }[] = [];
  let emittedAt = 1_700_000_000_000;
  let seq = 0;
  for (const s of steps) {
    const stream = streams[s.stream]!;
    if (s.kind === 'record') {
      const list = records.get(stream.label)!;
      const data: JsonObject = { id: list.length + 1, ...s.data };
      list.push(data);
      if (s.broken.length > 0)
        broken.push({ stream: stream.label, id: list.length, fields: s.broken });
      messages.push({
        type: 'RECORD',
        record: {
          stream: stream.descriptor.name,
          ...(stream.descriptor.namespace === undefined
            ? {}
            : { namespace: stream.descriptor.namespace }),
          emitted_at: emittedAt++,
          data,
        },
      });
    } else if (stateMode === 'STREAM') {
      messages.push({
        type: 'STATE',
        state: {
          type: 'STREAM',
          stream: {
            stream_descriptor: stream.descriptor as JsonObject,
            stream_state: { seq: seq++ },
          },
        },
      });
    } else if (stateMode === 'GLOBAL') {
      messages.push({
        type: 'STATE',
        state: {
          type: 'GLOBAL',
          global: {
            shared_state: { seq: seq++ },
            stream_states: streams.map((x) => ({
              stream_descriptor: x.descriptor as JsonObject,
              stream_state: { n: records.get(x.label)!.length },
            })),
          },
        },
      });
    }
  }
  const statuses = new Map<string, GeneratedStatus>();
  streams.forEach((stream, i) => {
    const status = ends[i] ?? 'COMPLETE';
    statuses.set(stream.label, status);
    if (status === 'missing') return;
    messages.push({
      type: 'TRACE',
      trace: {
        type: 'STREAM_STATUS',
        emitted_at: emittedAt++,
        stream_status: { stream_descriptor: stream.descriptor as JsonObject, status },
      },
    });
  });
  const allComplete = [...statuses.values()].every((s) => s === 'COMPLETE');
  return {
    catalog,
    streams,
    messages,
    records,
    statuses,
    stateMode,
    outcome: allComplete ? 'success' : 'transient_error',
    broken,
  };
}

export interface FaultPlanOptions {
  /** Methods a `fail` plan may pick. Default: every connector method. */
  readonly methods?: readonly ConnectorMethod[];
  /** Failure kinds to pick from. Default all four. */
  readonly failures?: readonly FaultFailureKind[];
  /** Largest N of "fail at the Nth call". Default 5. */
  readonly maxNth?: number;
  /** Largest K of "killed after the Kth state". Default 3. */
  readonly maxStates?: number;
  /** Largest delay of a slow plan, ms. Default 20. */
  readonly maxDelayMs?: number;
  /** Plan kinds to pick from. Default all three. */
  readonly kinds?: readonly FaultPlan['kind'][];
}

/** One fault plan: fail at the Nth call of a method, a slow loader, or a kill after K states. */
export function faultPlanArbitrary(options: FaultPlanOptions = {}): fc.Arbitrary<FaultPlan> {
  const kinds = options.kinds ?? ['fail', 'slow', 'kill'];
  const plans: fc.Arbitrary<FaultPlan>[] = [];
  if (kinds.includes('fail')) {
    plans.push(
      fc.record({
        kind: fc.constant('fail' as const),
        method: fc.constantFrom(...(options.methods ?? CONNECTOR_METHODS)),
        nth: fc.integer({ min: 1, max: options.maxNth ?? 5 }),
        failure: fc.constantFrom(
          ...(options.failures ?? (['config', 'transient', 'system', 'plain'] as const)),
        ),
      }),
    );
  }
  if (kinds.includes('slow')) {
    plans.push(
      fc.record({
        kind: fc.constant('slow' as const),
        delayMs: fc.integer({ min: 1, max: options.maxDelayMs ?? 20 }),
        methods: fc.subarray([...CONNECTOR_METHODS], { minLength: 1 }),
      }),
    );
  }
  if (kinds.includes('kill')) {
    plans.push(
      fc.record({
        kind: fc.constant('kill' as const),
        afterStates: fc.integer({ min: 1, max: options.maxStates ?? 3 }),
      }),
    );
  }
  return fc.oneof(...plans);
}
