/**
 * The plug-in interface of `npm run bench`. Every module `dist/test/bench/scenarios/*.js` (built
 * from `test/bench/scenarios/*.ts`) default-exports one {@link BenchScenario}: a baseline and a
 * candidate run over the same generated input, alternated with the core rows, `BENCH_RUNS`
 * rounds, reported as medians in the one table of the run. See test/bench/README.md.
 */

/** The generated input every row of a run reads (a file of protocol messages, one per line). */
export interface BenchInput {
  /** The messages file: RECORD lines of ~`recordBytes`, a STATE every `stateEvery` per stream. */
  readonly path: string;
  /** The configured catalog matching the messages. */
  readonly catalogPath: string;
  /** Total lines, RECORD lines and STATE lines of the file. */
  readonly lines: number;
  readonly records: number;
  readonly states: number;
  /** Size of the file in bytes. */
  readonly bytes: number;
  readonly streams: number;
  readonly stateEvery: number;
  readonly recordBytes: number;
}

/** What one run of one row measured. */
export interface RunResult {
  /** Wall time of the run, in seconds (process start to exit for a child process). */
  readonly seconds: number;
  /** Records the run processed (used for records/s). */
  readonly records: number;
  /** Input bytes the run processed (used for MB/s, MB = 10^6 bytes). */
  readonly bytes: number;
  /** Peak resident set size of the measured process, in KiB, when known. */
  readonly peakRssKiB?: number;
  /** False when the run failed or its output was wrong: a failed run invalidates the table. */
  readonly ok: boolean;
  /** Why it failed (or a short note). */
  readonly detail?: string;
}

/** One child process run measured by {@link BenchContext.runNode} or {@link BenchContext.run}. */
export interface ChildRun {
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Peak RSS in KiB (node children only: written by the preload probe at exit). */
  readonly peakRssKiB?: number;
  /** Complete stdout lines that parsed as JSON with `"type": "STATE"`. */
  readonly stateLines: number;
  /** The `message` of the first TRACE ERROR seen on stdout, if any. */
  readonly traceError?: string;
  /** The last few KB of stdout and stderr, for failure details. */
  readonly stdoutTail: string;
  readonly stderrTail: string;
}

export interface ChildOptions {
  /** A file to connect to the child's stdin (like `< file`); default: no stdin. */
  readonly stdinFile?: string;
  /** Instead of a file: stdin is a pipe handed to this callback once the child started. */
  readonly feedStdin?: (stdin: NodeJS.WritableStream) => void;
  /** Extra environment variables (added to the bench's environment). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Extra node flags, before the script (e.g. `--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
}

export interface ConnectorRunOptions {
  /** Extra environment variables, e.g. `DESTKIT_BATCH_SIZE_BYTES`. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Another generated input (see `ensureInput` in lib/input.ts) instead of the run's: its file,
   * catalog, records, states and bytes are the defaults of the options below and the result's.
   */
  readonly input?: BenchInput;
  /** Default: the input's messages file. */
  readonly stdinFile?: string;
  /** Default: the input's catalog. */
  readonly catalogPath?: string;
  /** Expected records persisted and states echoed; default: those of the input. */
  readonly expectedRecords?: number;
  readonly expectedStates?: number;
}

export interface BenchContext {
  readonly input: BenchInput;
  /** The repository root (the folder with package.json). */
  readonly repoRoot: string;
  /** The built destkit CLI, `dist/src/cli/main.js`. */
  readonly cli: string;
  /** A scratch folder owned by this scenario; deleted after its teardown. */
  readonly tmpDir: string;
  /** The round being run (0-based); -1 during setup and teardown. */
  readonly round: number;
  /** Runs `node [flags] script args` with the peak-RSS probe preloaded. */
  runNode(script: string, args: readonly string[], options?: ChildOptions): Promise<ChildRun>;
  /** Runs any executable (peak RSS unknown). */
  run(command: string, args: readonly string[], options?: ChildOptions): Promise<ChildRun>;
  /**
   * Runs `destkit <connector> write --config <config> --catalog <catalog> --report <tmp>` with
   * the input on stdin, and checks it: exit code 0, no TRACE ERROR, the expected number of
   * STATE lines on stdout and the expected records persisted in the report.
   */
  runConnectorWrite(
    connector: string,
    config: Readonly<Record<string, unknown>>,
    options?: ConnectorRunOptions,
  ): Promise<RunResult>;
  /** Prints a progress line on stderr. */
  log(message: string): void;
}

/** One row of the table: a named way to process the input. */
export interface BenchRow {
  readonly label: string;
  run(ctx: BenchContext): Promise<RunResult>;
}

export interface BenchScenario {
  /** Short unique name, shown in the table's first column (e.g. `duckdb`). */
  readonly name: string;
  /** Prepares the scenario (start a server, convert the input…). Throw to skip the scenario. */
  setup?(ctx: BenchContext): Promise<void>;
  /** The reference for this scenario's ratio column (1.00×). */
  readonly baseline: BenchRow;
  /** The destkit connector; its ratio is baseline seconds / candidate seconds of the same round. */
  readonly candidate: BenchRow;
  /** Releases what setup created; called once after the last round, also after a failure. */
  teardown?(ctx: BenchContext): Promise<void>;
}
