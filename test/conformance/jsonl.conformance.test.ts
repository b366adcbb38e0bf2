/**
 * The JSONL connector against the conformance suite: in-process from its sources, and as a
 * child process (`destkit dist/connectors/destination-jsonl/index.js`) for the kill scenarios;
 * in both input modes.
 * Run `npm run build` first. The dumper reads `<destination_path>/<namespace>/<stream>.jsonl`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connector } from '../../connectors/destination-jsonl/index.js';
import { streamFileLocation } from '../../connectors/destination-jsonl/safe-names.js';
import type { DestinationStream } from '../../src/catalog/destination-stream.js';
import type { JsonObject } from '../../src/protocol/messages.js';
import { describeDestinationConformance } from '../../src/testkit/index.js';

const MODULE = fileURLToPath(
  new URL('../../dist/connectors/destination-jsonl/index.js', import.meta.url),
);

/** Each line of the stream file: `_airbyte_data`'s fields next to the meta columns. */
async function dumpJsonl(stream: DestinationStream, config: JsonObject) {
  const { file } = streamFileLocation(
    config.destination_path as string,
    stream.namespace,
    stream.name,
  );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const { _airbyte_data: data, ...meta } = JSON.parse(line) as Record<string, unknown>;
      return { ...(data as Record<string, unknown>), ...meta };
    });
}

const JSONL_CONFORMANCE = {
  name: 'jsonl',
  connector: { definition: connector, modulePath: MODULE },
  config: () => ({ destination_path: mkdtempSync(join(tmpdir(), 'destkit-jsonl-conformance-')) }),
  dumper: dumpJsonl,
  capabilities: {
    dedup: false,
    truncate: true,
    typed: false,
    schemaEvolution: true,
    namespaces: true,
    incrementalCommit: true,
  },
  cleanup: (config: JsonObject) =>
    rmSync(config.destination_path as string, { recursive: true, force: true }),
} satisfies Parameters<typeof describeDestinationConformance>[0];

describeDestinationConformance(JSONL_CONFORMANCE);
// JSONL encodes records as they arrive when the input worker runs (the default, above), and
// goes through processRecords without it: both paths must pass the suite.
describeDestinationConformance({
  ...JSONL_CONFORMANCE,
  name: 'jsonl (input_workers 0)',
  env: { DESTKIT_INPUT_WORKERS: '0' },
});
