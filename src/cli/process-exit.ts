/**
 * How destkit's executables end: with an explicit exit once stdout is flushed, and never
 * silently. No dynamic `import()` here or below: the CommonJS launchers bundle this module
 * (src/cli/spec-launcher.ts).
 */
import { SecretRedactor } from '../config/secret-redactor.js';
import { classifyError } from '../errors/classify-error.js';
import { SystemError } from '../errors/destkit-error.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { errorTraceMessage } from '../protocol/trace-messages.js';

/** Exits with the command's code once it is known and stdout is flushed. */
export function exitWith(code: Promise<number>): void {
  code.then(exitWhenFlushed, (error: unknown) => {
    // Only reached on a bug in the runner itself: every command handles its own failures.
    process.stderr.write(
      `destkit: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    exitWhenFlushed(1);
  });
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
