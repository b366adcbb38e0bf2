/**
 * spec and check of the PostgreSQL connector, and how connection problems surface: a real
 * server started by this file, the built CLI as a child process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedPostgresServer,
  freePort,
  startEmbeddedPostgres,
} from '../../helpers/embedded-postgres.js';
import { record, status } from '../../helpers/messages.js';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { lines, runCli } from '../../helpers/run-cli.js';
import { errors, type Message, pgCheck, pgConfig, pgSync, tablesOf } from './postgres-harness.js';

let server: EmbeddedPostgresServer;

beforeAll(async () => {
  server = await startEmbeddedPostgres();
});

afterAll(async () => {
  await server?.stop();
});

describe('postgres spec', () => {
  it('is listed by destkit connectors and prints one valid SPEC', async () => {
    const listed = await runCli(['connectors']);
    expect(listed.stdout).toMatch(/^postgres\s/m);
    const result = await runCli(['postgres', 'spec']);
    expect(result.code).toBe(0);
    const messages = parseProtocolOutput(result.stdout) as Message[];
    expect(messages.map((m) => m.type)).toEqual(['SPEC']);
    const spec = messages[0]!.spec.connectionSpecification;
    expect(spec.required).toEqual(['host', 'database', 'username']);
    expect(spec.properties.password.airbyte_secret).toBe(true);
    expect(spec.properties.ssl_mode.enum).toEqual([
      'disable',
      'require',
      'verify-ca',
      'verify-full',
    ]);
  });
});

describe('postgres check', () => {
  it('succeeds, creates the missing schema and leaves no probe table', async () => {
    const { status: s } = await pgCheck(pgConfig(server, { schema: 'check_ok' }));
    expect(s).toEqual({ status: 'SUCCEEDED' });
    expect(await tablesOf(server, 'check_ok')).toEqual([]);
  });

  it('fails naming the problem, never the password, when the password is wrong', async () => {
    const password = 'Wr0ng-Pa$$word/with:url%chars';
    const config = pgConfig(server, { password });
    const { status: s, result } = await pgCheck(config);
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('28P01');
    expect(s.message).toContain('password');
    expect(s.message).toContain(`user "${server.user}"`);
    const sync = await pgSync(
      config,
      [{ name: 'users' }],
      lines(record('users', { id: 1 }), status('users', 'COMPLETE')),
    );
    expect(sync.code).toBe(1);
    expect(errors(sync.messages)[0]?.trace.error.failure_type).toBe('config_error');
    for (const text of [result.stdout, result.stderr, sync.stdout, sync.stderr]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(encodeURIComponent(password));
    }
  });

  it('fails with a clear message when ssl_mode require meets a server without SSL', async () => {
    const config = pgConfig(server, { ssl_mode: 'require' });
    const { status: s } = await pgCheck(config);
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('does not support SSL');
    expect(s.message).toContain('ssl_mode');
    const sync = await pgSync(
      config,
      [{ name: 'users' }],
      lines(record('users', { id: 1 }), status('users', 'COMPLETE')),
    );
    expect(sync.code).toBe(1);
    const [trace] = errors(sync.messages);
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain('does not support SSL');
  });

  it('requires ssl_ca for verify-ca and verify-full', async () => {
    const { status: s } = await pgCheck(pgConfig(server, { ssl_mode: 'verify-full' }));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('ssl_ca');
  });

  it('fails naming a missing database', async () => {
    const { status: s } = await pgCheck(pgConfig(server, { database: 'no_such_db' }));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('3D000');
    expect(s.message).toContain('does not exist');
  });

  it('fails naming the permission when the user may not create the schema', async () => {
    await server.query("CREATE ROLE limited LOGIN PASSWORD 'limited-pw'");
    const { status: s } = await pgCheck(
      pgConfig(server, { username: 'limited', password: 'limited-pw', schema: 'not_allowed' }),
    );
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('42501');
    expect(s.message).toContain('permission denied');
  });

  it('reports a refused connection as a transient failure after retrying', async () => {
    const port = await freePort();
    const { status: s } = await pgCheck(pgConfig(server, { port }));
    expect(s.status).toBe('FAILED');
    expect(s.message).toContain('ECONNREFUSED');
    expect(s.message).toContain('gave up after 2 attempts');
    const sync = await pgSync(
      pgConfig(server, { port }),
      [{ name: 'users' }],
      lines(record('users', { id: 1 }), status('users', 'COMPLETE')),
    );
    expect(sync.code).toBe(1);
    expect(errors(sync.messages)[0]?.trace.error.failure_type).toBe('transient_error');
  });
});
