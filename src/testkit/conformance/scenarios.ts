/**
 * The conformance scenarios. Each names what it needs: a dumper (to read data back), a
 * capability, or fault injection (the connector's definition in-process). A scenario whose needs
 * are not met is skipped — reported as skipped, never passed. Scenarios that need no dumper still
 * check the protocol of every sync they run; with a dumper they also compare the data.
 *
 * Every sync is checked against the protocol invariants (protocol-invariants.ts) and, unless the
 * scenario says otherwise, must succeed.
 */
import { specSchemaProblems } from '../../config/schema-validator.js';
import type { JsonObject } from '../../protocol/messages.js';
import type { FaultPlan } from '../fault-injection.js';
import type { ConformanceCapabilities, ConformanceSession } from './conformance-session.js';
import { ConformanceFailure } from './conformance-session.js';
import { globalState, type SentRecord, type TestStream } from './test-stream.js';

export type ScenarioNeed = 'dumper' | 'faults' | keyof ConformanceCapabilities;

export interface Scenario {
  /** Stable id, e.g. `dedup-no-cursor`; options.skip takes these. */
  readonly id: string;
  readonly title: string;
  readonly needs: readonly ScenarioNeed[];
  run(session: ConformanceSession): Promise<void>;
}

const INTEGER: JsonObject = { type: 'integer' };
const STRING: JsonObject = { type: 'string' };
const NUMBER: JsonObject = { type: 'number' };

/** Knobs for scenarios that need many small batches. */
const SMALL_BATCHES = { DESTKIT_BATCH_SIZE_BYTES: '1' } as const;

const basicWrite: Scenario = {
  id: 'basic-write',
  title: 'basic write: records, states, source changes kept in _airbyte_meta',
  needs: [],
  async run(session) {
    const s = session.stream({
      name: 'basic',
      properties: { id: INTEGER, name: STRING },
      generationId: 3,
      syncId: 42,
    });
    const r1 = s.record({ id: 1, name: 'one' });
    const r2 = s.record(
      { id: 2, name: 'two' },
      {
        meta: {
          changes: [{ field: 'name', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' }],
        },
      },
    );
    const r3 = s.record({ id: 3, name: null });
    await session.sync(
      [s],
      [r1, r2, s.state({ cursor: 2 }), r3, s.state({ cursor: 3 }), s.complete()],
    );
    await session.expectRows(s, [r1, r2, r3]);
  },
};

const spec: Scenario = {
  id: 'spec',
  title: 'spec: one SPEC message with a valid JSON schema as its connection specification',
  needs: [],
  async run(session) {
    const result = await session.command('spec');
    const message = result.messages.find((m) => m.type === 'SPEC');
    const specification = (message?.spec as JsonObject | undefined)?.connectionSpecification;
    if (typeof specification !== 'object' || specification === null || Array.isArray(specification))
      throw new ConformanceFailure('the SPEC message has no connectionSpecification object');
    // Runs do not check the schema against the meta-schema (start-up time): this is where a
    // broken one is found.
    const problems = specSchemaProblems(specification);
    if (problems.length > 0) {
      throw new ConformanceFailure(
        `the connectionSpecification is not a valid JSON schema: ${problems.join('; ')}`,
      );
    }
  },
};

const check: Scenario = {
  id: 'check',
  title: 'check: SUCCEEDED for the test config',
  needs: [],
  async run(session) {
    const result = await session.command('check');
    const status = result.messages.find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus as
      | JsonObject
      | undefined;
    if (status?.status !== 'SUCCEEDED') {
      throw new ConformanceFailure(
        `check answered ${String(status?.status)}: ${String(status?.message ?? '')}`,
      );
    }
  },
};

const midSyncStream: Scenario = {
  id: 'mid-sync-checkpointing-stream',
  title: 'mid-sync checkpointing: STREAM states echoed while the input is still open',
  needs: [],
  async run(session) {
    const a = session.stream({ name: 'checkpoint_a', properties: { id: INTEGER, v: STRING } });
    const b = session.stream({ name: 'checkpoint_b', properties: { id: INTEGER, v: STRING } });
    const a1 = a.record({ id: 1, v: 'a1' });
    const a2 = a.record({ id: 2, v: 'a2' });
    const b1 = b.record({ id: 1, v: 'b1' });
    const a3 = a.record({ id: 3, v: 'a3' });
    await session.sync(
      [a, b],
      [
        a1,
        a2,
        a.state({ n: 1 }),
        b1,
        b.state({ n: 1 }),
        a3,
        a.state({ n: 2 }),
        a.complete(),
        b.complete(),
      ],
      { waitForEchoes: true, probePersistence: session.capabilities.incrementalCommit === true },
    );
    await session.expectRows(a, [a1, a2, a3]);
    await session.expectRows(b, [b1]);
  },
};

const midSyncGlobal: Scenario = {
  id: 'mid-sync-checkpointing-global',
  title: 'mid-sync checkpointing: GLOBAL states echoed while the input is still open',
  needs: [],
  async run(session) {
    const a = session.stream({ name: 'global_a', properties: { id: INTEGER } });
    const b = session.stream({ name: 'global_b', properties: { id: INTEGER } });
    const a1 = a.record({ id: 1 });
    const b1 = b.record({ id: 1 });
    const b2 = b.record({ id: 2 });
    const a2 = a.record({ id: 2 });
    await session.sync(
      [a, b],
      [
        a1,
        b1,
        globalState([a, b], { seq: 1 }),
        b2,
        a2,
        globalState([a, b], { seq: 2 }),
        a.complete(),
        b.complete(),
      ],
      { waitForEchoes: true, probePersistence: session.capabilities.incrementalCommit === true },
    );
    await session.expectRows(a, [a1, a2]);
    await session.expectRows(b, [b1, b2]);
  },
};

const namespaces: Scenario = {
  id: 'namespaces',
  title: 'namespaces: streams of the same name in different namespaces stay apart',
  needs: ['namespaces', 'dumper'],
  async run(session) {
    const ns = session.context.namespace;
    const one = session.stream({
      name: 'items',
      namespace: `${ns}_one`,
      properties: { id: INTEGER, where: STRING },
    });
    const two = session.stream({
      name: 'items',
      namespace: `${ns}_two`,
      properties: { id: INTEGER, where: STRING },
    });
    const none = session.streamWithoutNamespace({
      name: 'items',
      properties: { id: INTEGER, where: STRING },
    });
    const r1 = one.record({ id: 1, where: 'one' });
    const r2 = two.record({ id: 1, where: 'two' });
    const r3 = none.record({ id: 1, where: 'default' });
    const r4 = two.record({ id: 2, where: 'two' });
    await session.sync(
      [one, two, none],
      [r1, r2, r3, r4, one.complete(), two.complete(), none.complete()],
    );
    await session.expectRows(one, [r1]);
    await session.expectRows(two, [r2, r4]);
    await session.expectRows(none, [r3]);
  },
};

const FUNKY_FIELDS: Record<string, JsonObject> = {
  id: INTEGER,
  'field with spaces': STRING,
  'quote"double': STRING,
  "quote'single": STRING,
  $dollar: STRING,
  ünïcödé: STRING,
  'emoji😀': STRING,
  'dot.ted': STRING,
  '123starts_with_digit': STRING,
  'back\\slash': STRING,
  'semi;colon': STRING,
};

const FUNKY_VALUES: readonly string[] = [
  'a "double" quote',
  "it's",
  'back\\slash \\n (not a newline)',
  'line\nbreak\r\nand\ttab',
  'ünïcödé 😀 𝄞 中文 العربية',
  'separators \u2028 \u2029',
  "'); DROP TABLE users; --",
  'a,b;c|d',
  '   leading and trailing   ',
  '',
  '{"looks": "like json"}',
];

const funkyCharacters: Scenario = {
  id: 'funky-characters',
  title: 'funky characters in stream, namespace and field names and in values',
  needs: ['dumper'],
  async run(session) {
    const namespace = session.namespace === undefined ? undefined : `${session.namespace} ü "ñ" $`;
    const s = session.stream({
      name: 'funky stream ü "q" \'q\' $ % 😀',
      ...(namespace === undefined ? {} : { namespace }),
      properties: FUNKY_FIELDS,
    });
    const names = Object.keys(FUNKY_FIELDS).filter((f) => f !== 'id');
    const records = FUNKY_VALUES.map((_, i) => {
      const data: JsonObject = { id: i };
      names.forEach((name, j) => {
        data[name] = FUNKY_VALUES[(i + j) % FUNKY_VALUES.length] ?? null;
      });
      return s.record(data);
    });
    await session.sync([s], [...records, s.state({ done: true }), s.complete()]);
    await session.expectRows(s, records);
  },
};

const funkyDedup: Scenario = {
  id: 'funky-characters-dedup',
  title: 'funky characters in primary key and cursor names (dedup)',
  needs: ['dumper', 'dedup'],
  async run(session) {
    const pk = 'ünï pk "1"';
    const cursor = "cürsör 'c'";
    const s = session.stream({
      name: 'funky dedup ü',
      properties: { [pk]: INTEGER, [cursor]: INTEGER, välue: STRING },
      mode: 'append_dedup',
      primaryKey: [[pk]],
      cursor: [cursor],
    });
    const r1 = s.record({ [pk]: 1, [cursor]: 1, välue: 'old' });
    const r2 = s.record({ [pk]: 1, [cursor]: 2, välue: 'new "ü"' });
    const r3 = s.record({ [pk]: 2, [cursor]: 1, välue: 'only' });
    await session.sync([s], [r1, r2, r3, s.complete()]);
    await session.expectRows(s, [r2, r3], { primaryKey: [[pk]] });
  },
};

const appendAcrossSyncs: Scenario = {
  id: 'append-across-syncs',
  title: 'append across syncs: earlier rows stay, generations and sync ids per row',
  needs: ['dumper'],
  async run(session) {
    const first = session.stream({
      name: 'appended',
      properties: { id: INTEGER, v: STRING },
      generationId: 1,
      syncId: 1,
    });
    const r1 = first.record({ id: 1, v: 'first' });
    const r2 = first.record({ id: 2, v: 'first' });
    await session.sync([first], [r1, r2, first.state({ n: 1 }), first.complete()]);
    const second = first.with({ generationId: 2, syncId: 2 });
    const r3 = second.record({ id: 1, v: 'second' });
    const r4 = second.record({ id: 3, v: 'second' });
    await session.sync([second], [r3, r4, second.state({ n: 2 }), second.complete()]);
    await session.expectRows(second, [r1, r2, r3, r4]);
  },
};

const appendSchemaEvolution: Scenario = {
  id: 'append-schema-evolution',
  title: 'append with schema evolution: a column added, one dropped, one retyped',
  needs: ['dumper', 'schemaEvolution'],
  async run(session) {
    const first = session.stream({
      name: 'evolving',
      properties: { id: INTEGER, keep: STRING, dropped: STRING, retyped: INTEGER },
      syncId: 1,
    });
    const r1 = first.record({ id: 1, keep: 'a', dropped: 'gone later', retyped: 7 });
    await session.sync([first], [r1, first.complete()]);
    const second = first.with({
      properties: { id: INTEGER, keep: STRING, retyped: STRING, added: NUMBER },
      syncId: 2,
    });
    const r2 = second.record({ id: 2, keep: 'b', retyped: 'seven', added: 1.5 });
    await session.sync([second], [r2, second.complete()]);
    // Whether the dropped column keeps its old values, and how the old value of the retyped
    // column reads now, is up to the destination; the rest is not.
    const old = session.expected(r1);
    await session.expectRows(second, [
      {
        ...old,
        ignoreFields: [session.column(first, 'dropped'), session.column(first, 'retyped')],
      },
      { ...session.expected(r2), ignoreFields: [session.column(first, 'dropped')] },
    ]);
  },
};

const DEDUP_PROPERTIES: Record<string, JsonObject> = {
  id1: INTEGER,
  id2: INTEGER,
  updated_at: INTEGER,
  name: STRING,
  _ab_cdc_deleted_at: { type: 'string', format: 'date-time' },
};

const dedup: Scenario = {
  id: 'dedup',
  title: 'dedup: composite key, cursor, late older record, tie on cursor, CDC delete',
  needs: ['dumper', 'dedup'],
  async run(session) {
    const first = session.stream({
      name: 'deduped',
      properties: DEDUP_PROPERTIES,
      mode: 'append_dedup',
      primaryKey: [['id1'], ['id2']],
      cursor: ['updated_at'],
      generationId: 1,
      syncId: 1,
    });
    const row = (
      s: TestStream,
      id1: number,
      id2: number,
      at: number,
      name: string | null,
      deleted?: string,
    ) =>
      s.record({
        id1,
        id2,
        updated_at: at,
        name,
        ...(deleted === undefined ? {} : { _ab_cdc_deleted_at: deleted }),
      });
    const alice1 = row(first, 1, 200, 1, 'Alice');
    const alice2 = row(first, 1, 200, 2, 'Alice2');
    const bob = row(first, 1, 201, 1, 'Bob');
    const carol = row(first, 2, 200, 1, 'Carol');
    const dan = row(first, 3, 300, 1, 'Dan');
    await session.sync(
      [first],
      [alice1, alice2, bob, carol, dan, first.state({ n: 1 }), first.complete()],
    );
    const key = { primaryKey: [['id1'], ['id2']] };
    await session.expectRows(first, [alice2, bob, carol, dan], {
      ...key,
      what: 'after the first sync',
    });

    const second = first.with({ generationId: 2, syncId: 2 });
    const alice3 = row(second, 1, 200, 3, 'Alice3');
    const lateBob = row(second, 1, 201, 0, 'Bob (older cursor, must lose)');
    const carolDeleted = row(second, 2, 200, 5, null, '2024-01-01T00:00:00Z');
    const danTie = row(second, 3, 300, 1, 'Dan (same cursor, later)');
    const neverSeenDeleted = row(second, 4, 400, 1, null, '2024-01-01T00:00:00Z');
    await session.sync(
      [second],
      [
        alice3,
        lateBob,
        carolDeleted,
        danTie,
        neverSeenDeleted,
        second.state({ n: 2 }),
        second.complete(),
      ],
    );
    await session.expectRows(second, [alice3, bob, danTie], {
      ...key,
      what: 'after the second sync',
    });
  },
};

const dedupNoCursor: Scenario = {
  id: 'dedup-no-cursor',
  title: 'dedup without a cursor: the latest extracted record wins',
  needs: ['dumper', 'dedup'],
  async run(session) {
    const first = session.stream({
      name: 'dedup_no_cursor',
      properties: { id: INTEGER, v: STRING },
      mode: 'append_dedup',
      primaryKey: [['id']],
      syncId: 1,
    });
    const x1 = first.record({ id: 1, v: 'a' });
    const x2 = first.record({ id: 1, v: 'b' });
    const y1 = first.record({ id: 2, v: 'c' });
    // Later in the input, but extracted earlier: loses.
    const y2 = first.record(
      { id: 2, v: 'd (extracted earlier)' },
      { emittedAt: y1.emittedAt - 500 },
    );
    await session.sync([first], [x1, x2, y1, y2, first.complete()]);
    await session.expectRows(first, [x2, y1], { what: 'after the first sync' });
    const second = first.with({ syncId: 2 });
    const x3 = second.record({ id: 1, v: 'e' });
    await session.sync([second], [x3, second.complete()]);
    await session.expectRows(second, [x3, y1], { what: 'after the second sync' });
  },
};

const dedupCursorChange: Scenario = {
  id: 'dedup-cursor-change',
  title: 'dedup with a changed cursor: the new cursor decides, a null cursor loses',
  needs: ['dumper', 'dedup'],
  async run(session) {
    const first = session.stream({
      name: 'dedup_cursor_change',
      properties: { id: INTEGER, old_cursor: INTEGER, new_cursor: INTEGER, name: STRING },
      mode: 'append_dedup',
      primaryKey: [['id']],
      cursor: ['old_cursor'],
      generationId: 1,
      syncId: 1,
    });
    const foo = first.record({ id: 1, old_cursor: 5, name: 'foo' });
    const keep = first.record({ id: 2, old_cursor: 1, name: 'keep' });
    await session.sync([first], [foo, keep, first.complete()]);
    const second = first.with({ cursor: ['new_cursor'], generationId: 2, syncId: 2 });
    const bar = second.record({ id: 1, new_cursor: 0, name: 'bar' });
    await session.sync([second], [bar, second.complete()]);
    await session.expectRows(second, [bar, keep]);
  },
};

/** Prior data in generation `generationId`, written by an append sync. */
async function priorRows(
  session: ConformanceSession,
  stream: TestStream,
  count: number,
): Promise<SentRecord[]> {
  const rows = Array.from({ length: count }, (_, i) => stream.record({ id: 100 + i, v: 'prior' }));
  await session.sync([stream], [...rows, stream.state({ prior: true }), stream.complete()]);
  return rows;
}

const truncateRefresh: Scenario = {
  id: 'truncate-refresh-interrupted-then-finished',
  title: 'truncate refresh killed after a state, then finished: old generation until the end',
  needs: ['truncate'],
  async run(session) {
    const old = session.stream({
      name: 'refreshed',
      properties: { id: INTEGER, v: STRING },
      generationId: 12,
      minimumGenerationId: 0,
      syncId: 1,
    });
    const prior = await priorRows(session, old, 2);
    const refresh = old.with({ generationId: 13, minimumGenerationId: 13, syncId: 2 });
    const n1 = refresh.record({ id: 1, v: 'new' });
    const n2 = refresh.record({ id: 2, v: 'new' });
    const n3 = refresh.record({ id: 3, v: 'new' });
    await session.sync(
      [refresh],
      [n1, n2, refresh.state({ n: 1 }), n3, refresh.state({ n: 2 }), refresh.complete()],
      { killAfterStates: 1, waitForEchoes: true, preferChildProcess: true },
    );
    await session.expectRows(old, prior, { what: 'after the interrupted refresh' });
    // The retry resumes after the last echoed state, in the same generation.
    await session.sync([refresh], [n3, refresh.state({ n: 2 }), refresh.complete()]);
    await session.expectRows(refresh, [n1, n2, n3], { what: 'after the refresh finished' });
  },
};

async function interruptedTruncate(session: ConformanceSession, withPriorData: boolean) {
  const old = session.stream({
    name: withPriorData ? 'truncate_prior' : 'truncate_empty',
    properties: { id: INTEGER, v: STRING },
    generationId: 41,
    syncId: 1,
  });
  const prior = withPriorData ? await priorRows(session, old, 2) : [];
  const refresh = old.with({ generationId: 42, minimumGenerationId: 42, syncId: 2 });
  const n1 = refresh.record({ id: 1, v: 'attempt 1' });
  const n2 = refresh.record({ id: 2, v: 'attempt 1' });
  await session.sync([refresh], [n1, n2, refresh.state({ n: 1 }), refresh.status('INCOMPLETE')], {
    expect: 'transient_error',
  });
  if (withPriorData) {
    await session.expectRows(old, prior, { what: 'after the INCOMPLETE attempt' });
  } else {
    // With nothing to protect, a destination may write the new generation in place.
    await session.expectRowsOneOf(old, [[], [n1, n2]], { what: 'after the INCOMPLETE attempt' });
  }
  const n3 = refresh.record({ id: 3, v: 'attempt 2' });
  await session.sync([refresh], [n3, refresh.state({ n: 2 }), refresh.complete()]);
  await session.expectRows(refresh, [n1, n2, n3], { what: 'after the second attempt' });
}

const interruptedTruncateWithPrior: Scenario = {
  id: 'interrupted-truncate-with-prior-data',
  title: 'interrupted truncate with prior data: prior rows stay until a later attempt completes',
  needs: ['truncate'],
  run: (session) => interruptedTruncate(session, true),
};

const interruptedTruncateWithoutPrior: Scenario = {
  id: 'interrupted-truncate-without-prior-data',
  title: 'interrupted truncate without prior data: the next attempt keeps the first attempt rows',
  needs: ['truncate'],
  run: (session) => interruptedTruncate(session, false),
};

const truncateNoData: Scenario = {
  id: 'truncate-refresh-no-data',
  title: 'truncate refresh without records: a COMPLETE stream leaves an empty table',
  needs: ['truncate'],
  async run(session) {
    const old = session.stream({
      name: 'truncate_no_data',
      properties: { id: INTEGER, v: STRING },
    });
    await priorRows(session, old, 2);
    const refresh = old.with({ generationId: 2, minimumGenerationId: 2, syncId: 2 });
    await session.sync([refresh], [refresh.state({ n: 0 }), refresh.complete()]);
    await session.expectRows(refresh, []);
  },
};

const manyStreams: Scenario = {
  id: 'many-streams',
  title: 'many streams (21) in one sync',
  needs: [],
  async run(session) {
    const streams = Array.from({ length: 21 }, (_, i) =>
      session.stream({ name: `many_${String(i).padStart(2, '0')}`, properties: { id: INTEGER } }),
    );
    const records = streams.map((s) => [s.record({ id: 1 }), s.record({ id: 2 })] as const);
    const messages: (JsonObject | SentRecord)[] = [];
    streams.forEach((s, i) => {
      messages.push(...records[i]!, s.state({ stream: i }));
    });
    messages.push(...streams.map((s) => s.complete()));
    await session.sync(streams, messages);
    for (const [i, s] of streams.entries()) await session.expectRows(s, [...records[i]!]);
  },
};

const BASIC_TYPES: Record<string, JsonObject> = {
  id: INTEGER,
  string: STRING,
  boolean: { type: 'boolean' },
  integer: INTEGER,
  number: NUMBER,
  date: { type: 'string', format: 'date' },
  timestamp_tz: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
  timestamp_ntz: {
    type: 'string',
    format: 'date-time',
    airbyte_type: 'timestamp_without_timezone',
  },
  time_tz: { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' },
  time_ntz: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
};

const basicTypes: Scenario = {
  id: 'basic-types',
  title: 'every basic type: valid, null, unset, edge and invalid values',
  needs: ['dumper'],
  async run(session) {
    const s = session.stream({ name: 'basic_types', properties: BASIC_TYPES });
    const records = [
      s.record({
        id: 1,
        string: 'text',
        boolean: true,
        integer: 42,
        number: 1.5,
        date: '2021-01-23',
        timestamp_tz: '2022-11-22T01:23:45.123Z',
        timestamp_ntz: '2022-11-22T01:23:45.123',
        time_tz: '01:23:45Z',
        time_ntz: '01:23:45',
      }),
      s.record({
        id: 2,
        string: null,
        boolean: null,
        integer: null,
        number: null,
        date: null,
        timestamp_tz: null,
        timestamp_ntz: null,
        time_tz: null,
        time_ntz: null,
      }),
      s.record({ id: 3 }),
      s.record({
        id: 4,
        string: '',
        boolean: false,
        integer: -9007199254740991,
        number: -0.000001,
        date: '1970-01-01',
        timestamp_tz: '1970-01-01T00:00:00Z',
        timestamp_ntz: '2000-02-29T23:59:59.999999',
        time_tz: '23:59:59.999999Z',
        time_ntz: '00:00:00',
      }),
      s.record({ id: 5, integer: 2 ** 53, number: 1e39 }),
      s.record({ id: 8, integer: -(2 ** 63), number: Number.MIN_VALUE }),
      s.record({
        id: 6,
        string: 12,
        boolean: 'true',
        integer: '42',
        number: '1.5',
        date: '2021-13-45',
        timestamp_tz: 'not a timestamp',
        timestamp_ntz: 1234567890,
        time_tz: '25:61:00',
        time_ntz: true,
      }),
      s.record({ id: 7, integer: 1e20, number: 123456789.123456 }),
    ];
    await session.sync([s], [...records, s.complete()]);
    await session.expectRows(s, records);
  },
};

/**
 * The same records stored through each way destkit can read its input: the input worker (the
 * default; a connector with a record encoder gets its lines made as records arrive), the main
 * thread (`input_workers` 0: `processRecords` with parsed records), and the input worker with
 * every batch through a spill file (a batch larger than a quarter of the memory budget never
 * stays in memory). A connector whose encoder and `processRecords` disagree fails here.
 */
const inputModes: Scenario = {
  id: 'input-modes',
  title: 'input modes: the input worker, the main thread and spill files store the same rows',
  needs: ['dumper'],
  async run(session) {
    const modes = [
      {
        name: 'input_worker',
        what: 'read by the input worker',
        env: { DESTKIT_INPUT_WORKERS: '1' },
      },
      { name: 'main_thread', what: 'read on the main thread', env: { DESTKIT_INPUT_WORKERS: '0' } },
      {
        name: 'spill_files',
        what: 'read by the input worker, every batch through a spill file',
        env: {
          DESTKIT_INPUT_WORKERS: '1',
          DESTKIT_BATCH_SIZE_BYTES: '20000',
          DESTKIT_MEMORY_BUDGET_BYTES: '65536',
        },
      },
    ] as const;
    for (const mode of modes) {
      const s = session.stream({
        name: `modes_${mode.name}`,
        properties: {
          ...BASIC_TYPES,
          object: { type: 'object', properties: { a: INTEGER, b: STRING } },
          array: { type: 'array', items: NUMBER },
        },
      });
      const records = [
        s.record({
          id: 1,
          string: 'quote " backslash \\ tab \t newline \n unicode é 😀',
          boolean: true,
          integer: -9007199254740991,
          number: 1.0000000000000002,
          date: '2021-01-23',
          timestamp_tz: '2022-11-22T01:23:45.123Z',
          object: { a: 1, b: 'nested "text"', extra: [1, { deep: null }] },
          array: [0, -0.5, 1e300],
        }),
        s.record({ id: 2, string: null, object: null, array: null }),
        s.record({ id: 3 }),
        s.record(
          { id: 4, string: 12, boolean: 'true', integer: '42', number: '1.5', date: '2021-13-45' },
          {
            meta: {
              changes: [{ field: 'string', change: 'NULLED', reason: 'SOURCE_RETRIEVAL_ERROR' }],
            },
          },
        ),
        s.record({ id: 5, object: 'not an object', array: { not: 'an array' } }),
      ];
      // More bytes of records than the spill run's batch size: several batches, several files.
      for (let id = 6; id < 406; id++)
        records.push(s.record({ id, string: `row ${id} ${'x'.repeat(id % 97)}`, number: id / 7 }));
      await session.sync(
        [s],
        [...records.slice(0, 200), s.state({ cursor: 200 }), ...records.slice(200), s.complete()],
        { env: mode.env },
      );
      await session.expectRows(s, records, { what: mode.what });
    }
  },
};

const containerTypes: Scenario = {
  id: 'container-types',
  title: 'containers: objects and arrays with and without schemas, empty, wrong kinds',
  needs: ['dumper'],
  async run(session) {
    const s = session.stream({
      name: 'containers',
      properties: {
        id: INTEGER,
        object: {
          type: 'object',
          properties: { a: INTEGER, b: { type: 'object', properties: { c: STRING } } },
        },
        object_without_schema: { type: 'object' },
        array: { type: 'array', items: INTEGER },
        array_without_items: { type: 'array' },
        array_of_objects: { type: 'array', items: { type: 'object', properties: { x: STRING } } },
      },
    });
    const records = [
      s.record({
        id: 1,
        object: { a: 1, b: { c: 'deep' } },
        object_without_schema: { anything: [1, 'two', { three: 3 }] },
        array: [1, 2, 3],
        array_without_items: [1, 'a', null, { b: true }],
        array_of_objects: [{ x: 'one' }, { x: 'two', extra: 1 }],
      }),
      s.record({
        id: 2,
        object: {},
        object_without_schema: {},
        array: [],
        array_without_items: [],
        array_of_objects: [],
      }),
      s.record({
        id: 3,
        object: null,
        object_without_schema: null,
        array: null,
        array_without_items: null,
        array_of_objects: null,
      }),
      s.record({
        id: 4,
        object: 'not an object',
        object_without_schema: 5,
        array: { not: 'an array' },
        array_without_items: 'x',
      }),
      s.record({
        id: 5,
        object: { a: 'not an integer (nested values are kept)' },
        array: ['a', 1],
      }),
    ];
    await session.sync([s], [...records, s.complete()]);
    await session.expectRows(s, records);
  },
};

const unions: Scenario = {
  id: 'unions',
  title: 'unions: type lists, oneOf, anyOf',
  needs: ['dumper'],
  async run(session) {
    const s = session.stream({
      name: 'unions',
      properties: {
        id: INTEGER,
        string_or_integer: { type: ['string', 'integer'] },
        nullable_string: { type: ['null', 'string'] },
        one_of: { oneOf: [STRING, { type: 'object', properties: { a: INTEGER } }] },
        any_of: { anyOf: [NUMBER, { type: 'boolean' }] },
      },
    });
    const records = [
      s.record({
        id: 1,
        string_or_integer: 'text',
        nullable_string: 'x',
        one_of: 'text',
        any_of: 1.5,
      }),
      s.record({
        id: 2,
        string_or_integer: 5,
        nullable_string: null,
        one_of: { a: 1 },
        any_of: true,
      }),
      s.record({ id: 3, string_or_integer: null, one_of: null, any_of: null }),
      s.record({ id: 4, string_or_integer: [1, 2], one_of: [{ a: 1 }], any_of: 'neither' }),
    ];
    await session.sync([s], [...records, s.complete()]);
    await session.expectRows(s, records);
  },
};

const unknownTypes: Scenario = {
  id: 'unknown-types',
  title: 'unknown types: empty schemas, unknown type names, dangling $refs keep any value',
  needs: ['dumper'],
  async run(session) {
    const s = session.stream({
      name: 'unknown_types',
      properties: {
        id: INTEGER,
        empty_schema: {},
        unknown_type: { type: 'whatever' },
        dangling_ref: { $ref: '#/definitions/not_there' },
        description_only: { description: 'no type at all' },
      },
    });
    const values: JsonObject[] = [
      { empty_schema: 'text', unknown_type: 1, dangling_ref: true, description_only: null },
      {
        empty_schema: { a: [1] },
        unknown_type: [1, 'a'],
        dangling_ref: 1.5,
        description_only: 'x',
      },
      { empty_schema: null, unknown_type: { nested: { deep: true } }, dangling_ref: 'y' },
    ];
    const records = values.map((v, i) => s.record({ id: i + 1, ...v }));
    await session.sync([s], [...records, s.complete()]);
    await session.expectRows(s, records);
  },
};

const noColumns: Scenario = {
  id: 'no-columns',
  title: 'no columns: a schema without properties',
  needs: ['dumper'],
  async run(session) {
    const s = session.stream({ name: 'no_columns', schema: { type: 'object', properties: {} } });
    const records = [s.record({}), s.record({ undeclared: 'dropped by typed destinations' })];
    await session.sync([s], [...records, s.state({ n: 2 }), s.complete()]);
    await session.expectRows(s, records);
  },
};

const noData: Scenario = {
  id: 'no-data',
  title: 'no data: a COMPLETE stream without records, its state echoed with recordCount 0',
  needs: [],
  async run(session) {
    const s = session.stream({ name: 'no_data', properties: { id: INTEGER } });
    await session.sync([s], [s.state({ n: 0 }), s.complete()]);
    await session.expectRows(s, []);
  },
};

const missingStatus: Scenario = {
  id: 'missing-stream-status',
  title: 'a stream without a terminal status fails the sync (transient) and is not finalized',
  needs: [],
  async run(session) {
    const truncate = session.capabilities.truncate;
    const done = session.stream({
      name: 'status_complete',
      properties: { id: INTEGER, v: STRING },
    });
    const old = session.stream({ name: 'status_missing', properties: { id: INTEGER, v: STRING } });
    const prior = truncate && session.hasDumper ? await priorRows(session, old, 1) : [];
    const open = truncate ? old.with({ generationId: 2, minimumGenerationId: 2, syncId: 2 }) : old;
    await session.sync(
      [done, open],
      [
        done.record({ id: 1, v: 'x' }),
        open.record({ id: 1, v: 'y' }),
        open.state({ n: 1 }),
        done.complete(),
      ],
      { expect: 'transient_error' },
    );
    if (truncate) await session.expectRows(old, prior, { what: 'without a terminal status' });
  },
};

const crashResume: Scenario = {
  id: 'crash-after-state-then-resume',
  title: 'killed after a state, resumed from it: nothing lost',
  needs: [],
  async run(session) {
    const s = session.stream({ name: 'crash_append', properties: { id: INTEGER, v: STRING } });
    const dedupStream = session.capabilities.dedup
      ? session.stream({
          name: 'crash_dedup',
          properties: { id: INTEGER, seq: INTEGER },
          mode: 'append_dedup',
          primaryKey: [['id']],
          cursor: ['seq'],
        })
      : undefined;
    const streams = dedupStream === undefined ? [s] : [s, dedupStream];
    const d = (id: number, seq: number) =>
      dedupStream === undefined ? [] : [dedupStream.record({ id, seq })];
    const r = [1, 2, 3, 4].map((id) => s.record({ id, v: `r${id}` }));
    const d1 = d(1, 1);
    const d2 = d(2, 1);
    const d3 = d(1, 2);
    const completes = streams.map((x) => x.complete());
    const g = (seq: number) => globalState(streams, { seq });
    await session.sync(
      streams,
      [r[0]!, ...d1, g(1), r[1]!, ...d2, g(2), r[2]!, ...d3, g(3), r[3]!, ...completes],
      { killAfterStates: 2, waitForEchoes: true, preferChildProcess: true },
    );
    // The platform resumes from the last echoed state: everything after it is sent again.
    await session.sync(streams, [r[2]!, ...d3, g(3), r[3]!, ...completes]);
    await session.expectRows(s, r, { what: 'after the resumed sync' });
    if (dedupStream !== undefined)
      await session.expectRows(dedupStream, [...d2, ...d3], { what: 'after the resumed sync' });
  },
};

const failingLoader: Scenario = {
  id: 'failing-loader-nothing-finalized',
  title: 'a failing loader fails the sync (its failure type) and finalizes nothing',
  needs: ['faults'],
  async run(session) {
    const { truncate, dedup: canDedup } = session.capabilities;
    const faults = (label: string): FaultPlan[] => [
      { kind: 'fail', method: 'processRecords', nth: 2, failure: 'transient', stream: label },
      // A connector that takes the records in one call still fails, at close.
      { kind: 'fail', method: 'close', nth: 1, failure: 'transient', stream: label },
    ];
    const failing = { expect: 'transient_error', env: SMALL_BATCHES } as const;

    const append = session.stream({
      name: 'failing_append',
      properties: { id: INTEGER, v: STRING },
    });
    const appendPrior = session.hasDumper ? await priorRows(session, append, 2) : [];
    const sent = [1, 2, 3, 4].map((id) => append.record({ id, v: 'failed sync' }));
    await session.sync([append], [...sent, append.complete()], {
      ...failing,
      faults: faults(append.label),
    });
    await session.expectAtLeastOnce(append, appendPrior, {
      optional: sent,
      what: 'after the failed sync',
    });

    if (truncate) {
      const old = session.stream({
        name: 'failing_truncate',
        properties: { id: INTEGER, v: STRING },
      });
      const prior = await priorRows(session, old, 2);
      const refresh = old.with({ generationId: 2, minimumGenerationId: 2, syncId: 2 });
      const rows = [1, 2, 3, 4].map((id) => refresh.record({ id, v: 'refresh' }));
      await session.sync([refresh], [...rows, refresh.complete()], {
        ...failing,
        faults: faults(refresh.label),
      });
      await session.expectRows(old, prior, { what: 'after the failed refresh' });
      // No state was echoed for the new rows: the retry sends them all again.
      await session.sync([refresh], [...rows, refresh.complete()]);
      await session.expectAtLeastOnce(refresh, rows, { what: 'after the retried refresh' });
    }
    if (canDedup) {
      const first = session.stream({
        name: 'failing_dedup',
        properties: { id: INTEGER, v: STRING, seq: INTEGER },
        mode: 'append_dedup',
        primaryKey: [['id']],
        cursor: ['seq'],
        syncId: 1,
      });
      const p = [1, 2].map((id) => first.record({ id, v: 'prior', seq: 1 }));
      await session.sync([first], [...p, first.complete()]);
      const second = first.with({ syncId: 2 });
      const updates = [1, 2, 3].map((id) => second.record({ id, v: 'update', seq: 2 }));
      await session.sync([second], [...updates, second.complete()], {
        ...failing,
        faults: faults(second.label),
      });
      await session.expectRows(first, p, { what: 'after the failed sync' });
      await session.sync([second], [...updates, second.complete()]);
      await session.expectRows(second, updates, { what: 'after the retried sync' });
    }
  },
};

/** Every scenario, in the order the suite runs them. */
export const SCENARIOS: readonly Scenario[] = Object.freeze([
  spec,
  check,
  basicWrite,
  midSyncStream,
  midSyncGlobal,
  namespaces,
  funkyCharacters,
  funkyDedup,
  appendAcrossSyncs,
  appendSchemaEvolution,
  dedup,
  dedupNoCursor,
  dedupCursorChange,
  truncateRefresh,
  interruptedTruncateWithPrior,
  interruptedTruncateWithoutPrior,
  truncateNoData,
  manyStreams,
  basicTypes,
  containerTypes,
  inputModes,
  unions,
  unknownTypes,
  noColumns,
  noData,
  missingStatus,
  crashResume,
  failingLoader,
]);
