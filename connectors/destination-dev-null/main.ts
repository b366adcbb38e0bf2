#!/usr/bin/env -S node --max-semi-space-size=4
/** Container ENTRYPOINT of dev-null: `spec`, `check --config`, `write --config --catalog`. */
import { runConnectorMain } from '../../src/cli/connector-main.js';
import { DEV_NULL_SPEC } from './spec.js';

// `spec` prints the spec at hand; the connector itself loads for the other commands only.
runConnectorMain({ spec: DEV_NULL_SPEC, load: () => import('./index.js') });
