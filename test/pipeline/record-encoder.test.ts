/**
 * Record encoders (src/write/record-encoder.ts) in a whole sync: the input worker thread (the
 * built one, under dist/) notes where each record's data lies, the main thread encodes records
 * as they arrive, and the connector gets the lines through `processEncodedRecords`. The input
 * comes in chunks here (the worker's chunk mode); the JSONL end-to-end tests cover a worker
 * reading stdin itself.
 */
import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/testkit/run-pipeline.js';
import {
  type Batch,
  type BatchAccumulator,
  COMPLETE_BATCH,
  type DestinationWriter,
  type StreamLoader,
} from '../../src/write/destination-writer.js';
import type { EncodedRecords, RecordEncoder } from '../../src/write/record-encoder.js';
import { TOKENS } from '../../src/write/tokens.js';
import { catalog, record, status, streamState } from '../helpers/messages.js';

/** Each line: stream name, emitted_at, whether the data text was at hand, size, the data. */
const tagging = (stream: StreamLoader['stream']): RecordEncoder => ({
  encode: (record) =>
    `${stream.name}\t${record.emittedAt}\t${record.dataJson !== undefined}\t${record.sizeBytes}\t${JSON.stringify(record.data)}\n`,
});
/** A broken encoder: its line has a newline inside. */
const twoLines = (): RecordEncoder => ({
  encode: (record) => `secret ${JSON.stringify(record.data)}\nmore\n`,
});
/** An encoder that throws. */
const throwing = (): RecordEncoder => ({
  encode: () => {
    throw new Error('cannot encode this one');
  },
});

interface Seen {
  lines: string[];
  processRecordsCalls: number;
  /** `count` against the lines of each call. */
  counts: [number, number][];
}

/** A writer whose records `encoder` encodes; it keeps every line it is given. */
function encodingWriter(
  encoder: (stream: StreamLoader['stream']) => RecordEncoder,
  seen: Seen,
  withEncodedPath = true,
) {
  const loader = (stream: StreamLoader['stream']): StreamLoader => ({
    stream,
    async start() {},
    createBatchAccumulator(): BatchAccumulator {
      const accumulator: BatchAccumulator = {
        processRecords: async (): Promise<Batch> => {
          seen.processRecordsCalls++;
          return COMPLETE_BATCH;
        },
      };
      if (!withEncodedPath) return accumulator;
      return {
        ...accumulator,
        processEncodedRecords: async (records: EncodedRecords): Promise<Batch> => {
          let text = '';
          // A chunk is valid until the iteration moves on: read each at its step.
          for (const chunk of records.chunks) text += chunk.toString('utf8');
          const lines = text === '' ? [] : text.slice(0, -1).split('\n');
          seen.counts.push([records.count, lines.length]);
          seen.lines.push(...lines);
          return COMPLETE_BATCH;
        },
      };
    },
    async processBatch(batch) {
      return batch;
    },
    async close() {},
  });
  const writer: DestinationWriter = {
    createRecordEncoder: encoder,
    async setup() {},
    createStreamLoader: loader,
    async teardown() {},
  };
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.DestinationWriter).toConstantValue(writer);
  });
}

const INPUT = [
  record('users', { id: 1, name: 'a' }),
  record('orders', { id: 2 }),
  // Left to the full parser (meta): its encoder gets no data text.
  { type: 'RECORD', record: { stream: 'users', emitted_at: 5, data: { id: 3 }, meta: {} } },
  streamState('users', { c: 1 }),
  record('users', { id: 4 }),
  status('users', 'COMPLETE'),
  status('orders', 'COMPLETE'),
].map((m) => JSON.stringify(m));

const CATALOG = catalog([{ name: 'users' }, { name: 'orders' }]);

function freshSeen(): Seen {
  return { lines: [], processRecordsCalls: 0, counts: [] };
}

describe('record encoders', () => {
  it('encode every record as it arrives; the connector gets the lines, in order, counted', async () => {
    for (const chunkSizes of [[1e9], [7], [50, 3]]) {
      const seen = freshSeen();
      const { outcome, echoedStates } = await runPipeline({
        writerModule: encodingWriter(tagging, seen),
        catalog: CATALOG,
        input: INPUT,
        chunkSizes,
      });
      expect(outcome.status).toBe('succeeded');
      expect(echoedStates).toHaveLength(1);
      expect(seen.processRecordsCalls).toBe(0);
      for (const [count, lines] of seen.counts) expect(lines).toBe(count);
      const users = seen.lines.filter((l) => l.startsWith('users\t'));
      const sizes = INPUT.map((line) => Buffer.byteLength(line));
      expect(users).toEqual([
        `users\t1700000000000\ttrue\t${sizes[0]}\t{"id":1,"name":"a"}`,
        `users\t5\tfalse\t${sizes[2]}\t{"id":3}`,
        `users\t1700000000000\ttrue\t${sizes[4]}\t{"id":4}`,
      ]);
      expect(seen.lines.filter((l) => l.startsWith('orders\t'))).toEqual([
        `orders\t1700000000000\ttrue\t${sizes[1]}\t{"id":2}`,
      ]);
    }
  });

  it('count the input bytes of encoded records, not the bytes of their lines', async () => {
    const [encoded, inThread] = await Promise.all(
      [1, 0].map((inputWorkers) =>
        runPipeline({
          writerModule: encodingWriter(tagging, freshSeen()),
          catalog: CATALOG,
          input: INPUT,
          knobs: { inputWorkers },
        }),
      ),
    );
    expect(encoded?.outcome.status).toBe('succeeded');
    expect(encoded?.outcome.recordsRead).toBe(4);
    expect(encoded?.outcome.bytesRead).toBeGreaterThan(300);
    expect(encoded?.outcome.bytesRead).toBe(inThread?.outcome.bytesRead);
  });

  it('are not used without the input worker: processRecords as ever', async () => {
    const seen = freshSeen();
    const { outcome } = await runPipeline({
      writerModule: encodingWriter(tagging, seen),
      catalog: CATALOG,
      input: INPUT,
      knobs: { inputWorkers: 0 },
    });
    expect(outcome.status).toBe('succeeded');
    expect(seen.lines).toEqual([]);
    expect(seen.processRecordsCalls).toBeGreaterThan(0);
  });

  it('fail the sync, naming the stream and not the record, when a line has a newline inside', async () => {
    const seen = freshSeen();
    const { outcome } = await runPipeline({
      writerModule: encodingWriter(twoLines, seen),
      catalog: CATALOG,
      input: INPUT,
    });
    expect(outcome.status).toBe('failed');
    const message = String((outcome.error as Error).message);
    expect(message).toMatch(/record encoder of stream users returned a line with a newline inside/);
    expect(message).not.toContain('secret');
    expect(message).not.toContain('"id"');
    expect(seen.lines).toEqual([]);
  });

  it('fail the sync naming the stream when the encoder or its making throws', async () => {
    const failing = (): RecordEncoder => {
      throw new Error('no encoder today');
    };
    for (const [encoder, problem] of [
      [throwing, /record encoder of stream users failed: cannot encode this one/],
      [failing, /createRecordEncoder for stream users failed: no encoder today/],
    ] as const) {
      const { outcome } = await runPipeline({
        writerModule: encodingWriter(encoder, freshSeen()),
        catalog: CATALOG,
        input: INPUT,
      });
      expect(outcome.status).toBe('failed');
      expect(String((outcome.error as Error).message)).toMatch(problem);
    }
  });

  it('fail the sync when the accumulator has no processEncodedRecords', async () => {
    const seen = freshSeen();
    const { outcome } = await runPipeline({
      writerModule: encodingWriter(tagging, seen, false),
      catalog: CATALOG,
      input: INPUT,
    });
    expect(outcome.status).toBe('failed');
    expect(String((outcome.error as Error).message)).toMatch(
      /has a record encoder, but the batch accumulator has no processEncodedRecords/,
    );
    expect(seen.processRecordsCalls).toBe(0);
  });
});
