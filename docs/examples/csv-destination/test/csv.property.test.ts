/** The CSV destination on generated syncs: the protocol holds, and every record lands. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkProtocolInvariants, runDestination, syncMessagesArbitrary } from 'destkit/testkit';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { streamFile } from '../src/csv-files.js';
import { connector } from '../src/index.js';

it('keeps the protocol on any sync, and appends every record of a COMPLETE stream', async () => {
  await fc.assert(
    fc.asyncProperty(syncMessagesArbitrary({ modes: ['append', 'overwrite'] }), async (sync) => {
      const root = mkdtempSync(join(tmpdir(), 'csv-property-'));
      try {
        const result = await runDestination({
          definition: connector,
          config: { destination_path: root },
          catalog: sync.catalog,
          messages: sync.messages,
        });
        const input = { catalog: sync.catalog, messages: sync.messages };
        expect(checkProtocolInvariants(input, result, { outcome: sync.outcome })).toEqual([]);
        if (sync.outcome !== 'success') return;
        for (const stream of sync.streams) {
          const { name, namespace } = stream.descriptor;
          const file = streamFile(root, namespace ?? undefined, name);
          const lines = readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => l !== '');
          expect(lines.length - 1).toBe(sync.records.get(stream.label)?.length);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }),
    { numRuns: 25 },
  );
});
