/**
 * The JSONL connector's record encoder (`createRecordEncoder` of jsonl-writer.ts): with the input
 * worker (the default) each record's line is made as it arrives, from its data's text; without
 * it (`input_workers` 0) by `processRecords` after a parse. Both must write the same records: the same values,
 * the same meta and extracted_at, the same states echoed. Spawned processes of the built CLI
 * against real temp directories; run `npm run build` first.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalog, record, status, streamState } from '../../helpers/messages.js';
import { parseProtocolOutput } from '../../helpers/protocol-schema.js';
import { runCli, writeJsonFiles } from '../../helpers/run-cli.js';

type Message = Record<string, any>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Input lines, some spelled as no JSON.stringify would spell them. */
function inputLines(): Buffer {
  const text: string[] = [];
  for (let i = 0; i < 400; i++) {
    const stream = i % 2 === 0 ? 'users' : 'orders';
    text.push(JSON.stringify(record(stream, { id: i, name: `n${i}`, nested: { list: [i, 'x'] } })));
    if (i % 50 === 49) text.push(JSON.stringify(streamState(stream, { cursor: i })));
  }
  const odd = [
    // Whitespace, escapes and a number past a double's precision, inside data.
    '{"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{ "a" : "\\u00e9\\/" ,\t"big": 12345678901234567890, "e": 1E2 }}}',
    // A carriage return between tokens of data.
    '{"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"a":1,\r"b":2}}}',
    // Source changes in meta.
    '{"type":"RECORD","record":{"stream":"orders","emitted_at":1700000000000,"data":{"x":null},"meta":{"changes":[{"field":"x","change":"NULLED","reason":"SOURCE_FIELD_SIZE_LIMITATION"}]}}}',
    // An emitted_at no Date can hold: extracted_at null with a change.
    '{"type":"RECORD","record":{"stream":"orders","emitted_at":1e300,"data":{"y":1}}}',
    // A duplicate data field: the last one counts.
    '{"type":"RECORD","record":{"stream":"orders","data":{"first":1},"emitted_at":1700000000000,"data":{"last":2}}}',
    // Escaped field names: left to the full parser.
    '{"type":"RECORD","record":{"str\\u0065am":"users","emitted_at":1700000000000,"data":{"k":"v"}}}',
  ];
  const invalidUtf8 = Buffer.concat([
    Buffer.from(
      '{"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"s":"',
    ),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}}}'),
  ]);
  const tail = [
    JSON.stringify(status('users', 'COMPLETE')),
    JSON.stringify(status('orders', 'COMPLETE')),
  ];
  return Buffer.concat([
    Buffer.from(`${[...text, ...odd].join('\n')}\n`),
    invalidUtf8,
    Buffer.from(`\n${tail.join('\n')}\n`),
  ]);
}

const CATALOG = catalog([{ name: 'users' }, { name: 'orders' }]);

interface Run {
  readonly code: number | null;
  readonly states: string[];
  readonly files: Record<string, string>;
}

async function run(env: Record<string, string>): Promise<Run> {
  const dest = mkdtempSync(join(tmpdir(), 'destkit-jsonl-encoder-'));
  const f = writeJsonFiles({ 'config.json': { destination_path: dest }, 'catalog.json': CATALOG });
  const result = await runCli(
    ['jsonl', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
    { stdin: inputLines(), env },
  );
  const messages = parseProtocolOutput(result.stdout) as Message[];
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(dest, '_default')))
    files[name] = readFileSync(join(dest, '_default', name), 'utf8');
  return {
    code: result.code,
    states: messages.filter((m) => m.type === 'STATE').map((m) => JSON.stringify(m)),
    files,
  };
}

/** A file's records with the raw id checked and taken out. */
function records(text: string): Message[] {
  expect(text.endsWith('\n')).toBe(true);
  expect(text).not.toContain('\r');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const { _airbyte_raw_id: id, ...rest } = JSON.parse(line) as Message;
      expect(id).toMatch(UUID);
      return rest;
    });
}

describe('jsonl record encoder (input worker) against processRecords (input_workers 0)', () => {
  it('writes the same records and echoes the same states, in memory and through spill files', async () => {
    const inThread = await run({ DESTKIT_INPUT_WORKERS: '0' });
    const encoded = await run({ DESTKIT_INPUT_WORKERS: '1' });
    // A batch larger than a quarter of the budget never takes the memory path (spill-to-disk.ts):
    // every batch goes through a spill file.
    const spilled = await run({
      DESTKIT_INPUT_WORKERS: '1',
      DESTKIT_BATCH_SIZE_BYTES: '20000',
      DESTKIT_MEMORY_BUDGET_BYTES: '65536',
    });
    for (const result of [inThread, encoded, spilled]) {
      expect(result.code).toBe(0);
      expect(Object.keys(result.files).sort()).toEqual(['orders.jsonl', 'users.jsonl']);
    }
    for (const name of ['users.jsonl', 'orders.jsonl']) {
      const expected = records(inThread.files[name]!);
      expect(expected.length).toBeGreaterThan(200);
      expect(records(encoded.files[name]!)).toEqual(expected);
      expect(records(spilled.files[name]!)).toEqual(expected);
    }
    expect(encoded.states).toEqual(inThread.states);
    expect(spilled.states).toEqual(inThread.states);
    expect(inThread.states.length).toBe(8);

    // The input's own text of data: digits past a double's precision kept (JSON.parse rounds).
    expect(encoded.files['users.jsonl']).toContain('"big": 12345678901234567890');
    expect(spilled.files['users.jsonl']).toContain('"big": 12345678901234567890');
    expect(inThread.files['users.jsonl']).not.toContain('12345678901234567890');
    // The odd records as they must read.
    const orders = records(encoded.files['orders.jsonl']!);
    expect(orders.find((r) => 'x' in r._airbyte_data)?._airbyte_meta.changes).toEqual([
      { field: 'x', change: 'NULLED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' },
    ]);
    const farFuture = orders.find((r) => 'y' in r._airbyte_data);
    expect(farFuture?._airbyte_extracted_at).toBeNull();
    expect(farFuture?._airbyte_meta.changes).toEqual([
      {
        field: '_airbyte_extracted_at',
        change: 'NULLED',
        reason: 'DESTINATION_SERIALIZATION_ERROR',
      },
    ]);
    expect(orders.find((r) => 'last' in r._airbyte_data)?._airbyte_data).toEqual({ last: 2 });
    const users = records(encoded.files['users.jsonl']!);
    expect(users.find((r) => 's' in r._airbyte_data)?._airbyte_data.s).toBe('\ufffd(\ufffd');
    expect(users.find((r) => 'k' in r._airbyte_data)?._airbyte_data).toEqual({ k: 'v' });
  });

  it('stops at the same bad line with the same error', async () => {
    const bad = Buffer.concat([
      Buffer.from(`${JSON.stringify(record('users', { id: 1 }))}\n`),
      Buffer.from(`${JSON.stringify(record('nobody', { id: 2 }))}\n`),
    ]);
    const results = await Promise.all(
      ['0', '1'].map(async (workers) => {
        const dest = mkdtempSync(join(tmpdir(), 'destkit-jsonl-encoder-'));
        const f = writeJsonFiles({
          'config.json': { destination_path: dest },
          'catalog.json': CATALOG,
        });
        const result = await runCli(
          ['jsonl', 'write', '--config', f['config.json']!, '--catalog', f['catalog.json']!],
          { stdin: bad, env: { DESTKIT_INPUT_WORKERS: workers } },
        );
        const traces = (parseProtocolOutput(result.stdout) as Message[]).filter(
          (m) => m.type === 'TRACE' && m.trace.type === 'ERROR',
        );
        return { code: result.code, errors: traces.map((t) => t.trace.error.message) };
      }),
    );
    expect(results[0]!.code).not.toBe(0);
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!.errors.join('\n')).toMatch(/line 2/);
  });
});
