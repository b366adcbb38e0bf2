/**
 * Runs one connector command — `spec`, `check --config`, `write --config --catalog`,
 * `discover --config` — the Airbyte argument convention. Used by `destkit <connector> …` and by
 * every connector's own executable. Returns the exit code; the caller exits.
 *
 * Exit codes: 0 on success and whenever `check` ran (FAILED included); 1 on any failure, after
 * a TRACE ERROR (the first error is the reported cause; later ones are only logged).
 */
import { writeFile } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Level, Logger } from 'pino';
import { loadCatalog } from '../catalog/destination-catalog.js';
import { readJsonFile } from '../config/json-file.js';
import { resolveKnobs } from '../config/knobs.js';
import { resolveConfig } from '../config/load-config.js';
import { SecretRedactor } from '../config/secret-redactor.js';
import { classifyError } from '../errors/classify-error.js';
import { createLogger, type LogFormat } from '../logging/logger.js';
import {
  DestinationTaskLauncher,
  type SyncOutcome,
} from '../pipeline/destination-task-launcher.js';
import { takeEarlyInputWorker } from '../pipeline/early-input-worker.js';
import { FileDescriptorInput } from '../pipeline/file-descriptor-input.js';
import { memoryBudgetDecision, pipelineModule } from '../pipeline/pipeline-module.js';
import { PIPELINE_TOKENS } from '../pipeline/pipeline-tokens.js';
import {
  buildSyncReport,
  type ReportInputs,
  renderReportSummary,
} from '../pipeline/sync-report.js';
import type { JsonObject } from '../protocol/messages.js';
import { OutputWriter } from '../protocol/output-writer.js';
import {
  connectionStatusMessage,
  errorTraceMessage,
  specMessage,
} from '../protocol/trace-messages.js';
import { ChannelRegistry } from '../runtime/channel-registry.js';
import type { MemoryBudget } from '../runtime/memory-budget.js';
import { describeMemoryBudget } from '../runtime/memory-limits.js';
import { StatusServer } from '../runtime/status-server.js';
import { TaskRegistry } from '../runtime/task-registry.js';
import type { ConnectorDefinition } from '../write/connector-definition.js';
import { createRootContainer, createSyncContainer } from '../write/sync-container.js';
import { SyncCancelledError } from '../write/write-errors.js';
import type { CliIo } from './cli-io.js';
import { ProgressDisplay } from './progress-display.js';

/** After SIGTERM/SIGINT the sync gets this long to fail cleanly before destkit exits anyway. */
const SIGNAL_DEADLINE_MS = 8_000;

interface CommonOptions {
  logFormat?: LogFormat;
  logLevel?: Level;
}

interface Session {
  readonly redactor: SecretRedactor;
  readonly output: OutputWriter;
  readonly logger: Logger;
}

function openSession(io: CliIo, options: CommonOptions): Session {
  const redactor = new SecretRedactor();
  const output = new OutputWriter(io.stdout, redactor);
  const format: LogFormat = options.logFormat ?? (io.stderr.isTTY ? 'pretty' : 'json');
  const logger = createLogger({
    format,
    level: options.logLevel ?? 'info',
    redactor,
    emit: (message) => output.write(message),
  });
  return { redactor, output, logger };
}

/** Emits the TRACE ERROR for a failure and returns exit code 1. */
async function fail(session: Session, error: unknown): Promise<number> {
  const classified = classifyError(error);
  session.logger.error({ err: error, failureType: classified.failureType }, classified.message);
  session.output.write(errorTraceMessage(classified));
  await session.output.flush().catch(() => undefined);
  return 1;
}

/** The config file without destkit's own `destkit` knobs object, which the spec does not know. */
function splitKnobs(raw: unknown): { config: unknown; knobs: unknown } {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'destkit' in raw) {
    const { destkit, ...config } = raw as Record<string, unknown>;
    return { config, knobs: destkit };
  }
  return { config: raw, knobs: undefined };
}

async function readConfig(definition: ConnectorDefinition, path: string, session: Session) {
  const { config, knobs } = splitKnobs(await readJsonFile('config', path));
  return { config: resolveConfig(definition.spec, config, session.redactor), knobs };
}

async function specCommand(definition: ConnectorDefinition, session: Session): Promise<number> {
  session.output.write(specMessage(definition.spec));
  await session.output.flush();
  return 0;
}

async function checkCommand(
  definition: ConnectorDefinition,
  session: Session,
  configPath: string,
): Promise<number> {
  let config: JsonObject;
  try {
    ({ config } = await readConfig(definition, configPath, session));
    if (definition.check !== undefined) {
      await definition.check({
        config,
        logger: session.logger,
        signal: AbortSignal.timeout(5 * 60_000),
      });
    }
  } catch (error) {
    const classified = classifyError(error);
    if (classified.failureType === 'system_error') return fail(session, error);
    session.logger.warn(
      { failureType: classified.failureType },
      `check failed: ${classified.message}`,
    );
    session.output.write(
      connectionStatusMessage('FAILED', session.redactor.redactText(classified.message)),
    );
    await session.output.flush();
    return 0;
  }
  session.output.write(connectionStatusMessage('SUCCEEDED'));
  await session.output.flush();
  return 0;
}

interface WriteOptions {
  readonly config: string;
  readonly catalog: string;
  readonly statusPort?: number;
  readonly report?: string;
}

async function writeCommand(
  definition: ConnectorDefinition,
  session: Session,
  io: CliIo,
  options: WriteOptions,
): Promise<number> {
  const startedAt = Date.now();
  // No code of a sync reads the ambient task context (currentTask()); without it no promise
  // hook runs on every promise of the process.
  const registry = new TaskRegistry({ redactor: session.redactor, ambientContext: false });
  const channels = new ChannelRegistry();
  let launcher: DestinationTaskLauncher | undefined;
  let memory: MemoryBudget | undefined;
  let statusServer: StatusServer | undefined;
  let progress: ProgressDisplay | undefined;
  let outcome: SyncOutcome | undefined;
  let failure: unknown;
  let deadline: NodeJS.Timeout | undefined;
  let signalled: NodeJS.Signals | undefined;
  // The process's stdin is opened only if this thread reads it (an input worker reads the
  // descriptor itself).
  const input =
    io.stdinFd === undefined ? io.stdin : new FileDescriptorInput(io.stdinFd, () => io.stdin);
  // The input worker thread starts while the config and catalog are read (unless the
  // environment already turns it off; the config's knobs may still do, see below).
  if (input instanceof FileDescriptorInput && inputWorkersWanted(io.env)) {
    input.startWorker();
    session.logger.debug(
      { startedBy: input.workerFromLauncher ? 'launcher' : 'sync' },
      'input worker thread started ahead',
    );
  } else {
    // A thread the launcher started is not used: stopped at once.
    takeEarlyInputWorker(undefined);
  }
  const uninstall = io.onSignal((signal) => {
    if (signalled !== undefined) return;
    signalled = signal;
    session.logger.warn(
      { signal },
      'received a stop signal: stopping the sync without finalizing anything',
    );
    const cancelled = new SyncCancelledError(
      `the sync was stopped by ${signal}; nothing was finalized`,
    );
    // Stop reading input at once; the failure path closes loaders and tears down.
    input.destroy();
    if (launcher?.rootId) registry.abort(launcher.rootId, `stopped by ${signal}`);
    deadline = setTimeout(() => {
      void fail(session, cancelled).then(() => process.exit(1));
    }, SIGNAL_DEADLINE_MS);
    deadline.unref();
  });
  try {
    if (options.statusPort !== undefined) {
      statusServer = await StatusServer.start({
        registry,
        listChannels: () => channels.list(),
        port: options.statusPort,
      });
      session.logger.info(
        { port: statusServer.port, host: statusServer.host },
        'status server listening',
      );
    }
    const { config, knobs: knobOverrides } = await readConfig(definition, options.config, session);
    const knobs = resolveKnobs(io.env, knobOverrides);
    if (knobs.inputWorkers === 0 && input instanceof FileDescriptorInput) await input.dropWorker();
    const catalog = await loadCatalog(options.catalog);
    const root = createRootContainer(session.logger);
    const { container } = await createSyncContainer(root, definition, config, catalog, knobs);
    container.bind(PIPELINE_TOKENS.OutputWriter).toConstantValue(session.output);
    container.bind(PIPELINE_TOKENS.TaskRegistry).toConstantValue(registry);
    container.bind(PIPELINE_TOKENS.Input).toConstantValue(input);
    container.bind(PIPELINE_TOKENS.ConnectorName).toConstantValue(definition.name);
    container.bind(PIPELINE_TOKENS.ChannelRegistry).toConstantValue(channels);
    await container.loadAsync(pipelineModule);
    launcher = container.get(DestinationTaskLauncher);
    memory = container.get<MemoryBudget>(PIPELINE_TOKENS.MemoryBudget);
    if (io.stderr.isTTY === true && 'columns' in io.stderr) {
      progress = new ProgressDisplay(io.stderr as NodeJS.WriteStream, launcher, channels);
    }
    session.logger.info(
      {
        connector: definition.name,
        streams: catalog.size,
        memoryBudget: describeMemoryBudget(memoryBudgetDecision(knobs)),
      },
      'sync started',
    );
    outcome = await launcher.run();
    progress?.stop();
    progress = undefined;
    if (signalled !== undefined && outcome.status !== 'succeeded') {
      failure = new SyncCancelledError(
        `the sync was stopped by ${signalled}; nothing was finalized`,
        { cause: outcome.error },
      );
      return fail(session, failure);
    }
    if (outcome.error !== undefined) {
      failure = outcome.error;
      return fail(session, outcome.error);
    }
    session.logger.info(
      { records: outcome.recordsRead, bytes: outcome.bytesRead, states: outcome.statesEchoed },
      'sync succeeded',
    );
    await session.output.flush();
    return 0;
  } catch (error) {
    failure = error;
    return fail(session, error);
  } finally {
    progress?.stop();
    clearTimeout(deadline);
    uninstall();
    if (options.report !== undefined) {
      await writeReport(options.report, session, io, {
        connector: definition.name,
        startedAt,
        endedAt: Date.now(),
        outcome:
          outcome !== undefined && (failure === undefined || outcome.status !== 'succeeded')
            ? failure === undefined
              ? outcome
              : { ...outcome, error: failure }
            : { status: 'failed', error: failure, suppressed: [] },
        streams: launcher?.streamSummaries() ?? [],
        registry,
        rootId: launcher?.rootId,
        channels: channels.list(),
        memory: memory?.snapshot(),
        redactor: session.redactor,
      });
    }
    await statusServer?.close();
    registry.close();
    if (input instanceof FileDescriptorInput) await input.dropWorker();
  }
}

/** Whether the environment leaves the input worker on (invalid knobs are reported later). */
function inputWorkersWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  try {
    return resolveKnobs(env, undefined).inputWorkers > 0;
  } catch {
    return false;
  }
}

/** Writes the JSON report and prints its summary on stderr; a report that cannot be written is logged. */
async function writeReport(
  path: string,
  session: Session,
  io: CliIo,
  inputs: ReportInputs,
): Promise<void> {
  const report = buildSyncReport(inputs);
  try {
    await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  } catch (error) {
    session.logger.error({ err: error, path }, 'cannot write the sync report');
  }
  io.stderr.write(renderReportSummary(report));
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('must be a port number 0..65535');
  return port;
}

function addCommonOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--log-format <format>',
        'json (default), pretty (default on a TTY), or airbyte (LOG messages on stdout)',
      ).choices(['json', 'pretty', 'airbyte']),
    )
    .addOption(
      new Option('--log-level <level>', 'minimum log level').choices([
        'trace',
        'debug',
        'info',
        'warn',
        'error',
        'fatal',
      ]),
    );
}

/** Builds the commander program of one connector; `result.code` receives the exit code. */
export function connectorProgram(
  definition: ConnectorDefinition,
  io: CliIo,
  result: { code: number },
): Command {
  const program = new Command(definition.name)
    .description(`destkit destination connector ${definition.name}`)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stderr.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  addCommonOptions(program.command('spec').description('print the connector specification')).action(
    async (options: CommonOptions) => {
      result.code = await specCommand(definition, openSession(io, options));
    },
  );
  addCommonOptions(
    program
      .command('check')
      .description('check a config')
      .requiredOption('--config <file>', 'config JSON file'),
  ).action(async (options: CommonOptions & { config: string }) => {
    result.code = await checkCommand(definition, openSession(io, options), options.config);
  });
  addCommonOptions(
    program
      .command('write')
      .description('load the messages read on stdin')
      .requiredOption('--config <file>', 'config JSON file')
      .requiredOption('--catalog <file>', 'configured catalog JSON file')
      .option(
        '--status-port <port>',
        'serve live task status on 127.0.0.1:PORT (0 picks a free port)',
        parsePort,
      )
      .option('--report <file>', 'write a JSON report of the sync to FILE when it ends'),
  ).action(async (options: CommonOptions & WriteOptions) => {
    result.code = await writeCommand(definition, openSession(io, options), io, options);
  });
  return program;
}

/** Runs a connector command line (arguments after the connector name); returns the exit code. */
export async function runConnector(
  definition: ConnectorDefinition,
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  const result = { code: 1 };
  const program = connectorProgram(definition, io, result);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return result.code;
}
