/**
 * The JSONL connector as a command line: its executable (main.ts) and `destkit jsonl …` both run
 * `runCommand`, from the connector's bundle when built (see connectors/bundle-executables.ts).
 */
import { commandOf } from '../../src/cli/connector-command.js';
import type { ConnectorEntry } from '../../src/write/connector-definition.js';
import { JSONL_SPEC } from './spec.js';

// `spec` prints the spec at hand; the connector itself loads for the other commands only.
export const entry: ConnectorEntry = { spec: JSONL_SPEC, load: () => import('./index.js') };
export const runCommand = commandOf(entry);
