/**
 * The harness: both modes, kills, waiting for echoes, and the persistence probe catching a
 * connector that echoes states before its records are durable. Run `npm run build` first (the
 * child-process runs use dist/).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ContainerModule } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';
import { connector as jsonl } from '../../connectors/destination-jsonl/index.js';
import { streamFileLocation } from '../../connectors/destination-jsonl/safe-names.js';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import {
  checkProtocolInvariants,
  createMockDestination,
  type PersistedIds,
  runDestination,
} from '../../src/testkit/index.js';
import { defineConnector } from '../../src/write/connector-definition.js';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  type DestinationRecord,
  type DestinationWriter,
  type StreamLoader,
} from '../../src/write/destination-writer.js';
import { TOKENS } from '../../src/write/tokens.js';
import { catalog, globalState, record, status, streamState } from '../helpers/messages.js';

const JSONL_MODULE = fileURLToPath(
  new URL('../../dist/connectors/destination-jsonl/index.js', import.meta.url),
);
const FAST_FLUSH = { DESTKIT_FLUSH_WINDOW_MS: '50' };

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'destkit-harness-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function jsonlIds(dir: string, name: string): string[] {
  let text: string;
  try {
    text = readFileSync(streamFileLocation(dir, undefined, name).file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => String((JSON.parse(l) as { _airbyte_data: { id: number } })._airbyte_data.id));
}

const USERS = catalog([{ name: 'users' }]);
const INPUT = [
  record('users', { id: 1 }),
  record('users', { id: 2 }),
  streamState('users', { n: 2 }),
  record('users', { id: 3 }),
  streamState('users', { n: 3 }),
  status('users', 'COMPLETE'),
] as JsonObject[];

/**
 * A deliberately broken connector: it says its batches are PERSISTED as soon as it has them in
 * memory, but commits them only when the stream closes. `committed` is what survives a crash.
 */
function lyingConnector(committed: Map<string, Set<string>>) {
  class LyingLoader implements StreamLoader, BatchAccumulator {
    readonly pending: string[] = [];
    constructor(readonly stream: DestinationStream) {}
    async start(): Promise<void> {}
    createBatchAccumulator(): BatchAccumulator {
      return this;
    }
    async processRecords(records: Iterable<DestinationRecord>): Promise<Batch> {
      for (const r of records) this.pending.push(String(r.data.id));
      return { state: 'PERSISTED' };
    }
    async processBatch(): Promise<Batch> {
      return COMPLETE_BATCH;
    }
    async close(failure?: unknown): Promise<void> {
      if (failure !== undefined) return;
      const set = committed.get(this.stream.label) ?? new Set<string>();
      for (const id of this.pending) set.add(id);
      committed.set(this.stream.label, set);
    }
  }
  const writer: DestinationWriter = {
    async setup() {},
    createStreamLoader: (stream) => new LyingLoader(stream),
    async teardown() {},
  };
  return defineConnector({
    name: 'lying',
    spec: { connectionSpecification: { type: 'object' } },
    module: new ContainerModule(({ bind }) => {
      bind(TOKENS.DestinationWriter).toConstantValue(writer);
    }),
  });
}

/** The honest twin: commits in processRecords before it says PERSISTED. */
function honestConnector(committed: Map<string, Set<string>>) {
  const writer: DestinationWriter = {
    async setup() {},
    createStreamLoader: (stream): StreamLoader => {
      const loader: StreamLoader & BatchAccumulator = {
        stream,
        async start() {},
        createBatchAccumulator: () => loader,
        async processRecords(records) {
          const set = committed.get(stream.label) ?? new Set<string>();
          for (const r of records) set.add(String(r.data.id));
          committed.set(stream.label, set);
          return COMPLETE_BATCH;
        },
        processBatch: async (batch) => batch,
        async close() {},
      };
      return loader;
    },
    async teardown() {},
  };
  return defineConnector({
    name: 'honest',
    spec: { connectionSpecification: { type: 'object' } },
    module: new ContainerModule(({ bind }) => {
      bind(TOKENS.DestinationWriter).toConstantValue(writer);
    }),
  });
}

const snapshot = (committed: Map<string, Set<string>>) => async (): Promise<PersistedIds> =>
  new Map([...committed].map(([label, ids]) => [label, new Set(ids)]));

describe('runDestination', () => {
  it('runs spec and check in-process and as a child process with the same result', async () => {
    const dir = tempDir();
    for (const mode of ['in-process', 'child-process'] as const) {
      const spec = await runDestination({
        definition: jsonl,
        modulePath: JSONL_MODULE,
        mode,
        operation: 'spec',
      });
      expect(spec.exitCode).toBe(0);
      expect(spec.messages.filter((m) => m.type === 'SPEC')).toHaveLength(1);
      const check = await runDestination({
        definition: jsonl,
        modulePath: JSONL_MODULE,
        mode,
        operation: 'check',
        config: { destination_path: dir },
      });
      expect(check.messages.find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus).toEqual({
        status: 'SUCCEEDED',
      });
      expect(checkProtocolInvariants({}, check)).toEqual([]);
    }
  });

  it('writes in both modes, echoing every state with its recordCount', async () => {
    for (const mode of ['in-process', 'child-process'] as const) {
      const dir = tempDir();
      const result = await runDestination({
        ...(mode === 'in-process' ? { definition: jsonl } : { modulePath: JSONL_MODULE, mode }),
        config: { destination_path: dir },
        catalog: USERS,
        messages: INPUT,
      });
      expect(result.mode).toBe(mode);
      expect(result.exitCode).toBe(0);
      expect(result.states.map((s) => (s.state as any).destinationStats)).toEqual([
        { recordCount: 2 },
        { recordCount: 1 },
      ]);
      expect(result.logs.length).toBeGreaterThan(0);
      expect(
        checkProtocolInvariants({ catalog: USERS, messages: INPUT }, result, {
          outcome: 'success',
        }),
      ).toEqual([]);
      expect(jsonlIds(dir, 'users')).toEqual(['1', '2', '3']);
    }
  });

  it('reports a failure with its exit code and TRACE ERROR (config_error for a bad config)', async () => {
    const result = await runDestination({
      definition: jsonl,
      config: { destination_path: 17 },
      catalog: USERS,
      messages: INPUT,
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.map((e) => e.failure_type)).toEqual(['config_error']);
    expect(
      checkProtocolInvariants({ catalog: USERS, messages: INPUT }, result, {
        outcome: 'config_error',
      }),
    ).toEqual([]);
  });

  it('kills a child process right after the Kth echoed state', async () => {
    const dir = tempDir();
    const result = await runDestination({
      modulePath: JSONL_MODULE,
      mode: 'child-process',
      config: { destination_path: dir },
      catalog: USERS,
      messages: INPUT,
      killAfterStates: 1,
      waitForEchoes: true,
      env: FAST_FLUSH,
    });
    expect(result).toMatchObject({
      mode: 'child-process',
      killed: true,
      exitCode: null,
      signal: 'SIGKILL',
    });
    expect(result.states).toHaveLength(1);
    // Fed up to the first state, which was echoed: nothing after it reached the connector.
    expect(result.linesFed).toBe(3);
    expect(checkProtocolInvariants({ catalog: USERS, messages: INPUT }, result)).toEqual([]);
    expect(jsonlIds(dir, 'users')).toEqual(['1', '2']);
  });

  it('stops an in-process run after the Kth state (nothing finalized)', async () => {
    const dir = tempDir();
    const refresh = catalog([{ name: 'users', gen: 2, minGen: 2 }]);
    const result = await runDestination({
      definition: jsonl,
      config: { destination_path: dir },
      catalog: refresh,
      messages: INPUT,
      killAfterStates: 1,
      waitForEchoes: true,
      env: FAST_FLUSH,
    });
    expect(result).toMatchObject({ mode: 'in-process', killed: true, exitCode: 1 });
    expect(result.errors[0]?.failure_type).toBe('transient_error');
    // A truncate refresh that was stopped leaves no stream file.
    expect(jsonlIds(dir, 'users')).toEqual([]);
  });

  it('notes a state that is not echoed while the input stays open', async () => {
    // Grouped batches commit only at the end of the stream: no state can be echoed before.
    const { definition } = createMockDestination({ groupBatches: true });
    const result = await runDestination({
      definition,
      catalog: USERS,
      messages: INPUT,
      waitForEchoes: true,
      echoTimeoutMs: 300,
      env: FAST_FLUSH,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('state #0 was not echoed within the echo timeout');
    expect(result.lateStates).toEqual([0, 1]);
  });

  it('detects a connector that echoes a state before its records are persisted', async () => {
    const committed = new Map<string, Set<string>>();
    const result = await runDestination({
      definition: lyingConnector(committed),
      catalog: USERS,
      messages: INPUT,
      waitForEchoes: true,
      persistenceProbe: snapshot(committed),
      env: FAST_FLUSH,
    });
    expect(result.exitCode).toBe(0);
    expect(checkProtocolInvariants({ catalog: USERS, messages: INPUT }, result)).toEqual([
      'state #0 was echoed before 2 record(s) of users it covers were persisted (first: id 1)',
      'state #1 was echoed before 3 record(s) of users it covers were persisted (first: id 1)',
    ]);
  });

  it('finds no such problem in the honest twin', async () => {
    const committed = new Map<string, Set<string>>();
    const result = await runDestination({
      definition: honestConnector(committed),
      catalog: USERS,
      messages: INPUT,
      waitForEchoes: true,
      persistenceProbe: snapshot(committed),
      env: FAST_FLUSH,
    });
    expect(result.persistedAtState).toHaveLength(2);
    expect(checkProtocolInvariants({ catalog: USERS, messages: INPUT }, result)).toEqual([]);
  });

  it('shows the lying connector losing data when killed after a state and resumed', async () => {
    const committed = new Map<string, Set<string>>();
    const definition = lyingConnector(committed);
    const killed = await runDestination({
      definition,
      catalog: USERS,
      messages: INPUT,
      killAfterStates: 1,
      waitForEchoes: true,
      env: FAST_FLUSH,
    });
    expect(killed.killed).toBe(true);
    // Resume after the echoed state: records 1 and 2 are never sent again.
    await runDestination({ definition, catalog: USERS, messages: INPUT.slice(3) });
    expect([...(committed.get('users') ?? [])].sort()).toEqual(['3']);
  });

  it('loses nothing on JSONL when killed after the Kth state and resumed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
        async (k, perState) => {
          const dir = tempDir();
          // GLOBAL states after 0–3 records each, then two more records and COMPLETE.
          const messages: JsonObject[] = [];
          let id = 0;
          perState.forEach((n, i) => {
            for (let j = 0; j < n; j++) messages.push(record('users', { id: ++id }) as JsonObject);
            messages.push(globalState({ seq: i }, ['users']) as JsonObject);
          });
          messages.push(
            record('users', { id: ++id }) as JsonObject,
            record('users', { id: ++id }) as JsonObject,
          );
          messages.push(status('users', 'COMPLETE') as JsonObject);
          const config = { destination_path: dir };
          // No waiting: the kill lands whenever the Kth echo is read, perhaps mid-append.
          const first = await runDestination({
            modulePath: JSONL_MODULE,
            mode: 'child-process',
            config,
            catalog: USERS,
            messages,
            killAfterStates: k,
            env: FAST_FLUSH,
          });
          expect(first.killed).toBe(true);
          expect(checkProtocolInvariants({ catalog: USERS, messages }, first)).toEqual([]);
          const stateIndexes = messages.flatMap((m, i) => (m.type === 'STATE' ? [i] : []));
          const resumeAt = stateIndexes[first.states.length - 1]! + 1;
          const before = messages
            .slice(0, resumeAt)
            .flatMap((m) => (m.type === 'RECORD' ? [String((m.record as any).data.id)] : []));
          const second = await runDestination({
            definition: jsonl,
            config,
            catalog: USERS,
            messages: messages.slice(resumeAt),
          });
          expect(
            checkProtocolInvariants(
              { catalog: USERS, messages: messages.slice(resumeAt) },
              second,
              { outcome: 'success' },
            ),
          ).toEqual([]);
          const ids = jsonlIds(dir, 'users');
          // Covered by an echoed state: exactly once. After it: at least once. Nothing else.
          for (const r of before) expect(ids.filter((x) => x === r)).toHaveLength(1);
          for (let r = 1; r <= id; r++) expect(ids).toContain(String(r));
          expect(ids.every((x) => Number(x) >= 1 && Number(x) <= id)).toBe(true);
        },
      ),
      { numRuns: 4 },
    );
  }, 60_000);
});
