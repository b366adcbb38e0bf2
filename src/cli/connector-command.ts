/**
 * Runs one connector command line and loads only what the command needs. A plain `spec` (no
 * options) prints the spec at hand and loads nothing more: no DI container, no pipeline, no
 * database driver, so that it starts in about the time of node itself. Every other command line
 * loads the connector (when given as an entry) and the full runner, `runConnector`.
 *
 * Keep this module's static imports few and light: each module a plain `spec` loads adds about
 * a millisecond to its start.
 */
import { SecretRedactor } from '../config/secret-redactor.js';
import { classifyError } from '../errors/classify-error.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { errorTraceMessage } from '../protocol/trace-messages.js';
import type { ConnectorDefinition, ConnectorEntry } from '../write/connector-definition.js';
import type { CliIo } from './cli-io.js';
import { isPlainSpec, writeSpec } from './spec-command.js';

/**
 * A connector that could not be loaded: there is no session, so the cause is reported as a
 * protocol TRACE (for the platform) and on stderr; returns exit code 1.
 */
export async function reportLoadFailure(error: unknown, io: CliIo): Promise<number> {
  const output = new OutputWriter(io.stdout, new SecretRedactor());
  output.write(errorTraceMessage(classifyError(error)));
  await output.flush();
  io.stderr.write(`destkit: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}

/**
 * Runs a connector command line (the arguments after the connector name) with a definition or
 * an entry; returns the exit code. A plain `spec` is answered from `connector.spec` alone.
 */
export async function runConnectorCommand(
  connector: ConnectorDefinition | ConnectorEntry,
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  if (isPlainSpec(args)) return writeSpec(connector.spec, io);
  const { definitionOf } = await import('./first-party.js');
  let definition: ConnectorDefinition;
  try {
    definition = await definitionOf(connector);
  } catch (error) {
    return reportLoadFailure(error, io);
  }
  const { runConnector } = await import('./run-connector.js');
  return runConnector(definition, args, io);
}

/**
 * A connector's command line as a function of the arguments: what a first-party connector's
 * `entry.js` exports, so that `destkit <name> …` runs it from the connector's bundle.
 */
export function commandOf(
  connector: ConnectorDefinition | ConnectorEntry,
): (args: readonly string[], io: CliIo) => Promise<number> {
  return (args, io) => runConnectorCommand(connector, args, io);
}
