/**
 * Spawns a measured child process: wall time from spawn to exit, peak RSS of node children (a
 * preloaded probe writes `process.resourceUsage().maxRSS` at exit), STATE lines on stdout.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildOptions, ChildRun } from '../scenario.js';
import { shebangNodeFlags } from './startup.js';

/** The preload module (compiled next to this folder). */
export const RSS_PROBE = fileURLToPath(new URL('../rss-probe.js', import.meta.url));
/** The environment variable naming the file the probe writes the peak RSS (KiB) to. */
export const RSS_FILE_ENV = 'BENCH_PEAK_RSS_FILE';

const TAIL_BYTES = 4096;

let sequence = 0;

/** Collects the tail of a stream and counts its STATE lines (and the first TRACE ERROR). */
class OutputWatcher {
  tail = '';
  stateLines = 0;
  traceError: string | undefined;
  #partial = '';

  constructor(private readonly parseLines: boolean) {}

  push(chunk: string): void {
    this.tail = (this.tail + chunk).slice(-TAIL_BYTES);
    if (!this.parseLines) return;
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  end(): void {
    if (this.parseLines && this.#partial.length > 0) this.#line(this.#partial);
    this.#partial = '';
  }

  #line(line: string): void {
    if (line.length === 0 || line[0] !== '{') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const m = message as {
      type?: unknown;
      trace?: { type?: unknown; error?: { message?: unknown } };
    };
    if (m.type === 'STATE') this.stateLines++;
    else if (m.type === 'TRACE' && m.trace?.type === 'ERROR' && this.traceError === undefined)
      this.traceError = String(m.trace.error?.message ?? 'TRACE ERROR');
  }
}

function watch(stream: Readable | null, watcher: OutputWatcher): void {
  stream?.setEncoding('utf8').on('data', (chunk: string) => watcher.push(chunk));
}

/**
 * Runs `command args`; `rssFile` is read after exit when given; `stdoutFd` sends stdout to a file
 * instead of watching it.
 */
export function runChild(
  command: string,
  args: readonly string[],
  options: ChildOptions = {},
  rssFile?: string,
  stdoutFd?: number,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const stdinFd = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, 'r');
    const started = performance.now();
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: {
        ...process.env,
        ...options.env,
        ...(rssFile === undefined ? {} : { [RSS_FILE_ENV]: rssFile }),
      },
      stdio: [
        stdinFd ?? (options.feedStdin === undefined ? 'ignore' : 'pipe'),
        stdoutFd ?? 'pipe',
        'pipe',
      ],
    });
    if (stdinFd !== undefined) closeSync(stdinFd);
    const out = new OutputWatcher(true);
    const err = new OutputWatcher(false);
    watch(child.stdout, out);
    watch(child.stderr, err);
    child.on('error', reject);
    if (child.stdin !== null && options.feedStdin !== undefined) {
      // The child may exit before reading everything: its failure is reported, not EPIPE.
      child.stdin.on('error', () => undefined);
      options.feedStdin(child.stdin);
    }
    child.on('close', (exitCode, signal) => {
      const seconds = (performance.now() - started) / 1000;
      out.end();
      let peakRssKiB: number | undefined;
      if (rssFile !== undefined) {
        try {
          const value = Number(readFileSync(rssFile, 'utf8').trim());
          if (Number.isFinite(value) && value > 0) peakRssKiB = value;
        } catch {
          // no probe output: the child died before its exit handlers ran
        }
        rmSync(rssFile, { force: true });
      }
      resolve({
        seconds,
        exitCode,
        signal,
        ...(peakRssKiB === undefined ? {} : { peakRssKiB }),
        stateLines: out.stateLines,
        ...(out.traceError === undefined ? {} : { traceError: out.traceError }),
        stdoutTail: out.tail,
        stderrTail: err.tail,
      });
    });
  });
}

/**
 * Runs `node [flags] --import <probe> script args`, measuring the child's peak RSS. The flags:
 * those of the script's shebang (what running it as an executable does), then `nodeFlags`.
 */
export function runNode(
  script: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<ChildRun> {
  const rssFile = join(tmpdir(), `destkit-bench-rss-${process.pid}-${++sequence}.txt`);
  return runChild(
    process.execPath,
    [
      ...shebangNodeFlags(script),
      ...(options.nodeFlags ?? []),
      '--import',
      pathToFileURL(RSS_PROBE).href,
      script,
      ...args,
    ],
    options,
    rssFile,
  );
}

/** A one-line description of a failed child for the table's notes. */
export function describeFailure(run: ChildRun, what: string): string {
  const how = run.signal !== null ? `killed by ${run.signal}` : `exit code ${String(run.exitCode)}`;
  const trace = run.traceError === undefined ? '' : `; TRACE ERROR: ${run.traceError}`;
  const stderr = run.stderrTail.trim().split('\n').slice(-2).join(' | ').slice(-300);
  return `${what}: ${how}${trace}${stderr.length > 0 ? `; stderr: ${stderr}` : ''}`;
}
