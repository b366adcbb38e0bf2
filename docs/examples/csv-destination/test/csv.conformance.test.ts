/**
 * The CSV destination against destkit's conformance suite. In-process runs use the definition
 * from the sources; the runs that kill the connector start `destkit dist/index.js …` as a
 * child process (`npm test` builds first).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream, JsonObject } from 'destkit';
import { describeDestinationConformance } from 'destkit/testkit';
import { streamFile } from '../src/csv-files.js';
import { CSV_COLUMNS, parseCsvLine } from '../src/csv-format.js';
import { connector } from '../src/index.js';

/** Every row of a stream's file: the record's fields next to the meta columns. */
async function dumpCsv(stream: DestinationStream, config: JsonObject) {
  const file = streamFile(config.destination_path as string, stream.namespace, stream.name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const [header, ...lines] = text.split('\n').filter((line) => line !== '');
  if (header !== CSV_COLUMNS.join(',')) throw new Error(`${file}: unexpected header ${header}`);
  return lines.map((line) => {
    const [rawId, extractedAt, generationId, meta, data] = parseCsvLine(line);
    return {
      ...(JSON.parse(data ?? '{}') as JsonObject),
      _airbyte_raw_id: rawId,
      _airbyte_extracted_at: extractedAt,
      _airbyte_generation_id: generationId === '' ? null : Number(generationId),
      _airbyte_meta: JSON.parse(meta ?? '{}') as JsonObject,
    };
  });
}

describeDestinationConformance({
  name: 'csv',
  connector: {
    definition: connector,
    modulePath: fileURLToPath(new URL('../dist/index.js', import.meta.url)),
  },
  config: () => ({ destination_path: mkdtempSync(join(tmpdir(), 'csv-conformance-')) }),
  dumper: dumpCsv,
  capabilities: {
    dedup: false,
    truncate: true,
    typed: false,
    schemaEvolution: true,
    namespaces: true,
    incrementalCommit: true,
  },
  cleanup: (config) => rmSync(config.destination_path as string, { recursive: true, force: true }),
});
