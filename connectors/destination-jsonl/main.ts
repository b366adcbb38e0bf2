#!/usr/bin/env -S node --max-semi-space-size=4 --min-semi-space-size=4
/**
 * The executable of the JSONL connector: `spec`, `check --config`, `write --config --catalog`. Installed,
 * it runs behind its CommonJS launcher `main.cjs` (see connectors/bundle-executables.ts).
 */
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { entry } from './entry.js';

runConnectorMain(entry);
