/** The `main` of a connector executable: run the command line, flush, exit with its code. */
import type { ConnectorDefinition } from '../write/connector-definition.js';
import { processIo } from './cli-io.js';
import { runConnector } from './run-connector.js';

export function runConnectorMain(
  definition: ConnectorDefinition,
  args: readonly string[] = process.argv.slice(2),
): void {
  runConnector(definition, args, processIo()).then(
    (code) => exitWhenFlushed(code),
    (error: unknown) => {
      // Only reached on a bug in the runner itself: every command handles its own failures.
      process.stderr.write(
        `destkit: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      exitWhenFlushed(1);
    },
  );
}

/** Exits once stdout has taken every byte; the platform needs an explicit exit to not hang. */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  if (process.stdout.writableLength === 0) process.exit(code);
  process.stdout.once('drain', () => process.exit(code));
  process.stdout.write('', () => process.exit(code));
}
