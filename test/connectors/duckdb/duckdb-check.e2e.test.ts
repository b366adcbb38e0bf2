/**
 * The DuckDB connector's spec and check as a spawned process (the built CLI) against real
 * database files. Run `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { record, status } from '../../helpers/messages.js';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { lines, runCli } from '../../helpers/run-cli.js';
import {
  check,
  DUCKDB_MAIN,
  errors,
  type Message,
  query,
  sync,
  tables,
  tempDb,
  tempDir,
} from './duckdb-helpers.js';

describe('duckdb spec', { timeout: 120_000 }, () => {
  it('is listed by destkit connectors', async () => {
    const result = await runCli(['connectors']);
    expect(result.stdout).toMatch(/^duckdb\s/m);
  });

  it('prints one valid SPEC with path and schema defaults, also from its own executable', async () => {
    for (const args of [['duckdb', 'spec'], ['spec']]) {
      const result = await runCli(args, args.length === 1 ? { script: DUCKDB_MAIN } : {});
      expect(result.code).toBe(0);
      const messages = parseProtocolOutput(result.stdout) as Message[];
      expect(messages.map((m) => m.type)).toEqual(['SPEC']);
      const properties = messages[0]!.spec.connectionSpecification.properties;
      expect(properties.path.default).toBe('./destkit.duckdb');
      expect(properties.schema.default).toBe('main');
    }
  });
});

describe('duckdb check', { timeout: 120_000 }, () => {
  it('succeeds on a missing file in a missing directory and leaves no probe behind', async () => {
    const path = join(tempDir(), 'a', 'b', 'db.duckdb');
    expect(await check({ path, schema: 'analytics' })).toEqual({ status: 'SUCCEEDED' });
    expect(existsSync(path)).toBe(true);
    expect(await tables(path)).toEqual([]);
    const schemas = await query(
      path,
      'SELECT schema_name FROM duckdb_schemas() WHERE NOT internal',
    );
    expect(schemas.map((s) => s.schema_name)).not.toContain('analytics');
  });

  it('succeeds with the defaults, creating ./destkit.duckdb in the working directory', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), '{}');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [DUCKDB_MAIN, 'check', '--config', 'config.json'],
        { cwd: dir },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
    });
    expect((parseProtocolOutput(stdout)[0] as Message).connectionStatus).toEqual({
      status: 'SUCCEEDED',
    });
    expect(existsSync(join(dir, 'destkit.duckdb'))).toBe(true);
  });

  it('fails naming the path when it lies under a regular file', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'file'), 'x');
    const path = join(base, 'file', 'db.duckdb');
    const status = await check({ path });
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(path);
  });

  it('fails naming the path when the file is not a DuckDB database', async () => {
    const path = join(tempDir(), 'not.duckdb');
    writeFileSync(path, 'hello, I am not a database\n'.repeat(1000));
    const status = await check({ path });
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(path);
    expect(status.message).toContain('not a valid DuckDB database');
  });

  it('fails naming the path when the path is a directory', async () => {
    const path = tempDir();
    const status = await check({ path });
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(path);
  });

  it('refuses :memory:, where nothing would persist', async () => {
    const status = await check({ path: ':memory:' });
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain(':memory:');
  });

  it('fails saying so when another process holds the file', async () => {
    const path = tempDb();
    const instance = await DuckDBInstance.create(path);
    try {
      const status = await check({ path });
      expect(status.status).toBe('FAILED');
      expect(status.message).toContain(path);
      expect(status.message).toContain('locked by another process');
    } finally {
      instance.closeSync();
    }
  });

  it.skipIf(process.getuid?.() === 0)(
    'fails naming the path when the directory is not writable',
    async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'ro'));
      chmodSync(join(dir, 'ro'), 0o500);
      try {
        const path = join(dir, 'ro', 'db.duckdb');
        const status = await check({ path });
        expect(status.status).toBe('FAILED');
        expect(status.message).toContain(path);
      } finally {
        chmodSync(join(dir, 'ro'), 0o700);
      }
    },
  );
});

describe('duckdb write, unusable configs', { timeout: 120_000 }, () => {
  it('fails a write into a path under a regular file with config_error naming it', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'file'), 'x');
    const path = join(base, 'file', 'db.duckdb');
    const result = await sync({ path }, [{ name: 'users' }], lines(status('users', 'COMPLETE')));
    expect(result.code).toBe(1);
    const [trace] = errors(result.messages);
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain(path);
  });

  it('refuses to write to :memory: with config_error', async () => {
    const result = await sync(
      { path: ':memory:' },
      [{ name: 'users' }],
      lines(record('users', { id: 1 }), status('users', 'COMPLETE')),
    );
    expect(result.code).toBe(1);
    const [trace] = errors(result.messages);
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain(':memory:');
  });

  it('fails with config_error, saying so, when another process holds the file', async () => {
    const path = tempDb();
    const instance = await DuckDBInstance.create(path);
    try {
      const result = await sync(
        { path },
        [{ name: 'users' }],
        lines(record('users', { id: 1 }), status('users', 'COMPLETE')),
      );
      expect(result.code).toBe(1);
      const [trace] = errors(result.messages);
      expect(trace?.trace.error.failure_type).toBe('config_error');
      expect(trace?.trace.error.message).toContain('locked by another process');
    } finally {
      instance.closeSync();
    }
  });

  it('refuses update and soft_delete with config_error', async () => {
    const path = tempDb();
    const result = await sync(
      { path },
      [{ name: 'users', mode: 'update', pk: [['id']] }],
      lines(record('users', { id: 1 }), status('users', 'COMPLETE')),
    );
    expect(result.code).toBe(1);
    expect(errors(result.messages)[0]?.trace.error.failure_type).toBe('config_error');
  });
});
