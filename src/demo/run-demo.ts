#!/usr/bin/env node
/**
 * The README demo: generates a sample sync (3 streams), loads it into a DuckDB file through the
 * DuckDB connector running as a child process speaking the protocol over pipes, then prints the
 * sync report and a few rows queried back from the file.
 */
import { spawn } from 'node:child_process';
import { Console } from 'node:console';
import { createReadStream, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { renderReportSummary, type SyncReport } from '../pipeline/sync-report.js';
import { writeSampleSync } from './generate-command.js';
import { sampleStreamNames } from './sample-data.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const STREAMS = 3;

const SAMPLE_QUERY =
  "SELECT id, name, amount, created_at, attributes->>'plan' AS plan, _airbyte_meta " +
  'FROM users ORDER BY id LIMIT 3';

async function main(): Promise<number> {
  const dir = resolve('.destkit-demo');
  mkdirSync(dir, { recursive: true });
  const records = Number(process.env.DESTKIT_DEMO_RECORDS ?? 100_000);
  const catalogPath = join(dir, 'catalog.json');
  const messagesPath = join(dir, 'messages.jsonl');
  const configPath = join(dir, 'config.json');
  const outputPath = join(dir, 'output.jsonl');
  const reportPath = join(dir, 'report.json');
  const logPath = join(dir, 'write.log');
  const dbPath = join(dir, 'demo.duckdb');
  // A fresh database each run: the sample streams append.
  for (const file of [dbPath, `${dbPath}.wal`]) rmSync(file, { force: true });
  await writeSampleSync(
    { records, streams: STREAMS, stateEvery: 10_000 },
    catalogPath,
    createWriteStream(messagesPath),
  );
  writeFileSync(configPath, `${JSON.stringify({ path: dbPath }, null, 2)}\n`);
  process.stderr.write(
    `destkit demo: ${records} sample records in ${STREAMS} streams → DuckDB ${relative('.', dbPath)}\n\n`,
  );
  const args = [
    CLI,
    'duckdb',
    'write',
    '--config',
    configPath,
    '--catalog',
    catalogPath,
    '--report',
    reportPath,
  ];
  const started = Date.now();
  const code = await new Promise<number>((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    createReadStream(messagesPath).pipe(child.stdin);
    child.stdout.pipe(createWriteStream(outputPath));
    child.stderr.pipe(createWriteStream(logPath));
    child.on('error', fail);
    child.on('close', (c) => done(c ?? 1));
  });
  const seconds = (Date.now() - started) / 1000;
  try {
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as SyncReport;
    process.stderr.write(renderReportSummary(report));
  } catch {
    process.stderr.write(`destkit demo: no report was written; see the log in ${logPath}\n`);
  }
  process.stderr.write(`\ndestkit demo: exit ${code} in ${seconds.toFixed(2)} s.\n`);
  if (code === 0) await showResult(dbPath);
  process.stderr.write(
    `\nStates echoed: ${outputPath}; connector log: ${logPath}; inputs in ${dir}.\n` +
      `Run it yourself:\n  node ${CLI} duckdb write --config ${configPath} --catalog ${catalogPath} < ${messagesPath}\n` +
      `Query the file (SQL: ${SAMPLE_QUERY}):\n` +
      `  node -e "require('@duckdb/node-api').DuckDBInstance.create('${dbPath}').then(i=>i.connect()).then(c=>c.runAndReadAll(process.argv[1])).then(r=>console.log(r.getRowObjectsJson()))" "SELECT count(*) FROM users"\n`,
  );
  return code;
}

/** The demo talks to people on stderr, like every destkit program; stdout stays for protocol output. */
const toStderr = new Console({ stdout: process.stderr, stderr: process.stderr });

/** Prints the tables' row counts and a few rows, queried from the file. */
async function showResult(dbPath: string): Promise<void> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    const counts = sampleStreamNames(STREAMS)
      .map((name) => `SELECT '${name}' AS "table", count(*) AS "rows" FROM main.${name}`)
      .join(' UNION ALL ');
    process.stderr.write(`\nTables in ${relative('.', dbPath)}:\n`);
    toStderr.table((await connection.runAndReadAll(counts)).getRowObjectsJson());
    process.stderr.write(`${SAMPLE_QUERY}:\n`);
    toStderr.table((await connection.runAndReadAll(SAMPLE_QUERY)).getRowObjectsJson());
    connection.closeSync();
  } finally {
    instance.closeSync();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `destkit demo failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
