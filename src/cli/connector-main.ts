/**
 * The `main` of a connector executable: run the command line, flush, exit with its code. This
 * module and what it imports stay light (no DI container, pipeline or logger): a connector's
 * `spec` starts with them alone.
 */
import type { ConnectorDefinition, ConnectorEntry } from '../write/connector-definition.js';
import { processIo } from './cli-io.js';
import { runConnectorCommand } from './connector-command.js';
import { exitWith, guardAgainstSilentExit } from './process-exit.js';

/**
 * Runs the connector's command line (default: the process arguments), then exits with its code.
 * Give the definition, or an entry (`{ spec, load }`) so that `spec` does not load the rest of
 * the connector.
 */
export function runConnectorMain(
  connector: ConnectorDefinition | ConnectorEntry,
  args: readonly string[] = process.argv.slice(2),
): void {
  guardAgainstSilentExit();
  exitWith(runConnectorCommand(connector, args, processIo()));
}
