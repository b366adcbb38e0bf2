/**
 * fast-check arbitraries of whole syncs: a configured catalog of 1–4 streams and the stdin of a
 * `write`, with a model of what a correct destination must do with it.
 *
 * Terms:
 * - sync model: the input lines plus, per stream, its records (in input order, each with a
 *   unique `id` in its data) and terminal status, and every STATE with the record indexes it
 *   covers and the `destinationStats.recordCount` its echo must carry.
 * - covers: for a STREAM state, `[0, n)` of its stream, n = that stream's records read before
 *   it; for a GLOBAL state, the same for every stream.
 *
 * The input mixes records of all streams, STREAM states or GLOBAL states (never both), terminal
 * statuses COMPLETE / INCOMPLETE / none per stream (always after the stream's last record;
 * states may follow), empty streams, blank lines, CRLF line ends, LOG and non-terminal status
 * noise, unknown fields on records and states, the platform's `id` on states and `100.0`-style
 * numbers that a JSON round trip would not keep.
 */
import fc from 'fast-check';
import type { ConfiguredAirbyteCatalog } from '../catalog/configured-catalog.js';
import type { DestinationSyncMode, JsonObject, StreamDescriptor } from '../protocol/messages.js';

export type TerminalStatus = 'COMPLETE' | 'INCOMPLETE' | 'missing';
export type StateMode = 'STREAM' | 'GLOBAL' | 'none';

/** One stream of a generated catalog. */
export interface StreamSpec {
  readonly descriptor: StreamDescriptor;
  /** `namespace.name` or `name`, as DestinationStream.label. */
  readonly label: string;
  readonly mode: Extract<DestinationSyncMode, 'append' | 'append_dedup' | 'overwrite'>;
  /** A refresh: generation_id == minimum_generation_id (> 0). */
  readonly refresh: boolean;
}

export interface ModelRecord {
  /** Unique in the sync: `data.id`. */
  readonly id: string;
  /** 0-based index in its stream. */
  readonly index: number;
  readonly data: JsonObject;
  readonly emittedAt: number;
}

export interface ModelStream extends StreamSpec {
  /** Position in the catalog. */
  readonly number: number;
  readonly records: readonly ModelRecord[];
  readonly status: TerminalStatus;
  /** True when the destination must replace the final table (overwrite or refresh). */
  readonly truncate: boolean;
}

export interface ModelState {
  /** 0-based position among the states of the sync; also in the state's payload as `seq`. */
  readonly seq: number;
  readonly kind: 'STREAM' | 'GLOBAL';
  /** The stream of a STREAM state. */
  readonly stream: string | undefined;
  /** The input line, as written (without a CRLF's `\r`). */
  readonly line: string;
  readonly json: JsonObject;
  /** Per stream label: the number of that stream's records read before this state. */
  readonly covers: ReadonlyMap<string, number>;
  readonly recordCount: number;
}

export interface SyncModel {
  /** The configured catalog in wire form. */
  readonly catalog: ConfiguredAirbyteCatalog;
  readonly streams: readonly ModelStream[];
  readonly states: readonly ModelState[];
  readonly stateMode: StateMode;
  /** stdin, one entry per line (a line may end in `\r`). */
  readonly lines: readonly string[];
  /** Every stream got COMPLETE: a well-behaved destination succeeds. */
  readonly allComplete: boolean;
  /** Why a sync that did all its work must still fail, if it must. */
  readonly expectedIncompleteness: 'missing-status' | 'incomplete' | undefined;
}

const NAMES = ['users', 'orders', 'events', 'items'] as const;
const NAMESPACES = [undefined, 'public', 'sales'] as const;

function labelOf(descriptor: StreamDescriptor): string {
  return descriptor.namespace ? `${descriptor.namespace}.${descriptor.name}` : descriptor.name;
}

/** A catalog of 1–4 distinct streams, some with namespaces, in append / dedupe / overwrite. */
export function streamSpecsArbitrary(maxStreams = 4): fc.Arbitrary<StreamSpec[]> {
  const spec = fc
    .record({
      name: fc.constantFrom(...NAMES),
      namespace: fc.constantFrom(...NAMESPACES),
      mode: fc.constantFrom<StreamSpec['mode']>('append', 'append', 'append_dedup', 'overwrite'),
      refresh: fc.boolean(),
    })
    .map(({ name, namespace, mode, refresh }): StreamSpec => {
      const descriptor: StreamDescriptor = namespace === undefined ? { name } : { name, namespace };
      return { descriptor, label: labelOf(descriptor), mode, refresh };
    });
  return fc.uniqueArray(spec, {
    minLength: 1,
    maxLength: Math.max(1, Math.min(maxStreams, 4)),
    selector: (s) => s.label,
  });
}

/** The wire catalog of some stream specs (dedupe on `pk`, cursor `cursor`). */
export function configuredCatalog(specs: readonly StreamSpec[]): ConfiguredAirbyteCatalog {
  return {
    streams: specs.map((s) => ({
      stream: {
        name: s.descriptor.name,
        ...(s.descriptor.namespace ? { namespace: s.descriptor.namespace } : {}),
        json_schema: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            pk: { type: 'integer' },
            cursor: { type: ['null', 'integer'] },
          },
        },
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: s.mode,
      ...(s.mode === 'append_dedup' ? { primary_key: [['pk']], cursor_field: ['cursor'] } : {}),
      generation_id: 2,
      minimum_generation_id: s.refresh ? 2 : 0,
      sync_id: 42,
    })),
  };
}

type Op =
  | {
      readonly kind: 'record';
      readonly stream: number;
      readonly pk: number;
      readonly cursor: number | null;
      readonly deleted: boolean;
      readonly pad: number;
      readonly emittedOffset: number;
      readonly extraField: boolean;
    }
  | {
      readonly kind: 'state';
      readonly stream: number;
      readonly platformId: number | undefined;
      readonly extraField: boolean;
    }
  | { readonly kind: 'blank'; readonly text: string }
  | { readonly kind: 'noise'; readonly stream: number; readonly log: boolean }
  | {
      readonly kind: 'status';
      readonly stream: number;
      readonly status: 'COMPLETE' | 'INCOMPLETE';
    };

export interface SyncArbitraryOptions {
  /** Most streams in the catalog. Default 4. */
  readonly maxStreams?: number;
  /** Most messages (records, states, noise). Default 40. */
  readonly maxMessages?: number;
  /** Most padding characters in a record (line size). Default 120. */
  readonly maxPad?: number;
  /** Allowed state modes. Default all three. */
  readonly stateModes?: readonly StateMode[];
  /** Allowed terminal statuses (weighted towards COMPLETE when it is allowed). Default all. */
  readonly statuses?: readonly TerminalStatus[];
}

function opArbitrary(streams: number, maxPad: number): fc.Arbitrary<Op> {
  const stream = fc.nat({ max: streams - 1 });
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('record' as const),
        stream,
        pk: fc.nat({ max: 4 }),
        cursor: fc.option(fc.nat({ max: 5 }), { freq: 4 }),
        deleted: fc.nat({ max: 7 }).map((n) => n === 0),
        pad: fc.nat({ max: maxPad }),
        emittedOffset: fc.nat({ max: 3 }),
        extraField: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('state' as const),
        stream,
        platformId: fc.option(fc.nat({ max: 1_000_000 }), { nil: undefined }),
        extraField: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('blank' as const),
        text: fc.constantFrom('', ' ', '\t', '  \t '),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('noise' as const), stream, log: fc.boolean() }),
    },
  );
}

/** A whole sync: catalog, input lines and the model of what must happen. */
export function syncArbitrary(options: SyncArbitraryOptions = {}): fc.Arbitrary<SyncModel> {
  const statuses = options.statuses ?? ['COMPLETE', 'INCOMPLETE', 'missing'];
  const statusArb = fc.oneof(
    ...statuses.map((s) => ({ weight: s === 'COMPLETE' ? 6 : 1, arbitrary: fc.constant(s) })),
  );
  return streamSpecsArbitrary(options.maxStreams ?? 4).chain((specs) =>
    fc
      .record({
        // size 'max': lengths spread over the whole range, not fast-check's small default.
        ops: fc.array(opArbitrary(specs.length, options.maxPad ?? 120), {
          maxLength: options.maxMessages ?? 40,
          size: 'max',
        }),
        statuses: fc.array(fc.record({ status: statusArb, position: fc.nat() }), {
          minLength: specs.length,
          maxLength: specs.length,
        }),
        stateMode: fc.constantFrom(
          ...(options.stateModes ?? (['STREAM', 'GLOBAL', 'none'] as const)),
        ),
        crlf: fc.boolean(),
      })
      .map(({ ops, statuses: ends, stateMode, crlf }) =>
        buildSync(specs, ops, ends, stateMode, crlf),
      ),
  );
}

function buildSync(
  specs: readonly StreamSpec[],
  baseOps: readonly Op[],
  ends: readonly { status: TerminalStatus; position: number }[],
  stateMode: StateMode,
  crlf: boolean,
): SyncModel {
  // Terminal statuses go after the stream's last record (states and noise may follow).
  const ops: Op[] = [...baseOps];
  const inserts: { at: number; op: Op }[] = [];
  specs.forEach((_, i) => {
    const end = ends[i];
    if (end === undefined || end.status === 'missing') return;
    let last = -1;
    baseOps.forEach((op, j) => {
      if (op.kind === 'record' && op.stream === i) last = j;
    });
    const first = last + 1;
    const at = first + (end.position % (baseOps.length - first + 1));
    inserts.push({ at, op: { kind: 'status', stream: i, status: end.status } });
  });
  inserts.sort((a, b) => b.at - a.at);
  for (const { at, op } of inserts) ops.splice(at, 0, op);

  const records: ModelRecord[][] = specs.map(() => []);
  const sinceLast: number[] = specs.map(() => 0);
  const states: ModelState[] = [];
  const lines: string[] = [];
  const eol = crlf ? '\r' : '';
  for (const op of ops) {
    switch (op.kind) {
      case 'record': {
        const spec = specs[op.stream]!;
        const list = records[op.stream]!;
        const index = list.length;
        const id = `s${op.stream}-${index}`;
        const data: JsonObject = {
          id,
          pk: op.pk,
          cursor: op.cursor,
          pad: 'x'.repeat(op.pad),
          nested: { a: [1, 'é', null] },
        };
        if (op.deleted) data._ab_cdc_deleted_at = '2024-01-01T00:00:00Z';
        const emittedAt = 1_700_000_000_000 + op.emittedOffset;
        list.push({ id, index, data, emittedAt });
        sinceLast[op.stream]!++;
        const record: JsonObject = {
          stream: spec.descriptor.name,
          ...(spec.descriptor.namespace ? { namespace: spec.descriptor.namespace } : {}),
          emitted_at: emittedAt,
          data,
          ...(op.extraField ? { unknown_record_field: { kept: true } } : {}),
        };
        lines.push(`${JSON.stringify({ type: 'RECORD', record })}${eol}`);
        break;
      }
      case 'state': {
        if (stateMode === 'none') break;
        const seq = states.length;
        const covers = new Map<string, number>();
        let recordCount: number;
        let state: string;
        const extra = op.extraField
          ? ',"unknown_state_field":{"n":1.50,"big":12345678901234567890}'
          : '';
        if (stateMode === 'STREAM') {
          const spec = specs[op.stream]!;
          covers.set(spec.label, records[op.stream]!.length);
          recordCount = sinceLast[op.stream]!;
          sinceLast[op.stream] = 0;
          state =
            `{"type":"STREAM","stream":{"stream_descriptor":${JSON.stringify(spec.descriptor)},` +
            `"stream_state":{"seq":${seq},"cursor":"c${seq}"}},"sourceStats":{"recordCount":${recordCount}.0}${extra}}`;
        } else {
          specs.forEach((spec, i) => {
            covers.set(spec.label, records[i]!.length);
          });
          recordCount = sinceLast.reduce((a, b) => a + b, 0);
          sinceLast.fill(0);
          const streamStates = specs
            .map(
              (spec, i) =>
                `{"stream_descriptor":${JSON.stringify(spec.descriptor)},"stream_state":{"n":${records[i]!.length}}}`,
            )
            .join(',');
          state =
            `{"type":"GLOBAL","global":{"shared_state":{"seq":${seq}},"stream_states":[${streamStates}]},` +
            `"sourceStats":{"recordCount":${recordCount}.0}${extra}}`;
        }
        const id = op.platformId === undefined ? '' : `,"id":${op.platformId}`;
        const line = `{"type":"STATE","state":${state}${id}}`;
        states.push({
          seq,
          kind: stateMode,
          stream: stateMode === 'STREAM' ? specs[op.stream]!.label : undefined,
          line,
          json: JSON.parse(line) as JsonObject,
          covers,
          recordCount,
        });
        lines.push(`${line}${eol}`);
        break;
      }
      case 'blank':
        lines.push(op.text);
        break;
      case 'noise': {
        const spec = specs[op.stream]!;
        lines.push(
          op.log
            ? JSON.stringify({ type: 'LOG', log: { level: 'INFO', message: 'source says hi' } })
            : JSON.stringify({
                type: 'TRACE',
                trace: {
                  type: 'STREAM_STATUS',
                  emitted_at: 1_700_000_000_000,
                  stream_status: { stream_descriptor: spec.descriptor, status: 'RUNNING' },
                },
              }),
        );
        break;
      }
      case 'status': {
        const spec = specs[op.stream]!;
        lines.push(
          `${JSON.stringify({
            type: 'TRACE',
            trace: {
              type: 'STREAM_STATUS',
              emitted_at: 1_700_000_000_000,
              stream_status: { stream_descriptor: spec.descriptor, status: op.status },
            },
          })}${eol}`,
        );
        break;
      }
    }
  }

  const streams: ModelStream[] = specs.map((spec, i) => ({
    ...spec,
    number: i,
    records: records[i]!,
    status: ends[i]?.status ?? 'missing',
    truncate: spec.mode === 'overwrite' || spec.refresh,
  }));
  const missing = streams.some((s) => s.status === 'missing');
  const incomplete = streams.some((s) => s.status === 'INCOMPLETE');
  return {
    catalog: configuredCatalog(specs),
    streams,
    states,
    stateMode,
    lines,
    allComplete: !missing && !incomplete,
    expectedIncompleteness: missing ? 'missing-status' : incomplete ? 'incomplete' : undefined,
  };
}

/** Cut points for stdin: chunk sizes from 1 byte up, in turn (empty = one chunk). */
export function chunkSizesArbitrary(): fc.Arbitrary<number[]> {
  return fc.oneof(
    fc.constant<number[]>([]),
    fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
    fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 4 }),
  );
}
