/**
 * The `destkit` commands that are not a connector's: `generate` (sample input) and `status`
 * (the live task tree of a running sync). Loaded by the `destkit` command only when named.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SecretRedactor } from '../config/secret-redactor.js';
import { writeSampleSync } from '../demo/generate-command.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { fetchStatusTree, renderStatusTree } from '../runtime/status-client.js';
import type { CliIo } from './cli-io.js';

/** `destkit status --port N [TASK_ID] [--recursive]`; returns the exit code. */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const program = new Command('destkit status')
    .exitOverride()
    .description('print the live task tree of a sync started with --status-port')
    .requiredOption('--port <port>', 'the status port of the running sync', positiveInt)
    .option(
      '--recursive',
      'with TASK_ID: the task and all its descendants; without: internal tasks too',
    )
    .argument('[taskId]', 'a task id (default: every task)');
  try {
    program.parse(args, { from: 'user' });
  } catch (error) {
    return error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<{ port: number; recursive?: boolean }>();
  const [taskId] = program.args;
  try {
    const tasks = await fetchStatusTree(o.port, taskId, { recursive: o.recursive === true });
    const out = new OutputWriter(io.stdout, new SecretRedactor());
    for (const line of renderStatusTree(tasks).split('\n'))
      if (line.length > 0) out.writeLine(line);
    await out.flush();
    return 0;
  } catch (error) {
    io.stderr.write(`destkit status: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** `destkit generate --records N --catalog FILE …`; returns the exit code. */
export async function generateCommand(args: string[], io: CliIo): Promise<number> {
  const program = new Command('destkit generate')
    .exitOverride()
    .requiredOption('--records <n>', 'records over all streams', positiveInt)
    .requiredOption('--catalog <file>', 'where to write the configured catalog')
    .option('--streams <n>', 'number of streams', positiveInt, 3)
    .option('--state-every <n>', 'a STATE every N records per stream', positiveInt, 10_000)
    .option('--record-bytes <n>', 'approximate bytes per RECORD line', positiveInt, 500)
    .option('--namespace <name>', 'namespace of the streams');
  try {
    program.parse(args, { from: 'user' });
  } catch (error) {
    return error instanceof CommanderError && error.exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<{
    records: number;
    catalog: string;
    streams: number;
    stateEvery: number;
    recordBytes: number;
    namespace?: string;
  }>();
  await writeSampleSync(
    {
      records: o.records,
      streams: o.streams,
      stateEvery: o.stateEvery,
      recordBytes: o.recordBytes,
      ...(o.namespace ? { namespace: o.namespace } : {}),
    },
    o.catalog,
    io.stdout,
  );
  return 0;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a positive integer');
  return n;
}
