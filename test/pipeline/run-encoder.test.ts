/** RunEncoder: a run of validated record lines with its RecordScans, encoded into a new run. */
import { describe, expect, it } from 'vitest';
import { makeDestinationStream } from '../../src/catalog/destination-stream.js';
import { buildRun, type LineRun } from '../../src/pipeline/line-run.js';
import { RunEncoder, SCAN_ENTRIES } from '../../src/pipeline/run-encoder.js';
import { scanRecordLine } from '../../src/protocol/record-line-scanner.js';
import type { DestinationRecord } from '../../src/write/destination-writer.js';
import type { RecordEncoder } from '../../src/write/record-encoder.js';

const stream = makeDestinationStream({
  name: 'users',
  schema: { type: 'object', properties: {} },
  importType: { kind: 'append' },
  generationId: 1,
  minimumGenerationId: 0,
  syncId: 1,
});

/** A run of `lines` and its scans, as the input worker posts them (scan or parse per line). */
function postedRun(lines: readonly string[]): { run: LineRun; scans: Float64Array } {
  const buffers = lines.map((line) => Buffer.from(line));
  const { run } = buildRun(
    buffers,
    buffers.reduce((sum, b) => sum + b.length, 0),
  );
  const scans = new Float64Array(SCAN_ENTRIES * lines.length);
  buffers.forEach((line, i) => {
    const scan = scanRecordLine(line);
    scans.set(
      scan === undefined ? [-1, -1, 0] : [scan.dataStart, scan.dataEnd, scan.emittedAt],
      SCAN_ENTRIES * i,
    );
  });
  return { run, scans };
}

function linesOf(run: LineRun): string[] {
  return run.bytes.toString('utf8').slice(0, -1).split('\n');
}

const describing: RecordEncoder = {
  encode: (record) =>
    `${record.emittedAt}|${record.dataJson ?? '-'}|${JSON.stringify(record.data)}|${JSON.stringify(record.meta ?? null)}|${record.sizeBytes}\n`,
};

/**
 * Encodes a record holding a secret with each encoder: each fails with a message that matches
 * its pattern and does not quote the record.
 */
function expectFailures(cases: readonly [RecordEncoder, RegExp][]): void {
  const { run, scans } = postedRun([
    '{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"secret":"s3cr3t"}}}',
  ]);
  for (const [encoder, problem] of cases) {
    let message = '';
    try {
      new RunEncoder().encode(run, scans, stream, encoder);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(problem);
    expect(message).not.toContain('s3cr3t');
  }
}

describe('RunEncoder', () => {
  it('encodes scanned lines from their data text and other lines after a parse, in order', () => {
    const lines = [
      '{"type":"RECORD","record":{"stream":"users","emitted_at":5,"data":{ "a": 1E2 }}}',
      '{"type":"RECORD","record":{"stream":"users","emitted_at":6,"data":{"b":"é"},"meta":{"changes":[]}}}',
      '{"type":"RECORD","record":{"str\\u0065am":"users","emitted_at":7,"data":{"c":[1]}}}',
    ];
    const { run, scans } = postedRun(lines);
    const encoded = new RunEncoder().encode(run, scans, stream, describing);
    const sizes = lines.map((l) => Buffer.byteLength(l));
    expect(linesOf(encoded)).toEqual([
      `5|{ "a": 1E2 }|{"a":100}|null|${sizes[0]}`,
      `6|-|{"b":"é"}|{"changes":[]}|${sizes[1]}`,
      `7|-|{"c":[1]}|null|${sizes[2]}`,
    ]);
    expect([...encoded.ends]).toEqual(
      linesOf(encoded).map((_, i, all) =>
        all.slice(0, i + 1).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, -1),
      ),
    );
  });

  it('encodes a record larger than its scratch, and the runs after it', () => {
    const encoder = new RunEncoder();
    const big = `{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"x":"${'y'.repeat(6 * 1024 * 1024)}"}}}`;
    const small = '{"type":"RECORD","record":{"stream":"users","emitted_at":2,"data":{"z":0}}}';
    const posted = postedRun([small, big]);
    const first = encoder.encode(posted.run, posted.scans, stream, describing);
    expect(linesOf(first)).toHaveLength(2);
    expect(linesOf(first)[1]?.length).toBeGreaterThan(12 * 1024 * 1024);
    const next = postedRun([small, small]);
    expect(linesOf(encoder.encode(next.run, next.scans, stream, describing))).toEqual([
      `2|{"z":0}|{"z":0}|null|${small.length}`,
      `2|{"z":0}|{"z":0}|null|${small.length}`,
    ]);
    // The first run stays as it was: runs do not share the scratch.
    expect(linesOf(first)[0]).toBe(`2|{"z":0}|{"z":0}|null|${small.length}`);
  });

  describe('with an encoder that frames the data text (encodeAround)', () => {
    /** `describing`'s line with the data text in the middle, framed where it can be. */
    const framing = (calls: string[]): RecordEncoder => ({
      encode: (record) => {
        calls.push('encode');
        return `${record.emittedAt}|${record.dataJson ?? JSON.stringify(record.data)}|end\n`;
      },
      encodeAround: (record) => {
        calls.push('around');
        return [`${record.emittedAt}|`, '|end\n'];
      },
    });

    it('copies the data text between the parts: the lines encode gives, UTF-8 included', () => {
      const lines = [
        '{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"a":"é€😀","b":[1, 2]}}}',
        '{"type":"RECORD","record":{"stream":"users","emitted_at":2,"data":{}}}',
        // A field name with escapes: the worker parses it, and `encode` makes its line.
        '{"type":"RECORD","record":{"stream":"users","emitted_at":3,"data":{"x":1},"meta":{"changes":[]}}}',
        '{"type":"RECORD","record":{"stream":"users","emitted_at":4,"data":{"z":"\\u00e9"}}}',
      ];
      const { run, scans } = postedRun(lines);
      const calls: string[] = [];
      const framed = linesOf(new RunEncoder().encode(run, scans, stream, framing(calls)));
      const plain = linesOf(
        new RunEncoder().encode(run, scans, stream, { encode: framing([]).encode }),
      );
      expect(framed).toEqual(plain);
      expect(framed[0]).toBe('1|{"a":"é€😀","b":[1, 2]}|end');
      expect(framed[3]).toBe('4|{"z":"\\u00e9"}|end');
      expect(calls).toEqual(['around', 'around', 'encode', 'around']);
    });

    it('leaves a data text with a carriage return, and a record the encoder declines, to encode', () => {
      const lines = [
        '{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"a":1}}}',
        '{"type":"RECORD","record":{"stream":"users","emitted_at":2,"data":{"a":\r2}}}',
        '{"type":"RECORD","record":{"stream":"users","emitted_at":3,"data":{"a":3}}}',
      ];
      const { run, scans } = postedRun(lines);
      const calls: string[] = [];
      const encoder = framing(calls);
      const declining: RecordEncoder = {
        encode: encoder.encode,
        encodeAround: (record) =>
          record.emittedAt === 3 ? undefined : encoder.encodeAround?.(record),
      };
      expect(linesOf(new RunEncoder().encode(run, scans, stream, declining))).toEqual([
        '1|{"a":1}|end',
        '2|{"a":\r2}|end',
        '3|{"a":3}|end',
      ]);
      // The second record never reached encodeAround; the third was declined.
      expect(calls).toEqual(['around', 'encode', 'encode']);
    });

    it('gives encode a record that stays whole after the run (its data text decoded before)', () => {
      const { run, scans } = postedRun([
        '{"type":"RECORD","record":{"stream":"users","emitted_at":1,"data":{"a":"é"}}}',
      ]);
      const kept: DestinationRecord[] = [];
      const keeping: RecordEncoder = {
        encode: (record) => {
          kept.push(record);
          return 'line\n';
        },
        encodeAround: () => undefined,
      };
      new RunEncoder().encode(run, scans, stream, keeping);
      // The run's bytes are reused or released after it is encoded.
      run.bytes.fill(0x78);
      expect(kept[0]?.dataJson).toBe('{"a":"é"}');
      expect(kept[0]?.data).toEqual({ a: 'é' });
    });

    it('fails naming the stream, without the data, on parts that make no single line', () => {
      const around = (parts: () => readonly [string, string] | undefined): RecordEncoder => ({
        encode: () => 'unused\n',
        encodeAround: parts,
      });
      const cases: [RecordEncoder, RegExp][] = [
        [around(() => ['a\nb', '\n']), /stream users returned a line with a newline inside/],
        [around(() => ['a', '']), /stream users returned a line without its closing newline/],
        [around(() => ['a', 'b']), /stream users returned a line without its closing newline/],
        [around(() => ['a', '\n\n']), /stream users returned a line with a newline inside/],
        [
          around(() => ['a', 7] as unknown as [string, string]),
          /stream users returned line parts that are not two strings/,
        ],
        [
          around(() => {
            throw new Error('broken');
          }),
          /record encoder of stream users failed: broken/,
        ],
      ];
      expectFailures(cases);
    });
  });

  it('fails naming the stream when the encoder throws or returns no single line', () => {
    const cases: [RecordEncoder, RegExp][] = [
      [{ encode: () => 'no newline' }, /stream users returned a line without its closing newline/],
      [{ encode: () => 'two\nlines\n' }, /stream users returned a line with a newline inside/],
      [{ encode: () => 42 as unknown as string }, /stream users returned a number, not a string/],
      [
        {
          encode: () => {
            throw new Error('broken');
          },
        },
        /record encoder of stream users failed: broken/,
      ],
    ];
    expectFailures(cases);
  });
});
