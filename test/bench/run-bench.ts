/**
 * `npm run bench`: throughput and peak RSS of destkit connectors against a bare JSON-lines loop
 * over the same generated input. Rows run as separate processes, alternating round by round
 * (bare loop, dev-null, jsonl, then every plug-in scenario's baseline and candidate), at least
 * BENCH_RUNS rounds; the table reports medians and is written to test/bench/out/latest.md.
 * A failed run (exit code, TRACE ERROR, wrong STATE or record count) invalidates the table.
 *
 * Two small tables follow: `spec` start-up of destkit and the connector executables against bare
 * `node -e ''`, and the commit → STATE echo latency (lib/startup.ts, lib/state-latency.ts).
 *
 * Environment: BENCH_RECORDS (default 500,000), BENCH_RUNS (5), BENCH_DIR (input and scratch,
 * default <tmp>/destkit-bench), BENCH_SCENARIOS (plug-in names to run, comma-separated, or
 * `none`; default all), BENCH_STREAMS (3), BENCH_STATE_EVERY (10,000), BENCH_RECORD_BYTES (500);
 * BENCH_STARTUP_RUNS (20 runs per command, 0 skips the start-up table); BENCH_LATENCY_GROUPS
 * (50 STATEs, 0 skips the latency table), BENCH_LATENCY_RECORDS (200 records per STATE),
 * BENCH_LATENCY_PAUSE_MS (100).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_KNOBS } from '../../src/config/knobs.js';
import { describeFailure } from './lib/child.js';
import { MutableBenchContext } from './lib/context.js';
import { ensureInput } from './lib/input.js';
import { machineCpuSeconds } from './lib/machine-cpu.js';
import {
  commitLine,
  destkitEnv,
  envInt,
  fixed,
  grouped,
  loadLine,
  machineLine,
  median,
  mib,
} from './lib/report.js';
import {
  checkExitZero,
  checkSpecRun,
  measureStartup,
  renderStartupTable,
  type StartupCommand,
  shebangNodeFlags,
} from './lib/startup.js';
import { percentile, runStateLatency, type StateLatencyResult } from './lib/state-latency.js';
import type { BenchContext, BenchInput, BenchRow, BenchScenario, RunResult } from './scenario.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');
const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const BARE_LOOP = join(HERE, 'bare-loop.js');
const SCENARIO_DIR = join(HERE, 'scenarios');
const OUT_FILE = join(REPO_ROOT, 'test/bench/out/latest.md');
const MIN_RUNS = 5;
const PERSIST_CLOCK_CONNECTOR = join(HERE, 'persist-clock-connector.js');
/** Targets of the start-up and latency tables (issue #8). */
const SPEC_STARTUP_TARGET_MS = 150;
const STATE_LATENCY_TARGET_MS = 50;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** A row of the table with the context it runs in and its results, one per round. */
interface TableRow {
  readonly scenario: string;
  readonly row: BenchRow;
  readonly ctx: MutableBenchContext;
  readonly baseline: TableRow | undefined;
  readonly results: RunResult[];
  /** Busy CPU seconds of the whole machine during each run (machine-cpu.ts), by round. */
  readonly machineCpu: (number | undefined)[];
}

const bareLoop: BenchRow = {
  label: 'bare loop: stdin → split → JSON.parse → count (baseline)',
  async run(ctx: BenchContext): Promise<RunResult> {
    const run = await ctx.runNode(BARE_LOOP, [], { stdinFile: ctx.input.path });
    const result = {
      seconds: run.seconds,
      records: ctx.input.records,
      bytes: ctx.input.bytes,
      ...(run.peakRssKiB === undefined ? {} : { peakRssKiB: run.peakRssKiB }),
    };
    if (run.exitCode !== 0)
      return { ...result, ok: false, detail: describeFailure(run, 'bare loop') };
    const expected = {
      lines: ctx.input.lines,
      records: ctx.input.records,
      states: ctx.input.states,
    };
    let counted: unknown;
    try {
      counted = JSON.parse(run.stdoutTail.trim());
    } catch {
      counted = run.stdoutTail.trim();
    }
    if (JSON.stringify(counted) !== JSON.stringify(expected))
      return {
        ...result,
        ok: false,
        detail: `bare loop counted ${JSON.stringify(counted)}, expected ${JSON.stringify(expected)}`,
      };
    return { ...result, ok: true };
  },
};

const devNull: BenchRow = {
  label: 'destkit dev-null write (silent)',
  run: (ctx) => ctx.runConnectorWrite('dev-null', { mode: 'silent' }),
};

/** dev-null with the input mode that is not the default, so both are measured side by side. */
const OTHER_INPUT_WORKERS = DEFAULT_KNOBS.inputWorkers === 0 ? 1 : 0;
const devNullOtherInput: BenchRow = {
  label: `destkit dev-null write (silent, input_workers=${OTHER_INPUT_WORKERS})`,
  run: (ctx) =>
    ctx.runConnectorWrite(
      'dev-null',
      { mode: 'silent' },
      { env: { DESTKIT_INPUT_WORKERS: String(OTHER_INPUT_WORKERS) } },
    ),
};

const jsonl: BenchRow = {
  label: 'destkit jsonl write (temp dir)',
  async run(ctx: BenchContext): Promise<RunResult> {
    const destination = await mkdtemp(join(ctx.tmpDir, 'jsonl-'));
    try {
      return await ctx.runConnectorWrite('jsonl', { destination_path: destination });
    } finally {
      await rm(destination, { recursive: true, force: true });
    }
  },
};

function isScenario(value: unknown): value is BenchScenario {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<BenchScenario>;
  return (
    typeof s.name === 'string' &&
    typeof s.baseline?.label === 'string' &&
    typeof s.baseline.run === 'function' &&
    typeof s.candidate?.label === 'string' &&
    typeof s.candidate.run === 'function'
  );
}

/** Imports every dist/test/bench/scenarios/*.js; a module that does not load is reported. */
async function loadScenarios(
  filter: ReadonlySet<string> | undefined,
  skipped: string[],
): Promise<BenchScenario[]> {
  if (!existsSync(SCENARIO_DIR)) return [];
  const scenarios: BenchScenario[] = [];
  for (const file of readdirSync(SCENARIO_DIR).sort()) {
    if (!file.endsWith('.js')) continue;
    const name = basename(file, '.js');
    if (filter !== undefined && !filter.has(name)) continue;
    try {
      const module = (await import(pathToFileURL(join(SCENARIO_DIR, file)).href)) as {
        default?: unknown;
        scenario?: unknown;
      };
      const scenario = module.default ?? module.scenario;
      if (!isScenario(scenario))
        throw new Error('the module does not export a BenchScenario (default export)');
      scenarios.push(scenario);
    } catch (error) {
      const why = `${name}: not loaded: ${error instanceof Error ? error.message : String(error)}`;
      log(`skipping scenario ${why}`);
      skipped.push(why);
    }
  }
  return scenarios;
}

function describeInput(input: BenchInput): string {
  return (
    `${grouped(input.records)} records in ${input.streams} streams (~${input.recordBytes} B each), ` +
    `a STATE every ${grouped(input.stateEvery)} records per stream (${input.states} STATE lines), ` +
    `${fixed(input.bytes / 1e6, 1)} MB`
  );
}

function renderTable(rows: readonly TableRow[]): string {
  const lines = [
    '| scenario | row | runs | wall s, median (min–max) | records/s | MB/s | vs baseline | peak RSS MiB, median (max) | machine CPU s (cores), median |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ok = r.results.filter((x) => x.ok);
    if (ok.length === 0) {
      lines.push(`| ${r.scenario} | ${r.row.label} | 0 | — | — | — | — | — | — |`);
      continue;
    }
    const seconds = ok.map((x) => x.seconds);
    const rate = median(ok.map((x) => x.records / x.seconds));
    const mbs = median(ok.map((x) => x.bytes / 1e6 / x.seconds));
    let ratio = '1.00×';
    if (r.baseline !== undefined) {
      const ratios: number[] = [];
      r.results.forEach((x, i) => {
        const b = r.baseline?.results[i];
        if (x.ok && b?.ok === true) ratios.push(b.seconds / x.seconds);
      });
      ratio = `${fixed(median(ratios), 2)}×`;
    }
    const rss = ok.flatMap((x) => (x.peakRssKiB === undefined ? [] : [x.peakRssKiB]));
    const rssText = rss.length === 0 ? '—' : `${mib(median(rss))} (${mib(Math.max(...rss))})`;
    const cpu: number[] = [];
    const cores: number[] = [];
    r.results.forEach((x, i) => {
      const used = r.machineCpu[i];
      if (!x.ok || used === undefined) return;
      cpu.push(used);
      cores.push(used / x.seconds);
    });
    const cpuText =
      cpu.length === 0 ? '—' : `${fixed(median(cpu), 2)} (${fixed(median(cores), 2)})`;
    lines.push(
      `| ${r.scenario} | ${r.row.label} | ${ok.length} | ${fixed(median(seconds), 2)} (${fixed(Math.min(...seconds), 2)}–${fixed(Math.max(...seconds), 2)}) | ` +
        `${grouped(rate)} | ${fixed(mbs, 1)} | ${ratio} | ${rssText} | ${cpuText} |`,
    );
  }
  return lines.join('\n');
}

const NODE_REFERENCE: StartupCommand = {
  label: "node -e ''",
  nodeArgs: ['-e', ''],
  check: checkExitZero,
};

/**
 * `spec` of destkit and of every built connector executable, with their shebang's node flags:
 * the installed executables (`bin`), i.e. the CommonJS launchers `main.cjs`.
 */
function startupCommands(): StartupCommand[] {
  const cli = join(REPO_ROOT, 'dist/src/cli/main.cjs');
  const cliFlags = shebangNodeFlags(cli);
  const commands: StartupCommand[] = ['dev-null', 'duckdb'].map((name) => ({
    label: `destkit ${name} spec`,
    nodeArgs: [...cliFlags, cli, name, 'spec'],
    check: checkSpecRun,
  }));
  const connectorsDir = join(REPO_ROOT, 'dist/connectors');
  for (const dir of readdirSync(connectorsDir).sort()) {
    const main = join(connectorsDir, dir, 'main.cjs');
    if (!existsSync(main)) continue;
    commands.push({
      label: `${dir} spec`,
      nodeArgs: [...shebangNodeFlags(main), main, 'spec'],
      check: checkSpecRun,
    });
  }
  return commands;
}

function renderLatencyTable(result: StateLatencyResult): string {
  const l = result.latencies;
  const p95 = percentile(l, 95);
  const verdict = !result.ok ? 'FAILED' : p95 <= STATE_LATENCY_TARGET_MS ? 'yes' : '**no**';
  return [
    `| row | STATEs | median ms | p95 ms | max ms | p95 ≤ ${STATE_LATENCY_TARGET_MS} ms |`,
    '|---|---:|---:|---:|---:|---|',
    `| end of the processBatch that persisted a STATE's records → the STATE line read from stdout | ` +
      `${l.length} | ${fixed(median(l), 1)} | ${fixed(p95, 1)} | ${fixed(Math.max(...l), 1)} | ${verdict} |`,
  ].join('\n');
}

async function main(): Promise<number> {
  const records = envInt('BENCH_RECORDS', 500_000);
  const runs = envInt('BENCH_RUNS', MIN_RUNS);
  const benchDir = resolve(process.env.BENCH_DIR ?? join(tmpdir(), 'destkit-bench'));
  const only = process.env.BENCH_SCENARIOS?.trim();
  const filter =
    only === undefined || only === ''
      ? undefined
      : new Set(only === 'none' ? [] : only.split(',').map((s) => s.trim()));
  const startupRuns = envInt('BENCH_STARTUP_RUNS', 20, 0);
  const latencyParams = {
    groups: envInt('BENCH_LATENCY_GROUPS', 50, 0),
    recordsPerState: envInt('BENCH_LATENCY_RECORDS', 200),
    recordBytes: 500,
    pauseMs: envInt('BENCH_LATENCY_PAUSE_MS', 100, 0),
  };
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

  const startedAt = new Date();
  const loadAtStart = loadLine();
  const input = await ensureInput(
    CLI,
    benchDir,
    {
      records,
      streams: envInt('BENCH_STREAMS', 3),
      stateEvery: envInt('BENCH_STATE_EVERY', 10_000),
      recordBytes: envInt('BENCH_RECORD_BYTES', 500),
    },
    log,
  );
  const runDir = await mkdtemp(join(benchDir, 'run-'));
  const skipped: string[] = [];
  const failures: string[] = [];
  const rows: TableRow[] = [];
  const active: { scenario: BenchScenario; ctx: MutableBenchContext }[] = [];
  let startup: Awaited<ReturnType<typeof measureStartup>> | undefined;
  let latency: StateLatencyResult | undefined;

  try {
    const coreDir = join(runDir, 'core');
    await mkdir(coreDir);
    const core = new MutableBenchContext(input, REPO_ROOT, CLI, coreDir);
    const bare: TableRow = {
      scenario: 'core',
      row: bareLoop,
      ctx: core,
      baseline: undefined,
      results: [],
      machineCpu: [],
    };
    rows.push(bare);
    for (const row of [devNull, devNullOtherInput, jsonl])
      rows.push({ scenario: 'core', row, ctx: core, baseline: bare, results: [], machineCpu: [] });

    for (const scenario of await loadScenarios(filter, skipped)) {
      const dir = join(runDir, scenario.name.replace(/[^\w.-]/g, '_'));
      await mkdir(dir);
      const ctx = new MutableBenchContext(input, REPO_ROOT, CLI, dir);
      try {
        log(`setting up scenario ${scenario.name}`);
        await scenario.setup?.(ctx);
      } catch (error) {
        const why = `${scenario.name}: setup failed: ${error instanceof Error ? error.message : String(error)}`;
        log(`skipping scenario ${why}`);
        skipped.push(why);
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      active.push({ scenario, ctx });
      const baseline: TableRow = {
        scenario: scenario.name,
        row: scenario.baseline,
        ctx,
        baseline: undefined,
        results: [],
        machineCpu: [],
      };
      rows.push(baseline, {
        scenario: scenario.name,
        row: scenario.candidate,
        ctx,
        baseline,
        results: [],
        machineCpu: [],
      });
    }

    rounds: for (let round = 0; round < runs; round++) {
      for (const r of rows) {
        r.ctx.round = round;
        let result: RunResult;
        const cpuBefore = machineCpuSeconds();
        try {
          result = await r.row.run(r.ctx);
        } catch (error) {
          result = {
            seconds: Number.NaN,
            records: 0,
            bytes: 0,
            ok: false,
            detail: error instanceof Error ? error.message : String(error),
          };
        }
        r.results.push(result);
        const cpuAfter = machineCpuSeconds();
        r.machineCpu.push(
          cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
        );
        log(
          `round ${round + 1}/${runs} ${r.scenario} / ${r.row.label}: ${fixed(result.seconds, 2)} s, ` +
            `peak RSS ${mib(result.peakRssKiB)} MiB${result.ok ? '' : ` FAILED: ${result.detail ?? ''}`}`,
        );
        if (!result.ok) {
          failures.push(
            `round ${round + 1}, ${r.scenario} / ${r.row.label}: ${result.detail ?? 'failed'}`,
          );
          break rounds;
        }
      }
    }

    if (startupRuns > 0) {
      log(`spec start-up: ${startupRuns} runs per command, alternating`);
      startup = await measureStartup(
        NODE_REFERENCE,
        startupCommands(),
        startupRuns,
        REPO_ROOT,
        log,
      );
      for (const r of [startup.reference, ...startup.rows])
        if (r.failure !== undefined) failures.push(`start-up ${r.failure}`);
    }
    if (latencyParams.groups > 0) {
      const dir = join(runDir, 'latency');
      await mkdir(dir);
      log(
        `STATE echo latency: ${latencyParams.groups} groups of ${latencyParams.recordsPerState} records`,
      );
      latency = await runStateLatency({
        cli: CLI,
        connector: PERSIST_CLOCK_CONNECTOR,
        tmpDir: dir,
        ...latencyParams,
      });
      log(
        `STATE echo latency: median ${fixed(median(latency.latencies), 1)} ms, p95 ${fixed(percentile(latency.latencies, 95), 1)} ms` +
          `${latency.ok ? '' : ` FAILED: ${latency.detail ?? ''}`}`,
      );
      if (!latency.ok) failures.push(`STATE echo latency: ${latency.detail ?? 'failed'}`);
    }
  } finally {
    for (const { scenario, ctx } of active) {
      ctx.round = -1;
      try {
        await scenario.teardown?.(ctx);
      } catch (error) {
        log(
          `teardown of ${scenario.name} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    await rm(runDir, { recursive: true, force: true });
  }

  const notes: string[] = [];
  if (failures.length > 0) notes.push(`**INVALID: a run failed** — ${failures.join('; ')}`);
  if (runs < MIN_RUNS)
    notes.push(`**only ${runs} round(s)** (fewer than ${MIN_RUNS}): not for quoting`);
  for (const s of skipped) notes.push(`skipped scenario ${s}`);
  const env = destkitEnv();
  const text = [
    `## destkit bench, ${startedAt.toISOString()}`,
    '',
    `- ${commitLine(REPO_ROOT)}`,
    `- machine: ${machineLine()}`,
    `- load average (1/5/15 min): ${loadAtStart} at start, ${loadLine()} at end`,
    `- input: ${describeInput(input)}, on stdin from a file`,
    `- ${runs} alternating rounds (each row once per round, as a child process), medians over rounds; ` +
      'ratio = median over rounds of baseline seconds / row seconds (higher is faster; 1.00× is the baseline)',
    `- DESTKIT_* environment: ${env.length === 0 ? 'none (default knobs)' : env.join(' ')}`,
    '',
    renderTable(rows),
    ...(notes.length === 0 ? [] : ['', ...notes.map((n) => `- ${n}`)]),
    ...(startup === undefined
      ? []
      : [
          '',
          '### spec start-up',
          '',
          `- each command ${startupRuns} times as a child process, commands alternating run by run; wall = spawn to exit as the bench sees it; ` +
            "destkit and the connector executables run with their shebang's node flags; the reference is bare `node -e ''` in the same runs",
          '',
          renderStartupTable(startup.reference, startup.rows, SPEC_STARTUP_TARGET_MS),
        ]),
    ...(latency === undefined
      ? []
      : [
          '',
          '### commit → STATE echo latency',
          '',
          `- \`destkit dist/test/bench/persist-clock-connector.js write\`: one stream, ${latencyParams.groups} groups of ` +
            `${grouped(latencyParams.recordsPerState)} records (${latencyParams.recordBytes} B) each followed by a STATE, ` +
            `${latencyParams.pauseMs} ms pause after each group; a batch holds one group's records (batch_size_bytes), ` +
            'other knobs default but flush_window_ms 1000 (a fallback); the connector notes the end of each `processBatch` (COMPLETE), ' +
            'the bench when each STATE line arrives (epoch ms in both processes); the final STATE of the stream is not counted',
          '',
          renderLatencyTable(latency),
        ]),
    '',
  ].join('\n');
  process.stdout.write(`${text}\n`);
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, text);
  log(`table written to ${OUT_FILE}`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
