/** Helpers of the DuckDB connector tests: catalogs with schemas, syncs through the CLI, queries. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { type CliResult, runCli, writeJsonFiles } from '../../helpers/run-cli.js';

export type Message = Record<string, any>;
export type Row = Record<string, any>;

export const DUCKDB_MAIN = fileURLToPath(
  new URL('../../../dist/connectors/destination-duckdb/main.cjs', import.meta.url),
);

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'destkit-duckdb-'));
}

/** A database file path in a fresh temp dir. */
export function tempDb(): string {
  return join(tempDir(), 'test.duckdb');
}

export interface StreamSpec {
  name: string;
  namespace?: string;
  /** JSON schema `properties`; default `{id: integer}`. */
  properties?: Record<string, unknown>;
  mode?: 'append' | 'append_dedup' | 'overwrite' | 'update';
  pk?: string[][];
  cursor?: string[];
  gen?: number;
  minGen?: number;
  syncId?: number;
}

export function catalogOf(streams: StreamSpec[]) {
  return {
    streams: streams.map((s) => ({
      stream: {
        name: s.name,
        ...(s.namespace !== undefined ? { namespace: s.namespace } : {}),
        json_schema: { type: 'object', properties: s.properties ?? { id: { type: 'integer' } } },
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: s.mode ?? 'append',
      ...(s.pk ? { primary_key: s.pk } : {}),
      ...(s.cursor ? { cursor_field: s.cursor } : {}),
      ...(s.gen !== undefined
        ? { generation_id: s.gen, minimum_generation_id: s.minGen ?? 0, sync_id: s.syncId ?? 1 }
        : {}),
    })),
  };
}

export interface SyncResult extends CliResult {
  messages: Message[];
}

/** One `duckdb write` into `path`; every stdout line must be a valid protocol message. */
export async function sync(
  config: Record<string, unknown>,
  streams: StreamSpec[],
  input: string,
): Promise<SyncResult> {
  const f = writeJsonFiles({ 'config.json': config, 'catalog.json': catalogOf(streams) });
  const result = await runCli(
    ['duckdb', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
    { stdin: input },
  );
  return { ...result, messages: parseProtocolOutput(result.stdout) as Message[] };
}

/** Runs `duckdb check`; returns the connection status. */
export async function check(config: Record<string, unknown>): Promise<Message> {
  const f = writeJsonFiles({ 'config.json': config });
  const result = await runCli(['duckdb', 'check', '--config', f['config.json']!]);
  expect(result.code, result.stderr).toBe(0);
  const messages = parseProtocolOutput(result.stdout) as Message[];
  expect(messages.map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
  return messages[0]!.connectionStatus;
}

/** Rows of a query on the database file (opened read-only, closed after), JSON-friendly. */
export async function query(path: string, sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    try {
      await connection.run("SET TimeZone = 'UTC'");
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Row[];
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** `schema.table` names of the user tables of the database. */
export async function tables(path: string): Promise<string[]> {
  const rows = await query(
    path,
    'SELECT schema_name, table_name FROM duckdb_tables() ORDER BY schema_name, table_name',
  );
  return rows.map((r) => `${r.schema_name}.${r.table_name}`);
}

export function errors(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
}

export function states(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'STATE');
}

/** A record with a chosen emitted_at. */
export function recordAt(
  stream: string,
  data: Record<string, unknown>,
  emittedAt: number,
  namespace?: string,
) {
  return {
    type: 'RECORD',
    record: { stream, data, emitted_at: emittedAt, ...(namespace ? { namespace } : {}) },
  };
}

/** `"a"` quoted for SQL in tests. */
export function q(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
