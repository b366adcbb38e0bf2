/**
 * Shared helpers of the PostgreSQL connector tests: configs for an embedded server, catalogs
 * with real JSON schemas, and `write`/`check` runs of the built CLI (`npm run build` first).
 */
import { expect } from 'vitest';
import type { EmbeddedPostgresServer } from '../../helpers/embedded-postgres.js';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { type CliResult, type RunOptions, runCli, writeJsonFiles } from '../../helpers/run-cli.js';

export type Message = Record<string, any>;

/** Fast retries, so that a failure that is retried does not slow the tests down. */
export const FAST_RETRIES = {
  DESTKIT_POSTGRES_RETRIES: '1',
  DESTKIT_POSTGRES_RETRY_DELAY_MS: '50',
};

export function pgConfig(
  server: EmbeddedPostgresServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    host: server.host,
    port: server.port,
    database: server.database,
    username: server.user,
    password: server.password,
    ssl_mode: 'disable',
    ...extra,
  };
}

export interface StreamSpec {
  name: string;
  namespace?: string;
  properties?: Record<string, unknown>;
  mode?: 'append' | 'append_dedup' | 'overwrite';
  pk?: string[][];
  cursor?: string[];
  gen?: number;
  minGen?: number;
}

export function pgCatalog(streams: StreamSpec[]) {
  return {
    streams: streams.map((s) => ({
      stream: {
        name: s.name,
        ...(s.namespace !== undefined ? { namespace: s.namespace } : {}),
        json_schema: {
          type: 'object',
          properties: s.properties ?? { id: { type: 'integer' } },
        },
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: s.mode ?? 'append',
      ...(s.pk ? { primary_key: s.pk } : {}),
      ...(s.cursor ? { cursor_field: s.cursor } : {}),
      ...(s.gen !== undefined
        ? { generation_id: s.gen, minimum_generation_id: s.minGen ?? 0, sync_id: 100 + s.gen }
        : {}),
    })),
  };
}

export interface SyncResult extends CliResult {
  messages: Message[];
}

/** Runs `destkit postgres write`; every stdout line must be a valid protocol message. */
export async function pgSync(
  config: Record<string, unknown>,
  streams: StreamSpec[],
  input: string,
  options: RunOptions = {},
): Promise<SyncResult> {
  const f = writeJsonFiles({ 'config.json': config, 'catalog.json': pgCatalog(streams) });
  const result = await runCli(
    ['postgres', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
    { stdin: input, ...options, env: { ...FAST_RETRIES, ...options.env } },
  );
  return { ...result, messages: parseProtocolOutput(result.stdout) as Message[] };
}

/** Runs `destkit postgres check`; returns the connection status and the raw output. */
export async function pgCheck(
  config: Record<string, unknown>,
): Promise<{ status: Message; result: CliResult }> {
  const f = writeJsonFiles({ 'config.json': config });
  const result = await runCli(['postgres', 'check', '--config', f['config.json']!], {
    env: FAST_RETRIES,
  });
  expect(result.code).toBe(0);
  const messages = parseProtocolOutput(result.stdout) as Message[];
  const status = messages.find((m) => m.type === 'CONNECTION_STATUS');
  expect(status).toBeDefined();
  return { status: status!.connectionStatus, result };
}

export function errors(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
}

export function states(messages: Message[]): Message[] {
  return messages.filter((m) => m.type === 'STATE');
}

/** Fails the test with the connector's own error output when a sync did not succeed. */
export function expectSuccess(result: SyncResult): void {
  if (result.code !== 0) {
    const first = errors(result.messages)[0]?.trace.error;
    throw new Error(
      `sync failed (exit ${result.code}): ${first?.message ?? ''}\n${first?.internal_message ?? ''}\n${result.stderr.slice(-3000)}`,
    );
  }
}

/** `"schema"."table"` for test queries. */
export function tableRef(schema: string, table: string): string {
  return `"${schema.replaceAll('"', '""')}"."${table.replaceAll('"', '""')}"`;
}

/** The columns of a table as `name → format_type`, in table order. */
export async function columnTypes(
  server: EmbeddedPostgresServer,
  schema: string,
  table: string,
): Promise<Record<string, string>> {
  const rows = await server.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

/** Names of the tables of a schema, sorted. */
export async function tablesOf(server: EmbeddedPostgresServer, schema: string): Promise<string[]> {
  const rows = await server.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}
