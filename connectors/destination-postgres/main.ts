#!/usr/bin/env -S node --max-semi-space-size=4
/** Container ENTRYPOINT of the PostgreSQL connector: `spec`, `check --config`, `write --config --catalog`. */
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { POSTGRES_SPEC } from './spec.js';

// `spec` prints the spec at hand; the connector itself loads for the other commands only.
runConnectorMain({ spec: POSTGRES_SPEC, load: () => import('./index.js') });
