/**
 * `check` of the JSONL connector: creates destination_path when missing, then writes, syncs and
 * deletes a probe file in it. Any failure names the path.
 */
import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../src/errors/errno.js';
import type { CheckContext } from '../../src/write/connector-definition.js';
import { appendDurably } from './durable-files.js';
import { toJsonlConfig } from './jsonl-config.js';
import { fileSystemError } from './jsonl-errors.js';
import { prepareDestination } from './jsonl-writer.js';

export async function checkJsonl({ config, logger }: CheckContext): Promise<void> {
  const { destinationPath } = toJsonlConfig(config);
  await prepareDestination(destinationPath);
  // A leading dot: no namespace directory can have this name (see safe-names.ts).
  const probe = join(destinationPath, `.destkit-check-${randomUUID()}.tmp`);
  try {
    await appendDurably(probe, Buffer.from('destkit check\n'));
  } catch (error) {
    await unlink(probe).catch(() => undefined);
    throw fileSystemError(error, 'write a probe file in', destinationPath);
  }
  try {
    await unlink(probe);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw fileSystemError(error, 'delete the probe file', probe);
  }
  logger.info({ destinationPath }, 'jsonl check: the destination directory is writable');
}
