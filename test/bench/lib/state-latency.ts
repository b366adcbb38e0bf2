/**
 * Commit → STATE echo latency: how long after the destination persisted the records a STATE
 * covers that STATE reaches stdout. The bench connector (`persist-clock-connector.ts`) notes the
 * time of every batch it completes; this side feeds one stream in groups (records, then a STATE,
 * then a pause, so that each STATE is released by a persist of its own) and notes when each
 * STATE line arrives on the connector's stdout. Times are epoch ms with sub-ms precision
 * (`performance.timeOrigin + performance.now()`) in both processes.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleCatalog, sampleMessages } from '../../../src/demo/sample-data.js';
import { shebangNodeFlags } from './startup.js';

/** One batch the bench connector completed: when (epoch ms) and how many records it held. */
export interface PersistEvent {
  readonly at: number;
  readonly records: number;
}

/**
 * Matches STATE arrivals with the persists that released them. STATE k (0-based, in arrival
 * order) covers the first (k + 1) × `recordsPerState` records of the one stream, so it is
 * released by the first persist after which that many records are persisted (persists in time
 * order). Returns arrival − release in ms per STATE.
 * @throws Error when a STATE arrived while its records were not all persisted.
 */
export function stateLatencies(
  persists: readonly PersistEvent[],
  arrivals: readonly number[],
  recordsPerState: number,
): number[] {
  const ordered = [...persists].sort((a, b) => a.at - b.at);
  const latencies: number[] = [];
  let persisted = 0;
  let next = 0;
  for (const [k, arrival] of arrivals.entries()) {
    const covered = (k + 1) * recordsPerState;
    while (persisted < covered && next < ordered.length) persisted += ordered[next++]!.records;
    const release = ordered[next - 1];
    if (persisted < covered || release === undefined || release.at > arrival) {
      throw new Error(
        `STATE ${k + 1} arrived while only ${persisted} of its ${covered} records were persisted`,
      );
    }
    latencies.push(arrival - release.at);
  }
  return latencies;
}

/** The nearest-rank percentile `p` (0 < p ≤ 100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

export interface StateLatencyOptions {
  /** The built destkit CLI. */
  readonly cli: string;
  /** The built bench connector module. */
  readonly connector: string;
  /** Scratch folder for the config, catalog and persist log. */
  readonly tmpDir: string;
  /** Groups of records, each followed by one STATE. */
  readonly groups: number;
  readonly recordsPerState: number;
  /** Bytes per RECORD line (exact: the generator pads every line to this size). */
  readonly recordBytes: number;
  /** Pause after each group. */
  readonly pauseMs: number;
}

export interface StateLatencyResult {
  /** ms per STATE of the groups, in order (empty when the run failed). */
  readonly latencies: number[];
  readonly seconds: number;
  readonly ok: boolean;
  readonly detail?: string;
}

/** A batch as large as one group's records, so that a group's last record closes its batch. */
export function batchSizeFor(recordsPerState: number, recordBytes: number): number {
  return recordsPerState * recordBytes - Math.floor(recordBytes / 2);
}

/** Runs one sync of the bench connector through the CLI, fed group by group. */
export async function runStateLatency(options: StateLatencyOptions): Promise<StateLatencyResult> {
  const { groups, recordsPerState, recordBytes, pauseMs } = options;
  const sample = {
    records: groups * recordsPerState,
    streams: 1,
    stateEvery: recordsPerState,
    recordBytes,
  };
  const catalogPath = join(options.tmpDir, 'latency.catalog.json');
  const configPath = join(options.tmpDir, 'latency.config.json');
  const persistLog = join(options.tmpDir, 'latency.persists.jsonl');
  await writeFile(catalogPath, JSON.stringify(sampleCatalog(sample)));
  await writeFile(
    configPath,
    JSON.stringify({
      persist_log: persistLog,
      destkit: {
        batch_size_bytes: batchSizeFor(recordsPerState, recordBytes),
        // Only a fallback: each batch should close on its size, not its age.
        flush_window_ms: 1000,
      },
    }),
  );
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...shebangNodeFlags(options.cli),
      options.cli,
      options.connector,
      'write',
      '--config',
      configPath,
      '--catalog',
      catalogPath,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const arrivals: number[] = [];
  let traceError: string | undefined;
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const at = performance.timeOrigin + performance.now();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{"type":"STATE"')) arrivals.push(at);
      else if (line.startsWith('{"type":"TRACE"') && line.includes('"type":"ERROR"'))
        traceError ??= line;
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  child.stdin.on('error', () => undefined);
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });

  let exited = false;
  const markExited = () => {
    exited = true;
  };
  closed.then(markExited, markExited);
  let group: string[] = [];
  let sent = 0;
  for (const line of sampleMessages(sample)) {
    group.push(line);
    if (sent < groups && line.startsWith('{"type":"STATE"')) {
      sent++;
      child.stdin.write(`${group.join('\n')}\n`);
      group = [];
      await sleep(pauseMs);
      if (exited) break;
    }
  }
  child.stdin.end(group.length > 0 ? `${group.join('\n')}\n` : undefined);
  const exitCode = await closed;
  const seconds = (performance.now() - started) / 1000;

  const failed = (detail: string): StateLatencyResult => ({
    latencies: [],
    seconds,
    ok: false,
    detail,
  });
  if (exitCode !== 0 || traceError !== undefined) {
    return failed(
      `exit code ${String(exitCode)}${traceError === undefined ? '' : `; ${traceError.slice(0, 300)}`}; stderr: ${stderr.trim().split('\n').slice(-2).join(' | ')}`,
    );
  }
  // Every group's STATE, then the final STATE of the stream.
  if (arrivals.length !== groups + 1)
    return failed(`${arrivals.length} STATE lines echoed, expected ${groups + 1}`);
  let persists: PersistEvent[];
  try {
    persists = (await readFile(persistLog, 'utf8'))
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as PersistEvent);
  } catch (error) {
    return failed(`no persist log: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return {
      latencies: stateLatencies(persists, arrivals.slice(0, groups), recordsPerState),
      seconds,
      ok: true,
    };
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  }
}
