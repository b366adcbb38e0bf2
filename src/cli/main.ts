#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * The `destkit` command:
 *   destkit connectors                         list the first-party connectors
 *   destkit <connector> spec|check|write …     run a connector (a first-party name or a module path)
 */
import 'reflect-metadata';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SecretRedactor } from '../config/secret-redactor.js';
import { writeSampleSync } from '../demo/generate-command.js';
import { classifyError } from '../errors/classify-error.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { errorTraceMessage } from '../protocol/trace-messages.js';
import { fetchStatusTree, renderStatusTree } from '../runtime/status-client.js';
import type { ConnectorDefinition } from '../write/connector-definition.js';
import { type CliIo, processIo } from './cli-io.js';
import { exitWhenFlushed, guardAgainstSilentExit } from './connector-main.js';
import { FIRST_PARTY_CONNECTORS, loadConnector } from './first-party.js';
import { runConnector } from './run-connector.js';

const USAGE = `usage:
  destkit connectors                                   list the first-party connectors
  destkit status --port N [TASK_ID] [--recursive]      print the live task tree of a sync run with --status-port
  destkit generate --records N --catalog FILE [--streams 3] [--state-every 10000] [--record-bytes 500]
                                                       write a sample catalog to FILE and its messages to stdout
  destkit <connector> spec                             print the connector's specification
  destkit <connector> check --config FILE              check a config
  destkit <connector> write --config FILE --catalog FILE   load the messages on stdin
<connector> is a first-party connector name or a path to a module exporting a connector definition.
`;

async function status(args: string[], io: CliIo): Promise<number> {
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

async function generate(args: string[], io: CliIo): Promise<number> {
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

async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stderr.write(USAGE);
    return first === undefined ? 2 : 0;
  }
  const io = processIo();
  if (first === 'generate') return generate(rest, io);
  if (first === 'status') return status(rest, io);
  if (first === 'connectors') {
    const out = new OutputWriter(io.stdout, new SecretRedactor());
    for (const [name, { description }] of Object.entries(FIRST_PARTY_CONNECTORS)) {
      out.writeLine(`${name.padEnd(12)} ${description}`);
    }
    await out.flush();
    return 0;
  }
  let definition: ConnectorDefinition;
  try {
    definition = await loadConnector(first);
  } catch (error) {
    // No connector, so no session: report as a protocol TRACE so a platform sees the cause.
    const out = new OutputWriter(io.stdout, new SecretRedactor());
    out.write(errorTraceMessage(classifyError(error)));
    await out.flush();
    process.stderr.write(`destkit: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return runConnector(definition, rest, io);
}

guardAgainstSilentExit();
main(process.argv.slice(2)).then(exitWhenFlushed, (error: unknown) => {
  process.stderr.write(
    `destkit: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  exitWhenFlushed(1);
});
