/**
 * Start-up time of short commands (`spec`): each command runs as a child process, commands
 * alternating run by run, against bare `node -e ''` as the reference. Wall time is spawn to
 * exit as the parent sees it, so the reference carries the same spawn overhead.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fixed, median } from './report.js';

export interface StartupCommand {
  readonly label: string;
  /** Arguments of `node` (flags, script, its arguments). */
  readonly nodeArgs: readonly string[];
  /** Checks a finished run; returns why it is wrong, or undefined. */
  readonly check: (run: StartupRun) => string | undefined;
}

export interface StartupRun {
  readonly ms: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartupResult {
  readonly command: StartupCommand;
  /** Wall milliseconds of the successful runs, in run order. */
  readonly samples: number[];
  /** Row minus reference of the same run, in ms, for the runs where both succeeded. */
  readonly overReference: number[];
  failure: string | undefined;
}

/** The node flags of an executable's `#!/usr/bin/env -S node …` line (none without one). */
export function shebangNodeFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  if (!first.startsWith('#!')) return [];
  const words = first.slice(2).trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return node === -1 ? [] : words.slice(node + 1);
}

/** The check of a `spec` run: exit code 0 and exactly one SPEC line on stdout. */
export function checkSpecRun(run: StartupRun): string | undefined {
  if (run.exitCode !== 0) return `exit code ${String(run.exitCode)}: ${run.stderr.slice(-300)}`;
  const lines = run.stdout.split('\n').filter((l) => l.length > 0);
  if (lines.length !== 1) return `${lines.length} lines on stdout, expected one SPEC`;
  try {
    const message = JSON.parse(lines[0]!) as { type?: unknown };
    return message.type === 'SPEC' ? undefined : `a ${String(message.type)} message, not SPEC`;
  } catch {
    return 'stdout is not a JSON message';
  }
}

/** The check of the reference: exit code 0. */
export function checkExitZero(run: StartupRun): string | undefined {
  return run.exitCode === 0 ? undefined : `exit code ${String(run.exitCode)}`;
}

function runOnce(nodeArgs: readonly string[], cwd: string): Promise<StartupRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeArgs], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      resolve({ ms: performance.now() - started, exitCode, stdout, stderr });
    });
  });
}

/**
 * Runs `reference` then every command, `runs` times over; a command whose run fails check is
 * not run again (its failure is kept).
 */
export async function measureStartup(
  reference: StartupCommand,
  commands: readonly StartupCommand[],
  runs: number,
  cwd: string,
  log: (message: string) => void,
): Promise<{ reference: StartupResult; rows: StartupResult[] }> {
  const fresh = (command: StartupCommand): StartupResult => ({
    command,
    samples: [],
    overReference: [],
    failure: undefined,
  });
  const ref = fresh(reference);
  const rows = commands.map(fresh);
  for (let i = 0; i < runs; i++) {
    let refMs: number | undefined;
    for (const result of [ref, ...rows]) {
      if (result.failure !== undefined) continue;
      const run = await runOnce(result.command.nodeArgs, cwd);
      const failure = result.command.check(run);
      if (failure !== undefined) {
        result.failure = `${result.command.label}: ${failure}`;
        log(`start-up ${result.command.label} FAILED: ${failure}`);
        continue;
      }
      result.samples.push(run.ms);
      if (result === ref) refMs = run.ms;
      else if (refMs !== undefined) result.overReference.push(run.ms - refMs);
    }
  }
  for (const r of [ref, ...rows])
    log(`start-up ${r.command.label}: median ${fixed(median(r.samples), 0)} ms`);
  return { reference: ref, rows };
}

/** The start-up table: one row per command, the reference first. */
export function renderStartupTable(
  reference: StartupResult,
  rows: readonly StartupResult[],
  targetMs: number,
): string {
  const lines = [
    `| command | runs | wall ms, median (min–max) | minus reference, ms (median over runs) | ≤ ${targetMs} ms |`,
    '|---|---:|---:|---:|---|',
  ];
  const wall = (samples: readonly number[]) =>
    samples.length === 0
      ? '—'
      : `${fixed(median(samples), 0)} (${fixed(Math.min(...samples), 0)}–${fixed(Math.max(...samples), 0)})`;
  lines.push(
    `| ${reference.command.label} (reference) | ${reference.samples.length} | ${wall(reference.samples)} | — | — |`,
  );
  for (const r of rows) {
    const m = median(r.samples);
    const verdict = r.failure !== undefined ? 'FAILED' : m <= targetMs ? 'yes' : '**no**';
    const d = median(r.overReference);
    const over = r.overReference.length === 0 ? '—' : `${d >= 0 ? '+' : ''}${fixed(d, 0)}`;
    lines.push(
      `| ${r.command.label} | ${r.samples.length} | ${wall(r.samples)} | ${over} | ${verdict} |`,
    );
  }
  return lines.join('\n');
}
