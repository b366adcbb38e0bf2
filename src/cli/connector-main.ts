/**
 * The `main` of a connector executable: run the command line, flush, exit with its code. This
 * module and what it imports stay light (no DI container, pipeline or logger): a connector's
 * `spec` starts with them alone.
 */
import { SecretRedactor } from '../config/secret-redactor.js';
import { classifyError } from '../errors/classify-error.js';
import { SystemError } from '../errors/destkit-error.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { errorTraceMessage } from '../protocol/trace-messages.js';
import type { ConnectorDefinition, ConnectorEntry } from '../write/connector-definition.js';
import { processIo } from './cli-io.js';
import { runConnectorCommand } from './connector-command.js';

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
  runConnectorCommand(connector, args, processIo()).then(
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

/**
 * Node exits by itself, with code 0, once nothing is left to do — also while a promise waits
 * that can no longer settle (a defect). A sync must never look successful that way: such an
 * exit becomes a system_error TRACE and exit code 1.
 */
export function guardAgainstSilentExit(): void {
  process.once('beforeExit', () => {
    const error = new SystemError(
      'destkit stopped with work unfinished: a task waited on something that could never happen (a defect)',
    );
    const out = new OutputWriter(process.stdout, new SecretRedactor());
    out.write(errorTraceMessage(classifyError(error)));
    void out.flush().finally(() => process.exit(1));
  });
}

/** Exits once stdout has taken every byte; the platform needs an explicit exit to not hang. */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  if (process.stdout.writableLength === 0) process.exit(code);
  process.stdout.once('drain', () => process.exit(code));
  process.stdout.write('', () => process.exit(code));
}
