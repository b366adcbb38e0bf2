#!/usr/bin/env -S node --max-semi-space-size=4
/** Container ENTRYPOINT of the DuckDB connector: `spec`, `check --config`, `write --config --catalog`. */
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { DUCKDB_SPEC } from './spec.js';

// `spec` prints the spec at hand; the connector itself loads for the other commands only.
runConnectorMain({ spec: DUCKDB_SPEC, load: () => import('./index.js') });
