/**
 * The PostgreSQL server going away in the middle of a sync (a fast shutdown terminates the
 * sessions, then connections are refused): records are fed slowly through stdin, round by
 * round, each round closed by a STATE; the server is stopped once some states were echoed.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedPostgresServer,
  startEmbeddedPostgres,
} from '../../helpers/embedded-postgres.js';
import { record, status, streamState } from '../../helpers/messages.js';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { lines, runCli, writeJsonFiles } from '../../helpers/run-cli.js';
import {
  errors,
  expectSuccess,
  type Message,
  pgCatalog,
  pgConfig,
  pgSync,
  type StreamSpec,
  states,
} from './postgres-harness.js';

let server: EmbeddedPostgresServer;

beforeAll(async () => {
  server = await startEmbeddedPostgres();
});

afterAll(async () => {
  await server?.stop();
});

const ROUND = 2000;
const ROUNDS = 5;
const streams: StreamSpec[] = [
  { name: 'events', properties: { id: { type: 'integer' }, pad: { type: 'string' } } },
];

function round(r: number): string {
  const records = Array.from({ length: ROUND }, (_, i) =>
    record('events', { id: r * ROUND + i, pad: `round ${r} ${'x'.repeat(100)}` }),
  );
  return lines(...records, streamState('events', { round: r }));
}

/**
 * Makes the connector's next COPY into `schema`.events wait inside the server: a test session
 * holds an ACCESS EXCLUSIVE lock on the table. Resolves once a COPY waits on that lock, so that
 * stopping the server then interrupts a COPY in flight. The session dies with the server.
 */
async function blockNextCopy(schema: string): Promise<{ copyWaiting: Promise<void> }> {
  const locker = await server.client();
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE "${schema}".events IN ACCESS EXCLUSIVE MODE`);
  const copyWaiting = (async () => {
    for (let i = 0; i < 600; i++) {
      const [row] = await server.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COPY %' AND wait_event_type = 'Lock'`,
      );
      if ((row?.n ?? 0) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('no COPY started waiting on the lock');
  })();
  return { copyWaiting };
}

/** Calls `onState(round)` for each STATE echoed on the child's stdout. */
function watchStates(child: ChildProcess, onState: (round: number) => void): void {
  let buffered = '';
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      const message = JSON.parse(line) as Message;
      if (message.type === 'STATE') onState(message.state.stream.stream_state.round as number);
    }
  });
}

async function ids(schema: string): Promise<{ id: number; n: number }[]> {
  return server.query<{ id: number; n: number }>(
    `SELECT id::int AS id, count(*)::int AS n FROM "${schema}".events GROUP BY id ORDER BY id`,
  );
}

/** Every id of rounds 0..ROUNDS-1 is there; ids up to `exactUpTo` exactly once. */
function expectNothingLost(rows: { id: number; n: number }[], exactUpTo: number): void {
  expect(rows.map((r) => r.id)).toEqual(Array.from({ length: ROUND * ROUNDS }, (_, i) => i));
  expect(rows.filter((r) => r.id <= exactUpTo && r.n !== 1)).toEqual([]);
}

describe('postgres write, server restart', () => {
  it('fails with transient_error when the server stops mid-sync; a later sync resumes from the last echoed state', async () => {
    const config = pgConfig(server, { schema: 'restart_fail' });
    const f = writeJsonFiles({ 'config.json': config, 'catalog.json': pgCatalog(streams) });
    const echoed: number[] = [];
    let failure: unknown;
    const result = await runCli(
      ['postgres', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        env: { DESTKIT_POSTGRES_RETRIES: '2', DESTKIT_POSTGRES_RETRY_DELAY_MS: '100' },
        keepStdinOpen: true,
        onStart: (child) => {
          const safety = setTimeout(() => child.stdin!.end(), 60_000);
          child.on('exit', () => clearTimeout(safety));
          child.stdin!.write(round(0));
          watchStates(child, (r) => {
            echoed.push(r);
            if (r === 0) child.stdin!.write(round(1));
            if (r === 1) {
              // Round 2's COPY is in flight (waiting on a lock) when the server shuts down.
              void blockNextCopy('restart_fail')
                .then(({ copyWaiting }) => {
                  child.stdin!.write(round(2));
                  return copyWaiting;
                })
                .then(() => server.pause())
                .then(() => child.stdin!.write(round(3)))
                .catch((error: unknown) => {
                  failure = error;
                  child.kill();
                });
            }
          });
        },
      },
    );
    if (failure !== undefined) throw failure;
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(result.code).toBe(1);
    const [trace] = errors(messages);
    expect(trace?.trace.error.failure_type).toBe('transient_error');
    expect(trace?.trace.error.message).not.toContain('terminal stream status');
    expect(trace?.trace.error.message).toMatch(/ECONNREFUSED|57P01|connection/);
    // States are echoed in order, a prefix of the rounds sent.
    expect(echoed).toEqual([0, 1]);
    expect(states(messages)).toHaveLength(2);
    const last = 1;

    await server.resume();
    const committed = await ids('restart_fail');
    const covered = (last + 1) * ROUND - 1;
    expect(committed.filter((r) => r.id <= covered)).toHaveLength(covered + 1);

    // The platform's next attempt starts after the last echoed state.
    const rest = Array.from({ length: ROUNDS - last - 1 }, (_, i) => round(last + 1 + i)).join('');
    const resumed = await pgSync(config, streams, `${rest}${lines(status('events', 'COMPLETE'))}`);
    expectSuccess(resumed);
    expectNothingLost(await ids('restart_fail'), covered);
  });

  it('completes when the server is back within the retries', async () => {
    const config = pgConfig(server, { schema: 'restart_ok' });
    const f = writeJsonFiles({ 'config.json': config, 'catalog.json': pgCatalog(streams) });
    let failure: unknown;
    const result = await runCli(
      ['postgres', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
      {
        env: { DESTKIT_POSTGRES_RETRIES: '6', DESTKIT_POSTGRES_RETRY_DELAY_MS: '200' },
        keepStdinOpen: true,
        onStart: (child) => {
          child.stdin!.write(round(0));
          watchStates(child, (r) => {
            if (r === 0) {
              void blockNextCopy('restart_ok')
                .then(({ copyWaiting }) => {
                  child.stdin!.write(round(1));
                  return copyWaiting;
                })
                .then(() => server.pause())
                .then(() => new Promise((resolve) => setTimeout(resolve, 500)))
                .then(() => server.resume())
                .then(() => {
                  child.stdin!.end(
                    `${Array.from({ length: ROUNDS - 2 }, (_, i) => round(i + 2)).join('')}${lines(status('events', 'COMPLETE'))}`,
                  );
                })
                .catch((error: unknown) => {
                  failure = error;
                  child.kill();
                });
            }
          });
        },
      },
    );
    if (failure !== undefined) throw failure;
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(errors(messages)).toEqual([]);
    expect(result.code).toBe(0);
    expect(states(messages).map((m) => m.state.stream.stream_state.round)).toEqual([0, 1, 2, 3, 4]);
    // The interrupted COPY was retried (terminated by the shutdown, then refused until the restart).
    expect(result.stderr).toMatch(/57P01|Connection terminated/);
    expect(result.stderr).toContain('retrying');
    expectNothingLost(await ids('restart_ok'), ROUND * ROUNDS);
  });
});
