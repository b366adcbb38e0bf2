/**
 * The test harness: runs one connector command (`spec`, `check` or `write`) the way a platform
 * does — config and catalog as files, messages on stdin — and collects what the connector says.
 *
 * Terms:
 * - in-process: the command runs in this process through the same runner a connector's own
 *   executable uses (`runConnector`), with stdin, stdout and stderr replaced. Fast; needs the
 *   connector's definition (or a module path to import it from).
 * - child-process: the command runs as a separate Node.js process — `destkit <modulePath> …`
 *   or the connector's own executable (`command`). Slower; the only way to really kill it.
 * - echo: a STATE message the connector wrote on stdout.
 * - kill after K states: as soon as the Kth echo is read, a child process gets SIGKILL (nothing
 *   more runs: no close, no teardown); in-process, the run gets a stop signal (SIGTERM: loaders
 *   are closed with a failure and nothing is finalized), which is as close as a process can
 *   come to killing itself.
 * - waiting for echoes: stdin is fed up to and including each STATE, then the harness waits
 *   for that state's echo (or the end of the run) before it feeds more; a persistence probe
 *   then looks at the destination while the connector has nothing more to read.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../cli/cli-io.js';
import { loadConnector } from '../cli/first-party.js';
import { runConnector } from '../cli/run-connector.js';
import type { JsonObject } from '../protocol/messages.js';
import type { ConnectorDefinition } from '../write/connector-definition.js';

export type RunMode = 'in-process' | 'child-process';
export type ConnectorOperation = 'spec' | 'check' | 'write';

/** Which connector to run: give at least one. */
export interface ConnectorUnderTest {
  /** The definition itself (in-process only). */
  readonly definition?: ConnectorDefinition;
  /**
   * A module exporting the definition as `default` or `connector` — what `destkit <path>`
   * accepts. In-process it is imported; as a child process it runs as `destkit <path> …`. For
   * a child process it must be JavaScript Node.js can load (e.g. the connector's built
   * `dist/index.js`).
   */
  readonly modulePath?: string;
  /**
   * The connector's own executable and its leading arguments, e.g.
   * `[process.execPath, 'dist/main.js']`; the operation and its options are appended.
   * Child process only.
   */
  readonly command?: readonly string[];
}

/**
 * Per stream label (`namespace.name`, or `name`): the ids of the records the destination holds
 * durably at the moment of a probe. A record's id is `String(record.data.id)` unless the
 * invariant check is told otherwise.
 */
export type PersistedIds = ReadonlyMap<string, ReadonlySet<string>>;

export interface RunDestinationOptions extends ConnectorUnderTest {
  /**
   * Default: in-process when `definition` or `modulePath` is given, else child-process.
   */
  readonly mode?: RunMode;
  /** Default `write`. */
  readonly operation?: ConnectorOperation;
  /** The connector config; `destkit` knobs may be included. Default `{}`. */
  readonly config?: JsonObject;
  /** The configured catalog, wire form (write only). */
  readonly catalog?: unknown;
  /** stdin: protocol messages (serialized as one JSON line each) or raw lines. Default none. */
  readonly messages?: readonly (JsonObject | string)[];
  /**
   * Extra environment variables, e.g. `DESTKIT_FLUSH_WINDOW_MS` (knobs are read from the
   * environment in both modes). Default none.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the connector as soon as this many states were echoed. Default: never. */
  readonly killAfterStates?: number;
  /** Feed stdin state by state, waiting for each echo (see the file header). Default false. */
  readonly waitForEchoes?: boolean;
  /**
   * Called when a state is echoed; its result is kept in `persistedAtState`. With
   * `waitForEchoes` the harness waits for it before it feeds more input.
   */
  readonly persistenceProbe?: (state: JsonObject, index: number) => Promise<PersistedIds>;
  /** How long one echo may take with `waitForEchoes`. Default 30 s. */
  readonly echoTimeoutMs?: number;
  /** The whole run; then the connector is killed (or stopped) and `timedOut` is set. Default 120 s. */
  readonly timeoutMs?: number;
  /** `--log-level`; logs come back as LOG messages in `logs`. Default `info`. */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
}

/** A message the connector wrote, parsed; `raw` is its line as written. */
export interface OutputLine {
  readonly raw: string;
  readonly message: JsonObject | undefined;
}

export interface RunDestinationResult {
  readonly mode: RunMode;
  readonly operation: ConnectorOperation;
  /** The exit code; null when the process was killed by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the harness killed (or, in-process, stopped) the connector after K states. */
  readonly killed: boolean;
  readonly timedOut: boolean;
  /** Every stdout line in order, parsed where it is JSON. */
  readonly lines: readonly OutputLine[];
  /** The stdout messages that are JSON objects, in order. */
  readonly messages: readonly JsonObject[];
  /** The STATE messages, in echo order. */
  readonly states: readonly JsonObject[];
  /** The TRACE messages, in order. */
  readonly traces: readonly JsonObject[];
  /** The `trace.error` objects of TRACE ERROR messages, in order. */
  readonly errors: readonly JsonObject[];
  /** The LOG messages, in order. */
  readonly logs: readonly JsonObject[];
  readonly stderr: string;
  /** The probe results, by echo index (missing when no probe ran for that echo). */
  readonly persistedAtState: readonly (PersistedIds | undefined)[];
  /** The number of input lines written to stdin before it was closed or the run ended. */
  readonly linesFed: number;
  /** With `waitForEchoes`: the input states not echoed within the echo timeout (0-based). */
  readonly lateStates: readonly number[];
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_ECHO_TIMEOUT_MS = 30_000;

/** The built `destkit` CLI next to this module (dist), or the repository's build (sources). */
export function destkitCliPath(): string {
  const candidates = [
    new URL('../cli/main.js', import.meta.url),
    new URL('../../dist/src/cli/main.js', import.meta.url),
  ];
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(path)) return path;
  }
  throw new Error(
    'cannot find the destkit CLI (dist/src/cli/main.js); build destkit first (npm run build)',
  );
}

function resolveMode(options: RunDestinationOptions): RunMode {
  if (options.mode !== undefined) return options.mode;
  return options.definition !== undefined || options.modulePath !== undefined
    ? 'in-process'
    : 'child-process';
}

function serialize(message: JsonObject | string): string {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

function isState(message: JsonObject | string): boolean {
  if (typeof message !== 'string') return message.type === 'STATE';
  try {
    return (JSON.parse(message) as { type?: unknown }).type === 'STATE';
  } catch {
    return false;
  }
}

/** Collects stdout lines as they arrive and tells waiters about echoes. */
class OutputCollector {
  readonly lines: OutputLine[] = [];
  readonly states: JsonObject[] = [];
  #pending = '';
  #waiters: (() => void)[] = [];
  #ended = false;

  constructor(private readonly onState: (state: JsonObject, index: number) => void) {}

  push(chunk: string): void {
    this.#pending += chunk;
    let newline = this.#pending.indexOf('\n');
    while (newline >= 0) {
      this.#line(this.#pending.slice(0, newline));
      this.#pending = this.#pending.slice(newline + 1);
      newline = this.#pending.indexOf('\n');
    }
  }

  end(): void {
    if (this.#pending.length > 0) this.#line(this.#pending);
    this.#pending = '';
    this.#ended = true;
    this.#wake();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Resolves once `count` states were echoed or the output ended. */
  async waitForStates(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.states.length < count && !this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.states.length >= count;
  }

  #line(raw: string): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    let message: JsonObject | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        message = parsed as JsonObject;
      }
    } catch {
      message = undefined;
    }
    this.lines.push({ raw: text, message });
    if (message?.type === 'STATE') {
      this.states.push(message);
      this.onState(message, this.states.length - 1);
      this.#wake();
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** What both modes provide to the common feeding and collecting logic. */
interface Running {
  readonly stdin: NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
  readonly done: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

async function writeInputFiles(
  options: RunDestinationOptions,
  operation: ConnectorOperation,
): Promise<{ dir: string; args: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'destkit-run-'));
  const args: string[] = [operation];
  if (operation !== 'spec') {
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify(options.config ?? {}));
    args.push('--config', configPath);
  }
  if (operation === 'write') {
    if (options.catalog === undefined) throw new TypeError('runDestination: write needs a catalog');
    const catalogPath = join(dir, 'catalog.json');
    await writeFile(catalogPath, JSON.stringify(options.catalog));
    args.push('--catalog', catalogPath);
  }
  args.push('--log-format', 'airbyte', '--log-level', options.logLevel ?? 'info');
  return { dir, args };
}

async function startInProcess(
  options: RunDestinationOptions,
  args: readonly string[],
  collector: OutputCollector,
  stderr: { text: string },
): Promise<Running> {
  let definition = options.definition;
  if (definition === undefined) {
    if (options.modulePath === undefined) {
      throw new TypeError('runDestination: in-process mode needs a definition or a modulePath');
    }
    definition = await loadConnector(options.modulePath);
  }
  const stdin = new PassThrough();
  const stdout = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      collector.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
  const stderrStream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      stderr.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      callback();
    },
  });
  const handlers = new Set<(signal: NodeJS.Signals) => void>();
  const io: CliIo = {
    stdin,
    stdout,
    stderr: stderrStream,
    env: { ...process.env, ...options.env },
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
  const done = runConnector(definition, args, io).then(
    (exitCode) => ({ exitCode, signal: null }),
    (error: unknown) => {
      stderr.text += `runConnector failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`;
      return { exitCode: 1, signal: null };
    },
  );
  return {
    stdin,
    done: done.finally(() => collector.end()),
    kill() {
      for (const handler of handlers) handler('SIGTERM');
      if (handlers.size === 0) stdin.destroy();
    },
  };
}

function startChildProcess(
  options: RunDestinationOptions,
  args: readonly string[],
  collector: OutputCollector,
  stderr: { text: string },
): Running {
  let executable: string;
  let leading: string[];
  if (options.command !== undefined && options.command.length > 0) {
    [executable, ...leading] = options.command as [string, ...string[]];
  } else if (options.modulePath !== undefined) {
    executable = process.execPath;
    leading = [destkitCliPath(), options.modulePath];
  } else {
    throw new TypeError('runDestination: child-process mode needs a modulePath or a command');
  }
  const child: ChildProcess = spawn(executable, [...leading, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => collector.push(chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.text += chunk;
  });
  child.stdin!.on('error', () => undefined);
  const done = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => {
      child.on('error', (error) => {
        stderr.text += `cannot start ${executable}: ${error.message}\n`;
        resolve({ exitCode: 1, signal: null });
      });
      child.on('close', (exitCode, signal) => resolve({ exitCode, signal }));
    },
  ).finally(() => collector.end());
  return {
    stdin: child.stdin!,
    done,
    kill() {
      child.kill('SIGKILL');
    },
  };
}

function writeLine(stdin: Running['stdin'], line: string): Promise<void> {
  if (stdin.destroyed === true || stdin.writableEnded === true) return Promise.resolve();
  return new Promise((resolve) => {
    const ok = stdin.write(`${line}\n`, () => resolve());
    if (!ok) stdin.once('drain', () => resolve());
  });
}

/** Runs one connector command to its end (or kill) and returns what it wrote. */
export async function runDestination(
  options: RunDestinationOptions,
): Promise<RunDestinationResult> {
  const mode = resolveMode(options);
  const operation = options.operation ?? 'write';
  const { dir, args } = await writeInputFiles(options, operation);
  const stderr = { text: '' };
  const persistedAtState: (PersistedIds | undefined)[] = [];
  const probes: Promise<void>[] = [];
  let killed = false;
  let timedOut = false;
  let running: Running | undefined;

  const probe = (state: JsonObject, index: number): Promise<void> => {
    const existing = probes[index];
    if (existing !== undefined) return existing;
    const run = (async () => {
      if (options.persistenceProbe === undefined) return;
      persistedAtState[index] = await options.persistenceProbe(state, index);
    })();
    probes[index] = run;
    return run;
  };
  const collector = new OutputCollector((state, index) => {
    if (options.killAfterStates !== undefined && index + 1 >= options.killAfterStates) {
      if (!killed) {
        killed = true;
        running?.kill();
      }
      return;
    }
    // Without waiting for echoes, probe as soon as an echo shows up.
    if (!options.waitForEchoes) void probe(state, index);
  });

  try {
    running =
      mode === 'in-process'
        ? await startInProcess(options, args, collector, stderr)
        : startChildProcess(options, args, collector, stderr);
    const current = running;
    const timer = setTimeout(() => {
      timedOut = true;
      current.kill();
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    timer.unref();

    let linesFed = 0;
    const lateStates: number[] = [];
    const feed = async (): Promise<void> => {
      let statesSent = 0;
      for (const message of options.messages ?? []) {
        if (killed || timedOut || collector.ended) return;
        // The connector may stop reading at any time (it failed): never wait on it alone.
        await Promise.race([writeLine(current.stdin, serialize(message)), current.done]);
        if (collector.ended) return;
        linesFed++;
        if (options.waitForEchoes === true && isState(message)) {
          statesSent++;
          const echoed = await collector.waitForStates(
            statesSent,
            options.echoTimeoutMs ?? DEFAULT_ECHO_TIMEOUT_MS,
          );
          if (!echoed) {
            // A run that ended has its own story (exit code, TRACE); only a live one is late.
            if (!collector.ended) {
              lateStates.push(statesSent - 1);
              stderr.text += `runDestination: state #${statesSent - 1} was not echoed within the echo timeout\n`;
            }
            continue;
          }
          const state = collector.states[statesSent - 1];
          if (state !== undefined && !killed) await probe(state, statesSent - 1);
        }
      }
    };
    await feed();
    if (current.stdin.destroyed !== true && current.stdin.writableEnded !== true)
      current.stdin.end();
    const { exitCode, signal } = await current.done;
    clearTimeout(timer);
    await Promise.allSettled(probes);

    const messages = collector.lines.flatMap((l) => (l.message === undefined ? [] : [l.message]));
    const traces = messages.filter((m) => m.type === 'TRACE');
    const errors = traces.flatMap((m) => {
      const trace = m.trace as JsonObject | undefined;
      return trace?.type === 'ERROR' && typeof trace.error === 'object' && trace.error !== null
        ? [trace.error as JsonObject]
        : [];
    });
    return {
      mode,
      operation,
      exitCode,
      signal,
      killed,
      timedOut,
      lines: collector.lines,
      messages,
      states: collector.states,
      traces,
      errors,
      logs: messages.filter((m) => m.type === 'LOG'),
      stderr: stderr.text,
      persistedAtState,
      linesFed,
      lateStates,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
