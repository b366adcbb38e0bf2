/**
 * Bench scenario `duckdb`: the DuckDB connector against DuckDB loading the same records itself.
 *
 * - baseline: the input's records' `data` objects, written in setup (outside the timing) as one
 *   NDJSON file per stream, loaded by a node child with `@duckdb/node-api`:
 *   `CREATE TABLE … AS SELECT * FROM read_ndjson_auto(file)` per stream, then the database is
 *   closed (checkpointed). That is DuckDB's own parallel JSON ingest: no protocol, no meta
 *   columns, no per-record typing in JavaScript.
 * - candidate: `destkit duckdb write` on the protocol messages (checked by the bench: exit code,
 *   states echoed, records persisted), then the row count is checked in the file.
 * Each run starts from a missing database file (deleted before the run, outside the timing).
 *
 * This file is also the baseline's child script: `node duckdb.js --ndjson-baseline <json>`.
 */
import { createReadStream, createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BenchContext, BenchScenario, RunResult } from '../scenario.js';

const SCRIPT = fileURLToPath(import.meta.url);
const BASELINE_FLAG = '--ndjson-baseline';

interface BaselineArgs {
  readonly dbPath: string;
  /** One NDJSON file of `data` objects per stream. */
  readonly files: readonly { readonly table: string; readonly path: string }[];
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

// ------------------------------------------------------------------ the baseline child

async function runBaseline(args: BaselineArgs): Promise<void> {
  const instance = await DuckDBInstance.create(args.dbPath);
  const connection = await instance.connect();
  let rows = 0;
  for (const file of args.files) {
    await connection.run(
      `CREATE TABLE ${quote(file.table)} AS SELECT * FROM read_ndjson_auto(${literal(file.path)})`,
    );
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::BIGINT AS n FROM ${quote(file.table)}`,
    );
    rows += Number(reader.getRowObjectsJS()[0]?.n ?? 0);
  }
  connection.closeSync();
  instance.closeSync();
  process.stdout.write(`rows ${rows}\n`);
}

if (process.argv[2] === BASELINE_FLAG && process.argv[1] === SCRIPT) {
  runBaseline(JSON.parse(process.argv[3] ?? '{}') as BaselineArgs).catch((error: unknown) => {
    process.stderr.write(`ndjson baseline failed: ${String(error)}\n`);
    process.exit(1);
  });
}

// ------------------------------------------------------------------ the scenario

let files: { table: string; path: string }[] = [];

function removeDatabase(path: string): void {
  for (const file of [path, `${path}.wal`]) rmSync(file, { force: true });
}

/** Splits the messages file into one NDJSON file of `data` objects per stream. */
async function writeDataFiles(ctx: BenchContext): Promise<void> {
  const outputs = new Map<string, WriteStream>();
  const lines = createInterface({ input: createReadStream(ctx.input.path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('"RECORD"')) continue;
    const message = JSON.parse(line) as {
      type: string;
      record?: { stream: string; data: unknown };
    };
    if (message.type !== 'RECORD' || message.record === undefined) continue;
    let out = outputs.get(message.record.stream);
    if (out === undefined) {
      const path = join(ctx.tmpDir, `data-${outputs.size}.ndjson`);
      out = createWriteStream(path);
      outputs.set(message.record.stream, out);
      files.push({ table: message.record.stream, path });
    }
    if (!out.write(`${JSON.stringify(message.record.data)}\n`)) {
      await new Promise<void>((resolve) => out?.once('drain', () => resolve()));
    }
  }
  await Promise.all(
    [...outputs.values()].map((out) => new Promise<void>((resolve) => out.end(() => resolve()))),
  );
}

async function countRows(dbPath: string): Promise<number> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const sql = files
      .map((f) => `SELECT count(*)::BIGINT AS n FROM main.${quote(f.table)}`)
      .join(' UNION ALL ');
    const rows = (await connection.runAndReadAll(sql)).getRowObjectsJS();
    connection.closeSync();
    return rows.reduce((sum, r) => sum + Number(r.n ?? 0), 0);
  } finally {
    instance.closeSync();
  }
}

const scenario: BenchScenario = {
  name: 'duckdb',

  async setup(ctx) {
    files = [];
    const probe = await DuckDBInstance.create(':memory:');
    probe.closeSync();
    await writeDataFiles(ctx);
    ctx.log(`duckdb: ${files.length} NDJSON files of data objects written for the baseline`);
  },

  baseline: {
    label: 'DuckDB read_ndjson_auto (same records, data only)',
    async run(ctx): Promise<RunResult> {
      const dbPath = join(ctx.tmpDir, 'baseline.duckdb');
      removeDatabase(dbPath);
      const args: BaselineArgs = { dbPath, files };
      const run = await ctx.runNode(SCRIPT, [BASELINE_FLAG, JSON.stringify(args)]);
      const rows = Number(/rows (\d+)/.exec(run.stdoutTail)?.[1] ?? -1);
      removeDatabase(dbPath);
      const ok = run.exitCode === 0 && rows === ctx.input.records;
      return {
        seconds: run.seconds,
        records: ctx.input.records,
        bytes: ctx.input.bytes,
        ...(run.peakRssKiB === undefined ? {} : { peakRssKiB: run.peakRssKiB }),
        ok,
        ...(ok
          ? {}
          : { detail: `exit ${run.exitCode}, ${rows} rows loaded: ${run.stderrTail.slice(-500)}` }),
      };
    },
  },

  candidate: {
    label: 'destkit duckdb write',
    async run(ctx): Promise<RunResult> {
      const dbPath = join(ctx.tmpDir, 'candidate.duckdb');
      removeDatabase(dbPath);
      const result = await ctx.runConnectorWrite('duckdb', { path: dbPath });
      if (!result.ok) return result;
      const rows = await countRows(dbPath);
      removeDatabase(dbPath);
      return rows === ctx.input.records
        ? result
        : { ...result, ok: false, detail: `${rows} rows in the tables, ${ctx.input.records} sent` };
    },
  },

  async teardown() {
    files = [];
  },
};

export default scenario;
