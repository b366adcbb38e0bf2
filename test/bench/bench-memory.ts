/**
 * `npm run bench:memory`: peak RSS of dev-null under a small explicit memory budget, with the
 * input streamed from `destkit generate` straight into the connector's stdin (no input file).
 *
 * 1. Growth: an unthrottled (silent) dev-null over 1× and FACTOR× the base input size, ROUNDS
 *    times each, alternating; target: the median peak RSS grows by at most 10 % from 1× to
 *    FACTOR× (a single run's peak RSS moves by a MiB or two from run to run).
 * 2. Throttled: ~2 GiB into `{"mode":"throttled","millis_per_batch":N}`; target: peak RSS below
 *    the memory budget + 100 MiB.
 * Each run must exit 0, echo every STATE the generator produced and persist every record.
 *
 * Environment: BENCH_MEMORY_INPUT_MIB (2048), BENCH_MEMORY_BUDGET_MIB (64),
 * BENCH_MEMORY_BATCH_MIB (8), BENCH_MEMORY_THROTTLE_MS (1000), BENCH_GROWTH_BASE_MIB (100),
 * BENCH_GROWTH_FACTOR (10), BENCH_GROWTH_ROUNDS (3), BENCH_DIR (scratch, default
 * <tmp>/destkit-bench).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describeFailure, runNode } from './lib/child.js';
import { shebangNodeFlags } from './lib/startup.js';

/**
 * Node flags the connector runs with: runNode applies those of the executable's shebang (a
 * 4 MiB young-generation semi-space; V8's default 16 MiB holds ~30 MiB of JSON garbage).
 * BENCH_CONNECTOR_NODE_FLAGS adds more (e.g. `--max-semi-space-size=16` to compare).
 */
const CONNECTOR_NODE_FLAGS = (process.env.BENCH_CONNECTOR_NODE_FLAGS ?? '')
  .split(' ')
  .filter((f) => f.length > 0);

import {
  commitLine,
  destkitEnv,
  envInt,
  fixed,
  grouped,
  loadLine,
  MiB,
  machineLine,
  mib,
} from './lib/report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');
const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const OUT_FILE = join(REPO_ROOT, 'test/bench/out/memory.md');
/** Bytes of one generated RECORD line with its newline (`--record-bytes 500`). */
const LINE_BYTES = 501;
const RSS_ALLOWANCE_MIB = 100;
const GROWTH_TARGET = 0.1;

function log(message: string): void {
  process.stderr.write(`bench:memory: ${message}\n`);
}

/** Passes bytes through, counting them and the lines that start a STATE message. */
class MessageCounter extends Transform {
  static readonly #PATTERN = Buffer.from('\n{"type":"STATE"');
  bytes = 0;
  states = 0;
  #carry = Buffer.from('\n');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const pattern = MessageCounter.#PATTERN;
    const buffer = Buffer.concat([this.#carry, chunk]);
    for (let at = buffer.indexOf(pattern); at !== -1; at = buffer.indexOf(pattern, at + 1))
      this.states++;
    this.#carry = buffer.subarray(Math.max(0, buffer.length - (pattern.length - 1)));
    callback(null, chunk);
  }
}

interface MemoryRun {
  readonly label: string;
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly peakRssKiB: number | undefined;
  readonly budgetHighWater: number | undefined;
  readonly budgetBlockedMs: number | undefined;
  /** The channel whose producers waited longest for room, with that time. */
  readonly channelBlocked: { readonly name: string; readonly ms: number } | undefined;
  readonly ok: boolean;
  readonly detail: string;
}

interface ReportFile {
  readonly outcome?: string;
  readonly statesEchoed?: number;
  readonly totals?: { readonly recordsPersisted?: number };
  readonly memory?: {
    readonly capacity?: number;
    readonly highWaterMark?: number;
    readonly blockedMs?: number;
  };
  readonly channels?: readonly { readonly name: string; readonly blockedMs: number }[];
}

async function streamedWrite(
  dir: string,
  catalog: string,
  label: string,
  records: number,
  config: Record<string, unknown>,
  env: Record<string, string>,
): Promise<MemoryRun> {
  const configPath = join(dir, 'config.json');
  const reportPath = join(dir, 'report.json');
  await writeFile(configPath, JSON.stringify(config));
  log(`${label}: ${grouped(records)} records…`);
  const generator = spawn(
    process.execPath,
    [
      CLI,
      'generate',
      '--records',
      String(records),
      '--catalog',
      join(dir, 'generated-catalog.json'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const generatorDone = new Promise<number | null>((done) => generator.on('close', done));
  const counter = new MessageCounter();
  const run = await runNode(
    CLI,
    ['dev-null', 'write', '--config', configPath, '--catalog', catalog, '--report', reportPath],
    {
      env,
      nodeFlags: CONNECTOR_NODE_FLAGS,
      feedStdin: (stdin) => {
        generator.stdout.pipe(counter).pipe(stdin);
      },
    },
  );
  if (run.exitCode !== 0) generator.kill();
  const generatorCode = await generatorDone;
  let report: ReportFile = {};
  try {
    report = JSON.parse(await readFile(reportPath, 'utf8')) as ReportFile;
  } catch {
    // reported below
  }
  await rm(reportPath, { force: true });
  const persisted = report.totals?.recordsPersisted;
  let detail = '';
  if (run.exitCode !== 0 || run.traceError !== undefined)
    detail = describeFailure(run, 'dev-null write');
  else if (generatorCode !== 0) detail = `destkit generate exited with ${String(generatorCode)}`;
  else if (run.stateLines !== counter.states)
    detail = `echoed ${run.stateLines} STATE lines, the input had ${counter.states}`;
  else if (persisted !== records)
    detail = `the report says ${String(persisted)} records persisted, expected ${records}`;
  else if (run.peakRssKiB === undefined) detail = 'no peak RSS measured';
  const result: MemoryRun = {
    label,
    records,
    bytes: counter.bytes,
    seconds: run.seconds,
    peakRssKiB: run.peakRssKiB,
    budgetHighWater: report.memory?.highWaterMark,
    budgetBlockedMs: report.memory?.blockedMs,
    channelBlocked: (report.channels ?? []).reduce<MemoryRun['channelBlocked']>(
      (worst, c) => (c.blockedMs > (worst?.ms ?? 0) ? { name: c.name, ms: c.blockedMs } : worst),
      undefined,
    ),
    ok: detail === '',
    detail,
  };
  log(
    `${label}: ${fixed(result.seconds, 1)} s, ${fixed(result.bytes / 1e6, 0)} MB, peak RSS ${mib(result.peakRssKiB)} MiB` +
      (result.ok ? '' : `, FAILED: ${detail}`),
  );
  return result;
}

/** The run with the median peak RSS (the lower middle one of an even count); all must be ok. */
function medianRun(runs: readonly MemoryRun[], label: string): MemoryRun {
  const sorted = [...runs].sort(
    (a, b) =>
      (a.peakRssKiB ?? Number.POSITIVE_INFINITY) - (b.peakRssKiB ?? Number.POSITIVE_INFINITY),
  );
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as MemoryRun;
  const failed = runs.find((r) => !r.ok);
  return failed === undefined
    ? { ...median, label }
    : { ...median, label, ok: false, detail: `${failed.label}: ${failed.detail}` };
}

/** Peak RSS of each run, in run order (`100, 102, 101`). */
function peaks(runs: readonly MemoryRun[]): string {
  return runs.map((r) => mib(r.peakRssKiB)).join(', ');
}

function row(r: MemoryRun, knobs: string, verdict: string): string {
  const mbs = r.bytes / 1e6 / r.seconds;
  const highWater = r.budgetHighWater === undefined ? '—' : fixed(r.budgetHighWater / MiB, 1);
  const blocked = r.budgetBlockedMs === undefined ? '—' : fixed(r.budgetBlockedMs / 1000, 1);
  const channel =
    r.channelBlocked === undefined
      ? 'none'
      : `${r.channelBlocked.name} ${fixed(r.channelBlocked.ms / 1000, 1)}`;
  return (
    `| ${r.label} | ${fixed(r.bytes / 1e6, 0)} MB (${grouped(r.records)} records) | ${knobs} | ` +
    `${fixed(r.seconds, 1)} | ${fixed(mbs, 1)} | ${mib(r.peakRssKiB)} | ${highWater} | ${blocked} | ${channel} | ${verdict} |`
  );
}

async function main(): Promise<number> {
  const inputMiB = envInt('BENCH_MEMORY_INPUT_MIB', 2048);
  const budgetMiB = envInt('BENCH_MEMORY_BUDGET_MIB', 64);
  const batchMiB = envInt('BENCH_MEMORY_BATCH_MIB', 8);
  const throttleMs = envInt('BENCH_MEMORY_THROTTLE_MS', 1000, 0);
  const baseMiB = envInt('BENCH_GROWTH_BASE_MIB', 100);
  const factor = envInt('BENCH_GROWTH_FACTOR', 10, 2);
  const rounds = envInt('BENCH_GROWTH_ROUNDS', 3, 1);
  const benchDir = resolve(process.env.BENCH_DIR ?? join(tmpdir(), 'destkit-bench'));
  mkdirSync(benchDir, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadLine();
  const dir = await mkdtemp(join(benchDir, 'memory-'));
  const env = {
    DESTKIT_MEMORY_BUDGET_BYTES: String(budgetMiB * MiB),
    DESTKIT_BATCH_SIZE_BYTES: String(batchMiB * MiB),
  };
  const knobs = `budget ${budgetMiB} MiB, batch ${batchMiB} MiB`;
  const recordsFor = (mebibytes: number) => Math.round((mebibytes * MiB) / LINE_BYTES);
  const lines: string[] = [];
  let failed = false;
  try {
    // The catalog only depends on the stream count: written once, before any connector starts.
    const catalog = join(dir, 'catalog.json');
    const catalogRun = await runNode(CLI, ['generate', '--records', '1', '--catalog', catalog]);
    if (catalogRun.exitCode !== 0) throw new Error(describeFailure(catalogRun, 'destkit generate'));

    const smalls: MemoryRun[] = [];
    const larges: MemoryRun[] = [];
    for (let round = 1; round <= rounds; round++) {
      const of = rounds > 1 ? ` (round ${round}/${rounds})` : '';
      smalls.push(
        await streamedWrite(
          dir,
          catalog,
          `dev-null silent, 1×${of}`,
          recordsFor(baseMiB),
          { mode: 'silent' },
          env,
        ),
      );
      larges.push(
        await streamedWrite(
          dir,
          catalog,
          `dev-null silent, ${factor}×${of}`,
          recordsFor(baseMiB * factor),
          { mode: 'silent' },
          env,
        ),
      );
    }
    const median = rounds > 1 ? `, median of ${rounds}` : '';
    const small = medianRun(smalls, `dev-null silent, 1×${median}`);
    const large = medianRun(larges, `dev-null silent, ${factor}×${median}`);
    const throttled = await streamedWrite(
      dir,
      catalog,
      `dev-null throttled (${throttleMs} ms per batch)`,
      recordsFor(inputMiB),
      { mode: 'throttled', millis_per_batch: throttleMs },
      env,
    );

    const limitKiB = (budgetMiB + RSS_ALLOWANCE_MIB) * 1024;
    const throttledPass =
      throttled.ok && (throttled.peakRssKiB ?? Number.POSITIVE_INFINITY) < limitKiB;
    const growth =
      small.peakRssKiB !== undefined && large.peakRssKiB !== undefined
        ? large.peakRssKiB / small.peakRssKiB - 1
        : Number.NaN;
    const growthPass = small.ok && large.ok && growth <= GROWTH_TARGET;
    failed = !throttledPass || !growthPass;
    const sign = growth >= 0 ? '+' : '';
    const growthText = `${sign}${fixed(growth * 100, 1)} %`;

    lines.push(
      `## destkit memory bench, ${startedAt.toISOString()}`,
      '',
      `- ${commitLine(REPO_ROOT)}`,
      `- machine: ${machineLine()}`,
      `- load average (1/5/15 min): ${loadAtStart} at start, ${loadLine()} at end`,
      '- input: `destkit generate` (3 streams, ~500 B records, a STATE every 10,000 records per stream) ' +
        "piped straight into the connector's stdin; peak RSS is the connector process's own (maxRSS)",
      `- node flags of the connector: ${[...shebangNodeFlags(CLI), ...CONNECTOR_NODE_FLAGS].join(' ') || '(none)'} (the executable's shebang${CONNECTOR_NODE_FLAGS.length > 0 ? ' plus BENCH_CONNECTOR_NODE_FLAGS' : ''}; see docs/memory.md)\n` +
        `- knobs: DESTKIT_MEMORY_BUDGET_BYTES=${budgetMiB * MiB}, DESTKIT_BATCH_SIZE_BYTES=${batchMiB * MiB}` +
        (destkitEnv().length > 0 ? `; inherited: ${destkitEnv().join(' ')}` : ''),
      '',
      '| run | input | knobs | wall s | MB/s | peak RSS MiB | budget high-water MiB | budget blocked s | most blocked channel, s | result |',
      '|---|---:|---|---:|---:|---:|---:|---:|---|---|',
      row(
        small,
        knobs,
        small.ok ? `ok; peak RSS per round: ${peaks(smalls)} MiB` : `FAILED: ${small.detail}`,
      ),
      row(
        large,
        knobs,
        large.ok
          ? `RSS growth from 1× (medians): ${growthText} (target ≤ +${GROWTH_TARGET * 100} %): ${growthPass ? 'PASS' : 'FAIL'}; peak RSS per round: ${peaks(larges)} MiB`
          : `FAILED: ${large.detail}`,
      ),
      row(
        throttled,
        knobs,
        throttled.ok
          ? `peak RSS ${mib(throttled.peakRssKiB)} MiB vs budget + ${RSS_ALLOWANCE_MIB} MiB = ${budgetMiB + RSS_ALLOWANCE_MIB} MiB: ${throttledPass ? 'PASS' : 'FAIL'}`
          : `FAILED: ${throttled.detail}`,
      ),
      '',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, text);
  log(`table written to ${OUT_FILE}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench:memory: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
