/**
 * The CSV destination's connector definition: what `destkit dist/index.js …` and this
 * package's own executable (dist/main.js) run.
 */
import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckContext,
  ContainerModule,
  defineConnector,
  type JsonObject,
  type Logger,
  TOKENS,
} from 'destkit';
import { appendDurably, ensureDirectory } from './csv-files.js';
import { CsvWriter } from './csv-writer.js';
import { CSV_SPEC } from './spec.js';

/** `check`: the destination directory can be created and written. */
async function checkCsv({ config }: CheckContext): Promise<void> {
  const root = config.destination_path as string;
  await ensureDirectory(root);
  const probe = join(root, `.check-${randomUUID()}`);
  await appendDurably(probe, 'check\n');
  await unlink(probe);
}

export const connector = defineConnector({
  name: 'csv',
  spec: CSV_SPEC,
  check: checkCsv,
  module: new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).toDynamicValue(
      (context) =>
        new CsvWriter(context.get<JsonObject>(TOKENS.Config), context.get<Logger>(TOKENS.Logger)),
    );
  }),
});

export default connector;
