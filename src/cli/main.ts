#!/usr/bin/env -S node --max-semi-space-size=4 --min-semi-space-size=4
/**
 * The `destkit` command:
 *   destkit connectors                         list the first-party connectors
 *   destkit <connector> spec|check|write …     run a connector (a first-party name or a module path)
 * Each command loads what it needs only (`import()`): `destkit <first-party> spec` loads the
 * connector's spec module and nothing heavier, so that it starts fast. Installed, `destkit` is
 * the CommonJS launcher `main.cjs` beside this module, which answers `destkit <first-party> spec`
 * itself and imports this module for any other command line (src/cli/spec-launcher.ts).
 */
import { SecretRedactor } from '../config/secret-redactor.js';
import { OutputWriter } from '../protocol/output-writer.js';
import type { ConnectorDefinition } from '../write/connector-definition.js';
import { processIo } from './cli-io.js';
import { reportLoadFailure, runConnectorCommand } from './connector-command.js';
import { FIRST_PARTY_CONNECTORS, loadConnector } from './first-party.js';
import { exitWith, guardAgainstSilentExit } from './process-exit.js';
import { isPlainSpec, writeSpec } from './spec-command.js';

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

async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stderr.write(USAGE);
    return first === undefined ? 2 : 0;
  }
  const io = processIo();
  if (first === 'generate') return (await import('./tool-commands.js')).generateCommand(rest, io);
  if (first === 'status') return (await import('./tool-commands.js')).statusCommand(rest, io);
  if (first === 'connectors') {
    const out = new OutputWriter(io.stdout, new SecretRedactor());
    for (const [name, { description }] of Object.entries(FIRST_PARTY_CONNECTORS)) {
      out.writeLine(`${name.padEnd(12)} ${description}`);
    }
    await out.flush();
    return 0;
  }
  const known = FIRST_PARTY_CONNECTORS[first];
  if (known !== undefined) {
    if (isPlainSpec(rest)) return writeSpec(await known.loadSpec(), io);
    return (await known.loadCommand())(rest, io);
  }
  let definition: ConnectorDefinition;
  try {
    definition = await loadConnector(first);
  } catch (error) {
    return reportLoadFailure(error, io);
  }
  return runConnectorCommand(definition, rest, io);
}

guardAgainstSilentExit();
exitWith(main(process.argv.slice(2)));
