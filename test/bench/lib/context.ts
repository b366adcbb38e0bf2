/** The {@link BenchContext} handed to every row: measured child processes and checked writes. */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  BenchContext,
  BenchInput,
  ChildOptions,
  ConnectorRunOptions,
  RunResult,
} from '../scenario.js';
import { describeFailure, runChild, runNode } from './child.js';

interface ReportFile {
  readonly outcome?: string;
  readonly statesEchoed?: number;
  readonly totals?: { readonly recordsPersisted?: number };
}

export class MutableBenchContext implements BenchContext {
  round = -1;
  #writes = 0;

  constructor(
    readonly input: BenchInput,
    readonly repoRoot: string,
    readonly cli: string,
    readonly tmpDir: string,
  ) {}

  runNode(script: string, args: readonly string[], options?: ChildOptions) {
    return runNode(script, args, options);
  }

  run(command: string, args: readonly string[], options?: ChildOptions) {
    return runChild(command, args, options);
  }

  log(message: string): void {
    process.stderr.write(`bench: ${message}\n`);
  }

  async runConnectorWrite(
    connector: string,
    config: Readonly<Record<string, unknown>>,
    options: ConnectorRunOptions = {},
  ): Promise<RunResult> {
    const n = ++this.#writes;
    const configPath = join(this.tmpDir, `write-${n}.config.json`);
    const reportPath = join(this.tmpDir, `write-${n}.report.json`);
    await writeFile(configPath, JSON.stringify(config));
    const input = options.input ?? this.input;
    const expectedRecords = options.expectedRecords ?? input.records;
    const expectedStates = options.expectedStates ?? input.states;
    const run = await runNode(
      this.cli,
      [
        connector,
        'write',
        '--config',
        configPath,
        '--catalog',
        options.catalogPath ?? input.catalogPath,
        '--report',
        reportPath,
      ],
      {
        stdinFile: options.stdinFile ?? input.path,
        ...(options.env === undefined ? {} : { env: options.env }),
      },
    );
    const result = {
      seconds: run.seconds,
      records: expectedRecords,
      bytes: input.bytes,
      ...(run.peakRssKiB === undefined ? {} : { peakRssKiB: run.peakRssKiB }),
    };
    try {
      const what = `destkit ${connector} write`;
      if (run.exitCode !== 0 || run.traceError !== undefined)
        return { ...result, ok: false, detail: describeFailure(run, what) };
      if (run.stateLines !== expectedStates)
        return {
          ...result,
          ok: false,
          detail: `${what}: echoed ${run.stateLines} STATE lines, expected ${expectedStates}`,
        };
      let report: ReportFile;
      try {
        report = JSON.parse(await readFile(reportPath, 'utf8')) as ReportFile;
      } catch (error) {
        return { ...result, ok: false, detail: `${what}: no readable report: ${String(error)}` };
      }
      const persisted = report.totals?.recordsPersisted;
      if (report.outcome !== 'succeeded' || persisted !== expectedRecords)
        return {
          ...result,
          ok: false,
          detail: `${what}: report says ${String(report.outcome)}, ${String(persisted)} records persisted, expected ${expectedRecords}`,
        };
      return { ...result, ok: true };
    } finally {
      await rm(configPath, { force: true });
      await rm(reportPath, { force: true });
    }
  }
}
