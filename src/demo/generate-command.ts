/** `destkit generate`: writes a sample catalog to a file and the sample messages to stdout. */
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { SecretRedactor } from '../config/secret-redactor.js';
import { OutputWriter } from '../protocol/output-writer.js';
import { type SampleOptions, sampleCatalog, sampleMessages } from './sample-data.js';

export async function writeSampleSync(
  options: SampleOptions,
  catalogPath: string,
  out: Writable,
): Promise<void> {
  await writeFile(catalogPath, `${JSON.stringify(sampleCatalog(options), null, 2)}\n`);
  const writer = new OutputWriter(out, new SecretRedactor());
  for (const line of sampleMessages(options)) {
    writer.writeLine(line);
    if (writer.blocked) await writer.ready();
  }
  await writer.flush();
}
