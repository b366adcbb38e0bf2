/**
 * Bench scenario `postgres`: the PostgreSQL connector against plain COPY of the same rows, on
 * one embedded PostgreSQL server (fsync on) started in setup.
 *
 * - baseline: the input's records pre-rendered in setup (outside the timing) as one CSV file
 *   per stream, with the same columns and values the connector writes (meta columns included),
 *   loaded by a node child with pg-copy-streams: `COPY … FROM STDIN (FORMAT csv)`, one
 *   connection per stream, all at once. That is the server's ingest speed with no parsing,
 *   typing or encoding on the client side.
 * - candidate: `destkit postgres write` on the protocol messages (checked by the bench: exit
 *   code, states echoed, records persisted), then the row count is checked in the database.
 * Both write into a schema that is dropped before and after each run, outside the timing.
 *
 * This file is also the baseline's child script: `node postgres.js --copy-baseline <json>`.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pgTypeOf } from '../../../connectors/destination-postgres/postgres-types.js';
import { jsonSchemaToType } from '../../../src/schema/index.js';
import type { EmbeddedPostgresServer } from '../../helpers/embedded-postgres.js';
import type { BenchContext, BenchScenario, RunResult } from '../scenario.js';

const SCRIPT = fileURLToPath(import.meta.url);
const BASELINE_FLAG = '--copy-baseline';
const BASELINE_SCHEMA = 'bench_baseline';
const CANDIDATE_SCHEMA = 'bench_candidate';

interface Connection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

interface TablePlan {
  readonly table: string;
  readonly csvPath: string;
  /** `"name" type` definitions, meta columns first. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

/** What the baseline child gets as its one argument. */
interface BaselineArgs {
  readonly connection: Connection;
  readonly schema: string;
  readonly tables: readonly TablePlan[];
}

const META_COLUMNS = [
  { name: '_airbyte_raw_id', type: 'uuid' },
  { name: '_airbyte_extracted_at', type: 'timestamp with time zone' },
  { name: '_airbyte_meta', type: 'jsonb' },
  { name: '_airbyte_generation_id', type: 'bigint' },
];

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** One CSV field: NULL is an unquoted empty field, everything else quoted when needed. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text === '' || /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// ------------------------------------------------------------------ the baseline child

async function runBaseline(args: BaselineArgs): Promise<void> {
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ ...args.connection });
    await client.connect();
    return client;
  };
  const admin = await connect();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${quote(args.schema)}`);
  for (const plan of args.tables) {
    const list = plan.columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ');
    await admin.query(`CREATE TABLE ${quote(args.schema)}.${quote(plan.table)} (${list})`);
  }
  const loaded = await Promise.all(
    args.tables.map(async (plan) => {
      const client = await connect();
      try {
        const columns = plan.columns.map((c) => quote(c.name)).join(', ');
        const copy = client.query(
          copyFrom(
            `COPY ${quote(args.schema)}.${quote(plan.table)} (${columns}) FROM STDIN WITH (FORMAT csv)`,
          ),
        );
        await pipeline(createReadStream(plan.csvPath, { highWaterMark: 1 << 20 }), copy);
        return copy.rowCount;
      } finally {
        await client.end();
      }
    }),
  );
  await admin.end();
  process.stdout.write(`${JSON.stringify({ rows: loaded.reduce((a, b) => a + b, 0) })}\n`);
}

if (process.argv[2] === BASELINE_FLAG && process.argv[1] === SCRIPT) {
  runBaseline(JSON.parse(process.argv[3] ?? '{}') as BaselineArgs).catch((error: unknown) => {
    process.stderr.write(`copy baseline failed: ${String(error)}\n`);
    process.exit(1);
  });
}

// ------------------------------------------------------------------ the scenario

let server: EmbeddedPostgresServer | undefined;
let plans: TablePlan[] = [];

function connection(): Connection {
  if (server === undefined) throw new Error('the postgres bench server is not running');
  const { host, port, user, password, database } = server;
  return { host, port, user, password, database };
}

async function dropSchemas(): Promise<void> {
  await server?.query(
    `DROP SCHEMA IF EXISTS ${BASELINE_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS ${CANDIDATE_SCHEMA} CASCADE`,
  );
}

async function rowCount(schema: string): Promise<number> {
  let total = 0;
  for (const plan of plans) {
    const rows = await server!.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${quote(schema)}.${quote(plan.table)}`,
    );
    total += rows[0]?.n ?? 0;
  }
  return total;
}

interface CatalogFile {
  streams: { stream: { name: string; json_schema: { properties?: Record<string, unknown> } } }[];
}

/** Writes one CSV per stream with the rows the connector would write (outside the timing). */
async function renderCsv(ctx: BenchContext): Promise<TablePlan[]> {
  const { readFile } = await import('node:fs/promises');
  const catalog = JSON.parse(await readFile(ctx.input.catalogPath, 'utf8')) as CatalogFile;
  const byStream = new Map<string, { plan: TablePlan; names: string[]; out: WriteStream }>();
  for (const { stream } of catalog.streams) {
    const properties = stream.json_schema.properties ?? {};
    const names = Object.keys(properties);
    const plan: TablePlan = {
      table: stream.name,
      csvPath: join(ctx.tmpDir, `${stream.name}.csv`),
      columns: [
        ...META_COLUMNS,
        ...names.map((name) => ({ name, type: pgTypeOf(jsonSchemaToType(properties[name])) })),
      ],
    };
    byStream.set(stream.name, { plan, names, out: createWriteStream(plan.csvPath) });
  }
  const lines = createInterface({ input: createReadStream(ctx.input.path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.startsWith('{"type":"RECORD"')) continue;
    const { record } = JSON.parse(line) as {
      record: { stream: string; emitted_at: number; data: Record<string, unknown> };
    };
    const target = byStream.get(record.stream);
    if (target === undefined) continue;
    const meta = [
      randomUUID(),
      new Date(record.emitted_at).toISOString(),
      csvField({ sync_id: 1, changes: [] }),
      '1',
    ];
    const row = `${[...meta, ...target.names.map((n) => csvField(record.data[n]))].join(',')}\n`;
    if (!target.out.write(row)) {
      await new Promise<void>((resolve) => target.out.once('drain', () => resolve()));
    }
  }
  await Promise.all(
    [...byStream.values()].map(
      ({ out }) =>
        new Promise<void>((resolve, reject) =>
          out.end((e?: Error | null) => (e ? reject(e) : resolve())),
        ),
    ),
  );
  return [...byStream.values()].map((s) => s.plan);
}

const scenario: BenchScenario = {
  name: 'postgres',

  async setup(ctx) {
    const { startEmbeddedPostgres } = await import('../../helpers/embedded-postgres.js');
    server = await startEmbeddedPostgres({ durable: true });
    ctx.log(
      `postgres bench server on ${server.host}:${server.port}; rendering the CSV baseline input`,
    );
    plans = await renderCsv(ctx);
  },

  baseline: {
    label: 'COPY of the same rows pre-rendered as CSV (pg-copy-streams)',
    async run(ctx): Promise<RunResult> {
      await dropSchemas();
      const args: BaselineArgs = {
        connection: connection(),
        schema: BASELINE_SCHEMA,
        tables: plans,
      };
      const run = await ctx.runNode(SCRIPT, [BASELINE_FLAG, JSON.stringify(args)]);
      const result = {
        seconds: run.seconds,
        records: ctx.input.records,
        bytes: ctx.input.bytes,
        ...(run.peakRssKiB === undefined ? {} : { peakRssKiB: run.peakRssKiB }),
      };
      try {
        if (run.exitCode !== 0) {
          return {
            ...result,
            ok: false,
            detail: `copy baseline exited ${run.exitCode}: ${run.stderrTail}`,
          };
        }
        const loaded = await rowCount(BASELINE_SCHEMA);
        return loaded === ctx.input.records
          ? { ...result, ok: true }
          : {
              ...result,
              ok: false,
              detail: `copy baseline loaded ${loaded} rows, expected ${ctx.input.records}`,
            };
      } finally {
        await dropSchemas();
      }
    },
  },

  candidate: {
    label: 'destkit postgres write',
    async run(ctx): Promise<RunResult> {
      await dropSchemas();
      try {
        const { host, port, user, password, database } = connection();
        const result = await ctx.runConnectorWrite('postgres', {
          host,
          port,
          database,
          username: user,
          password,
          schema: CANDIDATE_SCHEMA,
          ssl_mode: 'disable',
        });
        if (!result.ok) return result;
        const loaded = await rowCount(CANDIDATE_SCHEMA);
        return loaded === ctx.input.records
          ? result
          : {
              ...result,
              ok: false,
              detail: `the connector loaded ${loaded} rows, expected ${ctx.input.records}`,
            };
      } finally {
        await dropSchemas();
      }
    },
  },

  async teardown() {
    await server?.stop();
    server = undefined;
  },
};

export default scenario;
