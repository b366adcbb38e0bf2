#!/usr/bin/env -S node --max-semi-space-size=4
/** Container ENTRYPOINT of the JSONL connector: `spec`, `check --config`, `write --config --catalog`. */
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { JSONL_SPEC } from './spec.js';

// `spec` prints the spec at hand; the connector itself loads for the other commands only.
runConnectorMain({ spec: JSONL_SPEC, load: () => import('./index.js') });
