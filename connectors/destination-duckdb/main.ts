#!/usr/bin/env -S node --max-semi-space-size=4
/** Container ENTRYPOINT of the DuckDB connector: `spec`, `check --config`, `write --config --catalog`. */
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { entry } from './entry.js';

runConnectorMain(entry);
