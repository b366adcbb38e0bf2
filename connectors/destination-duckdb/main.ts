#!/usr/bin/env -S node --max-semi-space-size=4
/** Container ENTRYPOINT of the DuckDB connector: `spec`, `check --config`, `write --config --catalog`. */
import 'reflect-metadata';
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { connector } from './index.js';

runConnectorMain(connector);
