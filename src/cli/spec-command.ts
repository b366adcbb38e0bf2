/**
 * A plain `spec`: the command line that prints a connector's spec and does nothing more. No
 * dynamic `import()` here or below: the CommonJS launchers bundle this module
 * (src/cli/spec-launcher.ts).
 */
import { SecretRedactor } from '../config/secret-redactor.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { specMessage } from '../protocol/trace-messages.js';
import type { ConnectorDefinition } from '../write/connector-definition.js';
import type { CliIo } from './cli-io.js';

/**
 * `spec` with no option. Anything else (`spec --log-level debug`, `spec --help`, a typo) goes
 * through the full runner, which parses and reports it.
 */
export function isPlainSpec(args: readonly string[]): boolean {
  return args.length === 1 && args[0] === 'spec';
}

/** Prints one SPEC message, as the full runner's `spec` does; returns the exit code. */
export async function writeSpec(spec: ConnectorDefinition['spec'], io: CliIo): Promise<number> {
  const output = new OutputWriter(io.stdout, new SecretRedactor());
  output.write(specMessage(spec));
  await output.flush();
  return 0;
}
