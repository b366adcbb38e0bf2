/**
 * dev-null against the conformance suite: it keeps nothing, so there is no dumper — the
 * protocol of every sync is checked (spec, check, writes, states, failures, a kill and a resume)
 * and the scenarios about data are skipped. Run `npm run build` first (the kill runs
 * `destkit dist/connectors/destination-dev-null/index.js` as a child process).
 */
import { fileURLToPath } from 'node:url';
import { connector } from '../../connectors/destination-dev-null/index.js';
import { describeDestinationConformance } from '../../src/testkit/index.js';

describeDestinationConformance({
  name: 'dev-null',
  connector: {
    definition: connector,
    modulePath: fileURLToPath(
      new URL('../../dist/connectors/destination-dev-null/index.js', import.meta.url),
    ),
  },
  config: () => ({ mode: 'silent' }),
  capabilities: {
    dedup: false,
    truncate: false,
    typed: false,
    schemaEvolution: false,
    namespaces: true,
  },
});
